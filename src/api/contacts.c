/* contacts.c — /api/v1/contacts: create/upsert, read, patch, delete, list, merge, person export,
 * duplicates. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "audience/audience.h"
#include "base/cleanse.h"
#include "model/contact.h"

#include "base/banned.h"

/* Load field definitions and fill the options for contact writes. */
static int opts_load(kz_conn *c, kz_app *app, kz_contact_opts *o, json_t **defs, char *country,
		     size_t countrylen, kz_err *err)
{
	memset(o, 0, sizeof *o);
	if (kz_store_field_list(c, defs, err) < 0)
		return -1;
	o->field_defs = *defs;
	kz_api_country(c, app, country, countrylen);
	o->default_country = country;
	return 0;
}

/* Read the field definitions and settings first, then start the write transaction: the
 * writer lock is held only for the writes. */
static kz_conn *begin_with_opts(kz_req *req, kz_resp *resp, kz_contact_opts *o, json_t **defs,
				char *country, size_t countrylen)
{
	kz_app *app = req->app;
	kz_conn *c = kz_store_acquire(app->store);
	kz_err err;
	if (opts_load(c, app, o, defs, country, countrylen, &err) < 0 || kz_tx_begin(c, 1, &err) < 0) {
		kz_store_release(c);
		kz_resp_error(resp, &err);
		return NULL;
	}
	return c;
}

/* Commit, then answer the record with its score and stage (read outside the transaction:
 * the audience engine may be waiting for this transaction's write lock). */
static void answer_decorated(kz_req *req, kz_conn *c, kz_resp *resp, int status, json_t **out)
{
	kz_app *app = req->app;
	if (kz_api_commit(c, resp) < 0)
		return;
	kz_audience_decorate(app->audience, *out);
	kz_resp_json(resp, status, *out);
	*out = NULL;
}

