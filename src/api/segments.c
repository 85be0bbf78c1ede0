/* segments.c — /api/v1/segments: dynamic segments and static lists, their members (live
 * from the audience index), the builder's preview, list uploads and CSV export. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/app.h"
#include "audience/audience.h"
#include "audience/filter.h"
#include "base/buf.h"
#include "base/cleanse.h"
#include "base/csv.h"

#include "base/banned.h"

#define PREVIEW_MEMBERS 10
#define MAX_LIST_IDS 10000

static kz_audience *aud(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	if (!app->audience)
		kz_resp_errorf(resp, 503, "unavailable", NULL, "the audience engine is not running");
	return app->audience;
}

static json_t *field_defs(kz_app *app)
{
	kz_conn *c = kz_store_acquire(app->store);
	json_t *defs = NULL;
	kz_err err;
	if (kz_store_field_list(c, &defs, &err) < 0)
		defs = json_array();
	kz_store_release(c);
	return defs;
}

/* Validate name/type/filter/description of `in` onto rec (creating: type defaults). */
static int apply(kz_req *req, json_t *rec, const json_t *in, int64_t self, int creating,
		 kz_err *err)
{
	kz_app *app = req->app;
	const json_t *name = json_object_get(in, "name"), *type = json_object_get(in, "type");
	const json_t *filter = json_object_get(in, "filter"), *desc = json_object_get(in, "description");
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)in, k, v)
	{
		if (strcmp(k, "name") && strcmp(k, "type") && strcmp(k, "filter") &&
		    strcmp(k, "description"))
			return kz_err_set(err, 422, "invalid_field", k,
					  "unknown member %s: a segment has name, type, filter and "
					  "description",
					  k);
	}
	if (name || creating) {
		if (!json_is_string(name) || !*json_string_value(name) ||
		    strlen(json_string_value(name)) > 200)
			return kz_err_set(err, 422, "invalid_field", "name",
					  "name is required (1-200 characters)");
		json_object_set(rec, "name", (json_t *)name);
	}
	if (type && !creating && !json_equal(type, json_object_get(rec, "type")))
		return kz_err_set(err, 422, "invalid_field", "type",
				  "a segment's type cannot change; create a new one");
	if (creating) {
		const char *t = type ? json_string_value(type) : "dynamic";
		if (!t || (strcmp(t, "dynamic") && strcmp(t, "static")))
			return kz_err_set(err, 422, "invalid_field", "type",
					  "type is dynamic (members by filter) or static (a list)");
		json_object_set_new(rec, "type", json_string(t));
	}
	if (desc) {
		if (!json_is_null(desc) && (!json_is_string(desc) || strlen(json_string_value(desc)) > 2000))
			return kz_err_set(err, 422, "invalid_field", "description",
					  "description is text up to 2000 characters");
		json_object_set(rec, "description", (json_t *)desc);
	}
	if (!strcmp(json_string_value(json_object_get(rec, "type")), "static")) {
		if (filter && !json_is_null(filter))
			return kz_err_set(err, 422, "invalid_field", "filter",
					  "a static list has no filter: add members instead");
		return 0;
	}
	if (filter || creating) {
		json_t *defs = field_defs(app);
		int rc;
		if (!filter)
			rc = kz_err_set(err, 422, "invalid_filter", "/filter",
					"a dynamic segment needs a filter; see docs/filters.md");
		else
			rc = kz_audience_check_filter(app->audience, self, filter, defs, "/filter",
						      err);
		json_decref(defs);
		if (rc < 0)
			return -1;
		json_object_set(rec, "filter", (json_t *)filter);
	}
	return 0;
}

static json_t *with_count(kz_app *app, json_t *seg)
{
	int64_t n = 0;
	kz_err err;
	if (kz_audience_segment_count(app->audience, json_integer_value(json_object_get(seg, "id")),
				      &n, &err) == 0)
		json_object_set_new(seg, "count", json_integer(n));
	else
		json_object_set_new(seg, "count", json_null());
	return seg;
}

