/* form.c — form definitions and submissions: what a marketer may build, and what a visitor's
 * answers must look like before anything is stored. */
#include "capture/form.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanse.h"
#include "capture/doi.h"

#include "base/banned.h"

static const char *const field_types[] = {"text",  "email",      "tel",    "number",
					  "textarea", "select", "radio", "checkbox",
					  "checkboxes", "date", "hidden", "consent", NULL};

/* Contact attributes a field may fill (besides "fields.KEY" for custom fields). */
static const char *const contact_attrs[] = {"email",           "first_name", "last_name",
					    "first_name_kana", "last_name_kana", "phone",
					    "company",         "locale",     NULL};

/* Actions that need parts still being built elsewhere: refused with a clear 422. */

static int in_list(const char *const *list, const char *s)
{
	for (int i = 0; s && list[i]; i++)
		if (!strcmp(list[i], s))
			return 1;
	return 0;
}

const char *kz_form_text(const json_t *i18n, const char *lang)
{
	const char *v = json_string_value(json_object_get(i18n, lang));
	if (v && *v)
		return v;
	v = json_string_value(json_object_get(i18n, strcmp(lang, "ja") ? "ja" : "en"));
	return v ? v : "";
}

/* ---- the definition ---- */

static int check_i18n(const json_t *v, const char *field, int required, kz_err *err)
{
	const char *k;
	const json_t *s;
	int n = 0;
	if (!v || json_is_null(v)) {
		if (required)
			return kz_err_set(err, 422, "invalid_field", field,
					  "%s is required: {\"ja\": \"…\", \"en\": \"…\"}", field);
		return 0;
	}
	if (!json_is_object(v))
		return kz_err_set(err, 422, "invalid_field", field,
				  "%s must be an object of texts by language: {\"ja\", \"en\"}", field);
	json_object_foreach((json_t *)v, k, s) {
		if (strcmp(k, "ja") && strcmp(k, "en"))
			return kz_err_set(err, 422, "invalid_field", field,
					  "%s may hold only \"ja\" and \"en\" texts", field);
		if (!json_is_string(s) || json_string_length(s) > 2000)
			return kz_err_set(err, 422, "invalid_field", field,
					  "%s.%s must be a text of at most 2000 bytes", field, k);
		if (json_string_length(s))
			n++;
	}
	if (required && n == 0)
		return kz_err_set(err, 422, "invalid_field", field,
				  "%s needs a text in ja or en", field);
	return 0;
}

static int valid_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 64 || !islower((unsigned char)s[0]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '_')
			return 0;
	return 1;
}

static int custom_field_known(const json_t *defs, const char *key)
{
	size_t i;
	json_t *d;
	json_array_foreach(defs, i, d) {
		const char *k = json_string_value(json_object_get(d, "key"));
		if (k && !strcmp(k, key))
			return 1;
	}
	return 0;
}

static int check_options(const json_t *f, const char *path, kz_err *err)
{
	const json_t *opts = json_object_get(f, "options"), *o;
	char p[96];
	size_t i;
	if (!json_is_array(opts) || json_array_size(opts) == 0 || json_array_size(opts) > 100)
		return kz_err_set(err, 422, "invalid_field", path,
				  "this field type needs 1 to 100 options: [{\"value\", \"label\"}]");
	json_array_foreach(opts, i, o) {
		const char *v = json_string_value(json_object_get(o, "value"));
		snprintf(p, sizeof p, "%s.options[%zu]", path, i);
		if (!v || !*v || strlen(v) > 200)
			return kz_err_set(err, 422, "invalid_field", p,
					  "each option needs a value of 1 to 200 bytes");
		for (size_t k = 0; k < i; k++)
			if (!strcmp(v, json_string_value(json_object_get(json_array_get(opts, k),
									    "value"))))
				return kz_err_set(err, 422, "invalid_field", p,
						  "option value \"%s\" appears twice", v);
		if (check_i18n(json_object_get(o, "label"), p, 0, err) < 0)
			return -1;
	}
	return 0;
}

static const char *const field_keys[] = {"name", "type", "label", "help", "placeholder",
					  "required", "maps_to", "options", "min", "max",
					  "maxlength", "value", "text", "progressive", NULL};

