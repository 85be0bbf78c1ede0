/* test_buf.c — unit tests for kz_buf: growth, the size cap, sticky overflow, detach, addf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/banned.h"

static void new_buffer_is_an_empty_string(void **state)
{
	kz_buf b;
	(void)state;
	kz_buf_init(&b, 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	assert_int_equal(b.len, 0);
	assert_int_equal(b.overflow, 0);
	assert_int_equal(b.cap, KZ_BUF_DEFAULT_CAP);
	kz_buf_release(&b); /* releasing a never-grown buffer is fine */
	assert_string_equal(b.data, "");
}

static void appends_grow_the_buffer_and_keep_every_byte(void **state)
{
	kz_buf b;
	char expect[10001];
	(void)state;
	kz_buf_init(&b, 0);
	for (int i = 0; i < 10000; i++) {
		char c = (char)('a' + i % 26);
		expect[i] = c;
		assert_int_equal(kz_buf_addc(&b, c), 0);
		assert_true(b.alloc > b.len); /* room for the NUL, always */
		assert_int_equal(b.data[b.len], '\0');
	}
	expect[10000] = '\0';
	assert_int_equal(b.len, 10000);
	assert_string_equal(b.data, expect);
	kz_buf_release(&b);
}

static void mixed_appends_concatenate(void **state)
{
	kz_buf b;
	(void)state;
	kz_buf_init(&b, 0);
	assert_int_equal(kz_buf_adds(&b, "氏名="), 0);
	assert_int_equal(kz_buf_add(&b, "山田太郎XYZ", strlen("山田太郎")), 0);
	assert_int_equal(kz_buf_addc(&b, ';'), 0);
	assert_int_equal(kz_buf_addf(&b, "%d/%s/%05.1f", 42, "x", 3.25), 0);
	assert_string_equal(b.data, "氏名=山田太郎;42/x/003.2");
	assert_int_equal(b.len, strlen(b.data));
	kz_buf_release(&b);
}

static void binary_data_with_nul_bytes_is_counted(void **state)
{
	kz_buf b;
	static const char bin[] = {'a', '\0', 'b', '\0'};
	(void)state;
	kz_buf_init(&b, 0);
	assert_int_equal(kz_buf_add(&b, bin, sizeof bin), 0);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, bin, 4);
	assert_int_equal(b.data[4], '\0');
	kz_buf_release(&b);
}

static void empty_append_keeps_an_empty_string(void **state)
{
	kz_buf b;
	(void)state;
	kz_buf_init(&b, 0);
	assert_int_equal(kz_buf_add(&b, "", 0), 0);
	assert_int_equal(kz_buf_adds(&b, ""), 0);
	assert_int_equal(kz_buf_addf(&b, "%s", ""), 0);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	kz_buf_release(&b);
}

static void append_up_to_the_cap_succeeds(void **state)
{
	kz_buf b;
	(void)state;
	kz_buf_init(&b, 8);
	assert_int_equal(kz_buf_adds(&b, "1234"), 0);
	assert_int_equal(kz_buf_adds(&b, "5678"), 0);
	assert_int_equal(b.len, 8);
	assert_int_equal(b.overflow, 0);
	assert_string_equal(b.data, "12345678");
	kz_buf_release(&b);
}

static void append_past_the_cap_fails_and_leaves_content(void **state)
{
	kz_buf b;
	(void)state;
	kz_buf_init(&b, 8);
	assert_int_equal(kz_buf_adds(&b, "12345"), 0);
	assert_int_equal(kz_buf_adds(&b, "6789"), -1); /* 9 > 8: refused whole */
	assert_int_equal(b.overflow, 1);
	assert_int_equal(b.len, 5);
	assert_string_equal(b.data, "12345");
	kz_buf_release(&b);
}

static void overflow_is_sticky_until_reset(void **state)
{
	kz_buf b;
	(void)state;
	kz_buf_init(&b, 8);
	assert_int_equal(kz_buf_adds(&b, "123456789"), -1);
	/* these would fit, but the buffer already lost data: callers check once at the end */
	assert_int_equal(kz_buf_addc(&b, 'x'), -1);
	assert_int_equal(kz_buf_adds(&b, "ab"), -1);
	assert_int_equal(kz_buf_addf(&b, "%d", 1), -1);
	assert_int_equal(b.overflow, 1);
	assert_string_equal(b.data, "");
	kz_buf_reset(&b);
	assert_int_equal(b.overflow, 0);
	assert_int_equal(kz_buf_adds(&b, "ab"), 0);
	assert_string_equal(b.data, "ab");
	kz_buf_release(&b);
}

static void huge_length_is_refused_without_wrapping(void **state)
{
	kz_buf b;
	(void)state;
	kz_buf_init(&b, 0);
	assert_int_equal(kz_buf_adds(&b, "abc"), 0);
	/* len + SIZE_MAX would wrap around; the buffer must refuse, not read the pointer */
	assert_int_equal(kz_buf_add(&b, "x", SIZE_MAX), -1);
	assert_int_equal(b.overflow, 1);
	assert_string_equal(b.data, "abc");
	kz_buf_release(&b);
}

static void addf_past_the_cap_fails_and_leaves_content(void **state)
{
	kz_buf b;
	(void)state;
	kz_buf_init(&b, 10);
	assert_int_equal(kz_buf_addf(&b, "%s", "abc"), 0);
	assert_int_equal(kz_buf_addf(&b, "%08d", 7), -1);
	assert_int_equal(b.overflow, 1);
	assert_string_equal(b.data, "abc");
	kz_buf_release(&b);
}

