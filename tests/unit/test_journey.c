/* test_journey.c — unit tests for journeys: the definition validator (every kind of problem
 * names its step and field; valid graphs pass), quiet hours and send windows in a contact's
 * zone, "next weekday 10:00" waits, arrival due times, and entry keys of the re-entry rules.
 * main() sets TZ=America/New_York: answers must not depend on the machine's zone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/timeutil.h"
#include "journey/jinternal.h"
#include "journey/journey.h"
#include "base/banned.h"

/* 2026-12-01T00:30:00Z is a Tuesday: 09:30 in Tokyo. */
#define T0 INT64_C(1796085000000)
#define HOUR INT64_C(3600000)

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);
	if (!v)
		fail_msg("bad test JSON: %s: %s", e.text, text);
	return v;
}

/* The problems of a definition given as JSON text. */
static json_t *problems(const char *def, const kz_journey_env *env)
{
	json_t *d = parse(def);
	json_t *p = kz_journey_check(d, env);
	json_decref(d);
	return p;
}

/* Assert one problem names step (NULL: none) and field, and its message contains `has`. */
static void assert_problem(const char *def, const char *step, const char *field, const char *has,
			   const kz_journey_env *env)
{
	json_t *p = problems(def, env), *x;
	size_t i;
	int found = 0;
	json_array_foreach(p, i, x) {
		const char *s = json_string_value(json_object_get(x, "step"));
		const char *f = json_string_value(json_object_get(x, "field"));
		const char *m = json_string_value(json_object_get(x, "message"));
		if ((step ? s && !strcmp(s, step) : s == NULL) && f && !strcmp(f, field) &&
		    m && strstr(m, has))
			found = 1;
	}
	if (!found) {
		char *dump = json_dumps(p, JSON_COMPACT);
		fail_msg("no problem (%s, %s, \"%s\") in %s", step ? step : "null", field, has, dump);
	}
	json_decref(p);
}

static void assert_valid(const char *def, const kz_journey_env *env)
{
	json_t *p = problems(def, env);
	if (json_array_size(p)) {
		char *dump = json_dumps(p, JSON_COMPACT);
		fail_msg("expected valid, got %s", dump);
	}
	json_decref(p);
}

#define SEMINAR                                                                                    \
	"{\"triggers\":[{\"type\":\"event\",\"event\":\"seminar_signup\"}],\"start\":\"w1\","   \
	"\"steps\":{\"w1\":{\"type\":\"wait\",\"seconds\":259200,\"next\":\"c1\"},"            \
	"\"c1\":{\"type\":\"condition\",\"filter\":{\"event\":\"email_opened\"},\"yes\":\"b\",\"no\":\"c\"}," \
	"\"b\":{\"type\":\"send_email\",\"email_id\":7,\"next\":\"done\"},"                    \
	"\"c\":{\"type\":\"send_email\",\"email_id\":8,\"next\":\"done\"},"                    \
	"\"done\":{\"type\":\"exit\"}},\"settings\":{\"reentry\":\"never\"}}"

static int email_7_or_8(void *ctx, int64_t id)
{
	(void)ctx;
	return id == 7 || id == 8;
}

static int seg_kind(void *ctx, int64_t id)
{
	(void)ctx;
	return id == 1 ? 0 : id == 2 ? 1 : -1; /* 1 dynamic, 2 a static list */
}

static int no_users(void *ctx, int64_t id)
{
	(void)ctx;
	return id == 3;
}

static int filter_needs_all(void *ctx, const json_t *f, char *msg, size_t len)
{
	(void)ctx;
	if (json_object_get(f, "bogus")) {
		snprintf(msg, len, "unknown member bogus");
		return -1;
	}
	return 0;
}

static int field_kinds(void *ctx, const char *key)
{
	(void)ctx;
	return !strcmp(key, "birthday") ? 2 : !strcmp(key, "plan") ? 1 : 0;
}

static const kz_journey_env ENV = {email_7_or_8, seg_kind, no_users, filter_needs_all,
				   field_kinds, NULL};

static void journey_check_accepts_the_seminar_scenario(void **state)
{
	(void)state;
	assert_valid(SEMINAR, &ENV);
	assert_valid(SEMINAR, NULL);
}

