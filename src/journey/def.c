/* def.c — a journey definition's validation: shape of triggers, steps and settings, dangling
 * and unreachable steps, instant loops, and references to emails, segments, lists, fields and
 * users. Every problem names its step and field so the builder can paint it on the canvas. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "journey/journey.h"

#include "base/banned.h"

#define MAX_STEPS 500
#define MAX_EXITS 16

typedef struct checker {
	json_t *problems;
	const kz_journey_env *env;
	const json_t *steps;
} checker;

static void problem(checker *k, const char *step, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void problem(checker *k, const char *step, const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	if (json_array_size(k->problems) >= 200)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_array_append_new(k->problems,
			      json_pack("{s:o, s:s, s:s}", "step", step ? json_string(step) : json_null(),
					"field", field, "message", msg));
}

int kz_journey_step_waits(const char *type)
{
	return type && (!strcmp(type, "wait") || !strcmp(type, "wait_until") ||
			!strcmp(type, "wait_for_event"));
}

int kz_journey_step_exits(const json_t *step, const char **out, int max)
{
	static const char *const keys[] = {"next", "yes", "no", NULL};
	int n = 0;
	size_t i;
	const json_t *b;
	for (int k = 0; keys[k] && n < max; k++) {
		const char *s = json_string_value(json_object_get(step, keys[k]));
		if (s)
			out[n++] = s;
	}
	json_array_foreach(json_object_get(step, "branches"), i, b) {
		const char *s = json_string_value(json_object_get(b, "next"));
		if (s && n < max)
			out[n++] = s;
	}
	return n;
}

int kz_journey_hhmm(const char *s)
{
	int h, m;
	char tail;
	if (!s || sscanf(s, "%2d:%2d%c", &h, &m, &tail) != 2 || strlen(s) != 5 || h < 0 || h > 23 ||
	    m < 0 || m > 59)
		return -1;
	return h * 60 + m;
}

static int valid_id(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '_' || ch == '-'))
			return 0;
	}
	return 1;
}

static int is_positive_int(const json_t *v)
{
	return json_is_integer(v) && json_integer_value(v) > 0;
}

static void check_filter(checker *k, const char *step, const char *field, const json_t *filter)
{
	char msg[400];
	if (!json_is_object(filter)) {
		problem(k, step, field, "a filter (an object, as in segments) is required");
		return;
	}
	if (k->env && k->env->check_filter &&
	    k->env->check_filter(k->env->ctx, filter, msg, sizeof msg) < 0)
		problem(k, step, field, "%s", msg);
}

static void check_segment(checker *k, const char *step, const char *field, const json_t *v,
			  int want_list)
{
	int kind;
	if (!is_positive_int(v)) {
		problem(k, step, field, "%s is required (a %s id)", field,
			want_list ? "list" : "segment");
		return;
	}
	if (!k->env || !k->env->segment_kind)
		return;
	kind = k->env->segment_kind(k->env->ctx, json_integer_value(v));
	if (kind < 0)
		problem(k, step, field, "there is no %s with id %" PRId64,
			want_list ? "list" : "segment", (int64_t)json_integer_value(v));
	else if (want_list && kind != 1)
		problem(k, step, field,
			"segment %" PRId64 " is dynamic: only static lists can be added to or removed from",
			(int64_t)json_integer_value(v));
}

static void check_event_where(checker *k, const char *step, const char *field,
			      const json_t *event, const json_t *where)
{
	char wfield[160];
	json_t *f;
	if (!json_is_string(event) || !*json_string_value(event) ||
	    strlen(json_string_value(event)) > 128) {
		problem(k, step, field, "event is required: the event name (1 to 128 characters)");
		return;
	}
	if (!where)
		return;
	snprintf(wfield, sizeof wfield, "%s", field);
	{
		char *dot = strrchr(wfield, '.');
		if (dot)
			snprintf(dot + 1, sizeof wfield - (size_t)(dot + 1 - wfield), "where");
	}
	if (!json_is_array(where)) {
		problem(k, step, wfield, "where is a list of property conditions");
		return;
	}
	f = json_pack("{s:O, s:O}", "event", event, "where", where);
	check_filter(k, step, wfield, f);
	json_decref(f);
}

/* ---- triggers ---- */

