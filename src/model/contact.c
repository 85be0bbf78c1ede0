/* contact.c — contact validation, cleansing and the upsert/patch/merge rules. */
#include "model/contact.h"

#include <pthread.h>

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/cleanse.h"
#include "base/timeutil.h"
#include "store/rowjson.h"

#include "base/banned.h"

#define MAX_NAME 200
#define MAX_TAG 100
#define MAX_TAGS 200
#define MAX_TEXT 10000

static const char *const name_keys[] = {"first_name", "last_name", "first_name_kana",
					"last_name_kana"};

/* ---- small validators ---- */

static int valid_timezone(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64 || s[0] == '/' || strstr(s, ".."))
		return 0;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("/_+-", *p))
			return 0;
	return 1;
}

static int valid_locale(const char *s)
{
	size_t n = strlen(s), i = 0;
	if (n < 2 || n > 35)
		return 0;
	while (i < n && isalpha((unsigned char)s[i]))
		i++;
	if (i < 2 || i > 3)
		return 0;
	while (i < n) {
		size_t start;
		if (s[i] != '-' && s[i] != '_')
			return 0;
		start = ++i;
		while (i < n && isalnum((unsigned char)s[i]))
			i++;
		if (i - start < 2 || i - start > 8)
			return 0;
	}
	return 1;
}

static int valid_url(const char *s)
{
	if (strncmp(s, "http://", 7) && strncmp(s, "https://", 8))
		return 0;
	if (strlen(s) > 2048)
		return 0;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ')
			return 0;
	return strlen(s) > (s[4] == 's' ? 8u : 7u);
}

char *kz_domain_normalize(const char *in)
{
	const char *p = in;
	char *out, *q;
	size_t n;
	while (*p == ' ')
		p++;
	if (!strncasecmp(p, "https://", 8))
		p += 8;
	else if (!strncasecmp(p, "http://", 7))
		p += 7;
	if (!strncasecmp(p, "www.", 4))
		p += 4;
	n = strcspn(p, "/?# ");
	out = malloc(n + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)p[i]);
	out[n] = '\0';
	q = strchr(out, ':');
	if (q)
		*q = '\0';
	return out;
}

static const json_t *find_def(const json_t *defs, const char *key)
{
	size_t i;
	json_t *d;
	json_array_foreach(defs, i, d)
	{
		const char *k = json_string_value(json_object_get(d, "key"));
		if (k && !strcmp(k, key))
			return d;
	}
	return NULL;
}

static int in_options(const json_t *def, const char *v)
{
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(def, "options"), i, o)
	{
		const char *s = json_string_value(o);
		if (s && !strcmp(s, v))
			return 1;
	}
	return 0;
}

static int lenient_bool(const char *s, int *b)
{
	static const char *const yes[] = {"true", "yes", "y", "1", "on", "はい", "○", "有"};
	static const char *const no[] = {"false", "no", "n", "0", "off", "いいえ", "×", "無", ""};
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
		if (!strcasecmp(s, yes[i]))
			return *b = 1, 0;
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		if (!strcasecmp(s, no[i]))
			return *b = 0, 0;
	return -1;
}

int kz_field_value_check(const json_t *def, const json_t *v, int lenient, json_t **out,
			 kz_err *err)
{
	return kz_field_value_check_cc(def, v, lenient, "JP", out, err);
}

