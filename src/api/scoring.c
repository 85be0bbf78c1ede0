/* scoring.c — /api/v1/scoring: rules (behaviour and profile), settings (decay, company score,
 * thresholds), recompute; a contact's score history and a company's score. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "audience/audience.h"

#include "base/banned.h"

static json_t *defs_of(kz_conn *c)
{
	json_t *defs = NULL;
	kz_err err;
	if (kz_store_field_list(c, &defs, &err) < 0)
		defs = json_array();
	return defs;
}

static int no_engine(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	if (app->audience)
		return 0;
	kz_resp_errorf(resp, 503, "unavailable", NULL, "the audience engine is not running");
	return -1;
}

/* Validate `in` (merged over `old` for PATCH), save, commit, tell the engine. */
static int save_rule(kz_req *req, kz_resp *resp, int64_t id, const json_t *in)
{
	kz_app *app = req->app;
	json_t *merged = NULL, *rec = NULL, *defs, *out = NULL;
	kz_conn *c = kz_api_begin(req, resp, 1);
	kz_err err;
	if (!c)
		return 0;
	if (id) {
		if (kz_store_score_rule_get(c, id, &merged, &err) < 0)
			return kz_api_fail(c, resp, &err);
		json_object_update(merged, (json_t *)in);
		if (json_object_get(in, "filter"))
			json_object_del(merged, "event");
		if (json_object_get(in, "event"))
			json_object_del(merged, "filter");
	} else {
		merged = json_deep_copy(in);
	}
	defs = defs_of(c);
	rec = kz_audience_check_rule(app->audience, merged, defs, &err);
	json_decref(defs);
	json_decref(merged);
	if (!rec || kz_store_score_rule_save(c, rec, &id, &err) < 0 ||
	    kz_store_score_rule_get(c, id, &out, &err) < 0) {
		json_decref(rec);
		return kz_api_fail(c, resp, &err);
	}
	json_decref(rec);
	if (kz_api_commit(c, resp) < 0) {
		json_decref(out);
		return 0;
	}
	if (kz_audience_scoring_changed(app->audience, &err) < 0) {
		json_decref(out);
		return kz_resp_error(resp, &err);
	}
	return kz_resp_json(resp, 201 - (json_object_get(in, "id") != NULL), out);
}

static int rule_create(kz_req *req, kz_resp *resp)
{
	json_t *in;
	if (no_engine(req, resp) < 0 || !(in = kz_req_json(req, resp)))
		return 0;
	save_rule(req, resp, 0, in);
	json_decref(in);
	return 0;
}

static int rule_patch(kz_req *req, kz_resp *resp)
{
	json_t *in;
	int64_t id;
	if (no_engine(req, resp) < 0 || kz_req_id(req, 0, &id, resp) < 0 ||
	    !(in = kz_req_json(req, resp)))
		return 0;
	json_object_set_new(in, "id", json_integer(id)); /* marks an update: answers 200 */
	save_rule(req, resp, id, in);
	json_decref(in);
	return 0;
}

static int rule_get(kz_req *req, kz_resp *resp)
{
	return kz_api_get(req, resp, kz_store_score_rule_get);
}

static int rule_list(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *data = NULL;
	kz_conn *c = kz_store_acquire(app->store);
	kz_err err;
	int rc = kz_store_score_rule_list(c, &data, &err);
	kz_store_release(c);
	return rc < 0 ? kz_resp_error(resp, &err) : kz_resp_json(resp, 200, kz_api_page(data, NULL));
}

