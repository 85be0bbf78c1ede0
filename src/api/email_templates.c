/* email_templates.c — /api/v1/email-templates: saved layouts and starting points an email is
 * made from (POST /api/v1/emails {"template_id"}), saved by hand or from an email. */
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "channel/message.h"

#include "base/banned.h"

static int list(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *data = NULL;
	kz_conn *c = kz_store_acquire(app->store);
	kz_err err;
	int rc = kz_store_template_list(c, &data, &err);
	kz_store_release(c);
	if (rc < 0)
		return kz_resp_error(resp, &err);
	return kz_resp_json(resp, 200, kz_api_page(data, NULL));
}

static int get_one(kz_req *req, kz_resp *resp)
{
	return kz_api_get(req, resp, kz_store_template_get);
}

/* POST: the members, or {"name", "from_email_id": N} to keep an email's content as a template
 * (members given beside it win). */
static int create(kz_req *req, kz_resp *resp)
{
	json_t *in = kz_req_json(req, resp), *rec = NULL, *out = NULL, *src = NULL, *from;
	kz_conn *c;
	kz_err err;
	int64_t id = 0;
	if (!in)
		return 0;
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	from = json_object_get(in, "from_email_id");
	if (from) {
		json_t *email = NULL;
		if (!json_is_integer(from) || json_integer_value(from) <= 0) {
			kz_err_set(&err, 422, "invalid_field", "from_email_id",
				   "from_email_id must be an email's id");
			goto fail;
		}
		if (kz_store_email_get(c, json_integer_value(from), &email, &err) < 0) {
			if (err.status == 404)
				kz_err_set(&err, 422, "invalid_field", "from_email_id",
					   "no email with id %lld", (long long)json_integer_value(from));
			goto fail;
		}
		src = kz_email_from_template(email);
		json_decref(email);
		json_object_update(src, in);
		json_object_del(src, "from_email_id");
	} else {
		src = json_incref(in);
	}
	rec = json_object();
	if (kz_email_template_apply(rec, src, 1, &err) < 0 ||
	    kz_store_template_save(c, rec, &id, &err) < 0 ||
	    kz_store_template_get(c, id, &out, &err) < 0)
		goto fail;
	kz_api_done(c, resp, 201, &out);
	goto done;
fail:
	kz_api_fail(c, resp, &err);
done:
	json_decref(in);
	json_decref(src);
	json_decref(rec);
	json_decref(out);
	return 0;
}

static int update(kz_req *req, kz_resp *resp)
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
	if (kz_store_template_get(c, id, &rec, &err) < 0 ||
	    kz_email_template_apply(rec, in, 0, &err) < 0 ||
	    kz_store_template_save(c, rec, &id, &err) < 0 ||
	    kz_store_template_get(c, id, &out, &err) < 0) {
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

static int remove_one(kz_req *req, kz_resp *resp)
{
	kz_conn *c;
	kz_err err;
	int64_t id;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	c = kz_api_begin(req, resp, 1);
	if (!c)
		return 0;
	if (kz_store_template_delete(c, id, &err) < 0)
		return kz_api_fail(c, resp, &err);
	if (kz_api_commit(c, resp) < 0)
		return 0;
	return kz_resp_empty(resp, 204);
}

void kz_api_email_templates_routes(kz_server *s)
{
	kz_server_route(s, "GET", "/api/v1/email-templates", KZ_ROLE_VIEWER, 0, list);
	kz_server_route(s, "POST", "/api/v1/email-templates", KZ_ROLE_MARKETER, 0, create);
	kz_server_route(s, "GET", "/api/v1/email-templates/{id}", KZ_ROLE_VIEWER, 0, get_one);
	kz_server_route(s, "PATCH", "/api/v1/email-templates/{id}", KZ_ROLE_MARKETER, 0, update);
	kz_server_route(s, "DELETE", "/api/v1/email-templates/{id}", KZ_ROLE_MARKETER, 0,
			remove_one);
}
