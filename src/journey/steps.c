/* steps.c — the step executors: what each step kind does to one enrolment, decided before
 * the write transaction where it needs the audience (filters), applied inside it together
 * with the execution's idempotency row and the move to the next step. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audience/audience.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "channel/outbox.h"
#include "journey/jinternal.h"
#include "model/contact.h"

#include "base/banned.h"

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static const char *type_of(const json_t *step)
{
	const char *t = str(step, "type");
	return t ? t : "";
}

static const json_t *settings_of(const json_t *def)
{
	return json_object_get(def, "settings");
}

static int has_windows(const json_t *def)
{
	const json_t *s = settings_of(def);
	return json_is_object(json_object_get(s, "quiet_hours")) ||
	       json_is_object(json_object_get(s, "send_window"));
}

int kz_jn_needs_zone(const json_t *step, const json_t *def)
{
	const char *t = type_of(step);
	if (!strcmp(t, "send_email") || !strcmp(t, "notify"))
		return has_windows(def);
	return !strcmp(t, "wait_until") && !str(step, "at");
}

/* Any step of the definition needs the zone. */
static int def_needs_zone(const json_t *def)
{
	const char *id;
	json_t *st;
	json_object_foreach((json_t *)json_object_get(def, "steps"), id, st) {
		if (kz_jn_needs_zone(st, def))
			return 1;
	}
	return 0;
}

static int def_has_goals(const json_t *def)
{
	const char *id;
	json_t *st;
	json_object_foreach((json_t *)json_object_get(def, "steps"), id, st) {
		if (!strcmp(type_of(st), "goal"))
			return 1;
	}
	return 0;
}

void kz_jn_contact_zone(kz_conn *c, int64_t contact, const char *wz, char *out, size_t len)
{
	json_t *rec = NULL;
	kz_err err;
	const char *z = NULL;
	if (kz_store_contact_get(c, contact, &rec, &err) == 0)
		z = str(rec, "timezone");
	snprintf(out, len, "%s", z && *z ? z : wz && *wz ? wz : "UTC");
	json_decref(rec);
}

int64_t kz_jn_arrival(const json_t *step, const json_t *def, const char *zone, int64_t now,
		      const char **wait_event)
{
	const char *t = type_of(step);
	if (wait_event)
		*wait_event = NULL;
	if (!strcmp(t, "wait"))
		return now + json_integer_value(json_object_get(step, "seconds")) * 1000;
	if (!strcmp(t, "wait_until")) {
		int64_t at;
		if (str(step, "at") && kz_time_parse_iso(str(step, "at"), &at) == 0)
			return at > now ? at : now;
		{
			int m = kz_journey_hhmm(str(step, "time"));
			if (m < 0)
				return now;
			return kz_journey_next_local(json_object_get(step, "days"), m / 60, m % 60, zone,
						     now);
		}
	}
	if (!strcmp(t, "wait_for_event")) {
		if (wait_event)
			*wait_event = str(step, "event");
		return now + json_integer_value(json_object_get(step, "timeout_seconds")) * 1000;
	}
	if ((!strcmp(t, "send_email") || !strcmp(t, "notify")) && has_windows(def))
		return kz_journey_next_window(settings_of(def), zone, now);
	return now;
}

/* ------------------------------------------------------------------ deciding */

static int match_one(kz_journeys *j, const json_t *filter, int64_t contact, int *m, kz_err *err)
{
	unsigned char out = 0;
	*m = 0;
	if (!j->cfg.audience)
		return 0;
	if (kz_audience_match_many(j->cfg.audience, filter, &contact, 1, &out, err) < 0)
		return -1;
	*m = out;
	return 0;
}

