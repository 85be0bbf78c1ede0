/* score.c — lead scoring (behaviour rules with limits, profile rules, decay, thresholds) and
 * lifecycle stages (ordered, moved forward by rules or by hand); run by the engine thread. */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audience/engine.h"
#include "base/timeutil.h"

#include "base/banned.h"

static const char *const default_stages[] = {"subscriber", "lead",	"mql",	    "sql",
					     "opportunity", "customer", "repeater", NULL};

json_t *kz_audience_default_stages(void)
{
	json_t *st = json_array();
	for (int i = 0; default_stages[i]; i++)
		json_array_append_new(st, json_string(default_stages[i]));
	return json_pack("{s:o, s:[]}", "stages", st, "rules");
}

json_t *kz_audience_default_scoring(void)
{
	return json_pack("{s:n, s:s, s:[]}", "decay", "company", "sum", "thresholds");
}

static int valid_name(const char *s, size_t max)
{
	if (!s || !*s || strlen(s) > max)
		return 0;
	for (const char *c = s; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
			return 0;
	return 1;
}

/* ---- validation ---- */

int kz_audience_check_stages(kz_audience *a, const json_t *in, const json_t *field_defs,
			     kz_err *err)
{
	const json_t *st = json_object_get(in, "stages"), *rules = json_object_get(in, "rules");
	size_t i, j;
	json_t *x;
	char ptr[96];
	if (!json_is_object(in))
		return kz_err_set(err, 422, "invalid_field", NULL,
				  "send {\"stages\": [...], \"rules\": [...]}");
	if (!json_is_array(st) || json_array_size(st) < 1 || json_array_size(st) > 30)
		return kz_err_set(err, 422, "invalid_field", "/stages",
				  "stages is a list of 1 to 30 stage names, first to last");
	json_array_foreach(st, i, x)
	{
		snprintf(ptr, sizeof ptr, "/stages/%zu", i);
		if (!valid_name(json_string_value(x), 40))
			return kz_err_set(err, 422, "invalid_field", ptr,
					  "a stage name is 1-40 letters, digits, _ or -");
		for (j = 0; j < i; j++)
			if (!strcmp(json_string_value(json_array_get(st, j)), json_string_value(x)))
				return kz_err_set(err, 422, "invalid_field", ptr,
						  "stage %s is listed twice", json_string_value(x));
	}
	if (rules && !json_is_array(rules))
		return kz_err_set(err, 422, "invalid_field", "/rules",
				  "rules is a list of {\"to\": stage, \"when\": filter}");
	json_array_foreach(rules, i, x)
	{
		const char *to = json_string_value(json_object_get(x, "to"));
		int found = 0;
		json_array_foreach(st, j, x) found |= to && !strcmp(json_string_value(x), to);
		x = json_array_get(rules, i);
		snprintf(ptr, sizeof ptr, "/rules/%zu/to", i);
		if (!found)
			return kz_err_set(err, 422, "invalid_field", ptr,
					  "to must name one of the stages");
		snprintf(ptr, sizeof ptr, "/rules/%zu/when", i);
		if (kz_audience_check_filter(a, 0, json_object_get(x, "when"), field_defs, ptr,
					     err) < 0)
			return -1;
	}
	return 0;
}

int kz_audience_check_scoring(const json_t *in, kz_err *err)
{
	const json_t *d = json_object_get(in, "decay"), *co = json_object_get(in, "company");
	const json_t *th = json_object_get(in, "thresholds");
	size_t i;
	json_t *x;
	if (!json_is_object(in))
		return kz_err_set(err, 422, "invalid_field", NULL, "send a settings object");
	if (d && !json_is_null(d)) {
		const json_t *p = json_object_get(d, "percent"), *days = json_object_get(d, "days");
		if (!json_is_integer(p) || json_integer_value(p) < 1 || json_integer_value(p) > 100)
			return kz_err_set(err, 422, "invalid_field", "/decay/percent",
					  "decay.percent is a whole number from 1 to 100");
		if (!json_is_integer(days) || json_integer_value(days) < 1 ||
		    json_integer_value(days) > 3650)
			return kz_err_set(err, 422, "invalid_field", "/decay/days",
					  "decay.days is a whole number of idle days from 1 to 3650");
	}
	if (co && (!json_is_string(co) || (strcmp(json_string_value(co), "sum") &&
					   strcmp(json_string_value(co), "max"))))
		return kz_err_set(err, 422, "invalid_field", "/company", "company is sum or max");
	if (th && (!json_is_array(th) || json_array_size(th) > 20))
		return kz_err_set(err, 422, "invalid_field", "/thresholds",
				  "thresholds is a list of up to 20 whole numbers");
	json_array_foreach(th, i, x) if (!json_is_integer(x))
	{
		char ptr[48];
		snprintf(ptr, sizeof ptr, "/thresholds/%zu", i);
		return kz_err_set(err, 422, "invalid_field", ptr, "a threshold is a whole number");
	}
	return 0;
}

json_t *kz_audience_check_rule(kz_audience *a, const json_t *in, const json_t *field_defs,
			       kz_err *err)
{
	const char *name = json_string_value(json_object_get(in, "name"));
	const json_t *ev = json_object_get(in, "event"), *filter = json_object_get(in, "filter");
	const json_t *points = json_object_get(in, "points"), *limit = json_object_get(in, "limit");
	const json_t *cat = json_object_get(in, "category");
	json_t *out;
	int profile = filter && !json_is_null(filter);
	if (!name || !*name || strlen(name) > 200) {
		kz_err_set(err, 422, "invalid_field", "name", "name is required (up to 200 chars)");
		return NULL;
	}
	if (profile == (ev && !json_is_null(ev))) {
		kz_err_set(err, 422, "invalid_field", "event",
			   "a rule has either event (behaviour) or filter (profile), not both");
		return NULL;
	}
	if (!json_is_integer(points) || json_integer_value(points) == 0 ||
	    llabs(json_integer_value(points)) > 100000) {
		kz_err_set(err, 422, "invalid_field", "points",
			   "points is a whole number other than 0 (negative to subtract)");
		return NULL;
	}
	if (cat && !json_is_null(cat) && !valid_name(json_string_value(cat), 40)) {
		kz_err_set(err, 422, "invalid_field", "category",
			   "category is 1-40 letters, digits, _ or -");
		return NULL;
	}
	out = json_pack("{s:s, s:s, s:O, s:s}", "name", name, "kind",
			profile ? "profile" : "behaviour", "points", points, "category",
			cat && json_is_string(cat) ? json_string_value(cat)
			: profile		   ? "fit"
						   : "engagement");
	if (profile) {
		if (kz_audience_check_filter(a, 0, filter, field_defs, "filter", err) < 0)
			goto bad;
		json_object_set(out, "filter", (json_t *)filter);
		return out;
	}
	{
		json_t *probe = json_pack("{s:O}", "event", ev);
		const json_t *where = json_object_get(in, "where");
		if (where)
			json_object_set(probe, "where", (json_t *)where);
		if (kz_audience_check_filter(a, 0, probe, field_defs, "", err) < 0) {
			json_decref(probe);
			goto bad;
		}
		json_decref(probe);
		json_object_set(out, "event", (json_t *)ev);
		json_object_set_new(out, "where", where ? json_deep_copy(where) : json_array());
	}
	if (limit && !json_is_null(limit)) {
		const json_t *t = json_object_get(limit, "times");
		const char *per = json_string_value(json_object_get(limit, "per"));
		if (!json_is_integer(t) || json_integer_value(t) < 1 || !per ||
		    (strcmp(per, "day") && strcmp(per, "week") && strcmp(per, "ever"))) {
			kz_err_set(err, 422, "invalid_field", "limit",
				   "limit is {\"times\": N, \"per\": \"day\"|\"week\"|\"ever\"}");
			goto bad;
		}
		json_object_set_new(out, "limit", json_pack("{s:O, s:s}", "times", t, "per", per));
	} else {
		json_object_set_new(out, "limit", json_null());
	}
	return out;
bad:
	json_decref(out);
	return NULL;
}

/* ---- loading ---- */

void kz_aud_rules_release(kz_audience *a)
{
	for (int i = 0; i < a->nrules; i++) {
		free(a->rules[i].name);
		free(a->rules[i].event);
		free(a->rules[i].category);
		kz_filter_free(a->rules[i].f);
	}
	free(a->rules);
	a->rules = NULL;
	a->nrules = 0;
}

int kz_aud_rules_load(kz_audience *a, kz_err *err)
{
	json_t *list = NULL, *r;
	size_t i;
	kz_filter_env env = {a->field_defs, NULL, NULL};
	if (kz_store_score_rule_list(a->conn, &list, err) < 0)
		return -1;
	kz_aud_rules_release(a);
	a->rules = calloc(json_array_size(list) + 1, sizeof *a->rules);
	json_array_foreach(list, i, r)
	{
		arule *x = &a->rules[a->nrules];
		const json_t *lim = json_object_get(r, "limit");
		const char *per = json_string_value(json_object_get(lim, "per"));
		kz_err perr;
		memset(x, 0, sizeof *x);
		x->id = json_integer_value(json_object_get(r, "id"));
		x->profile = !strcmp(kz_jstr_or_empty(r, "kind"), "profile");
		x->points = json_integer_value(json_object_get(r, "points"));
		x->times = json_integer_value(json_object_get(lim, "times"));
		x->per = !per || !strcmp(per, "ever") ? 0 : !strcmp(per, "day") ? 1 : 2;
		if (x->profile) {
			x->f = kz_filter_parse(json_object_get(r, "filter"), &env, "", &perr);
		} else {
			json_t *probe = json_pack("{s:O, s:O}", "event", json_object_get(r, "event"),
						  "where", json_object_get(r, "where"));
			x->f = kz_filter_parse(probe, &env, "", &perr);
			json_decref(probe);
		}
		if (!x->f)
			continue; /* a rule this version cannot read scores nothing */
		x->name = strdup(kz_jstr_or_empty(r, "name"));
		x->category = strdup(kz_jstr_or_empty(r, "category"));
		x->event = x->profile ? NULL : strdup(kz_jstr_or_empty(r, "event"));
		a->nrules++;
	}
	json_decref(list);
	return 0;
}

static json_t *load_setting(kz_audience *a, const char *key, json_t *(*def)(void), kz_err *err)
{
	char *text = NULL;
	json_t *v;
	if (kz_store_setting_get(a->conn, key, &text, err) < 0)
		return NULL;
	v = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	return v ? v : def();
}

int kz_aud_scoring_load(kz_audience *a, kz_err *err)
{
	json_t *v = load_setting(a, KZ_SETTING_SCORING, kz_audience_default_scoring, err);
	if (!v)
		return -1;
	json_decref(a->scoring);
	a->scoring = v;
	return 0;
}

void kz_aud_stages_release(kz_audience *a)
{
	for (int i = 0; i < a->nsrules; i++)
		kz_filter_free(a->srules[i].when);
	free(a->srules);
	a->srules = NULL;
	a->nsrules = 0;
	json_decref(a->stages);
	a->stages = NULL;
}

int kz_aud_stages_load(kz_audience *a, kz_err *err)
{
	json_t *v = load_setting(a, KZ_SETTING_STAGES, kz_audience_default_stages, err), *r;
	const json_t *rules;
	size_t i;
	kz_filter_env env = {a->field_defs, NULL, NULL};
	if (!v)
		return -1;
	kz_aud_stages_release(a);
	a->stages = json_incref(json_object_get(v, "stages"));
	rules = json_object_get(v, "rules");
	a->srules = calloc(json_array_size(rules) + 1, sizeof *a->srules);
	json_array_foreach(rules, i, r)
	{
		kz_err perr;
		kz_fnode *f = kz_filter_parse(json_object_get(r, "when"), &env, "", &perr);
		int to = kz_aud_stage_rank(a, json_string_value(json_object_get(r, "to")));
		if (!f || to < 0) {
			kz_filter_free(f);
			continue;
		}
		a->srules[a->nsrules].to = to;
		a->srules[a->nsrules++].when = f;
	}
	json_decref(v);
	return 0;
}

/* ---- applying points ---- */

static int thresholds(kz_audience *a, int64_t cid, int64_t before, int64_t after, kz_err *err)
{
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(a->scoring, "thresholds"), i, t)
	{
		int64_t v = json_integer_value(t);
		const char *dir = before < v && after >= v   ? "up"
				  : after < v && before >= v ? "down"
							     : NULL;
		if (dir && kz_aud_emit(a, cid, "score_threshold_crossed",
				       json_pack("{s:I, s:s, s:I}", "threshold", (json_int_t)v,
						 "direction", dir, "score", (json_int_t)after),
				       err) < 0)
			return -1;
	}
	return 0;
}

