/* pages.c — /api/v1/pages: landing pages from blocks or raw HTML with SEO fields, published at
 * /p/{slug} (public_pages.c renders and caches them). */
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "base/buf.h"
#include "capture/abtest.h"
#include "capture/counter.h"
#include "capture/page.h"

#include "base/banned.h"

static const char *const def_keys[] = {"description", "blocks", "html", "seo", "site_key",
				       "variants", NULL};

/* Put "ab" on a page in an A/B test: visits, conversions and the rate per variant, and the
 * winner once the difference is clear. */
static int with_ab(kz_conn *c, json_t *page, kz_err *err)
{
	json_t *counts = NULL;
	const json_t *vs = json_object_get(page, "variants");
	json_object_del(page, "updated_at_ms");
	if (!json_array_size(vs))
		return 0;
	if (kz_store_counter_get(c, 0, json_integer_value(json_object_get(page, "id")), &counts,
				 err) < 0)
		return -1;
	json_object_set_new(page, "ab", kz_ab_report(vs, counts));
	json_decref(counts);
	return 0;
}

/* Apply `in` (taken) to page `id` (0: a new one) and answer the stored page. */
static int save_in(kz_req *req, kz_resp *resp, int64_t id, json_t *in)
{
	json_t *rec = NULL, *def = NULL, *out = NULL;
	kz_conn *c;
	kz_err err;
	int created = id == 0;
	if (!in)
		return 0;
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	rec = json_object();
	def = json_object();
	if (id) {
		json_t *cur = NULL;
		if (kz_store_page_get(c, id, &cur, &err) < 0) {
			kz_api_fail(c, resp, &err);
			goto done;
		}
		json_object_set(rec, "slug", json_object_get(cur, "slug"));
		json_object_set(rec, "title", json_object_get(cur, "title"));
		json_object_set(rec, "published", json_object_get(cur, "published"));
		for (int i = 0; def_keys[i]; i++)
			if (json_object_get(cur, def_keys[i]))
				json_object_set(def, def_keys[i], json_object_get(cur, def_keys[i]));
		json_decref(cur);
	}
	if (kz_page_apply(rec, def, in, created, &err) < 0 ||
	    kz_store_page_save(c, rec, def, &id, &err) < 0 || kz_store_page_get(c, id, &out, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	if (with_ab(c, out, &err) < 0) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	if (kz_api_done(c, resp, created ? 201 : 200, &out) == 0)
		kz_page_cache_flush();
done:
	json_decref(in);
	json_decref(rec);
	json_decref(def);
	json_decref(out);
	return 0;
}

static int save(kz_req *req, kz_resp *resp, int64_t id)
{
	return save_in(req, resp, id, kz_req_json(req, resp));
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
	int64_t id;
	kz_err err;
	kz_conn *c;
	int rc;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	kz_counter_flush(app->store, 1);
	c = kz_store_acquire(app->store);
	rc = kz_store_page_get(c, id, &out, &err);
	if (rc == 0)
		rc = with_ab(c, out, &err);
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
	json_t *data = NULL, *p;
	size_t i;
	kz_err err;
	kz_conn *c = kz_store_acquire(app->store);
	int rc = kz_store_page_list(c, 0, &data, &err);
	kz_store_release(c);
	if (rc < 0)
		return kz_resp_error(resp, &err);
	json_array_foreach(data, i, p)
		json_object_del(p, "updated_at_ms");
	return kz_resp_json(resp, 200, kz_api_page(data, NULL));
}

/* The editor's preview: the body as a page (validated like a save, nothing stored), rendered
 * as ?variant= (default "a") would show it: {"html": the whole page}. */
static int preview(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *in = kz_req_json(req, resp), *rec, *def, *shown;
	const char *variant = kz_req_query(req, "variant");
	kz_buf b;
	kz_conn *c;
	kz_err err;
	size_t len;
	if (!in)
		return 0;
	rec = json_object();
	def = json_object();
	if (!json_object_get(in, "slug"))
		json_object_set_new(in, "slug", json_string("preview"));
	if (kz_page_apply(rec, def, in, 1, &err) < 0) {
		json_decref(in);
		json_decref(rec);
		json_decref(def);
		return kz_resp_error(resp, &err);
	}
	json_object_update(rec, def);
	shown = kz_ab_page(rec, variant && kz_ab_known(json_object_get(rec, "variants"), variant)
					? variant
					: "a");
	json_object_del(shown, "site_key"); /* a preview is not a visit */
	kz_buf_init(&b, 0);
	c = kz_store_acquire(app->store);
	kz_page_html(app, c, shown, &b);
	kz_store_release(c);
	json_decref(shown);
	json_decref(in);
	json_decref(rec);
	json_decref(def);
	kz_resp_header(resp, "Cache-Control", "no-store");
	{
		char *body = kz_buf_detach(&b, &len);
		json_t *out = json_pack("{s:s%}", "html", body ? body : "", body ? len : 0);
		free(body);
		return kz_resp_json(resp, 200, out);
	}
}

/* End the test with variant {key}: its title, description and content become the page's
 * and the variants go (their counts stay in the report history). */
static int promote(kz_req *req, kz_resp *resp)
{
	const char *key = req->params[1];
	json_t *cur = NULL, *body = NULL, *v;
	kz_app *app = req->app;
	kz_conn *c;
	kz_err err;
	int64_t id;
	size_t i;
	int rc, found = !strcmp(key, "a");
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	c = kz_store_acquire(app->store);
	rc = kz_store_page_get(c, id, &cur, &err);
	kz_store_release(c);
	if (rc < 0)
		return kz_resp_error(resp, &err);
	body = json_pack("{s:[]}", "variants");
	json_array_foreach(json_object_get(cur, "variants"), i, v) {
		const char *k;
		json_t *x;
		if (strcmp(key, json_string_value(json_object_get(v, "key"))))
			continue;
		json_object_foreach(v, k, x)
			if (strcmp(k, "key") && strcmp(k, "weight"))
				json_object_set(body, k, x);
		found = 1;
		break;
	}
	json_decref(cur);
	if (!found) {
		json_decref(body);
		return kz_resp_errorf(resp, 404, "not_found", "key",
				      "page %lld has no variant \"%s\"", (long long)id, key);
	}
	return save_in(req, resp, id, body);
}

static int delete_one(kz_req *req, kz_resp *resp)
{
	return kz_api_delete(req, resp, kz_store_page_delete, kz_page_cache_flush);
}

void kz_api_pages_routes(kz_server *s)
{
	kz_server_route(s, "POST", "/api/v1/pages", KZ_ROLE_MARKETER, 0, create);
	kz_server_route(s, "POST", "/api/v1/pages/preview", KZ_ROLE_VIEWER, 0, preview);
	kz_server_route(s, "GET", "/api/v1/pages", KZ_ROLE_VIEWER, 0, list);
	kz_server_route(s, "GET", "/api/v1/pages/{id}", KZ_ROLE_VIEWER, 0, get_one);
	kz_server_route(s, "PATCH", "/api/v1/pages/{id}", KZ_ROLE_MARKETER, 0, patch);
	kz_server_route(s, "DELETE", "/api/v1/pages/{id}", KZ_ROLE_MARKETER, 0, delete_one);
	kz_server_route(s, "POST", "/api/v1/pages/{id}/variants/{key}/promote", KZ_ROLE_MARKETER, 0,
			promote);
}