/* The first goal of def the contact meets now, into goal; 0 none, 1 found, -1 error. */
static int goal_met(kz_journeys *j, const json_t *def, int64_t contact, char *goal, size_t len,
		    kz_err *err)
{
	const char *id;
	json_t *st;
	json_object_foreach((json_t *)json_object_get(def, "steps"), id, st) {
		int m;
		if (strcmp(type_of(st), "goal"))
			continue;
		if (match_one(j, json_object_get(st, "filter"), contact, &m, err) < 0) {
			kz_warn("journeys: goal %s: %s", id, err->message);
			continue;
		}
		if (m) {
			snprintf(goal, len, "%s", id);
			return 1;
		}
	}
	return 0;
}

static void fill(jdecide *d, const kz_enrolment *e, const json_t *def, int kind)
{
	memset(d, 0, sizeof *d);
	d->e = *e;
	d->e.context = NULL;
	d->def = def;
	d->kind = kind;
}

static void zone_known(kz_journeys *j, kz_conn *c, jdecide *d, int needs_zone)
{
	if (needs_zone)
		kz_jn_contact_zone(c, d->e.contact_id, str(j->settings, "timezone"), d->zone,
				   sizeof d->zone);
	else
		snprintf(d->zone, sizeof d->zone, "UTC");
}

static void zone_for(kz_journeys *j, kz_conn *c, jdecide *d)
{
	zone_known(j, c, d, d->def && def_needs_zone(d->def));
}

int kz_jn_decide_event(kz_journeys *j, kz_conn *c, const json_t *ev, jdecide **out, int *n,
		       kz_err *err)
{
	int64_t cid = json_integer_value(json_object_get(ev, "contact_id"));
	const char *name = str(ev, "name");
	kz_enrolment *e = NULL;
	int ne = 0, k = 0;
	json_t *props = NULL, *ctx = NULL;
	*out = NULL;
	*n = 0;
	if (kz_store_enrol_of_contact(c, cid, &e, &ne, err) < 0)
		return -1;
	if (ne == 0) {
		kz_enrolments_free(e, ne);
		return 0;
	}
	*out = calloc((size_t)ne, sizeof **out);
	props = json_loads(str(ev, "properties"), 0, NULL);
	ctx = json_loads(str(ev, "context"), 0, NULL);
	for (int i = 0; i < ne; i++) {
		const json_t *def = kz_jn_def(j, c, e[i].journey_id, e[i].version);
		const json_t *step = json_object_get(json_object_get(def, "steps"), e[i].step);
		const json_t *exit_seg = json_object_get(settings_of(def), "exit_segment_id");
		jdecide *d = &(*out)[k];
		char goal[72];
		if (!def)
			continue;
		/* the event that started this enrolment does not also answer its own wait */
		if (e[i].context && strstr(e[i].context, "\"event_id\"")) {
			json_t *cx = json_loads(e[i].context, 0, NULL);
			int same = json_integer_value(json_object_get(cx, "event_id")) ==
				   json_integer_value(json_object_get(ev, "id"));
			json_decref(cx);
			if (same)
				continue;
		}
		if (!strcmp(name, "segment_exited") && json_is_integer(exit_seg) &&
		    json_integer_value(json_object_get(props, "segment_id")) ==
			    json_integer_value(exit_seg)) {
			fill(d, &e[i], def, JD_EXIT);
			snprintf(d->reason, sizeof d->reason, "left segment %" PRId64,
				 (int64_t)json_integer_value(exit_seg));
			k++;
			continue;
		}
		if (def_has_goals(def)) {
			int g = goal_met(j, def, cid, goal, sizeof goal, err);
			if (g < 0)
				goto fail;
			if (g) {
				fill(d, &e[i], def, JD_GOAL);
				snprintf(d->goal, sizeof d->goal, "%s", goal);
				snprintf(d->reason, sizeof d->reason, "reached the goal %s", goal);
				k++;
				continue;
			}
		}
		if (!strcmp(type_of(step), "wait_for_event") && !strcmp(e[i].wait_event, name) &&
		    kz_jn_where(json_object_get(step, "where"), name, props, ctx, kz_now_ms())) {
			fill(d, &e[i], def, JD_EVENT_YES);
			zone_for(j, c, d);
			k++;
		}
	}
	json_decref(props);
	json_decref(ctx);
	kz_enrolments_free(e, ne);
	*n = k;
	return 0;
fail:
	json_decref(props);
	json_decref(ctx);
	kz_enrolments_free(e, ne);
	free(*out);
	*out = NULL;
	return -1;
}

