/* public_forms.c — the visitor side of forms, no API key: the hosted page GET /f/{id}, the
 * embed script /f/{id}.js, its markup (?format=fragment), the stylesheet /f/form.css and the
 * submission POST /f/{id}, answered as JSON (the script) or as HTML (JavaScript off). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "capture/alert.h"
#include "capture/body.h"
#include "capture/form.h"
#include "capture/render.h"
#include "capture/submit.h"
#include "journey/journey.h"
#include "capture/token.h"
#include "channel/outbox.h"

#include "base/banned.h"

#define ASSET_LINK_MS ((int64_t)24 * 3600 * 1000) /* a download link works for a day */

/* The form named by the path, or -1 with a 404 page already in resp. */
static int load_form(kz_req *req, kz_resp *resp, int64_t id, json_t **form)
{
	kz_app *app = req->app;
	kz_err err;
	kz_conn *c = kz_store_acquire(app->store);
	int rc = kz_store_form_get(c, id, form, &err);
	kz_store_release(c);
	if (rc < 0) {
		if (err.status == 404)
			kz_resp_text(resp, 404, "text/html; charset=utf-8",
				     strdup("<!DOCTYPE html><title>404</title><p>このフォームは見つかりません。"
					    " / This form does not exist.</p>"),
				     0);
		else
			kz_resp_error(resp, &err);
		resp->len = resp->body ? strlen(resp->body) : 0;
		return -1;
	}
	return 0;
}

static void count_view(kz_app *app, int64_t id)
{
	kz_err err;
	kz_conn *c = kz_store_acquire(app->store);
	if (kz_store_form_viewed(c, id, &err) < 0)
		kz_warn("form %" PRId64 ": the view was not counted: %s", id, err.message);
	kz_store_release(c);
}

static int html_answer(kz_resp *resp, int status, kz_buf *b)
{
	size_t len;
	char *body = kz_buf_detach(b, &len);
	kz_resp_header(resp, "Cache-Control", "no-store");
	kz_resp_header(resp, "Content-Security-Policy",
		       "default-src 'none'; style-src 'unsafe-inline' *; img-src * data:; "
		       "form-action *; base-uri 'none'; frame-ancestors *");
	return kz_resp_text(resp, status, "text/html; charset=utf-8", body, len);
}

/* Render the form's markup (with errors and sent values after a failed post). */
static void render_form(kz_app *app, kz_req *req, const json_t *form, const char *lang,
			const char *anon, const json_t *values, const json_t *errors, kz_buf *b)
{
	int64_t id = json_integer_value(json_object_get(form, "id"));
	char action[600], token[96];
	json_t *contact = NULL, *fields;
	kz_form_view v;
	kz_conn *c = kz_store_acquire(app->store);
	(void)req;
	contact = kz_capture_visitor_contact(c, anon);
	kz_store_release(c);
	fields = kz_form_visible_fields(form, contact);
	json_decref(contact);
	snprintf(action, sizeof action, "%s/f/%" PRId64, app->base_url ? app->base_url : "", id);
	kz_token_form(id, kz_now_ms(), token, sizeof token);
	memset(&v, 0, sizeof v);
	v.form = form;
	v.fields = fields;
	v.lang = lang;
	v.action = action;
	v.token = token;
	v.values = values;
	v.errors = errors;
	v.anon_id = anon && *anon && strlen(anon) <= 128 ? anon : NULL;
	kz_render_form(b, &v);
	json_decref(fields);
}

/* Hidden fields filled from the page's query (UTM parameters, campaign ids). */
static json_t *query_values(kz_req *req, const json_t *form)
{
	json_t *values = json_object(), *f;
	size_t i;
	json_array_foreach(json_object_get(form, "fields"), i, f) {
		const char *name = json_string_value(json_object_get(f, "name"));
		const char *q;
		if (strcmp(json_string_value(json_object_get(f, "type")), "hidden"))
			continue;
		q = kz_req_query(req, name);
		if (q && *q && strlen(q) <= 1000)
			json_object_set_new(values, name, json_string(q));
	}
	return values;
}

