/* engine.c — the audience engine's thread: it applies committed events and contact changes
 * to the index, re-evaluates the touched contacts' segments, scores and stages, and records
 * every membership change (segment_entered / segment_exited) in one transaction per batch. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "audience/engine.h"
#include "base/json.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "model/contact.h"

#include "base/banned.h"

#define TICK_EVERY_MS ((int64_t)60000) /* real clock: sliding windows re-evaluated */

enum { Q_EVENT, Q_CONTACT, Q_DELETE, Q_RELOAD, Q_MERGED, Q_COMPANY, Q_COMPANY_GONE, Q_CMD };

typedef int (*cmd_fn)(kz_audience *a, void *arg, kz_err *err);

typedef struct qitem {
	int kind;
	int64_t cid;
	char *name;
	int64_t at;
	json_t *properties, *context;
	/* Q_CMD: on the caller's stack; the caller waits for done */
	cmd_fn fn;
	void *arg;
	int done, rc;
	kz_err err;
	struct qitem *next;
} qitem;

/* ---- small helpers ---- */

void kz_aud_dirty(kz_audience *a, int64_t contact)
{
	for (int i = a->ndirty; i-- > 0 && a->ndirty - i <= 8;)
		if (a->dirty[i] == contact)
			return;
	if (a->ndirty == a->capdirty) {
		int nc = a->capdirty ? a->capdirty * 2 : 256;
		int64_t *g = realloc(a->dirty, (size_t)nc * sizeof *g);
		if (!g)
			return;
		a->dirty = g;
		a->capdirty = nc;
	}
	a->dirty[a->ndirty++] = contact;
}

int kz_aud_emit(kz_audience *a, int64_t contact, const char *name, json_t *props, kz_err *err)
{
	kz_event_row row;
	char *text = kz_json_dumps(props);
	int inserted = 0, rc;
	int64_t now = kz_now_ms();
	if (!text) {
		json_decref(props);
		return kz_err_set(err, 500, "internal", NULL, "out of memory");
	}
	memset(&row, 0, sizeof row);
	row.contact_id = contact;
	row.type = "track";
	row.name = name;
	row.properties = text;
	row.context = "{\"source\":\"audience\"}";
	row.occurred_at = now;
	row.received_at = now;
	rc = kz_store_event_insert(a->conn, &row, &inserted, err);
	free(text);
	if (rc == 0 && a->emit_fn)
		a->emit_fn(a->emit_ctx, contact, name, props);
	json_decref(props);
	return rc;
}

static kz_fnode *parse_locked(kz_audience *a, int64_t self, const json_t *filter,
			      const json_t *defs, const char *base, kz_err *err);

void kz_audience_on_emit(kz_audience *a, kz_audience_emit_fn fn, void *ctx)
{
	pthread_mutex_lock(&a->mu);
	a->emit_fn = fn;
	a->emit_ctx = ctx;
	pthread_mutex_unlock(&a->mu);
}

int kz_audience_match_many(kz_audience *a, const json_t *filter, const int64_t *ids, int n,
			   unsigned char *out, kz_err *err)
{
	kz_fnode *f;
	int64_t now = kz_now_ms();
	pthread_mutex_lock(&a->mu);
	f = parse_locked(a, 0, filter, a->field_defs, "/filter", err);
	if (!f) {
		pthread_mutex_unlock(&a->mu);
		return -1;
	}
	for (int i = 0; i < n; i++)
		out[i] = (unsigned char)(kz_index_has(a->ix, ids[i]) &&
					 kz_index_match(a->ix, f, ids[i], now, &a->hooks));
	pthread_mutex_unlock(&a->mu);
	kz_filter_free(f);
	return 0;
}

int kz_aud_stage_rank(void *ctx, const char *stage)
{
	kz_audience *a = ctx;
	size_t i;
	json_t *s;
	if (!stage)
		return -1;
	json_array_foreach(a->stages, i, s) if (!strcmp(json_string_value(s), stage)) return (int)i;
	return -1;
}

static aseg *seg_find(kz_audience *a, int64_t id)
{
	for (int i = 0; i < a->nsegs; i++)
		if (a->segs[i].id == id)
			return &a->segs[i];
	return NULL;
}

static int seg_has(const aseg *s, int64_t cid)
{
	return cid > 0 && (cid >> 6) < s->nwords && (s->bits[cid >> 6] >> (cid & 63) & 1);
}

static void seg_put(aseg *s, int64_t cid, int in)
{
	if ((cid >> 6) >= s->nwords) {
		int64_t n = s->nwords ? s->nwords : 16;
		uint64_t *g;
		if (!in)
			return;
		while (n <= (cid >> 6))
			n *= 2;
		g = realloc(s->bits, (size_t)n * sizeof *g);
		if (!g)
			return;
		memset(g + s->nwords, 0, (size_t)(n - s->nwords) * sizeof *g);
		s->bits = g;
		s->nwords = n;
	}
	if (seg_has(s, cid) == !!in)
		return;
	s->bits[cid >> 6] ^= (uint64_t)1 << (cid & 63);
	s->count += in ? 1 : -1;
}

static int hook_member(void *ctx, int64_t segment, int64_t contact)
{
	aseg *s = seg_find(ctx, segment);
	return s && seg_has(s, contact);
}

static const uint64_t *hook_member_bits(void *ctx, int64_t segment, int64_t *nwords)
{
	aseg *s = seg_find(ctx, segment);
	*nwords = s ? s->nwords : 0;
	return s ? s->bits : NULL;
}

/* ---- membership changes ---- */

static int record_change(kz_audience *a, aseg *s, int64_t cid, int in, kz_err *err)
{
	json_t *props;
	int changed = 0;
	seg_put(s, cid, in);
	if (a->foreign)
		return 0;
	if (kz_store_segment_member_set(a->conn, s->id, cid, in, kz_now_ms(), &changed, err) < 0)
		return -1;
	/* Another node evaluating the same contact wrote the row first: the event is its own.
	 * A static list's row may have been written by the journey step that asked for it. */
	if (!changed && s->dynamic)
		return 0;
	if (changed && !s->dynamic && kz_store_feed_note(a->conn, KZ_FEED_LISTS, cid, err) < 0)
		return -1;
	props = json_pack("{s:I, s:s, s:s}", "segment_id", (json_int_t)s->id, "segment_name",
			  s->name, "segment_type", s->dynamic ? "dynamic" : "static");
	return kz_aud_emit(a, cid, in ? "segment_entered" : "segment_exited", props, err);
}

