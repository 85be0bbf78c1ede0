/* assets.c — /api/v1/assets: upload (the file is the body; type and size checked), list,
 * rename or gate, delete. The content itself is served at /a/{id} (public_assets.c). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "base/crypto.h"
#include "capture/asset.h"

#include "base/banned.h"

static json_t *with_url(kz_app *app, json_t *a)
{
	char url[600];
	snprintf(url, sizeof url, "%s/a/%" PRId64, app->base_url ? app->base_url : "",
		 (int64_t)json_integer_value(json_object_get(a, "id")));
	json_object_set_new(a, "url", json_string(url));
	return a;
}

static int gated_param(kz_req *req, int *gated, kz_resp *resp)
{
	const char *g = kz_req_query(req, "gated");
	*gated = 1;
	if (!g)
		return 0;
	if (!strcmp(g, "true") || !strcmp(g, "1"))
		return 0;
	if (!strcmp(g, "false") || !strcmp(g, "0")) {
		*gated = 0;
		return 0;
	}
	kz_resp_errorf(resp, 400, "invalid_parameter", "gated", "gated must be true or false");
	return -1;
}

static int upload(kz_req *req, kz_resp *resp)
{
	const char *name = kz_req_query(req, "name"), *filename = kz_req_query(req, "filename");
	char mime[128], sha[65];
	char *b64 = NULL, *safe = NULL;
	json_t *rec = NULL, *out = NULL;
	int64_t id = 0;
	int gated;
	kz_conn *c;
	kz_err err;
	if (gated_param(req, &gated, resp) < 0)
		return 0;
	if (kz_asset_check(kz_req_header(req, "Content-Type"), req->body.data, req->body.len, mime,
			   sizeof mime, &err) < 0)
		return kz_resp_error(resp, &err);
	if (!filename || !*filename)
		filename = name;
	if (!name || !*name)
		name = filename;
	if (!name || !*name || strlen(name) > 200)
		return kz_resp_errorf(resp, 422, "invalid_field", "name",
				      "give the asset a name (?name=, 1 to 200 bytes)");
	safe = kz_asset_safe_filename(filename, mime);
	kz_sha256_hex(req->body.data, req->body.len, sha);
	b64 = kz_asset_encode(req->body.data, req->body.len);
	rec = json_pack("{s:s, s:s, s:s, s:I, s:s, s:b}", "name", name, "filename", safe,
			"content_type", mime, "size", (json_int_t)req->body.len, "sha256", sha,
			"gated", gated);
	if (!b64 || !rec || !safe) {
		kz_resp_errorf(resp, 500, "internal", NULL, "out of memory");
		goto done;
	}
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	if (kz_store_asset_insert(c, rec, b64, &id, &err) < 0 ||
	    kz_store_asset_get(c, id, 0, &out, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	with_url(req->app, out);
	kz_api_done(c, resp, 201, &out);
done:
	free(b64);
	free(safe);
	json_decref(rec);
	json_decref(out);
	return 0;
}

static int get_one(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *out = NULL;
	int64_t id;
	kz_err err;
	kz_conn *c;
	int rc;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	c = kz_store_acquire(app->store);
	rc = kz_store_asset_get(c, id, 0, &out, &err);
	kz_store_release(c);
	if (rc < 0)
		return kz_resp_error(resp, &err);
	return kz_resp_json(resp, 200, with_url(app, out));
}

static int list(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *data = NULL, *a;
	size_t i;
	kz_err err;
	kz_conn *c = kz_store_acquire(app->store);
	int rc = kz_store_asset_list(c, &data, &err);
	kz_store_release(c);
	if (rc < 0)
		return kz_resp_error(resp, &err);
	json_array_foreach(data, i, a)
		with_url(app, a);
	return kz_resp_json(resp, 200, kz_api_page(data, NULL));
}

static int patch(kz_req *req, kz_resp *resp)
{
	json_t *in, *cur = NULL, *out = NULL, *v;
	const char *k, *name;
	int64_t id;
	kz_conn *c;
	kz_err err;
	int gated;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	in = kz_req_json(req, resp);
	if (!in)
		return 0;
	json_object_foreach(in, k, v) {
		if (strcmp(k, "name") && strcmp(k, "gated")) {
			kz_resp_errorf(resp, 422, "unknown_field", k,
				       "only name and gated can change; upload a new asset for a new "
				       "file");
			goto out;
		}
	}
	v = json_object_get(in, "name");
	if (v && (!json_is_string(v) || !json_string_length(v) || json_string_length(v) > 200)) {
		kz_resp_errorf(resp, 422, "invalid_field", "name", "name must be 1 to 200 bytes");
		goto out;
	}
	v = json_object_get(in, "gated");
	if (v && !json_is_boolean(v)) {
		kz_resp_errorf(resp, 422, "invalid_field", "gated", "gated must be true or false");
		goto out;
	}
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto out;
	if (kz_store_asset_get(c, id, 0, &cur, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto out;
	}
	name = json_object_get(in, "name") ? json_string_value(json_object_get(in, "name"))
					   : json_string_value(json_object_get(cur, "name"));
	gated = json_is_true(json_object_get(json_object_get(in, "gated") ? in : cur, "gated"));
	if (kz_store_asset_update(c, id, name, gated, &err) < 0 ||
	    kz_store_asset_get(c, id, 0, &out, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto out;
	}
	with_url(req->app, out);
	kz_api_done(c, resp, 200, &out);
out:
	json_decref(in);
	json_decref(cur);
	json_decref(out);
	return 0;
}

static int delete_one(kz_req *req, kz_resp *resp)
{
	return kz_api_delete(req, resp, kz_store_asset_delete, NULL);
}

void kz_api_assets_routes(kz_server *s)
{
	kz_server_route(s, "POST", "/api/v1/assets", KZ_ROLE_MARKETER, KZ_ROUTE_RAW_BODY, upload);
	kz_server_route(s, "GET", "/api/v1/assets", KZ_ROLE_VIEWER, 0, list);
	kz_server_route(s, "GET", "/api/v1/assets/{id}", KZ_ROLE_VIEWER, 0, get_one);
	kz_server_route(s, "PATCH", "/api/v1/assets/{id}", KZ_ROLE_MARKETER, 0, patch);
	kz_server_route(s, "DELETE", "/api/v1/assets/{id}", KZ_ROLE_MARKETER, 0, delete_one);
}
