/* events.c — /api/v1/events (server-side ingestion, Segment style), event counts, and a contact's
 * timeline, attribution and daily rollups. */
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "base/timeutil.h"
#include "track/batch.h"

#include "base/banned.h"

static int ingest(kz_req *req, kz_resp *resp)
{
	json_t *body = kz_req_json(req, resp);
	kz_track_src src;
	if (!body)
		return 0;
	memset(&src, 0, sizeof src);
	src.received_at = kz_now_ms();
	kz_api_track(req, resp, body, &src, NULL);
	json_decref(body);
	return 0;
}

/* A positive id from the query, or 0 when absent; -1 (resp filled) when malformed. */
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

static int count(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	const char *name = kz_req_query(req, "event"), *since = kz_req_query(req, "since");
	int64_t contact_id, since_ms = 0, n = 0;
	kz_conn *c;
	kz_err err;
	int rc;
	if (query_id(req, resp, "contact_id", &contact_id) < 0)
		return 0;
	if (name && !*name)
		return kz_resp_errorf(resp, 400, "invalid_parameter", "event",
				      "event must be an event name (page views are \"page_view\")");
	if (since && kz_time_parse_iso(since, &since_ms) < 0)
		return kz_resp_errorf(resp, 400, "invalid_parameter", "since",
				      "since must be an ISO 8601 time like 2026-11-24T00:00:00Z");
	c = kz_store_acquire(app->store);
	rc = kz_store_event_count(c, name, contact_id, since_ms, &n, &err);
	kz_store_release(c);
	if (rc < 0)
		return kz_resp_error(resp, &err);
	return kz_resp_json(resp, 200, json_pack("{s:I}", "count", (json_int_t)n));
}

static int valid_type(const char *t)
{
	return !strcmp(t, "track") || !strcmp(t, "page") || !strcmp(t, "identify") ||
	       !strcmp(t, "alias");
}

static int timeline(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	kz_event_query q;
	json_t *contact = NULL, *data = NULL;
	char *cursor = NULL;
	kz_conn *c;
	kz_err err;
	int64_t id;
	memset(&q, 0, sizeof q);
	if (kz_req_id(req, 0, &id, resp) < 0 || kz_api_limit(req, resp, &q.limit) < 0)
		return 0;
	q.contact_id = id;
	q.type = kz_req_query(req, "type");
	q.cursor = kz_req_query(req, "cursor");
	if (q.type && !valid_type(q.type))
		return kz_resp_errorf(resp, 400, "invalid_parameter", "type",
				      "type must be track, page, identify or alias");
	c = kz_store_acquire(app->store);
	if (kz_store_contact_get(c, id, &contact, &err) < 0 ||
	    kz_store_event_list(c, &q, &data, &cursor, &err) < 0) {
		kz_store_release(c);
		json_decref(contact);
		return kz_resp_error(resp, &err);
	}
	kz_store_release(c);
	json_decref(contact);
	return kz_resp_json(resp, 200, kz_api_page(data, cursor));
}

static int attribution(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *contact = NULL, *out = NULL;
	kz_conn *c;
	kz_err err;
	int64_t id;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	c = kz_store_acquire(app->store);
	if (kz_store_contact_get(c, id, &contact, &err) < 0 ||
	    kz_store_attribution_get(c, id, &out, &err) < 0) {
		kz_store_release(c);
		json_decref(contact);
		return kz_resp_error(resp, &err);
	}
	kz_store_release(c);
	json_decref(contact);
	return kz_resp_json(resp, 200, out);
}

static int rollups(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *contact = NULL, *data = NULL;
	kz_conn *c;
	kz_err err;
	int64_t id;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	c = kz_store_acquire(app->store);
	if (kz_store_contact_get(c, id, &contact, &err) < 0 ||
	    kz_store_event_rollups(c, id, &data, &err) < 0) {
		kz_store_release(c);
		json_decref(contact);
		return kz_resp_error(resp, &err);
	}
	kz_store_release(c);
	json_decref(contact);
	return kz_resp_json(resp, 200, json_pack("{s:o}", "data", data));
}

void kz_api_events_routes(kz_server *s)
{
	kz_server_route(s, "POST", "/api/v1/events", KZ_ROLE_SALES, KZ_ROUTE_NO_BARRIER, ingest);
	kz_server_route(s, "GET", "/api/v1/events/count", KZ_ROLE_VIEWER, 0, count);
	kz_server_route(s, "GET", "/api/v1/contacts/{id}/timeline", KZ_ROLE_VIEWER, 0, timeline);
	kz_server_route(s, "GET", "/api/v1/contacts/{id}/attribution", KZ_ROLE_VIEWER, 0,
			attribution);
	kz_server_route(s, "GET", "/api/v1/contacts/{id}/rollups", KZ_ROLE_VIEWER, 0, rollups);
}
