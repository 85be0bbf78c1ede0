/* journeys.c — /api/v1/journeys: definitions (drafts may be incomplete, live ones must be
 * valid), validation, activate/pause/archive, versions and migration of people inside,
 * enrolment by API, stats per step, and /api/v1/contacts/{id}/journeys. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "audience/audience.h"
#include "base/timeutil.h"
#include "journey/journey.h"

#include "base/banned.h"

#define MAX_ENROL_IDS 10000

/* A string member or `dflt`. */
static const char *jstr_or(const json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : dflt;
}

/* ---- validation against the store ---- */

typedef struct env_ctx {
	kz_conn *c;
	kz_app *app;
	json_t *field_defs;
} env_ctx;

static int email_exists(void *ctx, int64_t id)
{
	env_ctx *e = ctx;
	json_t *rec = NULL;
	kz_err err;
	int ok = kz_store_email_get(e->c, id, &rec, &err) == 0;
	json_decref(rec);
	return ok;
}

static int segment_kind(void *ctx, int64_t id)
{
	env_ctx *e = ctx;
	json_t *rec = NULL;
	kz_err err;
	int kind;
	if (kz_store_segment_get(e->c, id, &rec, &err) < 0)
		return -1;
	kind = !strcmp(jstr_or(rec, "type", ""), "static");
	json_decref(rec);
	return kind;
}

static int user_exists(void *ctx, int64_t id)
{
	env_ctx *e = ctx;
	json_t *rec = NULL;
	kz_err err;
	int ok = kz_store_user_get(e->c, id, &rec, &err) == 0;
	json_decref(rec);
	return ok;
}

static int check_filter(void *ctx, const json_t *filter, char *msg, size_t len)
{
	env_ctx *e = ctx;
	kz_err err;
	if (!e->app->audience)
		return 0;
	if (kz_audience_check_filter(e->app->audience, 0, filter, e->field_defs, "", &err) < 0) {
		snprintf(msg, len, "%s%s%s", err.message, err.field[0] ? " (at " : "",
			 err.field[0] ? err.field : "");
		if (err.field[0])
			snprintf(msg + strlen(msg), len - strlen(msg), ")");
		return -1;
	}
	return 0;
}

static int field_kind(void *ctx, const char *key)
{
	env_ctx *e = ctx;
	size_t i;
	json_t *f;
	json_array_foreach(e->field_defs, i, f) {
		if (!strcmp(jstr_or(f, "key", ""), key))
			return !strcmp(jstr_or(f, "type", ""), "date") ? 2 : 1;
	}
	return 0;
}

/* The problems of `def` (new reference). */
static json_t *problems_of(kz_conn *c, kz_app *app, const json_t *def)
{
	env_ctx ctx = {c, app, NULL};
	kz_err err;
	kz_journey_env env = {email_exists, segment_kind, user_exists, check_filter, field_kind,
			      &ctx};
	json_t *p;
	if (kz_store_field_list(c, &ctx.field_defs, &err) < 0)
		ctx.field_defs = json_array();
	p = kz_journey_check(def, &env);
	json_decref(ctx.field_defs);
	return p;
}

/* 422 naming the first problem and listing them all. Takes problems. */
static int invalid(kz_resp *resp, json_t *problems)
{
	json_t *first = json_array_get(problems, 0);
	json_t *body = json_pack(
		"{s:{s:s, s:s, s:s, s:o}}", "error", "code", "invalid_field", "message",
		jstr_or(first, "message", "the definition is not valid"), "field",
		jstr_or(first, "field", "definition"), "problems", problems);
	return kz_resp_json(resp, 422, body);
}

/* ---- records ---- */

static json_t *skeleton(void)
{
	return json_pack("{s:[], s:n, s:{}, s:{s:s}}", "triggers", "start", "steps", "settings",
			 "reentry", "never");
}

