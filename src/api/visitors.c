/* visitors.c — /api/v1/visitors: anonymous and identified visitors, their sessions and pages. */
#include <stdlib.h>
#include <string.h>

#include "api/app.h"

#include "base/banned.h"

#define DETAIL_ITEMS 50 /* sessions and events shown with one visitor */

static int query_id(kz_req *req, kz_resp *resp, const char *name, int64_t *id)
{
	const char *s = kz_req_query(req, name);
	char *end;
	*id = 0;
	if (!s)
		return 0;
	*id = strtoll(s, &end, 10);
	if (end == s || *end || *id <= 0) {
		kz_resp_errorf(resp, 400, "invalid_parameter", name, "%s must be a positive id",
			       name);
		return -1;
	}
	return 0;
}

static int list(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	kz_visitor_query q;
	const char *anon = kz_req_query(req, "anonymous");
	json_t *data = NULL;
	char *cursor = NULL;
	kz_conn *c;
	kz_err err;
	int rc;
	memset(&q, 0, sizeof q);
	if (kz_api_limit(req, resp, &q.limit) < 0 ||
	    query_id(req, resp, "contact_id", &q.contact_id) < 0 ||
	    query_id(req, resp, "site_id", &q.site_id) < 0)
		return 0;
	if (anon && strcmp(anon, "true") && strcmp(anon, "false"))
		return kz_resp_errorf(resp, 400, "invalid_parameter", "anonymous",
				      "anonymous must be true or false");
	q.anonymous = anon && !strcmp(anon, "true");
	q.cursor = kz_req_query(req, "cursor");
	c = kz_store_acquire(app->store);
	rc = kz_store_visitor_list(c, &q, &data, &cursor, &err);
	kz_store_release(c);
	if (rc < 0)
		return kz_resp_error(resp, &err);
	return kz_resp_json(resp, 200, kz_api_page(data, cursor));
}

static int get_one(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *out = NULL, *sessions = NULL, *events = NULL;
	char *cursor = NULL;
	kz_event_query q;
	kz_conn *c;
	kz_err err;
	int64_t id;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	memset(&q, 0, sizeof q);
	q.visitor_id = id;
	q.limit = DETAIL_ITEMS;
	c = kz_store_acquire(app->store);
	if (kz_store_visitor_get(c, id, &out, &err) < 0 ||
	    kz_store_wsession_list(c, id, DETAIL_ITEMS, &sessions, &err) < 0 ||
	    kz_store_event_list(c, &q, &events, &cursor, &err) < 0) {
		kz_store_release(c);
		json_decref(out);
		json_decref(sessions);
		return kz_resp_error(resp, &err);
	}
	kz_store_release(c);
	free(cursor);
	json_object_set_new(out, "sessions", sessions);
	json_object_set_new(out, "events", events);
	return kz_resp_json(resp, 200, out);
}

void kz_api_visitors_routes(kz_server *s)
{
	kz_server_route(s, "GET", "/api/v1/visitors", KZ_ROLE_VIEWER, 0, list);
	kz_server_route(s, "GET", "/api/v1/visitors/{id}", KZ_ROLE_VIEWER, 0, get_one);
}