static void check_trigger(checker *k, size_t i, const json_t *t)
{
	char f[96];
	const char *type = json_string_value(json_object_get(t, "type"));
	snprintf(f, sizeof f, "triggers.%zu.type", i);
	if (!json_is_object(t) || !type) {
		problem(k, NULL, f,
			"each trigger needs a type: event, segment_entered, list_added, score, stage, "
			"date or manual");
		return;
	}
	if (!strcmp(type, "event")) {
		snprintf(f, sizeof f, "triggers.%zu.event", i);
		check_event_where(k, NULL, f, json_object_get(t, "event"), json_object_get(t, "where"));
	} else if (!strcmp(type, "segment_entered")) {
		snprintf(f, sizeof f, "triggers.%zu.segment_id", i);
		check_segment(k, NULL, f, json_object_get(t, "segment_id"), 0);
	} else if (!strcmp(type, "list_added")) {
		snprintf(f, sizeof f, "triggers.%zu.list_id", i);
		check_segment(k, NULL, f, json_object_get(t, "list_id"), 1);
	} else if (!strcmp(type, "score")) {
		const char *dir = json_string_value(json_object_get(t, "direction"));
		snprintf(f, sizeof f, "triggers.%zu.threshold", i);
		if (!json_is_integer(json_object_get(t, "threshold")))
			problem(k, NULL, f, "threshold is required: the score that is crossed");
		snprintf(f, sizeof f, "triggers.%zu.direction", i);
		if (dir && strcmp(dir, "up") && strcmp(dir, "down"))
			problem(k, NULL, f, "direction is up (default) or down");
	} else if (!strcmp(type, "stage")) {
		const json_t *s = json_object_get(t, "stage");
		snprintf(f, sizeof f, "triggers.%zu.stage", i);
		if (!json_is_string(s) || !*json_string_value(s))
			problem(k, NULL, f, "stage is required: the lifecycle stage entered");
	} else if (!strcmp(type, "date")) {
		const char *field = json_string_value(json_object_get(t, "field"));
		const json_t *off = json_object_get(t, "offset_days");
		const char *at = json_string_value(json_object_get(t, "time"));
		snprintf(f, sizeof f, "triggers.%zu.field", i);
		if (!field || !*field)
			problem(k, NULL, f, "field is required: a date custom field (birthday, renewal)");
		else if (k->env && k->env->field_kind) {
			const char *key = !strncmp(field, "fields.", 7) ? field + 7 : field;
			int kind = k->env->field_kind(k->env->ctx, key);
			if (kind == 0)
				problem(k, NULL, f, "there is no custom field %s", key);
			else if (kind != 2)
				problem(k, NULL, f, "field %s is not a date field", key);
		}
		snprintf(f, sizeof f, "triggers.%zu.offset_days", i);
		if (off && (!json_is_integer(off) || json_integer_value(off) < -366 ||
			    json_integer_value(off) > 366))
			problem(k, NULL, f, "offset_days is a whole number of days from -366 to 366");
		snprintf(f, sizeof f, "triggers.%zu.time", i);
		if (at && kz_journey_hhmm(at) < 0)
			problem(k, NULL, f, "time is HH:MM (24 hours) in the contact's time zone");
	} else if (strcmp(type, "manual")) {
		problem(k, NULL, f,
			"unknown trigger type %s: use event, segment_entered, list_added, score, stage, "
			"date or manual",
			type);
	}
}

/* ---- steps ---- */