static void journey_check_names_dangling_unreachable_and_unknown(void **state)
{
	(void)state;
	assert_problem("{\"triggers\":[{\"type\":\"manual\"}],\"start\":\"a\",\"steps\":{\"a\":"
		       "{\"type\":\"wait\",\"seconds\":5,\"next\":\"zz\"}}}",
		       "a", "steps.a.next", "zz", &ENV);
	assert_problem("{\"triggers\":[{\"type\":\"manual\"}],\"start\":\"a\",\"steps\":{\"a\":"
		       "{\"type\":\"exit\"},\"lost\":{\"type\":\"exit\"}}}",
		       "lost", "steps.lost", "not reachable", &ENV);
	assert_problem("{\"triggers\":[{\"type\":\"manual\"}],\"start\":\"a\",\"steps\":{\"a\":"
		       "{\"type\":\"send_email\",\"email_id\":99}}}",
		       "a", "steps.a.email_id", "99", &ENV);
	assert_problem("{\"triggers\":[{\"type\":\"manual\"}],\"start\":\"nope\",\"steps\":{\"a\":"
		       "{\"type\":\"exit\"}}}",
		       NULL, "start", "nope", &ENV);
	assert_problem("{\"triggers\":[{\"type\":\"segment_entered\",\"segment_id\":9}],\"start\":"
		       "\"a\",\"steps\":{\"a\":{\"type\":\"exit\"}}}",
		       NULL, "triggers.0.segment_id", "9", &ENV);
	assert_problem("{\"triggers\":[{\"type\":\"manual\"}],\"start\":\"a\",\"steps\":{\"a\":"
		       "{\"type\":\"add_to_list\",\"list_id\":1}}}",
		       "a", "steps.a.list_id", "dynamic", &ENV);
	assert_problem("{\"triggers\":[{\"type\":\"manual\"}],\"start\":\"a\",\"steps\":{\"a\":"
		       "{\"type\":\"condition\",\"filter\":{\"bogus\":1}}}}",
		       "a", "steps.a.filter", "bogus", &ENV);
	assert_problem("{\"triggers\":[{\"type\":\"date\",\"field\":\"plan\"}],\"start\":\"a\","
		       "\"steps\":{\"a\":{\"type\":\"exit\"}}}",
		       NULL, "triggers.0.field", "not a date", &ENV);
	assert_problem("{\"triggers\":[{\"type\":\"manual\"}],\"start\":\"a\",\"steps\":{\"a\":"
		       "{\"type\":\"update_contact\",\"actions\":[{\"op\":\"set_owner\",\"user_id\":4}]}}}",
		       "a", "steps.a.actions.0", "no user", &ENV);
	assert_problem("{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"exit\"}}}", NULL, "triggers",
		       "trigger", &ENV);
}

static void journey_check_finds_instant_loops_but_not_waiting_ones(void **state)
{
	(void)state;
	assert_problem("{\"triggers\":[{\"type\":\"manual\"}],\"start\":\"a\",\"steps\":{"
		       "\"a\":{\"type\":\"update_contact\",\"actions\":[{\"op\":\"add_tag\",\"tag\":\"x\"}],"
		       "\"next\":\"b\"},\"b\":{\"type\":\"split\",\"branches\":[{\"percent\":50,\"next\":"
		       "\"a\"},{\"percent\":50,\"next\":\"c\"}]},\"c\":{\"type\":\"exit\"}}}",
		       "a", "steps.a", "loop", &ENV);
	assert_valid("{\"triggers\":[{\"type\":\"manual\"}],\"start\":\"a\",\"steps\":{"
		     "\"a\":{\"type\":\"send_email\",\"email_id\":7,\"next\":\"w\"},"
		     "\"w\":{\"type\":\"wait\",\"seconds\":86400,\"next\":\"a\"}}}",
		     &ENV);
}

