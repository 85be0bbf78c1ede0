/* content.c — web personalization for visitors, no API key: GET /t/content answers, in one
 * round trip, the variant of each content slot on the page and the pop-ups this visitor may
 * see; /t/content/event counts a pop-up shown or a click in a slot. Slots are cached in
 * memory; a visitor costs one indexed query and a look into the audience engine. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/app.h"
#include "audience/audience.h"
#include "base/timeutil.h"
#include "capture/counter.h"
#include "capture/popjs.h"
#include "capture/render.h"
#include "capture/slot.h"
#include "track/event.h"
#include "track/ingest.h"
#include "track/sites.h"

#include "base/banned.h"

#define CACHE_MS 5000 /* other nodes' slot changes show within this */
#define MAX_SLOTS 20

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *cache; /* active slots, or NULL */
static int64_t cache_at;

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void kz_slot_cache_flush(void)
{
	pthread_mutex_lock(&cache_mu);
	json_decref(cache);
	cache = NULL;
	pthread_mutex_unlock(&cache_mu);
}

/* The active slots (a new reference), from memory when fresh. */
static json_t *active_slots(kz_app *app, kz_err *err)
{
	json_t *all = NULL, *out, *s;
	size_t i;
	kz_conn *c;
	int rc;
	pthread_mutex_lock(&cache_mu);
	if (cache && mono_ms() - cache_at < CACHE_MS) {
		out = json_incref(cache);
		pthread_mutex_unlock(&cache_mu);
		return out;
	}
	pthread_mutex_unlock(&cache_mu);
	c = kz_store_acquire(app->store);
	rc = kz_store_slot_list(c, &all, err);
	kz_store_release(c);
	if (rc < 0)
		return NULL;
	out = json_array();
	json_array_foreach(all, i, s)
		if (json_is_true(json_object_get(s, "active")))
			json_array_append(out, s);
	json_decref(all);
	pthread_mutex_lock(&cache_mu);
	json_decref(cache);
	cache = json_incref(out);
	cache_at = mono_ms();
	pthread_mutex_unlock(&cache_mu);
	return out;
}

typedef struct member_ctx {
	kz_audience *a;
	int64_t contact;
} member_ctx;

static int is_member(void *ctx, int64_t segment)
{
	member_ctx *m = ctx;
	return kz_audience_is_member(m->a, segment, m->contact);
}

/* The facts about visitor vid; strings point into *keep (release it after). */
static int visit_of(kz_app *app, const char *vid, const char *url, kz_visit *v, member_ctx *m,
		    json_t **keep, kz_err *err)
{
	kz_visit_row row;
	json_t *k = json_object();
	char *src = url ? kz_track_url_param(url, "utm_source") : NULL;
	char *camp = url ? kz_track_url_param(url, "utm_campaign") : NULL;
	memset(v, 0, sizeof *v);
	memset(&row, 0, sizeof row);
	v->visits = 1;
	if (vid && *vid && strlen(vid) <= 128) {
		kz_conn *c = kz_store_acquire(app->store);
		int rc = kz_store_visit_facts(c, vid, &row, err);
		kz_store_release(c);
		if (rc < 0) {
			json_decref(k);
			free(src);
			free(camp);
			return -1;
		}
	}
	if (row.visitor_id) {
		/* this request begins a new visit when the last activity is older than a session */
		int fresh = row.last_seen < kz_now_ms() - KZ_SESSION_IDLE_MS;
		v->visits = row.sessions + (fresh || row.sessions == 0 ? 1 : 0);
	}
	if (row.contact_id) {
		json_t *rec = json_pack("{s:I}", "id", (json_int_t)row.contact_id);
		kz_audience_decorate(app->audience, rec);
		v->known = 1;
		v->score = json_integer_value(json_object_get(rec, "score"));
		json_object_set(k, "stage", json_object_get(rec, "stage"));
		v->stage = json_string_value(json_object_get(k, "stage"));
		json_decref(rec);
		m->a = app->audience;
		m->contact = row.contact_id;
		v->member = is_member;
		v->ctx = m;
	}
	json_object_set_new(k, "source", src && *src ? json_string(src)
						     : json_incref(json_object_get(row.last_touch,
										     "source")));
	json_object_set_new(k, "campaign",
			    camp && *camp ? json_string(camp)
					  : json_incref(json_object_get(row.last_touch, "campaign")));
	v->utm_source = json_string_value(json_object_get(k, "source"));
	v->utm_campaign = json_string_value(json_object_get(k, "campaign"));
	free(src);
	free(camp);
	json_decref(row.last_touch);
	*keep = k;
	return 0;
}

/* A variant's (or the default's) markup: its html, or the embed of its form. */
static json_t *content_html(kz_app *app, const json_t *content)
{
	const json_t *form = json_object_get(content, "form_id");
	kz_buf b;
	json_t *out;
	char id[32];
	if (!form)
		return json_incref(json_object_get(content, "html"));
	kz_buf_init(&b, 0);
	snprintf(id, sizeof id, "%" PRId64, (int64_t)json_integer_value(form));
	kz_buf_adds(&b, "<script src=\"");
	kz_html_escape(&b, app->base_url ? app->base_url : "");
	kz_buf_addf(&b, "/f/%s.js\" async></script>", id);
	out = json_string(b.data);
	kz_buf_release(&b);
	return out;
}

static int wanted(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;
	while (p && *p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && !strncmp(p, name, n))
			return 1;
		p = e ? e + 1 : NULL;
	}
	return 0;
}

