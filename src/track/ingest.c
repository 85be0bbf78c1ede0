/* ingest.c — one event into the store: who it belongs to, stitching, sessions, attribution. */
#include "track/ingest.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanse.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "model/contact.h"
#include "track/touch.h"

#include "base/banned.h"

#define MAX_TRAIT_RETRIES 8

/* Compact JSON text of a document (malloc'd), "{}" for none. */
static char *dump(const json_t *v)
{
	return v ? kz_json_dumps(v) : strdup("{}");
}

void kz_ingest_ctx_init(kz_ingest_ctx *x, const char *default_country)
{
	memset(x, 0, sizeof *x);
	x->default_country = default_country;
}

void kz_ingest_ctx_release(kz_ingest_ctx *x)
{
	json_decref(x->field_defs);
	x->field_defs = NULL;
	x->loaded = 0;
}

static int ctx_load(kz_conn *c, kz_ingest_ctx *x, kz_err *err)
{
	char *v = NULL;
	if (x->loaded)
		return 0;
	if (kz_store_field_list(c, &x->field_defs, err) < 0 ||
	    kz_store_setting_get(c, "default_country", &v, err) < 0)
		return -1;
	snprintf(x->country, sizeof x->country, "%s",
		 v && *v ? v
			 : (x->default_country && *x->default_country ? x->default_country : "JP"));
	free(v);
	x->loaded = 1;
	return 0;
}

static void ctx_opts(const kz_ingest_ctx *x, kz_contact_opts *o)
{
	memset(o, 0, sizeof *o);
	o->default_country = x->country;
	o->field_defs = x->field_defs;
}

int kz_ingest_needs_savepoint(const kz_track_event *ev)
{
	return ev->type == KZ_EV_IDENTIFY || ev->type == KZ_EV_ALIAS || ev->email || ev->contact_id;
}

/* ---- traits → contact attributes ---- */

static const char *const trait_map[][2] = {
	{"first_name", "first_name"},
	{"firstName", "first_name"},
	{"last_name", "last_name"},
	{"lastName", "last_name"},
	{"first_name_kana", "first_name_kana"},
	{"firstNameKana", "first_name_kana"},
	{"last_name_kana", "last_name_kana"},
	{"lastNameKana", "last_name_kana"},
	{"phone", "phone"},
	{"timezone", "timezone"},
	{"locale", "locale"},
};

static int has_field_def(const json_t *defs, const char *key)
{
	size_t i;
	json_t *d;
	json_array_foreach(defs, i, d) {
		const char *k = json_string_value(json_object_get(d, "key"));
		if (k && !strcmp(k, key))
			return 1;
	}
	return 0;
}

/* "Taro Yamada" → first/last; "山田 太郎" (CJK) → last/first. Only when neither is given. */
static void split_name(json_t *out, const char *name)
{
	char *clean = kz_clean_name(name);
	char *sp;
	int cjk;
	if (!clean || !*clean || json_object_get(out, "first_name") ||
	    json_object_get(out, "last_name")) {
		free(clean);
		return;
	}
	cjk = (unsigned char)clean[0] >= 0x80;
	sp = strchr(clean, ' ');
	if (!sp) {
		json_object_set_new(out, cjk ? "last_name" : "first_name", json_string(clean));
	} else {
		*sp = '\0';
		json_object_set_new(out, cjk ? "last_name" : "first_name", json_string(clean));
		json_object_set_new(out, cjk ? "first_name" : "last_name", json_string(sp + 1));
	}
	free(clean);
}

/* The contact input an identify's traits stand for; unknown traits that name a custom field
 * go to "fields", the rest stay on the event only. */
