/* test_timeutil.c — unit tests for the injectable clock and ISO 8601 formatting/parsing.
 * main() sets TZ=Asia/Tokyo: every answer must still be UTC, whatever the machine's zone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/timeutil.h"
#include "base/banned.h"

#define MS_2026_11_24T17_11_58Z INT64_C(1795540318000)
#define MS_2026_01_01 INT64_C(1767225600000)

static int64_t parse_ok(const char *s)
{
	int64_t ms = 0;
	if (kz_time_parse_iso(s, &ms) != 0)
		fail_msg("kz_time_parse_iso refused \"%s\"", s);
	return ms;
}

static void assert_parse_fails(const char *s)
{
	int64_t ms = 777;
	if (kz_time_parse_iso(s, &ms) == 0)
		fail_msg("kz_time_parse_iso accepted \"%s\" as %lld", s, (long long)ms);
}

static void assert_iso(int64_t ms, const char *want)
{
	char out[40];
	kz_time_iso(ms, out, sizeof out);
	if (strcmp(out, want) != 0)
		fail_msg("kz_time_iso(%lld) = \"%s\", want \"%s\"", (long long)ms, out, want);
}

static void process_zone_is_not_utc(void **state)
{
	/* Guard for the other tests: the zone is really set, so a test that passes here
	 * proves independence from it. */
	time_t t = 0;
	struct tm tm;
	(void)state;
	localtime_r(&t, &tm);
	assert_int_equal(tm.tm_hour, 9);
}

static void formats_epoch_and_known_instants_in_utc(void **state)
{
	(void)state;
	assert_iso(0, "1970-01-01T00:00:00Z");
	assert_iso(MS_2026_11_24T17_11_58Z, "2026-11-24T17:11:58Z");
	assert_iso(MS_2026_01_01, "2026-01-01T00:00:00Z");
	assert_iso(INT64_C(1709164800000), "2024-02-29T00:00:00Z");
}

static void formats_milliseconds_only_when_nonzero(void **state)
{
	(void)state;
	assert_iso(MS_2026_11_24T17_11_58Z + 5, "2026-11-24T17:11:58.005Z");
	assert_iso(MS_2026_11_24T17_11_58Z + 120, "2026-11-24T17:11:58.120Z");
	assert_iso(MS_2026_11_24T17_11_58Z + 999, "2026-11-24T17:11:58.999Z");
	assert_iso(1234, "1970-01-01T00:00:01.234Z");
}

static void formats_times_before_the_epoch(void **state)
{
	(void)state;
	assert_iso(-1, "1969-12-31T23:59:59.999Z");
	assert_iso(-1000, "1969-12-31T23:59:59Z");
	assert_iso(-1001, "1969-12-31T23:59:58.999Z");
	assert_iso(-500, "1969-12-31T23:59:59.500Z");
}

static void parses_utc_with_z(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2026-11-24T17:11:58Z"), MS_2026_11_24T17_11_58Z);
	assert_int_equal(parse_ok("2026-11-24t17:11:58z"), MS_2026_11_24T17_11_58Z);
	assert_int_equal(parse_ok("2026-11-24 17:11:58Z"), MS_2026_11_24T17_11_58Z);
	assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
}

static void parses_offsets(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2026-11-25T02:11:58+09:00"), MS_2026_11_24T17_11_58Z);
	assert_int_equal(parse_ok("2026-11-25T02:11:58+0900"), MS_2026_11_24T17_11_58Z);
	assert_int_equal(parse_ok("2026-11-24T11:41:58-05:30"), MS_2026_11_24T17_11_58Z);
	assert_int_equal(parse_ok("2026-11-24T17:11:58+00:00"), MS_2026_11_24T17_11_58Z);
	assert_int_equal(parse_ok("2026-11-24T17:11:58-00:00"), MS_2026_11_24T17_11_58Z);
}

static void offset_moves_across_a_year_boundary(void **state)
{
	(void)state;
	/* 05:00 in Tokyo on New Year's Day is still the old year in UTC */
	assert_int_equal(parse_ok("2026-01-01T05:00:00+09:00"), MS_2026_01_01 - 4 * 3600 * 1000);
	assert_iso(parse_ok("2026-01-01T05:00:00+09:00"), "2025-12-31T20:00:00Z");
}

