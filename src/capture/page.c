/* page.c — landing pages from blocks (hero, text, image, form, button, columns, html) or raw
 * HTML, with SEO fields. Our own blocks escape every text; only the marketer's html is raw. */
#include "capture/page.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "capture/abtest.h"
#include "capture/render.h"

#include "base/banned.h"

static const char *const block_types[] = {"hero", "text", "image", "form", "button", "columns",
					  "html", "slot", NULL};

/* A slot block's name: what data-kz-slot holds (letters, digits, _ and -). */
static int valid_slot_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

static int valid_slug(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 100 || s[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-')
			return 0;
	return 1;
}

static int url_ok(const char *u)
{
	return u && strlen(u) < 2000 &&
	       (!strncmp(u, "https://", 8) || !strncmp(u, "http://", 7) || u[0] == '/' || u[0] == '#') &&
	       !strpbrk(u, " \"'<>\r\n\t");
}

static int opt_str(const json_t *o, const char *key, size_t max, const char *path, kz_err *err)
{
	const json_t *v = json_object_get(o, key);
	if (v && !json_is_null(v) && (!json_is_string(v) || json_string_length(v) > max))
		return kz_err_set(err, 422, "invalid_field", path, "%s must be a text up to %zu bytes",
				  key, max);
	return 0;
}

static int opt_url(const json_t *o, const char *key, const char *path, kz_err *err)
{
	const json_t *v = json_object_get(o, key);
	if (v && !json_is_null(v) && !url_ok(json_string_value(v)))
		return kz_err_set(err, 422, "invalid_field", path,
				  "%s must be an http(s) URL, a path starting with / or an #anchor", key);
	return 0;
}

static int check_blocks(const json_t *blocks, const char *path, int depth, kz_err *err)
{
	size_t i;
	json_t *b;
	char p[160];
	if (!json_is_array(blocks) || json_array_size(blocks) > 100)
		return kz_err_set(err, 422, "invalid_field", path,
				  "blocks must be a list of at most 100 blocks");
	json_array_foreach(blocks, i, b) {
		const char *type = json_string_value(json_object_get(b, "type"));
		int known = 0;
		snprintf(p, sizeof p, "%s[%zu]", path, i);
		for (int k = 0; type && block_types[k]; k++)
			known |= !strcmp(type, block_types[k]);
		if (!known)
			return kz_err_set(err, 422, "invalid_field", p,
					  "type must be hero, text, image, form, button, columns, html or "
					  "slot");
		if (opt_str(b, "heading", 500, p, err) < 0 || opt_str(b, "text", 20000, p, err) < 0 ||
		    opt_str(b, "alt", 500, p, err) < 0 || opt_str(b, "label", 200, p, err) < 0 ||
		    opt_str(b, "html", 200000, p, err) < 0 || opt_url(b, "src", p, err) < 0 ||
		    opt_url(b, "url", p, err) < 0 || opt_url(b, "image", p, err) < 0)
			return -1;
		if (!strcmp(type, "form") && (!json_is_integer(json_object_get(b, "form_id")) ||
					      json_integer_value(json_object_get(b, "form_id")) <= 0))
			return kz_err_set(err, 422, "invalid_field", p, "a form block needs form_id");
		if (!strcmp(type, "slot") &&
		    !valid_slot_name(json_string_value(json_object_get(b, "name"))))
			return kz_err_set(err, 422, "invalid_field", p,
					  "a slot block needs name: the personalization slot it shows "
					  "(letters, digits, _ and -)");
		if (!strcmp(type, "image") && !json_is_string(json_object_get(b, "src")))
			return kz_err_set(err, 422, "invalid_field", p, "an image block needs src");
		if (!strcmp(type, "columns")) {
			const json_t *cols = json_object_get(b, "columns"), *col;
			size_t k;
			if (depth > 0 || !json_is_array(cols) || json_array_size(cols) < 1 ||
			    json_array_size(cols) > 4)
				return kz_err_set(err, 422, "invalid_field", p,
						  "columns holds 1 to 4 lists of blocks (not nested)");
			json_array_foreach(cols, k, col) {
				char cp[200];
				snprintf(cp, sizeof cp, "%s.columns[%zu]", p, k);
				if (check_blocks(col, cp, depth + 1, err) < 0)
					return -1;
			}
		}
	}
	return 0;
}

int kz_page_apply(json_t *rec, json_t *def, const json_t *in, int create, kz_err *err)
{
	static const char *const keys[] = {"slug", "title", "published", "description", "blocks",
					   "html", "seo", "site_key", "variants", NULL};
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)in, k, v) {
		int ok = 0;
		for (int i = 0; keys[i]; i++)
			ok |= !strcmp(keys[i], k);
		if (!ok)
			return kz_err_set(err, 422, "unknown_field", k, "pages have no member \"%s\"", k);
	}
	v = json_object_get(in, "slug");
	if (v || create) {
		if (!valid_slug(json_string_value(v)))
			return kz_err_set(err, 422, "invalid_field", "slug",
					  "slug must be 1 to 100 of a-z, 0-9 and -");
		json_object_set(rec, "slug", v);
	}
	v = json_object_get(in, "title");
	if (v || create) {
		if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) > 200)
			return kz_err_set(err, 422, "invalid_field", "title",
					  "title is required (1 to 200 bytes)");
		json_object_set(rec, "title", v);
	}
	v = json_object_get(in, "published");
	if (v && !json_is_boolean(v))
		return kz_err_set(err, 422, "invalid_field", "published", "published must be true or false");
	if (v)
		json_object_set(rec, "published", v);
	if (opt_str(in, "description", 1000, "description", err) < 0 ||
	    opt_str(in, "html", 500000, "html", err) < 0 ||
	    opt_str(in, "site_key", 100, "site_key", err) < 0)
		return -1;
	for (int i = 3; keys[i]; i++) {
		v = json_object_get(in, keys[i]);
		if (v)
			json_object_set(def, keys[i], v);
	}
	if (json_object_get(in, "blocks") && json_object_get(in, "html"))
		return kz_err_set(err, 422, "invalid_field", "html",
				  "a page has blocks or html, not both");
	if (json_object_get(in, "blocks"))
		json_object_del(def, "html");
	if (json_object_get(in, "html"))
		json_object_del(def, "blocks");
	if (json_object_get(def, "blocks") && check_blocks(json_object_get(def, "blocks"), "blocks", 0, err) < 0)
		return -1;
	if ((v = json_object_get(def, "variants"))) {
		size_t i;
		json_t *x;
		char path[64];
		if (kz_ab_check(v, err) < 0)
			return -1;
		json_array_foreach(v, i, x) {
			snprintf(path, sizeof path, "variants[%zu].blocks", i);
			if (json_object_get(x, "blocks") &&
			    check_blocks(json_object_get(x, "blocks"), path, 0, err) < 0)
				return -1;
			if (opt_str(x, "description", 1000, path, err) < 0 ||
			    opt_str(x, "html", 500000, path, err) < 0)
				return -1;
		}
	}
	v = json_object_get(def, "seo");
	if (v) {
		if (!json_is_object(v) || opt_url(v, "canonical", "seo", err) < 0 ||
		    opt_url(v, "og_image", "seo", err) < 0 ||
		    (json_object_get(v, "noindex") && !json_is_boolean(json_object_get(v, "noindex"))))
			return err->status ? -1
					   : kz_err_set(err, 422, "invalid_field", "seo",
							"seo is {\"canonical\", \"og_image\", \"noindex\"}");
	}
	return 0;
}