static int check_field(const json_t *f, size_t idx, const json_t *defs, kz_err *err)
{
	char path[64], sub[96];
	const char *name, *type, *maps, *k;
	const json_t *v;
	snprintf(path, sizeof path, "fields[%zu]", idx);
	if (!json_is_object(f))
		return kz_err_set(err, 422, "invalid_field", path, "each field must be an object");
	json_object_foreach((json_t *)f, k, v) {
		if (!in_list(field_keys, k))
			return kz_err_set(err, 422, "unknown_field", path,
					  "fields have no member \"%s\"", k);
	}
	name = json_string_value(json_object_get(f, "name"));
	type = json_string_value(json_object_get(f, "type"));
	if (!valid_name(name))
		return kz_err_set(err, 422, "invalid_field", path,
				  "name must be 1 to 64 of a-z, 0-9 and _, starting with a letter");
	if (!in_list(field_types, type))
		return kz_err_set(err, 422, "invalid_field", path,
				  "type must be one of text, email, tel, number, textarea, select, "
				  "radio, checkbox, checkboxes, date, hidden, consent");
	snprintf(sub, sizeof sub, "%s.label", path);
	if (check_i18n(json_object_get(f, "label"), sub,
		       strcmp(type, "hidden") && strcmp(type, "consent"), err) < 0)
		return -1;
	snprintf(sub, sizeof sub, "%s.help", path);
	if (check_i18n(json_object_get(f, "help"), sub, 0, err) < 0)
		return -1;
	snprintf(sub, sizeof sub, "%s.placeholder", path);
	if (check_i18n(json_object_get(f, "placeholder"), sub, 0, err) < 0)
		return -1;
	snprintf(sub, sizeof sub, "%s.text", path);
	if (check_i18n(json_object_get(f, "text"), sub, !strcmp(type, "consent"), err) < 0)
		return -1;
	v = json_object_get(f, "required");
	if (v && !json_is_boolean(v))
		return kz_err_set(err, 422, "invalid_field", path, "required must be true or false");
	v = json_object_get(f, "progressive");
	if (v && !json_is_boolean(v))
		return kz_err_set(err, 422, "invalid_field", path, "progressive must be true or false");
	maps = json_string_value(json_object_get(f, "maps_to"));
	if (json_object_get(f, "maps_to") && !json_is_null(json_object_get(f, "maps_to"))) {
		if (!maps || (!in_list(contact_attrs, maps) &&
			      (strncmp(maps, "fields.", 7) || !custom_field_known(defs, maps + 7))))
			return kz_err_set(err, 422, "invalid_field", path,
					  "maps_to must be a contact attribute (email, first_name, "
					  "last_name, first_name_kana, last_name_kana, phone, company, "
					  "locale) or fields.KEY of a defined custom field");
		if (!strcmp(maps, "email") && strcmp(type, "email") && strcmp(type, "hidden"))
			return kz_err_set(err, 422, "invalid_field", path,
					  "only an email (or hidden) field may map to email");
		if (!strcmp(type, "consent") || !strcmp(type, "checkboxes"))
			return kz_err_set(err, 422, "invalid_field", path,
					  "%s fields are stored with the submission; they map to no "
					  "contact attribute", type);
	}
	if (!strcmp(type, "select") || !strcmp(type, "radio") || !strcmp(type, "checkboxes")) {
		if (check_options(f, path, err) < 0)
			return -1;
	} else if (json_object_get(f, "options")) {
		return kz_err_set(err, 422, "invalid_field", path,
				  "only select, radio and checkboxes fields have options");
	}
	v = json_object_get(f, "maxlength");
	if (v && (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 10000))
		return kz_err_set(err, 422, "invalid_field", path, "maxlength must be 1 to 10000");
	if ((json_object_get(f, "min") && !json_is_number(json_object_get(f, "min"))) ||
	    (json_object_get(f, "max") && !json_is_number(json_object_get(f, "max"))))
		return kz_err_set(err, 422, "invalid_field", path, "min and max must be numbers");
	v = json_object_get(f, "value");
	if (v && (!json_is_string(v) || json_string_length(v) > 1000))
		return kz_err_set(err, 422, "invalid_field", path,
				  "value (a hidden field's default) must be a text up to 1000 bytes");
	return 0;
}

