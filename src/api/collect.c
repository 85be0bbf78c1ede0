/* collect.c — the public tracking endpoints: /kz.js, POST /t/collect (CORS per site) and the
 * /t/p.gif pixel. No API key: the site key in the body (or ?k=) says whose events they are. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "api/app.h"
#include "base/crypto.h"
#include "base/timeutil.h"
#include "model/site.h"
#include "track/batch.h"
#include "track/bot.h"
#include "track/kzjs.h"
#include "track/sites.h"

#include "base/banned.h"

/* A 1×1 transparent GIF. */
static const unsigned char gif[] = {
	0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00,
	0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00,
	0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b};

/* The browser asked not to be tracked (Do-Not-Track or Global Privacy Control). */
static int dnt_asked(kz_req *req)
{
	const char *dnt = kz_req_header(req, "DNT"), *gpc = kz_req_header(req, "Sec-GPC");
	return (dnt && !strcmp(dnt, "1")) || (gpc && !strcmp(gpc, "1"));
}

static int events_in(const json_t *body)
{
	const json_t *b = json_object_get(body, "batch");
	return json_is_array(b) ? (int)json_array_size(b) : 1;
}

static json_t *dropped_answer(int n)
{
	return json_pack("{s:i, s:i, s:[], s:i}", "accepted", 0, "duplicates", 0, "errors",
			 "dropped", n);
}

/* Why a request from this site is not collected, or 0: the shared part of /t/collect and
 * the pixel. */
static int drop_reason(kz_req *req, const kz_track_site *site)
{
	if (site->bot_filter && kz_track_is_bot(kz_req_header(req, "User-Agent")))
		return KZ_DROP_BOT + 1;
	if (site->respect_dnt && dnt_asked(req))
		return KZ_DROP_DNT + 1;
	return 0;
}

static void fill_src(kz_req *req, const kz_track_site *site, kz_track_src *src, char *ip,
		     size_t iplen)
{
	memset(src, 0, sizeof *src);
	kz_api_client_ip(req, ip, iplen);
	if (site->anonymize_ip)
		kz_track_ip_anonymize(ip, iplen);
	src->site_id = site->id;
	src->browser = 1;
	src->received_at = kz_now_ms();
	src->ip = ip;
	src->ua = kz_req_header(req, "User-Agent");
}

static int collect(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	const char *origin = kz_req_header(req, "Origin");
	json_t *body = kz_req_json(req, resp), *answer = NULL;
	kz_track_site site;
	kz_track_policy policy;
	kz_track_src src;
	char ip[64];
	int found, why, status;
	if (!body)
		return 0;
	found = kz_track_site_find(app->store, json_string_value(json_object_get(body, "site_key")),
				   &site);
	if (found <= 0) {
		json_decref(body);
		if (found < 0)
			return kz_resp_errorf(
				resp, 503, "database_unavailable", NULL,
				"the database is not reachable; send the events again");
		return kz_resp_errorf(resp, 404, "unknown_site", "site_key",
				      "no site has this site_key; copy the snippet from Sites");
	}
	/* A browser names its page's origin; only the site's own pages may send its events.
	 * (Requests without Origin are not from a page's script: servers, the pixel's kin.) */
	if (origin && !kz_site_origin_allowed(site.origins, origin)) {
		kz_track_count_drop(KZ_DROP_ORIGIN, events_in(body));
		kz_track_site_release(&site);
		json_decref(body);
		return kz_resp_errorf(resp, 403, "origin_not_allowed", "Origin",
				      "this origin is not in the site's allowed_origins");
	}
	if (origin) {
		kz_resp_header(resp, "Access-Control-Allow-Origin", origin);
		kz_resp_header(resp, "Vary", "Origin");
	}
	why = drop_reason(req, &site);
	if (why) {
		kz_track_count_drop((enum kz_track_drop)(why - 1), events_in(body));
		status = 200;
		answer = dropped_answer(events_in(body));
	} else {
		fill_src(req, &site, &src, ip, sizeof ip);
		memset(&policy, 0, sizeof policy);
		policy.drop_headless = site.bot_filter;
		kz_api_track(req, resp, body, &src, &policy);
		kz_track_site_release(&site);
		json_decref(body);
		return 0;
	}
	kz_track_site_release(&site);
	json_decref(body);
	return kz_resp_json(resp, status, answer);
}

static int preflight(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	const char *origin = kz_req_header(req, "Origin");
	if (!origin || !kz_track_origin_known(app->store, origin))
		return kz_resp_errorf(resp, 403, "origin_not_allowed", "Origin",
				      "no site lists this origin in its allowed_origins");
	kz_resp_header(resp, "Access-Control-Allow-Origin", origin);
	kz_resp_header(resp, "Access-Control-Allow-Methods", "POST, OPTIONS");
	kz_resp_header(resp, "Access-Control-Allow-Headers", "Content-Type");
	kz_resp_header(resp, "Access-Control-Max-Age", "86400");
	kz_resp_header(resp, "Vary", "Origin");
	return kz_resp_empty(resp, 204);
}