/* Evaluate every dynamic segment for one contact, in dependency order. */
static int eval_contact(kz_audience *a, int64_t cid, kz_err *err)
{
	int64_t now = kz_now_ms();
	for (int i = 0; i < a->nsegs; i++) {
		aseg *s = &a->segs[i];
		int m;
		if (!s->dynamic || !s->f)
			continue;
		m = kz_index_has(a->ix, cid) && kz_index_match(a->ix, s->f, cid, now, &a->hooks);
		if (m != seg_has(s, cid) && record_change(a, s, cid, m, err) < 0)
			return -1;
	}
	return 0;
}

/* Evaluate one dynamic segment for everyone and record the differences. */
static int eval_segment_full(kz_audience *a, aseg *s, kz_err *err)
{
	int64_t end = kz_index_end(a->ix), words = (end + 63) / 64;
	uint64_t *bits;
	if (!s->dynamic || !s->f)
		return 0;
	bits = calloc((size_t)(words ? words : 1), sizeof *bits);
	if (!bits)
		return kz_err_set(err, 500, "internal", NULL, "out of memory");
	kz_index_match_all(a->ix, s->f, kz_now_ms(), &a->hooks, bits);
	for (int64_t w = 0; w < words || w < s->nwords; w++) {
		uint64_t now = w < words ? bits[w] : 0, old = w < s->nwords ? s->bits[w] : 0;
		uint64_t diff = now ^ old;
		while (diff) {
			int b = __builtin_ctzll(diff);
			int64_t cid = w * 64 + b;
			diff &= diff - 1;
			if (record_change(a, s, cid, (int)(now >> b & 1), err) < 0) {
				free(bits);
				return -1;
			}
		}
	}
	free(bits);
	return 0;
}

static int eval_all_segments(kz_audience *a, kz_err *err)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < a->nsegs; i++)
		if (eval_segment_full(a, &a->segs[i], err) < 0)
			return -1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	a->last_full_ms = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	return 0;
}

/* ---- segments from the store ---- */

static void segs_release(kz_audience *a)
{
	for (int i = 0; i < a->nsegs; i++) {
		free(a->segs[i].name);
		kz_filter_free(a->segs[i].f);
		free(a->segs[i].bits);
	}
	free(a->segs);
	a->segs = NULL;
	a->nsegs = 0;
}

static int depth_of(kz_audience *a, aseg *s, int guard)
{
	int64_t *ids = NULL;
	int n = 0, d = 0;
	if (guard > 64)
		return 0;
	kz_filter_refs(s->f, &ids, &n);
	for (int i = 0; i < n; i++) {
		aseg *t = seg_find(a, ids[i]);
		int dt = t && t != s ? depth_of(a, t, guard + 1) + 1 : 0;
		if (dt > d)
			d = dt;
	}
	free(ids);
	return d;
}

static int by_depth(const void *x, const void *y)
{
	const aseg *p = x, *q = y;
	return p->depth != q->depth ? p->depth - q->depth : (p->id > q->id) - (p->id < q->id);
}

static int load_defs(kz_audience *a, kz_err *err)
{
	json_t *defs = NULL;
	if (kz_store_field_list(a->conn, &defs, err) < 0)
		return -1;
	json_decref(a->field_defs);
	a->field_defs = defs;
	return 0;
}

/* Reload segment definitions, keeping the membership bits of those that stay. */
static int segs_load(kz_audience *a, kz_err *err)
{
	json_t *list = NULL, *rec;
	size_t i;
	aseg *old = a->segs;
	int nold = a->nsegs;
	kz_filter_env env = {a->field_defs, NULL, NULL};
	if (kz_store_segment_list(a->conn, &list, err) < 0)
		return -1;
	a->segs = calloc(json_array_size(list) + 1, sizeof *a->segs);
	a->nsegs = 0;
	json_array_foreach(list, i, rec)
	{
		aseg *s = &a->segs[a->nsegs++];
		const json_t *f = json_object_get(rec, "filter");
		kz_err perr;
		s->id = json_integer_value(json_object_get(rec, "id"));
		s->name = strdup(kz_jstr_or_empty(rec, "name"));
		s->dynamic = !strcmp(kz_jstr_or_empty(rec, "type"), "dynamic");
		if (s->dynamic && f && !json_is_null(f)) {
			s->f = kz_filter_parse(f, &env, "/filter", &perr);
			if (!s->f)
				kz_warn("segment %" PRId64 " has a filter this version rejects (%s at %s);"
					" it keeps its members",
					s->id, perr.message, perr.field);
		}
		for (int k = 0; k < nold; k++)
			if (old[k].id == s->id) {
				s->bits = old[k].bits;
				s->nwords = old[k].nwords;
				s->count = old[k].count;
				old[k].bits = NULL;
			}
	}
	for (int k = 0; k < nold; k++) {
		free(old[k].name);
		kz_filter_free(old[k].f);
		free(old[k].bits);
	}
	free(old);
	json_decref(list);
	for (int k = 0; k < a->nsegs; k++)
		a->segs[k].depth = depth_of(a, &a->segs[k], 0);
	qsort(a->segs, (size_t)a->nsegs, sizeof *a->segs, by_depth);
	return 0;
}

/* ---- building the index ---- */

static json_t *parse_or_empty(const char *text)
{
	json_t *v = kz_json_loads(text, 0, NULL);
	return v ? v : json_object();
}

static int on_event_row(void *ctx, const char *const *c)
{
	kz_audience *a = ctx;
	json_t *props = parse_or_empty(c[4]), *context = parse_or_empty(c[5]);
	json_t *kept = kz_index_event_props(c[2], props, context);
	kz_index_add_event(a->ix, strtoll(c[1], NULL, 10), c[2], strtoll(c[3], NULL, 10), kept, 1);
	json_decref(props);
	json_decref(context);
	json_decref(kept);
	return 0;
}

static int on_rollup_row(void *ctx, const char *const *c)
{
	kz_audience *a = ctx;
	json_t *none = json_object();
	kz_index_add_event(a->ix, strtoll(c[0], NULL, 10), c[2],
			   strtoll(c[1], NULL, 10) * KZ_DAY_MS, none,
			   (uint32_t)strtoll(c[3], NULL, 10));
	json_decref(none);
	return 0;
}

static int on_attribution_row(void *ctx, const char *const *c)
{
	kz_audience *a = ctx;
	json_t *m = json_object();
	/* absent rather than null: the index keeps no null members */
	if (c[1])
		json_object_set_new(m, "first_touch", parse_or_empty(c[1]));
	if (c[2])
		json_object_set_new(m, "last_touch", parse_or_empty(c[2]));
	kz_index_update_contact(a->ix, strtoll(c[0], NULL, 10), m);
	return 0;
}

static int on_score_row(void *ctx, const char *const *c)
{
	kz_audience *a = ctx;
	kz_index_set_score(a->ix, strtoll(c[0], NULL, 10), c[1], strtoll(c[2], NULL, 10));
	return 0;
}

