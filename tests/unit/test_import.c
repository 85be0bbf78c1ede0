/* test_import.c — CSV contact import end to end (charset, header mapping, row errors, upsert)
 * into a real SQLite file, and PostgreSQL when KZ_TEST_PG_URL is set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "model/import.h"
#include "store/store.h"
#include "base/banned.h"

#define T0 INT64_C(1795540318000) /* 2026-11-24T17:11:58Z */

/* ---- fixture: a fresh, migrated database with two custom fields per test ---- */

#define TESTDB_PREFIX "kz_test_import"
#include "testdb.h"

typedef struct fx {
	char dir[64];
	char url[600];
	int pg;
	kz_store *s;
	kz_conn *c;
} fx;








static fx *fx_open(int pg)
{
	fx *f = calloc(1, sizeof *f);
	json_t *defs, *d;
	size_t i;
	kz_err e;
	assert_non_null(f);
	f->pg = pg;
	if (pg) {
		if (pg_admin(pg_url, "DROP SCHEMA public CASCADE; CREATE SCHEMA public") < 0)
			fail_msg("cannot reset the PostgreSQL schema");
		snprintf(f->url, sizeof f->url, "%s", pg_url);
	} else {
		snprintf(f->dir, sizeof f->dir, "/tmp/kz_import_XXXXXX");
		assert_non_null(mkdtemp(f->dir));
		snprintf(f->url, sizeof f->url, "%s/kizuna.db", f->dir);
	}
	if (kz_store_open(f->url, 2, &f->s, &e) < 0 || kz_store_migrate(f->s, NULL, &e) < 0)
		fail_msg("open %s: %s", f->url, e.message);
	f->c = kz_store_acquire(f->s);
	kz_clock_set_fixed(T0);
	defs = json_loads("[{\"key\":\"plan\",\"label\":\"プラン\",\"type\":\"select\","
			  "\"options\":[\"free\",\"pro\"]},"
			  "{\"key\":\"seats\",\"label\":\"席数\",\"type\":\"number\"},"
			  "{\"key\":\"vip\",\"label\":\"VIP 顧客\",\"type\":\"boolean\"}]",
			  0, NULL);
	assert_non_null(defs);
	json_array_foreach(defs, i, d) {
		int64_t id = 0;
		if (kz_store_field_save(f->c, d, &id, &e) < 0)
			fail_msg("field_save: %s", e.message);
	}
	json_decref(defs);
	return f;
}

static int setup_sqlite(void **state)
{
	*state = fx_open(0);
	return 0;
}

static int setup_pg(void **state)
{
	*state = pg_url[0] ? fx_open(1) : NULL;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	kz_clock_set_fixed(0);
	if (!f)
		return 0;
	kz_store_release(f->c);
	kz_store_close(f->s);
	if (!f->pg)
		remove_tree(f->dir);
	free(f);
	return 0;
}

static fx *need(void **state)
{
	if (!*state)
		skip();
	return *state;
}

/* ---- helpers ---- */

/* Import a NUL-terminated CSV; fail the test when the document is refused. */
static json_t *import_ok(fx *f, const char *csv, const char *charset, const char *map)
{
	json_t *res = NULL;
	kz_err e;
	memset(&e, 0, sizeof e);
	if (kz_import_csv(f->s, csv, strlen(csv), charset, map, "JP", &res, &e) < 0)
		fail_msg("import refused: %d %s %s (%s)", e.status, e.code, e.message, e.field);
	assert_non_null(res);
	return res;
}

static void assert_counts(const json_t *res, int created, int updated, size_t failed)
{
	json_int_t c = json_integer_value(json_object_get(res, "created"));
	json_int_t u = json_integer_value(json_object_get(res, "updated"));
	size_t fl = json_array_size(json_object_get(res, "failed"));
	if (c != created || u != updated || fl != failed) {
		char *s = json_dumps(res, 0);
		fail_msg("result %s, want created=%d updated=%d failed=%zu", s, created, updated,
			 failed);
	}
}

