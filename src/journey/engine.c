/* engine.c — the journey scheduler: one thread that reads new events (triggers,
 * wait_for_event, goals, segment exits) and fires due steps in batches. Every step execution
 * is one row under a unique key (enrolment, seq), committed in the same transaction as its
 * effect (an outbox row, a contact change, the next step and due time), so a crash, a
 * restart or a second node never runs a step twice. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "audience/audience.h"
#include "audience/filter.h"
#include "base/log.h"
#include "base/tz.h"
#include "base/timeutil.h"
#include "channel/outbox.h"
#include "journey/jinternal.h"
#include "model/contact.h"
#include "model/records.h"

#include "base/banned.h"

#define EVENT_BATCH 500

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
#define MAX_PASS_ROUNDS 100000

/* ------------------------------------------------------------------ journeys in hand */

static void jset_release(jset *s)
{
	for (int i = 0; i < s->n; i++)
		json_decref(s->j[i]);
	free(s->j);
	json_decref(s->names);
	memset(s, 0, sizeof *s);
}

/* The definition of (journey, version): the current one, or a kept version (cached). */
const json_t *kz_jn_def(kz_journeys *j, kz_conn *c, int64_t journey, int64_t version)
{
	char key[48];
	json_t *def;
	kz_err err;
	snprintf(key, sizeof key, "%" PRId64 ":%" PRId64, journey, version);
	def = json_object_get(j->defs, key);
	if (def)
		return def;
	if (kz_store_journey_version_get(c, journey, version, &def, &err) < 0)
		return NULL;
	json_object_set_new(j->defs, key, def);
	return def;
}

static void note_names(json_t *names, const json_t *def)
{
	size_t i;
	const json_t *t;
	const char *id;
	json_t *st;
	json_array_foreach(json_object_get(def, "triggers"), i, t) {
		const char *type = json_string_value(json_object_get(t, "type"));
		if (type && !strcmp(type, "event"))
			json_object_set_new(names, json_string_value(json_object_get(t, "event")),
					    json_true());
		else if (type && (!strcmp(type, "segment_entered") || !strcmp(type, "list_added")))
			json_object_set_new(names, "segment_entered", json_true());
		else if (type && !strcmp(type, "score"))
			json_object_set_new(names, "score_threshold_crossed", json_true());
		else if (type && !strcmp(type, "stage"))
			json_object_set_new(names, "stage_changed", json_true());
	}
	json_object_foreach((json_t *)json_object_get(def, "steps"), id, st) {
		const char *type = json_string_value(json_object_get(st, "type"));
		if (type && !strcmp(type, "wait_for_event") &&
		    json_is_string(json_object_get(st, "event")))
			json_object_set_new(names, json_string_value(json_object_get(st, "event")),
					    json_true());
		if (type && !strcmp(type, "goal"))
			json_object_set_new(names, "*", json_true()); /* any event may reach a goal */
	}
	if (json_is_integer(json_object_get(json_object_get(def, "settings"), "exit_segment_id")))
		json_object_set_new(names, "segment_exited", json_true());
}

/* Reload the active journeys and the event names they care about. */
static int jset_load(kz_journeys *j, kz_conn *c, jset *s, kz_err *err)
{
	json_t *ids = NULL, *v;
	size_t i;
	jset_release(s);
	s->names = json_object();
	if (kz_store_journey_active_ids(c, &ids, err) < 0)
		return -1;
	s->j = calloc(json_array_size(ids) + 1, sizeof *s->j);
	json_array_foreach(ids, i, v) {
		json_t *rec = NULL;
		int64_t id = json_integer_value(v);
		if (kz_store_journey_get(c, id, &rec, err) < 0)
			continue;
		s->j[s->n++] = rec;
		note_names(s->names, json_object_get(rec, "definition"));
		/* older versions with people inside still wait for their events */
		for (int64_t ver = 1; ver < json_integer_value(json_object_get(rec, "version")); ver++) {
			const json_t *d = kz_jn_def(j, c, id, ver);
			if (d)
				note_names(s->names, d);
		}
	}
	json_decref(ids);
	return 0;
}

/* ------------------------------------------------------------------ entering */

