/* email_links.c — the public links inside messages: /t/o/ (open pixel), /t/c/ (click
 * redirect, only to URLs signed into the message), /u/ (unsubscribe page, RFC 8058 one-click
 * POST, preferences, view in browser). Every link carries an HMAC-signed token. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "channel/message.h"
#include "model/records.h"
#include "model/site.h"
#include "track/bot.h"
#include "track/sites.h"
#include "track/writer.h"

#include "base/banned.h"

/* A 1x1 transparent GIF. */
static const unsigned char gif[] = {0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00,
				    0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x21,
				    0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00,
				    0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44,
				    0x01, 0x00, 0x3b};

#define MACHINE_WINDOW_MS 3000
/* How long a landing page may hand back a click's identity token (kz.js does so at once;
 * the margin covers slow pages and redirects in between). */
#define CLICK_ID_MS (30LL * 60 * 1000)

typedef struct link_ctx {
	int64_t contact_id, send_id;
	json_t *send; /* NULL for preview/test tokens without a send */
	char secret[65];
} link_ctx;

/* Resolve the token of path parameter 0 (".gif" stripped). 0, or -1 (unknown token). */
static int resolve(kz_conn *c, const char *param, link_ctx *lc)
{
	char tok[100];
	kz_err err;
	size_t n = strlen(param);
	memset(lc, 0, sizeof *lc);
	if (n >= sizeof tok)
		return -1;
	snprintf(tok, sizeof tok, "%s", param);
	if (n > 4 && !strcmp(tok + n - 4, ".gif"))
		tok[n - 4] = '\0';
	if (kz_email_secret(c, lc->secret, &err) < 0 ||
	    kz_email_token_check(lc->secret, tok, &lc->contact_id, &lc->send_id) < 0)
		return -1;
	if (lc->send_id && kz_store_send_get(c, lc->send_id, &lc->send, &err) < 0)
		lc->send = NULL;
	return 0;
}

/* Apple Mail Privacy Protection, security scanners and link checkers. */
static int is_machine(kz_req *req, const json_t *send)
{
	const char *ua = kz_req_header(req, "User-Agent");
	const char *sent = json_string_value(json_object_get(send, "sent_at"));
	char ip[64];
	int64_t at;
	kz_req_client_ip(req, ip, sizeof ip);
	if (!ua || !*ua || kz_track_is_bot(ua))
		return 1;
	if (!strncmp(ip, "17.", 3)) /* Apple's proxies fetch every image on delivery */
		return 1;
	if (!strcmp(ua, "Mozilla/5.0")) /* Apple MPP's bare user agent */
		return 1;
	if (sent && kz_time_parse_iso(sent, &at) == 0 && kz_now_ms() - at < MACHINE_WINDOW_MS)
		return 1;
	return 0;
}

static int open_pixel(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	kz_conn *c = kz_store_acquire(app->store);
	link_ctx lc;
	unsigned char *body = malloc(sizeof gif);
	kz_err err;
	if (resolve(c, req->params[0], &lc) == 0 && lc.send) {
		int machine = is_machine(req, lc.send), first = 0;
		int64_t now = kz_now_ms();
		if (kz_tx_begin(c, 1, &err) == 0) {
			if (kz_store_send_mark(c, lc.send_id, machine ? "machine_open" : "open", now,
					       &first, &err) == 0) {
				kz_email_event(c, lc.send, "email_opened",
					       json_pack("{sb}", "machine", machine), now);
				kz_tx_commit(c, &err);
			} else {
				kz_tx_rollback(c);
			}
		}
	}
	json_decref(lc.send);
	kz_store_release(c);
	kz_resp_header(resp, "Cache-Control", "no-store, no-cache, must-revalidate, max-age=0");
	if (!body)
		return kz_resp_text(resp, 200, "image/gif", NULL, 0);
	memcpy(body, gif, sizeof gif);
	return kz_resp_text(resp, 200, "image/gif", (char *)body, sizeof gif);
}

static int identify_visitor(kz_req *req, const char *vid, int64_t contact_id, int64_t site_id,
			    int wait);
