/* message.c — email records to personal messages: validation, variables, rendering, tracked
 * links, the sender footer, HTML-to-text and the HMAC-signed link tokens. */
#include "channel/message.h"
#include "track/writer.h"

#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/cleanse.h"
#include "base/crypto.h"
#include "base/log.h"
#include "template/template.h"

#include "base/banned.h"

#define MAX_BODY ((size_t)2 << 20)

/* ------------------------------------------------------------------ validation */

/* The string value of v, or "" for anything else. */
static const char *str_or(const json_t *v)
{
	const char *s = json_string_value(v);
	return s ? s : "";
}

/* Case-insensitive strstr for ASCII needles. */
static const char *ci_find(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	char lo = (char)(needle[0] | 0x20), up = (char)(needle[0] & ~0x20);
	for (; *hay; hay++)
		if ((*hay == lo || *hay == up) && !strncasecmp(hay, needle, n))
			return hay;
	return NULL;
}

static const char *const email_keys[] = {"name",     "subject", "preheader", "from_name",
					 "from_email", "reply_to", "html",    "text",
					 "topic",    "blocks",  NULL};

static int check_template(const char *field, const char *src, enum kz_tpl_mode mode,
			  kz_err *err)
{
	kz_tpl_err te;
	if (kz_tpl_check(src, mode, &te) == 0)
		return 0;
	return kz_err_set(err, 422, "template_error", field, "%s, line %d, column %d: %s", field,
			  te.line, te.col, te.message);
}

int kz_email_apply(json_t *rec, const json_t *in, int create, kz_err *err)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)in, k, v)
	{
		int known = 0;
		for (int i = 0; email_keys[i]; i++)
			known |= !strcmp(k, email_keys[i]);
		if (!strcmp(k, "id") || !strcmp(k, "created_at") || !strcmp(k, "updated_at"))
			continue;
		if (!known)
			return kz_err_set(err, 422, "unknown_field", k,
					  "unknown field %s; emails have name, subject, preheader, "
					  "from_name, from_email, reply_to, html, text, topic, blocks",
					  k);
		if (!strcmp(k, "blocks")) {
			if (!json_is_null(v) && !json_is_array(v))
				return kz_err_set(err, 422, "invalid_field", k,
						  "blocks must be an array (the block editor's layout)");
			json_object_set(rec, k, v);
			continue;
		}
		if (json_is_null(v) && strcmp(k, "name") && strcmp(k, "subject") &&
		    strcmp(k, "html")) {
			json_object_set_new(rec, k, json_null());
			continue;
		}
		if (!json_is_string(v))
			return kz_err_set(err, 422, "invalid_field", k, "%s must be a string", k);
		if (json_string_length(v) > MAX_BODY)
			return kz_err_set(err, 422, "invalid_field", k, "%s is larger than 2 MiB", k);
		if ((!strcmp(k, "from_email") || !strcmp(k, "reply_to")) && json_string_length(v)) {
			char *clean = NULL;
			if (kz_clean_email(json_string_value(v), &clean) < 0)
				return kz_err_set(err, 422, "invalid_field", k,
						  "%s must be an email address", k);
			json_object_set_new(rec, k, json_string(clean));
			free(clean);
			continue;
		}
		if ((!strcmp(k, "name") || !strcmp(k, "subject")) && !json_string_length(v))
			return kz_err_set(err, 422, "invalid_field", k, "%s must not be empty", k);
		if ((!strcmp(k, "subject") || !strcmp(k, "preheader") || !strcmp(k, "from_name")) &&
		    json_string_length(v) > 998)
			return kz_err_set(err, 422, "invalid_field", k, "%s is too long", k);
		json_object_set(rec, k, v);
	}
	if (create) {
		if (!json_is_string(json_object_get(rec, "name")))
			return kz_err_set(err, 422, "missing_field", "name", "name is required");
		if (!json_is_string(json_object_get(rec, "subject")))
			return kz_err_set(err, 422, "missing_field", "subject", "subject is required");
		if (!json_is_string(json_object_get(rec, "html")) &&
		    !json_is_string(json_object_get(rec, "text")))
			return kz_err_set(err, 422, "missing_field", "html",
					  "html (or text) is required");
	}
	if (check_template("subject", str_or(json_object_get(rec, "subject")), KZ_TPL_TEXT,
			   err) < 0 ||
	    check_template("preheader", str_or(json_object_get(rec, "preheader")), KZ_TPL_TEXT,
			   err) < 0 ||
	    check_template("html", str_or(json_object_get(rec, "html")), KZ_TPL_HTML, err) < 0 ||
	    check_template("text", str_or(json_object_get(rec, "text")), KZ_TPL_TEXT, err) < 0)
		return -1;
	return 0;
}

