/* emails.c — /api/v1/emails: templated messages, previews for a contact, test sends, stats,
 * the outbox rows of an email or a broadcast, and /api/v1/outbox (where mails go). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "base/cleanse.h"
#include "base/crypto.h"
#include "base/timeutil.h"
#include "channel/message.h"
#include "channel/outbox.h"
#include "model/records.h"

#include "base/banned.h"

#define MAX_TEST_RECIPIENTS 10

/* {"template_id": N, ...}: the template's subject, preheader, html, text and blocks, under
 * the members given (which win). *in is replaced. */
static int from_template(kz_conn *c, json_t **in, kz_err *err)
{
	json_t *id = json_object_get(*in, "template_id"), *tpl = NULL, *merged;
	if (!json_is_integer(id) || json_integer_value(id) <= 0)
		return kz_err_set(err, 422, "invalid_field", "template_id",
				  "template_id must be a saved template's id");
	if (kz_store_template_get(c, json_integer_value(id), &tpl, err) < 0) {
		if (err->status == 404)
			kz_err_set(err, 422, "invalid_field", "template_id",
				   "no email template with id %lld", (long long)json_integer_value(id));
		return -1;
	}
	merged = kz_email_from_template(tpl);
	json_decref(tpl);
	if (!json_string_length(json_object_get(merged, "subject")))
		json_object_del(merged, "subject");
	json_object_update(merged, *in);
	json_object_del(merged, "template_id");
	json_decref(*in);
	*in = merged;
	return 0;
}

