/* meta.c — /healthz, /metrics and the OpenAPI document. */
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "journey/journey.h"
#include "base/embedded.h"
#include "base/timeutil.h"
#include "track/writer.h"

#include "base/banned.h"

static int healthz(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	if (kz_store_ping(app->store) < 0)
		return kz_resp_json(resp, 503,
				    json_pack("{s:s, s:s}", "status", "unavailable", "database",
					      "not reachable"));
	return kz_resp_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

static int metrics(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	kz_buf b;
	int size, in_use;
	uint64_t waits;
	kz_buf_init(&b, 0);
	kz_server_metrics(app->server, &b);
	kz_store_pool_stats(app->store, &size, &in_use, &waits);
	kz_buf_addf(&b,
		    "# HELP kizuna_db_pool_connections Database connections in the pool.\n"
		    "# TYPE kizuna_db_pool_connections gauge\n"
		    "kizuna_db_pool_connections{backend=\"%s\",state=\"total\"} %d\n"
		    "kizuna_db_pool_connections{backend=\"%s\",state=\"in_use\"} %d\n"
		    "# HELP kizuna_db_pool_waits_total Times a request waited for a connection.\n"
		    "# TYPE kizuna_db_pool_waits_total counter\n"
		    "kizuna_db_pool_waits_total %llu\n"
		    "# HELP kizuna_uptime_seconds Seconds since the server started.\n"
		    "# TYPE kizuna_uptime_seconds gauge\nkizuna_uptime_seconds %.3f\n",
		    kz_store_backend(app->store), size, kz_store_backend(app->store), in_use,
		    (unsigned long long)waits, (double)(kz_now_ms() - app->started_ms) / 1000.0);
	kz_track_metrics(app->track_writer, &b);
	if (app->journeys) {
		json_t *d = kz_journeys_describe(app->journeys);
		kz_buf_addf(&b,
			    "# HELP kizuna_journey_steps_total Journey steps this server executed.\n"
			    "# TYPE kizuna_journey_steps_total counter\nkizuna_journey_steps_total %lld\n"
			    "# HELP kizuna_journey_enrolments_total Entries this server made from triggers.\n"
			    "# TYPE kizuna_journey_enrolments_total counter\n"
			    "kizuna_journey_enrolments_total %lld\n"
			    "# HELP kizuna_journey_calls_total Webhook and alert calls by outcome.\n"
			    "# TYPE kizuna_journey_calls_total counter\n"
			    "kizuna_journey_calls_total{outcome=\"sent\"} %lld\n"
			    "kizuna_journey_calls_total{outcome=\"failed\"} %lld\n",
			    (long long)json_integer_value(json_object_get(d, "executed")),
			    (long long)json_integer_value(json_object_get(d, "enrolled")),
			    (long long)json_integer_value(json_object_get(d, "calls_sent")),
			    (long long)json_integer_value(json_object_get(d, "calls_failed")));
		json_decref(d);
	}
	{
		size_t len;
		char *text = kz_buf_detach(&b, &len);
		return kz_resp_text(resp, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
	}
}

static int openapi(kz_req *req, kz_resp *resp)
{
	(void)req;
	for (const kz_embedded_file *f = kz_embedded_files; f->name; f++)
		if (!strcmp(f->name, "openapi.json")) {
			char *copy = malloc(f->len + 1);
			if (!copy)
				return kz_resp_errorf(resp, 500, "internal", NULL, "out of memory");
			memcpy(copy, f->data, f->len);
			copy[f->len] = '\0';
			return kz_resp_text(resp, 200, "application/json", copy, f->len);
		}
	return kz_resp_errorf(resp, 404, "not_found", NULL, "no OpenAPI document was built in");
}

void kz_api_meta_routes(kz_server *s)
{
	kz_server_route(s, "GET", "/healthz", KZ_ROLE_NONE, KZ_ROUTE_PUBLIC, healthz);
	kz_server_route(s, "GET", "/metrics", KZ_ROLE_NONE, KZ_ROUTE_PUBLIC, metrics);
	kz_server_route(s, "GET", "/api/v1/openapi.json", KZ_ROLE_NONE, KZ_ROUTE_PUBLIC, openapi);
}
