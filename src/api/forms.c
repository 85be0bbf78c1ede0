/* forms.c — /api/v1/forms: form definitions with their embed codes, submissions (JSON and
 * CSV), the spam log and the conversion rate. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "base/csv.h"
#include "base/timeutil.h"
#include "capture/form.h"
#include "capture/render.h"
#include "capture/token.h"

#include "base/banned.h"

/* The form plus "embed": {"url","script","html"}, the three ways to put it on a page. */
static json_t *with_embed(kz_app *app, json_t *form)
{
	int64_t id = json_integer_value(json_object_get(form, "id"));
	const char *base = app->base_url ? app->base_url : "";
	char url[600], token[96];
	kz_buf script, html;
	kz_form_view v;
	json_t *fields = kz_form_visible_fields(form, NULL);
	snprintf(url, sizeof url, "%s/f/%" PRId64, base, id);
	kz_buf_init(&script, 0);
	kz_buf_adds(&script, "<script src=\"");
	kz_html_escape(&script, url);
	kz_buf_adds(&script, ".js\" async></script>");
	/* The plain snippet carries a render token from now: it stays valid (a form pasted
	 * long ago is never "too fast"), and bots that post without it are caught. */
	kz_token_form(id, kz_now_ms(), token, sizeof token);
	memset(&v, 0, sizeof v);
	v.form = form;
	v.fields = fields;
	v.lang = kz_form_lang(form, NULL, NULL);
	v.action = url;
	v.token = token;
	kz_buf_init(&html, 0);
	kz_buf_adds(&html, "<link rel=\"stylesheet\" href=\"");
	kz_html_escape(&html, base);
	kz_buf_adds(&html, "/f/form.css\">\n");
	kz_render_form(&html, &v);
	json_object_set_new(form, "embed",
			    json_pack("{s:s, s:s, s:s}", "url", url, "script", script.data, "html",
				      html.data));
	kz_buf_release(&script);
	kz_buf_release(&html);
	json_decref(fields);
	return form;
}

/* What actions name must exist: deliver_asset an asset, add_to_list a static list,
 * send_autoresponse and notify an email, enroll_journey a journey. */
static int action_refs_exist(kz_conn *c, const json_t *def, kz_err *err)
{
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(def, "actions"), i, a) {
		const char *type = json_string_value(json_object_get(a, "type"));
		json_t *rec = NULL;
		const json_t *id;
		int rc = 0;
		const char *what = NULL;
		if ((id = json_object_get(a, "asset_id")) && json_is_integer(id)) {
			what = "asset";
			rc = kz_store_asset_get(c, json_integer_value(id), 0, &rec, err);
		} else if ((id = json_object_get(a, "list_id")) && json_is_integer(id)) {
			what = "list";
			rc = kz_store_segment_get(c, json_integer_value(id), &rec, err);
			if (rc == 0 && strcmp(json_string_value(json_object_get(rec, "type")), "static")) {
				json_decref(rec);
				return kz_err_set(err, 422, "invalid_field", "actions",
						  "add_to_list names segment %" PRId64
						  ", which is dynamic; choose a static list",
						  (int64_t)json_integer_value(id));
			}
		} else if ((id = json_object_get(a, "email_id")) && json_is_integer(id)) {
			what = "email";
			rc = kz_store_email_get(c, json_integer_value(id), &rec, err);
		} else if ((id = json_object_get(a, "journey_id")) && json_is_integer(id)) {
			what = "journey";
			rc = kz_store_journey_get(c, json_integer_value(id), &rec, err);
		}
		json_decref(rec);
		if (rc < 0) {
			if (err->status == 404)
				kz_err_set(err, 422, "invalid_field", "actions",
					   "%s names %s %" PRId64 ", which does not exist", type, what,
					   (int64_t)json_integer_value(id));
			return -1;
		}
	}
	return 0;
}

