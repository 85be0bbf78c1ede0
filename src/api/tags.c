/* tags.c — /api/v1/tags (every tag in use with its count, for filters and pickers) and
 * /api/v1/stats (workspace totals for the dashboard). */
#include <stdlib.h>

#include "api/app.h"

#include "base/banned.h"

static int list(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *data = NULL;
	int limit;
	kz_conn *c;
	kz_err err;
	if (kz_api_limit(req, resp, &limit) < 0)
		return 0;
	if (!kz_req_query(req, "limit"))
		limit = 500;
	c = kz_store_acquire(app->store);
	if (kz_store_tag_counts(c, limit, &data, &err) < 0)
		kz_resp_error(resp, &err);
	else
		kz_resp_json(resp, 200, json_pack("{s:o}", "data", data));
	kz_store_release(c);
	return 0;
}

static int stats(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *out = NULL;
	kz_conn *c = kz_store_acquire(app->store);
	kz_err err;
	if (kz_store_stats(c, &out, &err) < 0)
		kz_resp_error(resp, &err);
	else
		kz_resp_json(resp, 200, out);
	kz_store_release(c);
	return 0;
}

void kz_api_tags_routes(kz_server *s)
{
	kz_server_route(s, "GET", "/api/v1/stats", KZ_ROLE_VIEWER, 0, stats);
	kz_server_route(s, "GET", "/api/v1/tags", KZ_ROLE_VIEWER, 0, list);
}