int kz_field_value_check_cc(const json_t *def, const json_t *v, int lenient, const char *country,
			    json_t **out, kz_err *err)
{
	const char *type = json_string_value(json_object_get(def, "type"));
	const char *key = json_string_value(json_object_get(def, "key"));
	char fname[96];
	const char *s = json_string_value(v);
	*out = NULL;
	snprintf(fname, sizeof fname, "fields.%s", key ? key : "?");
	if (!type)
		type = "text";
	if (json_is_null(v)) {
		*out = json_null();
		return 0;
	}
	if (!strcmp(type, "text")) {
		if (!s)
			return kz_err_set(err, 422, "invalid_field", fname, "%s must be a string", fname);
		if (strlen(s) > MAX_TEXT || !kz_utf8_valid(s, strlen(s)))
			return kz_err_set(err, 422, "invalid_field", fname,
					  "%s must be valid UTF-8 of at most %d bytes", fname, MAX_TEXT);
		*out = json_string(s);
		return 0;
	}
	if (!strcmp(type, "number")) {
		if (json_is_number(v)) {
			*out = json_deep_copy(v);
			return 0;
		}
		if (s && lenient && *s) {
			char *end;
			double d = strtod(s, &end);
			/* finite, and within the range where integers are exact in a double */
			if (*end == '\0' && isfinite(d) && fabs(d) < 9007199254740992.0) {
				*out = (d == floor(d) && !strpbrk(s, ".eE")) ? json_integer((json_int_t)d)
									      : json_real(d);
				if (*out)
					return 0;
			}
		}
		return kz_err_set(err, 422, "invalid_field", fname, "%s must be a number", fname);
	}
	if (!strcmp(type, "boolean")) {
		int b;
		if (json_is_boolean(v)) {
			*out = json_deep_copy(v);
			return 0;
		}
		if (s && lenient && lenient_bool(s, &b) == 0) {
			*out = json_boolean(b);
			return 0;
		}
		return kz_err_set(err, 422, "invalid_field", fname, "%s must be true or false", fname);
	}
	if (!strcmp(type, "date")) {
		if (!s || kz_date_valid(s) < 0)
			return kz_err_set(err, 422, "invalid_field", fname,
					  "%s must be a date like 2026-11-24", fname);
		*out = json_string(s);
		return 0;
	}
	if (!strcmp(type, "datetime")) {
		int64_t ms;
		char iso[40];
		if (!s || kz_time_parse_iso(s, &ms) < 0)
			return kz_err_set(err, 422, "invalid_field", fname,
					  "%s must be an ISO 8601 time like 2026-11-24T09:00:00+09:00",
					  fname);
		kz_time_iso(ms, iso, sizeof iso);
		*out = json_string(iso);
		return 0;
	}
	if (!strcmp(type, "select")) {
		if (!s || !in_options(def, s))
			return kz_err_set(err, 422, "invalid_field", fname,
					  "%s must be one of the field's options", fname);
		*out = json_string(s);
		return 0;
	}
	if (!strcmp(type, "multiselect")) {
		json_t *arr = json_array();
		size_t i;
		json_t *e;
		if (s && lenient) {
			/* "a;b" or "a,b" from a spreadsheet cell */
			char *copy = strdup(s), *p = copy;
			while (p && *p) {
				char *sep = strpbrk(p, ";,");
				if (sep)
					*sep = '\0';
				while (*p == ' ')
					p++;
				if (*p)
					json_array_append_new(arr, json_string(p));
				p = sep ? sep + 1 : NULL;
			}
			free(copy);
		} else if (json_is_array(v)) {
			json_array_foreach(v, i, e) json_array_append(arr, e);
		} else {
			json_decref(arr);
			return kz_err_set(err, 422, "invalid_field", fname,
					  "%s must be an array of the field's options", fname);
		}
		json_array_foreach(arr, i, e)
		{
			if (!json_is_string(e) || !in_options(def, json_string_value(e))) {
				json_decref(arr);
				return kz_err_set(err, 422, "invalid_field", fname,
						  "%s must be an array of the field's options", fname);
			}
		}
		*out = arr;
		return 0;
	}
	if (!strcmp(type, "email")) {
		char *clean = NULL;
		if (!s || kz_clean_email(s, &clean) < 0)
			return kz_err_set(err, 422, "invalid_field", fname,
					  "%s must be an email address", fname);
		*out = json_string(clean);
		free(clean);
		return 0;
	}
	if (!strcmp(type, "url")) {
		if (!s || !valid_url(s))
			return kz_err_set(err, 422, "invalid_field", fname,
					  "%s must be an http(s) URL", fname);
		*out = json_string(s);
		return 0;
	}
	if (!strcmp(type, "phone")) {
		char *clean = NULL;
		if (!s || kz_clean_phone(s, country ? country : "JP", &clean) < 0)
			return kz_err_set(err, 422, "invalid_field", fname,
					  "%s must be a phone number", fname);
		*out = json_string(clean);
		free(clean);
		return 0;
	}
	return kz_err_set(err, 500, "internal", fname, "unknown field type %s", type);
}