/* Conditions of one batch: each distinct (definition, step) filter is parsed once and
 * matched against all its contacts. */
static int decide_conditions(kz_journeys *j, jdecide *d, int n, kz_err *err)
{
	unsigned char *done = calloc((size_t)n + 1, 1), *res = calloc((size_t)n + 1, 1);
	int64_t *ids = calloc((size_t)n + 1, sizeof *ids);
	int *idx = calloc((size_t)n + 1, sizeof *idx);
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		const json_t *step;
		int m = 0;
		if (done[i] || d[i].kind != JD_STEP)
			continue;
		step = json_object_get(json_object_get(d[i].def, "steps"), d[i].e.step);
		if (strcmp(type_of(step), "condition"))
			continue;
		for (int k = i; k < n; k++)
			if (!done[k] && d[k].kind == JD_STEP && d[k].def == d[i].def &&
			    !strcmp(d[k].e.step, d[i].e.step)) {
				done[k] = 1;
				idx[m] = k;
				ids[m++] = d[k].e.contact_id;
			}
		if (!j->cfg.audience)
			continue;
		if (kz_audience_match_many(j->cfg.audience, json_object_get(step, "filter"), ids, m,
					   res, err) < 0) {
			kz_warn("journeys: condition %s: %s (taken as no)", d[i].e.step, err->message);
			continue;
		}
		for (int k = 0; k < m; k++)
			d[idx[k]].match = res[k];
	}
	free(done);
	free(res);
	free(ids);
	free(idx);
	return rc;
}

int kz_jn_decide_due(kz_journeys *j, kz_conn *c, const kz_enrolment *e, int n, jdecide **out,
		     int *nout, kz_err *err)
{
	jdecide *d = calloc((size_t)n + 1, sizeof *d);
	int64_t now = kz_now_ms();
	/* a batch is mostly one journey version: its graph is looked at once */
	const json_t *seen = NULL;
	int goals = 0, zoned = 0;
	*out = d;
	*nout = n;
	if (!d)
		return kz_err_set(err, 500, "internal", NULL, "out of memory");
	for (int i = 0; i < n; i++) {
		const json_t *def = kz_jn_def(j, c, e[i].journey_id, e[i].version);
		const json_t *step = json_object_get(json_object_get(def, "steps"), e[i].step);
		const char *end = str(settings_of(def), "end_at");
		int64_t end_ms;
		char goal[72];
		if (!def || !step) {
			fill(&d[i], &e[i], def, JD_EXIT);
			snprintf(d[i].reason, sizeof d[i].reason,
				 "step %s is not in version %" PRId64 " any more", e[i].step, e[i].version);
			continue;
		}
		if (end && kz_time_parse_iso(end, &end_ms) == 0 && now >= end_ms) {
			fill(&d[i], &e[i], def, JD_EXIT);
			snprintf(d[i].reason, sizeof d[i].reason, "the journey ended at %s", end);
			continue;
		}
		if (def != seen) {
			seen = def;
			goals = def_has_goals(def);
			zoned = def_needs_zone(def);
		}
		if (goals && goal_met(j, def, e[i].contact_id, goal, sizeof goal, err) == 1) {
			fill(&d[i], &e[i], def, JD_GOAL);
			snprintf(d[i].goal, sizeof d[i].goal, "%s", goal);
			snprintf(d[i].reason, sizeof d[i].reason, "reached the goal %s", goal);
			continue;
		}
		fill(&d[i], &e[i], def, JD_STEP);
		zone_known(j, c, &d[i], zoned);
	}
	return decide_conditions(j, d, n, err);
}