static void landing(kz_resp *resp, const char *url, const char *secret, int64_t contact_id);

static int click(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	kz_conn *c = kz_store_acquire(app->store);
	const char *url = kz_req_query(req, "u"), *h = kz_req_query(req, "h");
	link_ctx lc;
	char want[33];
	kz_err err;
	if (resolve(c, req->params[0], &lc) < 0 || !url || !h) {
		kz_store_release(c);
		return kz_resp_errorf(resp, 404, "not_found", NULL, "this link is not valid");
	}
	kz_email_link_mac(lc.secret, lc.send_id, url, want);
	if (strlen(h) != 32 || !kz_const_eq(h, want, 32)) {
		json_decref(lc.send);
		kz_store_release(c);
		/* never an open redirect: only URLs that were signed into the message */
		return kz_resp_errorf(resp, 404, "not_found", NULL, "this link is not valid");
	}
	if (lc.send) {
		int machine = is_machine(req, lc.send), first = 0;
		int64_t now = kz_now_ms();
		if (kz_tx_begin(c, 1, &err) == 0) {
			if (kz_store_click_insert(c, lc.contact_id, lc.send_id, url, machine, now,
						  &err) == 0 &&
			    (machine || kz_store_send_mark(c, lc.send_id, "click", now, &first,
							   &err) == 0)) {
				kz_email_event(c, lc.send, "email_clicked",
					       json_pack("{sssb}", "url", url, "machine", machine),
					       now);
				kz_tx_commit(c, &err);
			} else {
				kz_tx_rollback(c);
			}
		}
	}
	json_decref(lc.send);
	kz_store_release(c);
	if (lc.contact_id && lc.send_id)
		identify_visitor(req, kz_req_cookie(req, "kz_vid"), lc.contact_id, 0, 0);
	landing(resp, url, lc.contact_id && lc.send_id ? lc.secret : NULL, lc.contact_id);
	kz_resp_header(resp, "Cache-Control", "no-store");
	return kz_resp_text(resp, 302, "text/plain; charset=utf-8", strdup("Redirecting\n"), 12);
}

/* A click identifies the browser's visitor as the contact: an identify through the event
 * pipeline (stitching the visitor's anonymous pages to the contact). A visitor id that is
 * missing or odd is no error: the click still redirects. */
static int identify_visitor(kz_req *req, const char *vid, int64_t contact_id, int64_t site_id,
			    int wait)
{
	kz_track_src src;
	kz_err err;
	char ip[64];
	json_t *ev;
	int rc;
	if (!vid || !*vid || strlen(vid) > 128)
		return 0;
	memset(&src, 0, sizeof src);
	kz_api_client_ip(req, ip, sizeof ip);
	src.site_id = site_id; /* the site's own visitor (kz.js's), not a site-less twin */
	src.received_at = kz_now_ms();
	src.ip = ip;
	src.ua = kz_req_header(req, "User-Agent");
	ev = json_pack("{s:s, s:s, s:I, s:{}, s:{s:s}}", "type", "identify", "anonymousId", vid,
		       "contactId", (json_int_t)contact_id, "traits", "context", "source",
		       "email_click");
	rc = wait ? kz_track_emit_wait(ev, &src, 0, &err) : kz_track_emit(ev, &src, 0, &err);
	json_decref(ev);
	if (rc < 0)
		kz_warn("a click's visitor was not tied to contact %" PRId64 ": %s", contact_id,
			err.message);
	return rc < 0 ? -1 : 0;
}

/* Location: url with kz_ct=<identity token> added to its query (before any fragment), so
 * kz.js on the landing page can name its visitor (POST /t/id). Only http(s) targets. */
