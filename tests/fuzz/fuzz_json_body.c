/* fuzz_json_body.c — libFuzzer target: JSON request bodies, field validation and cleansing. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/cleanse.h"
#include "base/err.h"
#include "base/timeutil.h"
#include "model/contact.h"
#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One custom field definition of every type (plus an unknown type and a
 * missing one), as kz_store_field_list would return them. */
static const char *const field_defs_json[] = {
	"{\"key\":\"memo\",\"type\":\"text\"}",
	"{\"key\":\"score\",\"type\":\"number\"}",
	"{\"key\":\"birthday\",\"type\":\"date\"}",
	"{\"key\":\"last_seen\",\"type\":\"datetime\"}",
	"{\"key\":\"vip\",\"type\":\"boolean\"}",
	"{\"key\":\"plan\",\"type\":\"select\","
	"\"options\":[\"free\",\"pro\",\"エンタープライズ\"]}",
	"{\"key\":\"interests\",\"type\":\"multiselect\","
	"\"options\":[\"seminar\",\"newsletter\",\"展示会\"]}",
	"{\"key\":\"alt_email\",\"type\":\"email\"}",
	"{\"key\":\"site\",\"type\":\"url\"}",
	"{\"key\":\"mobile\",\"type\":\"phone\"}",
	"{\"key\":\"odd\",\"type\":\"colour\"}",
	"{\"key\":\"untyped\"}",
};

static json_t *field_defs;

/* A broken invariant is a finding: say which, then crash so libFuzzer keeps the input. */
static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_json_body: %s: %s\n", what, detail ? detail : "(null)");
	abort();
}

static void load_defs(void)
{
	size_t i;
	field_defs = json_array();
	for (i = 0; i < sizeof field_defs_json / sizeof field_defs_json[0]; i++) {
		json_error_t je;
		json_t *def = json_loads(field_defs_json[i], 0, &je);
		if (!json_is_object(def))
			fail("a field definition does not parse", je.text);
		json_array_append_new(field_defs, def);
	}
}

/* Validate v against def; a value that passes must come back in a form that
 * passes again, since clients GET a record and PATCH it back unchanged. */
static void check_field(const json_t *def, const json_t *v, int lenient)
{
	const char *type = json_string_value(json_object_get(def, "type"));
	json_t *out = NULL, *again = NULL;
	kz_err err;
	kz_err_clear(&err);
	if (kz_field_value_check(def, v, lenient, &out, &err) < 0) {
		if (out)
			fail("rejected value left *out set", type);
		if (!err.status || !err.message[0] || !err.code[0])
			fail("rejected value without an error message", type);
		return;
	}
	if (!out)
		fail("accepted value without a normalised value", type);
	kz_err_clear(&err);
	if (kz_field_value_check(def, out, 0, &again, &err) < 0) {
		char *dump = json_dumps(out, JSON_ENCODE_ANY);
		fprintf(stderr, "type %s: normalised value %s is rejected: %s\n", type, dump,
			err.message);
		free(dump);
		fail("normalised value no longer validates", type);
	}
	if (!json_equal(out, again))
		fail("normalising twice changes the value", type);
	json_decref(again);
	json_decref(out);
}

static void check_all_defs(const json_t *v)
{
	size_t i;
	json_t *def;
	json_array_foreach(field_defs, i, def) {
		check_field(def, v, 0);
		check_field(def, v, 1);
	}
}

/* Cleaned e-mail addresses and phone numbers are stored and compared as keys,
 * so cleaning must be a fixed point. */
static void check_email(const char *s)
{
	char *a = NULL, *b = NULL;
	if (kz_clean_email(s, &a) < 0) {
		if (a)
			fail("kz_clean_email failed but set *out", s);
		return;
	}
	if (kz_clean_email(a, &b) < 0 || strcmp(a, b) != 0)
		fail("kz_clean_email is not idempotent", s);
	free(a);
	free(b);
}

static void check_phone(const char *s, const char *country)
{
	char *a = NULL, *b = NULL;
	if (kz_clean_phone(s, country, &a) < 0) {
		if (a)
			fail("kz_clean_phone failed but set *out", s);
		return;
	}
	if (a[0] != '+' || kz_clean_phone(a, NULL, &b) < 0 || strcmp(a, b) != 0)
		fail("kz_clean_phone is not idempotent", s);
	free(a);
	free(b);
}

static void check_name(const char *s)
{
	char *a = kz_clean_name(s), *b;
	if (!a)
		return;
	if (!kz_utf8_valid(a, strlen(a)))
		fail("kz_clean_name produced invalid UTF-8", s);
	b = kz_clean_name(a);
	if (!b || strcmp(a, b) != 0)
		fail("kz_clean_name is not idempotent", s);
	free(a);
	free(b);
	a = kz_fold_search(s);
	if (a && !kz_utf8_valid(a, strlen(a)))
		fail("kz_fold_search produced invalid UTF-8", s);
	free(a);
}

/* A parsed time formats and parses back to the same instant (within the
 * years the four-digit format can hold). */
static void check_time(const char *s)
{
	/* 0001-01-02 and 9999-12-30, so a time-zone offset cannot leave the range */
	const int64_t lo = -62135510400000LL, hi = 253402041600000LL;
	int64_t ms, back;
	char iso[64];
	(void)kz_date_valid(s);
	if (kz_time_parse_iso(s, &ms) < 0 || ms < lo || ms > hi)
		return;
	kz_time_iso(ms, iso, sizeof iso);
	if (kz_time_parse_iso(iso, &back) < 0 || back != ms)
		fail("kz_time_iso output does not parse back", s);
}

static void check_string(const char *s)
{
	char *d;
	check_email(s);
	check_phone(s, "JP");
	check_phone(s, "US");
	check_name(s);
	check_time(s);
	d = kz_domain_normalize(s);
	free(d);
}

/* Every string in the document, keys included. */
static void walk(const json_t *j)
{
	const char *k;
	json_t *v;
	size_t i;
	if (json_is_string(j)) {
		check_string(json_string_value(j));
	} else if (json_is_object(j)) {
		json_object_foreach((json_t *)j, k, v) {
			check_string(k);
			walk(v);
		}
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			walk(v);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t je;
	json_t *body, *v;
	const char *k;
	if (!field_defs)
		load_defs();
	/* the same call kz_req_json makes on a request body */
	body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	if (!body)
		return 0;
	if (json_is_object(body)) {
		json_object_foreach(body, k, v) {
			check_all_defs(v);
			if (!strcmp(k, "fields") && json_is_object(v)) {
				const char *fk;
				json_t *fv;
				json_object_foreach(v, fk, fv)
					check_all_defs(fv);
			}
		}
	}
	walk(body);
	json_decref(body);
	return 0;
}
