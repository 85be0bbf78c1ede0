/* broadcasts.c — /api/v1/broadcasts: newsletters (メルマガ) to a segment, a tag or everyone;
 * an estimate before sending, schedule, pause, resume, cancel, status and stats. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "base/timeutil.h"
#include "channel/message.h"
#include "channel/outbox.h"
#include "model/records.h"

#include "base/banned.h"

/* Read the audience members of `in`; exactly one of segment_id, tag, all_contacts. */
static int audience_in(const json_t *in, kz_recipients *a, kz_err *err)
{
	json_t *seg = json_object_get(in, "segment_id"), *tag = json_object_get(in, "tag");
	json_t *all = json_object_get(in, "all_contacts");
	int n = 0;
	memset(a, 0, sizeof *a);
	if (seg && !json_is_null(seg)) {
		if (!json_is_integer(seg) || json_integer_value(seg) <= 0)
			return kz_err_set(err, 422, "invalid_field", "segment_id",
					  "segment_id must be a segment's id");
		a->segment_id = json_integer_value(seg);
		n++;
	}
	if (tag && !json_is_null(tag)) {
		if (!json_is_string(tag) || !json_string_length(tag))
			return kz_err_set(err, 422, "invalid_field", "tag", "tag must be a tag name");
		a->tag = json_string_value(tag);
		n++;
	}
	if (all && !json_is_null(all)) {
		if (!json_is_boolean(all))
			return kz_err_set(err, 422, "invalid_field", "all_contacts",
					  "all_contacts must be true or false");
		a->all = json_is_true(all);
		n += a->all;
	}
	if (n != 1)
		return kz_err_set(err, 422, "invalid_field", "segment_id",
				  "choose who receives it: one of segment_id, tag or "
				  "all_contacts: true");
	return 0;
}

static int email_in(kz_conn *c, const json_t *in, json_t **email, kz_err *err)
{
	json_t *v = json_object_get(in, "email_id");
	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return kz_err_set(err, 422, "invalid_field", "email_id", "email_id is required");
	if (kz_store_email_get(c, json_integer_value(v), email, err) < 0) {
		if (err->status == 404)
			kz_err_set(err, 422, "invalid_field", "email_id", "no email with id %lld",
				   (long long)json_integer_value(v));
		return -1;
	}
	return 0;
}

static json_t *with_stats(kz_conn *c, json_t *bc, kz_err *err)
{
	json_t *st = NULL;
	if (kz_store_email_stats(c, "broadcast", json_integer_value(json_object_get(bc, "id")), &st,
				 err) < 0) {
		json_decref(bc);
		return NULL;
	}
	json_object_set_new(bc, "stats", st);
	if (json_is_object(json_object_get(bc, "ab"))) {
		json_t *per = NULL;
		if (kz_store_broadcast_ab_stats(c, json_integer_value(json_object_get(bc, "id")), &per,
						err) < 0) {
			json_decref(bc);
			return NULL;
		}
		json_object_set_new(json_object_get(bc, "ab"), "results", per);
	}
	return bc;
}

/* "ab": {"variants": [email ids besides email_id], "test_percent": 20, "metric": "open" |
 * "click", "wait_minutes": 240} into the stored form (variants: email_id first). */