static void addf_formats_long_output_across_growth(void **state)
{
	kz_buf b;
	char big[3000];
	(void)state;
	memset(big, 'q', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	kz_buf_init(&b, 0);
	assert_int_equal(kz_buf_adds(&b, "<"), 0);
	assert_int_equal(kz_buf_addf(&b, "%s|%d|%s", big, -12345, big), 0);
	assert_int_equal(kz_buf_adds(&b, ">"), 0);
	assert_int_equal(b.len, 1 + 2999 + 1 + 6 + 1 + 2999 + 1);
	assert_int_equal(b.data[0], '<');
	assert_memory_equal(b.data + 1 + 2999, "|-12345|", 8);
	assert_int_equal(b.data[b.len - 1], '>');
	assert_int_equal(b.data[b.len], '\0');
	kz_buf_release(&b);
}

static void addf_many_small_pieces(void **state)
{
	kz_buf b;
	kz_buf expect;
	(void)state;
	kz_buf_init(&b, 0);
	kz_buf_init(&expect, 0);
	for (int i = 0; i < 2000; i++) {
		char piece[16];
		snprintf(piece, sizeof piece, "%d,", i);
		assert_int_equal(kz_buf_addf(&b, "%d,", i), 0);
		assert_int_equal(kz_buf_adds(&expect, piece), 0);
	}
	assert_int_equal(b.len, expect.len);
	assert_string_equal(b.data, expect.data);
	kz_buf_release(&b);
	kz_buf_release(&expect);
}

static void detach_hands_over_the_string_and_empties_the_buffer(void **state)
{
	kz_buf b;
	char *s;
	size_t len = 0;
	(void)state;
	kz_buf_init(&b, 100);
	kz_buf_adds(&b, "hello, world");
	s = kz_buf_detach(&b, &len);
	assert_non_null(s);
	assert_string_equal(s, "hello, world");
	assert_int_equal(len, 12);
	/* the buffer is empty, keeps its cap, and works again */
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	assert_int_equal(b.cap, 100);
	assert_int_equal(kz_buf_adds(&b, "again"), 0);
	assert_string_equal(b.data, "again");
	assert_ptr_not_equal(b.data, s);
	free(s);
	kz_buf_release(&b);
}

static void detach_of_empty_buffer_gives_a_freeable_empty_string(void **state)
{
	kz_buf b;
	char *s;
	size_t len = 99;
	(void)state;
	kz_buf_init(&b, 0);
	s = kz_buf_detach(&b, &len);
	assert_non_null(s);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s); /* must be heap memory: ASan would catch freeing the static empty string */
	s = kz_buf_detach(&b, NULL);
	assert_non_null(s);
	free(s);
}

static void detach_after_overflow_returns_what_was_kept(void **state)
{
	kz_buf b;
	char *s;
	(void)state;
	kz_buf_init(&b, 4);
	kz_buf_adds(&b, "abc");
	assert_int_equal(kz_buf_adds(&b, "de"), -1);
	s = kz_buf_detach(&b, NULL);
	assert_string_equal(s, "abc");
	assert_int_equal(b.overflow, 0);
	free(s);
}

static void reset_empties_but_keeps_the_allocation(void **state)
{
	kz_buf b;
	char *before;
	size_t alloc;
	(void)state;
	kz_buf_init(&b, 0);
	kz_buf_adds(&b, "some text that needs memory");
	before = b.data;
	alloc = b.alloc;
	kz_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	assert_ptr_equal(b.data, before);
	assert_int_equal(b.alloc, alloc);
	kz_buf_adds(&b, "x");
	assert_string_equal(b.data, "x");
	kz_buf_release(&b);
}

static void release_keeps_the_cap_for_reuse(void **state)
{
	kz_buf b;
	(void)state;
	kz_buf_init(&b, 3);
	kz_buf_adds(&b, "abc");
	kz_buf_release(&b);
	assert_int_equal(b.cap, 3);
	assert_int_equal(b.len, 0);
	assert_int_equal(kz_buf_adds(&b, "abcd"), -1);
	kz_buf_release(&b);
	assert_int_equal(b.overflow, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(new_buffer_is_an_empty_string),
		cmocka_unit_test(appends_grow_the_buffer_and_keep_every_byte),
		cmocka_unit_test(mixed_appends_concatenate),
		cmocka_unit_test(binary_data_with_nul_bytes_is_counted),
		cmocka_unit_test(empty_append_keeps_an_empty_string),
		cmocka_unit_test(append_up_to_the_cap_succeeds),
		cmocka_unit_test(append_past_the_cap_fails_and_leaves_content),
		cmocka_unit_test(overflow_is_sticky_until_reset),
		cmocka_unit_test(huge_length_is_refused_without_wrapping),
		cmocka_unit_test(addf_past_the_cap_fails_and_leaves_content),
		cmocka_unit_test(addf_formats_long_output_across_growth),
		cmocka_unit_test(addf_many_small_pieces),
		cmocka_unit_test(detach_hands_over_the_string_and_empties_the_buffer),
		cmocka_unit_test(detach_of_empty_buffer_gives_a_freeable_empty_string),
		cmocka_unit_test(detach_after_overflow_returns_what_was_kept),
		cmocka_unit_test(reset_empties_but_keeps_the_allocation),
		cmocka_unit_test(release_keeps_the_cap_for_reuse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