/* ---- applying input onto a record ---- */

static int apply_name(json_t *rec, const char *key, const json_t *v, kz_err *err)
{
	char *clean;
	if (json_is_null(v)) {
		json_object_set_new(rec, key, json_null());
		return 0;
	}
	if (!json_is_string(v))
		return kz_err_set(err, 422, "invalid_field", key, "%s must be a string", key);
	clean = kz_clean_name(json_string_value(v));
	if (!clean)
		return kz_err_set(err, 422, "invalid_field", key, "%s is not valid UTF-8", key);
	if (strlen(clean) > MAX_NAME) {
		free(clean);
		return kz_err_set(err, 422, "invalid_field", key, "%s is longer than %d bytes", key,
				  MAX_NAME);
	}
	json_object_set_new(rec, key, *clean ? json_string(clean) : json_null());
	free(clean);
	return 0;
}

static int clean_tag(const json_t *v, char **out, kz_err *err)
{
	char *t;
	if (!json_is_string(v))
		return kz_err_set(err, 422, "invalid_field", "tags", "tags must be strings");
	t = kz_clean_name(json_string_value(v));
	if (!t || !*t || strlen(t) > MAX_TAG) {
		free(t);
		return kz_err_set(err, 422, "invalid_field", "tags",
				  "a tag must be non-empty UTF-8 of at most %d bytes", MAX_TAG);
	}
	*out = t;
	return 0;
}

static int tags_has(const json_t *tags, const char *t)
{
	size_t i;
	json_t *e;
	json_array_foreach(tags, i, e)
	{
		const char *s = json_string_value(e);
		if (s && !strcmp(s, t))
			return 1;
	}
	return 0;
}

static int tags_add(json_t *tags, const json_t *list, kz_err *err)
{
	size_t i;
	json_t *e;
	if (!json_is_array(list))
		return kz_err_set(err, 422, "invalid_field", "tags", "tags must be an array of strings");
	json_array_foreach(list, i, e)
	{
		char *t = NULL;
		if (clean_tag(e, &t, err) < 0 || !t)
			return -1;
		if (!tags_has(tags, t))
			json_array_append_new(tags, json_string(t));
		free(t);
	}
	if (json_array_size(tags) > MAX_TAGS)
		return kz_err_set(err, 422, "invalid_field", "tags", "at most %d tags per contact",
				  MAX_TAGS);
	return 0;
}

static int tags_remove(json_t *tags, const json_t *list, kz_err *err)
{
	size_t i;
	json_t *e;
	if (!json_is_array(list))
		return kz_err_set(err, 422, "invalid_field", "tags.remove",
				  "tags.remove must be an array of strings");
	json_array_foreach(list, i, e)
	{
		char *t = NULL;
		if (clean_tag(e, &t, err) < 0 || !t)
			return -1;
		for (size_t k = 0; k < json_array_size(tags); k++) {
			const char *s = json_string_value(json_array_get(tags, k));
			if (s && !strcmp(s, t)) {
				json_array_remove(tags, k);
				break;
			}
		}
		free(t);
	}
	return 0;
}

