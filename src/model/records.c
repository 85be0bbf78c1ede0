/* records.c — validation for companies, custom field definitions, users and API keys. */
#include "model/records.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanse.h"
#include "base/crypto.h"
#include "base/role.h"
#include "model/contact.h"

#include "base/banned.h"

static const char *const field_types[] = {"text",  "number", "date",  "datetime",
					  "boolean", "select", "multiselect", "email",
					  "url",   "phone",  NULL};

static int check_known(const json_t *in, const char *const *allowed, kz_err *err)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)in, k, v)
	{
		int ok = 0;
		for (const char *const *a = allowed; *a; a++)
			if (!strcmp(*a, k))
				ok = 1;
		if (!ok)
			return kz_err_set(err, 422, "unknown_field", k, "%s is not an attribute here", k);
	}
	return 0;
}

int kz_company_apply(json_t *rec, const json_t *in, int create, kz_err *err)
{
	static const char *const allowed[] = {"name", "domain", "fields", "id", "created_at",
					      "updated_at", NULL};
	json_t *v;
	if (check_known(in, allowed, err) < 0)
		return -1;
	v = json_object_get(in, "name");
	if (v || create) {
		char *name, *fold;
		if (!json_is_string(v))
			return kz_err_set(err, 422, "invalid_field", "name",
					  "name is required and must be a string");
		name = kz_clean_name(json_string_value(v));
		if (!name || !*name || strlen(name) > 200) {
			free(name);
			return kz_err_set(err, 422, "invalid_field", "name",
					  "name must be 1 to 200 bytes of UTF-8");
		}
		fold = kz_fold_search(name);
		json_object_set_new(rec, "name", json_string(name));
		json_object_set_new(rec, "name_fold", json_string(fold ? fold : ""));
		free(name);
		free(fold);
	}
	v = json_object_get(in, "domain");
	if (v && json_is_null(v)) {
		json_object_set_new(rec, "domain", json_null());
	} else if (v) {
		char *d = json_is_string(v) ? kz_domain_normalize(json_string_value(v)) : NULL;
		if (!d || !strchr(d, '.')) {
			free(d);
			return kz_err_set(err, 422, "invalid_field", "domain",
					  "domain must be like example.co.jp");
		}
		json_object_set_new(rec, "domain", json_string(d));
		free(d);
	}
	v = json_object_get(in, "fields");
	if (v) {
		if (!json_is_object(v))
			return kz_err_set(err, 422, "invalid_field", "fields", "fields must be an object");
		json_object_set(rec, "fields", v);
	}
	if (!json_object_get(rec, "fields"))
		json_object_set_new(rec, "fields", json_object());
	return 0;
}