static void check_next(checker *k, const char *id, const json_t *step, const char *key,
		       int required)
{
	char f[160];
	const json_t *v = json_object_get(step, key);
	snprintf(f, sizeof f, "steps.%s.%s", id, key);
	if (!v || json_is_null(v)) {
		if (required)
			problem(k, id, f, "%s is required: the step that follows", key);
		return;
	}
	if (!json_is_string(v)) {
		problem(k, id, f, "%s names a step (a string)", key);
		return;
	}
	if (!json_object_get(k->steps, json_string_value(v)))
		problem(k, id, f, "%s names step %s, which does not exist", key, json_string_value(v));
	else if (!strcmp(json_string_value(v), id))
		problem(k, id, f, "%s points back to the same step", key);
}

static void check_update(checker *k, const char *id, const json_t *step)
{
	char f[160];
	size_t i;
	const json_t *a, *acts = json_object_get(step, "actions");
	snprintf(f, sizeof f, "steps.%s.actions", id);
	if (!json_is_array(acts) || json_array_size(acts) == 0) {
		problem(k, id, f, "actions is required: a list of changes to the contact");
		return;
	}
	json_array_foreach(acts, i, a) {
		const char *op = json_string_value(json_object_get(a, "op"));
		snprintf(f, sizeof f, "steps.%s.actions.%zu", id, i);
		if (!op) {
			problem(k, id, f,
				"each action needs an op: set_field, add_tag, remove_tag, add_points, "
				"set_stage, set_owner or assign_owner");
		} else if (!strcmp(op, "set_field")) {
			const char *field = json_string_value(json_object_get(a, "field"));
			static const char *const record[] = {"first_name", "last_name", "phone",
							     "timezone", "locale", NULL};
			int known = 0;
			if (!field)
				problem(k, id, f, "set_field needs field");
			else if (!json_object_get(a, "value"))
				problem(k, id, f, "set_field needs value (null clears the field)");
			else {
				for (int r = 0; record[r]; r++)
					known |= !strcmp(field, record[r]);
				if (!known && strncmp(field, "fields.", 7))
					problem(k, id, f,
						"field %s cannot be set: use fields.<key> or one of first_name, "
						"last_name, phone, timezone, locale",
						field);
				else if (!known && k->env && k->env->field_kind &&
					 k->env->field_kind(k->env->ctx, field + 7) == 0)
					problem(k, id, f, "there is no custom field %s", field + 7);
			}
		} else if (!strcmp(op, "add_tag") || !strcmp(op, "remove_tag")) {
			const char *tag = json_string_value(json_object_get(a, "tag"));
			if (!tag || !*tag || strlen(tag) > 100)
				problem(k, id, f, "%s needs tag (1 to 100 characters)", op);
		} else if (!strcmp(op, "add_points")) {
			if (!json_is_integer(json_object_get(a, "points")) ||
			    json_integer_value(json_object_get(a, "points")) == 0)
				problem(k, id, f, "add_points needs points (a whole number, not 0)");
		} else if (!strcmp(op, "set_stage")) {
			if (!json_is_string(json_object_get(a, "stage")))
				problem(k, id, f, "set_stage needs stage");
		} else if (!strcmp(op, "set_owner")) {
			const json_t *u = json_object_get(a, "user_id");
			if (!is_positive_int(u))
				problem(k, id, f, "set_owner needs user_id");
			else if (k->env && k->env->user_exists &&
				 !k->env->user_exists(k->env->ctx, json_integer_value(u)))
				problem(k, id, f, "there is no user with id %" PRId64,
					(int64_t)json_integer_value(u));
		} else if (!strcmp(op, "assign_owner")) {
			size_t j;
			const json_t *u, *users = json_object_get(a, "users");
			if (!json_is_array(users) || json_array_size(users) == 0)
				problem(k, id, f,
					"assign_owner needs users: the sales users to take turns (round robin)");
			json_array_foreach(users, j, u) {
				if (!is_positive_int(u))
					problem(k, id, f, "users holds user ids");
				else if (k->env && k->env->user_exists &&
					 !k->env->user_exists(k->env->ctx, json_integer_value(u)))
					problem(k, id, f, "there is no user with id %" PRId64,
						(int64_t)json_integer_value(u));
			}
		} else {
			problem(k, id, f, "unknown op %s", op);
		}
	}
}