void kz_jn_decisions_free(jdecide *d, int n)
{
	(void)n;
	free(d);
}

/* ------------------------------------------------------------------ applying */

static void post(kz_journeys *j, int kind, int64_t contact, int64_t n, int64_t list, int in,
		 const char *text)
{
	pthread_mutex_lock(&j->post_mu);
	if (j->npost == j->cappost) {
		int cap = j->cappost ? j->cappost * 2 : 32;
		post_action *p = realloc(j->post, (size_t)cap * sizeof *p);
		if (!p) {
			pthread_mutex_unlock(&j->post_mu);
			return;
		}
		j->post = p;
		j->cappost = cap;
	}
	j->post[j->npost] = (post_action){kind, contact, n, list, in, {0}};
	snprintf(j->post[j->npost].text, sizeof j->post[j->npost].text, "%s", text ? text : "");
	j->npost++;
	pthread_mutex_unlock(&j->post_mu);
}

void kz_jn_post_clear(kz_journeys *j)
{
	pthread_mutex_lock(&j->post_mu);
	j->npost = 0;
	pthread_mutex_unlock(&j->post_mu);
}

int kz_jn_commit(kz_journeys *j, kz_conn *c, kz_err *err)
{
	post_action *p = NULL;
	int n;
	if (kz_tx_commit(c, err) < 0) {
		kz_jn_post_clear(j);
		return -1;
	}
	pthread_mutex_lock(&j->post_mu);
	n = j->npost;
	if (n) {
		p = malloc((size_t)n * sizeof *p);
		if (p)
			memcpy(p, j->post, (size_t)n * sizeof *p);
	}
	j->npost = 0;
	pthread_mutex_unlock(&j->post_mu);
	for (int i = 0; p && i < n && j->cfg.audience; i++) {
		kz_err e2;
		int changed = 0, rc = 0;
		if (p[i].kind == POST_STAGE)
			rc = kz_audience_move_stage(j->cfg.audience, p[i].contact, p[i].text, "journey",
						    &e2);
		else if (p[i].kind == POST_POINTS)
			rc = kz_audience_add_points(j->cfg.audience, p[i].contact, NULL, p[i].n,
						    p[i].text, &e2);
		else
			rc = kz_audience_list_update(j->cfg.audience, p[i].list, &p[i].contact, 1,
						     p[i].in ? KZ_LIST_APPEND : KZ_LIST_REMOVE,
						     &changed, &e2);
		if (rc < 0)
			kz_warn("journeys: contact %" PRId64 ": %s", p[i].contact, e2.message);
	}
	free(p);
	return 0;
}

int kz_jn_more_due(kz_journeys *j, kz_conn *c)
{
	int64_t due = 0;
	kz_err err;
	(void)j;
	if (kz_store_enrol_next_due(c, &due, &err) < 0)
		return 0;
	return due && due <= kz_now_ms();
}

static void dedupe_of(const kz_enrolment *e, char *out, size_t len)
{
	snprintf(out, len, "j%" PRId64 ":%" PRId64, e->id, e->seq);
}

/* The email of a send step, kept for the pass: 0, 1 when it was deleted, -1 on error. */
static int email_of(kz_journeys *j, kz_conn *c, int64_t id, json_t **email, kz_err *err)
{
	char key[32];
	snprintf(key, sizeof key, "%" PRId64, id);
	*email = json_object_get(j->emails, key);
	if (*email)
		return 0;
	if (kz_store_email_get(c, id, email, err) < 0) {
		if (err->status != 404)
			return -1;
		kz_err_clear(err);
		return 1;
	}
	json_object_set_new(j->emails, key, *email);
	return 0;
}

