/* fields.c — /api/v1/fields: custom field definitions (key, label, type, options). */
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "model/records.h"

#include "base/banned.h"

static int create(kz_req *req, kz_resp *resp)
{
	json_t *in = kz_req_json(req, resp), *rec = NULL, *out = NULL;
	kz_conn *c;
	kz_err err;
	int64_t id = 0;
	if (!in)
		return 0;
	rec = json_object();
	if (kz_fielddef_apply(rec, in, 1, &err) < 0) {
		kz_resp_error(resp, &err);
		goto done;
	}
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	if (kz_store_field_save(c, rec, &id, &err) < 0 ||
	    kz_store_field_get(c, json_string_value(json_object_get(rec, "key")), &out, &err) < 0) {
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

static int list(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *data = NULL;
	kz_conn *c = kz_store_acquire(app->store);
	kz_err err;
	if (kz_store_field_list(c, &data, &err) < 0)
		kz_resp_error(resp, &err);
	else
		kz_resp_json(resp, 200, json_pack("{s:o}", "data", data));
	kz_store_release(c);
	return 0;
}

static int get_one(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *out = NULL;
	kz_conn *c = kz_store_acquire(app->store);
	kz_err err;
	if (kz_store_field_get(c, req->params[0], &out, &err) < 0)
		kz_resp_error(resp, &err);
	else
		kz_resp_json(resp, 200, out);
	kz_store_release(c);
	return 0;
}

static int patch(kz_req *req, kz_resp *resp)
{
	json_t *in = kz_req_json(req, resp), *rec = NULL, *out = NULL;
	kz_conn *c;
	kz_err err;
	int64_t id;
	if (!in)
		return 0;
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	if (kz_store_field_get(c, req->params[0], &rec, &err) < 0 ||
	    kz_fielddef_apply(rec, in, 0, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	id = json_integer_value(json_object_get(rec, "id"));
	if (kz_store_field_save(c, rec, &id, &err) < 0 ||
	    kz_store_field_get(c, req->params[0], &out, &err) < 0) {
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
	kz_conn *c = kz_api_begin(req, resp, 1);
	kz_err err;
	if (!c)
		return 0;
	/* Values already stored on contacts stay in their documents (visible in exports);
	 * they are no longer validated or shown as a column. */
	if (kz_store_field_delete(c, req->params[0], &err) < 0)
		return kz_api_fail(c, resp, &err);
	if (kz_api_commit(c, resp) == 0)
		kz_resp_empty(resp, 204);
	return 0;
}

void kz_api_fields_routes(kz_server *s)
{
	kz_server_route(s, "POST", "/api/v1/fields", KZ_ROLE_MARKETER, 0, create);
	kz_server_route(s, "GET", "/api/v1/fields", KZ_ROLE_VIEWER, 0, list);
	kz_server_route(s, "GET", "/api/v1/fields/{key}", KZ_ROLE_VIEWER, 0, get_one);
	kz_server_route(s, "PATCH", "/api/v1/fields/{key}", KZ_ROLE_MARKETER, 0, patch);
	kz_server_route(s, "DELETE", "/api/v1/fields/{key}", KZ_ROLE_MARKETER, 0, delete_one);
}