static void landing(kz_resp *resp, const char *url, const char *secret, int64_t contact_id)
{
	const char *hash = strchr(url, '#'), *q = strchr(url, '?');
	char tok[96];
	kz_buf b;
	if (!secret || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))) {
		kz_resp_header(resp, "Location", url);
		return;
	}
	kz_email_click_id(secret, contact_id, kz_now_ms() + CLICK_ID_MS, tok);
	kz_buf_init(&b, 0);
	kz_buf_add(&b, url, hash ? (size_t)(hash - url) : strlen(url));
	kz_buf_addf(&b, "%skz_ct=%s", q && (!hash || q < hash) ? "&" : "?", tok);
	if (hash)
		kz_buf_addf(&b, "%s", hash);
	kz_resp_header(resp, "Location", b.data);
	kz_buf_release(&b);
}

/* POST /t/id {"ct": "<kz_ct from the landing URL>", "anonymousId": "<kz.js visitor>"}:
 * the landing page of a tracked click names its visitor. 204, or 404 for a bad token. */
static int click_identity(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *body = kz_req_json(req, resp);
	const char *ct, *vid, *site_key;
	char secret[65];
	int64_t contact_id = 0, site_id = 0;
	kz_err err;
	kz_conn *c;
	int rc;
	if (!body)
		return 0;
	kz_resp_header(resp, "Access-Control-Allow-Origin", "*");
	ct = json_string_value(json_object_get(body, "ct"));
	vid = json_string_value(json_object_get(body, "anonymousId"));
	if (!vid || !*vid || strlen(vid) > 128) {
		json_decref(body);
		return kz_resp_errorf(resp, 422, "invalid_field", "anonymousId",
				      "anonymousId must be the visitor id (1 to 128 characters)");
	}
	c = kz_store_acquire(app->store);
	rc = kz_email_secret(c, secret, &err);
	kz_store_release(c);
	if (rc < 0) {
		json_decref(body);
		return kz_resp_error(resp, &err);
	}
	rc = kz_email_click_id_check(secret, ct, kz_now_ms(), &contact_id);
	if (rc < 0) {
		json_decref(body);
		return kz_resp_errorf(resp, rc == -2 ? 410 : 404, rc == -2 ? "expired" : "not_found",
				      "ct",
				      rc == -2 ? "this click is too old to identify the visitor"
					       : "this click token is not valid");
	}
	site_key = json_string_value(json_object_get(body, "site_key"));
	if (site_key) { /* kz.js names its site: the identify is about that site's visitor */
		kz_track_site site;
		const char *origin = kz_req_header(req, "Origin");
		int found = kz_track_site_find(app->store, site_key, &site);
		if (found < 0 || (found > 0 && origin && !kz_site_origin_allowed(site.origins, origin))) {
			if (found > 0)
				kz_track_site_release(&site);
			json_decref(body);
			return found < 0 ? kz_resp_errorf(resp, 503, "database_unavailable", NULL,
							  "the database is not reachable; try again")
					 : kz_resp_errorf(resp, 403, "origin_not_allowed", "Origin",
							  "this origin is not in the site's allowed_origins");
		}
		if (found > 0) {
			site_id = site.id;
			kz_track_site_release(&site);
		}
	}
	rc = identify_visitor(req, vid, contact_id, site_id, 1);
	json_decref(body);
	if (rc < 0)
		return kz_resp_errorf(resp, 503, "unavailable", NULL,
				      "the visitor could not be recorded; try again");
	return kz_resp_empty(resp, 204);
}

/* ---- pages ---- */

static void esc(kz_buf *b, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '<')
			kz_buf_adds(b, "&lt;");
		else if (*s == '>')
			kz_buf_adds(b, "&gt;");
		else if (*s == '&')
			kz_buf_adds(b, "&amp;");
		else if (*s == '"')
			kz_buf_adds(b, "&quot;");
		else
			kz_buf_addc(b, *s);
	}
}

static int ja(kz_req *req)
{
	const char *al = kz_req_header(req, "Accept-Language");
	return !al || !strncmp(al, "ja", 2);
}