static int create(kz_req *req, kz_resp *resp)
{
	json_t *in = kz_req_json(req, resp), *rec = NULL, *out = NULL;
	kz_conn *c;
	kz_err err;
	int64_t id = 0;
	if (!in)
		return 0;
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	if (json_object_get(in, "template_id") && from_template(c, &in, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	rec = json_object();
	if (kz_email_apply(rec, in, 1, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	if (kz_store_email_save(c, rec, &id, &err) < 0 || kz_store_email_get(c, id, &out, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	kz_api_done(c, resp, 201, &out);
done:
	json_decref(in);
	json_decref(rec);
	json_decref(out);
	return 0;
}

static int get_one(kz_req *req, kz_resp *resp)
{
	return kz_api_get(req, resp, kz_store_email_get);
}

static int patch(kz_req *req, kz_resp *resp)
{
	json_t *in, *rec = NULL, *out = NULL;
	kz_conn *c;
	kz_err err;
	int64_t id;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	in = kz_req_json(req, resp);
	if (!in)
		return 0;
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	if (kz_store_email_get(c, id, &rec, &err) < 0 || kz_email_apply(rec, in, 0, &err) < 0 ||
	    kz_store_email_save(c, rec, &id, &err) < 0 || kz_store_email_get(c, id, &out, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	kz_api_done(c, resp, 200, &out);
done:
	json_decref(in);
	json_decref(rec);
	json_decref(out);
	return 0;
}

static int delete_one(kz_req *req, kz_resp *resp)
{
	int64_t id;
	kz_conn *c;
	kz_err err;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	c = kz_api_begin(req, resp, 1);
	if (!c)
		return 0;
	if (kz_store_email_delete(c, id, &err) < 0)
		return kz_api_fail(c, resp, &err);
	if (kz_api_commit(c, resp) == 0)
		kz_resp_empty(resp, 204);
	return 0;
}

static int list(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *data = NULL;
	kz_conn *c = kz_store_acquire(app->store);
	kz_err err;
	int rc = kz_store_email_list(c, &data, &err);
	kz_store_release(c);
	if (rc < 0)
		return kz_resp_error(resp, &err);
	return kz_resp_json(resp, 200, kz_api_page(data, NULL));
}

/* contact_id from the body: absent/null → 0 (a sample person). */
static int body_contact(const json_t *in, int64_t *cid, kz_resp *resp)
{
	json_t *v = json_object_get(in, "contact_id");
	*cid = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) <= 0) {
		kz_resp_errorf(resp, 422, "invalid_field", "contact_id",
			       "contact_id must be a contact's id");
		return -1;
	}
	*cid = json_integer_value(v);
	return 0;
}

static int preview(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *in, *email = NULL, *vars = NULL, *settings = NULL;
	kz_conn *c;
	kz_err err;
	kz_rendered r;
	kz_render_opts o;
	char secret[65];
	int64_t id, cid;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	in = kz_req_json(req, resp);
	if (!in)
		return 0;
	if (body_contact(in, &cid, resp) < 0)
		goto done;
	c = kz_store_acquire(app->store);
	if (kz_store_email_get(c, id, &email, &err) < 0 ||
	    kz_settings_load(c, app->default_country, &settings, &err) < 0 ||
	    kz_email_secret(c, secret, &err) < 0 || !(vars = kz_email_vars(c, email, cid, &err))) {
		kz_store_release(c);
		kz_resp_error(resp, &err);
		goto done;
	}
	kz_store_release(c);
	/* unsaved edits may be previewed: {"draft": {...}} overrides the stored fields */
	if (json_is_object(json_object_get(in, "draft"))) {
		json_t *draft = json_deep_copy(email);
		if (kz_email_apply(draft, json_object_get(in, "draft"), 0, &err) < 0) {
			json_decref(draft);
			kz_resp_error(resp, &err);
			goto done;
		}
		json_object_set_new(draft, "id", json_integer(0)); /* never cached */
		json_decref(email);
		email = draft;
	}
	memset(&o, 0, sizeof o);
	o.base_url = app->base_url;
	o.secret = secret;
	o.contact_id = cid;
	o.settings = settings;
	if (kz_email_render(email, vars, &o, &r, &err) < 0) {
		kz_resp_error(resp, &err);
		goto done;
	}
	kz_resp_json(resp, 200,
		     json_pack("{sssssssb}", "subject", r.subject, "html", r.html, "text", r.text,
			       "footer_missing", kz_email_footer_missing(settings)));
	kz_rendered_release(&r);
done:
	json_decref(in);
	json_decref(email);
	json_decref(vars);
	json_decref(settings);
	return 0;
}

static int test_send(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *in, *to, *v, *email = NULL, *ids = json_array(), *settings = NULL;
	kz_conn *c;
	kz_err err;
	size_t i;
	int64_t id, cid, now = kz_now_ms();
	if (kz_req_id(req, 0, &id, resp) < 0)
		goto out;
	in = kz_req_json(req, resp);
	if (!in)
		goto out;
	to = json_object_get(in, "to");
	if (!json_is_array(to) || !json_array_size(to) ||
	    json_array_size(to) > MAX_TEST_RECIPIENTS) {
		kz_resp_errorf(resp, 422, "invalid_field", "to",
			       "to must list 1 to %d email addresses", MAX_TEST_RECIPIENTS);
		goto done;
	}
	if (body_contact(in, &cid, resp) < 0)
		goto done;
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	if (kz_store_email_get(c, id, &email, &err) < 0 ||
	    kz_settings_load(c, app->default_country, &settings, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	if (kz_email_footer_missing(settings)) {
		kz_err_set(&err, 422, "footer_required", "company_name",
			   "set company_name and company_address in Settings first: the sender "
			   "identity footer is required (特定電子メール法)");
		kz_api_fail(c, resp, &err);
		goto done;
	}
	json_array_foreach(to, i, v) {
		char *clean = NULL, dedupe[48], rnd[17];
		int64_t sid;
		kz_send_row s;
		if (!json_is_string(v) || kz_clean_email(json_string_value(v), &clean) < 0) {
			kz_err_set(&err, 422, "invalid_field", "to", "to[%zu] is not an email address",
				   i);
			kz_api_fail(c, resp, &err);
			goto done;
		}
		kz_random_hex(rnd, 8);
		snprintf(dedupe, sizeof dedupe, "t%s", rnd);
		memset(&s, 0, sizeof s);
		s.contact_id = cid;
		s.email_id = id;
		s.kind = "test";
		s.dedupe = dedupe;
		s.to_email = clean;
		s.status = "queued";
		s.next_at = now;
		s.created_at = now;
		if (kz_store_send_insert(c, &s, &sid, &err) < 0) {
			free(clean);
			kz_api_fail(c, resp, &err);
			goto done;
		}
		free(clean);
		json_array_append_new(ids, json_integer(sid));
	}
	{
		json_t *outj = json_pack("{sO}", "send_ids", ids);
		if (kz_api_done(c, resp, 202, &outj) == 0)
			kz_outbox_kick(app->outbox);
		json_decref(outj);
	}
done:
	json_decref(in);
out:
	json_decref(email);
	json_decref(settings);
	json_decref(ids);
	return 0;
}

static int stats(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *out = NULL, *email = NULL;
	kz_conn *c;
	kz_err err;
	int64_t id;
	int rc;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	c = kz_store_acquire(app->store);
	rc = kz_store_email_get(c, id, &email, &err);
	if (rc == 0)
		rc = kz_store_email_stats(c, "email", id, &out, &err);
	kz_store_release(c);
	json_decref(email);
	if (rc < 0)
		return kz_resp_error(resp, &err);
	return kz_resp_json(resp, 200, out);
}

static int sends(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *data = NULL;
	kz_conn *c;
	kz_err err;
	int64_t id;
	int limit, rc;
	if (kz_req_id(req, 0, &id, resp) < 0 || kz_api_limit(req, resp, &limit) < 0)
		return 0;
	c = kz_store_acquire(app->store);
	/* the outbox rows of an email or of a broadcast: one handler for both routes */
	if (!strncmp(req->route, "/api/v1/broadcasts/", 19))
		rc = kz_store_send_list(c, 0, id, 0, kz_req_query(req, "status"), limit, &data, &err);
	else
		rc = kz_store_send_list(c, id, 0, 0, kz_req_query(req, "status"), limit, &data, &err);
	kz_store_release(c);
	if (rc < 0)
		return kz_resp_error(resp, &err);
	return kz_resp_json(resp, 200, kz_api_page(data, NULL));
}

static int outbox(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *out;
	if (!app->outbox)
		return kz_resp_errorf(resp, 503, "unavailable", NULL,
				      "this server does not send email");
	out = kz_outbox_describe(app->outbox);
	return kz_resp_json(resp, 200, out);
}

void kz_api_emails_routes(kz_server *s)
{
	kz_server_route(s, "POST", "/api/v1/emails", KZ_ROLE_MARKETER, 0, create);
	kz_server_route(s, "GET", "/api/v1/emails", KZ_ROLE_VIEWER, 0, list);
	kz_server_route(s, "GET", "/api/v1/emails/{id}", KZ_ROLE_VIEWER, 0, get_one);
	kz_server_route(s, "PATCH", "/api/v1/emails/{id}", KZ_ROLE_MARKETER, 0, patch);
	kz_server_route(s, "DELETE", "/api/v1/emails/{id}", KZ_ROLE_MARKETER, 0, delete_one);
	kz_server_route(s, "POST", "/api/v1/emails/{id}/preview", KZ_ROLE_VIEWER, 0, preview);
	kz_server_route(s, "POST", "/api/v1/emails/{id}/test", KZ_ROLE_MARKETER, 0, test_send);
	kz_server_route(s, "GET", "/api/v1/emails/{id}/stats", KZ_ROLE_VIEWER, 0, stats);
	kz_server_route(s, "GET", "/api/v1/emails/{id}/sends", KZ_ROLE_VIEWER, 0, sends);
	kz_server_route(s, "GET", "/api/v1/broadcasts/{id}/sends", KZ_ROLE_VIEWER, 0, sends);
	kz_server_route(s, "GET", "/api/v1/outbox", KZ_ROLE_VIEWER, 0, outbox);
}
