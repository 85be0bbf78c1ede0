/* test_import_map.c — unit tests for CSV header mapping and full-name splitting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/import_map.h"
#include "base/banned.h"

static void assert_maps_all(const char *const *headers, size_t n, const char *field)
{
	size_t i;
	for (i = 0; i < n; i++) {
		const char *got = kz_import_field_for_header(headers[i]);
		if (!got || strcmp(got, field) != 0)
			fail_msg("header \"%s\" mapped to %s, want %s", headers[i], got ? got : "NULL",
			         field);
	}
}

#define MAPS_ALL(field, ...)                                                                  \
	do {                                                                                  \
		static const char *const h_[] = {__VA_ARGS__};                                \
		assert_maps_all(h_, sizeof(h_) / sizeof(h_[0]), field);                       \
	} while (0)

static void email_headers_map_to_email(void **state)
{
	(void)state;
	MAPS_ALL("email", "メール", "メールアドレス", "Eメール", "E-mail", "Email",
	         "email address", "mail", "EMAIL", "Ｅメール", "ﾒｰﾙｱﾄﾞﾚｽ", "e-mail address");
}

static void name_part_headers_map_to_last_and_first(void **state)
{
	(void)state;
	MAPS_ALL("last_name", "姓", "last name", "lastname", "Last Name", "surname",
	         "family name", "last_name");
	MAPS_ALL("first_name", "名", "first name", "firstname", "First Name", "given name",
	         "first_name");
}

static void full_name_headers_map_to_name(void **state)
{
	(void)state;
	MAPS_ALL("name", "氏名", "名前", "お名前", "name", "Name", "full name", "Full Name");
}

static void kana_headers_map_to_kana_fields(void **state)
{
	(void)state;
	MAPS_ALL("last_name_kana", "セイ", "姓（カナ）", "姓(カナ)", "姓(フリガナ)",
	         "姓（ふりがな）", "last name kana", "ｾｲ");
	MAPS_ALL("first_name_kana", "メイ", "名（カナ）", "名(フリガナ)", "first name kana");
	MAPS_ALL("name_kana", "フリガナ", "ふりがな", "カナ", "ﾌﾘｶﾞﾅ");
}

static void contact_detail_headers_map(void **state)
{
	(void)state;
	MAPS_ALL("phone", "電話", "電話番号", "TEL", "tel", "ＴＥＬ", "phone", "Phone Number",
	         "携帯電話", "mobile");
	MAPS_ALL("company", "会社名", "会社", "企業名", "勤務先", "company", "Company Name",
	         "organization");
	MAPS_ALL("company_domain", "会社ドメイン", "website", "domain", "Website");
	MAPS_ALL("tags", "タグ", "tags", "tag", "Tags");
	MAPS_ALL("owner", "担当者", "owner", "Owner");
	MAPS_ALL("timezone", "タイムゾーン", "timezone", "Time Zone");
	MAPS_ALL("locale", "言語", "locale", "language", "Language");
}

static void headers_are_trimmed_before_matching(void **state)
{
	(void)state;
	MAPS_ALL("email", "  メールアドレス  ", "\tEmail\r\n", "　メール　", "\xEF\xBB\xBF" "email");
}

static void unknown_headers_map_to_null(void **state)
{
	(void)state;
	assert_null(kz_import_field_for_header("備考"));
	assert_null(kz_import_field_for_header("notes"));
	assert_null(kz_import_field_for_header("emails"));
	assert_null(kz_import_field_for_header(""));
	assert_null(kz_import_field_for_header("   "));
	assert_null(kz_import_field_for_header(NULL));
	assert_null(kz_import_field_for_header("\xFF" "email"));
}

/* ---- full-name splitting ---- */

static void assert_split(const char *full, const char *want_last, const char *want_first)
{
	char *last = (char *)0x1, *first = (char *)0x1;
	kz_split_full_name(full, &last, &first);
	if (want_last) {
		assert_non_null(last);
		assert_string_equal(last, want_last);
	} else {
		assert_null(last);
	}
	if (want_first) {
		assert_non_null(first);
		assert_string_equal(first, want_first);
	} else {
		assert_null(first);
	}
	free(last);
	free(first);
}

static void japanese_name_is_family_name_first(void **state)
{
	(void)state;
	assert_split("山田 太郎", "山田", "太郎");
	assert_split("やまだ たろう", "やまだ", "たろう");
	assert_split("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ", "タロウ");
}

static void fullwidth_space_splits_a_japanese_name(void **state)
{
	(void)state;
	assert_split("山田　太郎", "山田", "太郎");
	assert_split("　山田　　太郎　", "山田", "太郎");
}

static void japanese_name_splits_on_first_space(void **state)
{
	(void)state;
	assert_split("山田 太郎 次郎", "山田", "太郎 次郎");
}

static void latin_name_is_given_name_first(void **state)
{
	(void)state;
	assert_split("Taro Yamada", "Yamada", "Taro");
	assert_split("  Taro   Yamada ", "Yamada", "Taro");
	assert_split("José García", "García", "José");
}

static void latin_middle_name_stays_with_given_name(void **state)
{
	(void)state;
	assert_split("Mary Ann Smith", "Smith", "Mary Ann");
}

static void name_without_space_is_all_last_name(void **state)
{
	(void)state;
	assert_split("山田太郎", "山田太郎", NULL);
	assert_split("Madonna", "Madonna", NULL);
}

static void empty_or_invalid_name_gives_nothing(void **state)
{
	(void)state;
	assert_split("", NULL, NULL);
	assert_split("　 ", NULL, NULL);
	assert_split(NULL, NULL, NULL);
	assert_split("山田\xFF 太郎", NULL, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(email_headers_map_to_email),
		cmocka_unit_test(name_part_headers_map_to_last_and_first),
		cmocka_unit_test(full_name_headers_map_to_name),
		cmocka_unit_test(kana_headers_map_to_kana_fields),
		cmocka_unit_test(contact_detail_headers_map),
		cmocka_unit_test(headers_are_trimmed_before_matching),
		cmocka_unit_test(unknown_headers_map_to_null),
		cmocka_unit_test(japanese_name_is_family_name_first),
		cmocka_unit_test(fullwidth_space_splits_a_japanese_name),
		cmocka_unit_test(japanese_name_splits_on_first_space),
		cmocka_unit_test(latin_name_is_given_name_first),
		cmocka_unit_test(latin_middle_name_stays_with_given_name),
		cmocka_unit_test(name_without_space_is_all_last_name),
		cmocka_unit_test(empty_or_invalid_name_gives_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