const char *kz_journey_entry_key(const json_t *journey, const char *trigger_id)
{
	const char *re = json_string_value(json_object_get(
		json_object_get(json_object_get(journey, "definition"), "settings"), "reentry"));
	if (re && !strcmp(re, "every_trigger"))
		return trigger_id;
	if (re && !strcmp(re, "after_exit"))
		return "after:";
	return "once";
}

static int in_dates(const json_t *settings, int64_t now)
{
	int64_t a;
	const char *s = json_string_value(json_object_get(settings, "start_at"));
	if (s && kz_time_parse_iso(s, &a) == 0 && now < a)
		return 0;
	s = json_string_value(json_object_get(settings, "end_at"));
	if (s && kz_time_parse_iso(s, &a) == 0 && now >= a)
		return 0;
	return 1;
}

int kz_journey_enrol_ids(kz_conn *c, const json_t *journey, const int64_t *ids, int n,
			 const char *entry_key, const char *context, int64_t *enrolled,
			 kz_err *err)
{
	const json_t *def = json_object_get(journey, "definition");
	const char *start = json_string_value(json_object_get(def, "start"));
	const json_t *step = json_object_get(json_object_get(def, "steps"), start);
	int64_t now = kz_now_ms();
	json_t *settings = NULL;
	*enrolled = 0;
	if (!start || !step)
		return kz_err_set(err, 409, "conflict", "definition", "the journey has no start step");
	if (!in_dates(json_object_get(def, "settings"), now))
		return 0;
	if (kz_jn_needs_zone(step, def) && kz_settings_load(c, NULL, &settings, err) < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		kz_enrol_req r;
		int64_t id = 0;
		char zone[64];
		const char *wz = json_string_value(json_object_get(settings, "timezone"));
		memset(&r, 0, sizeof r);
		r.journey_id = json_integer_value(json_object_get(journey, "id"));
		r.version = json_integer_value(json_object_get(journey, "version"));
		r.contact_id = ids[i];
		r.step = start;
		r.entry_key = entry_key;
		r.context = context;
		r.now = now;
		if (kz_jn_needs_zone(step, def)) {
			kz_jn_contact_zone(c, ids[i], wz, zone, sizeof zone);
			r.due_at = kz_jn_arrival(step, def, zone, now, &r.wait_event);
		} else {
			r.due_at = kz_jn_arrival(step, def, NULL, now, &r.wait_event);
		}
		if (kz_store_enrol(c, &r, &id, err) < 0) {
			json_decref(settings);
			return -1;
		}
		*enrolled += id != 0;
	}
	json_decref(settings);
	return 0;
}

int kz_journey_activated(kz_conn *c, const json_t *journey, int64_t *enrolled, kz_err *err)
{
	const json_t *def = json_object_get(journey, "definition"), *t;
	const char *start = json_string_value(json_object_get(def, "start"));
	const json_t *step = json_object_get(json_object_get(def, "steps"), start);
	size_t i;
	int64_t now = kz_now_ms();
	*enrolled = 0;
	if (!in_dates(json_object_get(def, "settings"), now))
		return 0;
	json_array_foreach(json_object_get(def, "triggers"), i, t) {
		const char *type = json_string_value(json_object_get(t, "type"));
		int64_t seg = 0, n = 0;
		kz_enrol_req r;
		char key[64];
		if (!json_is_true(json_object_get(t, "include_existing")) || !type)
			continue;
		if (!strcmp(type, "segment_entered"))
			seg = json_integer_value(json_object_get(t, "segment_id"));
		else if (!strcmp(type, "list_added"))
			seg = json_integer_value(json_object_get(t, "list_id"));
		if (!seg)
			continue;
		snprintf(key, sizeof key, "%s", kz_journey_entry_key(journey, "x"));
		if (!strcmp(key, "after:") || !strcmp(key, "x"))
			snprintf(key, sizeof key, "activate:%" PRId64, now);
		memset(&r, 0, sizeof r);
		r.journey_id = json_integer_value(json_object_get(journey, "id"));
		r.version = json_integer_value(json_object_get(journey, "version"));
		r.step = start;
		r.entry_key = key;
		r.now = now;
		/* the zone-dependent first steps are placed when they run (due now) */
		r.due_at = kz_jn_needs_zone(step, def) ? now
						       : kz_jn_arrival(step, def, NULL, now, &r.wait_event);
		if (kz_store_enrol_segment(c, &r, seg, &n, err) < 0)
			return -1;
		*enrolled += n;
	}
	return 0;
}

