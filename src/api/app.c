/* app.c — the application context, the API-key auth cache and shared handler helpers. */
#include "api/app.h"

#include <stdlib.h>
#include <arpa/inet.h>
#include <string.h>

#include "base/crypto.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "model/records.h"
#include "model/session.h"
#include "track/batch.h"
#include <stdio.h>

#include "base/banned.h"

#define AUTH_TTL_MS 5000    /* a revoke on another node takes effect within this */
#define TOUCH_EVERY_MS 60000 /* last_used_at precision: avoids a write per request */

void kz_app_init(kz_app *app, kz_store *store, const char *base_url, const char *country)
{
	memset(app, 0, sizeof *app);
	app->store = store;
	app->base_url = base_url;
	app->default_country = country;
	app->started_ms = kz_now_ms();
	app->session_idle_ms = (int64_t)30 * 60 * 1000;
	pthread_mutex_init(&app->auth_mu, NULL);
}

void kz_app_release(kz_app *app)
{
	pthread_mutex_destroy(&app->auth_mu);
}

void kz_app_auth_flush(kz_app *app)
{
	pthread_mutex_lock(&app->auth_mu);
	app->nauth = 0;
	app->auth_gen++;
	pthread_mutex_unlock(&app->auth_mu);
}

/* This thread's last key and its answer: a client sends the same key with every request of
 * a keep-alive connection, so while the answer is fresh (the shared entry's TTL, and no
 * last_used_at touch due) the hash and the shared table's lock are skipped. */
typedef struct auth_memo {
	const kz_app *app;
	unsigned gen;
	size_t len;
	char token[201];
	int role;
	int64_t key_id;
	int64_t until_ms;
} auth_memo;
static __thread auth_memo amemo;

static int memo_hit(const kz_app *app, const char *token, size_t len, int64_t now, int *role,
		    int64_t *key_id)
{
	if (amemo.app != app || amemo.gen != app->auth_gen || amemo.len != len ||
	    now >= amemo.until_ms || !kz_const_eq(amemo.token, token, len))
		return 0;
	*role = amemo.role;
	*key_id = amemo.key_id;
	return 1;
}

static void memo_keep(const kz_app *app, unsigned gen, const char *token, size_t len, int role,
		      int64_t key_id, int64_t checked_ms, int64_t touched_ms)
{
	int64_t a = checked_ms + AUTH_TTL_MS, b = touched_ms + TOUCH_EVERY_MS;
	amemo.app = app;
	amemo.gen = gen;
	amemo.len = len;
	memcpy(amemo.token, token, len + 1);
	amemo.role = role;
	amemo.key_id = key_id;
	amemo.until_ms = a < b ? a : b;
}

int kz_app_auth(void *appv, const char *token, int *role, int64_t *key_id)
{
	kz_app *app = appv;
	char hash[65];
	int64_t now = kz_now_ms(), touch_id = 0;
	size_t len = strlen(token);
	unsigned gen;
	json_t *rec = NULL;
	kz_conn *c;
	kz_err err;
	int i, rc = -1;
	if (len > 200)
		return -1;
	if (memo_hit(app, token, len, now, role, key_id))
		return 0;
	kz_sha256_hex(token, len, hash);
	pthread_mutex_lock(&app->auth_mu);
	gen = app->auth_gen;
	for (i = 0; i < app->nauth; i++) {
		kz_auth_entry *e = &app->auth[i];
		if (kz_const_eq(e->hash, hash, 64) && now - e->checked_ms < AUTH_TTL_MS) {
			*role = e->role;
			*key_id = e->key_id;
			if (now - e->touched_ms > TOUCH_EVERY_MS) {
				e->touched_ms = now;
				touch_id = e->key_id;
			}
			memo_keep(app, gen, token, len, e->role, e->key_id, e->checked_ms,
				  e->touched_ms);
			pthread_mutex_unlock(&app->auth_mu);
			if (touch_id) {
				c = kz_store_acquire(app->store);
				kz_store_apikey_touch(c, touch_id, now, NULL);
				kz_store_release(c);
			}
			return 0;
		}
	}
	pthread_mutex_unlock(&app->auth_mu);

	c = kz_store_acquire(app->store);
	if (kz_apikey_lookup(c, token, &rec, &err) == 0 && rec) {
		*role = kz_role_parse(json_string_value(json_object_get(rec, "role")));
		*key_id = json_integer_value(json_object_get(rec, "id"));
		kz_store_apikey_touch(c, *key_id, now, NULL);
		rc = 0;
	}
	kz_store_release(c);
	json_decref(rec);
	if (rc < 0)
		return -1;
	pthread_mutex_lock(&app->auth_mu);
	for (i = 0; i < app->nauth; i++)
		if (!strcmp(app->auth[i].hash, hash))
			break;
	if (i == app->nauth) {
		if (app->nauth < KZ_AUTH_CACHE)
			app->nauth++;
		else
			i = (int)(now % KZ_AUTH_CACHE);
	}
	memcpy(app->auth[i].hash, hash, sizeof hash);
	app->auth[i].role = *role;
	app->auth[i].key_id = *key_id;
	app->auth[i].checked_ms = now;
	app->auth[i].touched_ms = now;
	/* A flush while the store was asked (a revoke) leaves the memo to the next request. */
	if (app->auth_gen == gen)
		memo_keep(app, gen, token, len, *role, *key_id, now, now);
	pthread_mutex_unlock(&app->auth_mu);
	return 0;
}