static int page(kz_resp *resp, int status, kz_buf *body)
{
	kz_buf b;
	kz_buf_init(&b, 0);
	kz_buf_adds(&b, "<!doctype html><html><head><meta charset=\"utf-8\">"
			"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
			"<title>Kizuna</title><style>body{font-family:system-ui,sans-serif;"
			"max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}"
			"button{font-size:1rem;padding:.5rem 1.2rem}label{display:block;margin:.4rem 0}"
			"</style></head><body>");
	kz_buf_add(&b, body->data, body->len);
	kz_buf_adds(&b, "</body></html>\n");
	kz_buf_release(body);
	kz_resp_header(resp, "Cache-Control", "no-store");
	{
		size_t len;
		char *html = kz_buf_detach(&b, &len);
		return kz_resp_text(resp, status, "text/html; charset=utf-8", html, len);
	}
}

static int bad_link(kz_req *req, kz_resp *resp)
{
	kz_buf b;
	kz_buf_init(&b, 0);
	kz_buf_adds(&b, ja(req) ? "<h1>リンクが無効です</h1><p>このリンクは正しくないか、期限が切れています。</p>"
				: "<h1>This link is not valid</h1><p>It may be incomplete or "
				  "altered.</p>");
	return page(resp, 404, &b);
}

static int unsub_page(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	kz_conn *c = kz_store_acquire(app->store);
	link_ctx lc;
	kz_buf b;
	int rc = resolve(c, req->params[0], &lc);
	json_decref(lc.send);
	kz_store_release(c);
	if (rc < 0 || !lc.contact_id)
		return bad_link(req, resp);
	kz_buf_init(&b, 0);
	if (ja(req))
		kz_buf_adds(&b, "<h1>配信停止</h1><p>今後のメール配信を停止しますか？</p>");
	else
		kz_buf_adds(&b, "<h1>Unsubscribe</h1><p>Stop receiving our emails?</p>");
	kz_buf_adds(&b, "<form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" "
			"value=\"One-Click\"><button type=\"submit\">");
	kz_buf_adds(&b, ja(req) ? "配信を停止する" : "Unsubscribe");
	kz_buf_adds(&b, "</button></form><p><a href=\"/u/");
	esc(&b, req->params[0]);
	kz_buf_adds(&b, "/preferences\">");
	kz_buf_adds(&b, ja(req) ? "配信設定を変更する" : "Choose topics instead");
	kz_buf_adds(&b, "</a></p>");
	return page(resp, 200, &b);
}

static int do_unsubscribe(kz_app *app, const link_ctx *lc, const char *topic, const char *source,
			  kz_err *err)
{
	kz_conn *c = kz_store_acquire(app->store);
	int64_t now = kz_now_ms();
	int first;
	if (kz_tx_begin(c, 1, err) < 0) {
		kz_store_release(c);
		return -1;
	}
	if (kz_store_unsubscribe(c, lc->contact_id, topic, source, lc->send_id, now, err) < 0 ||
	    (lc->send && kz_store_send_mark(c, lc->send_id, "unsubscribe", now, &first, err) < 0)) {
		kz_tx_rollback(c);
		kz_store_release(c);
		return -1;
	}
	if (lc->send)
		kz_email_event(c, lc->send, "email_unsubscribed",
			       json_pack("{ssss}", "topic", topic, "source", source), now);
	else if (lc->contact_id) {
		json_t *fake = json_pack("{sIsI}", "contact_id", (json_int_t)lc->contact_id, "id",
					 (json_int_t)0);
		kz_email_event(c, fake, "email_unsubscribed",
			       json_pack("{ssss}", "topic", topic, "source", source), now);
		json_decref(fake);
	}
	if (kz_tx_commit(c, err) < 0) {
		kz_store_release(c);
		return -1;
	}
	kz_store_release(c);
	return 0;
}

/* RFC 8058: a POST with List-Unsubscribe=One-Click unsubscribes at once. */
static int unsub_post(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	kz_conn *c = kz_store_acquire(app->store);
	link_ctx lc;
	kz_err err;
	kz_buf b;
	int rc = resolve(c, req->params[0], &lc);
	kz_store_release(c);
	if (rc < 0 || !lc.contact_id) {
		json_decref(lc.send);
		return bad_link(req, resp);
	}
	rc = do_unsubscribe(app, &lc, "", "one-click", &err);
	json_decref(lc.send);
	if (rc < 0)
		return kz_resp_error(resp, &err);
	kz_buf_init(&b, 0);
	kz_buf_adds(&b, ja(req) ? "<h1>配信を停止しました</h1><p>今後、メールはお送りしません。</p>"
				: "<h1>You are unsubscribed</h1><p>You will not receive our emails "
				  "any more.</p>");
	return page(resp, 200, &b);
}