/* Add points to one category, log why, tell the timeline. */
static int award(kz_audience *a, int64_t cid, int64_t rule, const char *category, int64_t delta,
		 const char *what, const char *rule_name, int64_t at, kz_err *err)
{
	char reason[300];
	int64_t before = kz_index_score(a->ix, cid), cat_points = 0, after;
	if (rule_name)
		snprintf(reason, sizeof reason, "%+" PRId64 " %s (rule: %s)", delta, what, rule_name);
	else
		snprintf(reason, sizeof reason, "%+" PRId64 " %s", delta, what);
	if (kz_store_score_add(a->conn, cid, category, delta, at, &cat_points, err) < 0 ||
	    kz_store_score_log(a->conn, cid, rule, category, delta, reason, at, err) < 0)
		return -1;
	kz_index_set_score(a->ix, cid, category, cat_points);
	after = kz_index_score(a->ix, cid);
	kz_aud_dirty(a, cid);
	if (a->quiet)
		return 0;
	if (kz_aud_emit(a, cid, "score_changed",
			json_pack("{s:s, s:I, s:I, s:I, s:s, s:o}", "category", category, "points",
				  (json_int_t)delta, "score", (json_int_t)after, "category_score",
				  (json_int_t)cat_points, "reason", reason, "rule_id",
				  rule ? json_integer(rule) : json_null()),
			err) < 0)
		return -1;
	return thresholds(a, cid, before, after, err);
}