static int valid_key(const char *k)
{
	size_t n = strlen(k);
	if (n < 1 || n > 63 || !(k[0] >= 'a' && k[0] <= 'z'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
			return 0;
	return 1;
}

int kz_fielddef_apply(json_t *rec, const json_t *in, int create, kz_err *err)
{
	static const char *const allowed[] = {"key", "label", "type", "options", "id",
					      "created_at", "updated_at", NULL};
	json_t *v;
	const char *type;
	if (check_known(in, allowed, err) < 0)
		return -1;
	v = json_object_get(in, "key");
	if (create) {
		if (!json_is_string(v) || !valid_key(json_string_value(v)))
			return kz_err_set(err, 422, "invalid_field", "key",
					  "key must match [a-z][a-z0-9_]{0,62}, e.g. plan or "
					  "seminar_date");
		json_object_set(rec, "key", v);
	} else if (v && (!json_is_string(v) || strcmp(json_string_value(v), json_string_value(json_object_get(rec, "key"))))) {
		return kz_err_set(err, 422, "invalid_field", "key",
				  "a field's key cannot change; create a new field instead");
	}
	v = json_object_get(in, "label");
	if (v || create) {
		if (!json_is_string(v) || !*json_string_value(v) || strlen(json_string_value(v)) > 200)
			return kz_err_set(err, 422, "invalid_field", "label",
					  "label is required: a name shown in the UI");
		json_object_set(rec, "label", v);
	}
	v = json_object_get(in, "type");
	if (v || create) {
		int ok = 0;
		if (json_is_string(v))
			for (int i = 0; field_types[i]; i++)
				if (!strcmp(field_types[i], json_string_value(v)))
					ok = 1;
		if (!ok)
			return kz_err_set(err, 422, "invalid_field", "type",
					  "type must be one of text, number, date, datetime, boolean, "
					  "select, multiselect, email, url, phone");
		json_object_set(rec, "type", v);
	}
	v = json_object_get(in, "options");
	if (v && !json_is_null(v)) {
		size_t i;
		json_t *o;
		if (!json_is_array(v) || json_array_size(v) > 500)
			return kz_err_set(err, 422, "invalid_field", "options",
					  "options must be an array of strings");
		json_array_foreach(v, i, o) if (!json_is_string(o) || !*json_string_value(o)) return kz_err_set(
			err, 422, "invalid_field", "options", "options must be non-empty strings");
		json_object_set(rec, "options", v);
	} else if (v) {
		json_object_set_new(rec, "options", json_null());
	}
	type = json_string_value(json_object_get(rec, "type"));
	if (type && (!strcmp(type, "select") || !strcmp(type, "multiselect")) &&
	    json_array_size(json_object_get(rec, "options")) == 0)
		return kz_err_set(err, 422, "invalid_field", "options",
				  "a %s field needs options: [\"a\", \"b\", ...]", type);
	return 0;
}

static const char *const role_names[] = {"none", "viewer", "sales", "marketer", "admin"};

int kz_role_parse(const char *name)
{
	for (int i = 1; i <= KZ_ROLE_ADMIN; i++)
		if (name && !strcmp(role_names[i], name))
			return i;
	return 0;
}

const char *kz_role_name(int role)
{
	return role >= 0 && role <= KZ_ROLE_ADMIN ? role_names[role] : "none";
}

int kz_user_apply(json_t *rec, const json_t *in, int create, char **password_out, kz_err *err)
{
	static const char *const allowed[] = {"email", "name", "role", "password", "active", "id",
					      "created_at", "updated_at", NULL};
	json_t *v;
	char hash[128];
	*password_out = NULL;
	if (check_known(in, allowed, err) < 0)
		return -1;
	v = json_object_get(in, "email");
	if (v || create) {
		char *clean = NULL;
		if (!json_is_string(v) || kz_clean_email(json_string_value(v), &clean) < 0)
			return kz_err_set(err, 422, "invalid_field", "email",
					  "email must be a valid address");
		json_object_set_new(rec, "email", json_string(clean));
		free(clean);
	}
	v = json_object_get(in, "name");
	if (v && !json_is_null(v)) {
		char *n = json_is_string(v) ? kz_clean_name(json_string_value(v)) : NULL;
		if (!n || strlen(n) > 200) {
			free(n);
			return kz_err_set(err, 422, "invalid_field", "name", "name must be a string");
		}
		json_object_set_new(rec, "name", json_string(n));
		free(n);
	}
	v = json_object_get(in, "role");
	if (v || create) {
		if (!json_is_string(v) || !kz_role_parse(json_string_value(v)))
			return kz_err_set(err, 422, "invalid_field", "role",
					  "role must be admin, marketer, sales or viewer");
		json_object_set(rec, "role", v);
	}
	v = json_object_get(in, "active");
	if (v) {
		if (!json_is_boolean(v))
			return kz_err_set(err, 422, "invalid_field", "active", "active must be true or false");
		json_object_set(rec, "active", v);
	} else if (create) {
		json_object_set_new(rec, "active", json_true());
	}
	v = json_object_get(in, "password");
	if (v && !json_is_null(v)) {
		const char *pw = json_string_value(v);
		if (!pw || strlen(pw) < 10 || strlen(pw) > 1024)
			return kz_err_set(err, 422, "invalid_field", "password",
					  "password must be at least 10 characters");
		if (kz_password_hash(pw, hash) < 0)
			return kz_err_set(err, 500, "internal", NULL, "cannot hash the password");
		json_object_set_new(rec, "password_hash", json_string(hash));
	} else if (create) {
		char pw[21];
		kz_random_password(pw, 20);
		if (kz_password_hash(pw, hash) < 0)
			return kz_err_set(err, 500, "internal", NULL, "cannot hash the password");
		json_object_set_new(rec, "password_hash", json_string(hash));
		*password_out = strdup(pw);
	}
	return 0;
}

int kz_apikey_create(kz_conn *c, const char *name, int role, int64_t user_id, int64_t *id,
		     char **secret, kz_err *err)
{
	char rnd[65], key[80], hash[65], prefix[16];
	json_t *rec;
	int rc;
	*secret = NULL;
	kz_random_hex(rnd, 24);
	snprintf(key, sizeof key, "kz_%s", rnd);
	kz_sha256_hex(key, strlen(key), hash);
	snprintf(prefix, sizeof prefix, "%.11s", key);
	rec = json_pack("{s:s, s:s, s:s, s:s}", "name", name, "role", kz_role_name(role), "prefix",
			prefix, "key_hash", hash);
	if (user_id)
		json_object_set_new(rec, "user_id", json_integer(user_id));
	rc = kz_store_apikey_insert(c, rec, id, err);
	json_decref(rec);
	if (rc == 0)
		*secret = strdup(key);
	return rc;
}

int kz_apikey_lookup(kz_conn *c, const char *secret, json_t **rec, kz_err *err)
{
	char hash[65];
	*rec = NULL;
	if (strlen(secret) > 200)
		return 0;
	kz_sha256_hex(secret, strlen(secret), hash);
	return kz_store_apikey_by_hash(c, hash, rec, err);
}

static const char *const setting_keys[] = {"default_country", "timezone", "sender_name",
					   "sender_email", "reply_to",
					   /* email: the sender identity footer (特定電子メール法) and
					    * sending rules; booleans and numbers are strings here */
					   "company_name", "company_address", "company_contact",
					   "email_footer_required", "email_require_consent",
					   "email_frequency_cap_day", "email_frequency_cap_week",
					   "email_soft_bounce_limit", "email_double_optin",
					   "email_optin_email_id", NULL};

int kz_settings_load(kz_conn *c, const char *default_country, json_t **out, kz_err *err)
{
	*out = json_object();
	for (int i = 0; setting_keys[i]; i++) {
		char *v = NULL;
		const char *def = "";
		if (kz_store_setting_get(c, setting_keys[i], &v, err) < 0) {
			json_decref(*out);
			*out = NULL;
			return -1;
		}
		if (!strcmp(setting_keys[i], "default_country"))
			def = default_country ? default_country : "JP";
		else if (!strcmp(setting_keys[i], "timezone"))
			def = "Asia/Tokyo";
		else if (!strcmp(setting_keys[i], "email_footer_required"))
			def = "true";
		else if (!strcmp(setting_keys[i], "email_require_consent") ||
			 !strcmp(setting_keys[i], "email_double_optin"))
			def = "false";
		else if (!strcmp(setting_keys[i], "email_frequency_cap_day") ||
			 !strcmp(setting_keys[i], "email_frequency_cap_week"))
			def = "0";
		else if (!strcmp(setting_keys[i], "email_soft_bounce_limit"))
			def = "3";
		json_object_set_new(*out, setting_keys[i], json_string(v ? v : def));
		free(v);
	}
	return 0;
}

static int valid_zone(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64 || s[0] == '/' || strstr(s, ".."))
		return 0;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("/_+-", *p))
			return 0;
	return 1;
}