static void journey_check_validates_splits_and_settings(void **state)
{
	(void)state;
	assert_problem("{\"triggers\":[{\"type\":\"manual\"}],\"start\":\"s\",\"steps\":{\"s\":"
		       "{\"type\":\"split\",\"branches\":[{\"percent\":60,\"next\":\"x\"},{\"percent\":"
		       "60,\"next\":\"x\"}]},\"x\":{\"type\":\"exit\"}}}",
		       "s", "steps.s.branches", "120", &ENV);
	/* a problem on another step does not hide a split's bad sum */
	assert_problem("{\"triggers\":[{\"type\":\"manual\"}],\"start\":\"m\",\"steps\":{\"m\":"
		       "{\"type\":\"send_email\",\"next\":\"s\"},\"s\":{\"type\":\"split\","
		       "\"branches\":[{\"percent\":30,\"next\":\"x\"},{\"percent\":30,\"next\":"
		       "\"x\"}]},\"x\":{\"type\":\"exit\"}}}",
		       "s", "steps.s.branches", "60", &ENV);
	assert_problem("{\"triggers\":[{\"type\":\"manual\"}],\"start\":\"x\",\"steps\":{\"x\":"
		       "{\"type\":\"exit\"}},\"settings\":{\"send_window\":{\"start\":\"18:00\",\"end\":"
		       "\"09:00\"}}}",
		       NULL, "settings.send_window", "start before end", &ENV);
	assert_problem("{\"triggers\":[{\"type\":\"manual\"}],\"start\":\"x\",\"steps\":{\"x\":"
		       "{\"type\":\"exit\"}},\"settings\":{\"start_at\":\"2026-12-02T00:00:00Z\","
		       "\"end_at\":\"2026-12-01T00:00:00Z\"}}",
		       NULL, "settings.end_at", "after start_at", &ENV);
	assert_problem("{\"triggers\":[{\"type\":\"manual\"}],\"start\":\"x\",\"steps\":{\"x\":"
		       "{\"type\":\"exit\"}},\"settings\":{\"webhook_secret\":\"short\"}}",
		       NULL, "settings.webhook_secret", "16", &ENV);
}

static void journey_check_keeps_ui_members_out_of_its_way(void **state)
{
	(void)state;
	assert_valid("{\"triggers\":[{\"type\":\"manual\"}],\"start\":\"x\",\"steps\":{\"x\":"
		     "{\"type\":\"exit\",\"ui\":{\"x\":10,\"y\":20},\"label\":\"終わり\"}}}",
		     &ENV);
}

static void journey_hhmm_parses_only_wall_times(void **state)
{
	(void)state;
	assert_int_equal(kz_journey_hhmm("00:00"), 0);
	assert_int_equal(kz_journey_hhmm("23:59"), 23 * 60 + 59);
	assert_int_equal(kz_journey_hhmm("24:00"), -1);
	assert_int_equal(kz_journey_hhmm("9:00"), -1);
	assert_int_equal(kz_journey_hhmm("09:00x"), -1);
	assert_int_equal(kz_journey_hhmm(NULL), -1);
}

static void journey_quiet_hours_end_in_the_contacts_zone(void **state)
{
	json_t *s = parse("{\"quiet_hours\":{\"start\":\"21:00\",\"end\":\"10:00\"}}");
	(void)state;
	/* 09:30 in Tokyo is quiet until 10:00 JST = 01:00Z */
	assert_true(kz_journey_next_window(s, "Asia/Tokyo", T0) == T0 + HOUR / 2);
	/* 00:30 in UTC is quiet until 10:00Z */
	assert_true(kz_journey_next_window(s, "UTC", T0) == T0 + 9 * HOUR + HOUR / 2);
	/* an unknown zone counts as UTC */
	assert_true(kz_journey_next_window(s, "Mars/Olympus", T0) == T0 + 9 * HOUR + HOUR / 2);
	json_decref(s);
}

static void journey_send_window_skips_to_the_next_listed_day(void **state)
{
	/* Tuesday 09:30 JST; window Mon and Fri 11:00-12:00 → Friday 11:00 JST = 02:00Z */
	json_t *s = parse("{\"send_window\":{\"days\":[\"mon\",\"fri\"],\"start\":\"11:00\","
			  "\"end\":\"12:00\"}}");
	int64_t fri = T0 + 3 * 24 * HOUR + HOUR + HOUR / 2;
	(void)state;
	assert_true(kz_journey_next_window(s, "Asia/Tokyo", T0) == fri);
	/* inside the window: now */
	assert_true(kz_journey_next_window(s, "Asia/Tokyo", fri + HOUR / 2) == fri + HOUR / 2);
	json_decref(s);
}

static void journey_next_local_time_on_weekdays(void **state)
{
	json_t *days = parse("[\"mon\",\"tue\",\"wed\",\"thu\",\"fri\"]");
	(void)state;
	/* Tuesday 09:30 JST → today 10:00 JST */
	assert_true(kz_journey_next_local(days, 10, 0, "Asia/Tokyo", T0) == T0 + HOUR / 2);
	/* Tuesday 09:30 JST → 09:00 is past: Wednesday 09:00 JST */
	assert_true(kz_journey_next_local(days, 9, 0, "Asia/Tokyo", T0) ==
		    T0 + 24 * HOUR - HOUR / 2);
	json_decref(days);
	days = parse("[\"sat\"]");
	assert_true(kz_journey_next_local(days, 10, 0, "Asia/Tokyo", T0) ==
		    T0 + 4 * 24 * HOUR + HOUR / 2);
	json_decref(days);
}