/* ------------------------------------------------------------------ events */

/* Do the event's properties (or context: page views' url, path) meet the where list? */
int kz_jn_where(const json_t *where, const char *event, const json_t *props, const json_t *ctx,
		int64_t now)
{
	json_t *f;
	kz_fnode *n;
	kz_filter_env env = {NULL, NULL, NULL};
	kz_err err;
	int ok = 1;
	if (!json_is_array(where) || json_array_size(where) == 0)
		return 1;
	f = json_pack("{s:s, s:O}", "event", event, "where", where);
	n = kz_filter_parse(f, &env, "", &err);
	json_decref(f);
	if (!n)
		return 0;
	for (int i = 0; i < n->nwhere && ok; i++) {
		const json_t *v = json_object_get(props, n->where[i].prop);
		kz_fval fv;
		if (!v)
			v = json_object_get(ctx, n->where[i].prop);
		fv = kz_fval_of(v, n->where[i].cmp.type);
		ok = kz_fcmp_match(&n->where[i].cmp, &fv, now, NULL, NULL);
	}
	kz_filter_free(n);
	return ok;
}

/* Does trigger t start the journey for this event? */
static int trigger_fires(const json_t *t, const char *name, const json_t *props,
			 const json_t *ctx, int64_t now)
{
	const char *type = json_string_value(json_object_get(t, "type"));
	if (!type)
		return 0;
	if (!strcmp(type, "event"))
		return !strcmp(name, json_string_value(json_object_get(t, "event")) ?: "") &&
		       kz_jn_where(json_object_get(t, "where"), name, props, ctx, now);
	if (!strcmp(type, "segment_entered") && !strcmp(name, "segment_entered"))
		return json_integer_value(json_object_get(props, "segment_id")) ==
		       json_integer_value(json_object_get(t, "segment_id"));
	if (!strcmp(type, "list_added") && !strcmp(name, "segment_entered"))
		return json_integer_value(json_object_get(props, "segment_id")) ==
		       json_integer_value(json_object_get(t, "list_id"));
	if (!strcmp(type, "score") && !strcmp(name, "score_threshold_crossed")) {
		const char *dir = json_string_value(json_object_get(t, "direction"));
		return json_integer_value(json_object_get(props, "threshold")) ==
			       json_integer_value(json_object_get(t, "threshold")) &&
		       !strcmp(json_string_value(json_object_get(props, "direction")) ?: "",
			       dir ? dir : "up");
	}
	if (!strcmp(type, "stage") && !strcmp(name, "stage_changed"))
		return !strcmp(json_string_value(json_object_get(props, "to")) ?: "",
			       json_string_value(json_object_get(t, "stage")) ?: "-");
	return 0;
}

/* One stored event against every active journey and the contact's enrolments. */
static int apply_event(kz_journeys *j, kz_conn *c, jset *s, const json_t *ev,
		       const jdecide *dec, int ndec, kz_err *err)
{
	int64_t cid = json_integer_value(json_object_get(ev, "contact_id"));
	int64_t evid = json_integer_value(json_object_get(ev, "id"));
	const char *name = json_string_value(json_object_get(ev, "name"));
	json_t *props = json_loads(json_string_value(json_object_get(ev, "properties")), 0, NULL);
	json_t *ctx = json_loads(json_string_value(json_object_get(ev, "context")), 0, NULL);
	int64_t now = kz_now_ms();
	int rc = 0;
	/* first the people already inside (so a trigger event does not also count as the
	 * awaited one for the enrolment it just started) */
	for (int i = 0; i < ndec && rc == 0; i++)
		rc = kz_jn_apply_decision(j, c, &dec[i], err);
	for (int k = 0; k < s->n && rc == 0; k++) {
		const json_t *jr = s->j[k], *def = json_object_get(jr, "definition"), *t;
		size_t i;
		json_array_foreach(json_object_get(def, "triggers"), i, t) {
			if (trigger_fires(t, name, props, ctx, now)) {
				char key[64], *text = json_dumps(
						      json_pack("{s:s, s:I, s:O?}", "name", name, "event_id",
								(json_int_t)evid, "properties", props),
						      JSON_COMPACT);
				int64_t n = 0;
				snprintf(key, sizeof key, "ev:%" PRId64, evid);
				rc = kz_journey_enrol_ids(c, jr, &cid, 1, kz_journey_entry_key(jr, key),
							  text, &n, err);
				free(text);
				atomic_fetch_add(&j->n_enrolled, n);
				break;
			}
		}
	}
	json_decref(props);
	json_decref(ctx);
	return rc;
}