static int apply_tags(json_t *rec, const json_t *v, enum kz_apply_mode mode, kz_err *err)
{
	json_t *tags = json_object_get(rec, "tags");
	if (!json_is_array(tags)) {
		tags = json_array();
		json_object_set_new(rec, "tags", tags);
	}
	if (json_is_object(v)) {
		json_t *add = json_object_get(v, "add"), *rm = json_object_get(v, "remove");
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)v, k, x) if (strcmp(k, "add") && strcmp(k, "remove")) return kz_err_set(
			err, 422, "invalid_field", "tags", "tags object takes only \"add\" and \"remove\"");
		if (add && tags_add(tags, add, err) < 0)
			return -1;
		if (rm && tags_remove(tags, rm, err) < 0)
			return -1;
		return 0;
	}
	if (json_is_null(v)) {
		if (mode == KZ_APPLY_PATCH)
			json_array_clear(tags);
		return 0;
	}
	if (!json_is_array(v))
		return kz_err_set(err, 422, "invalid_field", "tags",
				  "tags must be an array of strings or {\"add\":[],\"remove\":[]}");
	if (mode == KZ_APPLY_PATCH)
		json_array_clear(tags);
	return tags_add(tags, v, err);
}

static const char *fname_of(const char *key, char *buf, size_t len)
{
	snprintf(buf, len, "fields.%s", key);
	return buf;
}

static int apply_fields(json_t *rec, const json_t *v, const kz_contact_opts *o, kz_err *err)
{
	json_t *fields = json_object_get(rec, "fields");
	const char *k;
	json_t *x;
	char fname[96];
	if (!json_is_object(v))
		return kz_err_set(err, 422, "invalid_field", "fields",
				  "fields must be an object of custom field values");
	if (!json_is_object(fields)) {
		fields = json_object();
		json_object_set_new(rec, "fields", fields);
	}
	json_object_foreach((json_t *)v, k, x)
	{
		const json_t *def = find_def(o->field_defs, k);
		json_t *val;
		if (!def)
			return kz_err_set(err, 422, "unknown_field", fname_of(k, fname, sizeof fname),
					  "fields.%s is not a defined custom field; create it with POST "
					  "/api/v1/fields first",
					  k);
		if (kz_field_value_check_cc(def, x, o->lenient_strings, o->default_country, &val,
					    err) < 0)
			return -1;
		if (json_is_null(val)) {
			json_object_del(fields, k);
			json_decref(val);
		} else {
			json_object_set_new(fields, k, val);
		}
	}
	return 0;
}