static json_t *contact(fx *f, const char *email)
{
	int64_t id = 0;
	json_t *c = NULL;
	kz_err e;
	if (kz_store_contact_by_email(f->c, email, &id, &e) < 0 || !id)
		fail_msg("no contact %s", email);
	if (kz_store_contact_get(f->c, id, &c, &e) < 0)
		fail_msg("get %s: %s", email, e.message);
	return c;
}

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void assert_json(const json_t *v, const char *want)
{
	json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
	assert_non_null(w);
	if (!json_equal(v, w)) {
		char *got = json_dumps(v, JSON_ENCODE_ANY);
		fail_msg("got %s, want %s", got ? got : "NULL", want);
	}
	json_decref(w);
}

static int64_t count_contacts(fx *f)
{
	int64_t n = -1;
	kz_err e;
	if (kz_store_contact_count(f->c, &n, &e) < 0)
		fail_msg("count: %s", e.message);
	return n;
}

/* ---- tests ---- */

static void utf8_csv_with_japanese_headers_creates_contacts(void **state)
{
	fx *f = need(state);
	json_t *res =
		import_ok(f,
			  "メールアドレス,姓,名,電話番号,会社名,タグ\n"
			  "Taro@Example.JP,山田,太郎,090-1234-5678,株式会社キズナ,展示会;VIP\n"
			  "hanako@example.jp,佐藤,花子,,株式会社キズナ,\n",
			  NULL, NULL);
	json_t *a, *b;
	assert_counts(res, 2, 0, 0);
	assert_json(json_object_get(res, "ignored_columns"), "[]");
	json_decref(res);
	a = contact(f, "taro@example.jp");
	b = contact(f, "hanako@example.jp");
	assert_string_equal(str(a, "last_name"), "山田");
	assert_string_equal(str(a, "first_name"), "太郎");
	assert_string_equal(str(a, "phone"), "+819012345678");
	assert_json(json_object_get(a, "tags"), "[\"VIP\",\"展示会\"]");
	assert_string_equal(str(json_object_get(a, "company"), "name"), "株式会社キズナ");
	assert_true(json_is_null(json_object_get(b, "phone"))); /* empty cell: not set */
	assert_json(json_object_get(b, "tags"), "[]");
	assert_true(json_equal(json_object_get(a, "company_id"), json_object_get(b, "company_id")));
	json_decref(a);
	json_decref(b);
}

/* "メール,氏名,会社名,タグ" and one row with 髙 (an IBM extension only CP932 has) and a
 * half-width katakana company name, as Excel for Japanese saves them. */
static const char cp932_csv[] =
	"\x83\x81\x81[\x83\x8B,\x8E\x81\x96\xBC,\x89\xEF\x8E\xD0\x96\xBC,\x83^\x83O\r\n"
	"cp@example.jp,\xEE\xE0\x8B\xB4 \x88\xEA\x98Y,\x8A\x94\x8E\xAE\x89\xEF\x8E\xD0\xB7\xBD\xDE"
	"\xC5,\x93W\x8E\xA6\x89\xEF;\x83Z\x83~\x83i\x81[\r\n";

static void check_cp932_contact(fx *f)
{
	json_t *c = contact(f, "cp@example.jp");
	assert_string_equal(str(c, "last_name"), "髙橋");
	assert_string_equal(str(c, "first_name"), "一郎");
	assert_string_equal(str(json_object_get(c, "company"), "name"), "株式会社キズナ");
	assert_json(json_object_get(c, "tags"), "[\"セミナー\",\"展示会\"]");
	json_decref(c);
}

static void cp932_bytes_are_detected_and_decoded(void **state)
{
	fx *f = need(state);
	json_t *res = import_ok(f, cp932_csv, NULL, NULL);
	assert_counts(res, 1, 0, 0);
	json_decref(res);
	check_cp932_contact(f);
}

static void cp932_bytes_decode_with_an_explicit_shift_jis_label(void **state)
{
	fx *f = need(state);
	json_t *res = import_ok(f, cp932_csv, "Shift_JIS", NULL);
	assert_counts(res, 1, 0, 0);
	json_decref(res);
	check_cp932_contact(f);
}

static void utf8_bom_does_not_hide_the_first_header(void **state)
{
	fx *f = need(state);
	json_t *res = import_ok(f,
				"\xEF\xBB\xBF"
				"email,last_name\r\nbom@example.jp,Bom\r\n",
				NULL, NULL);
	json_t *c;
	assert_counts(res, 1, 0, 0);
	assert_json(json_object_get(res, "ignored_columns"), "[]");
	json_decref(res);
	c = contact(f, "bom@example.jp");
	assert_string_equal(str(c, "last_name"), "Bom");
	json_decref(c);
}

