/* companies.c — /api/v1/companies: create, read, update, delete, list with q. */
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "base/cleanse.h"
#include "model/contact.h"
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
	if (kz_company_apply(rec, in, 1, &err) < 0) {
		kz_resp_error(resp, &err);
		goto done;
	}
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	if (kz_store_company_save(c, rec, &id, &err) < 0 ||
	    kz_store_company_get(c, id, &out, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	kz_company_changed(c, id, 0);
	kz_api_done(c, resp, 201, &out);
done:
	json_decref(in);
	json_decref(rec);
	json_decref(out);
	return 0;
}

static int get_one(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	int64_t id;
	json_t *out = NULL;
	kz_conn *c;
	kz_err err;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	c = kz_store_acquire(app->store);
	if (kz_store_company_get(c, id, &out, &err) < 0) {
		kz_store_release(c);
		return kz_resp_error(resp, &err);
	}
	kz_store_release(c);
	return kz_resp_json(resp, 200, out);
}

static int patch(kz_req *req, kz_resp *resp)
{
	int64_t id;
	json_t *in, *rec = NULL, *out = NULL;
	kz_conn *c;
	kz_err err;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	in = kz_req_json(req, resp);
	if (!in)
		return 0;
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	if (kz_store_company_get(c, id, &rec, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	{
		/* name_fold is not part of the read record: derive it again */
		json_t *name = json_object_get(rec, "name");
		char *fold = kz_fold_search(json_string_value(name) ? json_string_value(name) : "");
		json_object_set_new(rec, "name_fold", json_string(fold ? fold : ""));
		free(fold);
	}
	if (kz_company_apply(rec, in, 0, &err) < 0 || kz_store_company_save(c, rec, &id, &err) < 0 ||
	    kz_store_company_get(c, id, &out, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	kz_company_changed(c, id, 0); /* contacts filtered on company.* follow the change */
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
	if (kz_store_company_delete(c, id, &err) < 0)
		return kz_api_fail(c, resp, &err);
	kz_company_changed(c, id, 1);
	if (kz_api_commit(c, resp) == 0)
		kz_resp_empty(resp, 204);
	return 0;
}

static int list(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *data = NULL;
	char *cursor = NULL, *fold = NULL;
	const char *q = kz_req_query(req, "q");
	int limit;
	kz_conn *c;
	kz_err err;
	if (kz_api_limit(req, resp, &limit) < 0)
		return 0;
	if (q && *q && !(fold = kz_fold_search(q)))
		return kz_resp_errorf(resp, 400, "invalid_parameter", "q", "q must be valid UTF-8");
	c = kz_store_acquire(app->store);
	if (kz_store_company_list(c, fold, kz_req_query(req, "cursor"), limit, &data, &cursor,
				  &err) < 0)
		kz_resp_error(resp, &err);
	else
		kz_resp_json(resp, 200, kz_api_page(data, cursor));
	kz_store_release(c);
	free(fold);
	return 0;
}

void kz_api_companies_routes(kz_server *s)
{
	kz_server_route(s, "POST", "/api/v1/companies", KZ_ROLE_SALES, 0, create);
	kz_server_route(s, "GET", "/api/v1/companies", KZ_ROLE_VIEWER, 0, list);
	kz_server_route(s, "GET", "/api/v1/companies/{id}", KZ_ROLE_VIEWER, 0, get_one);
	kz_server_route(s, "PATCH", "/api/v1/companies/{id}", KZ_ROLE_SALES, 0, patch);
	kz_server_route(s, "DELETE", "/api/v1/companies/{id}", KZ_ROLE_SALES, 0, delete_one);
}
