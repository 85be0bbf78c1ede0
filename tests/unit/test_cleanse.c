/* test_cleanse.c — unit tests for e-mail, phone and name cleansing and search folding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/cleanse.h"
#include "base/banned.h"

/* ---- helpers ---- */

static void assert_email(const char *in, const char *want)
{
	char *out = (char *)0x1;
	int rc = kz_clean_email(in, &out);
	if (want) {
		assert_int_equal(rc, 0);
		assert_non_null(out);
		assert_string_equal(out, want);
	} else {
		assert_int_equal(rc, -1);
		assert_null(out);
	}
	free(out);
}

static void assert_phone(const char *in, const char *cc, const char *want)
{
	char *out = (char *)0x1;
	int rc = kz_clean_phone(in, cc, &out);
	if (want) {
		assert_int_equal(rc, 0);
		assert_non_null(out);
		assert_string_equal(out, want);
	} else {
		assert_int_equal(rc, -1);
		assert_null(out);
	}
	free(out);
}

static void assert_name(const char *in, const char *want)
{
	char *out = kz_clean_name(in);
	if (want) {
		assert_non_null(out);
		assert_string_equal(out, want);
	} else {
		assert_null(out);
	}
	free(out);
}

static void assert_fold(const char *in, const char *want)
{
	char *out = kz_fold_search(in);
	if (want) {
		assert_non_null(out);
		assert_string_equal(out, want);
	} else {
		assert_null(out);
	}
	free(out);
}

/* ---- kz_utf8_valid ---- */

static void utf8_valid_accepts_ascii_and_multibyte(void **state)
{
	(void)state;
	assert_int_equal(kz_utf8_valid("", 0), 1);
	assert_int_equal(kz_utf8_valid("abc", 3), 1);
	assert_int_equal(kz_utf8_valid("\xC3\xA9", 2), 1);             /* é */
	assert_int_equal(kz_utf8_valid("山田", strlen("山田")), 1);
	assert_int_equal(kz_utf8_valid("\xF0\x9F\x98\x80", 4), 1);     /* U+1F600 */
	assert_int_equal(kz_utf8_valid("\xF4\x8F\xBF\xBF", 4), 1);     /* U+10FFFF */
	assert_int_equal(kz_utf8_valid("\xED\x9F\xBF", 3), 1);         /* U+D7FF */
	assert_int_equal(kz_utf8_valid("\xEE\x80\x80", 3), 1);         /* U+E000 */
	assert_int_equal(kz_utf8_valid(NULL, 0), 1);
}

static void utf8_valid_rejects_overlongs(void **state)
{
	(void)state;
	assert_int_equal(kz_utf8_valid("\xC0\xAF", 2), 0);
	assert_int_equal(kz_utf8_valid("\xC1\xBF", 2), 0);
	assert_int_equal(kz_utf8_valid("\xE0\x80\xAF", 3), 0);
	assert_int_equal(kz_utf8_valid("\xE0\x9F\xBF", 3), 0);
	assert_int_equal(kz_utf8_valid("\xF0\x80\x80\xAF", 4), 0);
	assert_int_equal(kz_utf8_valid("\xF0\x8F\xBF\xBF", 4), 0);
}

static void utf8_valid_rejects_surrogates_and_above_max(void **state)
{
	(void)state;
	assert_int_equal(kz_utf8_valid("\xED\xA0\x80", 3), 0); /* U+D800 */
	assert_int_equal(kz_utf8_valid("\xED\xBF\xBF", 3), 0); /* U+DFFF */
	assert_int_equal(kz_utf8_valid("\xF4\x90\x80\x80", 4), 0); /* U+110000 */
	assert_int_equal(kz_utf8_valid("\xF5\x80\x80\x80", 4), 0);
	assert_int_equal(kz_utf8_valid("\xFF", 1), 0);
	assert_int_equal(kz_utf8_valid("\xFE", 1), 0);
}

