/* bounces.c — /api/v1/bounces (a DSN or ARF report as the raw body) and the suppression list
 * it feeds (/api/v1/suppressions). */
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "channel/bounce.h"

#include "base/banned.h"

static int post_report(kz_req *req, kz_resp *resp)
{
	json_t *out = NULL;
	kz_conn *c;
	kz_err err;
	if (req->body.len == 0)
		return kz_resp_errorf(resp, 400, "invalid_body", NULL,
				      "send the bounce or complaint message itself as the body "
				      "(Content-Type: message/rfc822)");
	c = kz_api_begin(req, resp, 1);
	if (!c)
		return 0;
	if (kz_bounce_apply(c, req->body.data, req->body.len, &out, &err) < 0)
		return kz_api_fail(c, resp, &err);
	kz_api_done(c, resp, 201, &out);
	json_decref(out);
	return 0;
}

static int list(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *data = NULL;
	kz_conn *c;
	kz_err err;
	int limit, rc;
	if (kz_api_limit(req, resp, &limit) < 0)
		return 0;
	c = kz_store_acquire(app->store);
	rc = kz_store_suppression_list(c, limit, &data, &err);
	kz_store_release(c);
	if (rc < 0)
		return kz_resp_error(resp, &err);
	return kz_resp_json(resp, 200, kz_api_page(data, NULL));
}

static int delete_one(kz_req *req, kz_resp *resp)
{
	kz_conn *c = kz_api_begin(req, resp, 1);
	kz_err err;
	if (!c)
		return 0;
	if (kz_store_unsuppress(c, req->params[0], &err) < 0)
		return kz_api_fail(c, resp, &err);
	if (kz_api_commit(c, resp) == 0)
		kz_resp_empty(resp, 204);
	return 0;
}

void kz_api_bounces_routes(kz_server *s)
{
	kz_server_route(s, "POST", "/api/v1/bounces", KZ_ROLE_MARKETER, KZ_ROUTE_RAW_BODY,
			post_report);
	kz_server_route(s, "GET", "/api/v1/suppressions", KZ_ROLE_VIEWER, 0, list);
	kz_server_route(s, "DELETE", "/api/v1/suppressions/{email}", KZ_ROLE_ADMIN, 0, delete_one);
}