#define GAP_GRACE_MS 1000
#define LATE_MS 120000
#define LATE_MAX 1000

static void late_add(kz_journeys *j, int64_t id, int64_t now)
{
	if (j->nlate == j->caplate) {
		int cap = j->caplate ? j->caplate * 2 : 64;
		int64_t *a, *b;
		if (cap > 100000)
			return;
		a = realloc(j->late, (size_t)cap * sizeof *a);
		if (!a)
			return;
		j->late = a;
		b = realloc(j->late_since, (size_t)cap * sizeof *b);
		if (!b)
			return;
		j->late_since = b;
		j->caplate = cap;
	}
	j->late[j->nlate] = id;
	j->late_since[j->nlate++] = now;
}

/* Events passed over earlier that have appeared since (prepended to rows, oldest first);
 * ids looked for longer than LATE_MS are given up. */
static int late_rows(kz_journeys *j, kz_conn *c, json_t *rows, kz_err *err)
{
	json_t *found = NULL, *ev;
	int64_t now = mono_ms();
	size_t i;
	int k = 0;
	if (!j->nlate)
		return 0;
	if (kz_store_journey_events_in(c, j->late, j->nlate, &found, err) < 0)
		return -1;
	json_array_foreach(found, i, ev) {
		int64_t id = json_integer_value(json_object_get(ev, "id"));
		for (int x = 0; x < j->nlate; x++)
			if (j->late[x] == id)
				j->late_since[x] = 0; /* found: drop */
		json_array_insert(rows, i, ev);
	}
	for (int x = 0; x < j->nlate; x++)
		if (j->late_since[x] && now - j->late_since[x] < LATE_MS) {
			j->late[k] = j->late[x];
			j->late_since[k++] = j->late_since[x];
		}
	j->nlate = k;
	json_decref(found);
	return 0;
}

/* PostgreSQL hands out ids before commit, so an event with a lower id can become visible
 * after a higher one was read. Keep rows up to the first gap after pos; a gap older than
 * GAP_GRACE_MS is a rolled-back insert and is passed. Returns how many rows are left. */
static size_t cut_at_gap(kz_journeys *j, json_t *rows, int64_t pos)
{
	int64_t expect = pos + 1, now = mono_ms();
	size_t i, n = json_array_size(rows);
	for (i = 0; i < n; i++) {
		int64_t id = json_integer_value(json_object_get(json_array_get(rows, i), "id"));
		if (id != expect) {
			if (j->gap_id != expect) {
				j->gap_id = expect;
				j->gap_since = now;
			}
			if (now - j->gap_since < GAP_GRACE_MS)
				break;
			/* passed: a rolled-back insert, or a transaction still running long */
			for (int64_t g = expect; g < id && g < expect + LATE_MAX; g++)
				late_add(j, g, now);
		}
		expect = id + 1;
	}
	while (json_array_size(rows) > i)
		json_array_remove(rows, json_array_size(rows) - 1);
	return i;
}

/* Read a stretch of new events and act on them in one transaction. 1 when there may be
 * more, 0 when done, -1 on error. */
