/* slot.c — content slots and their rules: what a marketer may define, and which variant a
 * visitor gets (the first whose rule matches; else the default). */
#include "capture/slot.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/banned.h"

static int in_list(const char *const *list, const char *s)
{
	for (int i = 0; s && list[i]; i++)
		if (!strcmp(list[i], s))
			return 1;
	return 0;
}

/* Slot names and variant keys: what data-kz-slot="..." holds. */
static int valid_key(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

static int check_int(const json_t *v, const char *path, long long lo, long long hi, kz_err *err)
{
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return kz_err_set(err, 422, "invalid_field", path, "%s must be a whole number from "
				  "%lld to %lld", path, lo, hi);
	return 0;
}

static int check_text(const json_t *v, const char *path, size_t max, kz_err *err)
{
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max)
		return kz_err_set(err, 422, "invalid_field", path,
				  "%s must be a text of 1 to %zu bytes", path, max);
	return 0;
}

static int check_rule(const json_t *rule, const char *base, kz_err *err)
{
	static const char *const keys[] = {"visitor", "min_visits", "max_visits", "known",
					   "segment_id", "stage", "min_score", "max_score",
					   "utm_source", "utm_campaign", NULL};
	const char *k;
	json_t *v;
	char path[128];
	if (!json_is_object(rule))
		return kz_err_set(err, 422, "invalid_field", base,
				  "rule must be an object of conditions, e.g. {\"visitor\": "
				  "\"returning\"} ({} matches everyone)");
	json_object_foreach((json_t *)rule, k, v) {
		snprintf(path, sizeof path, "%.60s.%.60s", base, k);
		if (!in_list(keys, k))
			return kz_err_set(err, 422, "unknown_field", path,
					  "a rule has no condition \"%s\"; use visitor, min_visits, "
					  "max_visits, known, segment_id, stage, min_score, max_score, "
					  "utm_source or utm_campaign", k);
		if (!strcmp(k, "visitor")) {
			const char *s = json_string_value(v);
			if (!s || (strcmp(s, "new") && strcmp(s, "returning")))
				return kz_err_set(err, 422, "invalid_field", path,
						  "visitor must be \"new\" or \"returning\"");
		} else if (!strcmp(k, "known")) {
			if (!json_is_boolean(v))
				return kz_err_set(err, 422, "invalid_field", path,
						  "known must be true or false");
		} else if (!strcmp(k, "min_visits") || !strcmp(k, "max_visits")) {
			if (check_int(v, path, 1, 1000000, err) < 0)
				return -1;
		} else if (!strcmp(k, "min_score") || !strcmp(k, "max_score")) {
			if (check_int(v, path, -1000000000LL, 1000000000LL, err) < 0)
				return -1;
		} else if (!strcmp(k, "segment_id")) {
			if (check_int(v, path, 1, INT64_MAX, err) < 0)
				return -1;
		} else if (!strcmp(k, "stage") && json_is_array(v)) {
			size_t i;
			json_t *s;
			if (json_array_size(v) == 0 || json_array_size(v) > 20)
				return kz_err_set(err, 422, "invalid_field", path,
						  "stage is a stage or a list of 1 to 20 stages");
			json_array_foreach(v, i, s)
				if (check_text(s, path, 64, err) < 0)
					return -1;
		} else if (check_text(v, path, !strcmp(k, "stage") ? 64 : 200, err) < 0) {
			return -1;
		}
	}
	return 0;
}

/* A variant's (or the default's) content: html, or form_id (the form's embed). */
static int check_content(const json_t *c, const char *base, kz_err *err)
{
	const json_t *html = json_object_get(c, "html"), *form = json_object_get(c, "form_id");
	char path[128];
	if (!json_is_object(c))
		return kz_err_set(err, 422, "invalid_field", base,
				  "%s must be {\"html\": \"…\"} or {\"form_id\": N}", base);
	if (!!html == !!form)
		return kz_err_set(err, 422, "invalid_field", base,
				  "%s needs html or form_id (one of them)", base);
	snprintf(path, sizeof path, "%s.%s", base, html ? "html" : "form_id");
	if (html && (!json_is_string(html) || json_string_length(html) > 100000))
		return kz_err_set(err, 422, "invalid_field", path,
				  "html must be a text of at most 100000 bytes");
	if (form && check_int(form, path, 1, INT64_MAX, err) < 0)
		return -1;
	return 0;
}