/* ---- rendering ---- */

static void text_paragraphs(kz_buf *b, const char *text)
{
	const char *p = text;
	kz_buf_adds(b, "<p>");
	for (; p && *p; p++) {
		if (p[0] == '\n' && p[1] == '\n') {
			kz_buf_adds(b, "</p><p>");
			p++;
		} else if (*p == '\n') {
			kz_buf_adds(b, "<br>");
		} else {
			char one[2] = {*p, 0};
			kz_html_escape(b, one);
		}
	}
	kz_buf_adds(b, "</p>");
}

static void attr(kz_buf *b, const char *name, const char *v)
{
	kz_buf_addf(b, " %s=\"", name);
	kz_html_escape(b, v);
	kz_buf_addc(b, '"');
}

static void blocks(kz_buf *b, const json_t *list, kz_page_form_fn form, void *ud);

static void block(kz_buf *b, const json_t *x, kz_page_form_fn form, void *ud)
{
	const char *type = json_string_value(json_object_get(x, "type"));
	const char *heading = json_string_value(json_object_get(x, "heading"));
	const char *text = json_string_value(json_object_get(x, "text"));
	const char *label = json_string_value(json_object_get(x, "label"));
	const char *url = json_string_value(json_object_get(x, "url"));
	if (!strcmp(type, "html")) {
		kz_buf_adds(b, json_string_value(json_object_get(x, "html"))); /* the marketer's own */
		return;
	}
	if (!strcmp(type, "slot")) { /* kz.js puts the visitor's variant in; html is the default */
		const char *dflt = json_string_value(json_object_get(x, "html"));
		kz_buf_adds(b, "<div class=\"kzp-slot\"");
		attr(b, "data-kz-slot", json_string_value(json_object_get(x, "name")));
		kz_buf_adds(b, ">");
		kz_buf_adds(b, dflt ? dflt : "");
		kz_buf_adds(b, "</div>");
		return;
	}
	kz_buf_addf(b, "<section class=\"kzp-%s\">", type);
	if (!strcmp(type, "hero") || !strcmp(type, "text")) {
		const char *img = json_string_value(json_object_get(x, "image"));
		if (img) {
			kz_buf_adds(b, "<img class=\"kzp-hero-img\" alt=\"\"");
			attr(b, "src", img);
			kz_buf_adds(b, ">");
		}
		if (heading) {
			kz_buf_adds(b, !strcmp(type, "hero") ? "<h1>" : "<h2>");
			kz_html_escape(b, heading);
			kz_buf_adds(b, !strcmp(type, "hero") ? "</h1>" : "</h2>");
		}
		if (text)
			text_paragraphs(b, text);
	} else if (!strcmp(type, "image")) {
		kz_buf_adds(b, "<img loading=\"lazy\"");
		attr(b, "src", json_string_value(json_object_get(x, "src")));
		attr(b, "alt", json_string_value(json_object_get(x, "alt")));
		kz_buf_adds(b, ">");
	} else if (!strcmp(type, "form")) {
		form(ud, (long long)json_integer_value(json_object_get(x, "form_id")), b);
	} else if (!strcmp(type, "columns")) {
		size_t i;
		json_t *col;
		json_array_foreach(json_object_get(x, "columns"), i, col) {
			kz_buf_adds(b, "<div class=\"kzp-col\">");
			blocks(b, col, form, ud);
			kz_buf_adds(b, "</div>");
		}
	}
	if ((!strcmp(type, "hero") || !strcmp(type, "button")) && label && url) {
		kz_buf_adds(b, "<a class=\"kzp-button\"");
		attr(b, "href", url);
		kz_buf_adds(b, ">");
		kz_html_escape(b, label);
		kz_buf_adds(b, "</a>");
	}
	kz_buf_adds(b, "</section>");
}