/* ------------------------------------------------------------------ tokens */

int kz_email_template_apply(json_t *rec, const json_t *in, int create, kz_err *err)
{
	json_t *body = json_object(), *name = json_object_get(in, "name");
	json_t *desc = json_object_get(in, "description");
	const char *k;
	json_t *v;
	int rc;
	json_object_foreach((json_t *)in, k, v)
	{
		if (!strcmp(k, "name") || !strcmp(k, "description") || !strcmp(k, "id") ||
		    !strcmp(k, "created_at") || !strcmp(k, "updated_at"))
			continue;
		if (strcmp(k, "subject") && strcmp(k, "preheader") && strcmp(k, "html") &&
		    strcmp(k, "text") && strcmp(k, "blocks")) {
			json_decref(body);
			return kz_err_set(err, 422, "unknown_field", k,
					  "unknown field %s; templates have name, description, "
					  "subject, preheader, html, text, blocks",
					  k);
		}
		json_object_set(body, k, v);
	}
	/* an empty subject is fine for a layout: the email made from it sets one */
	int no_subject = json_is_string(json_object_get(body, "subject")) &&
			 !json_string_length(json_object_get(body, "subject"));
	if (no_subject)
		json_object_del(body, "subject");
	rc = kz_email_apply(rec, body, 0, err);
	json_decref(body);
	if (rc < 0)
		return -1;
	if (no_subject)
		json_object_set_new(rec, "subject", json_string(""));
	if (name && (!json_is_string(name) || !json_string_length(name) ||
		     json_string_length(name) > 200))
		return kz_err_set(err, 422, "invalid_field", "name",
				  "name must be a text of 1 to 200 bytes");
	if (name)
		json_object_set(rec, "name", name);
	if (desc && !json_is_null(desc) && (!json_is_string(desc) || json_string_length(desc) > 2000))
		return kz_err_set(err, 422, "invalid_field", "description",
				  "description must be a text of at most 2000 bytes");
	if (desc)
		json_object_set(rec, "description", desc);
	if (create && !json_is_string(json_object_get(rec, "name")))
		return kz_err_set(err, 422, "missing_field", "name", "name is required");
	if (create && !json_is_string(json_object_get(rec, "html")))
		return kz_err_set(err, 422, "missing_field", "html", "html is required");
	return 0;
}

json_t *kz_email_from_template(const json_t *tpl)
{
	static const char *const keys[] = {"subject", "preheader", "html", "text", "blocks", NULL};
	json_t *out = json_object();
	for (int i = 0; keys[i]; i++) {
		json_t *v = json_object_get(tpl, keys[i]);
		if (v && !json_is_null(v))
			json_object_set(out, keys[i], v);
	}
	return out;
}

int kz_email_secret(kz_conn *c, char out[65], kz_err *err)
{
	char *v = NULL;
	if (kz_store_setting_get(c, "email_secret", &v, err) < 0)
		return -1;
	if (!v || strlen(v) != 64) {
		char fresh[65];
		free(v);
		kz_random_hex(fresh, 32);
		if (kz_store_setting_set(c, "email_secret", fresh, err) < 0)
			return -1;
		/* another node may have written one first: read back what is stored */
		if (kz_store_setting_get(c, "email_secret", &v, err) < 0)
			return -1;
	}
	snprintf(out, 65, "%s", v ? v : "");
	free(v);
	return 0;
}