static int check_fields(const json_t *fields, const json_t *defs, kz_err *err)
{
	size_t i, nmaps_email = 0;
	json_t *f;
	if (!json_is_array(fields) || json_array_size(fields) == 0 ||
	    json_array_size(fields) > KZ_FORM_MAX_FIELDS)
		return kz_err_set(err, 422, "invalid_field", "fields",
				  "fields must be a list of 1 to %d fields", KZ_FORM_MAX_FIELDS);
	json_array_foreach(fields, i, f) {
		const char *n, *m;
		if (check_field(f, i, defs, err) < 0)
			return -1;
		n = json_string_value(json_object_get(f, "name"));
		for (size_t k = 0; k < i; k++)
			if (!strcmp(n, json_string_value(json_object_get(json_array_get(fields, k),
									  "name"))))
				return kz_err_set(err, 422, "invalid_field", "fields",
						  "two fields are named \"%s\"", n);
		m = json_string_value(json_object_get(f, "maps_to"));
		for (size_t k = 0; m && k < i; k++) {
			const char *o = json_string_value(
				json_object_get(json_array_get(fields, k), "maps_to"));
			if (o && !strcmp(o, m))
				return kz_err_set(err, 422, "invalid_field", "fields",
						  "two fields map to %s", m);
		}
		if (m && !strcmp(m, "email")) {
			nmaps_email++;
			if (!json_is_true(json_object_get(f, "required")) ||
			    json_is_true(json_object_get(f, "progressive")))
				return kz_err_set(err, 422, "invalid_field", "fields",
						  "the email field must be required (and not "
						  "progressive): it says who the lead is");
		}
	}
	if (nmaps_email == 0)
		return kz_err_set(err, 422, "invalid_field", "fields",
				  "a form needs an email field with \"maps_to\": \"email\"");
	return 0;
}

static int is_http_url(const char *u)
{
	return u && strlen(u) < 2000 && (!strncmp(u, "https://", 8) || !strncmp(u, "http://", 7)) &&
	       !strpbrk(u, " \"'<>\r\n\t");
}

static int check_id(const json_t *a, const char *key, const char *path, const char *what,
		    kz_err *err)
{
	const json_t *id = json_object_get(a, key);
	if (!json_is_integer(id) || json_integer_value(id) <= 0)
		return kz_err_set(err, 422, "invalid_field", path, "%s needs %s (%s)",
				  json_string_value(json_object_get(a, "type")), key, what);
	return 0;
}

/* notify: {"to": [addresses], "email_id": the alert's email, "webhook_url": URL}; at least
 * one way to reach someone. */
static int check_notify(const json_t *a, const char *path, kz_err *err)
{
	const json_t *to = json_object_get(a, "to"), *v;
	const char *hook = json_string_value(json_object_get(a, "webhook_url"));
	size_t i;
	if (to && (!json_is_array(to) || json_array_size(to) > 10))
		return kz_err_set(err, 422, "invalid_field", path,
				  "notify.to is a list of up to 10 email addresses");
	json_array_foreach(to, i, v) {
		char *clean = NULL;
		const char *s = json_string_value(v);
		if (!s || (strcmp(s, "owner") && kz_clean_email(s, &clean) < 0))
			return kz_err_set(err, 422, "invalid_field", path,
					  "notify.to[%zu] must be an email address or \"owner\" "
					  "(the contact's owner)", i);
		free(clean);
	}
	if (json_array_size(to) && check_id(a, "email_id", path, "the email to send", err) < 0)
		return -1;
	if (json_object_get(a, "webhook_url") && !is_http_url(hook))
		return kz_err_set(err, 422, "invalid_field", path,
				  "notify.webhook_url must be an http(s) URL");
	if (!json_array_size(to) && !hook)
		return kz_err_set(err, 422, "invalid_field", path,
				  "notify needs to (with email_id) or webhook_url");
	return 0;
}

