/* test_charset.c — unit tests for decoding uploads (UTF-8, CP932) to UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/charset.h"
#include "base/banned.h"

/* "山田,太郎\r\n" as Japanese Excel saves it (CP932). */
static const char sjis_row[] = "\x8E\x52\x93\x63,\x91\xBE\x98\x59\r\n";
static const char utf8_row[] = "山田,太郎\r\n";

static void assert_decodes(const char *data, size_t len, const char *charset, const char *want)
{
	char *out = NULL;
	size_t out_len = 12345;
	assert_int_equal(kz_charset_to_utf8(data, len, charset, &out, &out_len), 0);
	assert_non_null(out);
	assert_int_equal(out_len, strlen(want));
	assert_memory_equal(out, want, out_len);
	assert_int_equal(out[out_len], '\0');
	free(out);
}

static void assert_fails(const char *data, size_t len, const char *charset, int want_rc)
{
	char *out = (char *)0x1;
	size_t out_len = 12345;
	assert_int_equal(kz_charset_to_utf8(data, len, charset, &out, &out_len), want_rc);
	assert_null(out);
	assert_int_equal(out_len, 0);
}

static void cp932_kanji_decodes_to_utf8(void **state)
{
	(void)state;
	assert_decodes("\x8E\x52\x93\x63", 4, "cp932", "山田");
	assert_decodes(sjis_row, sizeof(sjis_row) - 1, "Shift_JIS", utf8_row);
}

static void every_sjis_spelling_decodes_as_cp932(void **state)
{
	static const char *const names[] = {"shift_jis", "SHIFT_JIS", "shift-jis", "Shift-JIS",
	                                    "sjis", "SJIS", "cp932", "CP932", "windows-31j",
	                                    "Windows-31J", "ms932", "MS932"};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_decodes("\x8E\x52\x93\x63", 4, names[i], "山田");
}

static void cp932_nec_extension_chars_decode(void **state)
{
	(void)state;
	/* ① (NEC row 13) and ～ (0x8160 maps to FULLWIDTH TILDE in CP932) */
	assert_decodes("\x87\x40\x81\x60", 4, "sjis", "①～");
}

static void cp932_halfwidth_katakana_grows_output_buffer(void **state)
{
	/* Each 1-byte half-width katakana becomes 3 UTF-8 bytes: 3x growth, past
	 * the first buffer guess, so the E2BIG loop must run. */
	char in[3000];
	char *want = malloc(sizeof(in) * 3 + 1);
	size_t i;
	(void)state;
	assert_non_null(want);
	for (i = 0; i < sizeof(in); i++) {
		in[i] = (char)0xB1; /* ｱ U+FF71 = EF BD B1 */
		memcpy(want + i * 3, "\xEF\xBD\xB1", 3);
	}
	want[sizeof(in) * 3] = '\0';
	assert_decodes(in, sizeof(in), "cp932", want);
	free(want);
}

static void detect_picks_utf8_when_valid(void **state)
{
	(void)state;
	assert_decodes(utf8_row, strlen(utf8_row), NULL, utf8_row);
	assert_decodes(utf8_row, strlen(utf8_row), "", utf8_row);
	assert_decodes("plain ascii", 11, NULL, "plain ascii");
}

static void detect_falls_back_to_cp932(void **state)
{
	(void)state;
	assert_decodes(sjis_row, sizeof(sjis_row) - 1, NULL, utf8_row);
	assert_decodes("\x8E\x52\x93\x63", 4, "", "山田");
}

static void utf8_bom_is_stripped(void **state)
{
	(void)state;
	assert_decodes("\xEF\xBB\xBF" "email\r\n", 10, NULL, "email\r\n");
	assert_decodes("\xEF\xBB\xBF" "email", 8, "UTF-8", "email");
	assert_decodes("\xEF\xBB\xBF", 3, "utf8", "");
}

static void explicit_utf8_rejects_invalid_bytes(void **state)
{
	(void)state;
	assert_fails(sjis_row, sizeof(sjis_row) - 1, "utf-8", -1);
	assert_fails("\xED\xA0\x80", 3, "UTF8", -1);
}

static void cp932_undecodable_bytes_fail(void **state)
{
	(void)state;
	assert_fails("ab\x80" "cd", 5, "cp932", -1);       /* 0x80 is unassigned */
	assert_fails("\x81\x20", 2, "cp932", -1);          /* bad trail byte */
	assert_fails("\x8E\x52\x93", 3, "cp932", -1);      /* lead byte cut off at EOF */
	assert_fails("\xFF\xFF\xFF", 3, NULL, -1);         /* neither UTF-8 nor CP932 */
}

static void unknown_charset_is_reported(void **state)
{
	(void)state;
	assert_fails("abc", 3, "latin-9000", -2);
	assert_fails("abc", 3, "euc-jp", -2);
	assert_fails("abc", 3, "utf-16", -2);
}

static void empty_input_gives_empty_string(void **state)
{
	(void)state;
	assert_decodes("", 0, NULL, "");
	assert_decodes("", 0, "cp932", "");
	assert_decodes(NULL, 0, "utf-8", "");
}

static void embedded_nul_is_kept_and_counted(void **state)
{
	char *out = NULL;
	size_t out_len = 0;
	(void)state;
	assert_int_equal(kz_charset_to_utf8("a\0b", 3, "cp932", &out, &out_len), 0);
	assert_int_equal(out_len, 3);
	assert_memory_equal(out, "a\0b", 4);
	free(out);
}

static void out_len_may_be_null(void **state)
{
	char *out = NULL;
	(void)state;
	assert_int_equal(kz_charset_to_utf8("\x8E\x52", 2, NULL, &out, NULL), 0);
	assert_string_equal(out, "山");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cp932_kanji_decodes_to_utf8),
		cmocka_unit_test(every_sjis_spelling_decodes_as_cp932),
		cmocka_unit_test(cp932_nec_extension_chars_decode),
		cmocka_unit_test(cp932_halfwidth_katakana_grows_output_buffer),
		cmocka_unit_test(detect_picks_utf8_when_valid),
		cmocka_unit_test(detect_falls_back_to_cp932),
		cmocka_unit_test(utf8_bom_is_stripped),
		cmocka_unit_test(explicit_utf8_rejects_invalid_bytes),
		cmocka_unit_test(cp932_undecodable_bytes_fail),
		cmocka_unit_test(unknown_charset_is_reported),
		cmocka_unit_test(empty_input_gives_empty_string),
		cmocka_unit_test(embedded_nul_is_kept_and_counted),
		cmocka_unit_test(out_len_may_be_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