static int read_text(const json_t *in, const char *key, size_t max, int required, kz_resp *resp,
		     const char **out)
{
	const json_t *v = json_object_get(in, key);
	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required) {
			kz_resp_errorf(resp, 422, "invalid_field", key, "%s is required", key);
			return -1;
		}
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) > max ||
	    (required && json_string_length(v) == 0)) {
		kz_resp_errorf(resp, 422, "invalid_field", key, "%s is text of 1 to %zu characters", key,
			       max);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* name, description and definition of a create (name required) or PATCH body. */
static int read_input(const json_t *in, int create, kz_resp *resp, const char **name,
		      const char **desc, const json_t **def)
{
	*def = json_object_get(in, "definition");
	if (read_text(in, "name", 200, create || json_object_get(in, "name"), resp, name) < 0 ||
	    read_text(in, "description", 2000, 0, resp, desc) < 0)
		return -1;
	if (*def && !json_is_object(*def)) {
		kz_resp_errorf(resp, 422, "invalid_field", "definition",
			       "definition is an object with triggers, start, steps and settings");
		return -1;
	}
	return 0;
}

static void answer_with_problems(json_t *rec, json_t *problems)
{
	json_object_set_new(rec, "problems", problems);
	json_object_set_new(rec, "valid", json_boolean(json_array_size(problems) == 0));
}

static int create(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *in = kz_req_json(req, resp), *rec = NULL, *out = NULL, *problems = NULL;
	const json_t *def;
	const char *name, *desc;
	int64_t id = 0;
	kz_conn *c;
	kz_err err;
	if (!in)
		return 0;
	if (read_input(in, 1, resp, &name, &desc, &def) < 0)
		goto done;
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	rec = json_pack("{s:s, s:s?, s:s, s:i, s:O}", "name", name, "description", desc, "status",
			"draft", "version", 1, "definition", def ? (json_t *)def : NULL);
	if (!def)
		json_object_set_new(rec, "definition", skeleton());
	problems = problems_of(c, app, json_object_get(rec, "definition"));
	if (kz_store_journey_save(c, rec, &id, &err) < 0 ||
	    kz_store_journey_version_put(c, id, 1, json_object_get(rec, "definition"), &err) < 0 ||
	    kz_store_journey_get(c, id, &out, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	answer_with_problems(out, problems);
	problems = NULL;
	kz_api_done(c, resp, 201, &out);
done:
	json_decref(in);
	json_decref(rec);
	json_decref(out);
	json_decref(problems);
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
	if (kz_store_journey_get(c, id, &out, &err) < 0) {
		kz_store_release(c);
		return kz_resp_error(resp, &err);
	}
	answer_with_problems(out, problems_of(c, app, json_object_get(out, "definition")));
	kz_store_release(c);
	return kz_resp_json(resp, 200, out);
}

static int list(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	const char *status = kz_req_query(req, "status");
	json_t *data = NULL;
	char *next = NULL;
	int limit, rc;
	kz_conn *c;
	kz_err err;
	if (status && strcmp(status, "draft") && strcmp(status, "active") &&
	    strcmp(status, "paused") && strcmp(status, "archived"))
		return kz_resp_errorf(resp, 400, "invalid_parameter", "status",
				      "status is draft, active, paused or archived");
	if (kz_api_limit(req, resp, &limit) < 0)
		return 0;
	c = kz_store_acquire(app->store);
	rc = kz_store_journey_list(c, status, kz_req_query(req, "cursor"), limit, &data, &next, &err);
	kz_store_release(c);
	if (rc < 0)
		return kz_resp_error(resp, &err);
	return kz_resp_json(resp, 200, kz_api_page(data, next));
}

static int patch(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *in = kz_req_json(req, resp), *cur = NULL, *out = NULL, *problems = NULL;
	const json_t *def;
	const char *name, *desc, *status;
	int64_t id;
	kz_conn *c;
	kz_err err;
	if (!in)
		return 0;
	if (kz_req_id(req, 0, &id, resp) < 0 || read_input(in, 0, resp, &name, &desc, &def) < 0)
		goto done;
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	if (kz_store_journey_get(c, id, &cur, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	status = jstr_or(cur, "status", "draft");
	if (!strcmp(status, "archived")) {
		kz_err_set(&err, 409, "conflict", "status",
			   "journey %" PRId64 " is archived: copy it into a new journey to change it", id);
		kz_api_fail(c, resp, &err);
		goto done;
	}
	if (name)
		json_object_set_new(cur, "name", json_string(name));
	if (json_object_get(in, "description"))
		json_object_set(cur, "description", json_object_get(in, "description"));
	if (def && !json_equal(def, json_object_get(cur, "definition"))) {
		problems = problems_of(c, app, def);
		if (strcmp(status, "draft")) {
			/* a live journey stays valid: a new version, people inside stay on theirs */
			int64_t v = json_integer_value(json_object_get(cur, "version")) + 1;
			if (json_array_size(problems)) {
				kz_tx_rollback(c);
				kz_store_release(c);
				invalid(resp, problems);
				problems = NULL;
				goto done;
			}
			json_object_set_new(cur, "version", json_integer(v));
			if (kz_store_journey_version_put(c, id, v, def, &err) < 0) {
				kz_api_fail(c, resp, &err);
				goto done;
			}
		} else if (kz_store_journey_version_put(
				   c, id, json_integer_value(json_object_get(cur, "version")), def,
				   &err) < 0) {
			kz_api_fail(c, resp, &err);
			goto done;
		}
		json_object_set(cur, "definition", (json_t *)def);
	}
	{
		int64_t act_ms = 0;
		const char *act = jstr_or(cur, "activated_at", "");
		if (*act && kz_time_parse_iso(act, &act_ms) == 0)
			json_object_set_new(cur, "activated_at_ms", json_integer(act_ms));
	}
	if (kz_store_journey_save(c, cur, &id, &err) < 0 ||
	    kz_store_journey_get(c, id, &out, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	answer_with_problems(out, problems ? problems
					   : problems_of(c, app, json_object_get(out, "definition")));
	problems = NULL;
	if (kz_api_done(c, resp, 200, &out) == 0 && app->journeys)
		kz_journeys_kick(app->journeys);
done:
	json_decref(in);
	json_decref(cur);
	json_decref(out);
	json_decref(problems);
	return 0;
}

/* Only drafts and archived journeys go (a live one is archived first: people inside leave). */
static int delete_journey(kz_conn *c, int64_t id, kz_err *err)
{
	json_t *cur = NULL;
	const char *st;
	int live;
	if (kz_store_journey_get(c, id, &cur, err) < 0)
		return -1;
	st = jstr_or(cur, "status", "");
	live = !strcmp(st, "active") || !strcmp(st, "paused");
	json_decref(cur);
	if (live)
		return kz_err_set(err, 409, "conflict", "status",
				  "journey %" PRId64 " is live: archive it first (people inside leave), "
				  "then delete it",
				  id);
	return kz_store_journey_delete(c, id, err);
}

static int delete_one(kz_req *req, kz_resp *resp)
{
	return kz_api_delete(req, resp, delete_journey, NULL);
}

/* Move journey {id} to `to` from one of `from` (NULL-terminated). */
static int transition(kz_req *req, kz_resp *resp, const char *to, const char *const *from)
{
	kz_app *app = req->app;
	json_t *cur = NULL, *out = NULL, *problems = NULL;
	int64_t id, now = kz_now_ms(), enrolled = 0;
	char status[16];
	int ok = 0;
	kz_conn *c;
	kz_err err;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	c = kz_api_begin(req, resp, 1);
	if (!c)
		return 0;
	if (kz_store_journey_get(c, id, &cur, &err) < 0)
		return kz_api_fail(c, resp, &err);
	snprintf(status, sizeof status, "%s", jstr_or(cur, "status", "draft"));
	for (int i = 0; from[i]; i++)
		ok |= !strcmp(status, from[i]);
	if (!strcmp(status, to)) {
		ok = 1;
	} else if (!ok) {
		kz_err_set(&err, 409, "conflict", "status", "journey %" PRId64 " is %s: it cannot be %s",
			   id, status,
			   !strcmp(to, "active")   ? "activated"
			   : !strcmp(to, "paused") ? "paused"
						   : "archived");
		json_decref(cur);
		return kz_api_fail(c, resp, &err);
	}
	if (!strcmp(to, "active")) {
		problems = problems_of(c, app, json_object_get(cur, "definition"));
		if (json_array_size(problems)) {
			json_decref(cur);
			kz_tx_rollback(c);
			kz_store_release(c);
			return invalid(resp, problems);
		}
		json_decref(problems);
		problems = NULL;
	}
	if (strcmp(status, to)) {
		int64_t act_ms = 0;
		const char *act = jstr_or(cur, "activated_at", "");
		if (*act)
			kz_time_parse_iso(act, &act_ms);
		if (!strcmp(to, "active") && !act_ms)
			act_ms = now;
		if (act_ms)
			json_object_set_new(cur, "activated_at_ms", json_integer(act_ms));
		json_object_set_new(cur, "status", json_string(to));
		if (kz_store_journey_save(c, cur, &id, &err) < 0 ||
		    kz_store_journey_version_put(c, id,
						 json_integer_value(json_object_get(cur, "version")),
						 json_object_get(cur, "definition"), &err) < 0 ||
		    (!strcmp(to, "active") && !strcmp(status, "draft") &&
		     kz_journey_activated(c, cur, &enrolled, &err) < 0) ||
		    (!strcmp(to, "archived") &&
		     kz_store_enrol_exit_all(c, id, "the journey was archived", now, &err) < 0)) {
			json_decref(cur);
			return kz_api_fail(c, resp, &err);
		}
	}
	json_decref(cur);
	if (kz_store_journey_get(c, id, &out, &err) < 0)
		return kz_api_fail(c, resp, &err);
	if (!strcmp(to, "active"))
		json_object_set_new(out, "enrolled", json_integer(enrolled));
	if (kz_api_done(c, resp, 200, &out) == 0 && app->journeys)
		kz_journeys_kick(app->journeys);
	json_decref(out);
	return 0;
}

static int activate(kz_req *req, kz_resp *resp)
{
	static const char *const from[] = {"draft", "paused", NULL};
	return transition(req, resp, "active", from);
}

static int pause_one(kz_req *req, kz_resp *resp)
{
	static const char *const from[] = {"active", NULL};
	return transition(req, resp, "paused", from);
}

static int archive(kz_req *req, kz_resp *resp)
{
	static const char *const from[] = {"draft", "active", "paused", NULL};
	return transition(req, resp, "archived", from);
}

static int validate(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *in = kz_req_json(req, resp), *problems, *def;
	kz_conn *c;
	if (!in)
		return 0;
	/* the body is a definition; {"definition": {...}} is taken too */
	def = json_object_get(in, "definition") && json_is_object(json_object_get(in, "definition"))
		      ? json_object_get(in, "definition")
		      : in;
	c = kz_store_acquire(app->store);
	problems = problems_of(c, app, def);
	kz_store_release(c);
	json_decref(in);
	return kz_resp_json(resp, 200,
			    json_pack("{s:b, s:o}", "valid", json_array_size(problems) == 0,
				      "problems", problems));
}

static int versions(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *cur = NULL, *data = NULL;
	int64_t id;
	kz_conn *c;
	kz_err err;
	int rc;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	c = kz_store_acquire(app->store);
	rc = kz_store_journey_get(c, id, &cur, &err);
	if (rc == 0)
		rc = kz_store_journey_versions(c, id, &data, &err);
	kz_store_release(c);
	json_decref(cur);
	if (rc < 0)
		return kz_resp_error(resp, &err);
	return kz_resp_json(resp, 200, kz_api_page(data, NULL));
}

static int migrate(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *in = kz_req_json(req, resp), *cur = NULL, *old = NULL, *moved = json_object();
	const json_t *mapping, *steps_new;
	const char *sid;
	json_t *sdef;
	int64_t id, from, to, total = 0, now = kz_now_ms();
	kz_conn *c = NULL;
	kz_err err;
	if (!in)
		goto done;
	if (kz_req_id(req, 0, &id, resp) < 0)
		goto done;
	mapping = json_object_get(in, "mapping");
	if (!json_is_integer(json_object_get(in, "from_version"))) {
		kz_resp_errorf(resp, 422, "invalid_field", "from_version",
			       "from_version is required: the version people are moved from");
		goto done;
	}
	if (mapping && !json_is_object(mapping)) {
		kz_resp_errorf(resp, 422, "invalid_field", "mapping",
			       "mapping is an object {\"oldStep\": \"newStep\"}");
		goto done;
	}
	from = json_integer_value(json_object_get(in, "from_version"));
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	if (kz_store_journey_get(c, id, &cur, &err) < 0 ||
	    kz_store_journey_version_get(c, id, from, &old, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	to = json_integer_value(json_object_get(cur, "version"));
	if (from >= to) {
		kz_err_set(&err, 422, "invalid_field", "from_version",
			   "from_version must be older than the current version %" PRId64, to);
		kz_api_fail(c, resp, &err);
		goto done;
	}
	steps_new = json_object_get(json_object_get(cur, "definition"), "steps");
	/* every step of the old version needs a home: the mapped step or the same id */
	json_object_foreach(json_object_get(old, "steps"), sid, sdef) {
		const char *target = json_string_value(json_object_get(mapping, sid));
		char field[120];
		int64_t n = 0;
		if (!target)
			target = sid;
		snprintf(field, sizeof field, "mapping.%s", sid);
		if (!json_object_get(steps_new, target)) {
			kz_err_set(&err, 422, "invalid_field", field,
				   "step %s of version %" PRId64 " has no step %s in version %" PRId64
				   ": map it to one that exists",
				   sid, from, target, to);
			kz_api_fail(c, resp, &err);
			goto done;
		}
		if (kz_store_enrol_migrate(c, id, from, sid, to, target, now, &n, &err) < 0) {
			kz_api_fail(c, resp, &err);
			goto done;
		}
		if (n)
			json_object_set_new(moved, sid, json_integer(n));
		total += n;
	}
	if (kz_api_commit(c, resp) < 0)
		goto done;
	if (app->journeys)
		kz_journeys_kick(app->journeys);
	kz_resp_json(resp, 200,
		     json_pack("{s:I, s:I, s:I, s:O}", "from_version", (json_int_t)from, "to_version",
			       (json_int_t)to, "moved", (json_int_t)total, "steps", moved));
done:
	json_decref(in);
	json_decref(cur);
	json_decref(old);
	json_decref(moved);
	return 0;
}

static int enroll(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *in = kz_req_json(req, resp), *cur = NULL;
	const json_t *one, *many, *v;
	int64_t *ids = NULL, id, enrolled = 0;
	int n = 0;
	size_t i;
	kz_conn *c;
	kz_err err;
	if (!in)
		return 0;
	if (kz_req_id(req, 0, &id, resp) < 0)
		goto done;
	one = json_object_get(in, "contact_id");
	many = json_object_get(in, "contact_ids");
	if (one && json_is_integer(one) && json_integer_value(one) > 0) {
		ids = malloc(sizeof *ids);
		ids[n++] = json_integer_value(one);
	} else if (json_is_array(many) && json_array_size(many) > 0 &&
		   json_array_size(many) <= MAX_ENROL_IDS) {
		ids = malloc(json_array_size(many) * sizeof *ids);
		json_array_foreach(many, i, v) {
			if (!json_is_integer(v) || json_integer_value(v) <= 0) {
				kz_resp_errorf(resp, 422, "invalid_field", "contact_ids",
					       "contact_ids holds contact ids (item %zu is not one)", i);
				goto done;
			}
			ids[n++] = json_integer_value(v);
		}
	} else {
		kz_resp_errorf(resp, 422, "invalid_field", one ? "contact_id" : "contact_ids",
			       "give contact_id (a contact id) or contact_ids (1 to %d ids)",
			       MAX_ENROL_IDS);
		goto done;
	}
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	if (kz_store_journey_get(c, id, &cur, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	if (strcmp(jstr_or(cur, "status", ""), "active")) {
		kz_err_set(&err, 409, "conflict", "status",
			   "journey %" PRId64 " is %s: only active journeys take enrolments", id,
			   jstr_or(cur, "status", ""));
		kz_api_fail(c, resp, &err);
		goto done;
	}
	if (n == 1) {
		json_t *contact = NULL;
		if (kz_store_contact_get(c, ids[0], &contact, &err) < 0) {
			if (err.status == 404)
				kz_err_set(&err, 422, "invalid_field", "contact_id",
					   "there is no contact with id %" PRId64, ids[0]);
			kz_api_fail(c, resp, &err);
			goto done;
		}
		json_decref(contact);
	}
	{
		char key[64];
		snprintf(key, sizeof key, "api:%" PRId64, kz_now_ms());
		if (kz_journey_enrol_ids(c, cur, ids, n, kz_journey_entry_key(cur, key), NULL,
					 &enrolled, &err) < 0) {
			kz_api_fail(c, resp, &err);
			goto done;
		}
	}
	if (kz_api_commit(c, resp) < 0)
		goto done;
	if (app->journeys)
		kz_journeys_kick(app->journeys);
	kz_resp_json(resp, 200,
		     json_pack("{s:I, s:I, s:I}", "journey_id", (json_int_t)id, "enrolled",
			       (json_int_t)enrolled, "skipped", (json_int_t)(n - enrolled)));
done:
	free(ids);
	json_decref(in);
	json_decref(cur);
	return 0;
}

/* The stats of the store shaped per step of the definition. */
static json_t *shape_stats(const json_t *journey, json_t *raw)
{
	const json_t *steps = json_object_get(json_object_get(journey, "definition"), "steps");
	const json_t *rs = json_object_get(raw, "steps");
	json_t *out = json_object(), *sdef;
	const char *sid;
	int64_t enrolled = json_integer_value(json_object_get(raw, "enrolled"));
	int64_t goal = json_integer_value(json_object_get(raw, "goal_reached"));
	json_object_foreach((json_t *)steps, sid, sdef) {
		const json_t *r = json_object_get(rs, sid), *outcomes = json_object_get(r, "outcomes");
		const char *type = jstr_or(sdef, "type", "");
		int64_t waiting = json_integer_value(json_object_get(r, "waiting"));
		int64_t executed = json_integer_value(json_object_get(r, "executed"));
		int64_t exited = json_integer_value(json_object_get(r, "exited"));
		int64_t finished = json_integer_value(json_object_get(r, "finished"));
		int64_t left = json_integer_value(json_object_get(outcomes, "exited"));
		json_t *s = json_pack("{s:I, s:I, s:I, s:I}", "entered",
				      (json_int_t)(executed + waiting + exited + finished - left),
				      "waiting", (json_int_t)waiting, "completed",
				      (json_int_t)(executed - left), "exited", (json_int_t)exited);
		if (!strcmp(type, "condition") || !strcmp(type, "wait_for_event"))
			json_object_set_new(
				s, "branches",
				json_pack("{s:I, s:I}", "yes",
					  (json_int_t)json_integer_value(json_object_get(outcomes, "yes")),
					  "no",
					  (json_int_t)json_integer_value(json_object_get(outcomes, "no"))));
		else if (!strcmp(type, "split")) {
			json_t *b = json_object();
			for (size_t k = 0; k < json_array_size(json_object_get(sdef, "branches")); k++) {
				char key[24];
				snprintf(key, sizeof key, "%zu", k);
				json_object_set_new(b, key,
						    json_integer(json_integer_value(
							    json_object_get(outcomes, key))));
			}
			json_object_set_new(s, "branches", b);
		}
		json_object_set_new(out, sid, s);
	}
	return json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:f, s:o}", "journey_id",
			 json_object_get(journey, "id"), "version", json_object_get(journey, "version"),
			 "enrolled", json_object_get(raw, "enrolled"), "active",
			 json_object_get(raw, "active"), "completed", json_object_get(raw, "completed"),
			 "exited", json_object_get(raw, "exited"), "goal_reached",
			 json_object_get(raw, "goal_reached"), "conversion_rate",
			 enrolled ? (double)goal / (double)enrolled : 0.0, "steps", out);
}

static int stats(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *cur = NULL, *raw = NULL, *out;
	const char *vq = kz_req_query(req, "version");
	int64_t id, version = 0;
	kz_conn *c;
	kz_err err;
	int rc;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	if (vq) {
		char *end;
		version = strtoll(vq, &end, 10);
		if (end == vq || *end || version <= 0)
			return kz_resp_errorf(resp, 400, "invalid_parameter", "version",
					      "version is a version number of this journey");
	}
	c = kz_store_acquire(app->store);
	rc = kz_store_journey_get(c, id, &cur, &err);
	if (rc == 0 && version) {
		json_t *def = NULL;
		rc = kz_store_journey_version_get(c, id, version, &def, &err);
		if (rc == 0) {
			json_object_set_new(cur, "definition", def);
			json_object_set_new(cur, "version", json_integer(version));
		}
	}
	if (rc == 0)
		rc = kz_store_journey_stats(c, id, version, &raw, &err);
	kz_store_release(c);
	if (rc < 0) {
		json_decref(cur);
		return kz_resp_error(resp, &err);
	}
	out = shape_stats(cur, raw);
	json_decref(cur);
	json_decref(raw);
	return kz_resp_json(resp, 200, out);
}

static int calls(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *data = NULL, *cur = NULL;
	int64_t id;
	int limit, rc;
	kz_conn *c;
	kz_err err;
	if (kz_req_id(req, 0, &id, resp) < 0 || kz_api_limit(req, resp, &limit) < 0)
		return 0;
	c = kz_store_acquire(app->store);
	rc = kz_store_journey_get(c, id, &cur, &err);
	if (rc == 0)
		rc = kz_store_jcall_list(c, id, limit, &data, &err);
	kz_store_release(c);
	json_decref(cur);
	if (rc < 0)
		return kz_resp_error(resp, &err);
	return kz_resp_json(resp, 200, kz_api_page(data, NULL));
}

/* Where the person is and why, in words. */
static void add_reason(json_t *e, const json_t *def)
{
	const char *state = jstr_or(e, "state", "");
	const char *step = jstr_or(e, "step", "");
	const char *due = jstr_or(e, "due_at", "");
	const char *we = jstr_or(e, "wait_event", "");
	const char *type = jstr_or(json_object_get(json_object_get(def, "steps"), step), "type", "");
	char why[300];
	json_object_set_new(e, "step_type", json_string(type));
	if (!strcmp(state, "active") && !json_is_string(json_object_get(e, "reason"))) {
		if (*we && *due)
			snprintf(why, sizeof why, "waiting for %s until %s", we, due);
		else if (*due)
			snprintf(why, sizeof why, "%s %s", !strcmp(type, "wait") ||
							 !strcmp(type, "wait_until")
							 ? "waiting until"
							 : "due at",
				 due);
		else
			snprintf(why, sizeof why, "at step %s", step);
		json_object_set_new(e, "reason", json_string(why));
	} else if (!json_is_string(json_object_get(e, "reason"))) {
		json_object_set_new(e, "reason",
				    json_string(!strcmp(state, "goal")	      ? "reached the goal"
						: !strcmp(state, "completed") ? "finished the journey"
									      : "left the journey"));
	}
	json_object_del(e, "wait_event");
}

static int contact_journeys(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *data = NULL, *contact = NULL, *e, *defs = json_object();
	int64_t id;
	size_t i;
	kz_conn *c;
	kz_err err;
	int rc;
	if (kz_req_id(req, 0, &id, resp) < 0) {
		json_decref(defs);
		return 0;
	}
	c = kz_store_acquire(app->store);
	rc = kz_store_contact_get(c, id, &contact, &err);
	if (rc == 0)
		rc = kz_store_contact_journeys(c, id, &data, &err);
	json_array_foreach(data, i, e) {
		char key[48];
		json_t *def;
		snprintf(key, sizeof key, "%" PRId64 ":%" PRId64,
			 (int64_t)json_integer_value(json_object_get(e, "journey_id")),
			 (int64_t)json_integer_value(json_object_get(e, "version")));
		def = json_object_get(defs, key);
		if (!def && kz_store_journey_version_get(
				    c, json_integer_value(json_object_get(e, "journey_id")),
				    json_integer_value(json_object_get(e, "version")), &def, &err) == 0)
			json_object_set_new(defs, key, def);
		add_reason(e, def);
	}
	kz_store_release(c);
	json_decref(contact);
	json_decref(defs);
	if (rc < 0)
		return kz_resp_error(resp, &err);
	return kz_resp_json(resp, 200, kz_api_page(data, NULL));
}

void kz_api_journeys_routes(kz_server *s)
{
	kz_server_route(s, "GET", "/api/v1/journeys", KZ_ROLE_VIEWER, 0, list);
	kz_server_route(s, "POST", "/api/v1/journeys", KZ_ROLE_MARKETER, 0, create);
	kz_server_route(s, "POST", "/api/v1/journeys/validate", KZ_ROLE_VIEWER, 0, validate);
	kz_server_route(s, "GET", "/api/v1/journeys/{id}", KZ_ROLE_VIEWER, 0, get_one);
	kz_server_route(s, "PATCH", "/api/v1/journeys/{id}", KZ_ROLE_MARKETER, 0, patch);
	kz_server_route(s, "DELETE", "/api/v1/journeys/{id}", KZ_ROLE_MARKETER, 0, delete_one);
	kz_server_route(s, "POST", "/api/v1/journeys/{id}/activate", KZ_ROLE_MARKETER, 0, activate);
	kz_server_route(s, "POST", "/api/v1/journeys/{id}/pause", KZ_ROLE_MARKETER, 0, pause_one);
	kz_server_route(s, "POST", "/api/v1/journeys/{id}/archive", KZ_ROLE_MARKETER, 0, archive);
	kz_server_route(s, "POST", "/api/v1/journeys/{id}/enroll", KZ_ROLE_MARKETER, 0, enroll);
	kz_server_route(s, "GET", "/api/v1/journeys/{id}/versions", KZ_ROLE_VIEWER, 0, versions);
	kz_server_route(s, "POST", "/api/v1/journeys/{id}/migrate", KZ_ROLE_MARKETER, 0, migrate);
	kz_server_route(s, "GET", "/api/v1/journeys/{id}/stats", KZ_ROLE_VIEWER, 0, stats);
	kz_server_route(s, "GET", "/api/v1/journeys/{id}/calls", KZ_ROLE_VIEWER, 0, calls);
	kz_server_route(s, "GET", "/api/v1/contacts/{id}/journeys", KZ_ROLE_VIEWER, 0,
			contact_journeys);
}