static int on_stage_row(void *ctx, const char *const *c)
{
	kz_audience *a = ctx;
	kz_index_set_stage(a->ix, strtoll(c[0], NULL, 10), c[1]);
	return 0;
}

static int on_member_row(void *ctx, const char *const *c)
{
	kz_audience *a = ctx;
	aseg *s = seg_find(a, strtoll(c[1], NULL, 10));
	if (s)
		seg_put(s, strtoll(c[0], NULL, 10), 1);
	return 0;
}

static int load_contacts(kz_audience *a, kz_err *err)
{
	kz_contact_query q;
	char *cursor = NULL;
	memset(&q, 0, sizeof q);
	q.limit = 2000;
	do {
		json_t *data = NULL, *rec;
		size_t i;
		q.cursor = cursor;
		if (kz_store_contact_list(a->conn, &q, &data, &cursor, err) < 0) {
			free((char *)q.cursor);
			return -1;
		}
		free((char *)q.cursor);
		json_array_foreach(data, i, rec)
			kz_index_put_contact(a->ix, json_integer_value(json_object_get(rec, "id")),
					     json_incref(rec));
		json_decref(data);
	} while (cursor);
	return 0;
}

static int load_companies(kz_audience *a, kz_err *err)
{
	char *cursor = NULL;
	do {
		json_t *data = NULL, *rec;
		size_t i;
		char *prev = cursor;
		if (kz_store_company_list(a->conn, NULL, prev, 500, &data, &cursor, err) < 0) {
			free(prev);
			return -1;
		}
		free(prev);
		json_array_foreach(data, i, rec)
			kz_index_put_company(a->ix, json_integer_value(json_object_get(rec, "id")),
					     json_incref(rec));
		json_decref(data);
	} while (cursor);
	return 0;
}

static int load_all(kz_audience *a, kz_err *err)
{
	kz_conn *c = a->conn;
	if (load_defs(a, err) < 0 || kz_aud_stages_load(a, err) < 0 ||
	    kz_aud_scoring_load(a, err) < 0 || kz_aud_rules_load(a, err) < 0)
		return -1;
	if (load_contacts(a, err) < 0 || load_companies(a, err) < 0 ||
	    kz_store_attribution_scan(c, on_attribution_row, a, err) < 0 ||
	    kz_store_event_scan(c, 0, on_event_row, a, err) < 0 ||
	    kz_store_rollup_scan(c, 0, on_rollup_row, a, err) < 0 ||
	    kz_store_score_scan(c, INT64_MAX, on_score_row, a, err) < 0 ||
	    kz_store_stage_scan(c, on_stage_row, a, err) < 0)
		return -1;
	if (segs_load(a, err) < 0 || kz_store_segment_member_scan(c, on_member_row, a, err) < 0)
		return -1;
	return 0;
}

/* ---- applying queued work ---- */

/* Re-read one contact (after the transaction that changed it has committed). */
static int refresh_contact(kz_audience *a, int64_t cid, kz_err *err)
{
	json_t *rec = NULL, *attr = NULL;
	int64_t co;
	/* Another node's change has committed before it reaches the feed: nothing to wait for. */
	if (!a->foreign && kz_store_contact_lock(a->conn, cid, err) < 0)
		return -1;
	if (kz_store_contact_get(a->conn, cid, &rec, err) < 0) {
		if (err->status != 404)
			return -1;
		kz_err_clear(err);
		kz_index_remove_contact(a->ix, cid);
		kz_aud_dirty(a, cid);
		return 0;
	}
	if (kz_store_attribution_get(a->conn, cid, &attr, err) == 0) {
		json_object_set(rec, "first_touch", json_object_get(attr, "first_touch"));
		json_object_set(rec, "last_touch", json_object_get(attr, "last_touch"));
	}
	json_decref(attr);
	co = json_integer_value(json_object_get(json_object_get(rec, "company"), "id"));
	if (co > 0) {
		json_t *company = NULL;
		if (kz_store_company_get(a->conn, co, &company, err) == 0)
			kz_index_put_company(a->ix, co, company);
		kz_err_clear(err);
	}
	kz_index_put_contact(a->ix, cid, rec);
	kz_aud_dirty(a, cid);
	return 0;
}

static int reload_events(kz_audience *a, int64_t cid, kz_err *err)
{
	kz_index_clear_events(a->ix, cid);
	if (kz_store_event_scan(a->conn, cid, on_event_row, a, err) < 0 ||
	    kz_store_rollup_scan(a->conn, cid, on_rollup_row, a, err) < 0)
		return -1;
	kz_aud_dirty(a, cid);
	return 0;
}

/* Re-read a contact's scores and stage from the store. */
static int reload_audience(kz_audience *a, int64_t cid, kz_err *err)
{
	json_t *rec = json_pack("{s:I}", "id", (json_int_t)cid), *v;
	const char *k;
	if (kz_store_contact_audience(a->conn, rec, err) < 0) {
		json_decref(rec);
		return -1;
	}
	kz_index_reset_scores(a->ix, cid);
	json_object_foreach(json_object_get(rec, "scores"), k, v)
		kz_index_set_score(a->ix, cid, k, json_integer_value(v));
	if (json_string_value(json_object_get(rec, "stage")))
		kz_index_set_stage(a->ix, cid, json_string_value(json_object_get(rec, "stage")));
	json_decref(rec);
	kz_aud_dirty(a, cid);
	return 0;
}

/* Contact `cid` absorbed another in a merge: its record, events, scores and stage anew. */
static int refresh_merged(kz_audience *a, int64_t cid, kz_err *err)
{
	if (refresh_contact(a, cid, err) < 0 || reload_events(a, cid, err) < 0)
		return -1;
	return reload_audience(a, cid, err);
}

/* Company `co` changed (or went): keep its record for company.* filters and re-evaluate its
 * people. A pass over the index (a few ms at a million contacts); company edits are rare. */
static int refresh_company(kz_audience *a, int64_t co, int gone, kz_err *err)
{
	json_t *rec = NULL;
	int64_t end;
	if (!gone && kz_store_company_get(a->conn, co, &rec, err) < 0) {
		if (err->status != 404)
			return -1;
		kz_err_clear(err);
		gone = 1;
	}
	kz_index_put_company(a->ix, co, gone ? NULL : rec);
	end = kz_index_end(a->ix);
	for (int64_t id = 1; id < end; id++) {
		if (kz_index_company_of(a->ix, id) != co)
			continue;
		if (gone) { /* the contact's record lost its company: read it again */
			if (refresh_contact(a, id, err) < 0)
				return -1;
		} else {
			kz_aud_dirty(a, id);
		}
	}
	return 0;
}

/* A deleted contact: out of the index and every segment (its rows went with it). */
static void forget_contact(kz_audience *a, int64_t cid)
{
	kz_index_remove_contact(a->ix, cid);
	for (int i = 0; i < a->nsegs; i++)
		seg_put(&a->segs[i], cid, 0);
}

