/* site.c — tracked web sites: validation, site keys, allowed origins and the embed snippet. */
#include "model/site.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/cleanse.h"
#include "base/crypto.h"

#include "base/banned.h"

#define MAX_ORIGINS 50
#define MAX_ORIGIN 253

static int check_known(const json_t *in, kz_err *err)
{
	static const char *const allowed[] = {
		"name",        "allowed_origins", "bot_filter", "anonymize_ip",
		"respect_dnt", "retention_days",  "rotate_key", "id",
		"site_key",    "snippet",         "created_at", "updated_at"};
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)in, k, v) {
		size_t i;
		for (i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
			if (!strcmp(k, allowed[i]))
				break;
		if (i == sizeof allowed / sizeof allowed[0])
			return kz_err_set(err, 422, "unknown_field", k,
					  "%s is not a site attribute", k);
	}
	return 0;
}

char *kz_site_origin_normalize(const char *s)
{
	const char *host;
	size_t n;
	char *out;
	while (*s == ' ')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '/'))
		n--;
	if (n == 1 && s[0] == '*')
		return strdup("*");
	if (n > MAX_ORIGIN)
		return NULL;
	if (n > 8 && !strncasecmp(s, "https://", 8))
		host = s + 8;
	else if (n > 7 && !strncasecmp(s, "http://", 7))
		host = s + 7;
	else
		return NULL;
	if (!strncmp(host, "*.", 2))
		host += 2;
	for (const char *p = host; p < s + n; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != ':')
			return NULL;
	if (host >= s + n || *host == '.' || *host == ':')
		return NULL;
	out = malloc(n + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[n] = '\0';
	return out;
}

int kz_site_origin_allowed(const json_t *origins, const char *origin)
{
	size_t i, olen;
	json_t *e;
	if (json_array_size(origins) == 0)
		return 1;
	if (!origin)
		return 0;
	olen = strlen(origin);
	json_array_foreach(origins, i, e) {
		const char *a = json_string_value(e), *star;
		if (!a)
			continue;
		if (!strcmp(a, "*") || !strcasecmp(a, origin))
			return 1;
		star = strstr(a, "://*.");
		if (star) {
			/* a wildcard entry: same scheme, any subdomain of the rest */
			size_t scheme = (size_t)(star - a) + 3, suffix = strlen(star + 4);
			if (olen > scheme + suffix && !strncasecmp(origin, a, scheme) &&
			    !strcasecmp(origin + olen - suffix, star + 4) &&
			    !strchr(origin + scheme, '/'))
				return 1;
		}
	}
	return 0;
}

static int apply_origins(json_t *rec, const json_t *v, kz_err *err)
{
	json_t *list;
	size_t i;
	json_t *e;
	if (!json_is_array(v))
		return kz_err_set(
			err, 422, "invalid_field", "allowed_origins",
			"allowed_origins must be an array like [\"https://www.example.com\"]");
	if (json_array_size(v) > MAX_ORIGINS)
		return kz_err_set(err, 422, "invalid_field", "allowed_origins",
				  "at most %d allowed origins per site", MAX_ORIGINS);
	list = json_array();
	json_array_foreach(v, i, e) {
		char *o = json_is_string(e) ? kz_site_origin_normalize(json_string_value(e)) : NULL;
		int dup = 0;
		size_t k;
		json_t *x;
		if (!o) {
			json_decref(list);
			return kz_err_set(
				err, 422, "invalid_field", "allowed_origins",
				"allowed_origins[%zu] is not an origin: write it like "
				"https://www.example.com or https://*.example.com (no path)",
				i);
		}
		json_array_foreach(list, k, x)
			dup |= !strcmp(json_string_value(x), o);
		if (!dup)
			json_array_append_new(list, json_string(o));
		free(o);
	}
	json_object_set_new(rec, "allowed_origins", list);
	return 0;
}