static int site_ok(kz_app *app, const char *key, kz_resp *resp)
{
	kz_track_site site;
	int rc;
	kz_resp_header(resp, "Access-Control-Allow-Origin", "*");
	kz_resp_header(resp, "Cache-Control", "no-store");
	if (!key || !*key) {
		kz_resp_errorf(resp, 400, "invalid_parameter", "site",
			       "site is required: the site key of the kz.js tag");
		return -1;
	}
	rc = kz_track_site_find(app->store, key, &site);
	if (rc == 1) {
		kz_track_site_release(&site);
		return 0;
	}
	if (rc == 0)
		kz_resp_errorf(resp, 404, "not_found", "site", "no site has this key");
	else
		kz_resp_errorf(resp, 503, "unavailable", NULL, "the store did not answer; try again");
	return -1;
}

static int content(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	const char *names = kz_req_query(req, "slots"), *url = kz_req_query(req, "url");
	int popups = kz_req_query(req, "popups") && !strcmp(kz_req_query(req, "popups"), "1");
	json_t *slots, *keep = NULL, *out_slots, *out_pops, *s;
	kz_visit v;
	member_ctx m = {NULL, 0};
	size_t i;
	kz_err err;
	if (site_ok(app, kz_req_query(req, "site"), resp) < 0)
		return 0;
	if (names && strlen(names) > 2000)
		return kz_resp_errorf(resp, 400, "invalid_parameter", "slots",
				      "slots is a comma-separated list of at most %d names", MAX_SLOTS);
	slots = active_slots(app, &err);
	if (!slots || visit_of(app, kz_req_query(req, "vid"), url, &v, &m, &keep, &err) < 0) {
		json_decref(slots);
		return kz_resp_error(resp, &err);
	}
	out_slots = json_object();
	out_pops = json_array();
	json_array_foreach(slots, i, s) {
		const char *name = json_string_value(json_object_get(s, "name"));
		int popup = !strcmp(json_string_value(json_object_get(s, "kind")), "popup");
		int64_t id = json_integer_value(json_object_get(s, "id"));
		const json_t *var;
		const char *key;
		json_t *html;
		if (popup ? !popups : !(names && wanted(names, name)))
			continue;
		var = kz_slot_choose(s, &v);
		key = var ? json_string_value(json_object_get(var, "key")) : "default";
		html = content_html(app, var ? var : json_object_get(s, "default"));
		if (!popup) {
			json_object_set_new(out_slots, name,
					    json_pack("{s:I, s:s, s:o}", "id", (json_int_t)id,
						      "variant", key, "html", html));
			kz_counter_hit(KZ_COUNT_SLOT_VIEW, id, key);
		} else if (json_string_length(html)) {
			json_array_append_new(out_pops,
					      json_pack("{s:I, s:s, s:s, s:o, s:O}", "id",
							(json_int_t)id, "name", name, "variant", key,
							"html", html, "popup",
							json_object_get(s, "popup")));
		} else {
			json_decref(html);
		}
	}
	json_decref(slots);
	json_decref(keep);
	kz_counter_flush(app->store, 0);
	return kz_resp_json(resp, 200,
			    json_pack("{s:o, s:o, s:{s:I, s:b}}", "slots", out_slots, "popups",
				      out_pops, "visitor", "visits", (json_int_t)v.visits, "known",
				      v.known));
}

/* A pop-up was shown, or a link in a slot or pop-up was clicked. */
static int event(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	const char *type = kz_req_query(req, "type"), *variant = kz_req_query(req, "variant");
	const char *sid = kz_req_query(req, "slot");
	char *end = NULL;
	long long id = sid ? strtoll(sid, &end, 10) : 0;
	if (site_ok(app, kz_req_query(req, "site"), resp) < 0)
		return 0;
	if (!type || (strcmp(type, "view") && strcmp(type, "click")))
		return kz_resp_errorf(resp, 400, "invalid_parameter", "type", "type is view or click");
	if (!sid || !*sid || *end || id <= 0)
		return kz_resp_errorf(resp, 400, "invalid_parameter", "slot",
				      "slot is the id /t/content answered");
	if (!variant || !*variant || strlen(variant) > 40)
		return kz_resp_errorf(resp, 400, "invalid_parameter", "variant",
				      "variant is the key /t/content answered");
	kz_counter_hit(!strcmp(type, "view") ? KZ_COUNT_SLOT_VIEW : KZ_COUNT_SLOT_CLICK, id,
		       variant);
	kz_counter_flush(app->store, 0);
	return kz_resp_empty(resp, 204);
}

static int pop_script(kz_req *req, kz_resp *resp)
{
	size_t len;
	const char *src = kz_popjs_source(&len);
	return kz_api_script(req, resp, src, len, kz_popjs_etag(), 1);
}

void kz_api_content_routes(kz_server *s)
{
	kz_server_route(s, "GET", "/t/pop.js", KZ_ROLE_NONE, KZ_ROUTE_PUBLIC, pop_script);
	kz_server_route(s, "GET", "/t/content", KZ_ROLE_NONE, KZ_ROUTE_PUBLIC, content);
	kz_server_route(s, "POST", "/t/content/event", KZ_ROLE_NONE, KZ_ROUTE_PUBLIC, event);
	kz_server_route(s, "GET", "/t/content/event", KZ_ROLE_NONE, KZ_ROUTE_PUBLIC, event);
}
