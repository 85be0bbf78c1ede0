/* sites.c — /api/v1/sites: tracked web sites, each with the embed snippet to paste. */
#include <stdlib.h>

#include "api/app.h"
#include "model/site.h"
#include "track/sites.h"

#include "base/banned.h"

/* The record as answered: the stored site plus its snippet. */
static json_t *with_snippet(kz_app *app, json_t *site)
{
	char *snippet = kz_site_snippet(site, app->base_url);
	json_object_set_new(site, "snippet", snippet ? json_string(snippet) : json_null());
	free(snippet);
	return site;
}

static int create(kz_req *req, kz_resp *resp)
{
	json_t *in = kz_req_json(req, resp), *rec = NULL, *out = NULL;
	kz_conn *c;
	kz_err err;
	int64_t id = 0;
	if (!in)
		return 0;
	rec = json_object();
	if (kz_site_apply(rec, in, 1, &err) < 0) {
		kz_resp_error(resp, &err);
		goto done;
	}
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	if (kz_store_site_save(c, rec, &id, &err) < 0 || kz_store_site_get(c, id, &out, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	with_snippet(req->app, out);
	if (kz_api_done(c, resp, 201, &out) == 0)
		kz_track_sites_flush();
done:
	json_decref(in);
	json_decref(rec);
	json_decref(out);
	return 0;
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
	if (kz_store_site_get(c, id, &out, &err) < 0) {
		kz_store_release(c);
		return kz_resp_error(resp, &err);
	}
	kz_store_release(c);
	return kz_resp_json(resp, 200, with_snippet(app, out));
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
	if (kz_store_site_get(c, id, &rec, &err) < 0 || kz_site_apply(rec, in, 0, &err) < 0 ||
	    kz_store_site_save(c, rec, &id, &err) < 0 || kz_store_site_get(c, id, &out, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	with_snippet(req->app, out);
	if (kz_api_done(c, resp, 200, &out) == 0)
		kz_track_sites_flush();
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
	if (kz_store_site_delete(c, id, &err) < 0)
		return kz_api_fail(c, resp, &err);
	if (kz_api_commit(c, resp) == 0) {
		kz_track_sites_flush();
		kz_resp_empty(resp, 204);
	}
	return 0;
}

static int list(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *data = NULL, *site;
	size_t i;
	kz_conn *c;
	kz_err err;
	int rc;
	c = kz_store_acquire(app->store);
	rc = kz_store_site_list(c, &data, &err);
	kz_store_release(c);
	if (rc < 0)
		return kz_resp_error(resp, &err);
	json_array_foreach(data, i, site)
		with_snippet(app, site);
	return kz_resp_json(resp, 200, kz_api_page(data, NULL));
}

void kz_api_sites_routes(kz_server *s)
{
	kz_server_route(s, "POST", "/api/v1/sites", KZ_ROLE_MARKETER, 0, create);
	kz_server_route(s, "GET", "/api/v1/sites", KZ_ROLE_VIEWER, 0, list);
	kz_server_route(s, "GET", "/api/v1/sites/{id}", KZ_ROLE_VIEWER, 0, get_one);
	kz_server_route(s, "PATCH", "/api/v1/sites/{id}", KZ_ROLE_MARKETER, 0, patch);
	kz_server_route(s, "DELETE", "/api/v1/sites/{id}", KZ_ROLE_MARKETER, 0, delete_one);
}