static int apply_bool(json_t *rec, const json_t *in, const char *key, kz_err *err)
{
	const json_t *v = json_object_get(in, key);
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return kz_err_set(err, 422, "invalid_field", key, "%s must be true or false", key);
	json_object_set(rec, key, (json_t *)v);
	return 0;
}

static void new_key(json_t *rec)
{
	char hex[25], key[32];
	kz_random_hex(hex, 12);
	snprintf(key, sizeof key, "kzs_%s", hex);
	json_object_set_new(rec, "site_key", json_string(key));
}

int kz_site_apply(json_t *rec, const json_t *in, int create, kz_err *err)
{
	const json_t *v;
	if (check_known(in, err) < 0)
		return -1;
	if (create) {
		json_object_set_new(rec, "allowed_origins", json_array());
		json_object_set_new(rec, "bot_filter", json_true());
		json_object_set_new(rec, "anonymize_ip", json_false());
		json_object_set_new(rec, "respect_dnt", json_false());
		json_object_set_new(rec, "retention_days", json_integer(400));
		new_key(rec);
	}
	v = json_object_get(in, "name");
	if (v || create) {
		char *name = json_is_string(v) ? kz_clean_name(json_string_value(v)) : NULL;
		if (!name || !*name || strlen(name) > 200) {
			free(name);
			return kz_err_set(
				err, 422, "invalid_field", "name",
				"name is required: 1 to 200 bytes of UTF-8, like \"Corporate "
				"site\"");
		}
		json_object_set_new(rec, "name", json_string(name));
		free(name);
	}
	v = json_object_get(in, "allowed_origins");
	if (v && apply_origins(rec, json_is_null(v) ? json_array() : v, err) < 0)
		return -1;
	if (apply_bool(rec, in, "bot_filter", err) < 0 ||
	    apply_bool(rec, in, "anonymize_ip", err) < 0 ||
	    apply_bool(rec, in, "respect_dnt", err) < 0)
		return -1;
	v = json_object_get(in, "retention_days");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 3650)
			return kz_err_set(err, 422, "invalid_field", "retention_days",
					  "retention_days must be a number of days from 1 to 3650");
		json_object_set(rec, "retention_days", (json_t *)v);
	}
	v = json_object_get(in, "rotate_key");
	if (v && !json_is_boolean(v))
		return kz_err_set(err, 422, "invalid_field", "rotate_key",
				  "rotate_key must be true or false");
	if (json_is_true(v) && !create)
		new_key(rec);
	return 0;
}

static void add_escaped(kz_buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			kz_buf_adds(b, "&amp;");
			break;
		case '<':
			kz_buf_adds(b, "&lt;");
			break;
		case '>':
			kz_buf_adds(b, "&gt;");
			break;
		case '"':
			kz_buf_adds(b, "&quot;");
			break;
		default:
			kz_buf_addc(b, *s);
		}
	}
}

char *kz_site_snippet(const json_t *site, const char *base_url)
{
	const char *key = json_string_value(json_object_get(site, "site_key"));
	size_t n = base_url ? strlen(base_url) : 0;
	kz_buf b;
	char *base;
	while (n && base_url[n - 1] == '/')
		n--;
	base = malloc(n + 1);
	if (!base)
		return NULL;
	if (n)
		memcpy(base, base_url, n);
	base[n] = '\0';
	kz_buf_init(&b, 0);
	kz_buf_adds(&b, "<script>window.kz=window.kz||function(){(kz.q=kz.q||[]).push(arguments)};"
			"</script>\n<script async src=\"");
	add_escaped(&b, base);
	kz_buf_adds(&b, "/kz.js\" data-site=\"");
	add_escaped(&b, key ? key : "");
	kz_buf_adds(&b, "\"");
	if (json_is_true(json_object_get(site, "respect_dnt")))
		kz_buf_adds(&b, " data-dnt=\"1\"");
	kz_buf_adds(&b, "></script>");
	free(base);
	return kz_buf_detach(&b, NULL);
}