/* Apply `in` to form `id` (0: a new one) and answer the stored form. */
static int save(kz_req *req, kz_resp *resp, int64_t id)
{
	json_t *in = kz_req_json(req, resp), *def = NULL, *defs = NULL, *out = NULL;
	char *name = NULL;
	int created = id == 0;
	kz_conn *c;
	kz_err err;
	if (!in)
		return 0;
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	def = json_object();
	if (id) {
		json_t *cur = NULL;
		static const char *const keep[] = {"fields", "actions", "success", "settings", NULL};
		if (kz_store_form_get(c, id, &cur, &err) < 0) {
			kz_api_fail(c, resp, &err);
			goto done;
		}
		for (int i = 0; keep[i]; i++)
			json_object_set(def, keep[i], json_object_get(cur, keep[i]));
		name = strdup(json_string_value(json_object_get(cur, "name")));
		json_decref(cur);
	}
	if (kz_store_field_list(c, &defs, &err) < 0 ||
	    kz_form_apply(def, &name, in, id == 0, defs, &err) < 0 || action_refs_exist(c, def, &err) < 0 ||
	    kz_store_form_save(c, name, def, &id, &err) < 0 ||
	    kz_store_form_get(c, id, &out, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	with_embed(req->app, out);
	if (kz_api_done(c, resp, created ? 201 : 200, &out) == 0)
		kz_page_cache_flush(); /* landing pages embed forms */
done:
	free(name);
	json_decref(in);
	json_decref(def);
	json_decref(defs);
	json_decref(out);
	return 0;
}

static int create(kz_req *req, kz_resp *resp)
{
	return save(req, resp, 0);
}

/* The builder's live preview: the body as a form (validated like a save, nothing stored)
 * rendered in ?lang= (ja default): {"html": the form's markup, "css": the stylesheet}. */
static int preview(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *in = kz_req_json(req, resp), *def = NULL, *defs = NULL, *fields, *out;
	const char *lang = kz_req_query(req, "lang");
	char *name = NULL;
	kz_form_view v;
	kz_buf b;
	kz_conn *c;
	kz_err err;
	int rc;
	if (!in)
		return 0;
	def = json_object();
	c = kz_store_acquire(app->store);
	rc = kz_store_field_list(c, &defs, &err);
	kz_store_release(c);
	if (rc == 0)
		rc = kz_form_apply(def, &name, in, 1, defs, &err);
	json_decref(in);
	json_decref(defs);
	free(name);
	if (rc < 0) {
		json_decref(def);
		return kz_resp_error(resp, &err);
	}
	fields = kz_form_visible_fields(def, NULL);
	memset(&v, 0, sizeof v);
	v.form = def;
	v.fields = fields;
	v.lang = lang && !strcmp(lang, "en") ? "en" : "ja";
	v.action = "#";
	v.token = "preview";
	kz_buf_init(&b, 0);
	kz_render_form(&b, &v);
	out = json_pack("{s:s, s:s}", "html", b.data ? b.data : "", "css", kz_render_form_css());
	kz_buf_release(&b);
	json_decref(fields);
	json_decref(def);
	return kz_resp_json(resp, 200, out);
}

static int patch(kz_req *req, kz_resp *resp)
{
	int64_t id;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	return save(req, resp, id);
}

static int get_one(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *out = NULL;
	kz_conn *c;
	kz_err err;
	int64_t id;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	c = kz_store_acquire(app->store);
	if (kz_store_form_get(c, id, &out, &err) < 0) {
		kz_store_release(c);
		return kz_resp_error(resp, &err);
	}
	kz_store_release(c);
	return kz_resp_json(resp, 200, with_embed(app, out));
}

static int list(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *data = NULL, *f;
	size_t i;
	kz_err err;
	kz_conn *c = kz_store_acquire(app->store);
	int rc = kz_store_form_list(c, &data, &err);
	kz_store_release(c);
	if (rc < 0)
		return kz_resp_error(resp, &err);
	json_array_foreach(data, i, f)
		with_embed(app, f);
	return kz_resp_json(resp, 200, kz_api_page(data, NULL));
}

static int delete_one(kz_req *req, kz_resp *resp)
{
	return kz_api_delete(req, resp, kz_store_form_delete, kz_page_cache_flush);
}

/* A page of submissions or of the spam log of form {id}. */
static int log_page(kz_req *req, kz_resp *resp, int spam, json_t **data, char **next)
{
	kz_app *app = req->app;
	json_t *form = NULL;
	int64_t id;
	int limit, rc;
	kz_conn *c;
	kz_err err;
	*data = NULL;
	*next = NULL;
	if (kz_req_id(req, 0, &id, resp) < 0 || kz_api_limit(req, resp, &limit) < 0)
		return -1;
	c = kz_store_acquire(app->store);
	rc = kz_store_form_get(c, id, &form, &err);
	if (rc == 0)
		rc = spam ? kz_store_spam_list(c, id, kz_req_query(req, "cursor"), limit, data, next,
					       &err)
			  : kz_store_submission_list(c, id, 0, kz_req_query(req, "cursor"), limit,
						     data, next, &err);
	kz_store_release(c);
	json_decref(form);
	if (rc < 0) {
		kz_resp_error(resp, &err);
		return -1;
	}
	return 0;
}

static int submissions(kz_req *req, kz_resp *resp)
{
	json_t *data;
	char *next;
	if (log_page(req, resp, 0, &data, &next) < 0)
		return 0;
	return kz_resp_json(resp, 200, kz_api_page(data, next));
}

static int spam(kz_req *req, kz_resp *resp)
{
	json_t *data;
	char *next;
	if (log_page(req, resp, 1, &data, &next) < 0)
		return 0;
	return kz_resp_json(resp, 200, kz_api_page(data, next));
}

/* The newest webhook alerts of form {id}, with their delivery status. */
static int alerts(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *form = NULL, *data = NULL;
	int64_t id;
	int limit, rc;
	kz_conn *c;
	kz_err err;
	if (kz_req_id(req, 0, &id, resp) < 0 || kz_api_limit(req, resp, &limit) < 0)
		return 0;
	c = kz_store_acquire(app->store);
	rc = kz_store_form_get(c, id, &form, &err);
	if (rc == 0)
		rc = kz_store_alert_list(c, id, limit, &data, &err);
	kz_store_release(c);
	json_decref(form);
	if (rc < 0)
		return kz_resp_error(resp, &err);
	return kz_resp_json(resp, 200, kz_api_page(data, NULL));
}

static void csv_value(kz_buf *b, const json_t *v)
{
	char num[64];
	if (json_is_string(v)) {
		kz_csv_write_field(b, json_string_value(v));
	} else if (json_is_boolean(v)) {
		kz_csv_write_field(b, json_is_true(v) ? "true" : "false");
	} else if (json_is_integer(v)) {
		snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
		kz_csv_write_field(b, num);
	} else if (json_is_array(v)) {
		kz_buf joined;
		size_t i;
		json_t *e;
		kz_buf_init(&joined, 0);
		json_array_foreach(v, i, e) {
			if (i)
				kz_buf_addc(&joined, ';');
			kz_buf_adds(&joined, json_string_value(e));
		}
		kz_csv_write_field(b, joined.data);
		kz_buf_release(&joined);
	} else {
		kz_csv_write_field(b, "");
	}
}

static void csv_row(kz_buf *b, const json_t *form, const json_t *s)
{
	static const char *const utm[] = {"utm_source", "utm_medium", "utm_campaign", NULL};
	const json_t *data = json_object_get(s, "data"), *f, *consent = json_object_get(s, "consent");
	size_t i;
	csv_value(b, json_object_get(s, "id"));
	kz_buf_addc(b, ',');
	csv_value(b, json_object_get(s, "created_at"));
	kz_buf_addc(b, ',');
	csv_value(b, json_object_get(s, "contact_id"));
	json_array_foreach(json_object_get(form, "fields"), i, f) {
		kz_buf_addc(b, ',');
		csv_value(b, json_object_get(data, json_string_value(json_object_get(f, "name"))));
	}
	kz_buf_addc(b, ',');
	csv_value(b, json_object_get(s, "page_url"));
	kz_buf_addc(b, ',');
	csv_value(b, json_object_get(s, "referrer"));
	for (int k = 0; utm[k]; k++) {
		kz_buf_addc(b, ',');
		csv_value(b, json_object_get(json_object_get(s, "utm"), utm[k]));
	}
	kz_buf_addc(b, ',');
	csv_value(b, json_object_get(consent, "granted"));
	kz_buf_adds(b, "\r\n");
}

/* Every submission of a form as CSV (UTF-8 with a BOM, for Excel), newest first. */
static int export_csv(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *form = NULL, *page = NULL, *f;
	char *cursor = NULL, *next = NULL, disp[96];
	int64_t id;
	size_t i;
	kz_buf b;
	kz_conn *c;
	kz_err err;
	int rc;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	c = kz_store_acquire(app->store);
	rc = kz_store_form_get(c, id, &form, &err);
	kz_buf_init(&b, 0);
	kz_buf_adds(&b, "\xEF\xBB\xBFid,created_at,contact_id");
	json_array_foreach(json_object_get(form, "fields"), i, f) {
		kz_buf_addc(&b, ',');
		kz_csv_write_field(&b, json_string_value(json_object_get(f, "name")));
	}
	kz_buf_adds(&b, ",_page_url,_referrer,_utm_source,_utm_medium,_utm_campaign,_consent_granted\r\n");
	while (rc == 0) {
		json_t *s;
		rc = kz_store_submission_list(c, id, 0, cursor, 500, &page, &next, &err);
		if (rc < 0)
			break;
		json_array_foreach(page, i, s)
			csv_row(&b, form, s);
		json_decref(page);
		page = NULL;
		free(cursor);
		cursor = next;
		if (!next)
			break;
	}
	kz_store_release(c);
	free(cursor);
	json_decref(form);
	if (rc < 0) {
		kz_buf_release(&b);
		return kz_resp_error(resp, &err);
	}
	if (b.overflow) {
		kz_buf_release(&b);
		return kz_resp_errorf(resp, 413, "too_large", NULL,
				      "the export is too large for one file; page through "
				      "/submissions instead");
	}
	snprintf(disp, sizeof disp, "attachment; filename=\"form-%" PRId64 "-submissions.csv\"", id);
	kz_resp_header(resp, "Content-Disposition", disp);
	{
		size_t len;
		char *body = kz_buf_detach(&b, &len);
		return kz_resp_text(resp, 200, "text/csv; charset=utf-8", body, len);
	}
}

void kz_api_forms_routes(kz_server *s)
{
	kz_server_route(s, "POST", "/api/v1/forms", KZ_ROLE_MARKETER, 0, create);
	kz_server_route(s, "POST", "/api/v1/forms/preview", KZ_ROLE_VIEWER, 0, preview);
	kz_server_route(s, "GET", "/api/v1/forms", KZ_ROLE_VIEWER, 0, list);
	kz_server_route(s, "GET", "/api/v1/forms/{id}", KZ_ROLE_VIEWER, 0, get_one);
	kz_server_route(s, "PATCH", "/api/v1/forms/{id}", KZ_ROLE_MARKETER, 0, patch);
	kz_server_route(s, "DELETE", "/api/v1/forms/{id}", KZ_ROLE_MARKETER, 0, delete_one);
	kz_server_route(s, "GET", "/api/v1/forms/{id}/submissions", KZ_ROLE_VIEWER, 0, submissions);
	kz_server_route(s, "GET", "/api/v1/forms/{id}/submissions.csv", KZ_ROLE_VIEWER, 0,
			export_csv);
	kz_server_route(s, "GET", "/api/v1/forms/{id}/spam", KZ_ROLE_VIEWER, 0, spam);
	kz_server_route(s, "GET", "/api/v1/forms/{id}/alerts", KZ_ROLE_VIEWER, 0, alerts);
}