static int apply_item(kz_audience *a, qitem *q, kz_err *err)
{
	switch (q->kind) {
	case Q_EVENT: {
		json_t *kept = kz_index_event_props(q->name, q->properties, q->context);
		int rc = 0;
		if (!kz_index_has(a->ix, q->cid) && refresh_contact(a, q->cid, err) < 0)
			rc = -1;
		kz_index_add_event(a->ix, q->cid, q->name, q->at, kept, 1);
		atomic_fetch_add(&a->events_applied, 1);
		kz_aud_dirty(a, q->cid);
		if (rc == 0)
			rc = kz_aud_score_event(a, q->cid, q->name, q->at, kept, err);
		json_decref(kept);
		return rc;
	}
	case Q_CONTACT:
		return refresh_contact(a, q->cid, err);
	case Q_MERGED:
		return refresh_merged(a, q->cid, err);
	case Q_COMPANY:
	case Q_COMPANY_GONE:
		return refresh_company(a, q->cid, q->kind == Q_COMPANY_GONE, err);
	case Q_DELETE:
		forget_contact(a, q->cid);
		return 0;
	case Q_RELOAD:
		if (!kz_index_has(a->ix, q->cid) && refresh_contact(a, q->cid, err) < 0)
			return -1;
		return reload_events(a, q->cid, err);
	default:
		return q->fn(a, q->arg, err);
	}
}

/* Everything that follows from the touched contacts: profile scores, stages, segments. */
static int settle_dirty(kz_audience *a, kz_err *err)
{
	for (int i = 0; i < a->ndirty; i++) {
		int64_t cid = a->dirty[i];
		if (kz_index_has(a->ix, cid) && !a->foreign &&
		    (kz_aud_profile(a, cid, err) < 0 ||
		     (!a->hand_moved && kz_aud_stage_rules(a, cid, err) < 0)))
			return -1;
		if (eval_contact(a, cid, err) < 0)
			return -1;
	}
	a->ndirty = 0;
	return 0;
}

static void free_item(qitem *q)
{
	free(q->name);
	json_decref(q->properties);
	json_decref(q->context);
	free(q);
}

/* One batch in one transaction. A command item settles what came before it first. */
static void process(kz_audience *a, qitem *items)
{
	kz_err err;
	int ok;
	kz_err_clear(&err);
	/* The write lock first, then the index: a request that holds a write transaction and
	 * then asks the index (a segment's filter checked inside its PATCH, a journey's
	 * validation) must never wait for an engine that waits for that same write lock. */
	ok = kz_tx_begin(a->conn, 1, &err) == 0;
	pthread_mutex_lock(&a->mu);
	for (qitem *q = items; q; q = q->next) {
		kz_err e;
		kz_err_clear(&e);
		if (q->kind == Q_CMD) {
			if (ok && settle_dirty(a, &err) < 0)
				ok = 0;
			q->rc = ok ? apply_item(a, q, &e) : -1;
			q->err = ok ? e : err;
			if (ok && q->rc < 0 && (e.status >= 500 || !e.status)) {
				err = e; /* for the warning below */
				ok = 0;
			}
			continue;
		}
		if (ok && apply_item(a, q, &e) < 0) {
			err = e;
			ok = 0;
		}
	}
	if (ok && settle_dirty(a, &err) < 0)
		ok = 0;
	if (ok && kz_tx_commit(a->conn, &err) == 0) {
		pthread_mutex_unlock(&a->mu);
		return;
	}
	kz_tx_rollback(a->conn);
	a->ndirty = 0;
	pthread_mutex_unlock(&a->mu);
	kz_warn("audience: a batch failed (%s); memberships catch up at the next full pass",
		err.message);
	for (qitem *q = items; q; q = q->next)
		if (q->kind == Q_CMD && q->rc == 0) {
			q->rc = -1;
			q->err = err;
		}
}

static int tick_cmd(kz_audience *a, void *arg, kz_err *err)
{
	(void)arg;
	a->last_tick_ms = kz_now_ms();
	if (kz_aud_decay(a, err) < 0 || settle_dirty(a, err) < 0)
		return -1;
	return eval_all_segments(a, err);
}

/* ---- other nodes' changes (the change feed) ---- */

#define FEED_POLL_MS 200     /* how often the feed is read */
#define FEED_BATCH 1000      /* rows read at a time */
#define FEED_ROUNDS 20       /* batches per poll, so queued work never waits long */
#define FEED_PRUNE_MS 60000  /* how often old rows are deleted */
#define FEED_KEEP_MS 3600000 /* how long rows are kept: a node away longer reloads at start */

typedef struct feed_row {
	int kind;
	int64_t ref;
} feed_row;

typedef struct feed_rows {
	feed_row *v;
	int n, cap, config, oom;
} feed_rows;