static void utf8_valid_rejects_truncated_and_stray_bytes(void **state)
{
	(void)state;
	assert_int_equal(kz_utf8_valid("\x80", 1), 0);
	assert_int_equal(kz_utf8_valid("a\xBF", 2), 0);
	assert_int_equal(kz_utf8_valid("\xC3", 1), 0);
	assert_int_equal(kz_utf8_valid("\xE5\xB1", 2), 0);
	assert_int_equal(kz_utf8_valid("\xF0\x9F\x98", 3), 0);
	assert_int_equal(kz_utf8_valid("\xE5\x41\xB1", 3), 0);
	assert_int_equal(kz_utf8_valid("\xC3\xC3", 2), 0);
	/* only the first len bytes count */
	assert_int_equal(kz_utf8_valid("\xC3\xA9", 1), 0);
	assert_int_equal(kz_utf8_valid("ab\xFF", 2), 1);
}

static void utf8_valid_accepts_embedded_nul(void **state)
{
	(void)state;
	assert_int_equal(kz_utf8_valid("a\0b", 3), 1);
}

/* ---- e-mail ---- */

static void email_plain_address_is_kept(void **state)
{
	(void)state;
	assert_email("taro@example.jp", "taro@example.jp");
	assert_email("a.b+tag@mail.example.co.jp", "a.b+tag@mail.example.co.jp");
	assert_email("x@a-b.io", "x@a-b.io");
}

static void email_fullwidth_is_folded_to_ascii(void **state)
{
	(void)state;
	assert_email("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ", "taro@example.jp");
	assert_email("ＴＡＲＯ＠ＥＸＡＭＰＬＥ．ＪＰ", "taro@example.jp");
}

static void email_is_lowercased(void **state)
{
	(void)state;
	assert_email("Taro.Yamada@Example.JP", "taro.yamada@example.jp");
}

static void email_ascii_and_unicode_spaces_are_trimmed(void **state)
{
	(void)state;
	assert_email("  taro@example.jp\t\r\n", "taro@example.jp");
	assert_email("\xE3\x80\x80taro@example.jp\xE3\x80\x80", "taro@example.jp"); /* U+3000 */
	assert_email("\xC2\xA0taro@example.jp\xE2\x80\x83", "taro@example.jp");     /* NBSP, em space */
	assert_email("\xEF\xBB\xBF\xE2\x80\x8Btaro@example.jp\xE2\x80\x8B", "taro@example.jp");
}

static void email_empty_or_blank_is_rejected(void **state)
{
	(void)state;
	assert_email("", NULL);
	assert_email("   ", NULL);
	assert_email("\xE3\x80\x80\t", NULL);
	assert_email(NULL, NULL);
}

static void email_needs_exactly_one_at(void **state)
{
	(void)state;
	assert_email("taro.example.jp", NULL);
	assert_email("taro@@example.jp", NULL);
	assert_email("ta@ro@example.jp", NULL);
	assert_email("@example.jp", NULL);
	assert_email("taro@", NULL);
}

static void email_local_part_dots_are_checked(void **state)
{
	(void)state;
	assert_email(".taro@example.jp", NULL);
	assert_email("taro.@example.jp", NULL);
	assert_email("ta..ro@example.jp", NULL);
	assert_email("t.a.r.o@example.jp", "t.a.r.o@example.jp");
}

static void email_local_part_allows_rfc_specials(void **state)
{
	(void)state;
	assert_email("!#$%&'*+/=?^_`{|}~-@example.jp", "!#$%&'*+/=?^_`{|}~-@example.jp");
	assert_email("ta ro@example.jp", NULL);
	assert_email("ta\"ro@example.jp", NULL);
	assert_email("ta(ro)@example.jp", NULL);
	assert_email("ta,ro@example.jp", NULL);
	assert_email("太郎@example.jp", NULL);
}