int kz_app_session(void *appv, const char *cookie, int *role, int64_t *user_id, char *csrf,
		   size_t csrflen)
{
	kz_app *app = appv;
	kz_conn *c = kz_store_acquire(app->store);
	int rc = kz_session_check(c, cookie, app->session_idle_ms, role, user_id, csrf, csrflen);
	kz_store_release(c);
	return rc;
}

void kz_api_country(kz_conn *c, kz_app *app, char *out, size_t outlen)
{
	char *v = NULL;
	kz_err err;
	if (kz_store_setting_get(c, "default_country", &v, &err) == 0 && v && *v)
		snprintf(out, outlen, "%s", v);
	else
		snprintf(out, outlen, "%s", app->default_country ? app->default_country : "JP");
	free(v);
}

kz_conn *kz_api_begin(kz_req *req, kz_resp *resp, int write)
{
	kz_app *app = req->app;
	kz_conn *c = kz_store_acquire(app->store);
	kz_err err;
	if (kz_tx_begin(c, write, &err) < 0) {
		kz_store_release(c);
		kz_resp_error(resp, &err);
		return NULL;
	}
	return c;
}

int kz_api_commit(kz_conn *c, kz_resp *resp)
{
	kz_err err;
	int rc = kz_tx_commit(c, &err);
	kz_store_release(c);
	if (rc < 0) {
		kz_resp_error(resp, &err);
		return -1;
	}
	return 0;
}

int kz_api_done(kz_conn *c, kz_resp *resp, int status, json_t **out)
{
	if (kz_api_commit(c, resp) < 0)
		return -1;
	kz_resp_json(resp, status, *out);
	*out = NULL;
	return 0;
}

int kz_api_fail(kz_conn *c, kz_resp *resp, const kz_err *err)
{
	kz_tx_rollback(c);
	kz_store_release(c);
	return kz_resp_error(resp, err);
}

int kz_api_limit(kz_req *req, kz_resp *resp, int *limit)
{
	const char *s = kz_req_query(req, "limit");
	char *end;
	long v;
	*limit = 50;
	if (!s)
		return 0;
	v = strtol(s, &end, 10);
	if (end == s || *end || v < 1 || v > 500) {
		kz_resp_errorf(resp, 400, "invalid_parameter", "limit",
			       "limit must be a number from 1 to 500");
		return -1;
	}
	*limit = (int)v;
	return 0;
}

json_t *kz_api_page(json_t *data, char *cursor)
{
	json_t *o = json_object();
	json_object_set_new(o, "data", data);
	json_object_set_new(o, "next_cursor", cursor ? json_string(cursor) : json_null());
	free(cursor);
	return o;
}

void kz_api_register(kz_server *s)
{
	kz_api_meta_routes(s);
	kz_api_contacts_routes(s);
	kz_api_contacts_io_routes(s);
	kz_api_companies_routes(s);
	kz_api_fields_routes(s);
	kz_api_users_routes(s);
	kz_api_api_keys_routes(s);
	kz_api_session_routes(s);
	kz_api_settings_routes(s);
	kz_api_tags_routes(s);
	kz_api_events_routes(s);
	kz_api_visitors_routes(s);
	kz_api_sites_routes(s);
	kz_api_collect_routes(s);
	kz_api_live_routes(s);
	kz_api_emails_routes(s);
	kz_api_broadcasts_routes(s);
	kz_api_bounces_routes(s);
	kz_api_consent_routes(s);
	kz_api_email_links_routes(s);
	kz_api_email_delivery_routes(s);
	kz_api_email_templates_routes(s);
	kz_api_forms_routes(s);
	kz_api_public_forms_routes(s);
	kz_api_assets_routes(s);
	kz_api_public_assets_routes(s);
	kz_api_segments_routes(s);
	kz_api_scoring_routes(s);
	kz_api_stages_routes(s);
	kz_api_clock_routes(s);
	kz_api_journeys_routes(s);
	kz_api_pages_routes(s);
	kz_api_public_pages_routes(s);
	kz_api_slots_routes(s);
	kz_api_content_routes(s);
}