/* Copy a query parameter into ev[key] when present. */
static void from_query(kz_req *req, json_t *o, const char *param, const char *key)
{
	const char *v = kz_req_query(req, param);
	if (v && *v)
		json_object_set_new(o, key, json_string(v));
}

/* The pixel's event: ?k=site key, t=page|track, e=event name, a=anonymousId, u=url,
 * r=referrer, ti=title, m=messageId. Without ?a= the visitor is a daily hash of address and
 * User-Agent, so a page without JavaScript still counts one visitor, not one per hit. */
static json_t *pixel_event(kz_req *req, const kz_track_site *site, const kz_track_src *src)
{
	const char *t = kz_req_query(req, "t");
	json_t *ev = json_object(), *ctx = json_object();
	json_object_set_new(ev, "type", json_string(t && !strcmp(t, "track") ? "track" : "page"));
	from_query(req, ev, "e", "event");
	from_query(req, ev, "a", "anonymousId");
	from_query(req, ev, "m", "messageId");
	if (!json_object_get(ev, "anonymousId")) {
		char seed[512], hex[65], id[32];
		snprintf(seed, sizeof seed, "%lld|%s|%s|%lld", (long long)site->id,
			 src->ip ? src->ip : "", src->ua ? src->ua : "",
			 (long long)(src->received_at / 86400000));
		kz_sha256_hex(seed, strlen(seed), hex);
		snprintf(id, sizeof id, "px-%.24s", hex);
		json_object_set_new(ev, "anonymousId", json_string(id));
	}
	from_query(req, ctx, "u", "url");
	if (!json_object_get(ctx, "url")) {
		const char *referer = kz_req_header(req, "Referer");
		if (referer && *referer)
			json_object_set_new(ctx, "url", json_string(referer));
	}
	from_query(req, ctx, "r", "referrer");
	from_query(req, ctx, "ti", "title");
	json_object_set_new(ev, "context", ctx);
	return ev;
}

#define PIXEL_FLOOD_PER_MINUTE 120

static int pixel(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	kz_track_site site;
	unsigned char *body = malloc(sizeof gif);
	/* Whatever happens, the page gets its image: never an error page in an <img>. */
	if (kz_track_site_find(app->store, kz_req_query(req, "k"), &site) > 0) {
		int why = drop_reason(req, &site);
		char fip[64];
		kz_api_client_ip(req, fip, sizeof fip);
		/* No-JS pixel floods: more than PIXEL_FLOOD_PER_MINUTE hits from one address. */
		if (!why && site.bot_filter && kz_track_flood(fip, kz_now_ms(), PIXEL_FLOOD_PER_MINUTE))
			why = KZ_DROP_BOT + 1;
		if (why) {
			kz_track_count_drop((enum kz_track_drop)(why - 1), 1);
		} else {
			kz_track_src src;
			kz_track_policy policy;
			char ip[64];
			json_t *ev;
			char *answer = NULL;
			fill_src(req, &site, &src, ip, sizeof ip);
			memset(&policy, 0, sizeof policy);
			ev = pixel_event(req, &site, &src);
			kz_track_handle(app->track_writer, ev, &src, &policy, &answer);
			json_decref(ev);
			free(answer);
		}
		kz_track_site_release(&site);
	}
	kz_resp_header(resp, "Cache-Control", "no-store, no-cache, must-revalidate, max-age=0");
	if (!body)
		return kz_resp_text(resp, 200, "image/gif", NULL, 0);
	memcpy(body, gif, sizeof gif);
	return kz_resp_text(resp, 200, "image/gif", (char *)body, sizeof gif);
}

static int script(kz_req *req, kz_resp *resp)
{
	size_t len;
	const char *src = kz_kzjs_source(&len);
	return kz_api_script(req, resp, src, len, kz_kzjs_etag(), 0);
}

void kz_api_collect_routes(kz_server *s)
{
	kz_server_route(s, "GET", "/kz.js", KZ_ROLE_NONE, KZ_ROUTE_PUBLIC, script);
	kz_server_route(s, "POST", "/t/collect", KZ_ROLE_NONE, KZ_ROUTE_PUBLIC, collect);
	kz_server_route(s, "OPTIONS", "/t/collect", KZ_ROLE_NONE, KZ_ROUTE_PUBLIC, preflight);
	kz_server_route(s, "GET", "/t/p.gif", KZ_ROLE_NONE, KZ_ROUTE_PUBLIC, pixel);
}