static int apply_company(kz_conn *c, json_t *rec, const json_t *v, kz_err *err)
{
	const char *name, *domain;
	char *ndomain = NULL, *nname = NULL, *fold = NULL;
	int64_t id = 0;
	int rc = -1;
	json_t *existing = NULL;
	if (json_is_null(v)) {
		json_object_set_new(rec, "company_id", json_null());
		return 0;
	}
	if (json_is_integer(v)) {
		id = json_integer_value(v);
		goto by_id;
	}
	if (!json_is_object(v))
		return kz_err_set(err, 422, "invalid_field", "company",
				  "company must be {\"name\": ..., \"domain\": ...} or null");
	if (json_is_integer(json_object_get(v, "id"))) {
		id = json_integer_value(json_object_get(v, "id"));
		goto by_id;
	}
	name = json_string_value(json_object_get(v, "name"));
	domain = json_string_value(json_object_get(v, "domain"));
	if ((json_object_get(v, "name") && !name && !json_is_null(json_object_get(v, "name"))) ||
	    (json_object_get(v, "domain") && !domain && !json_is_null(json_object_get(v, "domain"))))
		return kz_err_set(err, 422, "invalid_field", "company",
				  "company name and domain must be strings");
	if (name) {
		nname = kz_clean_name(name);
		if (!nname || strlen(nname) > MAX_NAME) {
			kz_err_set(err, 422, "invalid_field", "company.name",
				   "company.name must be UTF-8 of at most %d bytes", MAX_NAME);
			goto out;
		}
	}
	if (domain && *domain) {
		ndomain = kz_domain_normalize(domain);
		if (!ndomain || !*ndomain || !strchr(ndomain, '.')) {
			kz_err_set(err, 422, "invalid_field", "company.domain",
				   "company.domain must be a domain like example.co.jp");
			goto out;
		}
	}
	if ((!nname || !*nname) && !ndomain) {
		kz_err_set(err, 422, "invalid_field", "company", "company needs a name or a domain");
		goto out;
	}
	fold = nname && *nname ? kz_fold_search(nname) : NULL;
	if (kz_store_company_find(c, ndomain, fold, &id, err) < 0)
		goto out;
	if (!id) {
		json_t *co = json_object();
		json_object_set_new(co, "name", json_string(nname && *nname ? nname : ndomain));
		{
			char *f2 = kz_fold_search(nname && *nname ? nname : ndomain);
			json_object_set_new(co, "name_fold", json_string(f2 ? f2 : ""));
			free(f2);
		}
		json_object_set_new(co, "domain", ndomain ? json_string(ndomain) : json_null());
		json_object_set_new(co, "fields", json_object());
		rc = kz_store_company_save(c, co, &id, err);
		json_decref(co);
		if (rc < 0)
			goto out;
	}
	json_object_set_new(rec, "company_id", json_integer(id));
	json_object_set_new(rec, "_company_name", json_string(nname && *nname ? nname : ndomain));
	rc = 0;
	goto out;
by_id:
	if (kz_store_company_get(c, id, &existing, err) < 0) {
		kz_err_set(err, 422, "invalid_field", "company_id", "no company with id %" PRId64, id);
		goto out;
	}
	json_object_set_new(rec, "company_id", json_integer(id));
	json_object_set_new(rec, "_company_name", json_incref(json_object_get(existing, "name")));
	rc = 0;
out:
	json_decref(existing);
	free(ndomain);
	free(nname);
	free(fold);
	return rc;
}

static int apply_owner(kz_conn *c, json_t *rec, const json_t *v, kz_err *err)
{
	json_t *u = NULL;
	if (json_is_null(v)) {
		json_object_set_new(rec, "owner", json_null());
		return 0;
	}
	if (!json_is_integer(v))
		return kz_err_set(err, 422, "invalid_field", "owner", "owner must be a user id");
	if (kz_store_user_get(c, json_integer_value(v), &u, err) < 0)
		return kz_err_set(err, 422, "invalid_field", "owner", "no user with id %" JSON_INTEGER_FORMAT,
				  json_integer_value(v));
	json_decref(u);
	json_object_set_new(rec, "owner", json_integer(json_integer_value(v)));
	return 0;
}

static int apply_simple_string(json_t *rec, const char *key, const json_t *v,
			       int (*valid)(const char *), const char *what, kz_err *err)
{
	if (json_is_null(v)) {
		json_object_set_new(rec, key, json_null());
		return 0;
	}
	if (!json_is_string(v) || !valid(json_string_value(v)))
		return kz_err_set(err, 422, "invalid_field", key, "%s must be %s", key, what);
	json_object_set(rec, key, (json_t *)v);
	return 0;
}

