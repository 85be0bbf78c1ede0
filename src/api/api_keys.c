/* api_keys.c — /api/v1/api-keys: create (secret shown once), list, revoke (admin only). */
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "base/timeutil.h"
#include "model/records.h"

#include "base/banned.h"

static int create(kz_req *req, kz_resp *resp)
{
	json_t *in = kz_req_json(req, resp), *out = NULL;
	const char *name, *role;
	char *secret = NULL;
	int64_t id = 0;
	kz_conn *c;
	kz_err err;
	if (!in)
		return 0;
	name = json_string_value(json_object_get(in, "name"));
	role = json_string_value(json_object_get(in, "role"));
	if (!name || !*name || strlen(name) > 200) {
		kz_resp_errorf(resp, 422, "invalid_field", "name",
			       "name is required: say what the key is for");
		goto done;
	}
	if (!kz_role_parse(role)) {
		kz_resp_errorf(resp, 422, "invalid_field", "role",
			       "role must be admin, marketer, sales or viewer");
		goto done;
	}
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	if (kz_apikey_create(c, name, kz_role_parse(role), 0, &id, &secret, &err) < 0 ||
	    kz_store_apikey_get(c, id, &out, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	if (kz_api_commit(c, resp) == 0) {
		json_object_set_new(out, "key", json_string(secret));
		kz_resp_json(resp, 201, out);
		out = NULL;
	}
done:
	free(secret);
	json_decref(in);
	json_decref(out);
	return 0;
}

static int list(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *data = NULL;
	kz_conn *c = kz_store_acquire(app->store);
	kz_err err;
	if (kz_store_apikey_list(c, &data, &err) < 0)
		kz_resp_error(resp, &err);
	else
		kz_resp_json(resp, 200, json_pack("{s:o}", "data", data));
	kz_store_release(c);
	return 0;
}

static int revoke(kz_req *req, kz_resp *resp)
{
	int64_t id;
	kz_conn *c;
	kz_err err;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	c = kz_api_begin(req, resp, 1);
	if (!c)
		return 0;
	if (kz_store_apikey_revoke(c, id, kz_now_ms(), &err) < 0)
		return kz_api_fail(c, resp, &err);
	if (kz_api_commit(c, resp) == 0) {
		kz_app_auth_flush(req->app);
		kz_resp_empty(resp, 204);
	}
	return 0;
}

void kz_api_api_keys_routes(kz_server *s)
{
	kz_server_route(s, "POST", "/api/v1/api-keys", KZ_ROLE_ADMIN, 0, create);
	kz_server_route(s, "GET", "/api/v1/api-keys", KZ_ROLE_ADMIN, 0, list);
	kz_server_route(s, "DELETE", "/api/v1/api-keys/{id}", KZ_ROLE_ADMIN, 0, revoke);
}