static int serve_script(kz_req *req, kz_resp *resp, int64_t id)
{
	kz_app *app = req->app;
	json_t *form = NULL;
	kz_buf b;
	size_t len;
	char *body;
	if (load_form(req, resp, id, &form) < 0)
		return 0;
	json_decref(form);
	kz_buf_init(&b, 0);
	kz_render_embed_js(&b, id, app->base_url ? app->base_url : "");
	body = kz_buf_detach(&b, &len);
	kz_resp_header(resp, "Cache-Control", "public, max-age=300");
	kz_resp_header(resp, "Access-Control-Allow-Origin", "*");
	return kz_resp_text(resp, 200, "text/javascript; charset=utf-8", body, len);
}

static int serve_css(kz_resp *resp)
{
	kz_resp_header(resp, "Cache-Control", "public, max-age=3600");
	kz_resp_header(resp, "Access-Control-Allow-Origin", "*");
	return kz_resp_text(resp, 200, "text/css; charset=utf-8", strdup(kz_render_form_css()),
			    strlen(kz_render_form_css()));
}

static int show(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	const char *p = req->params[0], *format = kz_req_query(req, "format");
	const char *anon = kz_req_query(req, "vid"), *lang;
	char *end;
	long long id;
	json_t *form = NULL, *values;
	kz_buf b, page;
	if (!strcmp(p, "form.css"))
		return serve_css(resp);
	id = strtoll(p, &end, 10);
	if (end == p || id <= 0 || (*end && strcmp(end, ".js")))
		return kz_resp_errorf(resp, 404, "not_found", "id", "no such form");
	if (*end)
		return serve_script(req, resp, id);
	if (load_form(req, resp, id, &form) < 0)
		return 0;
	if (!anon)
		anon = kz_req_cookie(req, "kz_vid");
	lang = kz_form_lang(form, kz_req_query(req, "lang"), kz_req_header(req, "Accept-Language"));
	values = query_values(req, form);
	kz_buf_init(&b, 0);
	render_form(app, req, form, lang, anon, values, NULL, &b);
	json_decref(values);
	count_view(app, id);
	if (format && !strcmp(format, "fragment")) {
		json_decref(form);
		kz_resp_header(resp, "Access-Control-Allow-Origin", "*");
		return html_answer(resp, 200, &b);
	}
	kz_buf_init(&page, 0);
	kz_render_page(&page, lang, json_string_value(json_object_get(form, "name")), b.data);
	kz_buf_release(&b);
	json_decref(form);
	return html_answer(resp, 200, &page);
}

/* ---- the submission ---- */

static int wants_json(kz_req *req)
{
	const char *accept = kz_req_header(req, "Accept");
	const char *ctype = kz_req_header(req, "Content-Type");
	return (accept && strstr(accept, "application/json")) ||
	       (ctype && !strncmp(ctype, "application/json", 16));
}

static void log_spam(kz_app *app, int64_t form_id, const char *reason, const char *ip,
		     const char *ua, const json_t *values)
{
	kz_err err;
	kz_conn *c = kz_store_acquire(app->store);
	json_t *copy = json_deep_copy(values);
	json_object_del(copy, "_kz_t");
	if (kz_tx_begin(c, 1, &err) < 0 ||
	    kz_store_spam_insert(c, form_id, reason, ip, ua, copy, &err) < 0 ||
	    kz_tx_commit(c, &err) < 0) {
		kz_tx_rollback(c);
		kz_warn("form %" PRId64 ": the spam log entry was not written: %s", form_id,
			err.message);
	}
	json_decref(copy);
	kz_store_release(c);
}

static const char *success_message(const json_t *form, const char *lang)
{
	return kz_form_text(json_object_get(json_object_get(form, "success"), "message"), lang);
}