static int rule_delete(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	int64_t id;
	kz_conn *c;
	kz_err err;
	if (no_engine(req, resp) < 0 || kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	c = kz_api_begin(req, resp, 1);
	if (!c)
		return 0;
	if (kz_store_score_rule_delete(c, id, &err) < 0)
		return kz_api_fail(c, resp, &err);
	if (kz_api_commit(c, resp) < 0)
		return 0;
	if (kz_audience_scoring_changed(app->audience, &err) < 0)
		return kz_resp_error(resp, &err);
	return kz_resp_empty(resp, 204);
}

/* A JSON setting, or `def` when unset. */
static json_t *setting(kz_conn *c, const char *key, json_t *(*def)(void), kz_err *err)
{
	char *text = NULL;
	json_t *v;
	if (kz_store_setting_get(c, key, &text, err) < 0)
		return NULL;
	v = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	return v ? v : def();
}

static int settings_get(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	kz_conn *c = kz_store_acquire(app->store);
	kz_err err;
	json_t *v = setting(c, KZ_SETTING_SCORING, kz_audience_default_scoring, &err);
	kz_store_release(c);
	return v ? kz_resp_json(resp, 200, v) : kz_resp_error(resp, &err);
}

int kz_api_put_setting(kz_req *req, kz_resp *resp, const char *key, json_t *v,
		       int (*changed)(struct kz_audience *a, kz_err *err))
{
	kz_app *app = req->app;
	char *text = json_dumps(v, JSON_COMPACT);
	kz_conn *c = kz_api_begin(req, resp, 1);
	kz_err err;
	if (!c)
		goto out;
	/* other nodes reload the audience settings when they read the feed */
	if (kz_store_setting_set(c, key, text, &err) < 0 ||
	    kz_store_feed_note(c, KZ_FEED_CONFIG, 0, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto out;
	}
	if (kz_api_commit(c, resp) < 0)
		goto out;
	if (changed(app->audience, &err) < 0)
		kz_resp_error(resp, &err);
	else
		kz_resp_json(resp, 200, json_incref(v));
out:
	free(text);
	return 0;
}

static int settings_put(kz_req *req, kz_resp *resp)
{
	json_t *in, *v;
	kz_err err;
	if (no_engine(req, resp) < 0 || !(in = kz_req_json(req, resp)))
		return 0;
	if (kz_audience_check_scoring(in, &err) < 0) {
		json_decref(in);
		return kz_resp_error(resp, &err);
	}
	v = kz_audience_default_scoring();
	json_object_update(v, in);
	json_decref(in);
	kz_api_put_setting(req, resp, KZ_SETTING_SCORING, v, kz_audience_scoring_changed);
	json_decref(v);
	return 0;
}

static int recompute(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	kz_err err;
	if (no_engine(req, resp) < 0)
		return 0;
	if (kz_audience_recompute(app->audience, &err) < 0)
		return kz_resp_error(resp, &err);
	return kz_resp_json(resp, 200, kz_audience_recompute_status(app->audience));
}

static int recompute_status(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	if (no_engine(req, resp) < 0)
		return 0;
	return kz_resp_json(resp, 200, kz_audience_recompute_status(app->audience));
}

static int contact_scores(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *rec = NULL, *hist = NULL, *out;
	int64_t id;
	kz_conn *c;
	kz_err err;
	if (no_engine(req, resp) < 0 || kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	c = kz_store_acquire(app->store);
	if (kz_store_contact_get(c, id, &rec, &err) < 0 ||
	    kz_store_score_history(c, id, 200, &hist, &err) < 0) {
		kz_store_release(c);
		json_decref(rec);
		return kz_resp_error(resp, &err);
	}
	kz_store_release(c);
	kz_audience_decorate(app->audience, rec);
	out = json_pack("{s:O, s:O, s:o}", "score", json_object_get(rec, "score"), "scores",
			json_object_get(rec, "scores"), "history", hist);
	json_decref(rec);
	return kz_resp_json(resp, 200, out);
}

static int company_score(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *rec = NULL;
	int64_t id;
	kz_conn *c;
	kz_err err;
	int rc;
	if (no_engine(req, resp) < 0 || kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	c = kz_store_acquire(app->store);
	rc = kz_store_company_get(c, id, &rec, &err);
	kz_store_release(c);
	json_decref(rec);
	if (rc < 0)
		return kz_resp_error(resp, &err);
	return kz_resp_json(resp, 200, json_pack("{s:I, s:I}", "company_id", (json_int_t)id, "score",
						 (json_int_t)kz_audience_company_score(app->audience, id)));
}

void kz_api_scoring_routes(kz_server *s)
{
	kz_server_route(s, "POST", "/api/v1/scoring/rules", KZ_ROLE_MARKETER, 0, rule_create);
	kz_server_route(s, "GET", "/api/v1/scoring/rules", KZ_ROLE_VIEWER, 0, rule_list);
	kz_server_route(s, "GET", "/api/v1/scoring/rules/{id}", KZ_ROLE_VIEWER, 0, rule_get);
	kz_server_route(s, "PATCH", "/api/v1/scoring/rules/{id}", KZ_ROLE_MARKETER, 0, rule_patch);
	kz_server_route(s, "DELETE", "/api/v1/scoring/rules/{id}", KZ_ROLE_MARKETER, 0, rule_delete);
	kz_server_route(s, "GET", "/api/v1/scoring/settings", KZ_ROLE_VIEWER, 0, settings_get);
	kz_server_route(s, "PUT", "/api/v1/scoring/settings", KZ_ROLE_MARKETER, 0, settings_put);
	kz_server_route(s, "POST", "/api/v1/scoring/recompute", KZ_ROLE_MARKETER, 0, recompute);
	kz_server_route(s, "GET", "/api/v1/scoring/recompute", KZ_ROLE_VIEWER, 0, recompute_status);
	kz_server_route(s, "GET", "/api/v1/contacts/{id}/scores", KZ_ROLE_VIEWER, 0, contact_scores);
	kz_server_route(s, "GET", "/api/v1/companies/{id}/score", KZ_ROLE_VIEWER, 0, company_score);
}