static void mac_hex(const char *secret, const char *msg, char *out, size_t hexlen)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, strlen(msg));
	crypto_auth_hmacsha256_final(&st, mac);
	for (size_t i = 0; i < hexlen / 2 && i < sizeof mac; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
	out[hexlen] = '\0';
}

void kz_email_token(const char *secret, int64_t contact_id, int64_t send_id, char out[96])
{
	char msg[64], mac[33];
	snprintf(msg, sizeof msg, "kz1:%" PRId64 ":%" PRId64, contact_id, send_id);
	mac_hex(secret, msg, mac, 32);
	snprintf(out, 96, "%" PRId64 "-%" PRId64 "-%s", contact_id, send_id, mac);
}

int kz_email_token_check(const char *secret, const char *token, int64_t *contact_id,
			 int64_t *send_id)
{
	char want[96];
	long long cid, sid;
	char *end;
	if (!token || strlen(token) > 90)
		return -1;
	cid = strtoll(token, &end, 10);
	if (end == token || *end != '-' || cid < 0)
		return -1;
	sid = strtoll(end + 1, &end, 10);
	if (*end != '-' || sid < 0)
		return -1;
	kz_email_token(secret, cid, sid, want);
	if (strlen(want) != strlen(token) || !kz_const_eq(want, token, strlen(want)))
		return -1;
	*contact_id = cid;
	*send_id = sid;
	return 0;
}

void kz_email_link_mac(const char *secret, int64_t send_id, const char *url, char out[33])
{
	kz_buf m;
	kz_buf_init(&m, 0);
	kz_buf_addf(&m, "kz1-url:%" PRId64 ":%s", send_id, url);
	mac_hex(secret, m.data, out, 32);
	kz_buf_release(&m);
}

void kz_email_click_id(const char *secret, int64_t contact_id, int64_t expires_ms, char out[96])
{
	char msg[80], mac[33];
	snprintf(msg, sizeof msg, "kz1-cid:%" PRId64 ":%" PRId64, contact_id, expires_ms);
	mac_hex(secret, msg, mac, 32);
	snprintf(out, 96, "%" PRId64 ".%" PRId64 ".%s", contact_id, expires_ms, mac);
}

int kz_email_click_id_check(const char *secret, const char *tok, int64_t now_ms,
			    int64_t *contact_id)
{
	char want[96];
	long long cid, exp;
	char *end;
	if (!tok || strlen(tok) > 90)
		return -1;
	cid = strtoll(tok, &end, 10);
	if (end == tok || *end != '.' || cid <= 0)
		return -1;
	exp = strtoll(end + 1, &end, 10);
	if (*end != '.' || exp <= 0)
		return -1;
	kz_email_click_id(secret, cid, exp, want);
	if (strlen(want) != strlen(tok) || !kz_const_eq(want, tok, strlen(want)))
		return -1;
	if (now_ms > exp)
		return -2;
	*contact_id = cid;
	return 0;
}

/* ------------------------------------------------------------------ variables */

json_t *kz_email_vars(kz_conn *c, const json_t *email, int64_t contact_id, kz_err *err)
{
	json_t *vars = json_object(), *contact = NULL, *em;
	if (contact_id) {
		json_t *owner = NULL, *oid;
		if (kz_store_contact_get(c, contact_id, &contact, err) < 0) {
			json_decref(vars);
			return NULL;
		}
		oid = json_object_get(contact, "owner_id");
		if (json_is_integer(oid) &&
		    kz_store_user_get(c, json_integer_value(oid), &owner, err) == 0) {
			json_object_del(owner, "password_hash");
			json_object_set_new(vars, "owner", owner);
		}
		if (json_is_object(json_object_get(contact, "company")))
			json_object_set(vars, "company", json_object_get(contact, "company"));
	} else {
		/* a sample person for previews without a contact */
		contact = json_pack("{s:s,s:s,s:s,s:{}}", "first_name", "太郎", "last_name", "山田",
				    "email", "taro.yamada@example.jp", "fields");
		json_object_set_new(vars, "company", json_pack("{s:s}", "name", "株式会社サンプル"));
	}
	json_object_set_new(vars, "contact", contact);
	em = json_pack("{s:O?,s:O?,s:O?}", "id", json_object_get(email, "id"), "name",
		       json_object_get(email, "name"), "topic", json_object_get(email, "topic"));
	json_object_set_new(vars, "email", em);
	return vars;
}