static void email_local_part_length_is_capped_at_64(void **state)
{
	char in[128];
	(void)state;
	memset(in, 'a', 64);
	memcpy(in + 64, "@example.jp", sizeof("@example.jp"));
	assert_email(in, in);
	memset(in, 'a', 65);
	memcpy(in + 65, "@example.jp", sizeof("@example.jp"));
	assert_email(in, NULL);
}

static void email_total_length_is_capped_at_254(void **state)
{
	/* 1 + 1 + (3 labels of 63 + dots) + ".jp" ... built to an exact length */
	char in[300];
	size_t n;
	(void)state;
	memcpy(in, "a@", 2);
	n = 2;
	while (n + 64 < 251) {
		memset(in + n, 'b', 63);
		in[n + 63] = '.';
		n += 64;
	}
	while (n < 251)
		in[n++] = 'c';
	memcpy(in + n, ".jp", 4);
	assert_int_equal(strlen(in), 254);
	assert_email(in, in);
	memmove(in + 3, in + 2, strlen(in + 2) + 1);
	in[2] = 'd';
	assert_int_equal(strlen(in), 255);
	assert_email(in, NULL);
}

static void email_domain_needs_a_dot(void **state)
{
	(void)state;
	assert_email("taro@localhost", NULL);
	assert_email("taro@example.", NULL);
	assert_email("taro@.example.jp", NULL);
	assert_email("taro@example..jp", NULL);
}

static void email_domain_labels_are_checked(void **state)
{
	char in[128];
	(void)state;
	assert_email("taro@-example.jp", NULL);
	assert_email("taro@example-.jp", NULL);
	assert_email("taro@exa_mple.jp", NULL);
	assert_email("taro@exa mple.jp", NULL);
	assert_email("taro@例え.jp", NULL);
	assert_email("taro@[127.0.0.1]", NULL);
	memcpy(in, "t@", 2);
	memset(in + 2, 'x', 64);
	memcpy(in + 66, ".jp", 4);
	assert_email(in, NULL); /* a 64-byte label */
	memmove(in + 2, in + 3, strlen(in + 3) + 1);
	assert_email(in, in); /* 63 is fine */
}

static void email_invalid_utf8_is_rejected(void **state)
{
	(void)state;
	assert_email("taro\xFF@example.jp", NULL);
	assert_email("taro@example.jp\xC3", NULL);
	assert_email("\xED\xA0\x80taro@example.jp", NULL);
}

/* ---- phone ---- */

static void phone_japanese_mobile_gets_country_code(void **state)
{
	(void)state;
	assert_phone("090-1234-5678", "JP", "+819012345678");
	assert_phone("09012345678", "jp", "+819012345678");
}

static void phone_japanese_landline_drops_trunk_zero(void **state)
{
	(void)state;
	assert_phone("03-1234-5678", "JP", "+81312345678");
	assert_phone("(03) 1234-5678", "JP", "+81312345678");
	assert_phone("0120-123-456", "JP", "+81120123456");
}

static void phone_international_prefix_keeps_given_country(void **state)
{
	(void)state;
	assert_phone("+81 90 1234 5678", "JP", "+819012345678");
	assert_phone("+81 90 1234 5678", NULL, "+819012345678");
	assert_phone("+81 90 1234 5678", "US", "+819012345678");
	assert_phone("0081-90-1234-5678", "US", "+819012345678");
	assert_phone("+1 (415) 555-2671", "JP", "+14155552671");
	assert_phone("+33 1 23 45 67 89", NULL, "+33123456789");
}

static void phone_international_with_trunk_zero_drops_it(void **state)
{
	(void)state;
	assert_phone("+81 090-1234-5678", NULL, "+819012345678");
	assert_phone("+44 (0)20 7946 0958", NULL, "+442079460958");
}