static json_t *traits_to_contact(const json_t *traits, const json_t *defs)
{
	json_t *in = json_object(), *fields = json_object();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)traits, k, v) {
		int mapped = 0;
		if (json_is_null(v))
			continue;
		for (size_t i = 0; i < sizeof trait_map / sizeof trait_map[0]; i++)
			if (!strcmp(k, trait_map[i][0])) {
				if (!json_object_get(in, trait_map[i][1]))
					json_object_set(in, trait_map[i][1], v);
				mapped = 1;
			}
		if (mapped || !strcmp(k, "email") || !strcmp(k, "name"))
			continue;
		if (!strcmp(k, "company")) {
			if (json_is_string(v) && *json_string_value(v)) {
				json_object_set_new(in, "company", json_pack("{s:O}", "name", v));
			} else if (json_is_object(v)) {
				json_t *co = json_object();
				if (json_is_string(json_object_get(v, "name")))
					json_object_set(co, "name", json_object_get(v, "name"));
				if (json_is_string(json_object_get(v, "domain")))
					json_object_set(co, "domain", json_object_get(v, "domain"));
				if (json_object_size(co))
					json_object_set(in, "company", co);
				json_decref(co);
			}
			continue;
		}
		if (has_field_def(defs, k))
			json_object_set(fields, k, v);
	}
	if (json_is_string(json_object_get(traits, "name")))
		split_name(in, json_string_value(json_object_get(traits, "name")));
	if (json_object_size(fields))
		json_object_set(in, "fields", fields);
	json_decref(fields);
	return in;
}

/* A browser may only fill what the contact lacks: it cannot prove who it is. */
static void keep_gaps_only(json_t *in, const json_t *rec)
{
	const char *k;
	json_t *v, *tmp;
	json_object_foreach_safe(in, tmp, k, v) {
		const json_t *have;
		if (!strcmp(k, "email"))
			continue;
		if (!strcmp(k, "fields")) {
			const char *fk;
			json_t *fv, *ftmp;
			json_object_foreach_safe(v, ftmp, fk, fv) {
				have = json_object_get(json_object_get(rec, "fields"), fk);
				if (have && !json_is_null(have))
					json_object_del(v, fk);
			}
			continue;
		}
		have = json_object_get(rec, !strcmp(k, "company") ? "company_id" : k);
		if (have && !json_is_null(have))
			json_object_del(in, k);
	}
}

/* Remove the input member an error names ("phone", "fields.plan", "company.name"). */
static int drop_bad_trait(json_t *in, const char *field)
{
	if (!strncmp(field, "fields.", 7))
		return json_object_del(json_object_get(in, "fields"), field + 7) == 0;
	if (!strncmp(field, "company", 7))
		return json_object_del(in, "company") == 0;
	return *field && json_object_del(in, field) == 0;
}

static void trait_field(kz_err *err)
{
	char f[sizeof err->field + 8];
	if (!err->field[0] || !strcmp(err->field, "email"))
		return;
	snprintf(f, sizeof f, "traits.%s",
		 !strncmp(err->field, "fields.", 7) ? err->field + 7 : err->field);
	f[sizeof err->field - 1] = '\0';
	memcpy(err->field, f, sizeof err->field);
}