static int events_round(kz_journeys *j, kz_conn *c, jset *s, kz_err *err)
{
	int pg = strcmp(kz_store_backend(j->cfg.store), "sqlite") != 0;
	int64_t pos = 0, last;
	int found = 0, more, in_tx = 0;
	json_t *rows = NULL, *ev;
	size_t i;
	jdecide **decs = NULL;
	int *ndecs = NULL;
	if (pg) {
		if (kz_tx_begin(c, 1, err) < 0)
			return -1;
		in_tx = 1;
	}
	if (kz_store_journey_pos_get(c, &pos, &found, err) < 0)
		goto fail;
	if (!found) {
		/* the migration sets the position; without it (a damaged settings table) start from
		 * the newest event rather than replaying history */
		if (kz_store_event_max_id(c, &pos, err) < 0)
			goto fail;
		if (!in_tx && kz_tx_begin(c, 1, err) < 0)
			return -1;
		in_tx = 1;
		if (kz_store_journey_pos_set(c, pos, err) < 0 || kz_tx_commit(c, err) < 0)
			goto fail;
		return 1;
	}
	if (json_object_size(s->names) == 0) {
		/* No active journey waits for any event: move past them without reading them
		 * (a journey activated later starts from the events after its activation). */
		int64_t newest = pos;
		if (kz_store_event_max_id(c, &newest, err) < 0)
			goto fail;
		if (newest > pos) {
			if (!in_tx && kz_tx_begin(c, 1, err) < 0)
				return -1;
			in_tx = 1;
			if (kz_store_journey_pos_set(c, newest, err) < 0 || kz_tx_commit(c, err) < 0)
				goto fail;
			return 0;
		}
		if (in_tx)
			kz_tx_rollback(c);
		return 0;
	}
	if (kz_store_journey_events(c, pos, EVENT_BATCH, &rows, err) < 0)
		goto fail;
	more = json_array_size(rows) == EVENT_BATCH;
	/* PostgreSQL: stop at a gap in the ids for a moment (maybe not committed yet) */
	if (pg && cut_at_gap(j, rows, pos) < json_array_size(rows))
		more = 0;
	last = json_array_size(rows)
		       ? json_integer_value(
				 json_object_get(json_array_get(rows, json_array_size(rows) - 1), "id"))
		       : pos;
	if (pg && late_rows(j, c, rows, err) < 0)
		goto fail;
	if (json_array_size(rows) == 0) {
		if (in_tx)
			kz_tx_rollback(c);
		json_decref(rows);
		return 0;
	}
	/* decisions that need the audience are made before the write transaction (SQLite: the
	 * audience engine takes the write lock while holding its own) */
	/* the audience engine may not have applied the newest of these events yet: goals and
	 * conditions must see them */
	{
		int relevant = 0;
		json_array_foreach(rows, i, ev) {
			const char *name = json_string_value(json_object_get(ev, "name"));
			relevant |= json_integer_value(json_object_get(ev, "contact_id")) &&
				    (json_object_get(s->names, name) || json_object_get(s->names, "*"));
		}
		if (relevant && j->cfg.audience && kz_audience_sync(j->cfg.audience, err) < 0)
			kz_warn("journeys: audience sync: %s", err->message);
	}
	decs = calloc(json_array_size(rows), sizeof *decs);
	ndecs = calloc(json_array_size(rows), sizeof *ndecs);
	json_array_foreach(rows, i, ev) {
		const char *name = json_string_value(json_object_get(ev, "name"));
		if (!json_integer_value(json_object_get(ev, "contact_id")) ||
		    (!json_object_get(s->names, name) && !json_object_get(s->names, "*")))
			continue;
		if (kz_jn_decide_event(j, c, ev, &decs[i], &ndecs[i], err) < 0)
			goto fail;
	}
	if (!in_tx && kz_tx_begin(c, 1, err) < 0)
		goto fail_nofree_tx;
	in_tx = 1;
	/* the position again, under the lock: another node may have taken this stretch */
	if (!pg) {
		int64_t pos2 = 0;
		if (kz_store_journey_pos_get(c, &pos2, &found, err) < 0)
			goto fail;
		if (pos2 != pos) {
			kz_tx_rollback(c);
			in_tx = 0;
			more = 1;
			goto done;
		}
	}
	json_array_foreach(rows, i, ev) {
		const char *name = json_string_value(json_object_get(ev, "name"));
		if (!json_integer_value(json_object_get(ev, "contact_id")) ||
		    (!json_object_get(s->names, name) && !json_object_get(s->names, "*")))
			continue;
		if (apply_event(j, c, s, ev, decs[i], ndecs[i], err) < 0)
			goto fail;
	}
	if (kz_store_journey_pos_set(c, last, err) < 0 || kz_jn_commit(j, c, err) < 0) {
		in_tx = 0;
		goto fail;
	}
	in_tx = 0;
done:
	for (size_t k = 0; k < json_array_size(rows); k++)
		kz_jn_decisions_free(decs[k], ndecs[k]);
	free(decs);
	free(ndecs);
	json_decref(rows);
	return more;
fail_nofree_tx:
	in_tx = 0;
fail:
	if (in_tx)
		kz_tx_rollback(c);
	kz_jn_post_clear(j);
	for (size_t k = 0; decs && k < json_array_size(rows); k++)
		kz_jn_decisions_free(decs[k], ndecs[k]);
	free(decs);
	free(ndecs);
	json_decref(rows);
	return -1;
}