static void phone_national_number_starting_with_zero_is_rejected(void **state)
{
	(void)state;
	/* only one trunk 0 may be dropped; cleaning twice must not drop another */
	assert_phone("+49 009-134-5678", NULL, NULL);
	assert_phone("+81 0012 3456 7890", NULL, NULL);
	assert_phone("+819012345678", NULL, "+819012345678");
}

static void phone_unknown_country_code_passes_through(void **state)
{
	(void)state;
	assert_phone("+39 06 1234 5678", NULL, "+390612345678"); /* Italy keeps its 0 */
}

static void phone_fullwidth_digits_and_dashes_are_folded(void **state)
{
	(void)state;
	assert_phone("０９０－１２３４－５６７８", "JP", "+819012345678");
	assert_phone("090ー1234ー5678", "JP", "+819012345678");    /* U+30FC */
	assert_phone("090‐1234‐5678", "JP", "+819012345678");      /* U+2010 */
	assert_phone("090―1234―5678", "JP", "+819012345678");      /* U+2015 */
	assert_phone("090−1234−5678", "JP", "+819012345678");      /* U+2212 */
	assert_phone("090ｰ1234ｰ5678", "JP", "+819012345678");      /* U+FF70 */
	assert_phone("＋８１　９０　１２３４　５６７８", NULL, "+819012345678");
	assert_phone("（０３）１２３４．５６７８", "JP", "+81312345678");
}

static void phone_us_number_accepts_optional_trunk_one(void **state)
{
	(void)state;
	assert_phone("(415) 555-2671", "US", "+14155552671");
	assert_phone("1-415-555-2671", "US", "+14155552671");
	assert_phone("415.555.2671", "ca", "+14155552671");
}

static void phone_us_number_needs_ten_digits(void **state)
{
	(void)state;
	assert_phone("555-2671", "US", NULL);
	assert_phone("415-555-26711", "US", NULL);
	assert_phone("+1 415 555 267", NULL, NULL);
	assert_phone("015-555-2671", "US", NULL);
}

static void phone_other_supported_countries_work(void **state)
{
	(void)state;
	assert_phone("020 7946 0958", "GB", "+442079460958");
	assert_phone("030 1234567", "DE", "+49301234567");
	assert_phone("01 23 45 67 89", "FR", "+33123456789");
	assert_phone("010-1234-5678", "KR", "+821012345678");
	assert_phone("0912-345-678", "TW", "+886912345678");
	assert_phone("139 1234 5678", "CN", "+8613912345678");
	assert_phone("6123 4567", "SG", "+6561234567");
	assert_phone("0412 345 678", "AU", "+61412345678");
	assert_phone("098765 43210", "IN", "+919876543210");
}

static void phone_without_known_country_is_rejected(void **state)
{
	(void)state;
	assert_phone("090-1234-5678", NULL, NULL);
	assert_phone("090-1234-5678", "", NULL);
	assert_phone("090-1234-5678", "XX", NULL);
	assert_phone("090-1234-5678", "JPN", NULL);
}

static void phone_with_letters_is_rejected(void **state)
{
	(void)state;
	assert_phone("03-1234-5678 ext. 12", "JP", NULL);
	assert_phone("0120-ABC-DEF", "JP", NULL);
	assert_phone("tel:0312345678", "JP", NULL);
	assert_phone("０９０ｘ", "JP", NULL);
}

static void phone_misplaced_plus_is_rejected(void **state)
{
	(void)state;
	assert_phone("81+9012345678", NULL, NULL);
	assert_phone("++819012345678", NULL, NULL);
	assert_phone("+0819012345678", NULL, NULL);
	assert_phone("+", NULL, NULL);
	assert_phone("00", "JP", NULL);
}

static void phone_length_outside_e164_is_rejected(void **state)
{
	(void)state;
	assert_phone("03-123", "JP", NULL);                  /* too short */
	assert_phone("+81 90 1234 5678 9012", NULL, NULL);   /* 16 digits */
	assert_phone("+81 90 1234 567890", NULL, "+81901234567890"); /* 15 */
	assert_phone("1234567890123456789012345678901234567890123", "JP", NULL);
}