/* The answer to an accepted submission (or to spam that must not learn it was caught). */
static int accepted(kz_req *req, kz_resp *resp, const json_t *form, const char *lang,
		    int64_t asset_id, int64_t contact_id, int json)
{
	kz_app *app = req->app;
	const char *redirect = json_string_value(json_object_get(json_object_get(form, "success"),
								 "redirect"));
	char link[700], token[128];
	kz_buf b, page;
	if (asset_id) {
		kz_token_asset(asset_id, contact_id, kz_now_ms() + ASSET_LINK_MS, token, sizeof token);
		snprintf(link, sizeof link, "%s/a/%" PRId64 "?t=%s", app->base_url ? app->base_url : "",
			 asset_id, token);
	}
	if (json) {
		kz_resp_header(resp, "Access-Control-Allow-Origin", "*");
		return kz_resp_json(resp, 200,
				    json_pack("{s:b, s:s, s:s?, s:s?}", "ok", 1, "message",
					      success_message(form, lang), "redirect", redirect,
					      "download_url", asset_id ? link : NULL));
	}
	if (redirect) {
		kz_resp_header(resp, "Location", redirect);
		return kz_resp_empty(resp, 303);
	}
	kz_buf_init(&b, 0);
	kz_render_thanks(&b, success_message(form, lang), asset_id ? link : NULL, lang);
	kz_buf_init(&page, 0);
	kz_render_page(&page, lang, json_string_value(json_object_get(form, "name")), b.data);
	kz_buf_release(&b);
	return html_answer(resp, 200, &page);
}

/* Refused: per-field errors (JSON with a fresh token, or the form again with them inline). */
static int refused(kz_req *req, kz_resp *resp, const json_t *form, const char *lang, int status,
		   const char *code, const char *message, const json_t *values, json_t *errors,
		   int json)
{
	kz_app *app = req->app;
	int64_t id = json_integer_value(json_object_get(form, "id"));
	const char *first = json_string_value(json_object_get(json_array_get(errors, 0), "field"));
	char token[96];
	kz_buf b, page;
	if (json) {
		json_t *err = json_pack("{s:s, s:s}", "code", code, "message", message);
		json_object_set_new(err, "field", first ? json_string(first) : json_null());
		kz_token_form(id, kz_now_ms(), token, sizeof token);
		kz_resp_header(resp, "Access-Control-Allow-Origin", "*");
		return kz_resp_json(resp, status,
				    json_pack("{s:o, s:O, s:s}", "error", err, "errors",
					      errors ? errors : json_array(), "token", token));
	}
	kz_buf_init(&b, 0);
	if (!errors || !json_array_size(errors)) {
		kz_buf_adds(&b, "<p class=\"kz-error kz-form-error\" role=\"alert\">");
		kz_html_escape(&b, message);
		kz_buf_adds(&b, "</p>");
	}
	render_form(app, req, form, lang, kz_body_str(values, "_kz_vid"), values, errors, &b);
	kz_buf_init(&page, 0);
	kz_render_page(&page, lang, json_string_value(json_object_get(form, "name")), b.data);
	kz_buf_release(&b);
	return html_answer(resp, status, &page);
}

static const char *spam_text(const char *reason, const char *lang)
{
	int ja = !strcmp(lang, "ja");
	if (!strcmp(reason, "too_fast"))
		return ja ? "送信が早すぎました。内容を確認して、もう一度送信してください。"
			  : "That was sent too quickly. Check the form and send it again.";
	if (!strcmp(reason, "rate_limit"))
		return ja ? "送信が多すぎます。しばらくしてからもう一度お試しください。"
			  : "Too many submissions from your network. Try again in a minute.";
	return ja ? "フォームの有効期限が切れました。もう一度送信してください。"
		  : "This form has expired. Please send it again.";
}