/* ------------------------------------------------------------------ compile cache */

#define CACHE_SIZE 32

typedef struct compiled {
	int64_t id;
	char version[40];
	kz_tpl *subject, *preheader, *html, *text;
	int refs;
	uint64_t used;
} compiled;

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static compiled *cache[CACHE_SIZE];
static uint64_t cache_clock;

static void compiled_unref(compiled *e)
{
	int last;
	if (!e)
		return;
	pthread_mutex_lock(&cache_mu);
	last = --e->refs == 0;
	pthread_mutex_unlock(&cache_mu);
	if (!last)
		return;
	kz_tpl_free(e->subject);
	kz_tpl_free(e->preheader);
	kz_tpl_free(e->html);
	kz_tpl_free(e->text);
	free(e);
}

static kz_tpl *compile_field(const json_t *email, const char *k, enum kz_tpl_mode m,
			     kz_err *err)
{
	const char *src = str_or(json_object_get(email, k));
	kz_tpl_err te;
	kz_tpl *t = kz_tpl_compile(src, strlen(src), m, &te);
	if (!t)
		kz_err_set(err, 422, "template_error", k, "%s, line %d, column %d: %s", k, te.line,
			   te.col, te.message);
	return t;
}

/* The compiled templates of this version of the email (a reference the caller drops). */
static compiled *compiled_get(const json_t *email, kz_err *err)
{
	int64_t id = json_integer_value(json_object_get(email, "id"));
	const char *ver = str_or(json_object_get(email, "updated_at"));
	compiled *e = NULL;
	int slot = -1;
	pthread_mutex_lock(&cache_mu);
	for (int i = 0; i < CACHE_SIZE; i++)
		if (cache[i] && id && cache[i]->id == id && !strcmp(cache[i]->version, ver)) {
			e = cache[i];
			e->refs++;
			e->used = ++cache_clock;
			break;
		}
	pthread_mutex_unlock(&cache_mu);
	if (e)
		return e;
	e = calloc(1, sizeof *e);
	if (!e) {
		kz_err_set(err, 500, "internal", "", "out of memory");
		return NULL;
	}
	e->id = id;
	snprintf(e->version, sizeof e->version, "%s", ver);
	e->refs = 1;
	e->subject = compile_field(email, "subject", KZ_TPL_TEXT, err);
	e->preheader = e->subject ? compile_field(email, "preheader", KZ_TPL_TEXT, err) : NULL;
	e->html = e->preheader ? compile_field(email, "html", KZ_TPL_HTML, err) : NULL;
	e->text = e->html ? compile_field(email, "text", KZ_TPL_TEXT, err) : NULL;
	if (!e->text) {
		compiled_unref(e);
		return NULL;
	}
	if (!id)
		return e;
	pthread_mutex_lock(&cache_mu);
	for (int i = 0; i < CACHE_SIZE; i++) {
		if (!cache[i]) {
			slot = i;
			break;
		}
		if (cache[i]->id == id) {
			slot = i; /* an older version of the same email */
			break;
		}
		if (slot < 0 || cache[i]->used < cache[slot]->used)
			slot = i;
	}
	if (cache[slot]) {
		compiled *old = cache[slot];
		if (--old->refs == 0) {
			kz_tpl_free(old->subject);
			kz_tpl_free(old->preheader);
			kz_tpl_free(old->html);
			kz_tpl_free(old->text);
			free(old);
		}
	}
	e->refs++;
	e->used = ++cache_clock;
	cache[slot] = e;
	pthread_mutex_unlock(&cache_mu);
	return e;
}

/* ------------------------------------------------------------------ rendering */