static const char *str_of(const json_t *o, const char *k, const char *def)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : def;
}

/* ---- double opt-in: GET shows a button (link scanners only GET), POST confirms ---- */

static int optin_link(kz_req *req, kz_resp *resp, link_ctx *lc)
{
	kz_app *app = req->app;
	kz_conn *c = kz_store_acquire(app->store);
	int rc = resolve(c, req->params[0], lc);
	const char *kind = json_string_value(json_object_get(lc->send, "kind"));
	kz_store_release(c);
	if (rc < 0 || !lc->contact_id || !kind || strcmp(kind, "optin")) {
		json_decref(lc->send);
		lc->send = NULL;
		bad_link(req, resp);
		return -1;
	}
	return 0;
}

static int confirm_page(kz_req *req, kz_resp *resp)
{
	link_ctx lc;
	kz_buf b;
	if (optin_link(req, resp, &lc) < 0)
		return 0;
	json_decref(lc.send);
	kz_buf_init(&b, 0);
	if (ja(req))
		kz_buf_adds(&b, "<h1>ご登録の確認</h1><p>このメールアドレスでメールの配信を始めます。"
				"よろしければ確定してください。</p>");
	else
		kz_buf_adds(&b, "<h1>Confirm your subscription</h1><p>Start receiving our emails at "
				"this address?</p>");
	kz_buf_adds(&b, "<form method=\"post\"><button type=\"submit\">");
	kz_buf_adds(&b, ja(req) ? "登録を確定する" : "Confirm");
	kz_buf_adds(&b, "</button></form>");
	return page(resp, 200, &b);
}

/* In one transaction: pending → granted (1), or nothing to confirm (0, with the consent in
 * *consent); -1 with err. A confirmation lifts a global unsubscribe: it asks for the emails. */
static int confirm_in_tx(kz_conn *c, const link_ctx *lc, const char *ip, int64_t now,
			 json_t **consent, kz_err *err)
{
	int done;
	if (kz_tx_begin(c, 1, err) < 0)
		return -1;
	done = kz_store_consent_confirm(c, lc->contact_id, "email", ip, now, err);
	if (done == 1 && kz_store_resubscribe(c, lc->contact_id, "", err) < 0)
		done = -1;
	if (done == 1)
		kz_email_event(c, lc->send, "email_confirmed", json_pack("{ss}", "ip", ip), now);
	if (done == 0 && kz_store_consent_get(c, lc->contact_id, "email", consent, err) < 0)
		done = -1;
	if (done < 0) {
		kz_tx_rollback(c);
		return -1;
	}
	return kz_tx_commit(c, err) < 0 ? -1 : done;
}

static int confirm_post(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	link_ctx lc;
	json_t *consent = NULL;
	char ip[64];
	kz_err err;
	kz_conn *c;
	kz_buf b;
	int64_t now = kz_now_ms();
	int done, ok;
	if (optin_link(req, resp, &lc) < 0)
		return 0;
	kz_api_client_ip(req, ip, sizeof ip);
	c = kz_store_acquire(app->store);
	done = confirm_in_tx(c, &lc, ip, now, &consent, &err);
	kz_store_release(c);
	json_decref(lc.send);
	if (done < 0) {
		json_decref(consent);
		return kz_resp_error(resp, &err);
	}
	ok = done == 1 || !strcmp(str_of(consent, "status", ""), "granted");
	json_decref(consent);
	kz_buf_init(&b, 0);
	if (ok)
		kz_buf_adds(&b, ja(req) ? "<h1>ご登録が確定しました</h1><p>ありがとうございます。"
					  "これからメールをお届けします。</p>"
					: "<h1>You are subscribed</h1><p>Thank you: our emails are on "
					  "their way.</p>");
	else
		kz_buf_adds(&b, ja(req) ? "<h1>確認できませんでした</h1><p>配信停止の手続きが先に"
					  "行われたため、このリンクは使えません。</p>"
					: "<h1>Nothing to confirm</h1><p>This address was unsubscribed "
					  "after the link was sent.</p>");
	return page(resp, ok ? 200 : 409, &b);
}