static void check_step(checker *k, const char *id, const json_t *step)
{
	char f[160];
	const char *type = json_string_value(json_object_get(step, "type"));
	snprintf(f, sizeof f, "steps.%s.type", id);
	if (!valid_id(id)) {
		snprintf(f, sizeof f, "steps");
		problem(k, id, f, "step id %.80s: use 1 to 64 letters, digits, _ or -", id);
		return;
	}
	if (!json_is_object(step) || !type) {
		problem(k, id, f, "each step needs a type");
		return;
	}
#define F(key) (snprintf(f, sizeof f, "steps.%s." key, id), f)
	if (!strcmp(type, "send_email")) {
		const json_t *e = json_object_get(step, "email_id");
		if (!is_positive_int(e))
			problem(k, id, F("email_id"), "email_id is required: the email to send");
		else if (k->env && k->env->email_exists &&
			 !k->env->email_exists(k->env->ctx, json_integer_value(e)))
			problem(k, id, F("email_id"), "there is no email with id %" PRId64,
				(int64_t)json_integer_value(e));
		check_next(k, id, step, "next", 0);
	} else if (!strcmp(type, "send_webhook")) {
		const char *url = json_string_value(json_object_get(step, "url"));
		if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
			problem(k, id, F("url"), "url is required: an http:// or https:// address");
		if (json_object_get(step, "body") && !json_is_object(json_object_get(step, "body")))
			problem(k, id, F("body"), "body is an object merged into the payload");
		check_next(k, id, step, "next", 0);
	} else if (!strcmp(type, "notify")) {
		const json_t *to = json_object_get(step, "to");
		const char *slack = json_string_value(json_object_get(step, "slack_url"));
		if (!to && !slack)
			problem(k, id, F("to"),
				"notify needs to (\"owner\", {\"user_id\": n} or {\"email\": ...}) or "
				"slack_url");
		if (to && !(json_is_string(to) && !strcmp(json_string_value(to), "owner")) &&
		    !(json_is_object(to) && (is_positive_int(json_object_get(to, "user_id")) ||
					     json_is_string(json_object_get(to, "email")))))
			problem(k, id, F("to"),
				"to is \"owner\", {\"user_id\": n} or {\"email\": \"team@example.com\"}");
		else if (json_is_object(to) && is_positive_int(json_object_get(to, "user_id")) &&
			 k->env && k->env->user_exists &&
			 !k->env->user_exists(k->env->ctx,
					      json_integer_value(json_object_get(to, "user_id"))))
			problem(k, id, F("to"), "there is no user with id %" PRId64,
				(int64_t)json_integer_value(json_object_get(to, "user_id")));
		if (slack && strncmp(slack, "http://", 7) && strncmp(slack, "https://", 8))
			problem(k, id, F("slack_url"), "slack_url is an http(s) incoming-webhook address");
		check_next(k, id, step, "next", 0);
	} else if (!strcmp(type, "wait")) {
		const json_t *s = json_object_get(step, "seconds");
		if (!json_is_integer(s) || json_integer_value(s) < 1 ||
		    json_integer_value(s) > (json_int_t)10 * 366 * 86400)
			problem(k, id, F("seconds"), "seconds is required: 1 up to 10 years");
		check_next(k, id, step, "next", 1);
	} else if (!strcmp(type, "wait_until")) {
		const char *at = json_string_value(json_object_get(step, "at"));
		const char *time = json_string_value(json_object_get(step, "time"));
		int64_t ms;
		if (at) {
			if (kz_time_parse_iso(at, &ms) < 0)
				problem(k, id, F("at"), "at is an ISO 8601 date and time");
		} else if (!time || kz_journey_hhmm(time) < 0) {
			problem(k, id, F("time"),
				"wait_until needs at (an ISO date and time) or time (HH:MM in the contact's "
				"zone, with optional days)");
		}
		if (json_object_get(step, "days")) {
			size_t i;
			const json_t *d;
			static const char *const names = "sun mon tue wed thu fri sat";
			if (!json_is_array(json_object_get(step, "days")))
				problem(k, id, F("days"), "days is a list such as [\"mon\", \"tue\"]");
			json_array_foreach(json_object_get(step, "days"), i, d) {
				const char *s = json_string_value(d);
				if (!s || strlen(s) != 3 || !strstr(names, s))
					problem(k, id, F("days"), "days are sun, mon, tue, wed, thu, fri, sat");
			}
		}
		check_next(k, id, step, "next", 1);
	} else if (!strcmp(type, "wait_for_event")) {
		const json_t *t = json_object_get(step, "timeout_seconds");
		check_event_where(k, id, F("event"), json_object_get(step, "event"),
				  json_object_get(step, "where"));
		if (!json_is_integer(t) || json_integer_value(t) < 1 ||
		    json_integer_value(t) > (json_int_t)10 * 366 * 86400)
			problem(k, id, F("timeout_seconds"),
				"timeout_seconds is required: how long to wait (1 s up to 10 years)");
		check_next(k, id, step, "yes", 0);
		check_next(k, id, step, "no", 0);
	} else if (!strcmp(type, "condition")) {
		check_filter(k, id, F("filter"), json_object_get(step, "filter"));
		check_next(k, id, step, "yes", 0);
		check_next(k, id, step, "no", 0);
	} else if (!strcmp(type, "split")) {
		const json_t *br = json_object_get(step, "branches"), *b;
		size_t i;
		int64_t sum = 0;
		int bad_percent = 0;
		if (!json_is_array(br) || json_array_size(br) < 2 || json_array_size(br) > 10) {
			problem(k, id, F("branches"), "a split needs 2 to 10 branches");
		} else {
			json_array_foreach(br, i, b) {
				const json_t *p = json_object_get(b, "percent");
				const char *nx = json_string_value(json_object_get(b, "next"));
				snprintf(f, sizeof f, "steps.%s.branches.%zu.percent", id, i);
				if (!json_is_integer(p) || json_integer_value(p) < 1 ||
				    json_integer_value(p) > 99) {
					problem(k, id, f, "percent is a whole number from 1 to 99");
					bad_percent = 1;
				} else {
					sum += json_integer_value(p);
				}
				snprintf(f, sizeof f, "steps.%s.branches.%zu.next", id, i);
				if (nx && !json_object_get(k->steps, nx))
					problem(k, id, f, "next names step %s, which does not exist", nx);
			}
			/* only this split's own percentages: a problem elsewhere must not hide it */
			if (sum != 100 && !bad_percent)
				problem(k, id, F("branches"), "the percentages add up to %" PRId64 ", not 100",
					sum);
		}
	} else if (!strcmp(type, "update_contact")) {
		check_update(k, id, step);
		check_next(k, id, step, "next", 0);
	} else if (!strcmp(type, "add_to_list") || !strcmp(type, "remove_from_list")) {
		check_segment(k, id, F("list_id"), json_object_get(step, "list_id"), 1);
		check_next(k, id, step, "next", 0);
	} else if (!strcmp(type, "goal")) {
		check_filter(k, id, F("filter"), json_object_get(step, "filter"));
	} else if (strcmp(type, "exit")) {
		problem(k, id, F("type"),
			"unknown step type %s: use send_email, send_webhook, notify, wait, wait_until, "
			"wait_for_event, condition, split, update_contact, add_to_list, "
			"remove_from_list, goal or exit",
			type);
	}
#undef F
}