static int answer_segment(kz_req *req, kz_resp *resp, int64_t id, int status)
{
	kz_app *app = req->app;
	kz_conn *c = kz_store_acquire(app->store);
	json_t *out = NULL;
	kz_err err;
	int rc = kz_store_segment_get(c, id, &out, &err);
	kz_store_release(c);
	if (rc < 0)
		return kz_resp_error(resp, &err);
	return kz_resp_json(resp, status, with_count(app, out));
}

/* Commit the segment change, let the engine re-evaluate, answer the segment (or 204). */
static void commit_and_answer(kz_req *req, kz_resp *resp, kz_conn *c, int64_t id, int status)
{
	kz_app *app = req->app;
	kz_err err;
	if (kz_api_commit(c, resp) < 0)
		return;
	if (kz_audience_segments_changed(app->audience, &err) < 0)
		kz_resp_error(resp, &err);
	else if (status == 204)
		kz_resp_empty(resp, 204);
	else
		answer_segment(req, resp, id, status);
}

static int create(kz_req *req, kz_resp *resp)
{
	json_t *in, *rec = json_object();
	kz_conn *c;
	kz_err err;
	int64_t id = 0;
	if (!aud(req, resp) || !(in = kz_req_json(req, resp))) {
		json_decref(rec);
		return 0;
	}
	if (apply(req, rec, in, 0, 1, &err) < 0) {
		kz_resp_error(resp, &err);
		goto done;
	}
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	if (kz_store_segment_save(c, rec, &id, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	commit_and_answer(req, resp, c, id, 201);
done:
	json_decref(in);
	json_decref(rec);
	return 0;
}

static int get_one(kz_req *req, kz_resp *resp)
{
	int64_t id;
	if (!aud(req, resp) || kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	return answer_segment(req, resp, id, 200);
}

static int list(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *data = NULL, *seg;
	size_t i;
	kz_conn *c;
	kz_err err;
	int rc;
	if (!aud(req, resp))
		return 0;
	c = kz_store_acquire(app->store);
	rc = kz_store_segment_list(c, &data, &err);
	kz_store_release(c);
	if (rc < 0)
		return kz_resp_error(resp, &err);
	json_array_foreach(data, i, seg)
		with_count(app, seg);
	return kz_resp_json(resp, 200, kz_api_page(data, NULL));
}

static int patch(kz_req *req, kz_resp *resp)
{
	json_t *in = NULL, *rec = NULL;
	kz_conn *c;
	kz_err err;
	int64_t id;
	if (!aud(req, resp) || kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	in = kz_req_json(req, resp);
	if (!in)
		return 0;
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	if (kz_store_segment_get(c, id, &rec, &err) < 0 || apply(req, rec, in, id, 0, &err) < 0 ||
	    kz_store_segment_save(c, rec, &id, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	commit_and_answer(req, resp, c, id, 200);
done:
	json_decref(in);
	json_decref(rec);
	return 0;
}

/* The id of another segment whose filter names `id`, or 0. */
static int64_t referenced_by(const json_t *segs, int64_t id)
{
	size_t i;
	json_t *s;
	json_array_foreach(segs, i, s)
	{
		kz_err err;
		kz_fnode *f = kz_filter_parse(json_object_get(s, "filter"), NULL, "", &err);
		int64_t *ids = NULL, other = json_integer_value(json_object_get(s, "id"));
		int n = 0, hit = 0;
		kz_filter_refs(f, &ids, &n);
		for (int k = 0; k < n; k++)
			hit |= ids[k] == id;
		free(ids);
		kz_filter_free(f);
		if (hit && other != id)
			return other;
	}
	return 0;
}

static int delete_one(kz_req *req, kz_resp *resp)
{
	json_t *segs = NULL;
	int64_t id, by;
	kz_conn *c;
	kz_err err;
	if (!aud(req, resp) || kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	c = kz_api_begin(req, resp, 1);
	if (!c)
		return 0;
	if (kz_store_segment_list(c, &segs, &err) < 0)
		return kz_api_fail(c, resp, &err);
	by = referenced_by(segs, id);
	json_decref(segs);
	if (by) {
		kz_err_set(&err, 409, "conflict", "id",
			   "segment %" PRId64 " uses this one in its filter; change it first", by);
		return kz_api_fail(c, resp, &err);
	}
	if (kz_store_segment_delete(c, id, &err) < 0)
		return kz_api_fail(c, resp, &err);
	commit_and_answer(req, resp, c, id, 204);
	return 0;
}

static int count(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	int64_t id, n = 0;
	kz_err err;
	if (!aud(req, resp) || kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	if (kz_audience_segment_count(app->audience, id, &n, &err) < 0)
		return kz_resp_error(resp, &err);
	return kz_resp_json(resp, 200, json_pack("{s:I, s:I}", "id", (json_int_t)id, "count",
						 (json_int_t)n));
}

/* Contact records for ids, decorated; ids without a record (just deleted) are skipped. */
static json_t *contacts_of(kz_app *app, const int64_t *ids, int n)
{
	kz_conn *c = kz_store_acquire(app->store);
	json_t *out = json_array();
	for (int i = 0; i < n; i++) {
		json_t *rec = NULL;
		kz_err err;
		if (kz_store_contact_get(c, ids[i], &rec, &err) == 0) {
			kz_audience_decorate(app->audience, rec);
			json_array_append_new(out, rec);
		}
	}
	kz_store_release(c);
	return out;
}

static int parse_after(kz_req *req, kz_resp *resp, int64_t *after)
{
	const char *s = kz_req_query(req, "cursor");
	char *end;
	*after = 0;
	if (!s || !*s)
		return 0;
	*after = strtoll(s, &end, 10);
	if (*end || *after < 0) {
		kz_resp_errorf(resp, 400, "invalid_parameter", "cursor",
			       "cursor is not one this server gave out; start again without it");
		return -1;
	}
	return 0;
}

static int members(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	int64_t id, after, ids[500];
	int limit, n = 0, more = 0;
	char *cursor = NULL;
	kz_err err;
	if (!aud(req, resp) || kz_req_id(req, 0, &id, resp) < 0 ||
	    kz_api_limit(req, resp, &limit) < 0 || parse_after(req, resp, &after) < 0)
		return 0;
	if (kz_audience_segment_page(app->audience, id, after, limit, ids, &n, &more, &err) < 0)
		return kz_resp_error(resp, &err);
	if (more && n > 0) {
		char buf[32];
		snprintf(buf, sizeof buf, "%" PRId64, ids[n - 1]);
		cursor = strdup(buf);
	}
	return kz_resp_json(resp, 200, kz_api_page(contacts_of(app, ids, n), cursor));
}

static int preview(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *in, *defs;
	int64_t total = 0, ids[PREVIEW_MEMBERS];
	int n = 0, rc;
	kz_err err;
	struct timespec t0, t1, c0, c1;
	if (!aud(req, resp) || !(in = kz_req_json(req, resp)))
		return 0;
	if (!json_object_get(in, "filter")) {
		json_decref(in);
		return kz_resp_errorf(resp, 422, "invalid_filter", "/filter",
				      "send {\"filter\": {...}}; see docs/filters.md");
	}
	defs = field_defs(app);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* the evaluation runs on this thread and helpers of its own: the process's CPU time
	 * (on an otherwise idle server, the evaluation's) */
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	rc = kz_audience_preview(app->audience, json_object_get(in, "filter"), defs,
				 PREVIEW_MEMBERS, &total, ids, &n, &err);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	json_decref(defs);
	json_decref(in);
	if (rc < 0)
		return kz_resp_error(resp, &err);
	/* took_ms / took_cpu_ms: the evaluation over the index alone, wall clock and CPU summed
	 * over its threads (the benchmark reports both; CPU time is what a shared machine does
	 * not inflate) */
	return kz_resp_json(resp, 200,
			    json_pack("{s:I, s:o, s:f, s:f}", "count", (json_int_t)total, "members",
				      contacts_of(app, ids, n), "took_ms",
				      (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
					      (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
				      "took_cpu_ms",
				      (double)(c1.tv_sec - c0.tv_sec) * 1e3 +
					      (double)(c1.tv_nsec - c0.tv_nsec) / 1e6));
}

/* contact_ids and emails of the body as ids; 422 for an unknown email. */
static int collect_ids(kz_app *app, const json_t *in, int64_t **ids, int *n, kz_err *err)
{
	const json_t *cids = json_object_get(in, "contact_ids"), *emails = json_object_get(in, "emails");
	size_t i, total = json_array_size(cids) + json_array_size(emails);
	json_t *x;
	kz_conn *c;
	int rc = 0;
	if ((cids && !json_is_array(cids)) || (emails && !json_is_array(emails)))
		return kz_err_set(err, 422, "invalid_field", cids ? "contact_ids" : "emails",
				  "contact_ids and emails are lists");
	if (total > MAX_LIST_IDS)
		return kz_err_set(err, 413, "too_large", "contact_ids",
				  "at most %d contacts per request; send several", MAX_LIST_IDS);
	*ids = calloc(total + 1, sizeof **ids);
	*n = 0;
	json_array_foreach(cids, i, x)
	{
		if (!json_is_integer(x) || json_integer_value(x) <= 0) {
			char f[48];
			snprintf(f, sizeof f, "contact_ids/%zu", i);
			return kz_err_set(err, 422, "invalid_field", f, "a contact id is a positive whole number");
		}
		(*ids)[(*n)++] = json_integer_value(x);
	}
	c = kz_store_acquire(app->store);
	json_array_foreach(emails, i, x)
	{
		char *clean = NULL;
		int64_t id = 0;
		char f[48];
		snprintf(f, sizeof f, "emails/%zu", i);
		if (!json_is_string(x) || kz_clean_email(json_string_value(x), &clean) < 0) {
			rc = kz_err_set(err, 422, "invalid_field", f, "not an email address");
			break;
		}
		rc = kz_store_contact_by_email(c, clean, &id, err);
		free(clean);
		if (rc == 0 && !id)
			rc = kz_err_set(err, 422, "invalid_field", f, "no contact has the email %s",
					json_string_value(x));
		if (rc < 0)
			break;
		(*ids)[(*n)++] = id;
	}
	kz_store_release(c);
	return rc;
}

static int add_members(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *in;
	int64_t id, *ids = NULL, n64 = 0;
	int n = 0, changed = 0, mode;
	const char *m;
	kz_err err;
	if (!aud(req, resp) || kz_req_id(req, 0, &id, resp) < 0 || !(in = kz_req_json(req, resp)))
		return 0;
	m = json_string_value(json_object_get(in, "mode"));
	if (!m || (strcmp(m, "append") && strcmp(m, "replace"))) {
		kz_err_set(&err, 422, "invalid_field", "mode",
			   "mode is append (add to the list) or replace (the list becomes exactly "
			   "these contacts)");
		goto fail;
	}
	mode = !strcmp(m, "append") ? KZ_LIST_APPEND : KZ_LIST_REPLACE;
	if (collect_ids(app, in, &ids, &n, &err) < 0 ||
	    kz_audience_list_update(app->audience, id, ids, n, mode, &changed, &err) < 0 ||
	    kz_audience_segment_count(app->audience, id, &n64, &err) < 0)
		goto fail;
	free(ids);
	json_decref(in);
	return kz_resp_json(resp, 200, json_pack("{s:i, s:I}", "changed", changed, "count",
						 (json_int_t)n64));
fail:
	free(ids);
	json_decref(in);
	return kz_resp_error(resp, &err);
}

static int remove_member(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	int64_t id, cid;
	int changed = 0;
	kz_err err;
	if (!aud(req, resp) || kz_req_id(req, 0, &id, resp) < 0 || kz_req_id(req, 1, &cid, resp) < 0)
		return 0;
	if (kz_audience_list_update(app->audience, id, &cid, 1, KZ_LIST_REMOVE, &changed, &err) < 0)
		return kz_resp_error(resp, &err);
	if (!changed)
		return kz_resp_errorf(resp, 404, "not_found", "contact",
				      "contact %" PRId64 " is not on this list", cid);
	return kz_resp_empty(resp, 204);
}

static void csv_row(kz_buf *b, const json_t *rec)
{
	static const char *const cols[] = {"email", "first_name", "last_name", "phone"};
	char num[32];
	const json_t *tags = json_object_get(rec, "tags"), *t;
	kz_buf tb;
	size_t i;
	snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(rec, "id")));
	kz_csv_write_field(b, num);
	for (int k = 0; k < 4; k++) {
		kz_buf_addc(b, ',');
		kz_csv_write_field(b, json_string_value(json_object_get(rec, cols[k])));
	}
	kz_buf_addc(b, ',');
	kz_csv_write_field(b, json_string_value(json_object_get(json_object_get(rec, "company"), "name")));
	kz_buf_init(&tb, 0);
	json_array_foreach(tags, i, t)
	{
		if (i)
			kz_buf_addc(&tb, ';');
		kz_buf_adds(&tb, json_string_value(t));
	}
	kz_buf_addc(b, ',');
	kz_csv_write_field(b, tb.data ? tb.data : "");
	kz_buf_release(&tb);
	snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(rec, "score")));
	kz_buf_addc(b, ',');
	kz_csv_write_field(b, num);
	kz_buf_addc(b, ',');
	kz_csv_write_field(b, json_string_value(json_object_get(rec, "stage")));
	kz_buf_adds(b, "\r\n");
}

static int export_csv(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	const char *fmt = kz_req_query(req, "format");
	int64_t id, after = 0, ids[500];
	int n, more = 1;
	kz_buf b;
	kz_err err;
	char disp[80];
	if (!aud(req, resp) || kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	if (fmt && strcmp(fmt, "csv"))
		return kz_resp_errorf(resp, 400, "invalid_parameter", "format",
				      "format is csv (the only export format)");
	kz_buf_init(&b, 0);
	kz_buf_adds(&b, "\xEF\xBB\xBFid,email,first_name,last_name,phone,company,tags,score,stage\r\n");
	while (more) {
		json_t *recs, *rec;
		size_t i;
		if (kz_audience_segment_page(app->audience, id, after, 500, ids, &n, &more, &err) < 0) {
			kz_buf_release(&b);
			return kz_resp_error(resp, &err);
		}
		if (n == 0)
			break;
		after = ids[n - 1];
		recs = contacts_of(app, ids, n);
		json_array_foreach(recs, i, rec)
			csv_row(&b, rec);
		json_decref(recs);
	}
	snprintf(disp, sizeof disp, "attachment; filename=\"segment-%" PRId64 ".csv\"", id);
	kz_resp_header(resp, "Content-Disposition", disp);
	{
		size_t len = b.len;
		char *body = kz_buf_detach(&b, NULL);
		return kz_resp_text(resp, 200, "text/csv; charset=utf-8", body, len);
	}
}

void kz_api_segments_routes(kz_server *s)
{
	kz_server_route(s, "POST", "/api/v1/segments", KZ_ROLE_MARKETER, 0, create);
	kz_server_route(s, "GET", "/api/v1/segments", KZ_ROLE_VIEWER, 0, list);
	kz_server_route(s, "POST", "/api/v1/segments/preview", KZ_ROLE_VIEWER, 0, preview);
	kz_server_route(s, "GET", "/api/v1/segments/{id}", KZ_ROLE_VIEWER, 0, get_one);
	kz_server_route(s, "PATCH", "/api/v1/segments/{id}", KZ_ROLE_MARKETER, 0, patch);
	kz_server_route(s, "DELETE", "/api/v1/segments/{id}", KZ_ROLE_MARKETER, 0, delete_one);
	kz_server_route(s, "GET", "/api/v1/segments/{id}/count", KZ_ROLE_VIEWER, 0, count);
	kz_server_route(s, "GET", "/api/v1/segments/{id}/members", KZ_ROLE_VIEWER, 0, members);
	kz_server_route(s, "POST", "/api/v1/segments/{id}/members", KZ_ROLE_MARKETER, 0,
			add_members);
	kz_server_route(s, "DELETE", "/api/v1/segments/{id}/members/{contact}", KZ_ROLE_MARKETER, 0,
			remove_member);
	kz_server_route(s, "GET", "/api/v1/segments/{id}/export", KZ_ROLE_VIEWER, 0, export_csv);
}
