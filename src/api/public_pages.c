/* public_pages.c — published landing pages at /p/{slug}, /sitemap.xml and /robots.txt. Pages
 * are rendered once and served from memory; a write through the API empties the cache, and
 * other nodes sharing PostgreSQL see a change within CACHE_TTL_MS. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "base/timeutil.h"
#include "base/crypto.h"
#include "capture/abtest.h"
#include "capture/counter.h"
#include "capture/form.h"
#include "capture/page.h"
#include "capture/render.h"
#include "capture/token.h"

#include "base/banned.h"

#define CACHE_SLOTS 256
#define CACHE_TTL_MS 5000

typedef struct cached {
	char slug[150]; /* the slug, or "slug#key" for an A/B variant */
	char *html;     /* NULL: the slot is empty */
	size_t len;
	int status; /* 200, or 404 for a slug known to have no published page */
	int64_t at_ms;
	int64_t page_id;
	json_t *variants; /* the page's A/B variants, or NULL */
} cached;

/* What a cache lookup hands back besides the HTML. */
typedef struct page_meta {
	int status;
	int64_t page_id;
	json_t *variants; /* a new reference, or NULL */
} page_meta;

static cached cache[CACHE_SLOTS];
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;

void kz_page_cache_flush(void)
{
	pthread_mutex_lock(&cache_mu);
	for (int i = 0; i < CACHE_SLOTS; i++) {
		free(cache[i].html);
		json_decref(cache[i].variants);
		memset(&cache[i], 0, sizeof cache[i]);
	}
	pthread_mutex_unlock(&cache_mu);
}

static unsigned slot_of(const char *slug)
{
	unsigned h = 2166136261u;
	for (const char *p = slug; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h % CACHE_SLOTS;
}

/* A copy of the cached page (malloc'd) when fresh, else NULL. */
static char *cache_get(const char *slug, int64_t now, size_t *len, page_meta *m)
{
	cached *c;
	char *copy = NULL;
	pthread_mutex_lock(&cache_mu);
	c = &cache[slot_of(slug)];
	if (c->html && !strcmp(c->slug, slug) && now - c->at_ms < CACHE_TTL_MS) {
		copy = malloc(c->len + 1);
		if (copy) {
			memcpy(copy, c->html, c->len + 1);
			*len = c->len;
			m->status = c->status;
			m->page_id = c->page_id;
			m->variants = json_incref(c->variants);
		}
	}
	pthread_mutex_unlock(&cache_mu);
	return copy;
}

static void cache_put(const char *slug, const char *html, size_t len, const page_meta *m,
		      int64_t now)
{
	cached *c;
	char *copy = malloc(len + 1);
	if (!copy || strlen(slug) >= sizeof c->slug) {
		free(copy);
		return;
	}
	memcpy(copy, html, len + 1);
	pthread_mutex_lock(&cache_mu);
	c = &cache[slot_of(slug)];
	free(c->html);
	json_decref(c->variants);
	snprintf(c->slug, sizeof c->slug, "%s", slug);
	c->html = copy;
	c->len = len;
	c->status = m->status;
	c->page_id = m->page_id;
	c->variants = json_incref(m->variants);
	c->at_ms = now;
	pthread_mutex_unlock(&cache_mu);
}

typedef struct form_ctx {
	kz_app *app;
	kz_conn *c;
} form_ctx;

/* A form block: the form's markup as the plain embed has it (a token from render time; the
 * minimum fill time only ever grows while the page is cached). */
static int form_block(void *ud, long long form_id, kz_buf *b)
{
	form_ctx *x = ud;
	json_t *form = NULL, *fields;
	char action[600], token[96];
	kz_form_view v;
	kz_err err;
	if (kz_store_form_get(x->c, form_id, &form, &err) < 0)
		return -1;
	fields = kz_form_visible_fields(form, NULL);
	snprintf(action, sizeof action, "%s/f/%lld", x->app->base_url ? x->app->base_url : "",
		 form_id);
	kz_token_form(form_id, kz_now_ms(), token, sizeof token);
	memset(&v, 0, sizeof v);
	v.form = form;
	v.fields = fields;
	v.lang = kz_form_lang(form, NULL, NULL);
	v.action = action;
	v.token = token;
	kz_render_form(b, &v);
	json_decref(fields);
	json_decref(form);
	return 0;
}

void kz_page_html(kz_app *app, kz_conn *c, const json_t *page, kz_buf *b)
{
	form_ctx x = {app, c};
	kz_page_render(b, page, app->base_url, form_block, &x);
}

static const char not_found[] = "<!DOCTYPE html><html lang=\"ja\"><head><meta charset=\"utf-8\">"
				"<title>404</title></head><body><p>ページが見つかりません。 / "
				"This page does not exist.</p></body></html>";

/* Render slug (as A/B variant `key`) from the store: 200 with the page, 404 when unpublished
 * or absent. m gets the page's id and variants. */
static char *render_slug(kz_app *app, const char *slug, const char *key, size_t *len,
			 page_meta *m, kz_err *err)
{
	json_t *page = NULL;
	kz_buf b;
	form_ctx x;
	kz_conn *c = kz_store_acquire(app->store);
	memset(m, 0, sizeof *m);
	if (kz_store_page_by_slug(c, slug, &page, err) < 0) {
		kz_store_release(c);
		return NULL;
	}
	kz_buf_init(&b, 0);
	if (!page || !json_is_true(json_object_get(page, "published"))) {
		m->status = 404;
		kz_buf_adds(&b, not_found);
	} else {
		json_t *shown;
		const json_t *vs = json_object_get(page, "variants");
		m->status = 200;
		m->page_id = json_integer_value(json_object_get(page, "id"));
		m->variants = json_array_size(vs) ? json_incref((json_t *)vs) : NULL;
		shown = kz_ab_page(page, key);
		x.app = app;
		x.c = c;
		kz_page_render(&b, shown, app->base_url, form_block, &x);
		json_decref(shown);
	}
	kz_store_release(c);
	json_decref(page);
	return kz_buf_detach(&b, len);
}

/* The value of cookie `name` in a Cookie header into out ("" when absent). */
static void cookie_value(const char *header, const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name);
	const char *p = header;
	*out = 0;
	while (p && *p) {
		while (*p == ' ' || *p == ';')
			p++;
		if (!strncmp(p, name, n) && p[n] == '=') {
			size_t len = strcspn(p + n + 1, ";");
			if (len < outlen)
				snprintf(out, outlen, "%.*s", (int)len, p + n + 1);
			return;
		}
		p = strchr(p, ';');
	}
}