static int create(kz_req *req, kz_resp *resp)
{
	json_t *in = kz_req_json(req, resp), *defs = NULL, *out = NULL;
	kz_contact_opts o;
	char country[8];
	kz_conn *c;
	kz_err err;
	int created = 0;
	int64_t id = 0;
	if (!in)
		return 0;
	c = begin_with_opts(req, resp, &o, &defs, country, sizeof country);
	if (!c)
		goto done;
	if (kz_contact_upsert(c, in, &o, &created, &id, &err) < 0 ||
	    kz_store_contact_get(c, id, &out, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	answer_decorated(req, c, resp, created ? 201 : 200, &out);
done:
	json_decref(in);
	json_decref(defs);
	json_decref(out);
	return 0;
}

static int get_one(kz_req *req, kz_resp *resp)
{
	int64_t id;
	json_t *out = NULL;
	kz_app *app = req->app;
	kz_conn *c;
	kz_err err;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	c = kz_store_acquire(app->store);
	if (kz_store_contact_get(c, id, &out, &err) < 0) {
		kz_store_release(c);
		return kz_resp_error(resp, &err);
	}
	kz_store_release(c);
	kz_audience_decorate(app->audience, out);
	return kz_resp_json(resp, 200, out);
}

static int patch(kz_req *req, kz_resp *resp)
{
	int64_t id;
	json_t *in, *defs = NULL, *out = NULL;
	kz_contact_opts o;
	char country[8];
	kz_conn *c;
	kz_err err;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	in = kz_req_json(req, resp);
	if (!in)
		return 0;
	c = begin_with_opts(req, resp, &o, &defs, country, sizeof country);
	if (!c)
		goto done;
	if (kz_contact_patch(c, id, in, &o, &err) < 0 ||
	    kz_store_contact_get(c, id, &out, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	answer_decorated(req, c, resp, 200, &out);
done:
	json_decref(in);
	json_decref(defs);
	json_decref(out);
	return 0;
}

static int delete_one(kz_req *req, kz_resp *resp)
{
	int64_t id;
	kz_conn *c;
	kz_err err;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	c = kz_api_begin(req, resp, 1);
	if (!c)
		return 0;
	if (kz_contact_delete(c, id, &err) < 0)
		return kz_api_fail(c, resp, &err);
	if (kz_api_commit(c, resp) == 0)
		kz_resp_empty(resp, 204);
	return 0;
}

static int list(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	kz_contact_query q;
	json_t *data = NULL;
	char *cursor = NULL, *email = NULL, *fold = NULL;
	const char *s;
	kz_conn *c;
	kz_err err;
	memset(&q, 0, sizeof q);
	if (kz_api_limit(req, resp, &q.limit) < 0)
		return 0;
	s = kz_req_query(req, "email");
	if (s) {
		if (kz_clean_email(s, &email) < 0)
			return kz_resp_errorf(resp, 400, "invalid_parameter", "email",
					      "email is not a valid address");
		q.email = email;
	}
	s = kz_req_query(req, "q");
	if (s && *s) {
		fold = kz_fold_search(s);
		if (!fold)
			return kz_resp_errorf(resp, 400, "invalid_parameter", "q",
					      "q must be valid UTF-8");
		q.q = fold;
	}
	q.tag = kz_req_query(req, "tag");
	q.sort = kz_req_query(req, "sort");
	q.cursor = kz_req_query(req, "cursor");
	for (int i = 0; i < 3; i++) {
		const char *name = i == 2 ? "segment" : i ? "owner" : "company_id";
		char *end;
		s = kz_req_query(req, name);
		if (!s)
			continue;
		long long v = strtoll(s, &end, 10);
		if (end == s || *end || v <= 0) {
			free(email);
			free(fold);
			return kz_resp_errorf(resp, 400, "invalid_parameter", name,
					      "%s must be a record id", name);
		}
		if (i == 2)
			q.segment_id = v;
		else if (i)
			q.owner_id = v;
		else
			q.company_id = v;
	}
	c = kz_store_acquire(app->store);
	if (kz_store_contact_list(c, &q, &data, &cursor, &err) < 0) {
		kz_resp_error(resp, &err);
	} else {
		size_t i;
		json_t *rec;
		json_array_foreach(data, i, rec)
			kz_audience_decorate(app->audience, rec);
		kz_resp_json(resp, 200, kz_api_page(data, cursor));
	}
	kz_store_release(c);
	free(email);
	free(fold);
	return 0;
}

static int merge(kz_req *req, kz_resp *resp)
{
	json_t *in = kz_req_json(req, resp), *out = NULL;
	json_t *into, *from;
	kz_conn *c;
	kz_err err;
	if (!in)
		return 0;
	into = json_object_get(in, "into");
	from = json_object_get(in, "from");
	if (!json_is_integer(into) || !json_is_integer(from)) {
		kz_resp_errorf(resp, 422, "invalid_field", json_is_integer(into) ? "from" : "into",
			       "send {\"into\": <contact id>, \"from\": <contact id>}");
		goto done;
	}
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	if (kz_contact_merge(c, json_integer_value(into), json_integer_value(from), &err) < 0 ||
	    kz_store_contact_get(c, json_integer_value(into), &out, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	answer_decorated(req, c, resp, 200, &out);
done:
	json_decref(in);
	json_decref(out);
	return 0;
}

#define EXPORT_PAGE 1000 /* rows per store call while an export gathers everything */

/* Every stored event of the contact, oldest first (the store pages newest first). */
static int export_events(kz_conn *c, int64_t id, json_t **out /* OUT */, kz_err *err)
{
	kz_event_query q;
	json_t *newest = json_array(), *page = NULL;
	char *cursor = NULL;
	size_t i;
	memset(&q, 0, sizeof q);
	q.contact_id = id;
	q.limit = EXPORT_PAGE;
	*out = NULL;
	do {
		q.cursor = cursor;
		if (kz_store_event_list(c, &q, &page, &cursor, err) < 0) {
			free((char *)q.cursor);
			json_decref(newest);
			return -1;
		}
		free((char *)q.cursor);
		json_array_extend(newest, page);
		json_decref(page);
	} while (cursor);
	*out = json_array();
	for (i = json_array_size(newest); i > 0; i--)
		json_array_append(*out, json_array_get(newest, i - 1));
	json_decref(newest);
	return 0;
}

/* Every visitor (anonymous identity) tied to the contact, most recently seen first. */
static int export_visitors(kz_conn *c, int64_t id, json_t **out /* OUT */, kz_err *err)
{
	kz_visitor_query q;
	json_t *page = NULL;
	char *cursor = NULL;
	memset(&q, 0, sizeof q);
	q.contact_id = id;
	q.limit = EXPORT_PAGE;
	*out = json_array();
	do {
		q.cursor = cursor;
		if (kz_store_visitor_list(c, &q, &page, &cursor, err) < 0) {
			free((char *)q.cursor);
			json_decref(*out);
			*out = NULL;
			return -1;
		}
		free((char *)q.cursor);
		json_array_extend(*out, page);
		json_decref(page);
	} while (cursor);
	return 0;
}

static int person_export(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	int64_t id;
	json_t *contact = NULL, *company = NULL, *events = NULL, *visitors = NULL, *out;
	kz_conn *c;
	kz_err err;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	c = kz_store_acquire(app->store);
	if (kz_store_contact_get(c, id, &contact, &err) < 0 ||
	    export_events(c, id, &events, &err) < 0 ||
	    export_visitors(c, id, &visitors, &err) < 0) {
		kz_store_release(c);
		json_decref(contact);
		json_decref(events);
		return kz_resp_error(resp, &err);
	}
	if (json_is_integer(json_object_get(contact, "company_id")))
		kz_store_company_get(c, json_integer_value(json_object_get(contact, "company_id")),
				     &company, &err);
	kz_store_release(c);
	kz_audience_decorate(app->audience, contact);
	out = json_pack("{s:s, s:o, s:o, s:o, s:o, s:[]}", "kind", "kizuna.person_export",
			"contact", contact, "company", company ? company : json_null(), "events",
			events, "visitors", visitors, "consents");
	return kz_resp_json(resp, 200, out);
}

static int duplicates(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *groups = NULL, *out;
	size_t i;
	json_t *g;
	kz_conn *c;
	kz_err err;
	int limit;
	if (kz_api_limit(req, resp, &limit) < 0)
		return 0;
	c = kz_store_acquire(app->store);
	if (kz_store_contact_duplicates(c, limit, &groups, &err) < 0) {
		kz_store_release(c);
		return kz_resp_error(resp, &err);
	}
	out = json_array();
	json_array_foreach(groups, i, g)
	{
		json_t *contacts = json_array(), *id;
		size_t k;
		json_array_foreach(json_object_get(g, "ids"), k, id)
		{
			json_t *rec = NULL;
			if (kz_store_contact_get(c, json_integer_value(id), &rec, &err) == 0) {
				kz_audience_decorate(app->audience, rec);
				json_array_append_new(contacts, rec);
			}
		}
		json_array_append_new(out, json_pack("{s:O, s:o}", "reason",
						     json_object_get(g, "reason"), "contacts",
						     contacts));
	}
	kz_store_release(c);
	json_decref(groups);
	return kz_resp_json(resp, 200, json_pack("{s:o}", "data", out));
}

#define BULK_MAX 1000

static int bulk(kz_req *req, kz_resp *resp)
{
	json_t *in = kz_req_json(req, resp), *ids, *tags, *defs = NULL, *patchdoc = NULL, *id;
	const char *action;
	kz_contact_opts o;
	char country[8];
	long affected = 0;
	size_t i;
	kz_conn *c;
	kz_err err;
	int del;
	if (!in)
		return 0;
	ids = json_object_get(in, "ids");
	tags = json_object_get(in, "tags");
	action = json_string_value(json_object_get(in, "action"));
	if (!json_is_array(ids) || json_array_size(ids) == 0 || json_array_size(ids) > BULK_MAX) {
		kz_resp_errorf(resp, 422, "invalid_field", "ids",
			       "ids must be an array of 1 to %d contact ids", BULK_MAX);
		goto done;
	}
	json_array_foreach(ids, i, id) if (!json_is_integer(id))
	{
		kz_resp_errorf(resp, 422, "invalid_field", "ids", "ids must be contact ids");
		goto done;
	}
	if (!action || (strcmp(action, "add_tags") && strcmp(action, "remove_tags") &&
			strcmp(action, "delete"))) {
		kz_resp_errorf(resp, 422, "invalid_field", "action",
			       "action must be add_tags, remove_tags or delete");
		goto done;
	}
	del = !strcmp(action, "delete");
	if (!del && (!json_is_array(tags) || json_array_size(tags) == 0)) {
		kz_resp_errorf(resp, 422, "invalid_field", "tags", "tags must be a non-empty array");
		goto done;
	}
	if (!del)
		patchdoc = json_pack("{s:{s:O}}", "tags", !strcmp(action, "add_tags") ? "add" : "remove",
				     tags);
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	if (!del && opts_load(c, req->app, &o, &defs, country, sizeof country, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	json_array_foreach(ids, i, id)
	{
		int r = del ? kz_contact_delete(c, json_integer_value(id), &err)
			    : kz_contact_patch(c, json_integer_value(id), patchdoc, &o, &err);
		if (r < 0 && err.status != 404) {
			kz_api_fail(c, resp, &err);
			goto done;
		}
		if (r == 0)
			affected++;
	}
	if (kz_api_commit(c, resp) == 0)
		kz_resp_json(resp, 200, json_pack("{s:I}", "affected", (json_int_t)affected));
done:
	json_decref(in);
	json_decref(defs);
	json_decref(patchdoc);
	return 0;
}

void kz_api_contacts_routes(kz_server *s)
{
	kz_server_route(s, "POST", "/api/v1/contacts/bulk", KZ_ROLE_SALES, 0, bulk);
	kz_server_route(s, "POST", "/api/v1/contacts", KZ_ROLE_SALES, 0, create);
	kz_server_route(s, "GET", "/api/v1/contacts", KZ_ROLE_VIEWER, 0, list);
	kz_server_route(s, "GET", "/api/v1/contacts/duplicates", KZ_ROLE_VIEWER, 0, duplicates);
	kz_server_route(s, "POST", "/api/v1/contacts/merge", KZ_ROLE_SALES, 0, merge);
	kz_server_route(s, "GET", "/api/v1/contacts/{id}", KZ_ROLE_VIEWER, 0, get_one);
	kz_server_route(s, "PATCH", "/api/v1/contacts/{id}", KZ_ROLE_SALES, 0, patch);
	kz_server_route(s, "DELETE", "/api/v1/contacts/{id}", KZ_ROLE_SALES, 0, delete_one);
	kz_server_route(s, "GET", "/api/v1/contacts/{id}/export", KZ_ROLE_VIEWER, 0, person_export);
}