/* The email a due decision sends, or 0 when it is not a send_email step. */
static int64_t sends_email(const jdecide *d)
{
	const json_t *step = json_object_get(json_object_get(d->def, "steps"), d->e.step);
	if (d->kind != JD_STEP || strcmp(type_of(step), "send_email"))
		return 0;
	return json_integer_value(json_object_get(step, "email_id"));
}

int kz_jn_prefetch_sends(kz_journeys *j, kz_conn *c, const jdecide *d, int n, kz_err *err)
{
	int64_t *ids = malloc((size_t)(n ? n : 1) * sizeof *ids);
	int rc = 0;
	kz_jn_sends_done(j);
	j->cands = json_object();
	if (!ids)
		return kz_err_set(err, 500, "internal", NULL, "out of memory");
	for (int i = 0; rc == 0 && i < n; i++) {
		int64_t email_id = sends_email(&d[i]);
		json_t *email, *by_id = NULL;
		char key[32];
		int m = 0;
		if (!email_id)
			continue;
		snprintf(key, sizeof key, "%" PRId64, email_id);
		if (json_object_get(j->cands, key))
			continue; /* this email's contacts were read at its first send */
		if ((rc = email_of(j, c, email_id, &email, err)) != 0) {
			/* a deleted email: do_send skips its sends; not looked up again here */
			if (rc > 0)
				json_object_set_new(j->cands, key, json_null());
			rc = rc < 0 ? -1 : 0;
			continue;
		}
		/* every contact of the batch sent this email */
		for (int k = i; k < n; k++)
			if (sends_email(&d[k]) == email_id)
				ids[m++] = d[k].e.contact_id;
		if (kz_outbox_candidates(c, email, j->settings, ids, m, kz_now_ms(), &by_id, err) < 0)
			rc = -1;
		else
			json_object_set_new(j->cands, key, by_id);
	}
	free(ids);
	return rc;
}

void kz_jn_sends_done(kz_journeys *j)
{
	json_decref(j->cands);
	j->cands = NULL;
}

/* send_email: the per-journey cap, then the workspace's rules (kz_outbox_queue_contact). */
static int do_send(kz_journeys *j, kz_conn *c, const jdecide *d, const json_t *step,
		   char *outcome, size_t olen, int *sent, kz_err *err)
{
	int64_t cap = json_integer_value(json_object_get(settings_of(d->def), "send_cap"));
	int64_t email_id = json_integer_value(json_object_get(step, "email_id")), sid = 0;
	json_t *email = NULL, *cands;
	const char *why = NULL;
	char dedupe[64], key[32];
	*sent = 0;
	if (cap > 0) {
		int64_t n = 0;
		if (kz_store_journey_sends(c, d->e.journey_id, d->e.contact_id, &n, err) < 0)
			return -1;
		if (n >= cap) {
			snprintf(outcome, olen, "skipped:send_cap");
			return 0;
		}
	}
	switch (email_of(j, c, email_id, &email, err)) {
	case -1:
		return -1;
	case 1:
		snprintf(outcome, olen, "skipped:email_deleted");
		return 0;
	}
	dedupe_of(&d->e, dedupe, sizeof dedupe);
	snprintf(key, sizeof key, "%" PRId64, email_id);
	if ((cands = json_object_get(j->cands, key))) {
		snprintf(key, sizeof key, "%" PRId64, d->e.contact_id);
		if (kz_outbox_queue_row(c, email, j->settings, json_object_get(cands, key),
					d->e.journey_id, dedupe, kz_now_ms(), &sid, &why, err) < 0)
			return -1;
	} else if (kz_outbox_queue_contact(c, email, j->settings, d->e.contact_id,
					   d->e.journey_id, dedupe, kz_now_ms(), &sid, &why,
					   err) < 0) {
		return -1;
	}
	if (why) {
		snprintf(outcome, olen, "skipped:%s", why);
	} else {
		snprintf(outcome, olen, "sent");
		*sent = 1;
		j->queued_mail = 1;
	}
	return 0;
}

