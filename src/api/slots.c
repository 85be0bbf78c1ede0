/* slots.c — /api/v1/slots: personalization slots (inline content or pop-ups), their variants
 * and rules, with impressions, clicks and the click rate per variant. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "capture/counter.h"
#include "capture/slot.h"

#include "base/banned.h"

/* Put "stats" on a slot: per variant (and "default") impressions, clicks, click_rate. */
static int with_stats(kz_conn *c, json_t *slot, kz_err *err)
{
	json_t *counts = NULL, *stats = json_object();
	size_t i;
	int64_t id = json_integer_value(json_object_get(slot, "id"));
	if (kz_store_counter_get(c, 1, id, &counts, err) < 0) {
		json_decref(stats);
		return -1;
	}
	for (i = 0; i <= json_array_size(json_object_get(slot, "variants")); i++) {
		const char *key = i == 0 ? "default"
					 : json_string_value(json_object_get(
						   json_array_get(json_object_get(slot, "variants"),
								  i - 1),
						   "key"));
		json_t *cnt = json_object_get(counts, key);
		json_int_t views = json_integer_value(json_object_get(cnt, "impressions"));
		json_int_t clicks = json_integer_value(json_object_get(cnt, "clicks"));
		json_object_set_new(stats, key,
				    json_pack("{s:I, s:I, s:o}", "impressions", views, "clicks",
					      clicks, "click_rate",
					      views ? json_real((double)clicks / (double)views)
						    : json_null()));
	}
	json_object_set_new(slot, "stats", stats);
	json_decref(counts);
	return 0;
}

static int save(kz_req *req, kz_resp *resp, int64_t id)
{
	json_t *in = kz_req_json(req, resp), *def = NULL, *out = NULL;
	kz_conn *c;
	kz_err err;
	int created = id == 0;
	if (!in)
		return 0;
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	if (id && kz_store_slot_get(c, id, &def, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	if (!def)
		def = json_object();
	if (kz_slot_apply(def, in, id == 0, &err) < 0 || kz_store_slot_save(c, def, &id, &err) < 0 ||
	    kz_store_slot_get(c, id, &out, &err) < 0 || with_stats(c, out, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	if (kz_api_done(c, resp, created ? 201 : 200, &out) == 0)
		kz_slot_cache_flush();
done:
	json_decref(in);
	json_decref(def);
	json_decref(out);
	return 0;
}

static int create(kz_req *req, kz_resp *resp)
{
	return save(req, resp, 0);
}

static int patch(kz_req *req, kz_resp *resp)
{
	int64_t id;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	return save(req, resp, id);
}

static int get_one(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *out = NULL;
	kz_err err;
	int64_t id;
	kz_conn *c;
	int rc;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	kz_counter_flush(app->store, 1);
	c = kz_store_acquire(app->store);
	rc = kz_store_slot_get(c, id, &out, &err);
	if (rc == 0)
		rc = with_stats(c, out, &err);
	kz_store_release(c);
	if (rc < 0) {
		json_decref(out);
		return kz_resp_error(resp, &err);
	}
	return kz_resp_json(resp, 200, out);
}

static int list(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *data = NULL, *s;
	size_t i;
	kz_err err;
	kz_conn *c;
	int rc;
	kz_counter_flush(app->store, 1);
	c = kz_store_acquire(app->store);
	rc = kz_store_slot_list(c, &data, &err);
	json_array_foreach(data, i, s)
		if (rc == 0)
			rc = with_stats(c, s, &err);
	kz_store_release(c);
	if (rc < 0) {
		json_decref(data);
		return kz_resp_error(resp, &err);
	}
	return kz_resp_json(resp, 200, kz_api_page(data, NULL));
}

static int delete_one(kz_req *req, kz_resp *resp)
{
	return kz_api_delete(req, resp, kz_store_slot_delete, kz_slot_cache_flush);
}

void kz_api_slots_routes(kz_server *s)
{
	kz_server_route(s, "POST", "/api/v1/slots", KZ_ROLE_MARKETER, 0, create);
	kz_server_route(s, "GET", "/api/v1/slots", KZ_ROLE_VIEWER, 0, list);
	kz_server_route(s, "GET", "/api/v1/slots/{id}", KZ_ROLE_VIEWER, 0, get_one);
	kz_server_route(s, "PATCH", "/api/v1/slots/{id}", KZ_ROLE_MARKETER, 0, patch);
	kz_server_route(s, "DELETE", "/api/v1/slots/{id}", KZ_ROLE_MARKETER, 0, delete_one);
}