/* Apply every member of `in` onto `rec`. */
static int apply(kz_conn *c, json_t *rec, const json_t *in, enum kz_apply_mode mode,
		 const kz_contact_opts *o, kz_err *err)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)in, k, v)
	{
		int known = 0;
		for (size_t i = 0; i < 4; i++)
			if (!strcmp(k, name_keys[i])) {
				if (apply_name(rec, k, v, err) < 0)
					return -1;
				known = 1;
			}
		if (known)
			continue;
		if (!strcmp(k, "email")) {
			char *clean = NULL;
			if (json_is_null(v)) {
				json_object_set_new(rec, "email", json_null());
				continue;
			}
			if (!json_is_string(v) || kz_clean_email(json_string_value(v), &clean) < 0)
				return kz_err_set(err, 422, "invalid_field", "email",
						  "email is not a valid address (like taro@example.jp)");
			json_object_set_new(rec, "email", json_string(clean));
			free(clean);
		} else if (!strcmp(k, "phone")) {
			char *clean = NULL;
			if (json_is_null(v) || (json_is_string(v) && !*json_string_value(v))) {
				json_object_set_new(rec, "phone", json_null());
				continue;
			}
			if (!json_is_string(v) ||
			    kz_clean_phone(json_string_value(v), o->default_country, &clean) < 0)
				return kz_err_set(err, 422, "invalid_field", "phone",
						  "phone is not a valid number (like 090-1234-5678 or "
						  "+81 90 1234 5678)");
			json_object_set_new(rec, "phone", json_string(clean));
			free(clean);
		} else if (!strcmp(k, "company")) {
			if (apply_company(c, rec, v, err) < 0)
				return -1;
		} else if (!strcmp(k, "company_id")) {
			if (json_object_get(in, "company") && !json_is_null(json_object_get(in, "company")))
				continue; /* a company object wins */
			if (!json_is_null(v) && !json_is_integer(v))
				return kz_err_set(err, 422, "invalid_field", "company_id",
						  "company_id must be a company id or null");
			if (apply_company(c, rec, v, err) < 0)
				return -1;
		} else if (!strcmp(k, "tags")) {
			if (apply_tags(rec, v, mode, err) < 0)
				return -1;
		} else if (!strcmp(k, "fields")) {
			if (apply_fields(rec, v, o, err) < 0)
				return -1;
		} else if (!strcmp(k, "owner")) {
			if (apply_owner(c, rec, v, err) < 0)
				return -1;
		} else if (!strcmp(k, "timezone")) {
			if (apply_simple_string(rec, k, v, valid_timezone, "an IANA zone like Asia/Tokyo",
						err) < 0)
				return -1;
		} else if (!strcmp(k, "locale")) {
			if (apply_simple_string(rec, k, v, valid_locale, "a language tag like ja or en-US",
						err) < 0)
				return -1;
		} else if (!strcmp(k, "id") || !strcmp(k, "created_at") || !strcmp(k, "updated_at")) {
			continue; /* read-only: a record read back and sent again is fine */
		} else {
			return kz_err_set(err, 422, "unknown_field", k,
					  "%s is not a contact attribute; custom values go in "
					  "\"fields\"",
					  k);
		}
	}
	return 0;
}