static void journey_arrival_times_by_step_kind(void **state)
{
	json_t *def = parse("{\"settings\":{}}");
	json_t *wait = parse("{\"type\":\"wait\",\"seconds\":60}");
	json_t *wfe = parse("{\"type\":\"wait_for_event\",\"event\":\"email_opened\","
			    "\"timeout_seconds\":3600}");
	json_t *until = parse("{\"type\":\"wait_until\",\"at\":\"2026-12-24T00:00:00Z\"}");
	json_t *past = parse("{\"type\":\"wait_until\",\"at\":\"2020-01-01T00:00:00Z\"}");
	json_t *cond = parse("{\"type\":\"condition\",\"filter\":{}}");
	const char *we = NULL;
	int64_t xmas;
	(void)state;
	kz_time_parse_iso("2026-12-24T00:00:00Z", &xmas);
	assert_true(kz_jn_arrival(wait, def, "UTC", T0, &we) == T0 + 60000);
	assert_null(we);
	assert_true(kz_jn_arrival(wfe, def, "UTC", T0, &we) == T0 + HOUR);
	assert_string_equal(we, "email_opened");
	assert_true(kz_jn_arrival(until, def, "UTC", T0, NULL) == xmas);
	assert_true(kz_jn_arrival(past, def, "UTC", T0, NULL) == T0);
	assert_true(kz_jn_arrival(cond, def, "UTC", T0, NULL) == T0);
	json_decref(def);
	json_decref(wait);
	json_decref(wfe);
	json_decref(until);
	json_decref(past);
	json_decref(cond);
}

static void journey_entry_keys_follow_the_reentry_rule(void **state)
{
	json_t *never = parse("{\"definition\":{\"settings\":{}}}");
	json_t *after = parse("{\"definition\":{\"settings\":{\"reentry\":\"after_exit\"}}}");
	json_t *every = parse("{\"definition\":{\"settings\":{\"reentry\":\"every_trigger\"}}}");
	(void)state;
	assert_string_equal(kz_journey_entry_key(never, "ev:1"), "once");
	assert_string_equal(kz_journey_entry_key(after, "ev:1"), "after:");
	assert_string_equal(kz_journey_entry_key(every, "ev:1"), "ev:1");
	json_decref(never);
	json_decref(after);
	json_decref(every);
}

static void journey_event_where_reads_properties_then_context(void **state)
{
	json_t *where = parse("[{\"prop\":\"amount\",\"op\":\"gte\",\"value\":10000}]");
	json_t *big = parse("{\"amount\":12000}"), *small = parse("{\"amount\":500}");
	json_t *pw = parse("[{\"prop\":\"path\",\"op\":\"starts_with\",\"value\":\"/pricing\"}]");
	json_t *ctx = parse("{\"path\":\"/pricing/pro\"}"), *none = json_object();
	(void)state;
	assert_true(kz_jn_where(where, "purchase", big, none, T0));
	assert_false(kz_jn_where(where, "purchase", small, none, T0));
	assert_true(kz_jn_where(pw, "page_view", none, ctx, T0));
	assert_true(kz_jn_where(NULL, "x", none, none, T0));
	json_decref(where);
	json_decref(big);
	json_decref(small);
	json_decref(pw);
	json_decref(ctx);
	json_decref(none);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(journey_check_accepts_the_seminar_scenario),
		cmocka_unit_test(journey_check_names_dangling_unreachable_and_unknown),
		cmocka_unit_test(journey_check_finds_instant_loops_but_not_waiting_ones),
		cmocka_unit_test(journey_check_validates_splits_and_settings),
		cmocka_unit_test(journey_check_keeps_ui_members_out_of_its_way),
		cmocka_unit_test(journey_hhmm_parses_only_wall_times),
		cmocka_unit_test(journey_quiet_hours_end_in_the_contacts_zone),
		cmocka_unit_test(journey_send_window_skips_to_the_next_listed_day),
		cmocka_unit_test(journey_next_local_time_on_weekdays),
		cmocka_unit_test(journey_arrival_times_by_step_kind),
		cmocka_unit_test(journey_entry_keys_follow_the_reentry_rule),
		cmocka_unit_test(journey_event_where_reads_properties_then_context),
	};
	setenv("TZ", "America/New_York", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