/* ------------------------------------------------------------------ date triggers */

#define DATE_PAGE 1000

/* "YYYY-MM-DD" of day number `day` (days since 1970-01-01). */
static void day_str(int64_t day, char *out, size_t len)
{
	char iso[40];
	kz_time_iso(day * 86400000LL, iso, sizeof iso);
	snprintf(out, len, "%.10s", iso);
}

/* Does the date field value (an ISO date or date-time) fall on month-day `md` ("MM-DD")? */
static int anniversary(const json_t *v, const char *md)
{
	const char *s = json_string_value(v);
	return s && strlen(s) >= 10 && s[4] == '-' && !strncmp(s + 5, md, 5);
}

/* Once per local day (the workspace's zone) and trigger, at its `time`: enrol the contacts
 * whose date field's anniversary, moved by offset_days, is today. */
static int date_round(kz_journeys *j, kz_conn *c, jset *s, kz_err *err)
{
	const char *wz = json_string_value(json_object_get(j->settings, "timezone"));
	int64_t now = kz_now_ms();
	int off = 0;
	if (!j->date_done)
		j->date_done = json_object();
	if (wz && *wz)
		kz_tz_offset(wz, now / 1000, &off, NULL, 0);
	for (int k = 0; k < s->n; k++) {
		const json_t *jr = s->j[k], *t;
		size_t ti;
		json_array_foreach(json_object_get(json_object_get(jr, "definition"), "triggers"), ti, t) {
			const char *type = json_string_value(json_object_get(t, "type"));
			const char *field = json_string_value(json_object_get(t, "field"));
			int at = kz_journey_hhmm(json_string_value(json_object_get(t, "time")));
			int64_t local = now + (int64_t)off * 1000, today = local / 86400000LL;
			int64_t minute = (local % 86400000LL) / 60000, after = 0;
			char tkey[64], today_s[16], target[16], key[48];
			if (!type || strcmp(type, "date") || !field)
				continue;
			if (!strncmp(field, "fields.", 7))
				field += 7;
			snprintf(tkey, sizeof tkey, "%" PRId64 ":%zu",
				 (int64_t)json_integer_value(json_object_get(jr, "id")), ti);
			day_str(today, today_s, sizeof today_s);
			if (minute < (at < 0 ? 0 : at) ||
			    !strcmp(json_string_value(json_object_get(j->date_done, tkey)) ?: "", today_s))
				continue;
			day_str(today - json_integer_value(json_object_get(t, "offset_days")), target,
				sizeof target);
			snprintf(key, sizeof key, "date:%zu:%s", ti, today_s);
			for (;;) {
				json_t *rows = NULL, *row;
				int64_t *ids = NULL, n = 0, entered = 0;
				size_t i;
				int rc;
				if (kz_store_contact_fields_page(c, after, DATE_PAGE, &rows, err) < 0)
					return -1;
				ids = calloc(json_array_size(rows) + 1, sizeof *ids);
				json_array_foreach(rows, i, row) {
					json_t *f = json_loads(json_string_value(json_array_get(row, 1)), 0, NULL);
					after = json_integer_value(json_array_get(row, 0));
					if (anniversary(json_object_get(f, field), target + 5))
						ids[n++] = after;
					json_decref(f);
				}
				rc = 0;
				if (n) {
					rc = kz_tx_begin(c, 1, err);
					if (rc == 0 &&
					    kz_journey_enrol_ids(c, jr, ids, (int)n, kz_journey_entry_key(jr, key),
								 NULL, &entered, err) == 0)
						rc = kz_tx_commit(c, err);
					else if (rc == 0) {
						kz_tx_rollback(c);
						rc = -1;
					}
					atomic_fetch_add(&j->n_enrolled, entered);
				}
				free(ids);
				i = json_array_size(rows);
				json_decref(rows);
				if (rc < 0)
					return -1;
				if (i < DATE_PAGE)
					break;
			}
			json_object_set_new(j->date_done, tkey, json_string(today_s));
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ due steps */

/* Claim a batch of due enrolments and run one step of each. 1 when the batch was full. */
static int due_round(kz_journeys *j, kz_conn *c, kz_err *err)
{
	int pg = strcmp(kz_store_backend(j->cfg.store), "sqlite") != 0;
	int64_t now = kz_now_ms();
	kz_enrolment *e = NULL;
	jdecide *dec = NULL;
	int n = 0, ndec = 0, in_tx = 0, full;
	if (pg) {
		if (kz_tx_begin(c, 1, err) < 0)
			return -1;
		in_tx = 1;
	}
	if (kz_store_enrol_due(c, now, j->cfg.batch, &e, &n, err) < 0)
		goto fail;
	if (n == 0) {
		if (in_tx)
			kz_tx_rollback(c);
		kz_enrolments_free(e, n);
		return 0;
	}
	full = n == j->cfg.batch;
	if (kz_jn_decide_due(j, c, e, n, &dec, &ndec, err) < 0)
		goto fail;
	if (!in_tx && kz_tx_begin(c, 1, err) < 0)
		goto fail;
	in_tx = 1;
	if (kz_jn_prefetch_sends(j, c, dec, ndec, err) < 0)
		goto fail;
	for (int i = 0; i < ndec; i++)
		if (kz_jn_apply_decision(j, c, &dec[i], err) < 0)
			goto fail;
	in_tx = 0;
	kz_jn_sends_done(j);
	if (kz_jn_commit(j, c, err) < 0)
		goto fail;
	kz_jn_decisions_free(dec, ndec);
	kz_enrolments_free(e, n);
	return full;
fail:
	if (in_tx)
		kz_tx_rollback(c);
	kz_jn_sends_done(j);
	kz_jn_post_clear(j);
	kz_jn_decisions_free(dec, ndec);
	kz_enrolments_free(e, n);
	return -1;
}

/* ------------------------------------------------------------------ the thread */

static void one_pass(kz_journeys *j, kz_conn *c)
{
	kz_err err;
	int rc, rounds = 0;
	if (j->cfg.audience)
		kz_audience_sync(j->cfg.audience, &err);
	if (jset_load(j, c, &j->set, &err) < 0) {
		kz_warn("journeys: cannot load journeys: %s", err.message);
		return;
	}
	json_decref(j->emails);
	j->emails = json_object();
	json_decref(j->field_defs);
	j->field_defs = NULL;
	if (kz_settings_load(c, NULL, &j->settings_tmp, &err) == 0) {
		json_decref(j->settings);
		j->settings = j->settings_tmp;
		j->settings_tmp = NULL;
	}
	do {
		rc = events_round(j, c, &j->set, &err);
	} while (rc == 1 && !j->stopping && ++rounds < MAX_PASS_ROUNDS);
	if (rc < 0)
		kz_warn("journeys: events: %s", err.message);
	if (j->set.n == 0)
		return;
	if (date_round(j, c, &j->set, &err) < 0)
		kz_warn("journeys: date triggers: %s", err.message);
	rounds = 0;
	do {
		rc = due_round(j, c, &err);
		if (rc >= 0 && j->queued_mail && j->cfg.outbox) {
			kz_outbox_kick(j->cfg.outbox);
			j->queued_mail = 0;
		}
	} while (rc >= 0 && !j->stopping && ++rounds < MAX_PASS_ROUNDS &&
		 (rc == 1 || kz_jn_more_due(j, c)));
	if (rc < 0)
		kz_warn("journeys: steps: %s", err.message);
	if (j->queued_calls)
		kz_jn_calls_kick(j);
}

static void *sched_main(void *arg)
{
	kz_journeys *j = arg;
	kz_conn *c = kz_store_acquire(j->cfg.store);
	prctl(PR_SET_NAME, "kz-journeys", 0, 0, 0); /* visible in top -H, perf, gdb */
	for (;;) {
		uint64_t mine;
		struct timespec ts;
		pthread_mutex_lock(&j->mu);
		if (!j->kicked && !j->stopping) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 500 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&j->cv, &j->mu, &ts);
		}
		if (j->stopping) {
			pthread_mutex_unlock(&j->mu);
			break;
		}
		j->kicked = 0;
		mine = ++j->pass_started;
		pthread_mutex_unlock(&j->mu);
		one_pass(j, c);
		atomic_fetch_add(&j->n_passes, 1);
		pthread_mutex_lock(&j->mu);
		j->pass_done = mine;
		pthread_cond_broadcast(&j->done_cv);
		pthread_mutex_unlock(&j->mu);
	}
	kz_store_release(c);
	return NULL;
}

static void on_contact_change(void *ctx, int64_t id, int deleted)
{
	(void)id;
	(void)deleted;
	kz_journeys_kick(ctx);
}

kz_journeys *kz_journeys_start(const kz_journeys_config *cfg, kz_err *err)
{
	kz_journeys *j = calloc(1, sizeof *j);
	if (!j) {
		kz_err_set(err, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	j->cfg = *cfg;
	if (j->cfg.batch <= 0)
		j->cfg.batch = 500;
	j->defs = json_object();
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->cv, NULL);
	pthread_cond_init(&j->done_cv, NULL);
	pthread_mutex_init(&j->post_mu, NULL);
	if (kz_jn_calls_start(j, err) < 0 ||
	    pthread_create(&j->thread, NULL, sched_main, j) != 0) {
		kz_jn_calls_stop(j);
		json_decref(j->defs);
		free(j);
		if (!err->message[0])
			kz_err_set(err, 500, "internal", NULL, "cannot start the journey scheduler");
		return NULL;
	}
	(void)on_contact_change;
	return j;
}

void kz_journeys_stop(kz_journeys *j)
{
	if (!j)
		return;
	pthread_mutex_lock(&j->mu);
	j->stopping = 1;
	pthread_cond_broadcast(&j->cv);
	pthread_mutex_unlock(&j->mu);
	pthread_join(j->thread, NULL);
	kz_jn_calls_stop(j);
	jset_release(&j->set);
	json_decref(j->defs);
	json_decref(j->settings);
	json_decref(j->emails);
	json_decref(j->cands);
	json_decref(j->field_defs);
	json_decref(j->date_done);
	kz_jn_post_clear(j);
	free(j->post);
	free(j->late);
	free(j->late_since);
	pthread_mutex_destroy(&j->mu);
	pthread_cond_destroy(&j->cv);
	pthread_cond_destroy(&j->done_cv);
	pthread_mutex_destroy(&j->post_mu);
	free(j);
}

void kz_journeys_kick(kz_journeys *j)
{
	if (!j)
		return;
	pthread_mutex_lock(&j->mu);
	j->kicked = 1;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
}

int kz_journeys_settle(kz_journeys *j, int timeout_ms)
{
	struct timespec ts;
	uint64_t want;
	int rc = 0;
	if (!j)
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&j->mu);
	want = j->pass_started + 1;
	j->kicked = 1;
	pthread_cond_signal(&j->cv);
	while (j->pass_done < want && !j->stopping && rc == 0)
		rc = pthread_cond_timedwait(&j->done_cv, &j->mu, &ts);
	pthread_mutex_unlock(&j->mu);
	return j->pass_done >= want ? 0 : -1;
}

void kz_journeys_on_commit(void *ctx, kz_track_event *const *evs, int n)
{
	(void)evs;
	if (n > 0)
		kz_journeys_kick(ctx);
}

void kz_journeys_on_audience(void *ctx, int64_t contact, const char *name, const json_t *props)
{
	(void)contact;
	(void)name;
	(void)props;
	kz_journeys_kick(ctx);
}

json_t *kz_journeys_describe(kz_journeys *j)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I}", "passes", (json_int_t)atomic_load(&j->n_passes),
			 "executed", (json_int_t)atomic_load(&j->n_executed), "enrolled",
			 (json_int_t)atomic_load(&j->n_enrolled), "calls_sent",
			 (json_int_t)atomic_load(&j->n_calls_sent), "calls_failed",
			 (json_int_t)atomic_load(&j->n_calls_failed));
}