/* ---- the graph: reachability and instant loops ---- */

typedef struct graph {
	const char *ids[MAX_STEPS];
	const json_t *steps[MAX_STEPS];
	int n;
	unsigned char seen[MAX_STEPS], color[MAX_STEPS];
} graph;

static int index_of(const graph *g, const char *id)
{
	for (int i = 0; i < g->n; i++)
		if (!strcmp(g->ids[i], id))
			return i;
	return -1;
}

static void reach(graph *g, int i)
{
	const char *ex[MAX_EXITS];
	int n;
	if (i < 0 || g->seen[i])
		return;
	g->seen[i] = 1;
	n = kz_journey_step_exits(g->steps[i], ex, MAX_EXITS);
	for (int k = 0; k < n; k++)
		reach(g, index_of(g, ex[k]));
}

/* Depth-first over steps that do not wait: a back edge is a loop that would run forever
 * without time passing. Returns the step that closes one, or -1. */
static int instant_loop(graph *g, int i)
{
	const char *ex[MAX_EXITS];
	int n;
	if (kz_journey_step_waits(json_string_value(json_object_get(g->steps[i], "type"))))
		return -1;
	if (g->color[i] == 1)
		return i;
	if (g->color[i] == 2)
		return -1;
	g->color[i] = 1;
	n = kz_journey_step_exits(g->steps[i], ex, MAX_EXITS);
	for (int k = 0; k < n; k++) {
		int j = index_of(g, ex[k]), r;
		if (j >= 0 && (r = instant_loop(g, j)) >= 0)
			return r;
	}
	g->color[i] = 2;
	return -1;
}