static int do_call(kz_journeys *j, kz_conn *c, const jdecide *d, const json_t *step,
		   kz_err *err)
{
	char dedupe[80], base[64];
	const char *t = type_of(step);
	json_t *body = json_pack("{s:I, s:I, s:I, s:s, s:s, s:I, s:O?, s:O?}", "journey_id",
				 (json_int_t)d->e.journey_id, "version", (json_int_t)d->e.version,
				 "enrolment_id", (json_int_t)d->e.id, "step", d->e.step, "type", t,
				 "contact_id", (json_int_t)d->e.contact_id, "data",
				 json_object_get(step, "body"), "message",
				 json_object_get(step, "message"));
	char *text;
	int rc = 0;
	dedupe_of(&d->e, base, sizeof base);
	{
		char iso[40];
		kz_time_iso(kz_now_ms(), iso, sizeof iso);
		json_object_set_new(body, "at", json_string(iso));
	}
	if (json_is_string(json_object_get(step, "label")))
		json_object_set(body, "label", json_object_get(step, "label"));
	text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(body);
	if (!text)
		return kz_err_set(err, 500, "internal", NULL, "out of memory");
	if (!strcmp(t, "send_webhook")) {
		snprintf(dedupe, sizeof dedupe, "%s:webhook", base);
		rc = kz_store_jcall_insert(c, dedupe, d->e.journey_id, d->e.contact_id, "webhook",
					   str(step, "url"), text, kz_now_ms(), err);
	} else {
		const json_t *to = json_object_get(step, "to");
		char target[300] = "";
		if (json_is_string(to))
			snprintf(target, sizeof target, "owner");
		else if (json_is_integer(json_object_get(to, "user_id")))
			snprintf(target, sizeof target, "user:%" PRId64,
				 (int64_t)json_integer_value(json_object_get(to, "user_id")));
		else if (str(to, "email"))
			snprintf(target, sizeof target, "%s", str(to, "email"));
		if (*target) {
			snprintf(dedupe, sizeof dedupe, "%s:mail", base);
			rc = kz_store_jcall_insert(c, dedupe, d->e.journey_id, d->e.contact_id, "mail",
						   target, text, kz_now_ms(), err);
		}
		if (rc == 0 && str(step, "slack_url")) {
			snprintf(dedupe, sizeof dedupe, "%s:slack", base);
			rc = kz_store_jcall_insert(c, dedupe, d->e.journey_id, d->e.contact_id, "slack",
						   str(step, "slack_url"), text, kz_now_ms(), err);
		}
	}
	free(text);
	j->queued_calls = 1;
	return rc;
}