static void blocks(kz_buf *b, const json_t *list, kz_page_form_fn form, void *ud)
{
	size_t i;
	json_t *x;
	json_array_foreach(list, i, x)
		block(b, x, form, ud);
}

static void meta(kz_buf *b, const char *kind, const char *name, const char *content)
{
	if (!content || !*content)
		return;
	kz_buf_addf(b, "<meta %s=\"%s\"", kind, name);
	attr(b, "content", content);
	kz_buf_adds(b, ">\n");
}

static const char page_css[] =
	"body{margin:0;font-family:system-ui,-apple-system,'Hiragino Sans','Noto Sans JP',sans-serif;"
	"color:#1f2937;line-height:1.7}main{max-width:60rem;margin:0 auto;padding:0 20px 48px}"
	".kzp-hero{padding:56px 0 32px;text-align:center}.kzp-hero h1{font-size:2.2rem;margin:0 0 12px}"
	".kzp-hero-img{max-width:100%;border-radius:8px}section img{max-width:100%}"
	".kzp-columns{display:flex;gap:24px;flex-wrap:wrap}.kzp-col{flex:1 1 14rem}"
	".kzp-button{display:inline-block;background:#1d4ed8;color:#fff;padding:12px 28px;"
	"border-radius:6px;text-decoration:none;margin-top:12px}.kzp-form{display:flex;"
	"justify-content:center;padding:24px 0}";

void kz_page_render(kz_buf *b, const json_t *page, const char *base_url, kz_page_form_fn form,
		    void *ud)
{
	const json_t *seo = json_object_get(page, "seo");
	const char *title = json_string_value(json_object_get(page, "title"));
	const char *desc = json_string_value(json_object_get(page, "description"));
	const char *canonical = json_string_value(json_object_get(seo, "canonical"));
	const char *site_key = json_string_value(json_object_get(page, "site_key"));
	const char *raw = json_string_value(json_object_get(page, "html"));
	char url[700];
	snprintf(url, sizeof url, "%s/p/%s", base_url ? base_url : "",
		 json_string_value(json_object_get(page, "slug")));
	kz_buf_adds(b, "<!DOCTYPE html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">\n"
		       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
	kz_html_escape(b, title);
	kz_buf_adds(b, "</title>\n");
	meta(b, "name", "description", desc);
	if (json_is_true(json_object_get(seo, "noindex")))
		kz_buf_adds(b, "<meta name=\"robots\" content=\"noindex\">\n");
	meta(b, "property", "og:type", "website");
	meta(b, "property", "og:title", title);
	meta(b, "property", "og:description", desc);
	meta(b, "property", "og:url", canonical ? canonical : url);
	meta(b, "property", "og:image", json_string_value(json_object_get(seo, "og_image")));
	kz_buf_adds(b, "<link rel=\"canonical\"");
	attr(b, "href", canonical ? canonical : url);
	kz_buf_addf(b, ">\n<style>%s%s</style>\n", page_css, kz_render_form_css());
	if (site_key) {
		/* the same snippet Sites hands out: page views of landing pages are tracked */
		kz_buf_adds(b, "<script>window.kz=window.kz||function(){(kz.q=kz.q||[]).push("
			       "arguments)};</script>\n<script async");
		kz_buf_addf(b, " src=\"%s/kz.js\"", base_url ? base_url : "");
		attr(b, "data-site", site_key);
		kz_buf_adds(b, "></script>\n");
	}
	kz_buf_adds(b, "</head><body><main>\n");
	if (raw)
		kz_buf_adds(b, raw);
	else
		blocks(b, json_object_get(page, "blocks"), form, ud);
	kz_buf_adds(b, "\n</main></body></html>\n");
}