static void feed_collect(void *ctx, int kind, int64_t ref)
{
	feed_rows *r = ctx;
	if (kind == KZ_FEED_CONFIG) { /* one reload covers any number of them */
		r->config = 1;
		return;
	}
	if (r->n == r->cap) {
		int nc = r->cap ? r->cap * 2 : 64;
		feed_row *g = realloc(r->v, (size_t)nc * sizeof *g);
		if (!g) {
			r->oom = 1; /* the batch is read again */
			return;
		}
		r->v = g;
		r->cap = nc;
	}
	r->v[r->n++] = (feed_row){kind, ref};
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Every score anew (another node cleared them for a recompute). */
static int reload_all_scores(kz_audience *a, kz_err *err)
{
	int64_t end = kz_index_end(a->ix);
	for (int64_t id = 1; id < end; id++)
		if (kz_index_has(a->ix, id)) {
			kz_index_reset_scores(a->ix, id);
			kz_aud_dirty(a, id);
		}
	return kz_store_score_scan(a->conn, INT64_MAX, on_score_row, a, err);
}

typedef struct list_ctx {
	kz_audience *a;
	int64_t contact;
} list_ctx;

static int on_list_row(void *ctx, const char *const *c)
{
	list_ctx *l = ctx;
	aseg *s = seg_find(l->a, strtoll(c[0], NULL, 10));
	if (s && !s->dynamic)
		seg_put(s, l->contact, 1);
	return 0;
}

/* The static lists a contact is in, as the store has them. */
static int reload_lists(kz_audience *a, int64_t cid, kz_err *err)
{
	list_ctx l = {a, cid};
	for (int i = 0; i < a->nsegs; i++)
		if (!a->segs[i].dynamic)
			seg_put(&a->segs[i], cid, 0);
	kz_aud_dirty(a, cid); /* segments with membership conditions follow */
	return kz_store_contact_lists(a->conn, cid, on_list_row, &l, err);
}

/* Segment definitions, scoring rules and settings, stages and fields, all anew. */
static int reload_config(kz_audience *a, kz_err *err)
{
	if (load_defs(a, err) < 0 || kz_aud_stages_load(a, err) < 0 ||
	    kz_aud_scoring_load(a, err) < 0 || kz_aud_rules_load(a, err) < 0 ||
	    segs_load(a, err) < 0)
		return -1;
	return eval_all_segments(a, err);
}

static int apply_feed_row(kz_audience *a, const feed_row *r, kz_err *err)
{
	switch (r->kind) {
	case KZ_FEED_CONTACT:
		if (refresh_contact(a, r->ref, err) < 0)
			return -1;
		if (!kz_index_has(a->ix, r->ref))
			forget_contact(a, r->ref);
		return 0;
	case KZ_FEED_EVENTS:
		if (refresh_contact(a, r->ref, err) < 0)
			return -1;
		return kz_index_has(a->ix, r->ref) ? reload_events(a, r->ref, err) : 0;
	case KZ_FEED_MERGED:
		return refresh_merged(a, r->ref, err);
	case KZ_FEED_AUDIENCE:
		if (!r->ref)
			return reload_all_scores(a, err);
		return kz_index_has(a->ix, r->ref) ? reload_audience(a, r->ref, err) : 0;
	case KZ_FEED_COMPANY:
		return refresh_company(a, r->ref, 0, err);
	case KZ_FEED_LISTS:
		return reload_lists(a, r->ref, err);
	default: /* a kind from a newer version: the next start reloads everything */
		return 0;
	}
}

/* One batch of the feed: the refreshes are idempotent, so a batch that fails is read again.
 * The read needs no lock (the engine's connection is its own); applying takes the index. */
static int feed_batch(kz_audience *a, int *more, kz_err *err)
{
	feed_rows rows;
	kz_feed_pos pos = a->feed_pos;
	int rc = 0;
	memset(&rows, 0, sizeof rows);
	if (kz_store_feed_read(a->conn, &pos, FEED_BATCH, feed_collect, &rows, more, err) < 0)
		return -1;
	if (rows.oom) {
		free(rows.v);
		return kz_err_set(err, 500, "internal", NULL, "out of memory");
	}
	if (rows.n || rows.config) {
		pthread_mutex_lock(&a->mu);
		a->foreign = 1;
		if (rows.config)
			rc = reload_config(a, err);
		for (int i = 0; rc == 0 && i < rows.n; i++)
			rc = apply_feed_row(a, &rows.v[i], err);
		if (rc == 0)
			rc = settle_dirty(a, err);
		a->foreign = 0;
		a->ndirty = 0; /* settled, or given up until the batch is read again */
		pthread_mutex_unlock(&a->mu);
	}
	if (rc == 0)
		a->feed_pos = pos;
	free(rows.v);
	return rc;
}

/* Old rows go: every node has read them long ago. */
static void feed_prune(kz_audience *a)
{
	kz_err err;
	int64_t n = 0;
	kz_err_clear(&err);
	if (kz_tx_begin(a->conn, 1, &err) < 0)
		goto fail;
	if (kz_store_feed_prune(a->conn, FEED_KEEP_MS, &n, &err) < 0) {
		kz_tx_rollback(a->conn);
		goto fail;
	}
	if (kz_tx_commit(a->conn, &err) < 0)
		goto fail;
	return;
fail:
	kz_warn("audience: pruning the change feed failed: %s", err.message);
}

/* Apply what other nodes changed, as the index of this node: membership follows in memory
 * only, since the node that took the change in records it. */
static void poll_feed(kz_audience *a)
{
	kz_err err;
	int more = 1;
	kz_err_clear(&err);
	a->feed_polled_ms = mono_ms();
	if (a->feed_polled_ms - a->feed_pruned_ms >= FEED_PRUNE_MS) {
		a->feed_pruned_ms = a->feed_polled_ms;
		feed_prune(a);
	}
	for (int round = 0; more && round < FEED_ROUNDS; round++)
		if (feed_batch(a, &more, &err) < 0) {
			kz_warn("audience: reading other nodes' changes failed (%s); trying again",
				err.message);
			break;
		}
}

static int feed_due(const kz_audience *a)
{
	return mono_ms() - a->feed_polled_ms >= FEED_POLL_MS;
}

static int manual_clock(void)
{
	const char *v = getenv("KIZUNA_CLOCK");
	return v && !strcmp(v, "manual");
}

static void *engine_main(void *arg)
{
	kz_audience *a = arg;
	prctl(PR_SET_NAME, "kz-audience", 0, 0, 0);
	pthread_mutex_lock(&a->q_mu);
	for (;;) {
		qitem *take, tick;
		uint64_t upto;
		int do_tick = 0;
		while (!a->head && !a->stopping) {
			struct timespec ts;
			if (!manual_clock() && kz_now_ms() - a->last_tick_ms >= TICK_EVERY_MS) {
				do_tick = 1;
				break;
			}
			if (feed_due(a))
				break;
			/* until the next read of the feed (a wake-up by new work keeps that time) */
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += (FEED_POLL_MS - (mono_ms() - a->feed_polled_ms)) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&a->q_cond, &a->q_mu, &ts);
		}
		if (a->stopping && !a->head)
			break;
		take = a->head;
		a->head = a->tail = NULL;
		upto = a->q_seq;
		pthread_mutex_unlock(&a->q_mu);
		if (do_tick) {
			memset(&tick, 0, sizeof tick);
			tick.kind = Q_CMD;
			tick.fn = tick_cmd;
			process(a, &tick);
		}
		if (take)
			process(a, take);
		if (feed_due(a))
			poll_feed(a);
		pthread_mutex_lock(&a->q_mu);
		for (qitem *q = take; q;) {
			qitem *next = q->next;
			if (q->kind == Q_CMD)
				q->done = 1; /* the caller frees it */
			else
				free_item(q);
			q = next;
		}
		a->q_done_seq = upto;
		pthread_cond_broadcast(&a->q_done);
	}
	pthread_mutex_unlock(&a->q_mu);
	return NULL;
}

static void enqueue(kz_audience *a, qitem *q)
{
	pthread_mutex_lock(&a->q_mu);
	q->next = NULL;
	if (a->tail)
		a->tail->next = q;
	else
		a->head = q;
	a->tail = q;
	a->q_seq++;
	pthread_cond_signal(&a->q_cond);
	pthread_mutex_unlock(&a->q_mu);
}