static int ab_in(kz_conn *c, const json_t *in, int64_t email_id, json_t **out, kz_err *err)
{
	json_t *ab = json_object_get(in, "ab"), *vars, *all, *v, *tp, *wm, *mt;
	const char *k;
	size_t i;
	*out = NULL;
	if (!ab || json_is_null(ab))
		return 0;
	if (!json_is_object(ab))
		return kz_err_set(err, 422, "invalid_field", "ab",
				  "ab must be an object: {\"variants\": [email ids], \"test_percent\", "
				  "\"metric\", \"wait_minutes\"}");
	json_object_foreach(ab, k, v)
	{
		if (strcmp(k, "variants") && strcmp(k, "test_percent") && strcmp(k, "metric") &&
		    strcmp(k, "wait_minutes")) {
			char field[80];
			snprintf(field, sizeof field, "ab.%.60s", k);
			return kz_err_set(err, 422, "unknown_field", field,
					  "%s is not known; ab has variants, test_percent, metric, "
					  "wait_minutes",
					  field);
		}
	}
	vars = json_object_get(ab, "variants");
	if (!json_is_array(vars) || json_array_size(vars) < 1 || json_array_size(vars) > 4)
		return kz_err_set(err, 422, "invalid_field", "ab.variants",
				  "ab.variants must list 1 to 4 other emails (their ids) to test "
				  "against email_id");
	all = json_array();
	json_array_append_new(all, json_integer(email_id));
	json_array_foreach(vars, i, v) {
		json_t *em = NULL, *w;
		size_t j;
		if (!json_is_integer(v) || json_integer_value(v) <= 0) {
			json_decref(all);
			return kz_err_set(err, 422, "invalid_field", "ab.variants",
					  "ab.variants must hold email ids");
		}
		json_array_foreach(all, j, w) {
			if (json_integer_value(w) == json_integer_value(v)) {
				json_decref(all);
				return kz_err_set(err, 422, "invalid_field", "ab.variants",
						  "email %lld is in the test twice",
						  (long long)json_integer_value(v));
			}
		}
		if (kz_store_email_get(c, json_integer_value(v), &em, err) < 0) {
			json_decref(all);
			if (err->status == 404)
				kz_err_set(err, 422, "invalid_field", "ab.variants",
					   "no email with id %lld", (long long)json_integer_value(v));
			return -1;
		}
		json_decref(em);
		json_array_append(all, v);
	}
	tp = json_object_get(ab, "test_percent");
	wm = json_object_get(ab, "wait_minutes");
	mt = json_object_get(ab, "metric");
	if (tp && (!json_is_integer(tp) || json_integer_value(tp) < 1 || json_integer_value(tp) > 90)) {
		json_decref(all);
		return kz_err_set(err, 422, "invalid_field", "ab.test_percent",
				  "ab.test_percent must be a whole number from 1 to 90 (the share of "
				  "recipients in the test)");
	}
	if (wm && (!json_is_number(wm) || json_number_value(wm) <= 0 ||
		   json_number_value(wm) > 43200)) {
		json_decref(all);
		return kz_err_set(err, 422, "invalid_field", "ab.wait_minutes",
				  "ab.wait_minutes must be more than 0 and at most 43200 (30 days)");
	}
	if (mt && (!json_is_string(mt) || (strcmp(json_string_value(mt), "open") &&
					   strcmp(json_string_value(mt), "click")))) {
		json_decref(all);
		return kz_err_set(err, 422, "invalid_field", "ab.metric",
				  "ab.metric must be open or click");
	}
	*out = json_pack("{s:o, s:I, s:s, s:f}", "variants", all, "test_percent",
			 (json_int_t)(tp ? json_integer_value(tp) : 20), "metric",
			 mt ? json_string_value(mt) : "open", "wait_minutes",
			 wm ? json_number_value(wm) : 240.0);
	return 0;
}

static int estimate(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *in = kz_req_json(req, resp), *email = NULL, *out = NULL;
	kz_recipients a;
	kz_conn *c;
	kz_err err;
	if (!in)
		return 0;
	if (audience_in(in, &a, &err) < 0) {
		kz_resp_error(resp, &err);
		goto done;
	}
	c = kz_store_acquire(app->store);
	if (email_in(c, in, &email, &err) < 0 ||
	    kz_outbox_estimate(c, email, &a, kz_now_ms(), &out, &err) < 0)
		kz_resp_error(resp, &err);
	else
		kz_resp_json(resp, 200, out);
	kz_store_release(c);
done:
	json_decref(in);
	json_decref(email);
	return 0;
}