static void url_encode(kz_buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			kz_buf_addc(out, (char)c);
		} else {
			kz_buf_addc(out, '%');
			kz_buf_addc(out, hex[c >> 4]);
			kz_buf_addc(out, hex[c & 15]);
		}
	}
}

/* Undo the HTML escaping of an attribute value (&amp; → &) so the real URL is signed. */
static char *attr_unescape(const char *s, size_t n)
{
	kz_buf b;
	kz_buf_init(&b, 0);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '&') {
			static const char *const ents[][2] = {{"&amp;", "&"}, {"&quot;", "\""},
							      {"&#39;", "'"},  {"&lt;", "<"},
							      {"&gt;", ">"}};
			int hit = 0;
			for (size_t e = 0; e < 5; e++) {
				size_t l = strlen(ents[e][0]);
				if (i + l <= n && !strncmp(s + i, ents[e][0], l)) {
					kz_buf_adds(&b, ents[e][1]);
					i += l - 1;
					hit = 1;
					break;
				}
			}
			if (hit)
				continue;
		}
		kz_buf_addc(&b, s[i]);
	}
	return kz_buf_detach(&b, NULL);
}

/* Rewrite href="http(s)://..." of <a> tags to the click redirect; our own /u/ links stay. */
static void track_links(kz_buf *out, const char *html, const kz_render_opts *o, const char *tok)
{
	const char *p = html;
	size_t blen = strlen(o->base_url);
	for (;;) {
		const char *a = ci_find(p, "href=");
		char q;
		const char *v, *e;
		char *url;
		if (!a) {
			kz_buf_adds(out, p);
			return;
		}
		q = a[5];
		if (q != '"' && q != '\'') {
			kz_buf_add(out, p, (size_t)(a + 5 - p));
			p = a + 5;
			continue;
		}
		v = a + 6;
		e = strchr(v, q);
		if (!e) {
			kz_buf_adds(out, p);
			return;
		}
		kz_buf_add(out, p, (size_t)(v - p));
		url = attr_unescape(v, (size_t)(e - v));
		if ((!strncasecmp(url, "http://", 7) || !strncasecmp(url, "https://", 8)) &&
		    !(strlen(url) > blen && !strncmp(url, o->base_url, blen) &&
		      !strncmp(url + blen, "/u/", 3))) {
			char mac[33];
			kz_email_link_mac(o->secret, o->send_id, url, mac);
			kz_buf_addf(out, "%s/t/c/%s?u=", o->base_url, tok);
			url_encode(out, url, strlen(url));
			kz_buf_addf(out, "&amp;h=%s", mac);
		} else {
			kz_buf_add(out, v, (size_t)(e - v));
		}
		free(url);
		p = e;
	}
}

static void html_escape_into(kz_buf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': kz_buf_adds(b, "&amp;"); break;
		case '<': kz_buf_adds(b, "&lt;"); break;
		case '>': kz_buf_adds(b, "&gt;"); break;
		case '"': kz_buf_adds(b, "&quot;"); break;
		default: kz_buf_addc(b, *s);
		}
	}
}

static const char *setting(const json_t *s, const char *k)
{
	const char *v = json_string_value(json_object_get(s, k));
	return v ? v : "";
}

int kz_email_footer_missing(const json_t *settings)
{
	if (!strcmp(setting(settings, "email_footer_required"), "false"))
		return 0;
	return !*setting(settings, "company_name") || !*setting(settings, "company_address");
}

static void footer_html(kz_buf *b, const kz_render_opts *o, const kz_rendered *r)
{
	const char *name = setting(o->settings, "company_name");
	const char *addr = setting(o->settings, "company_address");
	const char *contact = setting(o->settings, "company_contact");
	kz_buf_adds(b, "\n<div class=\"kz-footer\" style=\"font-size:12px;color:#666;"
		       "margin-top:24px\">");
	if (*name) {
		html_escape_into(b, name);
		kz_buf_adds(b, "<br>");
	}
	if (*addr) {
		html_escape_into(b, addr);
		kz_buf_adds(b, "<br>");
	}
	if (*contact) {
		html_escape_into(b, contact);
		kz_buf_adds(b, "<br>");
	}
	kz_buf_adds(b, "<a href=\"");
	html_escape_into(b, r->unsub_url);
	kz_buf_adds(b, "\">配信停止 / Unsubscribe</a> | <a href=\"");
	html_escape_into(b, r->prefs_url);
	kz_buf_adds(b, "\">配信設定 / Preferences</a></div>\n");
}