static void set_cookie(kz_app *app, kz_resp *resp, const char *name, const char *value,
		       long max_age)
{
	char c[300];
	int secure = app->base_url && !strncmp(app->base_url, "https:", 6);
	snprintf(c, sizeof c, "%s=%s; Path=/; Max-Age=%ld; SameSite=Lax%s", name, value, max_age,
		 secure ? "; Secure" : "");
	kz_resp_header(resp, "Set-Cookie", c);
}

/* Which A/B variant this visitor sees: the one their cookie names, else a new sticky
 * assignment (counted as a visit of it). key gets "a" or a variant's key. */
static void ab_choose(kz_req *req, kz_resp *resp, const char *slug, const page_meta *m,
		      char *key, size_t keylen)
{
	kz_app *app = req->app;
	const char *cookies = kz_req_header(req, "Cookie");
	char name[120], vid[130];
	snprintf(name, sizeof name, "kz_ab_%s", slug);
	cookie_value(cookies, name, key, keylen);
	if (kz_ab_known(m->variants, key))
		return;
	cookie_value(cookies, "kz_vid", vid, sizeof vid);
	if (!*vid) { /* kz.js adopts this id: the same cookie it would have set */
		kz_random_hex(vid, 16);
		set_cookie(app, resp, "kz_vid", vid, 31536000L);
	}
	snprintf(key, keylen, "%s", kz_ab_assign(m->variants, vid, m->page_id));
	set_cookie(app, resp, name, key, 90L * 86400);
	kz_counter_hit(KZ_COUNT_PAGE_VISIT, m->page_id, key);
	kz_counter_flush(app->store, 0);
}

void kz_page_conversion(kz_req *req, kz_resp *resp, const char *page_url)
{
	kz_app *app = req->app;
	const char *p = page_url ? strstr(page_url, "/p/") : NULL;
	const char *cookies = kz_req_header(req, "Cookie");
	char slug[104], name[120], key[48], done[8];
	json_t *page = NULL;
	kz_conn *c;
	kz_err err;
	size_t n;
	if (!p || !cookies)
		return;
	n = strspn(p + 3, "abcdefghijklmnopqrstuvwxyz0123456789-");
	if (n == 0 || n > 100)
		return;
	snprintf(slug, sizeof slug, "%.*s", (int)n, p + 3);
	snprintf(name, sizeof name, "kz_ab_%s", slug);
	cookie_value(cookies, name, key, sizeof key);
	snprintf(name, sizeof name, "kz_abx_%s", slug);
	cookie_value(cookies, name, done, sizeof done);
	if (!*key || *done) /* not in the test, or converted already */
		return;
	c = kz_store_acquire(app->store);
	if (kz_store_page_by_slug(c, slug, &page, &err) == 0 && page &&
	    kz_ab_known(json_object_get(page, "variants"), key)) {
		kz_counter_hit(KZ_COUNT_PAGE_CONVERSION,
			       json_integer_value(json_object_get(page, "id")), key);
		set_cookie(app, resp, name, "1", 90L * 86400);
	}
	kz_store_release(c);
	json_decref(page);
	kz_counter_flush(app->store, 0);
}