static int do_update(kz_journeys *j, kz_conn *c, const jdecide *d, const json_t *step,
		     kz_err *err)
{
	json_t *patch = json_object(), *add = json_array(), *rm = json_array(), *fields = json_object();
	json_t *defs = NULL;
	const json_t *a;
	size_t i;
	int rc = 0;
	json_array_foreach(json_object_get(step, "actions"), i, a) {
		const char *op = str(a, "op");
		if (!op)
			continue;
		if (!strcmp(op, "set_field")) {
			const char *f = str(a, "field");
			if (!strncmp(f, "fields.", 7))
				json_object_set(fields, f + 7, json_object_get(a, "value"));
			else
				json_object_set(patch, f, json_object_get(a, "value"));
		} else if (!strcmp(op, "add_tag")) {
			json_array_append(add, json_object_get(a, "tag"));
		} else if (!strcmp(op, "remove_tag")) {
			json_array_append(rm, json_object_get(a, "tag"));
		} else if (!strcmp(op, "set_owner")) {
			json_object_set(patch, "owner", json_object_get(a, "user_id"));
		} else if (!strcmp(op, "assign_owner")) {
			const json_t *users = json_object_get(a, "users");
			int64_t slot = 0;
			if (json_array_size(users) == 0)
				continue;
			if (kz_store_journey_rr_next(c, d->e.journey_id, &slot, err) < 0) {
				rc = -1;
				goto out;
			}
			json_object_set(patch, "owner",
					json_array_get(users, (size_t)(slot % (int64_t)json_array_size(users))));
		} else if (!strcmp(op, "add_points")) {
			char why[128];
			snprintf(why, sizeof why, "journey %" PRId64 " step %s", d->e.journey_id,
				 d->e.step);
			post(j, POST_POINTS, d->e.contact_id,
			     json_integer_value(json_object_get(a, "points")), 0, 0, why);
		} else if (!strcmp(op, "set_stage")) {
			post(j, POST_STAGE, d->e.contact_id, 0, 0, 0, str(a, "stage"));
		}
	}
	if (json_object_size(fields))
		json_object_set(patch, "fields", fields);
	if (json_array_size(add) || json_array_size(rm))
		json_object_set_new(patch, "tags", json_pack("{s:O, s:O}", "add", add, "remove", rm));
	if (json_object_size(patch)) {
		kz_contact_opts o;
		if (!j->field_defs) {
			if (kz_store_field_list(c, &defs, err) < 0) {
				rc = -1;
				goto out;
			}
			j->field_defs = defs;
			defs = NULL;
		}
		memset(&o, 0, sizeof o);
		o.field_defs = j->field_defs;
		o.default_country = "JP";
		if (kz_contact_patch(c, d->e.contact_id, patch, &o, err) < 0) {
			if (err->status >= 500) {
				rc = -1;
				goto out;
			}
			/* a value the contact's record refuses: logged, the journey goes on */
			kz_warn("journeys: update_contact %s of contact %" PRId64 ": %s", d->e.step,
				d->e.contact_id, err->message);
		}
	}
out:
	json_decref(patch);
	json_decref(add);
	json_decref(rm);
	json_decref(fields);
	json_decref(defs);
	return rc;
}

/* The branch of a split: a stable hash of the enrolment, so a retry picks the same one. */
static int split_branch(const kz_enrolment *e, const json_t *step)
{
	uint64_t h = (uint64_t)e->id * 0x9E3779B97F4A7C15ULL ^ (uint64_t)e->seq * 0xBF58476D1CE4E5B9ULL;
	int roll, acc = 0;
	size_t i;
	const json_t *b;
	h ^= h >> 31;
	h *= 0x94D049BB133111EBULL;
	h ^= h >> 29;
	roll = (int)(h % 100);
	json_array_foreach(json_object_get(step, "branches"), i, b) {
		acc += (int)json_integer_value(json_object_get(b, "percent"));
		if (roll < acc)
			return (int)i;
	}
	return (int)json_array_size(json_object_get(step, "branches")) - 1;
}