static void bad_row_in_the_middle_is_reported_with_its_spreadsheet_row(void **state)
{
	fx *f = need(state);
	json_t *res = import_ok(f,
				"email,last_name\n"     /* row 1 */
				"ok1@example.jp,One\n"  /* row 2 */
				"not-an-email,Bad\n"    /* row 3 */
				"ok2@example.jp,Two\n", /* row 4 */
				NULL, NULL);
	json_t *failed = json_object_get(res, "failed"), *row;
	assert_counts(res, 2, 0, 1);
	row = json_array_get(failed, 0);
	assert_int_equal(json_integer_value(json_object_get(row, "row")), 3);
	assert_string_equal(str(row, "field"), "email");
	assert_true(strlen(str(row, "error")) > 0);
	json_decref(res);
	assert_int_equal(count_contacts(f), 2);
	json_decref(contact(f, "ok2@example.jp"));
}

static void row_numbers_count_records_not_lines(void **state)
{
	fx *f = need(state);
	/* a quoted cell spanning two lines is still one spreadsheet row */
	json_t *res = import_ok(f,
				"email,last_name,プラン\n"
				"ok1@example.jp,\"Two\nLines\",pro\n" /* row 2, lines 2-3 */
				"ok2@example.jp,Fine,gold\n",         /* row 3, line 4 */
				NULL, NULL);
	json_t *row;
	assert_counts(res, 1, 0, 1);
	row = json_array_get(json_object_get(res, "failed"), 0);
	assert_int_equal(json_integer_value(json_object_get(row, "row")), 3);
	assert_string_equal(str(row, "field"), "fields.plan");
	json_decref(res);
}

static void row_numbers_count_blank_lines_like_a_spreadsheet(void **state)
{
	fx *f = need(state);
	json_t *res, *row;
	res = import_ok(f,
			"email,last_name\n"    /* row 1 */
			"ok1@example.jp,One\n" /* row 2 */
			"\n"                   /* row 3: empty */
			"broken,Bad\n",        /* row 4 */
			NULL, NULL);
	assert_counts(res, 1, 0, 1);
	row = json_array_get(json_object_get(res, "failed"), 0);
	assert_int_equal(json_integer_value(json_object_get(row, "row")), 4);
	json_decref(res);
}

static void map_overrides_header_guessing(void **state)
{
	fx *f = need(state);
	json_t *res = import_ok(f,
				"連絡先,苗字,Notes,名\n"
				"map@example.jp,Mapped,drop me,Ichiro\n",
				NULL, "連絡先:email,苗字:last_name,名:ignore");
	json_t *c;
	assert_counts(res, 1, 0, 0);
	/* "名" would be first_name, but the map says ignore; Notes matches nothing */
	assert_json(json_object_get(res, "ignored_columns"), "[\"Notes\",\"名\"]");
	json_decref(res);
	c = contact(f, "map@example.jp");
	assert_string_equal(str(c, "last_name"), "Mapped");
	assert_true(json_is_null(json_object_get(c, "first_name")));
	json_decref(c);
}

static void map_can_target_custom_fields_and_names(void **state)
{
	fx *f = need(state);
	json_t *res = import_ok(f,
				"col1,col2,col3\n"
				"m2@example.jp,pro,Yamada Taro\n",
				NULL, "col1:email,col2:fields.plan,col3:name");
	json_t *c;
	assert_counts(res, 1, 0, 0);
	json_decref(res);
	c = contact(f, "m2@example.jp");
	assert_string_equal(str(json_object_get(c, "fields"), "plan"), "pro");
	/* a Latin name: family name last */
	assert_string_equal(str(c, "last_name"), "Taro");
	assert_string_equal(str(c, "first_name"), "Yamada");
	json_decref(c);
}

static void malformed_map_is_refused_before_any_write(void **state)
{
	fx *f = need(state);
	static const char *const bad[] = {"email", "col:", ":email", "col:nickname", "a:email,b"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_t *res = (json_t *)1;
		kz_err e;
		const char *csv = "col,b\nx@example.jp,y\n";
		memset(&e, 0, sizeof e);
		if (kz_import_csv(f->s, csv, strlen(csv), NULL, bad[i], "JP", &res, &e) != -1)
			fail_msg("map \"%s\" was accepted", bad[i]);
		assert_null(res);
		assert_int_equal(e.status, 400);
		assert_string_equal(e.code, "invalid_parameter");
		assert_string_equal(e.field, "map");
	}
	assert_int_equal(count_contacts(f), 0);
}

