/* settings.c — /api/v1/settings: workspace settings (phone country, time zone, sender). */
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "model/records.h"

#include "base/banned.h"

static int get(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	kz_conn *c = kz_store_acquire(app->store);
	json_t *out = NULL;
	kz_err err;
	if (kz_settings_load(c, app->default_country, &out, &err) < 0)
		kz_resp_error(resp, &err);
	else
		kz_resp_json(resp, 200, out);
	kz_store_release(c);
	return 0;
}

static int patch(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *in = kz_req_json(req, resp), *out = NULL;
	kz_conn *c;
	kz_err err;
	if (!in)
		return 0;
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	if (kz_settings_apply(c, in, &err) < 0 ||
	    kz_settings_load(c, app->default_country, &out, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	kz_api_done(c, resp, 200, &out);
done:
	json_decref(in);
	json_decref(out);
	return 0;
}

void kz_api_settings_routes(kz_server *s)
{
	kz_server_route(s, "GET", "/api/v1/settings", KZ_ROLE_VIEWER, 0, get);
	kz_server_route(s, "PATCH", "/api/v1/settings", KZ_ROLE_ADMIN, 0, patch);
}
