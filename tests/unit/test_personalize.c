/* test_personalize.c — unit tests for web personalization and A/B tests: slot definitions and
 * their rules, the variant a visitor gets, sticky weighted assignment, the A/B report and the
 * form actions that came with them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "capture/abtest.h"
#include "capture/form.h"
#include "capture/slot.h"
#include "base/banned.h"

static json_t *apply(const char *text, int *rc, kz_err *err)
{
	json_t *in = json_loads(text, 0, NULL), *def = json_object();
	assert_non_null(in);
	memset(err, 0, sizeof *err);
	*rc = kz_slot_apply(def, in, 1, err);
	json_decref(in);
	return def;
}

static void slot_definitions_are_checked_with_the_field_named(void **state)
{
	static const struct {
		const char *json, *field;
	} bad[] = {
		{"{\"name\":\"a b\",\"default\":{\"html\":\"x\"}}", "name"},
		{"{\"name\":\"a\"}", "default"},
		{"{\"name\":\"a\",\"default\":{\"html\":\"x\",\"form_id\":2}}", "default"},
		{"{\"name\":\"a\",\"default\":{\"html\":\"x\"},\"variants\":[{\"key\":\"v\",\"html\":\"y\","
		 "\"rule\":{\"visitor\":\"old\"}}]}",
		 "variants[0].rule.visitor"},
		{"{\"name\":\"a\",\"default\":{\"html\":\"x\"},\"variants\":[{\"key\":\"v\",\"html\":\"y\","
		 "\"rule\":{\"min_visits\":0}}]}",
		 "variants[0].rule.min_visits"},
		{"{\"name\":\"a\",\"default\":{\"html\":\"x\"},\"variants\":[{\"key\":\"default\","
		 "\"html\":\"y\"}]}",
		 "variants[0].key"},
		{"{\"name\":\"a\",\"kind\":\"popup\",\"default\":{\"html\":\"\"},\"popup\":{\"style\":"
		 "\"modal\",\"trigger\":{\"type\":\"time\"},\"frequency\":{\"max\":1,\"days\":0}}}",
		 "popup.trigger.seconds"},
		{"{\"name\":\"a\",\"default\":{\"html\":\"x\"},\"popup\":{\"style\":\"bar\"}}", "popup"},
		{"{\"name\":\"a\",\"default\":{\"html\":\"x\"},\"extra\":1}", "extra"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		kz_err err;
		int rc;
		json_t *def = apply(bad[i].json, &rc, &err);
		assert_int_equal(rc, -1);
		assert_int_equal(err.status, 422);
		assert_string_equal(err.field, bad[i].field);
		json_decref(def);
	}
}

static int in_segment_7(void *ctx, int64_t seg)
{
	(void)ctx;
	return seg == 7;
}

static const char *chosen(const json_t *slot, const kz_visit *v)
{
	const json_t *x = kz_slot_choose(slot, v);
	return x ? json_string_value(json_object_get(x, "key")) : "default";
}

static void the_first_matching_variant_wins(void **state)
{
	kz_err err;
	int rc;
	json_t *slot = apply(
		"{\"name\":\"hero\",\"default\":{\"html\":\"d\"},\"variants\":["
		"{\"key\":\"vip\",\"rule\":{\"segment_id\":7},\"html\":\"v\"},"
		"{\"key\":\"hot\",\"rule\":{\"known\":true,\"min_score\":50,\"stage\":[\"mql\",\"sql\"]},"
		"\"html\":\"h\"},"
		"{\"key\":\"ad\",\"rule\":{\"utm_campaign\":\"Autumn\"},\"html\":\"a\"},"
		"{\"key\":\"back\",\"rule\":{\"visitor\":\"returning\",\"max_visits\":5},\"html\":\"b\"},"
		"{\"key\":\"anon\",\"rule\":{\"known\":false,\"min_visits\":6},\"html\":\"n\"}]}",
		&rc, &err);
	kz_visit v;
	(void)state;
	assert_int_equal(rc, 0);
	memset(&v, 0, sizeof v);
	v.visits = 1;
	assert_string_equal(chosen(slot, &v), "default");
	v.utm_campaign = "autumn"; /* case does not matter */
	assert_string_equal(chosen(slot, &v), "ad");
	v.utm_campaign = NULL;
	v.visits = 2;
	assert_string_equal(chosen(slot, &v), "back");
	v.visits = 6;
	assert_string_equal(chosen(slot, &v), "anon");
	v.known = 1;
	assert_string_equal(chosen(slot, &v), "default");
	v.score = 60;
	v.stage = "lead";
	assert_string_equal(chosen(slot, &v), "default");
	v.stage = "sql";
	assert_string_equal(chosen(slot, &v), "hot");
	v.member = in_segment_7;
	assert_string_equal(chosen(slot, &v), "vip");
	json_decref(slot);
}