static void full_name_column_is_split(void **state)
{
	fx *f = need(state);
	json_t *res = import_ok(f,
				"メール,氏名,フリガナ\n"
				"a@example.jp,山田　太郎,ヤマダ タロウ\n"
				"b@example.jp,Mary Ann Smith,\n"
				"c@example.jp,ひとつ,\n",
				NULL, NULL);
	json_t *c;
	assert_counts(res, 3, 0, 0);
	json_decref(res);
	c = contact(f, "a@example.jp");
	assert_string_equal(str(c, "last_name"), "山田");
	assert_string_equal(str(c, "first_name"), "太郎");
	assert_string_equal(str(c, "last_name_kana"), "ヤマダ");
	assert_string_equal(str(c, "first_name_kana"), "タロウ");
	json_decref(c);
	c = contact(f, "b@example.jp");
	assert_string_equal(str(c, "last_name"), "Smith");
	assert_string_equal(str(c, "first_name"), "Mary Ann");
	json_decref(c);
	c = contact(f, "c@example.jp");
	assert_string_equal(str(c, "last_name"), "ひとつ");
	assert_true(json_is_null(json_object_get(c, "first_name")));
	json_decref(c);
}

static void custom_fields_match_by_label_key_or_export_header(void **state)
{
	fx *f = need(state);
	json_t *res = import_ok(f,
				"email,プラン,席数,vip 顧客\n"
				"a@example.jp,pro,40,はい\n",
				NULL, NULL);
	json_t *c;
	assert_counts(res, 1, 0, 0);
	json_decref(res);
	c = contact(f, "a@example.jp");
	assert_json(json_object_get(c, "fields"), "{\"plan\":\"pro\",\"seats\":40,\"vip\":true}");
	json_decref(c);

	res = import_ok(f, "email,plan,fields.seats\nb@example.jp,free,2.5\n", NULL, NULL);
	assert_counts(res, 1, 0, 0);
	json_decref(res);
	c = contact(f, "b@example.jp");
	assert_json(json_object_get(c, "fields"), "{\"plan\":\"free\",\"seats\":2.5}");
	json_decref(c);
}

static void tags_cell_is_split_on_semicolons(void **state)
{
	fx *f = need(state);
	json_t *res = import_ok(f,
				"email,tags\n"
				"a@example.jp,\"セミナー; 展示会 ;VIP\"\n"
				"b@example.jp,one|two\n",
				NULL, NULL);
	json_t *c;
	assert_counts(res, 2, 0, 0);
	json_decref(res);
	c = contact(f, "a@example.jp");
	assert_json(json_object_get(c, "tags"), "[\"VIP\",\"セミナー\",\"展示会\"]");
	json_decref(c);
	c = contact(f, "b@example.jp");
	assert_json(json_object_get(c, "tags"), "[\"one\",\"two\"]");
	json_decref(c);
}

static void second_import_updates_by_email(void **state)
{
	fx *f = need(state);
	json_t *res = import_ok(f, "email,last_name,first_name,tags\nu@example.jp,Old,Keep,a\n",
				NULL, NULL);
	json_t *c;
	assert_counts(res, 1, 0, 0);
	json_decref(res);
	res = import_ok(f,
			"email,last_name,first_name,tags\n"
			"U@EXAMPLE.JP,New,,b\n"
			"new@example.jp,Fresh,,\n",
			NULL, NULL);
	assert_counts(res, 1, 1, 0);
	json_decref(res);
	c = contact(f, "u@example.jp");
	assert_string_equal(str(c, "last_name"), "New");
	assert_string_equal(str(c, "first_name"), "Keep"); /* an empty cell never erases */
	assert_json(json_object_get(c, "tags"), "[\"a\",\"b\"]");
	json_decref(c);
	assert_int_equal(count_contacts(f), 2);
}