/* Values of `name` in an application/x-www-form-urlencoded body (decoded, '+' = space). */
static int form_has(const char *body, size_t len, const char *name, const char *value)
{
	size_t nl = strlen(name);
	const char *p = body, *end = body + len;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *e = amp ? amp : end;
		if ((size_t)(e - p) > nl && !strncmp(p, name, nl) && p[nl] == '=') {
			char v[200];
			size_t n = 0;
			for (const char *q = p + nl + 1; q < e && n + 1 < sizeof v; q++) {
				if (*q == '+') {
					v[n++] = ' ';
				} else if (*q == '%' && q + 2 < e) {
					char hx[3] = {q[1], q[2], 0};
					v[n++] = (char)strtol(hx, NULL, 16);
					q += 2;
				} else {
					v[n++] = *q;
				}
			}
			v[n] = '\0';
			if (!strcmp(v, value))
				return 1;
		}
		p = e + 1;
	}
	return 0;
}

static int prefs(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	kz_conn *c = kz_store_acquire(app->store);
	json_t *topics = NULL, *unsub = NULL, *t;
	link_ctx lc;
	kz_err err;
	kz_buf b;
	size_t i;
	int post = !strcmp(req->method, "POST"), all_off = 0, rc;
	rc = resolve(c, req->params[0], &lc);
	json_decref(lc.send);
	lc.send = NULL;
	if (rc < 0 || !lc.contact_id) {
		kz_store_release(c);
		return bad_link(req, resp);
	}
	if (kz_store_email_topics(c, &topics, &err) < 0) {
		kz_store_release(c);
		return kz_resp_error(resp, &err);
	}
	if (post) {
		const char *body = req->body.data;
		size_t len = req->body.len;
		int64_t now = kz_now_ms();
		if (kz_tx_begin(c, 1, &err) == 0) {
			int ok = kz_store_resubscribe(c, lc.contact_id, NULL, &err) == 0;
			if (ok && !form_has(body, len, "all", "1"))
				ok = kz_store_unsubscribe(c, lc.contact_id, "", "preferences",
							  lc.send_id, now, &err) == 0;
			json_array_foreach(topics, i, t) {
				if (ok && !form_has(body, len, "topic", json_string_value(t)))
					ok = kz_store_unsubscribe(c, lc.contact_id,
								  json_string_value(t),
								  "preferences", lc.send_id, now,
								  &err) == 0;
			}
			if (ok)
				kz_tx_commit(c, &err);
			else
				kz_tx_rollback(c);
		}
	}
	if (kz_store_unsubscribes(c, lc.contact_id, &unsub, &err) < 0) {
		kz_store_release(c);
		json_decref(topics);
		return kz_resp_error(resp, &err);
	}
	kz_store_release(c);
	json_array_foreach(unsub, i, t)
		all_off |= !strcmp(json_string_value(t), "");
	kz_buf_init(&b, 0);
	kz_buf_adds(&b, ja(req) ? "<h1>配信設定</h1>" : "<h1>Email preferences</h1>");
	if (post)
		kz_buf_adds(&b, ja(req) ? "<p><strong>保存しました。</strong></p>"
					: "<p><strong>Saved.</strong></p>");
	kz_buf_adds(&b, "<form method=\"post\">");
	kz_buf_addf(&b, "<label><input type=\"checkbox\" name=\"all\" value=\"1\"%s> %s</label>",
		    all_off ? "" : " checked", ja(req) ? "メールを受け取る" : "Receive our emails");
	json_array_foreach(topics, i, t) {
		int off = 0;
		size_t j;
		json_t *u;
		json_array_foreach(unsub, j, u)
			off |= !strcmp(json_string_value(u), json_string_value(t));
		kz_buf_addf(&b, "<label><input type=\"checkbox\" name=\"topic\" value=\"");
		esc(&b, json_string_value(t));
		kz_buf_addf(&b, "\"%s> ", off ? "" : " checked");
		esc(&b, json_string_value(t));
		kz_buf_adds(&b, "</label>");
	}
	kz_buf_addf(&b, "<button type=\"submit\">%s</button></form>", ja(req) ? "保存" : "Save");
	json_decref(topics);
	json_decref(unsub);
	return page(resp, 200, &b);
}