static int check_action(const json_t *a, const char *path, kz_err *err)
{
	const char *type = json_string_value(json_object_get(a, "type"));
	if (type && !strcmp(type, "add_tag")) {
		const char *tag = json_string_value(json_object_get(a, "tag"));
		if (!tag || !*tag || strlen(tag) > 100)
			return kz_err_set(err, 422, "invalid_field", path,
					  "add_tag needs a tag of 1 to 100 bytes");
		return 0;
	}
	if (type && !strcmp(type, "deliver_asset"))
		return check_id(a, "asset_id", path, "an asset's id", err);
	if (type && !strcmp(type, "add_to_list"))
		return check_id(a, "list_id", path, "a static list's id", err);
	if (type && !strcmp(type, "send_autoresponse"))
		return check_id(a, "email_id", path, "the email to send", err);
	if (type && !strcmp(type, "enroll_journey"))
		return check_id(a, "journey_id", path, "the journey to enrol the contact in", err);
	if (type && !strcmp(type, "notify"))
		return check_notify(a, path, err);
	if (type && !strcmp(type, "add_points")) {
		const json_t *p = json_object_get(a, "points");
		const char *cat = json_string_value(json_object_get(a, "category"));
		if (!json_is_integer(p) || json_integer_value(p) == 0 ||
		    llabs((long long)json_integer_value(p)) > 100000)
			return kz_err_set(err, 422, "invalid_field", path,
					  "add_points needs points, a whole number other than 0 "
					  "(negative to subtract, at most 100000)");
		if (json_object_get(a, "category") &&
		    (!cat || !*cat || strlen(cat) > 40 ||
		     strspn(cat, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
			     strlen(cat)))
			return kz_err_set(err, 422, "invalid_field", path,
					  "add_points.category is a score category: 1 to 40 letters, "
					  "digits, _ or - (default engagement)");
		return 0;
	}
	return kz_err_set(err, 422, "invalid_field", path,
			  "type must be add_tag, add_to_list, add_points, deliver_asset, "
			  "send_autoresponse, notify or enroll_journey");
}

static int check_actions(const json_t *actions, kz_err *err)
{
	size_t i;
	json_t *a;
	char path[48];
	if (!json_is_array(actions) || json_array_size(actions) > 20)
		return kz_err_set(err, 422, "invalid_field", "actions",
				  "actions must be a list of at most 20 actions");
	json_array_foreach(actions, i, a) {
		snprintf(path, sizeof path, "actions[%zu]", i);
		if (!json_is_object(a))
			return kz_err_set(err, 422, "invalid_field", path,
					  "each action is an object with a type");
		if (check_action(a, path, err) < 0)
			return -1;
	}
	return 0;
}

static int check_success(const json_t *s, kz_err *err)
{
	const json_t *m = json_object_get(s, "message"), *r = json_object_get(s, "redirect");
	if (!json_is_object(s) || (m && r) || (!m && !r))
		return kz_err_set(err, 422, "invalid_field", "success",
				  "success must be {\"message\": {\"ja\",\"en\"}} or "
				  "{\"redirect\": \"https://…\"}");
	if (r && !is_http_url(json_string_value(r)))
		return kz_err_set(err, 422, "invalid_field", "success.redirect",
				  "redirect must be an http(s) URL");
	return m ? check_i18n(m, "success.message", 1, err) : 0;
}

static int check_settings(const json_t *s, kz_err *err)
{
	const char *k;
	json_t *v;
	if (!json_is_object(s))
		return kz_err_set(err, 422, "invalid_field", "settings", "settings must be an object");
	json_object_foreach((json_t *)s, k, v) {
		char path[64];
		long long n = json_integer_value(v);
		snprintf(path, sizeof path, "settings.%s", k);
		if (!strcmp(k, "default_lang")) {
			const char *l = json_string_value(v);
			if (!l || (strcmp(l, "ja") && strcmp(l, "en")))
				return kz_err_set(err, 422, "invalid_field", path,
						  "default_lang must be ja or en");
		} else if (!strcmp(k, "progressive_max")) {
			if (!json_is_integer(v) || n < 0 || n > KZ_FORM_MAX_FIELDS)
				return kz_err_set(err, 422, "invalid_field", path,
						  "progressive_max must be 0 (off) to %d",
						  KZ_FORM_MAX_FIELDS);
		} else if (!strcmp(k, "min_fill_seconds")) {
			if (!json_is_integer(v) || n < 0 || n > 600)
				return kz_err_set(err, 422, "invalid_field", path,
						  "min_fill_seconds must be 0 to 600");
		} else if (!strcmp(k, "rate_limit_per_minute")) {
			if (!json_is_integer(v) || n < 1 || n > 10000)
				return kz_err_set(err, 422, "invalid_field", path,
						  "rate_limit_per_minute must be 1 to 10000");
		} else if (!strcmp(k, "double_opt_in")) {
			if (!json_is_boolean(v))
				return kz_err_set(err, 422, "invalid_field", path,
						  "double_opt_in must be true or false");
			if (json_is_true(v) && !KZ_HAVE_DOUBLE_OPTIN)
				return kz_err_set(err, 422, "not_available", path,
						  "double opt-in is not available yet in this version");
		} else if (!strcmp(k, "submit_label")) {
			if (check_i18n(v, path, 0, err) < 0)
				return -1;
		} else {
			return kz_err_set(err, 422, "unknown_field", path,
					  "settings have no member \"%s\"", k);
		}
	}
	return 0;
}

int kz_form_apply(json_t *def, char **name, const json_t *in, int create, const json_t *field_defs,
		  kz_err *err)
{
	static const char *const keys[] = {"name", "fields", "actions", "success", "settings",
					   NULL};
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)in, k, v) {
		if (!in_list(keys, k))
			return kz_err_set(err, 422, "unknown_field", k,
					  "forms have no member \"%s\"", k);
	}
	v = json_object_get(in, "name");
	if (v || create) {
		const char *n = json_string_value(v);
		if (!n || !*n || strlen(n) > 200)
			return kz_err_set(err, 422, "invalid_field", "name",
					  "name is required (1 to 200 bytes)");
		free(*name);
		*name = strdup(n);
	}
	if (create && !json_object_get(in, "fields"))
		return kz_err_set(err, 422, "invalid_field", "fields", "fields are required");
	for (int i = 1; keys[i]; i++) {
		v = json_object_get(in, keys[i]);
		if (v)
			json_object_set(def, keys[i], v);
	}
	if (!json_object_get(def, "actions"))
		json_object_set_new(def, "actions", json_array());
	if (!json_object_get(def, "settings"))
		json_object_set_new(def, "settings", json_object());
	if (!json_object_get(def, "success"))
		json_object_set_new(def, "success",
				    json_pack("{s:{s:s, s:s}}", "message", "ja",
					      "送信ありがとうございました。", "en",
					      "Thank you! We have received your submission."));
	if (check_fields(json_object_get(def, "fields"), field_defs, err) < 0 ||
	    check_actions(json_object_get(def, "actions"), err) < 0 ||
	    check_success(json_object_get(def, "success"), err) < 0 ||
	    check_settings(json_object_get(def, "settings"), err) < 0)
		return -1;
	return 0;
}