/* Run fn on the engine thread inside its transaction and wait for it. */
static int run_cmd(kz_audience *a, cmd_fn fn, void *arg, kz_err *err)
{
	qitem q;
	if (!a)
		return kz_err_set(err, 503, "unavailable", NULL, "the audience engine is not running");
	memset(&q, 0, sizeof q);
	q.kind = Q_CMD;
	q.fn = fn;
	q.arg = arg;
	pthread_mutex_lock(&a->q_mu);
	if (a->stopping) {
		pthread_mutex_unlock(&a->q_mu);
		return kz_err_set(err, 503, "unavailable", NULL, "the server is shutting down");
	}
	q.next = NULL;
	if (a->tail)
		a->tail->next = &q; // cppcheck-suppress autoVariables
	else
		a->head = &q; // cppcheck-suppress autoVariables
	a->tail = &q;         // cppcheck-suppress autoVariables
	a->q_seq++;
	pthread_cond_signal(&a->q_cond);
	while (!q.done)
		pthread_cond_wait(&a->q_done, &a->q_mu);
	pthread_mutex_unlock(&a->q_mu);
	if (q.rc < 0 && err)
		*err = q.err;
	return q.rc;
}

static void queue_simple(kz_audience *a, int kind, int64_t cid)
{
	qitem *q = calloc(1, sizeof *q);
	if (!q)
		return;
	q->kind = kind;
	q->cid = cid;
	enqueue(a, q);
}

/* ---- hooks from the model and the tracking writer ---- */

static void on_contact_change(void *ctx, int64_t id, int deleted)
{
	queue_simple(ctx, deleted == 2 ? Q_MERGED : deleted ? Q_DELETE : Q_CONTACT, id);
}

static void on_company_change(void *ctx, int64_t id, int deleted)
{
	queue_simple(ctx, deleted ? Q_COMPANY_GONE : Q_COMPANY, id);
}

void kz_audience_on_commit(void *ctx, kz_track_event *const *evs, int n)
{
	kz_audience *a = ctx;
	for (int i = 0; i < n; i++) {
		const kz_track_event *ev = evs[i];
		qitem *q;
		if (!ev->stored_contact_id)
			continue;
		if (ev->type == KZ_EV_IDENTIFY || ev->type == KZ_EV_ALIAS) {
			/* stitching may have handed earlier anonymous events to the contact */
			queue_simple(a, Q_RELOAD, ev->stored_contact_id);
			continue;
		}
		q = calloc(1, sizeof *q);
		if (!q)
			continue;
		q->kind = Q_EVENT;
		q->cid = ev->stored_contact_id;
		q->name = strdup(ev->name);
		q->at = ev->occurred_at;
		q->properties = json_incref(ev->properties);
		q->context = json_incref(ev->context);
		enqueue(a, q);
	}
}

/* ---- lifecycle ---- */