static void parses_fractions_to_milliseconds(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2026-11-24T17:11:58.5Z"), MS_2026_11_24T17_11_58Z + 500);
	assert_int_equal(parse_ok("2026-11-24T17:11:58.05Z"), MS_2026_11_24T17_11_58Z + 50);
	assert_int_equal(parse_ok("2026-11-24T17:11:58.123Z"), MS_2026_11_24T17_11_58Z + 123);
	/* digits past the millisecond are dropped, not rounded */
	assert_int_equal(parse_ok("2026-11-24T17:11:58.123999Z"), MS_2026_11_24T17_11_58Z + 123);
	assert_int_equal(parse_ok("2026-11-24T17:11:58,250Z"), MS_2026_11_24T17_11_58Z + 250);
	assert_int_equal(parse_ok("2026-11-25T02:11:58.75+09:00"), MS_2026_11_24T17_11_58Z + 750);
	/* half a second before the epoch */
	assert_int_equal(parse_ok("1969-12-31T23:59:59.5Z"), -500);
}

static void parses_minutes_without_seconds(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2026-11-24T17:11Z"), MS_2026_11_24T17_11_58Z - 58000);
	assert_int_equal(parse_ok("2026-11-25T02:11+09:00"), MS_2026_11_24T17_11_58Z - 58000);
}

static void date_alone_is_midnight_utc(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2026-01-01"), MS_2026_01_01);
	assert_int_equal(parse_ok("2024-02-29"), INT64_C(1709164800000));
	assert_int_equal(parse_ok("2000-02-29"), INT64_C(951782400000));
	assert_int_equal(parse_ok("0001-01-01"), INT64_C(-62135596800000));
}

static void time_without_zone_is_refused(void **state)
{
	(void)state;
	assert_parse_fails("2026-11-24T17:11:58");
	assert_parse_fails("2026-11-24T17:11");
	assert_parse_fails("2026-11-24T17:11:58.123");
}

static void impossible_dates_are_refused(void **state)
{
	(void)state;
	assert_parse_fails("2026-02-30");
	assert_parse_fails("2026-02-29");
	assert_parse_fails("1900-02-29"); /* divisible by 100, not by 400 */
	assert_parse_fails("2026-04-31");
	assert_parse_fails("2026-13-01");
	assert_parse_fails("2026-00-10");
	assert_parse_fails("2026-01-00");
	assert_parse_fails("2026-01-32");
	assert_parse_fails("0000-01-01");
	assert_parse_fails("2026-02-30T10:00:00Z");
}

static void impossible_times_and_offsets_are_refused(void **state)
{
	(void)state;
	assert_parse_fails("2026-11-24T24:00:00Z");
	assert_parse_fails("2026-11-24T17:60:00Z");
	assert_parse_fails("2026-11-24T17:11:61Z");
	assert_parse_fails("2026-11-24T17:11:58+24:00");
	assert_parse_fails("2026-11-24T17:11:58+09:60");
}

static void malformed_text_is_refused(void **state)
{
	(void)state;
	assert_parse_fails("");
	assert_parse_fails("2026");
	assert_parse_fails("2026-1-5");
	assert_parse_fails("2026/11/24");
	assert_parse_fails("26-11-24");
	assert_parse_fails("2026-11-24T");
	assert_parse_fails("2026-11-24X17:11:58Z");
	assert_parse_fails("2026-11-24T17:11:58Zjunk");
	assert_parse_fails("2026-11-24T17:11:58.Z");
	assert_parse_fails("2026-11-24T17:11:58+9:00");
	assert_parse_fails("2026-11-24T17:11:58+09:0");
	assert_parse_fails("2026-11-24T1:11:58Z");
	assert_parse_fails(" 2026-11-24");
	assert_parse_fails("2026-11-24 ");
	assert_parse_fails("２０２６-11-24");
	{
		int64_t ms = 5;
		assert_int_equal(kz_time_parse_iso(NULL, &ms), -1);
	}
}