static int check_variants(const json_t *vs, kz_err *err)
{
	size_t i;
	json_t *v;
	char path[64], p2[96];
	if (!json_is_array(vs) || json_array_size(vs) > KZ_SLOT_MAX_VARIANTS)
		return kz_err_set(err, 422, "invalid_field", "variants",
				  "variants must be a list of at most %d variants",
				  KZ_SLOT_MAX_VARIANTS);
	json_array_foreach(vs, i, v) {
		const char *key = json_string_value(json_object_get(v, "key"));
		snprintf(path, sizeof path, "variants[%zu]", i);
		if (check_content(v, path, err) < 0)
			return -1;
		snprintf(p2, sizeof p2, "%s.key", path);
		if (!valid_key(key, 40) || !strcmp(key, "default"))
			return kz_err_set(err, 422, "invalid_field", p2,
					  "each variant needs a key of 1 to 40 letters, digits, _ or - "
					  "(not \"default\")");
		for (size_t k = 0; k < i; k++)
			if (!strcmp(key, json_string_value(json_object_get(json_array_get(vs, k),
									    "key"))))
				return kz_err_set(err, 422, "invalid_field", p2,
						  "variant key \"%s\" appears twice", key);
		snprintf(p2, sizeof p2, "%s.rule", path);
		if (json_object_get(v, "rule") && check_rule(json_object_get(v, "rule"), p2, err) < 0)
			return -1;
		if (json_object_get(v, "label") &&
		    (!json_is_string(json_object_get(v, "label")) ||
		     json_string_length(json_object_get(v, "label")) > 200)) {
			snprintf(p2, sizeof p2, "%s.label", path);
			return kz_err_set(err, 422, "invalid_field", p2,
					  "label must be a text of at most 200 bytes");
		}
	}
	return 0;
}

static int check_popup(const json_t *p, kz_err *err)
{
	static const char *const styles[] = {"modal", "slide_in", "bar", NULL};
	static const char *const triggers[] = {"load", "time", "scroll", "exit", NULL};
	const json_t *t = json_object_get(p, "trigger"), *f = json_object_get(p, "frequency");
	const char *tt = json_string_value(json_object_get(t, "type"));
	if (!json_is_object(p))
		return kz_err_set(err, 422, "invalid_field", "popup",
				  "popup must be {\"style\", \"trigger\", \"frequency\"}");
	if (!in_list(styles, json_string_value(json_object_get(p, "style"))))
		return kz_err_set(err, 422, "invalid_field", "popup.style",
				  "style must be modal, slide_in or bar");
	if (!json_is_object(t) || !in_list(triggers, tt))
		return kz_err_set(err, 422, "invalid_field", "popup.trigger",
				  "trigger must be {\"type\": \"load\" | \"time\" (seconds) | "
				  "\"scroll\" (percent) | \"exit\"}");
	if (!strcmp(tt, "time") &&
	    check_int(json_object_get(t, "seconds"), "popup.trigger.seconds", 0, 3600, err) < 0)
		return -1;
	if (!strcmp(tt, "scroll") &&
	    check_int(json_object_get(t, "percent"), "popup.trigger.percent", 1, 100, err) < 0)
		return -1;
	if (!json_is_object(f))
		return kz_err_set(err, 422, "invalid_field", "popup.frequency",
				  "frequency must be {\"max\": N, \"days\": D} (at most N times per "
				  "visitor every D days; days 0: ever)");
	if (check_int(json_object_get(f, "max"), "popup.frequency.max", 1, 1000, err) < 0 ||
	    check_int(json_object_get(f, "days"), "popup.frequency.days", 0, 3650, err) < 0)
		return -1;
	return 0;
}

