/* test_bot.c — the tracking bot filter: crawler user agents and pixel floods. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "track/bot.h"

static void crawler_and_headless_user_agents_are_bots(void **state)
{
	(void)state;
	assert_true(kz_track_is_bot("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"));
	assert_true(kz_track_is_bot("Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/120.0 Safari/537.36"));
	assert_true(kz_track_is_bot(NULL));
	assert_false(kz_track_is_bot("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
				     "(KHTML, like Gecko) Chrome/120.0 Safari/537.36"));
}

/* The per-thread memory of recent User-Agents answers as the full check does, also when
 * more agents than it holds take turns and when only case or a long tail differs. */
static void remembered_user_agents_get_the_same_verdict(void **state)
{
	static const char *const agents[] = {
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/120.0 Safari/537.36",
		"curl/8.4.0",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Version/17.0 Safari",
		"python-requests/2.31",
		"Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; rv:121.0) Gecko/20100101 Firefox/121.0",
		"MOZILLA/5.0 (COMPATIBLE; BINGBOT/2.0)",
		"Mozilla/5.0 (compatible; bingbot/2.0)",
	};
	const int want[] = {0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 1};
	char longer[2048];
	(void)state;
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < sizeof agents / sizeof agents[0]; i++)
			assert_int_equal(kz_track_is_bot(agents[i]), want[i]);
	/* longer than what is lowercased: judged on its head, never remembered */
	memset(longer, 'a', sizeof longer - 1);
	longer[sizeof longer - 1] = '\0';
	memcpy(longer, "Mozilla/5.0 ", 12);
	assert_int_equal(kz_track_is_bot(longer), 0);
	memcpy(longer + 1500, "Googlebot", 9);
	assert_int_equal(kz_track_is_bot(longer), 0);
	memcpy(longer + 20, "Googlebot", 9);
	assert_int_equal(kz_track_is_bot(longer), 1);
}

static void pixel_flood_trips_after_the_limit_within_a_minute(void **state)
{
	int64_t t = 1800000000000LL;
	(void)state;
	for (int i = 0; i < 10; i++)
		assert_false(kz_track_flood("203.0.113.7", t + i, 10));
	assert_true(kz_track_flood("203.0.113.7", t + 10, 10));
	/* another address is counted on its own */
	assert_false(kz_track_flood("198.51.100.9", t + 11, 10));
}

static void pixel_flood_resets_in_the_next_minute(void **state)
{
	int64_t t = 1800000060000LL;
	(void)state;
	for (int i = 0; i < 12; i++)
		kz_track_flood("203.0.113.8", t, 10);
	assert_true(kz_track_flood("203.0.113.8", t, 10));
	assert_false(kz_track_flood("203.0.113.8", t + 60000, 10));
}

static void pixel_flood_ignores_an_unknown_address(void **state)
{
	(void)state;
	for (int i = 0; i < 50; i++)
		assert_false(kz_track_flood("", 1800000120000LL, 10));
	assert_false(kz_track_flood(NULL, 1800000120000LL, 10));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(crawler_and_headless_user_agents_are_bots),
		cmocka_unit_test(remembered_user_agents_get_the_same_verdict),
		cmocka_unit_test(pixel_flood_trips_after_the_limit_within_a_minute),
		cmocka_unit_test(pixel_flood_resets_in_the_next_minute),
		cmocka_unit_test(pixel_flood_ignores_an_unknown_address),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