const char *kz_form_lang(const json_t *form, const char *query_lang, const char *accept_language)
{
	const char *d;
	if (query_lang && (!strcmp(query_lang, "ja") || !strcmp(query_lang, "en")))
		return !strcmp(query_lang, "ja") ? "ja" : "en";
	if (accept_language && *accept_language) {
		while (*accept_language == ' ')
			accept_language++;
		if (!strncmp(accept_language, "ja", 2))
			return "ja";
		if (!strncmp(accept_language, "en", 2))
			return "en";
	}
	d = json_string_value(json_object_get(json_object_get(form, "settings"), "default_lang"));
	return d && !strcmp(d, "en") ? "en" : "ja";
}

/* ---- progressive profiling ---- */

/* 1 when the contact already has a value for what the field maps to. */
static int known(const json_t *contact, const char *maps)
{
	const json_t *v;
	if (!contact || !maps)
		return 0;
	v = !strncmp(maps, "fields.", 7)
		    ? json_object_get(json_object_get(contact, "fields"), maps + 7)
		    : json_object_get(contact, maps);
	if (!strcmp(maps, "company") && json_is_object(v))
		v = json_object_get(v, "name");
	return v && !json_is_null(v) && !(json_is_string(v) && json_string_length(v) == 0);
}

json_t *kz_form_visible_fields(const json_t *form, const json_t *contact)
{
	const json_t *fields = json_object_get(form, "fields"), *f;
	json_int_t max =
		json_integer_value(json_object_get(json_object_get(form, "settings"), "progressive_max"));
	json_t *out = json_array();
	json_int_t shown = 0;
	size_t i;
	json_array_foreach(fields, i, f) {
		if (max > 0 && json_is_true(json_object_get(f, "progressive"))) {
			if (shown >= max ||
			    known(contact, json_string_value(json_object_get(f, "maps_to"))))
				continue;
			shown++;
		}
		json_array_append(out, (json_t *)f);
	}
	return out;
}