/* ---- tracking: answering when the writer is done ---- */

static void track_done(void *cls)
{
	kz_deferred_resume(cls);
}

/* Send the writer's answer text (NULL: memory ran out on the way). */
static int track_answer(kz_resp *resp, int status, char *answer)
{
	if (!answer)
		return kz_resp_errorf(resp, 500, "internal", NULL, "out of memory");
	return kz_resp_text(resp, status, "application/json; charset=utf-8", answer,
			    strlen(answer));
}

static int track_finish(kz_req *req, kz_resp *resp, void *cls)
{
	char *answer = NULL;
	int status = kz_track_pending_answer(cls, &answer);
	(void)req;
	return track_answer(resp, status, answer);
}

int kz_api_track(kz_req *req, kz_resp *resp, const json_t *body, const kz_track_src *src,
		 const kz_track_policy *policy)
{
	kz_app *app = req->app;
	kz_track_pending *pending = NULL;
	char *answer = NULL;
	int status = kz_track_submit(app->track_writer, body, src, policy, track_done,
				     kz_req_deferred(req), &pending, &answer);
	if (pending)
		return kz_req_defer(req, track_finish, pending);
	return track_answer(resp, status, answer);
}

#define READ_BARRIER_MS 2000

void kz_app_read_barrier(void *appv)
{
	kz_app *app = appv;
	if (app->track_writer && kz_track_sync(app->track_writer, READ_BARRIER_MS) < 0)
		kz_debug("read barrier: events still being applied after %d ms", READ_BARRIER_MS);
}

int kz_api_get(kz_req *req, kz_resp *resp,
	       int (*get)(kz_conn *c, int64_t id, json_t **out, kz_err *err))
{
	kz_app *app = req->app;
	json_t *out = NULL;
	kz_conn *c;
	kz_err err;
	int64_t id;
	int rc;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	c = kz_store_acquire(app->store);
	rc = get(c, id, &out, &err);
	kz_store_release(c);
	if (rc < 0)
		return kz_resp_error(resp, &err);
	return kz_resp_json(resp, 200, out);
}

int kz_api_delete(kz_req *req, kz_resp *resp, int (*del)(kz_conn *c, int64_t id, kz_err *err),
		  void (*after)(void))
{
	int64_t id;
	kz_conn *c;
	kz_err err;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	c = kz_api_begin(req, resp, 1);
	if (!c)
		return 0;
	if (del(c, id, &err) < 0)
		return kz_api_fail(c, resp, &err);
	if (kz_api_commit(c, resp) == 0) {
		if (after)
			after();
		kz_resp_empty(resp, 204);
	}
	return 0;
}

/* The client's address: the first X-Forwarded-For hop when KIZUNA_TRUST_PROXY=1 (a proxy we
 * run sets it), else the socket's peer. */
/* KIZUNA_TRUST_PROXY, read once (the environment is the process's, set at its start): a
 * collector asks for every event. */
static int trust_proxy(void)
{
	static _Atomic int trust = -1;
	int t = trust;
	if (t < 0) {
		const char *v = getenv("KIZUNA_TRUST_PROXY");
		t = v && (!strcmp(v, "1") || !strcmp(v, "true"));
		trust = t;
	}
	return t;
}

void kz_api_client_ip(kz_req *req, char *buf, size_t len)
{
	const char *xff = trust_proxy() ? kz_req_header(req, "X-Forwarded-For") : NULL;
	if (xff) {
		unsigned char a[16];
		char first[64];
		size_t n;
		while (*xff == ' ')
			xff++;
		n = strcspn(xff, ", ");
		if (n < sizeof first) {
			memcpy(first, xff, n);
			first[n] = '\0';
			if (inet_pton(AF_INET, first, a) == 1 ||
			    inet_pton(AF_INET6, first, a) == 1) {
				snprintf(buf, len, "%s", first);
				return;
			}
		}
	}
	kz_req_client_ip(req, buf, len);
}

int kz_api_script(kz_req *req, kz_resp *resp, const char *src, size_t len, const char *etag,
		  int cors)
{
	const char *inm = kz_req_header(req, "If-None-Match");
	char *copy;
	kz_resp_header(resp, "ETag", etag);
	kz_resp_header(resp, "Cache-Control", "public, max-age=3600");
	if (cors)
		kz_resp_header(resp, "Access-Control-Allow-Origin", "*");
	if (inm && strstr(inm, etag))
		return kz_resp_empty(resp, 304);
	copy = malloc(len + 1);
	if (!copy)
		return kz_resp_errorf(resp, 500, "internal", NULL, "out of memory");
	memcpy(copy, src, len + 1);
	return kz_resp_text(resp, 200, "text/javascript; charset=utf-8", copy, len);
}