static const char *kz_jstr_or(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* The members the derived search columns are made of, in derive()'s order. */
static const char *const search_sources[5] = {"last_name", "first_name", "last_name_kana",
					      "first_name_kana", "email"};

/* Fill the derived search columns before saving. */
static void derive(json_t *rec)
{
	kz_buf b;
	char *parts[5];
	for (int i = 0; i < 5; i++)
		parts[i] = kz_fold_search(kz_jstr_or(rec, search_sources[i]));
	for (int i = 0; i < 5; i++)
		if (!parts[i])
			parts[i] = strdup("");
	kz_buf_init(&b, 0);
	/* both name orders, so "taro yamada" and "山田太郎" both match */
	kz_buf_addf(&b, "%s%s|%s%s|%s%s|%s%s|%s", parts[0], parts[1], parts[1], parts[0], parts[2],
		    parts[3], parts[3], parts[2], parts[4]);
	json_object_set_new(rec, "search", json_string(b.data));
	kz_buf_reset(&b);
	kz_buf_addf(&b, "%s%s", parts[0], parts[1]);
	json_object_set_new(rec, "name_fold", json_string(b.data));
	kz_buf_release(&b);
	for (int i = 0; i < 5; i++)
		free(parts[i]);
}

static json_t *empty_contact(void)
{
	return json_pack("{s:[], s:{}}", "tags", "fields");
}

static kz_contact_change_fn change_fn;
static void *change_ctx;
static pthread_mutex_t change_mu = PTHREAD_MUTEX_INITIALIZER;

void kz_contact_on_change(kz_contact_change_fn fn, void *ctx)
{
	pthread_mutex_lock(&change_mu);
	change_fn = fn;
	change_ctx = ctx;
	pthread_mutex_unlock(&change_mu);
}

static void deliver(void *ctx, int64_t id, int deleted)
{
	(void)ctx;
	pthread_mutex_lock(&change_mu);
	if (change_fn)
		change_fn(change_ctx, id, deleted);
	pthread_mutex_unlock(&change_mu);
}

/* The listener hears of the change once the transaction holding it commits. */
static void changed(kz_conn *c, int64_t id, int deleted)
{
	kz_tx_after_commit(c, deliver, NULL, id, deleted);
}

static kz_contact_change_fn company_fn;
static void *company_ctx;

void kz_company_on_change(kz_contact_change_fn fn, void *ctx)
{
	pthread_mutex_lock(&change_mu);
	company_fn = fn;
	company_ctx = ctx;
	pthread_mutex_unlock(&change_mu);
}

static void deliver_company(void *ctx, int64_t id, int deleted)
{
	(void)ctx;
	pthread_mutex_lock(&change_mu);
	if (company_fn)
		company_fn(company_ctx, id, deleted);
	pthread_mutex_unlock(&change_mu);
}

void kz_company_changed(kz_conn *c, int64_t id, int deleted)
{
	kz_tx_after_commit(c, deliver_company, NULL, id, deleted);
}

/* Whether the sources of the search columns have the same values in a and b. */
static int same_search_sources(const json_t *a, const json_t *b)
{
	for (int i = 0; i < 5; i++)
		if (strcmp(kz_jstr_or(a, search_sources[i]), kz_jstr_or(b, search_sources[i])) != 0)
			return 0;
	return 1;
}

/* Derive the search columns and save. before: the record as read in this transaction (the
 * store then writes what changed against it, without reading the row again), or NULL. */
static int save(kz_conn *c, json_t *rec, json_t *before, int64_t *id, kz_err *err)
{
	derive(rec);
	if (before && same_search_sources(rec, before)) { /* what is stored is what derive made */
		json_object_set(before, "search", json_object_get(rec, "search"));
		json_object_set(before, "name_fold", json_object_get(rec, "name_fold"));
	}
	if ((before ? kz_store_contact_save_over(c, rec, before, *id, err)
		    : kz_store_contact_save(c, rec, id, err)) < 0)
		return -1;
	changed(c, *id, 0);
	return 0;
}

int kz_contact_delete(kz_conn *c, int64_t id, kz_err *err)
{
	if (kz_store_contact_delete(c, id, err) < 0)
		return -1;
	changed(c, id, 1);
	return 0;
}

int kz_contact_upsert(kz_conn *c, const json_t *in, const kz_contact_opts *o, int *created,
		      int64_t *id, kz_err *err)
{
	json_t *rec = NULL, *probe = empty_contact();
	const json_t *email = json_object_get(in, "email");
	int rc = -1;
	*created = 0;
	*id = 0;
	/* Validate everything first (into a scratch record) so errors come before writes. */
	if (email && !json_is_null(email)) {
		char *clean = NULL;
		if (!json_is_string(email) || kz_clean_email(json_string_value(email), &clean) < 0) {
			kz_err_set(err, 422, "invalid_field", "email",
				   "email is not a valid address (like taro@example.jp)");
			goto out;
		}
		if (kz_store_contact_by_email(c, clean, id, err) < 0) {
			free(clean);
			goto out;
		}
		free(clean);
	}
	if (*id) {
		if (kz_store_contact_get(c, *id, &rec, err) < 0)
			goto out;
		if (apply(c, rec, in, KZ_APPLY_UPSERT, o, err) < 0)
			goto out;
	} else {
		rec = empty_contact();
		if (apply(c, rec, in, KZ_APPLY_CREATE, o, err) < 0)
			goto out;
		if (!kz_jstr(rec, "email") && !kz_jstr(rec, "phone") && !kz_jstr(rec, "last_name") &&
		    !kz_jstr(rec, "first_name")) {
			kz_err_set(err, 422, "invalid_field", "email",
				   "a contact needs at least an email, a phone or a name");
			goto out;
		}
		*created = 1;
	}
	rc = save(c, rec, NULL, id, err);
out:
	json_decref(probe);
	json_decref(rec);
	return rc;
}

int kz_contact_patch(kz_conn *c, int64_t id, const json_t *in, const kz_contact_opts *o,
		     kz_err *err)
{
	json_t *rec = NULL, *before = NULL;
	int rc = -1;
	const char *email;
	if (kz_store_contact_get(c, id, &rec, err) < 0)
		return -1;
	/* the record as stored, so the save writes what changed without reading it again */
	before = json_deep_copy(rec);
	if (!before) {
		kz_err_set(err, 500, "internal", NULL, "out of memory");
		goto out;
	}
	if (apply(c, rec, in, KZ_APPLY_PATCH, o, err) < 0)
		goto out;
	/* only a patch that sets the email can collide with another contact's */
	email = json_object_get(in, "email") ? kz_jstr(rec, "email") : NULL;
	if (email) {
		int64_t other = 0;
		if (kz_store_contact_by_email(c, email, &other, err) < 0)
			goto out;
		if (other && other != id) {
			kz_err_set(err, 409, "conflict", "email",
				   "contact %" PRId64 " already has this email; merge the two with "
				   "POST /api/v1/contacts/merge",
				   other);
			goto out;
		}
	}
	rc = save(c, rec, before, &id, err);
out:
	json_decref(rec);
	json_decref(before);
	return rc;
}

int kz_contact_merge(kz_conn *c, int64_t into, int64_t from, kz_err *err)
{
	json_t *a = NULL, *b = NULL;
	const char *k;
	json_t *v;
	int rc = -1;
	if (into == from)
		return kz_err_set(err, 422, "invalid_field", "from", "cannot merge a contact into itself");
	if (kz_store_contact_get(c, into, &a, err) < 0) {
		snprintf(err->field, sizeof err->field, "into");
		goto out;
	}
	if (kz_store_contact_get(c, from, &b, err) < 0) {
		snprintf(err->field, sizeof err->field, "from");
		goto out;
	}
	/* `into` wins where both are set; `from` fills the gaps. */
	json_object_foreach(b, k, v)
	{
		json_t *mine = json_object_get(a, k);
		if (!strcmp(k, "tags") || !strcmp(k, "fields") || !strcmp(k, "id") ||
		    !strcmp(k, "company") || !strcmp(k, "created_at") || !strcmp(k, "updated_at"))
			continue;
		if ((!mine || json_is_null(mine)) && !json_is_null(v) && strcmp(k, "email"))
			json_object_set(a, k, v);
	}
	{
		json_t *fa = json_object_get(a, "fields"), *fb = json_object_get(b, "fields");
		json_object_foreach(fb, k, v) if (!json_object_get(fa, k)) json_object_set(fa, k, v);
	}
	if (tags_add(json_object_get(a, "tags"), json_object_get(b, "tags"), err) < 0)
		goto out;
	if (kz_store_contact_move_related(c, from, into, err) < 0)
		goto out;
	/* from's email is freed only when it goes; into keeps its own unless it had none */
	if (kz_contact_delete(c, from, err) < 0)
		goto out;
	if (!kz_jstr(a, "email") && kz_jstr(b, "email"))
		json_object_set(a, "email", json_object_get(b, "email"));
	rc = save(c, a, NULL, &into, err);
	if (rc == 0)
		changed(c, into, 2); /* the survivor's events, scores and stage moved in */
out:
	json_decref(a);
	json_decref(b);
	return rc;
}