/* ---- a submission ---- */

typedef struct msg {
	const char *code, *ja, *en;
} msg;

static const msg messages[] = {
	{"required", "この項目は必須です。", "This field is required."},
	{"invalid_email", "正しいメールアドレスを入力してください。",
	 "Enter a valid email address."},
	{"invalid_phone", "正しい電話番号を入力してください。", "Enter a valid phone number."},
	{"invalid_number", "数値を入力してください。", "Enter a number."},
	{"out_of_range", "入力できる範囲を超えています。", "The number is out of range."},
	{"invalid_date", "日付を YYYY-MM-DD の形式で入力してください。",
	 "Enter a date as YYYY-MM-DD."},
	{"invalid_choice", "選択肢から選んでください。", "Choose one of the options."},
	{"too_long", "入力が長すぎます。", "This is too long."},
	{"consent_required", "同意が必要です。", "Your consent is required."},
	{"invalid_value", "入力内容を確認してください。", "Check this value."},
};

static void add_error(json_t *errors, const char *field, const char *code, const char *lang)
{
	const char *text = "";
	for (size_t i = 0; i < sizeof messages / sizeof messages[0]; i++)
		if (!strcmp(messages[i].code, code))
			text = strcmp(lang, "ja") ? messages[i].en : messages[i].ja;
	json_array_append_new(errors, json_pack("{s:s, s:s, s:s}", "field", field, "code", code,
						"message", text));
}

static int is_checked(const char *v)
{
	return v && (!strcmp(v, "on") || !strcmp(v, "1") || !strcmp(v, "true") ||
		     !strcmp(v, "yes"));
}

static int has_option(const json_t *f, const char *v)
{
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(f, "options"), i, o) {
		const char *ov = json_string_value(json_object_get(o, "value"));
		if (ov && !strcmp(ov, v))
			return 1;
	}
	return 0;
}

static int valid_date(const char *s)
{
	int y, m, d;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	char tail;
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
	    sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
		return 0;
	if (y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return 0;
	return !(m == 2 && d == 29 && !((y % 4 == 0 && y % 100) || y % 400 == 0));
}

static int valid_phone_chars(const char *s)
{
	int digits = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isdigit(*p))
			digits++;
		else if (!strchr("+-() .", *p) && *p < 0x80)
			return 0;
	}
	return digits >= 6 || *s == '\0' || (unsigned char)*s >= 0x80;
}

/* Trimmed copy of s (spaces, tabs, CR/LF at both ends). */
static char *trimmed(const char *s)
{
	size_t n;
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	return strndup(s, n);
}

/* Check the many-valued checkboxes field; sets *value to an array. */
static const char *check_multi(const json_t *f, const json_t *raw, json_t **value)
{
	size_t i;
	json_t *e;
	*value = json_array();
	if (json_is_string(raw)) {
		if (json_string_length(raw))
			json_array_append(*value, (json_t *)raw);
	} else {
		json_array_foreach(raw, i, e) {
			if (json_string_length(e))
				json_array_append(*value, e);
		}
	}
	json_array_foreach(*value, i, e) {
		if (!has_option(f, json_string_value(e)))
			return "invalid_choice";
	}
	if (json_array_size(*value) == 0 && json_is_true(json_object_get(f, "required")))
		return "required";
	return NULL;
}

