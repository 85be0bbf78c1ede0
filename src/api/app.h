/* app.h — the application context every handler reaches through req->app. */
#ifndef KZ_APP_H
#define KZ_APP_H

#include <pthread.h>
#include <stdint.h>

#include "http/server.h"
#include "store/store.h"

typedef struct kz_auth_entry {
	char hash[65];
	int role;
	int64_t key_id;
	int64_t checked_ms; /* when the store last confirmed it */
	int64_t touched_ms; /* when last_used_at was last written */
} kz_auth_entry;

#define KZ_AUTH_CACHE 64

struct kz_track_writer;
struct kz_outbox;
struct kz_audience;
struct kz_journeys;
struct kz_alerts;

typedef struct kz_app {
	kz_store *store;
	kz_server *server;
	const char *base_url;
	const char *default_country;
	int64_t started_ms;
	int64_t session_idle_ms; /* sign out after this long without a request */
	pthread_mutex_t auth_mu;
	kz_auth_entry auth[KZ_AUTH_CACHE];
	int nauth;
	_Atomic unsigned auth_gen; /* bumped by kz_app_auth_flush: threads drop their last key */
	struct kz_track_writer *track_writer; /* the event writer (src/track/writer.h), or NULL */
	struct kz_outbox *outbox; /* the email sender (src/channel/outbox.h), or NULL */
	struct kz_audience *audience;         /* segments, scores, stages (src/audience/), or NULL */
	struct kz_journeys *journeys; /* the journey engine (src/journey/), or NULL */
	struct kz_alerts *alerts; /* the form alert sender (src/capture/alert.h), or NULL */
} kz_app;

/* Set up the context (no routes yet). */
void kz_app_init(kz_app *app, kz_store *store, const char *base_url, const char *country);
void kz_app_release(kz_app *app);
/* The server's auth hook: resolve a bearer key (cached a few seconds). */
int kz_app_auth(void *app, const char *token, int *role, int64_t *key_id);
/* The server's session hook: resolve the admin UI's cookie. */
int kz_app_session(void *app, const char *cookie, int *role, int64_t *user_id, char *csrf,
		   size_t csrflen);
/* Forget cached keys (after a revoke). */
void kz_app_auth_flush(kz_app *app);
/* Register every route of every resource. */
void kz_api_register(kz_server *s);

/* Each resource file registers its own routes. */
void kz_api_meta_routes(kz_server *s);
void kz_api_contacts_routes(kz_server *s);
void kz_api_contacts_io_routes(kz_server *s);
void kz_api_companies_routes(kz_server *s);
void kz_api_fields_routes(kz_server *s);
void kz_api_users_routes(kz_server *s);
void kz_api_api_keys_routes(kz_server *s);
void kz_api_session_routes(kz_server *s);
void kz_api_settings_routes(kz_server *s);
void kz_api_tags_routes(kz_server *s);
void kz_api_events_routes(kz_server *s);
void kz_api_visitors_routes(kz_server *s);
void kz_api_sites_routes(kz_server *s);
void kz_api_collect_routes(kz_server *s);
void kz_api_live_routes(kz_server *s);
void kz_api_emails_routes(kz_server *s);
void kz_api_broadcasts_routes(kz_server *s);
void kz_api_bounces_routes(kz_server *s);
void kz_api_consent_routes(kz_server *s);
void kz_api_email_links_routes(kz_server *s);
void kz_api_email_delivery_routes(kz_server *s);
void kz_api_email_templates_routes(kz_server *s);
void kz_api_forms_routes(kz_server *s);
void kz_api_public_forms_routes(kz_server *s);
void kz_api_assets_routes(kz_server *s);
void kz_api_public_assets_routes(kz_server *s);
void kz_api_segments_routes(kz_server *s);
void kz_api_scoring_routes(kz_server *s);
void kz_api_stages_routes(kz_server *s);
void kz_api_clock_routes(kz_server *s);
void kz_api_journeys_routes(kz_server *s);
/* Store the JSON setting `key` = v, commit, tell the audience engine (changed), answer v. */
int kz_api_put_setting(kz_req *req, kz_resp *resp, const char *key, json_t *v,
		       int (*changed)(struct kz_audience *a, kz_err *err));