static void leap_years_follow_the_gregorian_rules(void **state)
{
	(void)state;
	assert_int_equal(kz_date_valid("2024-02-29"), 0);
	assert_int_equal(kz_date_valid("2000-02-29"), 0);
	assert_int_equal(kz_date_valid("2400-02-29"), 0);
	assert_int_equal(kz_date_valid("2023-02-29"), -1);
	assert_int_equal(kz_date_valid("2100-02-29"), -1);
	assert_int_equal(kz_date_valid("1900-02-29"), -1);
	assert_int_equal(kz_date_valid("2023-02-28"), 0);
	/* the day after Feb 29 is Mar 1: 24 hours later */
	assert_int_equal(parse_ok("2024-03-01") - parse_ok("2024-02-29"), 86400 * 1000);
	assert_int_equal(parse_ok("2023-03-01") - parse_ok("2023-02-28"), 86400 * 1000);
	/* 2024 has 366 days, 2100 has 365 */
	assert_int_equal(parse_ok("2025-01-01") - parse_ok("2024-01-01"), INT64_C(366) * 86400000);
	assert_int_equal(parse_ok("2101-01-01") - parse_ok("2100-01-01"), INT64_C(365) * 86400000);
	assert_int_equal(parse_ok("2001-01-01") - parse_ok("2000-01-01"), INT64_C(366) * 86400000);
}

static void date_valid_checks_shape_and_calendar(void **state)
{
	(void)state;
	assert_int_equal(kz_date_valid("2026-11-24"), 0);
	assert_int_equal(kz_date_valid("0001-01-01"), 0);
	assert_int_equal(kz_date_valid("9999-12-31"), 0);
	assert_int_equal(kz_date_valid("2026-04-30"), 0);
	assert_int_equal(kz_date_valid("2026-04-31"), -1);
	assert_int_equal(kz_date_valid("2026-02-30"), -1);
	assert_int_equal(kz_date_valid("2026-11-24T00:00:00Z"), -1);
	assert_int_equal(kz_date_valid("2026-11-4"), -1);
	assert_int_equal(kz_date_valid("2026-11-244"), -1);
	assert_int_equal(kz_date_valid("2026_11_24"), -1);
	assert_int_equal(kz_date_valid("abcd-ef-gh"), -1);
	assert_int_equal(kz_date_valid(""), -1);
	assert_int_equal(kz_date_valid(NULL), -1);
}

/* A small deterministic generator, so failures reproduce. */
static uint64_t lcg(uint64_t *s)
{
	*s = *s * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
	return *s >> 11;
}

static void format_then_parse_round_trips(void **state)
{
	uint64_t seed = 42;
	/* 1970..2100 and a little before the epoch, with and without milliseconds */
	const int64_t lo = INT64_C(-86400000) * 365, span = INT64_C(4102444800000) - lo;
	(void)state;
	for (int i = 0; i < 20000; i++) {
		int64_t ms = lo + (int64_t)(lcg(&seed) % (uint64_t)span);
		char iso[40];
		int64_t back = 0;
		if (i % 3 == 0)
			ms -= ((ms % 1000) + 1000) % 1000; /* whole seconds too */
		kz_time_iso(ms, iso, sizeof iso);
		if (kz_time_parse_iso(iso, &back) != 0 || back != ms)
			fail_msg("%lld -> \"%s\" -> %lld", (long long)ms, iso, (long long)back);
	}
}

/* The hand-written formatter agrees with the C library's gmtime_r everywhere in 0001..9999. */
static void formatting_agrees_with_gmtime(void **state)
{
	uint64_t seed = 7;
	const int64_t lo = INT64_C(-62135596800000), span = INT64_C(253402300799000) - lo;
	(void)state;
	for (int i = 0; i < 50000; i++) {
		int64_t ms = lo + (int64_t)(lcg(&seed) % (uint64_t)span);
		int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
		time_t t = (time_t)secs;
		struct tm tm;
		char iso[40], want[64];
		int milli = (int)(ms - secs * 1000);
		gmtime_r(&t, &tm);
		snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		if (milli)
			snprintf(want + 19, sizeof want - 19, ".%03dZ", milli);
		else
			snprintf(want + 19, sizeof want - 19, "Z");
		kz_time_iso(ms, iso, sizeof iso);
		if (strcmp(iso, want))
			fail_msg("kz_time_iso(%lld) = \"%s\", gmtime says \"%s\"", (long long)ms, iso,
				 want);
	}
}

