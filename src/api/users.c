/* users.c — /api/v1/users: people who log in. Admins manage them; every role may read the
 * list (owners are shown by name everywhere). */
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "model/records.h"

#include "base/banned.h"

static int create(kz_req *req, kz_resp *resp)
{
	json_t *in = kz_req_json(req, resp), *rec = NULL, *out = NULL;
	char *password = NULL;
	kz_conn *c;
	kz_err err;
	int64_t id = 0;
	if (!in)
		return 0;
	rec = json_object();
	if (kz_user_apply(rec, in, 1, &password, &err) < 0) {
		kz_resp_error(resp, &err);
		goto done;
	}
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	if (kz_store_user_save(c, rec, &id, &err) < 0 || kz_store_user_get(c, id, &out, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	if (kz_api_commit(c, resp) == 0) {
		if (password)
			json_object_set_new(out, "password", json_string(password));
		kz_resp_json(resp, 201, out);
		out = NULL;
	}
done:
	free(password);
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
	if (kz_store_user_list(c, &data, &err) < 0)
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
	int64_t id;
	kz_conn *c;
	kz_err err;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	c = kz_store_acquire(app->store);
	if (kz_store_user_get(c, id, &out, &err) < 0)
		kz_resp_error(resp, &err);
	else
		kz_resp_json(resp, 200, out);
	kz_store_release(c);
	return 0;
}

static int patch(kz_req *req, kz_resp *resp)
{
	json_t *in, *rec = NULL, *out = NULL;
	char *password = NULL;
	int64_t id;
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
	if (kz_store_user_get(c, id, &rec, &err) < 0 || kz_user_apply(rec, in, 0, &password, &err) < 0 ||
	    kz_store_user_save(c, rec, &id, &err) < 0 || kz_store_user_get(c, id, &out, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	/* A deactivated user, or one whose password changed, is signed out everywhere. */
	if ((json_is_false(json_object_get(in, "active")) || json_object_get(in, "password")) &&
	    kz_store_session_delete_user(c, id, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	kz_api_done(c, resp, 200, &out);
done:
	free(password);
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
	if (kz_store_user_delete(c, id, &err) < 0)
		return kz_api_fail(c, resp, &err);
	if (kz_api_commit(c, resp) == 0)
		kz_resp_empty(resp, 204);
	return 0;
}

void kz_api_users_routes(kz_server *s)
{
	kz_server_route(s, "POST", "/api/v1/users", KZ_ROLE_ADMIN, 0, create);
	kz_server_route(s, "GET", "/api/v1/users", KZ_ROLE_VIEWER, 0, list);
	kz_server_route(s, "GET", "/api/v1/users/{id}", KZ_ROLE_VIEWER, 0, get_one);
	kz_server_route(s, "PATCH", "/api/v1/users/{id}", KZ_ROLE_ADMIN, 0, patch);
	kz_server_route(s, "DELETE", "/api/v1/users/{id}", KZ_ROLE_ADMIN, 0, delete_one);
}