static void footer_text(kz_buf *b, const kz_render_opts *o, const kz_rendered *r)
{
	const char *name = setting(o->settings, "company_name");
	const char *addr = setting(o->settings, "company_address");
	const char *contact = setting(o->settings, "company_contact");
	kz_buf_adds(b, "\n\n--\n");
	if (*name)
		kz_buf_addf(b, "%s\n", name);
	if (*addr)
		kz_buf_addf(b, "%s\n", addr);
	if (*contact)
		kz_buf_addf(b, "%s\n", contact);
	kz_buf_addf(b, "配信停止 / Unsubscribe: %s\n", r->unsub_url);
	kz_buf_addf(b, "配信設定 / Preferences: %s\n", r->prefs_url);
}

/* Insert `ins` right after <body ...> (or at the start), or before </body> (or at the end). */
static void splice(kz_buf *out, const char *html, const char *ins, int at_end)
{
	const char *at;
	if (at_end) {
		at = ci_find(html, "</body");
		if (!at)
			at = html + strlen(html);
	} else {
		at = ci_find(html, "<body");
		at = at ? strchr(at, '>') : NULL;
		at = at ? at + 1 : html;
	}
	kz_buf_add(out, html, (size_t)(at - html));
	kz_buf_adds(out, ins);
	kz_buf_adds(out, at);
}

static int render_one(kz_tpl *t, json_t *vars, kz_buf *out, const char *field, kz_err *err)
{
	kz_tpl_err te;
	kz_tpl_limits lim = {0, MAX_BODY * 2};
	if (kz_tpl_render(t, vars, &lim, out, &te) == 0)
		return 0;
	return kz_err_set(err, 422, "template_error", field, "%s, line %d, column %d: %s", field,
			  te.line, te.col, te.message);
}

int kz_email_render(const json_t *email, json_t *vars, const kz_render_opts *o,
		    kz_rendered *out, kz_err *err)
{
	compiled *cp;
	char tok[96];
	kz_buf subj, pre, html, text, tmp, tmp2;
	int rc = -1, has_text;
	memset(out, 0, sizeof *out);
	cp = compiled_get(email, err);
	if (!cp)
		return -1;
	kz_email_token(o->secret, o->contact_id, o->send_id, tok);
	snprintf(out->unsub_url, sizeof out->unsub_url, "%s/u/%s", o->base_url, tok);
	snprintf(out->prefs_url, sizeof out->prefs_url, "%s/u/%s/preferences", o->base_url, tok);
	snprintf(out->view_url, sizeof out->view_url, "%s/u/%s/view", o->base_url, tok);
	json_object_set_new(vars, "unsubscribe_url", json_string(out->unsub_url));
	json_object_set_new(vars, "preferences_url", json_string(out->prefs_url));
	json_object_set_new(vars, "view_in_browser_url", json_string(out->view_url));
	if (o->event)
		json_object_set(vars, "event", (json_t *)o->event);
	kz_buf_init(&subj, 0);
	kz_buf_init(&pre, 0);
	kz_buf_init(&html, 0);
	kz_buf_init(&text, 0);
	kz_buf_init(&tmp, 0);
	kz_buf_init(&tmp2, 0);
	if (render_one(cp->subject, vars, &subj, "subject", err) < 0 ||
	    render_one(cp->preheader, vars, &pre, "preheader", err) < 0 ||
	    render_one(cp->html, vars, &html, "html", err) < 0 ||
	    render_one(cp->text, vars, &text, "text", err) < 0)
		goto out;
	has_text = text.len > 0;
	/* the preheader: hidden text that inboxes show next to the subject */
	if (pre.len) {
		kz_buf ph;
		kz_buf_init(&ph, 0);
		kz_buf_adds(&ph, "<div style=\"display:none;max-height:0;overflow:hidden\">");
		html_escape_into(&ph, pre.data);
		kz_buf_adds(&ph, "</div>");
		splice(&tmp, html.data, ph.data, 0);
		kz_buf_release(&ph);
		kz_buf_release(&html);
		html = tmp;
		kz_buf_init(&tmp, 0);
	}
	if (!has_text) {
		char *t = kz_html_to_text(html.data);
		kz_buf_adds(&text, t ? t : "");
		free(t);
	}
	{
		kz_buf foot;
		kz_buf_init(&foot, 0);
		footer_html(&foot, o, out);
		splice(&tmp, html.data, foot.data, 1);
		kz_buf_release(&foot);
	}
	footer_text(&text, o, out);
	if (o->track && o->send_id) {
		char pix[700];
		track_links(&tmp2, tmp.data, o, tok);
		kz_buf_reset(&tmp);
		snprintf(pix, sizeof pix,
			 "<img src=\"%s/t/o/%s.gif\" width=\"1\" height=\"1\" alt=\"\" "
			 "style=\"display:block\">",
			 o->base_url, tok);
		splice(&tmp, tmp2.data, pix, 1);
	}
	if (subj.overflow || tmp.overflow || text.overflow) {
		kz_err_set(err, 413, "too_large", "html", "the rendered message is too large");
		goto out;
	}
	out->subject = kz_buf_detach(&subj, NULL);
	out->html = kz_buf_detach(&tmp, NULL);
	out->text = kz_buf_detach(&text, NULL);
	rc = 0;
out:
	kz_buf_release(&subj);
	kz_buf_release(&pre);
	kz_buf_release(&html);
	kz_buf_release(&text);
	kz_buf_release(&tmp);
	kz_buf_release(&tmp2);
	compiled_unref(cp);
	return rc;
}