int kz_jn_apply_decision(kz_journeys *j, kz_conn *c, const jdecide *d, kz_err *err)
{
	const json_t *steps = json_object_get(d->def, "steps");
	const json_t *step = json_object_get(steps, d->e.step);
	const char *t = type_of(step), *next = NULL, *state = "active";
	char outcome[96] = "done", reason[300] = "";
	int sent = 0, applied = 0;
	int64_t now = kz_now_ms(), due = 0;
	const char *wait_event = NULL;
	kz_step_done sd;
	if (d->kind == JD_EXIT) {
		snprintf(outcome, sizeof outcome, "exited");
		state = "exited";
		snprintf(reason, sizeof reason, "%s", d->reason);
	} else if (d->kind == JD_GOAL) {
		snprintf(outcome, sizeof outcome, "goal");
		state = "goal";
		next = d->goal;
		snprintf(reason, sizeof reason, "%s", d->reason);
	} else if (d->kind == JD_EVENT_YES) {
		if (strcmp(t, "wait_for_event"))
			return 0;
		snprintf(outcome, sizeof outcome, "yes");
		next = str(step, "yes");
	} else if (!strcmp(t, "wait") || !strcmp(t, "wait_until")) {
		snprintf(outcome, sizeof outcome, "waited");
		next = str(step, "next");
	} else if (!strcmp(t, "wait_for_event")) {
		snprintf(outcome, sizeof outcome, "no");
		next = str(step, "no");
	} else if (!strcmp(t, "condition")) {
		snprintf(outcome, sizeof outcome, "%s", d->match ? "yes" : "no");
		next = str(step, d->match ? "yes" : "no");
	} else if (!strcmp(t, "split")) {
		int b = split_branch(&d->e, step);
		snprintf(outcome, sizeof outcome, "%d", b);
		next = str(json_array_get(json_object_get(step, "branches"), (size_t)b), "next");
	} else if (!strcmp(t, "send_email")) {
		if (do_send(j, c, d, step, outcome, sizeof outcome, &sent, err) < 0)
			return -1;
		next = str(step, "next");
	} else if (!strcmp(t, "send_webhook") || !strcmp(t, "notify")) {
		if (do_call(j, c, d, step, err) < 0)
			return -1;
		snprintf(outcome, sizeof outcome, "queued");
		next = str(step, "next");
	} else if (!strcmp(t, "update_contact")) {
		if (do_update(j, c, d, step, err) < 0)
			return -1;
		snprintf(outcome, sizeof outcome, "updated");
		next = str(step, "next");
	} else if (!strcmp(t, "add_to_list") || !strcmp(t, "remove_from_list")) {
		int in = !strcmp(t, "add_to_list");
		int64_t list = json_integer_value(json_object_get(step, "list_id"));
		int changed = 0;
		if (kz_store_segment_member_set(c, list, d->e.contact_id, in, now, &changed, err) < 0 ||
		    (changed && kz_store_feed_note(c, KZ_FEED_LISTS, d->e.contact_id, err) < 0))
			return -1;
		post(j, POST_LIST, d->e.contact_id, 0, list, in, NULL);
		snprintf(outcome, sizeof outcome, "%s", in ? "added" : "removed");
		next = str(step, "next");
	} else if (!strcmp(t, "goal")) {
		snprintf(outcome, sizeof outcome, "goal");
		state = "goal";
		snprintf(reason, sizeof reason, "reached the goal %s", d->e.step);
	} else {
		/* exit */
		snprintf(outcome, sizeof outcome, "completed");
		state = "completed";
		snprintf(reason, sizeof reason, "finished at step %s", d->e.step);
	}
	if (!strcmp(state, "active")) {
		const json_t *ns = next ? json_object_get(steps, next) : NULL;
		if (!ns) {
			state = "completed";
			snprintf(reason, sizeof reason, "finished after step %s", d->e.step);
			next = NULL;
		} else {
			due = kz_jn_arrival(ns, d->def, d->zone, now, &wait_event);
		}
	}
	memset(&sd, 0, sizeof sd);
	sd.e = &d->e;
	sd.outcome = outcome;
	sd.next = next;
	sd.state = state;
	sd.due_at = !strcmp(state, "active") ? due : 0;
	sd.wait_event = wait_event;
	sd.reason = *reason ? reason : NULL;
	sd.sent = sent;
	sd.at = now;
	if (kz_store_step_done(c, &sd, &applied, err) < 0)
		return -1;
	if (!applied && d->kind != JD_STEP)
		/* a decision from an event that an earlier one in this stretch overtook (two opens
		 * of the awaited mail): it wrote nothing, so it is simply dropped */
		return 0;
	if (!applied)
		/* someone else ran this execution: throw away what this one wrote */
		return kz_err_set(err, 409, "conflict", NULL,
				  "enrolment %" PRId64 " step %s was run elsewhere; retrying", d->e.id,
				  d->e.step);
	atomic_fetch_add(&j->n_executed, 1);
	return 0;
}