static void ab_assignment_is_sticky_and_follows_the_weights(void **state)
{
	json_t *vs = json_loads("[{\"key\":\"b\",\"weight\":30},{\"key\":\"c\",\"weight\":20}]", 0, NULL);
	int a = 0, b = 0, c = 0;
	kz_err err;
	(void)state;
	memset(&err, 0, sizeof err);
	assert_int_equal(kz_ab_check(vs, &err), 0);
	for (int i = 0; i < 4000; i++) {
		char vid[32];
		const char *k;
		snprintf(vid, sizeof vid, "visitor-%d", i);
		k = kz_ab_assign(vs, vid, 42);
		assert_string_equal(k, kz_ab_assign(vs, vid, 42)); /* sticky */
		a += !strcmp(k, "a");
		b += !strcmp(k, "b");
		c += !strcmp(k, "c");
	}
	assert_true(a > 1800 && a < 2200); /* 50% */
	assert_true(b > 1000 && b < 1400); /* 30% */
	assert_true(c > 600 && c < 1000);  /* 20% */
	assert_true(kz_ab_known(vs, "a") && kz_ab_known(vs, "c") && !kz_ab_known(vs, "d"));
	json_decref(vs);
	vs = json_loads("[{\"key\":\"b\",\"weight\":60},{\"key\":\"c\",\"weight\":40}]", 0, NULL);
	assert_int_equal(kz_ab_check(vs, &err), -1);
	assert_string_equal(err.field, "variants");
	json_decref(vs);
}

static void ab_report_names_a_winner_only_with_enough_evidence(void **state)
{
	json_t *vs = json_loads("[{\"key\":\"b\",\"weight\":50}]", 0, NULL);
	json_t *few = json_loads("{\"a\":{\"visits\":10,\"conversions\":1},"
				 "\"b\":{\"visits\":10,\"conversions\":9}}", 0, NULL);
	json_t *close = json_loads("{\"a\":{\"visits\":200,\"conversions\":20},"
				   "\"b\":{\"visits\":200,\"conversions\":24}}", 0, NULL);
	json_t *clear = json_loads("{\"a\":{\"visits\":200,\"conversions\":10},"
				   "\"b\":{\"visits\":200,\"conversions\":40}}", 0, NULL);
	json_t *r;
	(void)state;
	r = kz_ab_report(vs, few);
	assert_string_equal(json_string_value(json_object_get(r, "status")), "collecting");
	assert_true(json_is_null(json_object_get(r, "winner")));
	assert_int_equal(json_integer_value(json_object_get(
				 json_array_get(json_object_get(r, "variants"), 0), "weight")),
			 50);
	json_decref(r);
	r = kz_ab_report(vs, close);
	assert_string_equal(json_string_value(json_object_get(r, "status")), "no_difference");
	json_decref(r);
	r = kz_ab_report(vs, clear);
	assert_string_equal(json_string_value(json_object_get(r, "status")), "winner");
	assert_string_equal(json_string_value(json_object_get(r, "winner")), "b");
	assert_true(json_real_value(json_object_get(r, "confidence")) > 0.99);
	json_decref(r);
	json_decref(vs);
	json_decref(few);
	json_decref(close);
	json_decref(clear);
}

static void form_actions_are_checked(void **state)
{
	static const struct {
		const char *action, *code;
	} cases[] = {
		{"{\"type\":\"add_to_list\",\"list_id\":3}", NULL},
		{"{\"type\":\"add_points\",\"points\":-5,\"category\":\"fit\"}", NULL},
		{"{\"type\":\"send_autoresponse\",\"email_id\":2}", NULL},
		{"{\"type\":\"notify\",\"to\":[\"sales@example.jp\",\"owner\"],\"email_id\":2}", NULL},
		{"{\"type\":\"notify\",\"webhook_url\":\"https://hooks.example.com/x\"}", NULL},
		{"{\"type\":\"add_to_list\"}", "invalid_field"},
		{"{\"type\":\"add_points\",\"points\":0}", "invalid_field"},
		{"{\"type\":\"add_points\",\"points\":5,\"category\":\"a b\"}", "invalid_field"},
		{"{\"type\":\"notify\",\"to\":[\"sales@example.jp\"]}", "invalid_field"},
		{"{\"type\":\"notify\",\"to\":[\"nope\"],\"email_id\":1}", "invalid_field"},
		{"{\"type\":\"notify\",\"webhook_url\":\"javascript:alert(1)\"}", "invalid_field"},
		{"{\"type\":\"notify\"}", "invalid_field"},
		{"{\"type\":\"enroll_journey\",\"journey_id\":1}", NULL},
		{"{\"type\":\"enroll_journey\"}", "invalid_field"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[600];
		json_t *in, *def = json_object();
		char *name = NULL;
		kz_err err;
		int rc;
		snprintf(text, sizeof text,
			 "{\"name\":\"x\",\"fields\":[{\"name\":\"email\",\"type\":\"email\","
			 "\"label\":{\"ja\":\"メール\"},\"maps_to\":\"email\",\"required\":true}],"
			 "\"actions\":[%s]}",
			 cases[i].action);
		in = json_loads(text, 0, NULL);
		assert_non_null(in);
		memset(&err, 0, sizeof err);
		rc = kz_form_apply(def, &name, in, 1, NULL, &err);
		if (!cases[i].code) {
			assert_int_equal(rc, 0);
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(err.code, cases[i].code);
			assert_string_equal(err.field, "actions[0]");
		}
		free(name);
		json_decref(in);
		json_decref(def);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(slot_definitions_are_checked_with_the_field_named),
		cmocka_unit_test(the_first_matching_variant_wins),
		cmocka_unit_test(ab_assignment_is_sticky_and_follows_the_weights),
		cmocka_unit_test(ab_report_names_a_winner_only_with_enough_evidence),
		cmocka_unit_test(form_actions_are_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