int kz_aud_award(kz_audience *a, int64_t contact, const char *category, int64_t delta,
		 const char *what, kz_err *err)
{
	return award(a, contact, 0, category, delta, what, NULL, kz_now_ms(), err);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* The limit window [since, until) holding `at`: its UTC day, ISO week (from Monday), or ever. */
static void window(int per, int64_t at, int64_t *since, int64_t *until)
{
	int64_t day = floor_div(at, KZ_DAY_MS);
	if (per == 1) {
		*since = day * KZ_DAY_MS;
		*until = *since + KZ_DAY_MS;
	} else if (per == 2) {
		int64_t monday = day - ((day + 3) % 7 + 7) % 7; /* 1970-01-01 was a Thursday */
		*since = monday * KZ_DAY_MS;
		*until = *since + 7 * KZ_DAY_MS;
	} else {
		*since = INT64_MIN / 2;
		*until = INT64_MAX / 2;
	}
}

static int where_ok(const kz_fnode *f, const json_t *props, int64_t now)
{
	for (int i = 0; i < f->nwhere; i++) {
		kz_fval v = kz_fval_of(json_object_get(props, f->where[i].prop), KZ_FT_ANY);
		if (!kz_fcmp_match(&f->where[i].cmp, &v, now, NULL, NULL))
			return 0;
	}
	return 1;
}

int kz_aud_score_event(kz_audience *a, int64_t contact, const char *name, int64_t at,
		       const json_t *props, kz_err *err)
{
	for (int i = 0; i < a->nrules; i++) {
		arule *r = &a->rules[i];
		char what[256];
		const char *path = json_string_value(json_object_get(props, "path"));
		if (r->profile || strcmp(r->event, name) || !where_ok(r->f, props, kz_now_ms()))
			continue;
		if (r->times) {
			int64_t since, until, n = 0;
			window(r->per, at, &since, &until);
			if (kz_store_score_log_count(a->conn, contact, r->id, since, until, &n, err) < 0)
				return -1;
			if (n >= r->times)
				continue;
		}
		if (!strcmp(name, "page_view") && path)
			snprintf(what, sizeof what, "visited %s", path);
		else
			snprintf(what, sizeof what, "%s", name);
		if (award(a, contact, r->id, r->category, r->points, what, r->name, at, err) < 0)
			return -1;
	}
	return 0;
}

int kz_aud_profile(kz_audience *a, int64_t contact, kz_err *err)
{
	int64_t now = kz_now_ms();
	for (int i = 0; i < a->nrules; i++) {
		arule *r = &a->rules[i];
		int64_t have = 0;
		int want;
		if (!r->profile)
			continue;
		want = kz_index_match(a->ix, r->f, contact, now, &a->hooks);
		if (kz_store_score_log_sum(a->conn, contact, r->id, &have, err) < 0)
			return -1;
		if (want && have == 0 &&
		    award(a, contact, r->id, r->category, r->points, "profile matches", r->name, now,
			  err) < 0)
			return -1;
		if (!want && have != 0 &&
		    award(a, contact, r->id, r->category, -have, "profile no longer matches",
			  r->name, now, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- decay ---- */

static int on_decay_row(void *ctx, const char *const *c)
{
	kz_audience *a = ctx;
	const json_t *d = json_object_get(a->scoring, "decay");
	int64_t pct = json_integer_value(json_object_get(d, "percent"));
	int64_t period = json_integer_value(json_object_get(d, "days")) * KZ_DAY_MS;
	int64_t cid = strtoll(c[0], NULL, 10), points = strtoll(c[2], NULL, 10);
	int64_t last = strtoll(c[3], NULL, 10), done = strtoll(c[4], NULL, 10);
	int64_t due = (kz_now_ms() - last) / period, np, delta, before, after;
	char reason[160];
	kz_err *err = a->dirty_err;
	if (due <= done || points == 0)
		return 0;
	np = (int64_t)trunc((double)points * pow(1.0 - (double)pct / 100.0, (double)(due - done)));
	delta = np - points;
	before = kz_index_score(a->ix, cid);
	snprintf(reason, sizeof reason, "%+" PRId64 " decay: %" PRId64 "%% per %" PRId64 " idle days",
		 delta, pct, period / KZ_DAY_MS);
	if (kz_store_score_decay(a->conn, cid, c[1], np, due, err) < 0 ||
	    (delta && kz_store_score_log(a->conn, cid, 0, c[1], delta, reason, kz_now_ms(), err) < 0))
		return -1;
	kz_index_set_score(a->ix, cid, c[1], np);
	after = kz_index_score(a->ix, cid);
	kz_aud_dirty(a, cid);
	if (!delta)
		return 0;
	if (kz_aud_emit(a, cid, "score_changed",
			json_pack("{s:s, s:I, s:I, s:I, s:s, s:n}", "category", c[1], "points",
				  (json_int_t)delta, "score", (json_int_t)after, "category_score",
				  (json_int_t)np, "reason", reason, "rule_id"),
			err) < 0)
		return -1;
	return thresholds(a, cid, before, after, err);
}

int kz_aud_decay(kz_audience *a, kz_err *err)
{
	const json_t *d = json_object_get(a->scoring, "decay");
	int64_t days = json_integer_value(json_object_get(d, "days"));
	kz_err inner;
	if (!json_is_object(d) || days <= 0)
		return 0;
	kz_err_clear(&inner);
	a->dirty_err = &inner;
	if (kz_store_score_scan(a->conn, kz_now_ms() - days * KZ_DAY_MS, on_decay_row, a, err) < 0) {
		if (inner.status)
			*err = inner;
		return -1;
	}
	return 0;
}

/* ---- stages ---- */

int kz_aud_move_stage(kz_audience *a, int64_t contact, const char *stage, const char *reason,
		      kz_err *err)
{
	const char *cur = kz_index_stage(a->ix, contact);
	char prev[64];
	snprintf(prev, sizeof prev, "%s", cur ? cur : "");
	if (cur && !strcmp(cur, stage))
		return 0;
	if (kz_store_stage_set(a->conn, contact, stage, *prev ? prev : NULL, reason, kz_now_ms(),
			       err) < 0)
		return -1;
	kz_index_set_stage(a->ix, contact, stage);
	return kz_aud_emit(a, contact, "stage_changed",
			   json_pack("{s:o, s:s, s:s}", "from", *prev ? json_string(prev) : json_null(),
				     "to", stage, "reason", reason),
			   err);
}

int kz_aud_stage_rules(kz_audience *a, int64_t contact, kz_err *err)
{
	int cur = kz_aud_stage_rank(a, kz_index_stage(a->ix, contact)), best = cur;
	int64_t now = kz_now_ms();
	for (int i = 0; i < a->nsrules; i++)
		if (a->srules[i].to > best &&
		    kz_index_match(a->ix, a->srules[i].when, contact, now, &a->hooks))
			best = a->srules[i].to;
	if (best <= cur)
		return 0;
	return kz_aud_move_stage(a, contact,
				 json_string_value(json_array_get(a->stages, (size_t)best)), "rule",
				 err);
}

/* ---- recompute ---- */

static int on_replay_row(void *ctx, const char *const *c)
{
	kz_audience *a = ctx;
	json_t *props = c[4] ? json_loads(c[4], 0, NULL) : NULL;
	json_t *context = c[5] ? json_loads(c[5], 0, NULL) : NULL;
	json_t *kept = kz_index_event_props(c[2], props, context);
	int rc = kz_aud_score_event(a, strtoll(c[1], NULL, 10), c[2], strtoll(c[3], NULL, 10), kept,
				    a->dirty_err);
	json_decref(props);
	json_decref(context);
	json_decref(kept);
	atomic_fetch_add(&a->rc_processed, 1);
	return rc;
}

int kz_aud_recompute_run(kz_audience *a, kz_err *err)
{
	int64_t total = 0, end = kz_index_end(a->ix);
	kz_err inner;
	int rc;
	a->rc_started = kz_now_ms();
	a->rc_finished = 0;
	atomic_store(&a->rc_processed, 0);
	if (kz_store_event_count(a->conn, NULL, 0, INT64_MIN / 2, &total, err) < 0)
		return -1;
	atomic_store(&a->rc_total, total);
	atomic_store(&a->rc_status, 1);
	if (kz_store_score_clear(a->conn, err) < 0)
		goto fail;
	for (int64_t id = 1; id < end; id++)
		if (kz_index_has(a->ix, id))
			kz_index_reset_scores(a->ix, id);
	kz_err_clear(&inner);
	a->dirty_err = &inner;
	a->quiet = 1;
	rc = kz_store_event_scan(a->conn, 0, on_replay_row, a, err);
	a->quiet = 0;
	if (rc < 0) {
		if (inner.status)
			*err = inner;
		goto fail;
	}
	for (int64_t id = 1; id < end; id++)
		if (kz_index_has(a->ix, id)) {
			if (kz_aud_profile(a, id, err) < 0)
				goto fail;
			kz_aud_dirty(a, id);
		}
	a->rc_finished = kz_now_ms();
	atomic_store(&a->rc_status, 2);
	return 0;
fail:
	atomic_store(&a->rc_status, 0);
	return -1;
}

json_t *kz_audience_recompute_status(kz_audience *a)
{
	static const char *const names[] = {"idle", "running", "done"};
	char s[40], f[40];
	int st = atomic_load(&a->rc_status);
	kz_time_iso(a->rc_started, s, sizeof s);
	kz_time_iso(a->rc_finished, f, sizeof f);
	return json_pack("{s:s, s:I, s:I, s:o, s:o}", "status", names[st], "processed",
			 (json_int_t)atomic_load(&a->rc_processed), "total",
			 (json_int_t)atomic_load(&a->rc_total), "started_at",
			 a->rc_started ? json_string(s) : json_null(), "finished_at",
			 a->rc_finished ? json_string(f) : json_null());
}