static void empty_file_is_refused(void **state)
{
	fx *f = need(state);
	static const char *const empties[] = {"", "\xEF\xBB\xBF", "\n\n\r\n"};
	for (size_t i = 0; i < sizeof empties / sizeof empties[0]; i++) {
		json_t *res = (json_t *)1;
		kz_err e;
		memset(&e, 0, sizeof e);
		if (kz_import_csv(f->s, empties[i], strlen(empties[i]), NULL, NULL, "JP", &res,
				  &e) != -1)
			fail_msg("empty document %zu was accepted", i);
		assert_null(res);
		assert_int_equal(e.status, 422);
		assert_string_equal(e.code, "invalid_csv");
		assert_true(e.message[0] != '\0');
	}
}

static void header_only_imports_nothing(void **state)
{
	fx *f = need(state);
	json_t *res = import_ok(f, "email,last_name\n", NULL, NULL);
	assert_counts(res, 0, 0, 0);
	json_decref(res);
}

static void unusable_charset_is_refused(void **state)
{
	fx *f = need(state);
	json_t *res = (json_t *)1;
	kz_err e;
	const char *csv = "email\nx@example.jp\n";
	memset(&e, 0, sizeof e);
	assert_int_equal(kz_import_csv(f->s, csv, strlen(csv), "EBCDIC", NULL, "JP", &res, &e), -1);
	assert_null(res);
	assert_int_equal(e.status, 415);
	assert_string_equal(e.code, "unsupported_charset");
	assert_string_equal(e.field, "charset");
	assert_non_null(strstr(e.message, "EBCDIC"));
	/* said UTF-8, but is not */
	memset(&e, 0, sizeof e);
	assert_int_equal(
		kz_import_csv(f->s, cp932_csv, strlen(cp932_csv), "utf-8", NULL, "JP", &res, &e),
		-1);
	assert_int_equal(e.status, 422);
	assert_string_equal(e.code, "invalid_encoding");
	assert_string_equal(e.field, "charset");
	/* neither UTF-8 nor CP932: 0xFF is a byte neither encoding uses */
	{
		static const char junk[] = "email\n\xFF\xFF\xFF\n";
		memset(&e, 0, sizeof e);
		assert_int_equal(
			kz_import_csv(f->s, junk, sizeof junk - 1, NULL, NULL, "JP", &res, &e), -1);
		assert_int_equal(e.status, 422);
		assert_string_equal(e.code, "invalid_encoding");
	}
	assert_int_equal(count_contacts(f), 0);
}

static void unknown_columns_are_listed_as_ignored(void **state)
{
	fx *f = need(state);
	json_t *res =
		import_ok(f, "email,好きな食べ物,,last_name\na@example.jp,寿司,x,A\n", NULL, NULL);
	assert_counts(res, 1, 0, 0);
	/* an unnamed column is dropped silently */
	assert_json(json_object_get(res, "ignored_columns"), "[\"好きな食べ物\"]");
	json_decref(res);
}

static void row_without_values_fails_alone(void **state)
{
	fx *f = need(state);
	json_t *res =
		import_ok(f, "email,last_name,memo\n,,only ignored\nz@example.jp,Z,\n", NULL, NULL);
	json_t *row;
	assert_counts(res, 1, 0, 1);
	row = json_array_get(json_object_get(res, "failed"), 0);
	assert_int_equal(json_integer_value(json_object_get(row, "row")), 2);
	assert_true(json_is_null(json_object_get(row, "field")));
	json_decref(res);
}

static void broken_quoting_keeps_the_rows_before_it(void **state)
{
	fx *f = need(state);
	json_t *res =
		import_ok(f, "email,last_name\nok@example.jp,OK\nbad@example.jp,\"never closed\n",
			  NULL, NULL);
	json_t *row;
	assert_counts(res, 1, 0, 1);
	row = json_array_get(json_object_get(res, "failed"), 0);
	assert_non_null(strstr(str(row, "error"), "line 3"));
	json_decref(res);
	assert_int_equal(count_contacts(f), 1);
}

static void owner_column_takes_a_user_id(void **state)
{
	fx *f = need(state);
	json_t *u = json_pack("{s:s, s:s, s:s}", "email", "rep@example.jp", "role", "sales",
			      "password_hash", "x");
	int64_t uid = 0;
	char csv[200];
	kz_err e;
	json_t *res, *c, *row;
	assert_int_equal(kz_store_user_save(f->c, u, &uid, &e), 0);
	json_decref(u);
	snprintf(csv, sizeof csv, "email,担当者\na@example.jp,%lld\nb@example.jp,rep@example.jp\n",
		 (long long)uid);
	res = import_ok(f, csv, NULL, NULL);
	assert_counts(res, 1, 0, 1);
	row = json_array_get(json_object_get(res, "failed"), 0);
	assert_int_equal(json_integer_value(json_object_get(row, "row")), 3);
	assert_string_equal(str(row, "field"), "owner");
	json_decref(res);
	c = contact(f, "a@example.jp");
	assert_int_equal(json_integer_value(json_object_get(c, "owner")), uid);
	json_decref(c);
}