static int create(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *in = kz_req_json(req, resp), *email = NULL, *rec = NULL, *out = NULL, *settings = NULL;
	json_t *at, *ab = NULL;
	kz_recipients a;
	kz_conn *c;
	kz_err err;
	int64_t id = 0, send_at = kz_now_ms();
	if (!in)
		return 0;
	if (audience_in(in, &a, &err) < 0) {
		kz_resp_error(resp, &err);
		goto done;
	}
	at = json_object_get(in, "send_at");
	if (at && !json_is_null(at) &&
	    (!json_is_string(at) || kz_time_parse_iso(json_string_value(at), &send_at) < 0)) {
		kz_resp_errorf(resp, 422, "invalid_field", "send_at",
			       "send_at must be an ISO 8601 time such as 2026-12-01T09:00:00+09:00");
		goto done;
	}
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	if (email_in(c, in, &email, &err) < 0 ||
	    kz_settings_load(c, app->default_country, &settings, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	if (kz_email_footer_missing(settings)) {
		kz_err_set(&err, 422, "footer_required", "company_name",
			   "set company_name and company_address in Settings first: the sender "
			   "identity footer is required (特定電子メール法)");
		kz_api_fail(c, resp, &err);
		goto done;
	}
	if (a.segment_id) {
		json_t *seg = NULL;
		if (kz_store_segment_get(c, a.segment_id, &seg, &err) < 0) {
			if (err.status == 404)
				kz_err_set(&err, 422, "invalid_field", "segment_id",
					   "no segment or list has id %lld", (long long)a.segment_id);
			kz_api_fail(c, resp, &err);
			goto done;
		}
		json_decref(seg);
	}
	if (ab_in(c, in, json_integer_value(json_object_get(email, "id")), &ab, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	rec = json_pack("{sIss?sbsssI}", "email_id",
			(json_int_t)json_integer_value(json_object_get(email, "id")), "tag", a.tag,
			"all_contacts", a.all, "status", "scheduled", "send_at_ms",
			(json_int_t)send_at);
	if (rec && a.segment_id)
		json_object_set_new(rec, "segment_id", json_integer(a.segment_id));
	if (rec && ab)
		json_object_set(rec, "ab", ab);
	if (kz_store_broadcast_insert(c, rec, &id, &err) < 0 ||
	    kz_store_broadcast_get(c, id, &out, &err) < 0 || !(out = with_stats(c, out, &err))) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	if (kz_api_done(c, resp, 201, &out) == 0)
		kz_outbox_kick(app->outbox);
done:
	json_decref(in);
	json_decref(email);
	json_decref(rec);
	json_decref(out);
	json_decref(settings);
	json_decref(ab);
	return 0;
}

static int get_one(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *out = NULL;
	kz_conn *c;
	kz_err err;
	int64_t id;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	c = kz_store_acquire(app->store);
	if (kz_store_broadcast_get(c, id, &out, &err) < 0 || !(out = with_stats(c, out, &err))) {
		kz_store_release(c);
		return kz_resp_error(resp, &err);
	}
	kz_store_release(c);
	return kz_resp_json(resp, 200, out);
}

static int list(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *data = NULL, *bc;
	size_t i;
	kz_conn *c = kz_store_acquire(app->store);
	kz_err err;
	int rc = kz_store_broadcast_list(c, &data, &err);
	json_array_foreach(data, i, bc) {
		json_t *st = NULL;
		if (rc == 0 && kz_store_email_stats(c, "broadcast",
						    json_integer_value(json_object_get(bc, "id")), &st,
						    &err) < 0)
			rc = -1;
		if (st)
			json_object_set_new(bc, "stats", st);
	}
	kz_store_release(c);
	if (rc < 0) {
		json_decref(data);
		return kz_resp_error(resp, &err);
	}
	return kz_resp_json(resp, 200, kz_api_page(data, NULL));
}

/* pause / resume / cancel: a status move allowed only from some statuses. */
static int transition(kz_req *req, kz_resp *resp, const char *to, const char *const *from,
		      int cancel_rows)
{
	kz_app *app = req->app;
	json_t *out = NULL;
	kz_conn *c;
	kz_err err;
	int64_t id;
	int changed = 0;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	c = kz_api_begin(req, resp, 1);
	if (!c)
		return 0;
	if (kz_store_broadcast_get(c, id, &out, &err) < 0 ||
	    kz_store_broadcast_set_status(c, id, to, from, kz_now_ms(), &changed, &err) < 0)
		return kz_api_fail(c, resp, &err);
	if (!changed) {
		kz_err_set(&err, 409, "conflict", "status", "a %s broadcast cannot be %s",
			   json_string_value(json_object_get(out, "status")),
			   !strcmp(to, "paused") ? "paused" : !strcmp(to, "cancelled") ? "cancelled" : "resumed");
		json_decref(out);
		return kz_api_fail(c, resp, &err);
	}
	json_decref(out);
	out = NULL;
	if ((cancel_rows && kz_store_broadcast_cancel_rows(c, id, &err) < 0) ||
	    kz_store_broadcast_get(c, id, &out, &err) < 0 || !(out = with_stats(c, out, &err)))
		return kz_api_fail(c, resp, &err);
	if (kz_api_done(c, resp, 200, &out) == 0)
		kz_outbox_kick(app->outbox);
	json_decref(out);
	return 0;
}

static int pause_one(kz_req *req, kz_resp *resp)
{
	static const char *const from[] = {"sending", NULL};
	return transition(req, resp, "paused", from, 0);
}

static int resume_one(kz_req *req, kz_resp *resp)
{
	static const char *const from[] = {"paused", NULL};
	return transition(req, resp, "sending", from, 0);
}

static int cancel_one(kz_req *req, kz_resp *resp)
{
	static const char *const from[] = {"scheduled", "sending", "paused", NULL};
	return transition(req, resp, "cancelled", from, 1);
}

void kz_api_broadcasts_routes(kz_server *s)
{
	kz_server_route(s, "POST", "/api/v1/broadcasts", KZ_ROLE_MARKETER, 0, create);
	kz_server_route(s, "GET", "/api/v1/broadcasts", KZ_ROLE_VIEWER, 0, list);
	kz_server_route(s, "POST", "/api/v1/broadcasts/estimate", KZ_ROLE_VIEWER, 0, estimate);
	kz_server_route(s, "GET", "/api/v1/broadcasts/{id}", KZ_ROLE_VIEWER, 0, get_one);
	kz_server_route(s, "POST", "/api/v1/broadcasts/{id}/pause", KZ_ROLE_MARKETER, 0, pause_one);
	kz_server_route(s, "POST", "/api/v1/broadcasts/{id}/resume", KZ_ROLE_MARKETER, 0,
			resume_one);
	kz_server_route(s, "POST", "/api/v1/broadcasts/{id}/cancel", KZ_ROLE_MARKETER, 0,
			cancel_one);
}