kz_audience *kz_audience_start(kz_store *store, kz_err *err)
{
	kz_audience *a = calloc(1, sizeof *a);
	struct timespec t0, t1;
	if (!a) {
		kz_err_set(err, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	a->store = store;
	a->ix = kz_index_new();
	a->hooks.member = hook_member;
	a->hooks.member_bits = hook_member_bits;
	a->hooks.stage_rank = kz_aud_stage_rank;
	a->hooks.ctx = a;
	pthread_mutex_init(&a->q_mu, NULL);
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->q_cond, NULL);
	pthread_cond_init(&a->q_done, NULL);
	a->conn = kz_store_acquire(store);
	a->last_tick_ms = kz_now_ms();
	a->feed_polled_ms = a->feed_pruned_ms = mono_ms();
	/* The feed position before the load: what commits meanwhile is applied again later,
	 * which is harmless, where a position taken after it could skip a change. */
	if (kz_store_feed_start(a->conn, &a->feed_pos, err) < 0 || load_all(a, err) < 0)
		goto fail;
	/* Catch up with what changed while the server was down (days passed, rules). */
	if (kz_tx_begin(a->conn, 1, err) < 0)
		goto fail;
	if (eval_all_segments(a, err) < 0 || kz_tx_commit(a->conn, err) < 0) {
		kz_tx_rollback(a->conn);
		goto fail;
	}
	kz_contact_on_change(on_contact_change, a);
	kz_company_on_change(on_company_change, a);
	if (pthread_create(&a->thread, NULL, engine_main, a) != 0) {
		kz_contact_on_change(NULL, NULL);
		kz_company_on_change(NULL, NULL);
		kz_err_set(err, 500, "internal", NULL, "cannot start the audience thread");
		goto fail;
	}
	a->started = 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	kz_info("audience: %" PRId64 " contacts, %d segments indexed in %.0f ms (%.1f MiB)",
		kz_index_count(a->ix), a->nsegs,
		(double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
		(double)kz_index_memory(a->ix) / 1048576.0);
	return a;
fail:
	kz_audience_stop(a);
	return NULL;
}

void kz_audience_stop(kz_audience *a)
{
	if (!a)
		return;
	if (a->started) {
		kz_contact_on_change(NULL, NULL);
		kz_company_on_change(NULL, NULL);
		pthread_mutex_lock(&a->q_mu);
		a->stopping = 1;
		pthread_cond_signal(&a->q_cond);
		pthread_mutex_unlock(&a->q_mu);
		pthread_join(a->thread, NULL);
	}
	while (a->head) {
		qitem *q = a->head;
		a->head = q->next;
		if (q->kind != Q_CMD)
			free_item(q);
	}
	kz_store_release(a->conn);
	segs_release(a);
	kz_aud_rules_release(a);
	kz_aud_stages_release(a);
	json_decref(a->scoring);
	json_decref(a->field_defs);
	kz_index_free(a->ix);
	free(a->dirty);
	pthread_mutex_destroy(&a->q_mu);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->q_cond);
	pthread_cond_destroy(&a->q_done);
	free(a);
}

static int noop_cmd(kz_audience *a, void *arg, kz_err *err)
{
	(void)a;
	(void)arg;
	(void)err;
	return 0;
}

int kz_audience_sync(kz_audience *a, kz_err *err)
{
	return run_cmd(a, noop_cmd, NULL, err);
}

int kz_audience_tick(kz_audience *a, kz_err *err)
{
	return run_cmd(a, tick_cmd, NULL, err);
}

/* ---- segments ---- */

typedef struct cyc {
	kz_audience *a;
	int64_t self;
} cyc;

/* Does segment `from` reach `target` through membership conditions? */
static int reaches(kz_audience *a, int64_t from, int64_t target, int guard)
{
	aseg *s = seg_find(a, from);
	int64_t *ids = NULL;
	int n = 0, hit = 0;
	if (from == target)
		return 1;
	if (!s || guard > 64)
		return 0;
	kz_filter_refs(s->f, &ids, &n);
	for (int i = 0; i < n && !hit; i++)
		hit = reaches(a, ids[i], target, guard + 1);
	free(ids);
	return hit;
}

static int segment_ok(void *ctx, int64_t id, kz_err *err)
{
	cyc *c = ctx;
	if (!seg_find(c->a, id))
		return kz_err_set(err, 422, "invalid_filter", NULL, "there is no segment %" PRId64,
				  id);
	if (c->self && reaches(c->a, id, c->self, 0))
		return kz_err_set(err, 422, "invalid_filter", NULL,
				  "segment %" PRId64 " depends on this segment: membership "
				  "conditions may not form a cycle",
				  id);
	return 0;
}

static kz_fnode *parse_locked(kz_audience *a, int64_t self, const json_t *filter,
			      const json_t *defs, const char *base, kz_err *err)
{
	cyc c = {a, self};
	kz_filter_env env = {defs, segment_ok, &c};
	return kz_filter_parse(filter, &env, base, err);
}

int kz_audience_check_filter(kz_audience *a, int64_t self, const json_t *filter,
			     const json_t *field_defs, const char *base, kz_err *err)
{
	kz_fnode *f;
	pthread_mutex_lock(&a->mu);
	f = parse_locked(a, self, filter, field_defs, base, err);
	pthread_mutex_unlock(&a->mu);
	kz_filter_free(f);
	return f ? 0 : -1;
}

static int segments_cmd(kz_audience *a, void *arg, kz_err *err)
{
	(void)arg;
	if (load_defs(a, err) < 0 || segs_load(a, err) < 0)
		return -1;
	return eval_all_segments(a, err);
}

int kz_audience_segments_changed(kz_audience *a, kz_err *err)
{
	return run_cmd(a, segments_cmd, NULL, err);
}

int kz_audience_segment_count(kz_audience *a, int64_t segment, int64_t *n, kz_err *err)
{
	aseg *s;
	int rc = 0;
	pthread_mutex_lock(&a->mu);
	s = seg_find(a, segment);
	if (s)
		*n = s->count;
	else
		rc = kz_err_set(err, 404, "not_found", "id", "no segment with id %" PRId64, segment);
	pthread_mutex_unlock(&a->mu);
	return rc;
}

/* The next `limit` set bits after `after`. */
static int bits_page(const uint64_t *bits, int64_t nwords, int64_t after, int limit, int64_t *ids,
		     int *more)
{
	int n = 0;
	*more = 0;
	for (int64_t id = after + 1; (id >> 6) < nwords; id++) {
		uint64_t w = bits[id >> 6] >> (id & 63);
		if (!w) {
			id = ((id >> 6) + 1) * 64 - 1;
			continue;
		}
		id += __builtin_ctzll(w);
		if (n == limit) {
			*more = 1;
			break;
		}
		ids[n++] = id;
	}
	return n;
}

int kz_audience_segment_page(kz_audience *a, int64_t segment, int64_t after, int limit,
			     int64_t *ids, int *n, int *more, kz_err *err)
{
	aseg *s;
	int rc = 0;
	pthread_mutex_lock(&a->mu);
	s = seg_find(a, segment);
	if (s)
		*n = bits_page(s->bits, s->nwords, after, limit, ids, more);
	else
		rc = kz_err_set(err, 404, "not_found", "id", "no segment with id %" PRId64, segment);
	pthread_mutex_unlock(&a->mu);
	return rc;
}

int kz_audience_preview(kz_audience *a, const json_t *filter, const json_t *field_defs, int limit,
			int64_t *count, int64_t *ids, int *n, kz_err *err)
{
	kz_fnode *f;
	uint64_t *bits;
	int64_t words;
	int more;
	pthread_mutex_lock(&a->mu);
	f = parse_locked(a, 0, filter, field_defs, "/filter", err);
	if (!f) {
		pthread_mutex_unlock(&a->mu);
		return -1;
	}
	words = (kz_index_end(a->ix) + 63) / 64;
	bits = calloc((size_t)(words ? words : 1), sizeof *bits);
	if (!bits) {
		pthread_mutex_unlock(&a->mu);
		kz_filter_free(f);
		return kz_err_set(err, 500, "internal", NULL, "out of memory");
	}
	*count = kz_index_match_all(a->ix, f, kz_now_ms(), &a->hooks, bits);
	*n = bits_page(bits, words, 0, limit, ids, &more);
	pthread_mutex_unlock(&a->mu);
	free(bits);
	kz_filter_free(f);
	return 0;
}

typedef struct list_arg {
	int64_t segment;
	const int64_t *ids;
	int n, mode, changed;
} list_arg;

static int list_cmd(kz_audience *a, void *arg, kz_err *err)
{
	list_arg *l = arg;
	aseg *s = seg_find(a, l->segment);
	uint64_t *want = NULL;
	int64_t words;
	if (!s)
		return kz_err_set(err, 404, "not_found", "id", "no segment with id %" PRId64,
				  l->segment);
	if (s->dynamic)
		return kz_err_set(err, 409, "conflict", "id",
				  "segment %" PRId64 " is dynamic: its filter decides its members; "
				  "add members to a static list instead",
				  l->segment);
	for (int i = 0; i < l->n; i++)
		if (!kz_index_has(a->ix, l->ids[i]))
			return kz_err_set(err, 422, "invalid_field", "contact_ids",
					  "no contact with id %" PRId64, l->ids[i]);
	if (l->mode != KZ_LIST_REPLACE) {
		for (int i = 0; i < l->n; i++) {
			int in = l->mode == KZ_LIST_APPEND;
			if (seg_has(s, l->ids[i]) != in) {
				if (record_change(a, s, l->ids[i], in, err) < 0)
					return -1;
				l->changed++;
			}
		}
		return 0;
	}
	words = (kz_index_end(a->ix) + 63) / 64;
	want = calloc((size_t)(words ? words : 1), sizeof *want);
	if (!want)
		return kz_err_set(err, 500, "internal", NULL, "out of memory");
	for (int i = 0; i < l->n; i++)
		want[l->ids[i] >> 6] |= (uint64_t)1 << (l->ids[i] & 63);
	for (int64_t w = 0; w < words || w < s->nwords; w++) {
		uint64_t now = w < words ? want[w] : 0, old = w < s->nwords ? s->bits[w] : 0;
		uint64_t diff = now ^ old;
		while (diff) {
			int b = __builtin_ctzll(diff);
			diff &= diff - 1;
			if (record_change(a, s, w * 64 + b, (int)(now >> b & 1), err) < 0) {
				free(want);
				return -1;
			}
			l->changed++;
		}
	}
	free(want);
	return 0;
}

int kz_audience_list_update(kz_audience *a, int64_t segment, const int64_t *ids, int n, int mode,
			    int *changed, kz_err *err)
{
	list_arg l = {segment, ids, n, mode, 0};
	int rc = run_cmd(a, list_cmd, &l, err);
	*changed = l.changed;
	return rc;
}

/* ---- contacts, companies, stats ---- */

void kz_audience_decorate(kz_audience *a, json_t *contact)
{
	int64_t id = json_integer_value(json_object_get(contact, "id"));
	const char *stage;
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	stage = kz_index_stage(a->ix, id);
	json_object_set_new(contact, "score", json_integer(kz_index_score(a->ix, id)));
	json_object_set_new(contact, "scores", kz_index_scores(a->ix, id));
	json_object_set_new(contact, "stage", stage ? json_string(stage) : json_null());
	pthread_mutex_unlock(&a->mu);
}

int kz_audience_is_member(kz_audience *a, int64_t segment, int64_t contact)
{
	aseg *s;
	int in;
	if (!a)
		return 0;
	pthread_mutex_lock(&a->mu);
	s = seg_find(a, segment);
	in = s && seg_has(s, contact);
	pthread_mutex_unlock(&a->mu);
	return in;
}

int64_t kz_audience_company_score(kz_audience *a, int64_t company)
{
	int64_t total = 0, end;
	int use_max;
	pthread_mutex_lock(&a->mu);
	use_max = !strcmp(kz_jstr_or_empty(a->scoring, "company"), "max");
	end = kz_index_end(a->ix);
	for (int64_t id = 1; id < end; id++) {
		int64_t s;
		if (kz_index_company_of(a->ix, id) != company)
			continue;
		s = kz_index_score(a->ix, id);
		total = use_max ? (s > total ? s : total) : total + s;
	}
	pthread_mutex_unlock(&a->mu);
	return total;
}

json_t *kz_audience_stats(kz_audience *a)
{
	json_t *o;
	pthread_mutex_lock(&a->mu);
	o = json_pack("{s:I, s:i, s:I, s:I, s:I}", "contacts", (json_int_t)kz_index_count(a->ix),
		      "segments", a->nsegs, "memory_bytes", (json_int_t)kz_index_memory(a->ix),
		      "events_applied", (json_int_t)atomic_load(&a->events_applied),
		      "last_full_ms", (json_int_t)a->last_full_ms);
	pthread_mutex_unlock(&a->mu);
	return o;
}

/* ---- scoring and stage commands (their logic is in score.c) ---- */

static int scoring_cmd(kz_audience *a, void *arg, kz_err *err)
{
	int64_t end = kz_index_end(a->ix);
	(void)arg;
	if (load_defs(a, err) < 0 || kz_aud_scoring_load(a, err) < 0 ||
	    kz_aud_rules_load(a, err) < 0)
		return -1;
	for (int64_t id = 1; id < end; id++)
		if (kz_index_has(a->ix, id))
			kz_aud_dirty(a, id);
	return settle_dirty(a, err) < 0 ? -1 : eval_all_segments(a, err);
}

int kz_audience_scoring_changed(kz_audience *a, kz_err *err)
{
	return run_cmd(a, scoring_cmd, NULL, err);
}

static int stages_cmd(kz_audience *a, void *arg, kz_err *err)
{
	int64_t end = kz_index_end(a->ix);
	(void)arg;
	if (load_defs(a, err) < 0 || kz_aud_stages_load(a, err) < 0)
		return -1;
	for (int64_t id = 1; id < end; id++)
		if (kz_index_has(a->ix, id))
			kz_aud_dirty(a, id);
	return settle_dirty(a, err) < 0 ? -1 : eval_all_segments(a, err);
}

int kz_audience_stages_changed(kz_audience *a, kz_err *err)
{
	return run_cmd(a, stages_cmd, NULL, err);
}

typedef struct stage_arg {
	int64_t contact;
	const char *stage;
} stage_arg;

static int set_stage_cmd(kz_audience *a, void *arg, kz_err *err)
{
	stage_arg *s = arg;
	int rc;
	if (!kz_index_has(a->ix, s->contact))
		return kz_err_set(err, 404, "not_found", "id", "no contact with id %" PRId64,
				  s->contact);
	if (kz_aud_stage_rank(a, s->stage) < 0)
		return kz_err_set(err, 422, "invalid_field", "stage",
				  "%s is not a stage; see GET /api/v1/stages", s->stage);
	if (kz_aud_move_stage(a, s->contact, s->stage, "manual", err) < 0)
		return -1;
	kz_aud_dirty(a, s->contact);
	a->hand_moved = 1;
	rc = settle_dirty(a, err);
	a->hand_moved = 0;
	return rc;
}

int kz_audience_set_stage(kz_audience *a, int64_t contact, const char *stage, kz_err *err)
{
	stage_arg s = {contact, stage};
	return run_cmd(a, set_stage_cmd, &s, err);
}

typedef struct points_arg {
	int64_t contact, points;
	const char *category, *why;
} points_arg;

static int points_cmd(kz_audience *a, void *arg, kz_err *err)
{
	points_arg *p = arg;
	if (!kz_index_has(a->ix, p->contact))
		return kz_err_set(err, 404, "not_found", "id", "no contact with id %" PRId64,
				  p->contact);
	if (kz_aud_award(a, p->contact, p->category, p->points, p->why, err) < 0)
		return -1;
	kz_aud_dirty(a, p->contact);
	return settle_dirty(a, err);
}

int kz_audience_add_points(kz_audience *a, int64_t contact, const char *category,
			   int64_t points, const char *why, kz_err *err)
{
	points_arg p = {contact, points, category && *category ? category : "engagement",
			 why ? why : "journey"};
	return run_cmd(a, points_cmd, &p, err);
}

typedef struct move_arg {
	int64_t contact;
	const char *stage, *why;
} move_arg;

static int move_cmd(kz_audience *a, void *arg, kz_err *err)
{
	move_arg *m = arg;
	if (!kz_index_has(a->ix, m->contact))
		return kz_err_set(err, 404, "not_found", "id", "no contact with id %" PRId64,
				  m->contact);
	if (kz_aud_stage_rank(a, m->stage) < 0)
		return kz_err_set(err, 422, "invalid_field", "stage",
				  "%s is not a stage; see GET /api/v1/stages", m->stage);
	if (kz_aud_move_stage(a, m->contact, m->stage, m->why, err) < 0)
		return -1;
	kz_aud_dirty(a, m->contact);
	return settle_dirty(a, err);
}

int kz_audience_move_stage(kz_audience *a, int64_t contact, const char *stage, const char *why,
			   kz_err *err)
{
	move_arg m = {contact, stage, why ? why : "journey"};
	return run_cmd(a, move_cmd, &m, err);
}

static int recompute_cmd(kz_audience *a, void *arg, kz_err *err)
{
	(void)arg;
	if (kz_aud_recompute_run(a, err) < 0)
		return -1;
	return settle_dirty(a, err) < 0 ? -1 : eval_all_segments(a, err);
}

int kz_audience_recompute(kz_audience *a, kz_err *err)
{
	return run_cmd(a, recompute_cmd, NULL, err);
}