static void tab_separated_file_is_read(void **state)
{
	fx *f = need(state);
	json_t *res = import_ok(f, "メール\t姓\nt1@example.jp\tTab, With Comma\n", NULL, NULL);
	assert_counts(res, 1, 0, 0);
	json_decref(res);
	{
		json_t *c = contact(f, "t1@example.jp");
		assert_string_equal(str(c, "last_name"), "Tab, With Comma");
		json_decref(c);
	}
}

static void large_file_spans_batches_and_keeps_row_numbers(void **state)
{
	fx *f = need(state);
	kz_buf b;
	json_t *res, *failed, *row;
	size_t i;
	kz_buf_init(&b, 0);
	kz_buf_adds(&b, "email,last_name,tags\n");
	for (int r = 2; r <= 1300; r++) {
		if (r == 700 || r == 1201)
			kz_buf_addf(&b, "broken-%d,Bad,x\n", r);
		else
			kz_buf_addf(&b, "r%d@example.jp,Row%d,batch\n", r, r);
	}
	res = import_ok(f, b.data, NULL, NULL);
	kz_buf_release(&b);
	assert_counts(res, 1297, 0, 2);
	failed = json_object_get(res, "failed");
	json_array_foreach(failed, i, row)
		assert_string_equal(str(row, "field"), "email");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(failed, 0), "row")),
			 700);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(failed, 1), "row")),
			 1201);
	json_decref(res);
	assert_int_equal(count_contacts(f), 1297);
	{
		json_t *c = contact(f, "r1300@example.jp");
		assert_string_equal(str(c, "last_name"), "Row1300");
		json_decref(c);
	}
}

/* Every test runs on SQLite, then on PostgreSQL (skipped without KZ_TEST_PG_URL). */
// clang-format off
#define IMPORT_TESTS(X) \
	X(utf8_csv_with_japanese_headers_creates_contacts)            \
	X(cp932_bytes_are_detected_and_decoded)                       \
	X(cp932_bytes_decode_with_an_explicit_shift_jis_label)        \
	X(utf8_bom_does_not_hide_the_first_header)                    \
	X(bad_row_in_the_middle_is_reported_with_its_spreadsheet_row) \
	X(row_numbers_count_records_not_lines)                        \
	X(row_numbers_count_blank_lines_like_a_spreadsheet)           \
	X(map_overrides_header_guessing)                              \
	X(map_can_target_custom_fields_and_names)                     \
	X(malformed_map_is_refused_before_any_write)                  \
	X(full_name_column_is_split)                                  \
	X(custom_fields_match_by_label_key_or_export_header)          \
	X(tags_cell_is_split_on_semicolons)                           \
	X(second_import_updates_by_email)                             \
	X(empty_file_is_refused)                                      \
	X(header_only_imports_nothing)                                \
	X(unusable_charset_is_refused)                                \
	X(unknown_columns_are_listed_as_ignored)                      \
	X(row_without_values_fails_alone)                             \
	X(broken_quoting_keeps_the_rows_before_it)                    \
	X(owner_column_takes_a_user_id)                               \
	X(tab_separated_file_is_read)                                 \
	X(large_file_spans_batches_and_keeps_row_numbers)
// clang-format on

#define ON_SQLITE(fn) cmocka_unit_test_setup_teardown(fn, setup_sqlite, teardown),
#define ON_PG(fn) cmocka_unit_test_setup_teardown(fn, setup_pg, teardown),

int main(void)
{
	const struct CMUnitTest sqlite_tests[] = {IMPORT_TESTS(ON_SQLITE)};
	const struct CMUnitTest pg_tests[] = {IMPORT_TESTS(ON_PG)};
	int failed;
	kz_log_set_level(KZ_LOG_ERROR);
	failed = cmocka_run_group_tests_name("import_sqlite", sqlite_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("import_postgres", pg_tests, pg_group_setup,
					      pg_group_teardown);
	return failed;
}