void kz_rendered_release(kz_rendered *r)
{
	free(r->subject);
	free(r->html);
	free(r->text);
	r->subject = r->html = r->text = NULL;
}

/* ------------------------------------------------------------------ HTML to text */

static int tag_is(const char *t, size_t n, const char *name)
{
	size_t l = strlen(name);
	return n >= l && !strncasecmp(t, name, l) && (n == l || t[l] == ' ' || t[l] == '/' ||
						     t[l] == '\t' || t[l] == '\n');
}

char *kz_html_to_text(const char *html)
{
	kz_buf b;
	const char *p = html;
	char href[1024] = "";
	int skip = 0, sp = 0;
	kz_buf_init(&b, MAX_BODY * 2);
	while (*p) {
		if (*p == '<') {
			const char *e = strchr(p, '>');
			const char *t = p + 1;
			int closing = *t == '/';
			size_t n;
			if (!e)
				break;
			if (closing)
				t++;
			n = (size_t)(e - t);
			if (tag_is(t, n, "style") || tag_is(t, n, "script") || tag_is(t, n, "head"))
				skip = !closing;
			else if (tag_is(t, n, "br") || tag_is(t, n, "p") || tag_is(t, n, "div") ||
				 tag_is(t, n, "tr") || tag_is(t, n, "h1") || tag_is(t, n, "h2") ||
				 tag_is(t, n, "h3") || tag_is(t, n, "li") || tag_is(t, n, "table")) {
				if (b.len && b.data[b.len - 1] != '\n')
					kz_buf_addc(&b, '\n');
				if (tag_is(t, n, "li") && !closing)
					kz_buf_adds(&b, "- ");
				sp = 0;
			} else if (tag_is(t, n, "a") && !closing) {
				const char *h = ci_find(t, "href=");
				href[0] = '\0';
				if (h && h < e && (h[5] == '"' || h[5] == '\'')) {
					const char *he = strchr(h + 6, h[5]);
					if (he && he < e && (size_t)(he - h - 6) < sizeof href) {
						char *u = attr_unescape(h + 6, (size_t)(he - h - 6));
						snprintf(href, sizeof href, "%s", u);
						free(u);
					}
				}
			} else if (tag_is(t, n, "a") && closing && href[0]) {
				if (strncmp(href, "mailto:", 7))
					kz_buf_addf(&b, " (%s)", href);
				href[0] = '\0';
			}
			p = e + 1;
			continue;
		}
		if (skip) {
			p++;
			continue;
		}
		if (*p == '&') {
			static const char *const ents[][2] = {
				{"&amp;", "&"},  {"&lt;", "<"},   {"&gt;", ">"},
				{"&quot;", "\""}, {"&#39;", "'"}, {"&nbsp;", " "}};
			int hit = 0;
			for (size_t i = 0; i < 6; i++) {
				size_t l = strlen(ents[i][0]);
				if (!strncmp(p, ents[i][0], l)) {
					kz_buf_adds(&b, ents[i][1]);
					p += l;
					hit = 1;
					break;
				}
			}
			if (hit)
				continue;
		}
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
			sp = 1;
			p++;
			continue;
		}
		if (sp && b.len && b.data[b.len - 1] != '\n')
			kz_buf_addc(&b, ' ');
		sp = 0;
		kz_buf_addc(&b, *p++);
	}
	while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == ' '))
		b.data[--b.len] = '\0';
	{
		const char *s = b.data;
		while (*s == '\n')
			s++;
		if (s != b.data) {
			char *r = strdup(s);
			kz_buf_release(&b);
			return r;
		}
	}
	return kz_buf_detach(&b, NULL);
}