/* identify with an email: create or update the contact from the traits. */
static int identify_upsert(kz_conn *c, kz_ingest_ctx *x, kz_track_event *ev, int64_t *cid,
			   kz_err *err)
{
	json_t *in = NULL, *rec = NULL;
	kz_contact_opts o;
	int created = 0, rc = -1;
	if (ctx_load(c, x, err) < 0)
		return -1;
	ctx_opts(x, &o);
	in = traits_to_contact(ev->traits, x->field_defs);
	json_object_set_new(in, "email", json_string(ev->email));
	if (ev->browser) {
		int64_t existing = 0;
		if (kz_store_contact_by_email(c, ev->email, &existing, err) < 0)
			goto out;
		if (existing) {
			if (kz_store_contact_get(c, existing, &rec, err) < 0)
				goto out;
			keep_gaps_only(in, rec);
		}
	}
	for (int tries = 0;; tries++) {
		if (kz_tx_savepoint(c, err) < 0)
			goto out;
		if (kz_contact_upsert(c, in, &o, &created, cid, err) == 0) {
			if (kz_tx_savepoint_release(c, err) < 0)
				goto out;
			break;
		}
		kz_tx_savepoint_rollback(c);
		/* A browser's form may hold one bad value: keep the rest rather than lose the
		 * link between the visitor and the person. */
		if (err->status == 409 && tries == 0)
			continue; /* created elsewhere a moment ago: the retry updates it */
		if (!ev->browser || err->status != 422 || tries >= MAX_TRAIT_RETRIES ||
		    !drop_bad_trait(in, err->field)) {
			trait_field(err);
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(in);
	json_decref(rec);
	return rc;
}

/* identify without an email, for a contact already known (server API only). */
static int identify_patch(kz_conn *c, kz_ingest_ctx *x, kz_track_event *ev, int64_t cid,
			  kz_err *err)
{
	json_t *in;
	kz_contact_opts o;
	int rc;
	if (ctx_load(c, x, err) < 0)
		return -1;
	ctx_opts(x, &o);
	in = traits_to_contact(ev->traits, x->field_defs);
	rc = json_object_size(in) ? kz_contact_patch(c, cid, in, &o, err) : 0;
	json_decref(in);
	if (rc < 0)
		trait_field(err);
	return rc;
}

/* A track/page/alias naming an email: that contact, created when new. */
static int contact_for_email(kz_conn *c, kz_ingest_ctx *x, const char *email, int64_t *cid,
			     kz_err *err)
{
	json_t *in;
	kz_contact_opts o;
	int created = 0, rc;
	if (kz_store_contact_by_email(c, email, cid, err) < 0)
		return -1;
	if (*cid)
		return 0;
	if (ctx_load(c, x, err) < 0 || kz_tx_savepoint(c, err) < 0)
		return -1;
	ctx_opts(x, &o);
	in = json_pack("{s:s}", "email", email);
	rc = kz_contact_upsert(c, in, &o, &created, cid, err);
	json_decref(in);
	if (rc == 0)
		return kz_tx_savepoint_release(c, err);
	kz_tx_savepoint_rollback(c);
	/* Another node (or an API call) created the same person a moment ago: use it. */
	if (err->status == 409 && kz_store_contact_by_email(c, email, cid, err) == 0 && *cid)
		return 0;
	return -1;
}

/* ---- stitching and attribution ---- */

static json_t *touch_at(json_t *touch, int64_t at)
{
	char iso[40];
	kz_time_iso(at, iso, sizeof iso);
	json_object_set_new(touch, "at", json_string(iso));
	return touch;
}

/* The visitor now belongs to the contact: its anonymous past becomes the contact's, and so
 * do its first and last touches. */
static int stitch(kz_conn *c, kz_visitor_ref *v, int64_t cid, kz_err *err)
{
	json_t *first = NULL, *last = NULL;
	int64_t first_at, last_at;
	int last_direct, rc = -1;
	if (!v->id || v->contact_id == cid)
		return 0;
	if (kz_store_visitor_link(c, v->id, cid, err) < 0)
		return -1;
	v->contact_id = cid;
	if (kz_store_wsession_touches(c, v->id, &first, &first_at, &last, &last_at, &last_direct,
				      err) < 0)
		return -1;
	if (first) {
		const char *m = json_string_value(json_object_get(first, "medium"));
		int first_direct = m && !strcmp(m, "(none)");
		if (kz_store_attribution_touch(c, cid, first, first_at, first_direct, err) < 0 ||
		    (last &&
		     kz_store_attribution_touch(c, cid, last, last_at, last_direct, err) < 0))
			goto out;
	}
	rc = 0;
out:
	json_decref(first);
	json_decref(last);
	return rc;
}

/* Web sessions: page views (and browser events) extend the visitor's current session or,
 * after 30 minutes of quiet, start a new one with its own source. */
static int sessionize(kz_conn *c, const kz_track_event *ev, const kz_visitor_ref *v, int64_t cid,
		      int64_t *sid, kz_err *err)
{
	kz_wsession last;
	json_t *touch;
	int direct, pages = ev->type == KZ_EV_PAGE, rc;
	*sid = 0;
	if (!v->id || (ev->type != KZ_EV_PAGE && !(ev->type == KZ_EV_TRACK && ev->browser)))
		return 0;
	if (kz_store_wsession_last(c, v->id, &last, err) < 0)
		return -1;
	if (last.id && ev->occurred_at <= last.last_at + KZ_SESSION_IDLE_MS &&
	    ev->occurred_at >= last.started_at - KZ_SESSION_IDLE_MS) {
		*sid = last.id;
		return kz_store_wsession_extend(c, last.id, ev->occurred_at, pages, err);
	}
	touch = kz_track_touch(ev->context, &direct);
	rc = kz_store_wsession_start(c, v->id, cid, ev->occurred_at, touch, pages, sid, err);
	touch_at(touch, ev->occurred_at);
	if (rc == 0)
		rc = kz_store_visitor_touch(c, v->id, touch, direct, err);
	if (rc == 0 && cid)
		rc = kz_store_attribution_touch(c, cid, touch, ev->occurred_at, direct, err);
	json_decref(touch);
	return rc;
}

/* The visitor an anonymousId names: the site's own, or (server API) any site's. */
static int visitor_for_anon(kz_conn *c, const kz_track_event *ev, kz_visitor_ref *v, kz_err *err)
{
	const char *ip = json_string_value(json_object_get(ev->context, "ip"));
	const char *ua = json_string_value(json_object_get(ev->context, "ua"));
	int64_t site = ev->site_id;
	if (!ev->site_id) {
		/* The server API may pass on the browser's anonymousId (kz.js), on any site: the
		 * oldest visitor with it wins. A server-API visitor (site 0) is only ever created
		 * when no visitor had the anonymousId, so when one exists it is that oldest: look
		 * it up by the unique (anon_id, site_id) key first, which is a point read, where
		 * the search across sites sorts (a temporary b-tree per event in SQLite). */
		if (kz_store_visitor_find(c, 0, ev->anon_id, v, err) < 0 ||
		    (!v->id && kz_store_visitor_find(c, KZ_SITE_ANY, ev->anon_id, v, err) < 0))
			return -1;
		site = v->id ? v->site_id : 0;
	}
	return kz_store_visitor_upsert(c, site, ev->anon_id, ev->occurred_at, ip, ua, v, err);
}

static int alias(kz_conn *c, const kz_track_event *ev, kz_visitor_ref *uv, int64_t cid,
		 kz_visitor_ref *prev, kz_err *err)
{
	if (kz_store_visitor_find(c, KZ_SITE_ANY, ev->previous_id, prev, err) < 0)
		return -1;
	if (!prev->id && kz_store_visitor_find(c, KZ_SITE_USERID, ev->previous_id, prev, err) < 0)
		return -1;
	if (!prev->id || prev->id == uv->id)
		return 0;
	if (cid)
		return stitch(c, prev, cid, err);
	/* Nobody known yet: the userId inherits the previous identity's events, and a later
	 * identify of the userId carries them to the contact. */
	if (uv->id)
		return kz_store_visitor_move(c, prev->id, uv->id, err);
	return 0;
}

static int insert_event(kz_conn *c, kz_track_event *ev, int64_t cid, int64_t vid, int64_t sid,
			kz_err *err)
{
	char *own_props = NULL, *own_ctx = NULL;
	const char *props = ev->properties_text, *context = ev->context_text;
	kz_event_row row;
	int inserted = 0, rc;
	if (ev->traits && json_object_size(ev->traits)) {
		/* identify: its traits are part of the history ("what did they tell us, when") */
		json_object_set(ev->properties, "traits", ev->traits);
		props = NULL;
	}
	/* The texts made at validation, unless the event changed since (or was built by hand). */
	if (!props)
		props = own_props = dump(ev->properties);
	if (!context)
		context = own_ctx = dump(ev->context);
	if (!props || !context) {
		free(own_props);
		free(own_ctx);
		return kz_err_set(err, 500, "internal", NULL, "out of memory");
	}
	memset(&row, 0, sizeof row);
	row.contact_id = cid;
	row.visitor_id = vid;
	row.site_id = ev->site_id;
	row.session_id = sid;
	row.type = kz_track_type_name(ev->type);
	row.name = ev->name;
	row.properties = props;
	row.context = context;
	row.message_id = ev->message_id;
	row.occurred_at = ev->occurred_at;
	row.received_at = ev->received_at;
	rc = kz_store_event_insert(c, &row, &inserted, err);
	free(own_props);
	free(own_ctx);
	if (rc < 0)
		return -1;
	ev->state = inserted ? KZ_EV_STORED : KZ_EV_DUPLICATE;
	ev->stored_contact_id = cid;
	return 0;
}

int kz_ingest(kz_conn *c, kz_ingest_ctx *x, kz_track_event *ev, kz_err *err)
{
	kz_visitor_ref v, uv, prev;
	int64_t cid = 0, sid = 0;
	memset(&v, 0, sizeof v);
	memset(&uv, 0, sizeof uv);
	memset(&prev, 0, sizeof prev);
	if (!ev->context) {
		/* straight from kz_track_event_parse (no writer in this process): only the text */
		ev->context = kz_json_loads(ev->context_text ? ev->context_text : "{}", 0, NULL);
		if (!ev->context)
			return kz_err_set(err, 500, "internal", NULL, "out of memory");
	}
	/* A repeated messageId must not touch contacts, visitors or sessions. The collector's
	 * in-memory window (track/dedupe.c) already kept out the repeats it knows, so for plain
	 * events the insert's ON CONFLICT is enough; events that change a contact ask first. (A
	 * plain repeat older than the window may still refresh its visitor's last_seen.) */
	if (ev->message_id && kz_ingest_needs_savepoint(ev)) {
		int seen = 0;
		if (kz_store_event_seen(c, ev->message_id, &seen, err) < 0)
			return -1;
		if (seen) {
			ev->state = KZ_EV_DUPLICATE;
			return 0;
		}
	}
	/* Who: the device (anonymousId), the server's user (userId), and the contact. */
	if (ev->anon_id && visitor_for_anon(c, ev, &v, err) < 0)
		return -1;
	if (ev->user_id && kz_store_visitor_upsert(c, KZ_SITE_USERID, ev->user_id, ev->occurred_at,
						   NULL, NULL, &uv, err) < 0)
		return -1;
	if (ev->contact_id) {
		json_t *rec = NULL;
		if (kz_store_contact_get(c, ev->contact_id, &rec, err) < 0) {
			if (err->status == 404)
				kz_err_set(err, 422, "invalid_field", "contactId",
					   "no contact with id %" PRId64, ev->contact_id);
			return -1;
		}
		json_decref(rec);
		cid = ev->contact_id;
		if (ev->type == KZ_EV_IDENTIFY && identify_patch(c, x, ev, cid, err) < 0)
			return -1;
	} else if (ev->email) {
		if (ev->type == KZ_EV_IDENTIFY ? identify_upsert(c, x, ev, &cid, err) < 0
					       : contact_for_email(c, x, ev->email, &cid, err) < 0)
			return -1;
	} else {
		cid = uv.contact_id ? uv.contact_id : v.contact_id;
		if (cid && ev->type == KZ_EV_IDENTIFY && !ev->browser &&
		    identify_patch(c, x, ev, cid, err) < 0)
			return -1;
	}
	/* Tie the identities to the contact. A visitor already tied to someone else moves on
	 * only when this event says so (identify: a shared device changed hands). */
	if (cid) {
		kz_visitor_ref *ids[2] = {&v, &uv};
		for (int i = 0; i < 2; i++) {
			if (!ids[i]->id || ids[i]->contact_id == cid)
				continue;
			if (!ids[i]->contact_id || ev->type == KZ_EV_IDENTIFY ||
			    ev->type == KZ_EV_ALIAS) {
				if (stitch(c, ids[i], cid, err) < 0)
					return -1;
			}
		}
	}
	if (ev->type == KZ_EV_ALIAS && alias(c, ev, &uv, cid, &prev, err) < 0)
		return -1;
	if (sessionize(c, ev, &v, cid, &sid, err) < 0)
		return -1;
	return insert_event(c, ev, cid, v.id ? v.id : uv.id ? uv.id : prev.id, sid, err);
}