static int show(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	const char *slug = req->params[0];
	int64_t now = kz_now_ms();
	size_t len = 0;
	page_meta m;
	kz_err err;
	char *html;
	memset(&m, 0, sizeof m);
	if (strlen(slug) > 100)
		return kz_resp_text(resp, 404, "text/html; charset=utf-8", strdup(not_found),
				    strlen(not_found));
	html = cache_get(slug, now, &len, &m);
	if (!html) {
		html = render_slug(app, slug, "a", &len, &m, &err);
		if (!html)
			return kz_resp_error(resp, &err);
		cache_put(slug, html, len, &m, now);
	}
	if (m.status == 200 && m.variants) {
		char key[48], ck[150];
		page_meta vm;
		ab_choose(req, resp, slug, &m, key, sizeof key);
		if (strcmp(key, "a")) {
			snprintf(ck, sizeof ck, "%s#%s", slug, key);
			free(html);
			memset(&vm, 0, sizeof vm);
			html = cache_get(ck, now, &len, &vm);
			if (!html) {
				html = render_slug(app, slug, key, &len, &vm, &err);
				if (!html) {
					json_decref(m.variants);
					return kz_resp_error(resp, &err);
				}
				cache_put(ck, html, len, &vm, now);
			}
			json_decref(vm.variants);
		}
		/* the answer depends on the visitor's cookie: no shared caches */
		kz_resp_header(resp, "Cache-Control", "private, no-cache");
		kz_resp_header(resp, "Vary", "Cookie");
	} else {
		kz_resp_header(resp, "Cache-Control", "public, max-age=60");
	}
	json_decref(m.variants);
	return kz_resp_text(resp, m.status, "text/html; charset=utf-8", html, len);
}

static void xml_escape(kz_buf *b, const char *s)
{
	kz_html_escape(b, s); /* &amp; &lt; &gt; &quot; &#39; are valid XML too */
}

static int sitemap(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *data = NULL, *p;
	size_t i, len;
	kz_buf b;
	kz_err err;
	kz_conn *c = kz_store_acquire(app->store);
	int rc = kz_store_page_list(c, 1, &data, &err);
	kz_store_release(c);
	if (rc < 0)
		return kz_resp_error(resp, &err);
	kz_buf_init(&b, 0);
	kz_buf_adds(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			"<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
	json_array_foreach(data, i, p) {
		const json_t *seo = json_object_get(p, "seo");
		char day[16];
		if (json_is_true(json_object_get(seo, "noindex")))
			continue;
		snprintf(day, sizeof day, "%.10s", json_string_value(json_object_get(p, "updated_at")));
		kz_buf_adds(&b, "  <url><loc>");
		if (json_string_value(json_object_get(seo, "canonical"))) {
			xml_escape(&b, json_string_value(json_object_get(seo, "canonical")));
		} else {
			xml_escape(&b, app->base_url ? app->base_url : "");
			kz_buf_adds(&b, "/p/");
			xml_escape(&b, json_string_value(json_object_get(p, "slug")));
		}
		kz_buf_addf(&b, "</loc><lastmod>%s</lastmod></url>\n", day);
	}
	kz_buf_adds(&b, "</urlset>\n");
	json_decref(data);
	{
		char *body = kz_buf_detach(&b, &len);
		return kz_resp_text(resp, 200, "application/xml; charset=utf-8", body, len);
	}
}

static int robots(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	kz_buf b;
	size_t len;
	char *body;
	kz_buf_init(&b, 0);
	kz_buf_adds(&b, "User-agent: *\nAllow: /p/\nAllow: /f/\nDisallow: /api/\nDisallow: /a/\n"
			"Disallow: /t/\n\nSitemap: ");
	kz_buf_adds(&b, app->base_url ? app->base_url : "");
	kz_buf_adds(&b, "/sitemap.xml\n");
	body = kz_buf_detach(&b, &len);
	return kz_resp_text(resp, 200, "text/plain; charset=utf-8", body, len);
}

void kz_api_public_pages_routes(kz_server *s)
{
	kz_server_route(s, "GET", "/p/{slug}", KZ_ROLE_NONE, KZ_ROUTE_PUBLIC, show);
	kz_server_route(s, "GET", "/sitemap.xml", KZ_ROLE_NONE, KZ_ROUTE_PUBLIC, sitemap);
	kz_server_route(s, "GET", "/robots.txt", KZ_ROLE_NONE, KZ_ROUTE_PUBLIC, robots);
}