static void check_graph(checker *k, const char *start)
{
	graph *g = calloc(1, sizeof *g);
	const char *id;
	json_t *step;
	if (!g)
		return;
	json_object_foreach((json_t *)k->steps, id, step) {
		if (g->n < MAX_STEPS) {
			g->ids[g->n] = id;
			g->steps[g->n++] = step;
		}
	}
	reach(g, index_of(g, start));
	for (int i = 0; i < g->n; i++) {
		const char *type = json_string_value(json_object_get(g->steps[i], "type"));
		char f[96];
		if (!g->seen[i] && !(type && !strcmp(type, "goal"))) {
			snprintf(f, sizeof f, "steps.%s", g->ids[i]);
			problem(k, g->ids[i], f,
				"step %s is not reachable from the start step %s: connect it or remove it",
				g->ids[i], start);
		}
	}
	for (int i = 0; i < g->n; i++) {
		int r = g->color[i] ? -1 : instant_loop(g, i);
		if (r >= 0) {
			char f[96];
			snprintf(f, sizeof f, "steps.%s", g->ids[r]);
			problem(k, g->ids[r], f,
				"step %s is part of a loop with no wait: it would run without end; add a "
				"wait step to the loop",
				g->ids[r]);
			break;
		}
	}
	free(g);
}

/* ---- settings ---- */