int kz_settings_apply(kz_conn *c, const json_t *in, kz_err *err)
{
	const char *k;
	json_t *v;
	if (check_known(in, setting_keys, err) < 0)
		return -1;
	json_object_foreach((json_t *)in, k, v)
	{
		const char *s = json_string_value(v);
		char *clean = NULL;
		if (!s)
			return kz_err_set(err, 422, "invalid_field", k, "%s must be a string", k);
		if (!strcmp(k, "default_country") && !kz_phone_country_known(s))
			return kz_err_set(err, 422, "invalid_field", k,
					  "default_country must be a supported ISO code such as JP, "
					  "US, GB");
		if (!strcmp(k, "timezone") && !valid_zone(s))
			return kz_err_set(err, 422, "invalid_field", k,
					  "timezone must be an IANA zone such as Asia/Tokyo");
		if ((!strcmp(k, "sender_email") || !strcmp(k, "reply_to")) && *s) {
			if (kz_clean_email(s, &clean) < 0)
				return kz_err_set(err, 422, "invalid_field", k,
						  "%s must be an email address", k);
			s = clean;
		}
		if ((!strcmp(k, "email_footer_required") || !strcmp(k, "email_require_consent") ||
		     !strcmp(k, "email_double_optin")) &&
		    strcmp(s, "true") && strcmp(s, "false"))
			return kz_err_set(err, 422, "invalid_field", k, "%s must be \"true\" or "
								"\"false\"", k);
		if (!strncmp(k, "email_frequency", 15) || !strcmp(k, "email_soft_bounce_limit")) {
			char *end;
			long n = strtol(s, &end, 10);
			if (!*s || *end || n < 0 || n > 1000)
				return kz_err_set(err, 422, "invalid_field", k,
						  "%s must be a whole number from 0 to 1000 (0: no "
						  "limit)", k);
		}
		if (strlen(s) > 200) {
			free(clean);
			return kz_err_set(err, 422, "invalid_field", k, "%s is too long", k);
		}
		if (kz_store_setting_set(c, k, s, err) < 0) {
			free(clean);
			return -1;
		}
		free(clean);
	}
	return 0;
}