/* 1 when KIZUNA_CLOCK=manual: the clock moves only through POST /api/v1/clock. */
int kz_clock_manual(void);
void kz_api_pages_routes(kz_server *s);
void kz_api_public_pages_routes(kz_server *s);
/* Forget the rendered landing pages (after a page changes). */
void kz_page_cache_flush(void);
/* A form was submitted from page_url: when that is a landing page in an A/B test and this
 * visitor has not converted there yet, count a conversion of their variant. */
void kz_page_conversion(kz_req *req, kz_resp *resp, const char *page_url);
/* The whole HTML of `page` (a stored page, or an unsaved one for the editor's preview). */
struct kz_buf;
void kz_page_html(kz_app *app, kz_conn *c, const json_t *page, struct kz_buf *b);
void kz_api_slots_routes(kz_server *s);
void kz_api_content_routes(kz_server *s);
/* Forget the cached personalization slots (after a slot changes). */
void kz_slot_cache_flush(void);

/* Shared handler helpers. */
/* Borrow a connection and begin a transaction; on failure fill resp and return NULL. */
kz_conn *kz_api_begin(kz_req *req, kz_resp *resp, int write);
/* Commit and return the connection; on failure fill resp with the error and return -1. */
int kz_api_commit(kz_conn *c, kz_resp *resp);
/* Commit, give the connection back and answer `status` with *out (taken; set to NULL). */
int kz_api_done(kz_conn *c, kz_resp *resp, int status, json_t **out);
/* Roll back, give the connection back, and answer with err. */
int kz_api_fail(kz_conn *c, kz_resp *resp, const kz_err *err);
/* The default country for phones: the settings table, else $KIZUNA_DEFAULT_COUNTRY, else JP.
 * Copied into out. */
void kz_api_country(kz_conn *c, kz_app *app, char *out, size_t outlen);
/* Parse ?limit= (default 50, 1..500); on failure fill resp and return -1. */
int kz_api_limit(kz_req *req, kz_resp *resp, int *limit);
/* Hand a body of events to the tracking writer and answer: at once when the event log holds
 * them, or later (the connection waits, no thread does) when the store must answer first. */
struct kz_track_src;
struct kz_track_policy;
int kz_api_track(kz_req *req, kz_resp *resp, const json_t *body, const struct kz_track_src *src,
		 const struct kz_track_policy *policy);
/* Read-your-writes for API reads: wait briefly until acknowledged events are in the store. */
void kz_app_read_barrier(void *app);
/* The client's address: the first X-Forwarded-For hop when KIZUNA_TRUST_PROXY=1, else the
 * socket's peer ("" when unknown). */
void kz_api_client_ip(kz_req *req, char *buf, size_t len);
/* GET of the record named by path parameter 0: get() on a pooled connection, then 200 with
 * the record (or get's error). */
int kz_api_get(kz_req *req, kz_resp *resp,
	       int (*get)(kz_conn *c, int64_t id, json_t **out, kz_err *err));
/* DELETE of the record named by path parameter 0: del() in a write transaction, then after()
 * (may be NULL, e.g. to empty a cache) and 204. */
int kz_api_delete(kz_req *req, kz_resp *resp, int (*del)(kz_conn *c, int64_t id, kz_err *err),
		  void (*after)(void));
/* Answer a script kept in the binary (kz.js, pop.js): its ETag, an hour of caching, 304 when
 * the client holds it; cors adds Access-Control-Allow-Origin: *. */
int kz_api_script(kz_req *req, kz_resp *resp, const char *src, size_t len, const char *etag,
		  int cors);
/* Wrap a page: {"data": data, "next_cursor": cursor|null}. Takes data, frees cursor. */
json_t *kz_api_page(json_t *data, char *cursor);

#endif