static void check_settings(checker *k, const json_t *s)
{
	const char *re = json_string_value(json_object_get(s, "reentry"));
	const json_t *v;
	int64_t a = 0, b = 0;
	if (!s)
		return;
	if (!json_is_object(s)) {
		problem(k, NULL, "settings", "settings is an object");
		return;
	}
	if (json_object_get(s, "reentry") &&
	    (!re || (strcmp(re, "never") && strcmp(re, "after_exit") && strcmp(re, "every_trigger"))))
		problem(k, NULL, "settings.reentry", "reentry is never, after_exit or every_trigger");
	if ((v = json_object_get(s, "exit_segment_id")) && !json_is_null(v))
		check_segment(k, NULL, "settings.exit_segment_id", v, 0);
	if ((v = json_object_get(s, "quiet_hours")) && !json_is_null(v)) {
		if (!json_is_object(v) || kz_journey_hhmm(json_string_value(json_object_get(v, "start"))) < 0 ||
		    kz_journey_hhmm(json_string_value(json_object_get(v, "end"))) < 0)
			problem(k, NULL, "settings.quiet_hours",
				"quiet_hours is {\"start\": \"21:00\", \"end\": \"08:00\"} in the contact's "
				"time zone");
	}
	if ((v = json_object_get(s, "send_window")) && !json_is_null(v)) {
		const json_t *days = json_object_get(v, "days"), *d;
		size_t i;
		if (!json_is_object(v) || kz_journey_hhmm(json_string_value(json_object_get(v, "start"))) < 0 ||
		    kz_journey_hhmm(json_string_value(json_object_get(v, "end"))) < 0 ||
		    kz_journey_hhmm(json_string_value(json_object_get(v, "start"))) >=
			    kz_journey_hhmm(json_string_value(json_object_get(v, "end"))))
			problem(k, NULL, "settings.send_window",
				"send_window is {\"days\": [\"mon\", ...], \"start\": \"09:00\", \"end\": "
				"\"18:00\"} with start before end");
		json_array_foreach(days, i, d) {
			const char *s3 = json_string_value(d);
			if (!s3 || strlen(s3) != 3 || !strstr("sun mon tue wed thu fri sat", s3))
				problem(k, NULL, "settings.send_window.days",
					"days are sun, mon, tue, wed, thu, fri, sat");
		}
	}
	if ((v = json_object_get(s, "start_at")) && !json_is_null(v) &&
	    (!json_is_string(v) || kz_time_parse_iso(json_string_value(v), &a) < 0))
		problem(k, NULL, "settings.start_at", "start_at is an ISO 8601 date and time");
	if ((v = json_object_get(s, "end_at")) && !json_is_null(v) &&
	    (!json_is_string(v) || kz_time_parse_iso(json_string_value(v), &b) < 0))
		problem(k, NULL, "settings.end_at", "end_at is an ISO 8601 date and time");
	if (a && b && b <= a)
		problem(k, NULL, "settings.end_at", "end_at comes after start_at");
	if ((v = json_object_get(s, "send_cap")) && !json_is_null(v) &&
	    (!json_is_integer(v) || json_integer_value(v) < 0))
		problem(k, NULL, "settings.send_cap",
			"send_cap is how many emails one contact may get from this journey (0: no cap)");
	if ((v = json_object_get(s, "webhook_secret")) && !json_is_null(v) &&
	    (!json_is_string(v) || strlen(json_string_value(v)) < 16))
		problem(k, NULL, "settings.webhook_secret",
			"webhook_secret is at least 16 characters (leave it out to use the workspace's)");
}

json_t *kz_journey_check(const json_t *def, const kz_journey_env *env)
{
	checker k = {json_array(), env, NULL};
	const json_t *triggers, *steps, *t;
	const char *start, *id;
	json_t *step;
	size_t i;
	if (!json_is_object(def)) {
		problem(&k, NULL, "definition", "the definition is an object with triggers, start, steps");
		return k.problems;
	}
	triggers = json_object_get(def, "triggers");
	steps = json_object_get(def, "steps");
	start = json_string_value(json_object_get(def, "start"));
	k.steps = steps;
	if (triggers && !json_is_array(triggers))
		problem(&k, NULL, "triggers", "triggers is a list");
	else if (!triggers || json_array_size(triggers) == 0)
		problem(&k, NULL, "triggers",
			"add at least one trigger (use {\"type\": \"manual\"} for enrolment by API only)");
	else if (json_array_size(triggers) > 20)
		problem(&k, NULL, "triggers", "at most 20 triggers");
	json_array_foreach(triggers, i, t)
		check_trigger(&k, i, t);
	if (!json_is_object(steps) || json_object_size(steps) == 0) {
		problem(&k, NULL, "steps", "steps is an object of steps keyed by their ids");
		check_settings(&k, json_object_get(def, "settings"));
		return k.problems;
	}
	if (json_object_size(steps) > MAX_STEPS)
		problem(&k, NULL, "steps", "at most %d steps", MAX_STEPS);
	if (!start)
		problem(&k, NULL, "start", "start is required: the id of the first step");
	else if (!json_object_get(steps, start))
		problem(&k, NULL, "start", "start names step %s, which does not exist", start);
	else if (json_string_value(json_object_get(json_object_get(steps, start), "type")) &&
		 !strcmp(json_string_value(json_object_get(json_object_get(steps, start), "type")),
			 "goal"))
		problem(&k, start, "start", "the start step cannot be a goal");
	json_object_foreach((json_t *)steps, id, step)
		check_step(&k, id, step);
	if (start && json_object_get(steps, start) && json_object_size(steps) <= MAX_STEPS)
		check_graph(&k, start);
	check_settings(&k, json_object_get(def, "settings"));
	return k.problems;
}