int kz_slot_apply(json_t *def, const json_t *in, int create, kz_err *err)
{
	static const char *const keys[] = {"name", "kind", "description", "default", "variants",
					   "popup", "active", NULL};
	const char *k, *kind;
	json_t *v;
	if (!json_is_object(in))
		return kz_err_set(err, 400, "invalid_json", NULL, "the body must be a JSON object");
	json_object_foreach((json_t *)in, k, v) {
		if (!in_list(keys, k))
			return kz_err_set(err, 422, "unknown_field", k,
					  "slots have no member \"%s\"", k);
		json_object_set(def, k, v);
	}
	if (create && !json_object_get(def, "kind"))
		json_object_set_new(def, "kind", json_string("inline"));
	if (!json_object_get(def, "variants"))
		json_object_set_new(def, "variants", json_array());
	if (!json_object_get(def, "active"))
		json_object_set_new(def, "active", json_true());
	if (!valid_key(json_string_value(json_object_get(def, "name")), 64))
		return kz_err_set(err, 422, "invalid_field", "name",
				  "name is what data-kz-slot=\"…\" holds: 1 to 64 letters, digits, "
				  "_ or -");
	kind = json_string_value(json_object_get(def, "kind"));
	if (!kind || (strcmp(kind, "inline") && strcmp(kind, "popup")))
		return kz_err_set(err, 422, "invalid_field", "kind", "kind must be inline or popup");
	if ((v = json_object_get(def, "description")) && !json_is_null(v) &&
	    (!json_is_string(v) || json_string_length(v) > 2000))
		return kz_err_set(err, 422, "invalid_field", "description",
				  "description must be a text of at most 2000 bytes");
	if (!json_is_boolean(json_object_get(def, "active")))
		return kz_err_set(err, 422, "invalid_field", "active", "active must be true or false");
	if (!json_object_get(def, "default"))
		return kz_err_set(err, 422, "invalid_field", "default",
				  "default is required: what everyone else sees ({\"html\": \"…\"}; "
				  "for a pop-up, {\"html\": \"\"} shows none)");
	if (check_content(json_object_get(def, "default"), "default", err) < 0 ||
	    check_variants(json_object_get(def, "variants"), err) < 0)
		return -1;
	if (!strcmp(kind, "popup")) {
		if (check_popup(json_object_get(def, "popup"), err) < 0)
			return -1;
	} else if (json_object_get(def, "popup") && !json_is_null(json_object_get(def, "popup"))) {
		return kz_err_set(err, 422, "invalid_field", "popup",
				  "popup settings belong to slots of kind popup");
	}
	return 0;
}

static int stage_match(const json_t *want, const char *stage)
{
	size_t i;
	json_t *s;
	if (!stage)
		return 0;
	if (json_is_string(want))
		return !strcmp(json_string_value(want), stage);
	json_array_foreach(want, i, s)
		if (!strcmp(json_string_value(s), stage))
			return 1;
	return 0;
}

static int text_match(const json_t *want, const char *have)
{
	return have && !strcasecmp(json_string_value(want), have);
}

int kz_slot_rule_match(const json_t *rule, const kz_visit *v)
{
	const char *k;
	json_t *w;
	json_object_foreach((json_t *)rule, k, w) {
		long long n = json_integer_value(w);
		int ok = 1;
		if (!strcmp(k, "visitor"))
			ok = !strcmp(json_string_value(w), "new") ? v->visits <= 1 : v->visits >= 2;
		else if (!strcmp(k, "known"))
			ok = json_is_true(w) == !!v->known;
		else if (!strcmp(k, "min_visits"))
			ok = v->visits >= n;
		else if (!strcmp(k, "max_visits"))
			ok = v->visits <= n;
		else if (!strcmp(k, "min_score"))
			ok = v->known && v->score >= n;
		else if (!strcmp(k, "max_score"))
			ok = !v->known || v->score <= n;
		else if (!strcmp(k, "segment_id"))
			ok = v->known && v->member && v->member(v->ctx, (int64_t)n);
		else if (!strcmp(k, "stage"))
			ok = stage_match(w, v->stage);
		else if (!strcmp(k, "utm_source"))
			ok = text_match(w, v->utm_source);
		else if (!strcmp(k, "utm_campaign"))
			ok = text_match(w, v->utm_campaign);
		if (!ok)
			return 0;
	}
	return 1;
}

const json_t *kz_slot_choose(const json_t *slot, const kz_visit *v)
{
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(slot, "variants"), i, x) {
		const json_t *rule = json_object_get(x, "rule");
		if (!rule || kz_slot_rule_match(rule, v))
			return x;
	}
	return NULL;
}