static void parse_then_format_is_canonical_utc(void **state)
{
	char iso[40];
	(void)state;
	kz_time_iso(parse_ok("2026-11-25T02:11:58.120+09:00"), iso, sizeof iso);
	assert_string_equal(iso, "2026-11-24T17:11:58.120Z");
	kz_time_iso(parse_ok("2024-02-29"), iso, sizeof iso);
	assert_string_equal(iso, "2024-02-29T00:00:00Z");
	kz_time_iso(parse_ok("9999-12-31T23:59:59Z"), iso, sizeof iso);
	assert_string_equal(iso, "9999-12-31T23:59:59Z");
}

static void iso_output_has_four_digit_year_before_1000(void **state)
{
	(void)state;
	/* strftime's %Y does not pad: "999-01-01..." would not parse back */
	assert_iso(parse_ok("0999-01-01T00:00:00Z"), "0999-01-01T00:00:00Z");
	assert_iso(parse_ok("0090-06-15T12:00:00Z"), "0090-06-15T12:00:00Z");
	assert_iso(INT64_C(-62135596800000), "0001-01-01T00:00:00Z");
}

static void output_is_truncated_to_the_buffer(void **state)
{
	char small[11];
	(void)state;
	memset(small, 'x', sizeof small);
	kz_time_iso(MS_2026_11_24T17_11_58Z, small, sizeof small);
	assert_string_equal(small, "2026-11-24");
}

static void fixed_clock_is_returned_until_cleared(void **state)
{
	int64_t real;
	(void)state;
	kz_clock_set_fixed(MS_2026_11_24T17_11_58Z);
	assert_int_equal(kz_now_ms(), MS_2026_11_24T17_11_58Z);
	assert_int_equal(kz_now_ms(), MS_2026_11_24T17_11_58Z);
	kz_clock_set_fixed(MS_2026_11_24T17_11_58Z + 1);
	assert_int_equal(kz_now_ms(), MS_2026_11_24T17_11_58Z + 1);
	kz_clock_set_fixed(0);
	real = kz_now_ms();
	/* the real clock: within a minute of time(), in milliseconds */
	assert_true(real / 1000 >= (int64_t)time(NULL) - 60);
	assert_true(real / 1000 <= (int64_t)time(NULL) + 60);
	assert_true(kz_now_ms() >= real);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(process_zone_is_not_utc),
		cmocka_unit_test(formats_epoch_and_known_instants_in_utc),
		cmocka_unit_test(formats_milliseconds_only_when_nonzero),
		cmocka_unit_test(formats_times_before_the_epoch),
		cmocka_unit_test(parses_utc_with_z),
		cmocka_unit_test(parses_offsets),
		cmocka_unit_test(offset_moves_across_a_year_boundary),
		cmocka_unit_test(parses_fractions_to_milliseconds),
		cmocka_unit_test(parses_minutes_without_seconds),
		cmocka_unit_test(date_alone_is_midnight_utc),
		cmocka_unit_test(time_without_zone_is_refused),
		cmocka_unit_test(impossible_dates_are_refused),
		cmocka_unit_test(impossible_times_and_offsets_are_refused),
		cmocka_unit_test(malformed_text_is_refused),
		cmocka_unit_test(leap_years_follow_the_gregorian_rules),
		cmocka_unit_test(date_valid_checks_shape_and_calendar),
		cmocka_unit_test(format_then_parse_round_trips),
		cmocka_unit_test(formatting_agrees_with_gmtime),
		cmocka_unit_test(parse_then_format_is_canonical_utc),
		cmocka_unit_test(iso_output_has_four_digit_year_before_1000),
		cmocka_unit_test(output_is_truncated_to_the_buffer),
		cmocka_unit_test(fixed_clock_is_returned_until_cleared),
	};
	/* A zone far from UTC (and CMake's TZ=UTC overridden) to prove nothing reads it. */
	setenv("TZ", "Asia/Tokyo", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