/* Check one single-valued field; *value is set when it is valid and non-empty. */
static const char *check_one(const json_t *f, const char *type, const char *raw, json_t **value)
{
	const json_t *maxlen = json_object_get(f, "maxlength");
	size_t limit = json_is_integer(maxlen) ? (size_t)json_integer_value(maxlen)
					       : (!strcmp(type, "textarea") ? 10000 : 1000);
	int required = json_is_true(json_object_get(f, "required"));
	char *v, *end, *clean = NULL;
	const char *code = NULL;
	*value = NULL;
	if (!strcmp(type, "checkbox") || !strcmp(type, "consent")) {
		if (!is_checked(raw))
			return required ? (!strcmp(type, "consent") ? "consent_required" : "required")
					: (*value = json_false(), NULL);
		*value = json_true();
		return NULL;
	}
	if (!raw && !strcmp(type, "hidden"))
		raw = json_string_value(json_object_get(f, "value"));
	v = trimmed(raw ? raw : "");
	if (!*v) {
		free(v);
		return required ? "required" : NULL;
	}
	if (strlen(v) > limit) {
		code = "too_long";
	} else if (!strcmp(type, "email")) {
		if (kz_clean_email(v, &clean) < 0)
			code = "invalid_email";
	} else if (!strcmp(type, "tel")) {
		if (!valid_phone_chars(v))
			code = "invalid_phone";
	} else if (!strcmp(type, "number")) {
		double d = strtod(v, &end);
		const json_t *mn = json_object_get(f, "min"), *mx = json_object_get(f, "max");
		if (*end || end == v || !isfinite(d))
			code = "invalid_number";
		else if ((mn && d < json_number_value(mn)) || (mx && d > json_number_value(mx)))
			code = "out_of_range";
	} else if (!strcmp(type, "date")) {
		if (!valid_date(v))
			code = "invalid_date";
	} else if (!strcmp(type, "select") || !strcmp(type, "radio")) {
		if (!has_option(f, v))
			code = "invalid_choice";
	}
	if (!code)
		*value = json_string(clean ? clean : v);
	free(clean);
	free(v);
	return code;
}

int kz_form_check(const json_t *fields, const json_t *values, const char *lang, json_t **clean,
		  json_t **errors)
{
	size_t i;
	json_t *f;
	*clean = json_object();
	*errors = json_array();
	json_array_foreach(fields, i, f) {
		const char *name = json_string_value(json_object_get(f, "name"));
		const char *type = json_string_value(json_object_get(f, "type"));
		const json_t *raw = json_object_get(values, name);
		json_t *value = NULL;
		const char *code;
		if (!strcmp(type, "checkboxes")) {
			code = check_multi(f, raw, &value);
		} else {
			if (json_is_array(raw))
				raw = json_array_get(raw, 0);
			code = check_one(f, type, json_string_value(raw), &value);
		}
		if (code) {
			add_error(*errors, name, code, lang);
			json_decref(value);
		} else if (value) {
			json_object_set_new(*clean, name, value);
		}
	}
	if (json_array_size(*errors)) {
		json_decref(*clean);
		*clean = NULL;
		return -1;
	}
	json_decref(*errors);
	*errors = NULL;
	return 0;
}

const char *kz_form_field_for(const json_t *fields, const char *attr)
{
	size_t i;
	json_t *f;
	json_array_foreach(fields, i, f) {
		const char *m = json_string_value(json_object_get(f, "maps_to"));
		if (m && !strcmp(m, attr))
			return json_string_value(json_object_get(f, "name"));
	}
	return NULL;
}

json_t *kz_form_contact_input(const json_t *fields, const json_t *clean, const json_t *tags)
{
	json_t *in = json_object(), *custom = json_object(), *f;
	size_t i;
	json_array_foreach(fields, i, f) {
		const char *m = json_string_value(json_object_get(f, "maps_to"));
		json_t *v = json_object_get(clean, json_string_value(json_object_get(f, "name")));
		if (!m || !v)
			continue;
		if (!strncmp(m, "fields.", 7))
			json_object_set(custom, m + 7, v);
		else if (!strcmp(m, "company")) /* found or created by name, as in the API */
			json_object_set_new(in, m, json_pack("{s:O}", "name", v));
		else
			json_object_set(in, m, v);
	}
	if (json_object_size(custom))
		json_object_set_new(in, "fields", custom);
	else
		json_decref(custom);
	if (tags && json_array_size(tags))
		json_object_set(in, "tags", (json_t *)tags);
	return in;
}

json_t *kz_form_consent(const json_t *fields, const json_t *clean, const char *lang)
{
	size_t i;
	json_t *f;
	json_array_foreach(fields, i, f) {
		const char *name = json_string_value(json_object_get(f, "name"));
		if (strcmp(json_string_value(json_object_get(f, "type")), "consent"))
			continue;
		return json_pack("{s:s, s:b, s:O, s:s}", "field", name, "granted",
				 json_is_true(json_object_get(clean, name)), "text",
				 json_object_get(f, "text"), "lang", lang);
	}
	return NULL;
}