static void phone_empty_or_invalid_utf8_is_rejected(void **state)
{
	(void)state;
	assert_phone("", "JP", NULL);
	assert_phone("  - ", "JP", NULL);
	assert_phone(NULL, "JP", NULL);
	assert_phone("090\xFF" "12345678", "JP", NULL);
}

static void phone_country_known_lists_supported_codes(void **state)
{
	(void)state;
	assert_int_equal(kz_phone_country_known("JP"), 1);
	assert_int_equal(kz_phone_country_known("jp"), 1);
	assert_int_equal(kz_phone_country_known("US"), 1);
	assert_int_equal(kz_phone_country_known("TW"), 1);
	assert_int_equal(kz_phone_country_known("IN"), 1);
	assert_int_equal(kz_phone_country_known("XX"), 0);
	assert_int_equal(kz_phone_country_known("J"), 0);
	assert_int_equal(kz_phone_country_known("JPN"), 0);
	assert_int_equal(kz_phone_country_known(""), 0);
	assert_int_equal(kz_phone_country_known(NULL), 0);
}

/* ---- names ---- */

static void name_is_trimmed_and_spaces_collapsed(void **state)
{
	(void)state;
	assert_name("  Taro   Yamada  ", "Taro Yamada");
	/* plain ASCII (the path without utf8proc) and its edges */
	assert_name("Viewed Pricing", "Viewed Pricing");
	assert_name("Signed Up!~{x}", "Signed Up!~{x}");
	assert_name("a  b", "a b");
	assert_name(" a", "a");
	assert_name("a ", "a");
	assert_name("a\x7f" "b", "ab");
	assert_name("山田\t\n太郎", "山田 太郎");
	assert_name("", "");
	assert_name("   ", "");
}

static void name_fullwidth_space_becomes_ascii_space(void **state)
{
	(void)state;
	assert_name("山田　太郎", "山田 太郎");
	assert_name("　山田　　太郎　", "山田 太郎");
}

static void name_halfwidth_katakana_becomes_fullwidth(void **state)
{
	(void)state;
	assert_name("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ");
	assert_name("ｶﾀｶﾅ", "カタカナ");
	assert_name("ﾊﾟﾝ", "パン");
}

static void name_fullwidth_ascii_becomes_ascii(void **state)
{
	(void)state;
	assert_name("ＴＡＲＯ　Ｙａｍａｄａ", "TARO Yamada");
	assert_name("株式会社ＡＢＣ", "株式会社ABC");
}

static void name_controls_and_invisibles_are_dropped(void **state)
{
	(void)state;
	assert_name("Ta\x01ro", "Taro");
	assert_name("\xEF\xBB\xBFTa\xE2\x80\x8Bro", "Taro");
}

static void name_invalid_utf8_returns_null(void **state)
{
	(void)state;
	assert_name("\xFF", NULL);
	assert_name("山\xE7", NULL);
	assert_name("\xC0\xAF", NULL);
	assert_name(NULL, NULL);
}

/* ---- search folding ---- */

static void fold_kana_variants_fold_to_one_katakana(void **state)
{
	(void)state;
	assert_fold("ﾔﾏﾀﾞ", "ヤマダ");
	assert_fold("やまだ", "ヤマダ");
	assert_fold("ヤマダ", "ヤマダ");
	assert_fold("ゔぁ", "ヴァ");
	assert_fold("\xE3\x81\x81\xE3\x82\x96", "\xE3\x82\xA1\xE3\x83\xB6"); /* U+3041,U+3096 */
}

static void fold_latin_is_casefolded_and_spaces_removed(void **state)
{
	(void)state;
	assert_fold("Taro Yamada", "taroyamada");
	assert_fold("  ＴＡＲＯ　Ｙａｍａｄａ\t", "taroyamada");
	assert_fold("Straße", "strasse");
}