static int submit(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	const char *ua = kz_req_header(req, "User-Agent"), *reason, *lang;
	json_t *form = NULL, *values = NULL;
	int json = wants_json(req);
	kz_submit_result r;
	kz_submit s;
	char ip[64], country[8];
	int64_t id, now = kz_now_ms();
	kz_err err;
	kz_conn *c;
	if (kz_req_id(req, 0, &id, resp) < 0 || load_form(req, resp, id, &form) < 0)
		return 0;
	if (kz_body_parse(kz_req_header(req, "Content-Type"), req->body.data, req->body.len, &values,
			  &err) < 0) {
		json_decref(form);
		kz_resp_header(resp, "Access-Control-Allow-Origin", "*");
		return kz_resp_error(resp, &err);
	}
	lang = kz_form_lang(form, kz_body_str(values, "_kz_lang"),
			    kz_req_header(req, "Accept-Language"));
	kz_api_client_ip(req, ip, sizeof ip);
	reason = kz_capture_spam_reason(form, values, now);
	if (!reason && kz_capture_rate_limited(form, ip, now))
		reason = "rate_limit";
	if (reason) {
		log_spam(app, id, reason, ip, ua, values);
		if (!strcmp(reason, "honeypot"))
			accepted(req, resp, form, lang, 0, 0, json); /* a bot learns nothing */
		else
			refused(req, resp, form, lang,
				!strcmp(reason, "rate_limit") ? 429
				: !strcmp(reason, "too_fast") ? 422
							      : 400,
				reason, spam_text(reason, lang), values, NULL, json);
		goto done;
	}
	memset(&s, 0, sizeof s);
	s.form = form;
	s.values = values;
	s.lang = lang;
	s.ip = ip;
	s.ua = ua;
	s.referer = kz_req_header(req, "Referer");
	s.now_ms = now;
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	kz_api_country(c, app, country, sizeof country);
	s.country = country;
	if (kz_capture_submit(c, &s, &r, &err) < 0) {
		kz_tx_rollback(c);
		kz_store_release(c);
		if (r.errors)
			refused(req, resp, form, lang, 422, "invalid_submission",
				!strcmp(lang, "ja") ? "入力内容に誤りがあります。"
						    : "Some fields need fixing.",
				values, r.errors, json);
		else
			kz_resp_error(resp, &err);
		kz_submit_result_release(&r);
		goto done;
	}
	if (kz_api_commit(c, resp) == 0) {
		c = kz_store_acquire(app->store);
		if (kz_capture_emit(c, &s, &r, &err) < 0)
			kz_warn("form %lld: submission %lld stored, its events not: %s",
				(long long)id, (long long)r.submission_id, err.message);
		kz_store_release(c);
		if (r.mails)
			kz_outbox_kick(app->outbox);
		if (r.alerts)
			kz_alerts_kick(app->alerts);
		if (r.enrolled && app->journeys)
			kz_journeys_kick(app->journeys);
		if (kz_capture_after(app->audience, &s, &r, &err) < 0)
			kz_warn("form %lld: submission %lld stored, an action failed: %s",
				(long long)id, (long long)r.submission_id, err.message);
		kz_page_conversion(req, resp, kz_body_str(values, "_kz_page")
						      ? kz_body_str(values, "_kz_page")
						      : s.referer);
		accepted(req, resp, form, lang, r.asset_id, r.contact_id, json);
	}
	kz_submit_result_release(&r);
done:
	json_decref(form);
	json_decref(values);
	return 0;
}

/* A script posting JSON from another origin asks first. */
static int preflight(kz_req *req, kz_resp *resp)
{
	(void)req;
	kz_resp_header(resp, "Access-Control-Allow-Origin", "*");
	kz_resp_header(resp, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
	kz_resp_header(resp, "Access-Control-Allow-Headers", "Content-Type, Accept");
	kz_resp_header(resp, "Access-Control-Max-Age", "86400");
	return kz_resp_empty(resp, 204);
}

void kz_api_public_forms_routes(kz_server *s)
{
	kz_server_route(s, "GET", "/f/{id}", KZ_ROLE_NONE, KZ_ROUTE_PUBLIC, show);
	kz_server_route(s, "POST", "/f/{id}", KZ_ROLE_NONE, KZ_ROUTE_PUBLIC, submit);
	kz_server_route(s, "OPTIONS", "/f/{id}", KZ_ROLE_NONE, KZ_ROUTE_PUBLIC, preflight);
}