static int view(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	kz_conn *c = kz_store_acquire(app->store);
	json_t *email = NULL, *vars = NULL, *settings = NULL;
	link_ctx lc;
	kz_render_opts o;
	kz_rendered r;
	kz_err err;
	int rc = resolve(c, req->params[0], &lc);
	if (rc < 0 || !lc.send) {
		json_decref(lc.send);
		kz_store_release(c);
		return bad_link(req, resp);
	}
	rc = kz_store_email_get(c, json_integer_value(json_object_get(lc.send, "email_id")), &email,
				&err);
	if (rc == 0)
		rc = kz_settings_load(c, app->default_country, &settings, &err);
	if (rc == 0 && !(vars = kz_email_vars(c, email, lc.contact_id, &err)))
		rc = -1;
	kz_store_release(c);
	memset(&o, 0, sizeof o);
	o.base_url = app->base_url;
	o.secret = lc.secret;
	o.contact_id = lc.contact_id;
	o.send_id = lc.send_id;
	o.settings = settings;
	if (rc == 0)
		rc = kz_email_render(email, vars, &o, &r, &err);
	json_decref(lc.send);
	json_decref(email);
	json_decref(vars);
	json_decref(settings);
	if (rc < 0)
		return kz_resp_error(resp, &err);
	kz_resp_header(resp, "Cache-Control", "no-store");
	kz_resp_header(resp, "Content-Security-Policy", "script-src 'none'");
	free(r.subject);
	free(r.text);
	return kz_resp_text(resp, 200, "text/html; charset=utf-8", r.html, strlen(r.html));
}

void kz_api_email_links_routes(kz_server *s)
{
	kz_server_route(s, "GET", "/t/o/{token}", KZ_ROLE_NONE, KZ_ROUTE_PUBLIC, open_pixel);
	kz_server_route(s, "GET", "/t/c/{token}", KZ_ROLE_NONE, KZ_ROUTE_PUBLIC, click);
	kz_server_route(s, "POST", "/t/id", KZ_ROLE_NONE, KZ_ROUTE_PUBLIC, click_identity);
	kz_server_route(s, "GET", "/u/{token}", KZ_ROLE_NONE, KZ_ROUTE_PUBLIC, unsub_page);
	kz_server_route(s, "POST", "/u/{token}", KZ_ROLE_NONE, KZ_ROUTE_PUBLIC | KZ_ROUTE_RAW_BODY,
			unsub_post);
	kz_server_route(s, "GET", "/u/{token}/preferences", KZ_ROLE_NONE, KZ_ROUTE_PUBLIC, prefs);
	kz_server_route(s, "POST", "/u/{token}/preferences", KZ_ROLE_NONE,
			KZ_ROUTE_PUBLIC | KZ_ROUTE_RAW_BODY, prefs);
	kz_server_route(s, "GET", "/u/{token}/view", KZ_ROLE_NONE, KZ_ROUTE_PUBLIC, view);
	kz_server_route(s, "GET", "/u/{token}/confirm", KZ_ROLE_NONE, KZ_ROUTE_PUBLIC, confirm_page);
	kz_server_route(s, "POST", "/u/{token}/confirm", KZ_ROLE_NONE,
			KZ_ROUTE_PUBLIC | KZ_ROUTE_RAW_BODY, confirm_post);
}
