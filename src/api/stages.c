/* stages.c — /api/v1/stages (the ordered lifecycle stages and their forward-only rules), a
 * contact's stage set by hand, and its stage history. */
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "audience/audience.h"

#include "base/banned.h"

static int get_stages(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	kz_conn *c = kz_store_acquire(app->store);
	char *text = NULL;
	json_t *v = NULL;
	kz_err err;
	int rc = kz_store_setting_get(c, KZ_SETTING_STAGES, &text, &err);
	kz_store_release(c);
	if (rc < 0)
		return kz_resp_error(resp, &err);
	v = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	return kz_resp_json(resp, 200, v ? v : kz_audience_default_stages());
}

static int put_stages(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *in, *defs = NULL, *v;
	kz_conn *c;
	kz_err err;
	if (!app->audience)
		return kz_resp_errorf(resp, 503, "unavailable", NULL, "the audience engine is not running");
	in = kz_req_json(req, resp);
	if (!in)
		return 0;
	c = kz_store_acquire(app->store);
	if (kz_store_field_list(c, &defs, &err) < 0)
		defs = json_array();
	kz_store_release(c);
	if (kz_audience_check_stages(app->audience, in, defs, &err) < 0) {
		kz_resp_error(resp, &err);
	} else {
		v = json_pack("{s:O, s:O}", "stages", json_object_get(in, "stages"), "rules",
			      json_object_get(in, "rules") ? json_object_get(in, "rules") : json_array());
		kz_api_put_setting(req, resp, KZ_SETTING_STAGES, v, kz_audience_stages_changed);
		json_decref(v);
	}
	json_decref(defs);
	json_decref(in);
	return 0;
}

static int set_contact_stage(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *in;
	const char *stage;
	int64_t id;
	kz_err err;
	if (!app->audience)
		return kz_resp_errorf(resp, 503, "unavailable", NULL, "the audience engine is not running");
	if (kz_req_id(req, 0, &id, resp) < 0 || !(in = kz_req_json(req, resp)))
		return 0;
	stage = json_string_value(json_object_get(in, "stage"));
	if (!stage) {
		json_decref(in);
		return kz_resp_errorf(resp, 422, "invalid_field", "stage",
				      "send {\"stage\": \"mql\"} with one of the stages");
	}
	if (kz_audience_set_stage(app->audience, id, stage, &err) < 0)
		kz_resp_error(resp, &err);
	else
		kz_resp_json(resp, 200, json_pack("{s:I, s:s}", "id", (json_int_t)id, "stage", stage));
	json_decref(in); /* stage points into it */
	return 0;
}

static int stage_history(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *rec = NULL, *data = NULL;
	int64_t id;
	kz_conn *c;
	kz_err err;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	c = kz_store_acquire(app->store);
	if (kz_store_contact_get(c, id, &rec, &err) < 0 ||
	    kz_store_stage_history(c, id, &data, &err) < 0) {
		kz_store_release(c);
		json_decref(rec);
		return kz_resp_error(resp, &err);
	}
	kz_store_release(c);
	json_decref(rec);
	return kz_resp_json(resp, 200, kz_api_page(data, NULL));
}

void kz_api_stages_routes(kz_server *s)
{
	kz_server_route(s, "GET", "/api/v1/stages", KZ_ROLE_VIEWER, 0, get_stages);
	kz_server_route(s, "PUT", "/api/v1/stages", KZ_ROLE_ADMIN, 0, put_stages);
	kz_server_route(s, "PUT", "/api/v1/contacts/{id}/stage", KZ_ROLE_SALES, 0,
			set_contact_stage);
	kz_server_route(s, "GET", "/api/v1/contacts/{id}/stages", KZ_ROLE_VIEWER, 0, stage_history);
}
