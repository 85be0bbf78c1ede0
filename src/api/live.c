/* live.c — /api/v1/live: the dashboard's live view of tracking. */
#include "api/app.h"
#include "base/timeutil.h"

#include "base/banned.h"

#define LIVE_TOP 10

static int live(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *out = NULL;
	kz_conn *c;
	kz_err err;
	int rc;
	c = kz_store_acquire(app->store);
	rc = kz_store_live(c, kz_now_ms(), LIVE_TOP, &out, &err);
	kz_store_release(c);
	if (rc < 0)
		return kz_resp_error(resp, &err);
	return kz_resp_json(resp, 200, out);
}

void kz_api_live_routes(kz_server *s)
{
	kz_server_route(s, "GET", "/api/v1/live", KZ_ROLE_VIEWER, 0, live);
}