static void fold_keeps_kanji_and_drops_all_whitespace(void **state)
{
	(void)state;
	assert_fold("山田　太郎", "山田太郎");
	assert_fold("山田 \r\n 太郎", "山田太郎");
	assert_fold("", "");
	assert_fold("　", "");
}

static void fold_invalid_utf8_returns_null(void **state)
{
	(void)state;
	assert_fold("\xFF\xFE", NULL);
	assert_fold("abc\xED\xA0\x80", NULL);
	assert_fold(NULL, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(utf8_valid_accepts_ascii_and_multibyte),
		cmocka_unit_test(utf8_valid_rejects_overlongs),
		cmocka_unit_test(utf8_valid_rejects_surrogates_and_above_max),
		cmocka_unit_test(utf8_valid_rejects_truncated_and_stray_bytes),
		cmocka_unit_test(utf8_valid_accepts_embedded_nul),
		cmocka_unit_test(email_plain_address_is_kept),
		cmocka_unit_test(email_fullwidth_is_folded_to_ascii),
		cmocka_unit_test(email_is_lowercased),
		cmocka_unit_test(email_ascii_and_unicode_spaces_are_trimmed),
		cmocka_unit_test(email_empty_or_blank_is_rejected),
		cmocka_unit_test(email_needs_exactly_one_at),
		cmocka_unit_test(email_local_part_dots_are_checked),
		cmocka_unit_test(email_local_part_allows_rfc_specials),
		cmocka_unit_test(email_local_part_length_is_capped_at_64),
		cmocka_unit_test(email_total_length_is_capped_at_254),
		cmocka_unit_test(email_domain_needs_a_dot),
		cmocka_unit_test(email_domain_labels_are_checked),
		cmocka_unit_test(email_invalid_utf8_is_rejected),
		cmocka_unit_test(phone_japanese_mobile_gets_country_code),
		cmocka_unit_test(phone_japanese_landline_drops_trunk_zero),
		cmocka_unit_test(phone_international_prefix_keeps_given_country),
		cmocka_unit_test(phone_international_with_trunk_zero_drops_it),
		cmocka_unit_test(phone_national_number_starting_with_zero_is_rejected),
		cmocka_unit_test(phone_unknown_country_code_passes_through),
		cmocka_unit_test(phone_fullwidth_digits_and_dashes_are_folded),
		cmocka_unit_test(phone_us_number_accepts_optional_trunk_one),
		cmocka_unit_test(phone_us_number_needs_ten_digits),
		cmocka_unit_test(phone_other_supported_countries_work),
		cmocka_unit_test(phone_without_known_country_is_rejected),
		cmocka_unit_test(phone_with_letters_is_rejected),
		cmocka_unit_test(phone_misplaced_plus_is_rejected),
		cmocka_unit_test(phone_length_outside_e164_is_rejected),
		cmocka_unit_test(phone_empty_or_invalid_utf8_is_rejected),
		cmocka_unit_test(phone_country_known_lists_supported_codes),
		cmocka_unit_test(name_is_trimmed_and_spaces_collapsed),
		cmocka_unit_test(name_fullwidth_space_becomes_ascii_space),
		cmocka_unit_test(name_halfwidth_katakana_becomes_fullwidth),
		cmocka_unit_test(name_fullwidth_ascii_becomes_ascii),
		cmocka_unit_test(name_controls_and_invisibles_are_dropped),
		cmocka_unit_test(name_invalid_utf8_returns_null),
		cmocka_unit_test(fold_kana_variants_fold_to_one_katakana),
		cmocka_unit_test(fold_latin_is_casefolded_and_spaces_removed),
		cmocka_unit_test(fold_keeps_kanji_and_drops_all_whitespace),
		cmocka_unit_test(fold_invalid_utf8_returns_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