/* ------------------------------------------------------------------ timeline events */

void kz_email_event(kz_conn *c, const json_t *send, const char *name, json_t *extra, int64_t at)
{
	int64_t cid = json_integer_value(json_object_get(send, "contact_id"));
	int64_t sid = json_integer_value(json_object_get(send, "id"));
	const char *kind = json_string_value(json_object_get(send, "kind"));
	json_t *props = extra ? extra : json_object(), *v;
	char *pj, mid[96];
	kz_err err;
	int inserted;
	kz_event_row e;
	if (!cid || (kind && (!strcmp(kind, "test") || !strcmp(kind, "notify")))) {
		json_decref(props);
		return;
	}
	json_object_set_new(props, "email_id",
			    json_integer(json_integer_value(json_object_get(send, "email_id"))));
	if ((v = json_object_get(send, "broadcast_id")) && json_is_integer(v))
		json_object_set(props, "broadcast_id", v);
	if ((v = json_object_get(send, "journey_id")) && json_is_integer(v))
		json_object_set(props, "journey_id", v);
	json_object_set_new(props, "send_id", json_integer(sid));
	pj = json_dumps(props, JSON_COMPACT | JSON_SORT_KEYS);
	/* sent and bounced happen once per send; opens and clicks each time */
	if (!strcmp(name, "email_sent"))
		snprintf(mid, sizeof mid, "kz-email:%" PRId64 ":sent", sid);
	else
		kz_random_hex(mid, 16);
	{
		/* Through the event writer, so segments, scoring and journeys see it; a CLI run
		 * (kizuna bounce) has none and writes it here. */
		json_t *ev = json_pack("{s:s, s:s, s:I, s:O, s:s}", "type", "track", "event", name,
				       "contactId", (json_int_t)cid, "properties", props,
				       "messageId", mid);
		kz_track_src src;
		int rc;
		memset(&src, 0, sizeof src);
		src.received_at = at;
		rc = ev ? kz_track_emit(ev, &src, at, &err) : 1;
		json_decref(ev);
		if (rc < 0)
			kz_warn("email: cannot record %s for send %" PRId64 ": %s", name, sid,
				err.message);
		if (rc == 1) {
			memset(&e, 0, sizeof e);
			e.contact_id = cid;
			e.type = "track";
			e.name = name;
			e.properties = pj;
			e.context = "{}";
			e.message_id = mid;
			e.occurred_at = e.received_at = at;
			if (kz_store_event_insert(c, &e, &inserted, &err) < 0)
				kz_warn("email: cannot record %s for send %" PRId64 ": %s", name, sid,
					err.message);
		}
	}
	free(pj);
	json_decref(props);
}
