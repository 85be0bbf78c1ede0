/* test_json.c — the fast JSON reader and writer (src/base/json.c): what it accepts and
 * rejects, where it says the fault is, and that it prints what jansson prints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/json.h"

/* Read text with both readers; they must agree on acceptance and on the value. */
static json_t *both(const char *text, size_t len)
{
	json_t *theirs = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
	json_t *mine = kz_json_loadb(text, len, KZ_JSON_ANY, NULL);
	assert_int_equal(!theirs, !mine);
	if (mine)
		assert_true(json_equal(mine, theirs));
	json_decref(theirs);
	return mine;
}

static void accepts_what_jansson_accepts(void **state)
{
	static const char *const ok[] = {
		"{}", "[]", " [ 1 , 2 ] ", "{\"a\":{\"b\":[true,false,null]}}", "0", "-0", "1.5",
		"-2.5e-3", "1E+20", "9223372036854775807", "-9223372036854775808", "\"\"",
		"\"caf\xc3\xa9 \xe8\xa3\xbd\xe5\x93\x81 \xf0\x9f\x98\x80\"", "\"\\u00e9\\ud83d\\ude00\"",
		"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "{\"\":1}", "{\"\\u00e9\":1,\"\xc3\xa9x\":2}", "1e-400"};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof ok / sizeof *ok; i++) {
		json_t *v = both(ok[i], strlen(ok[i]));
		assert_non_null(v);
		json_decref(v);
	}
}

static void rejects_what_jansson_rejects(void **state)
{
	static const char *const bad[] = {
		"", " ", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{1:2}", "01", "-", "1.", ".5",
		"1e", "+1", "tru", "nul", "truex", "[1] x", "\"abc", "\"\\x\"", "\"\\u12\"",
		"\"\\u0000\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\xc0\xaf\"",
		"\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xe8\xa3\"", "\"a\tb\"",
		"9223372036854775808", "-9223372036854775809", "1e400", "{\"a\":1,\"a\":2}",
		"[{\"k\":1,\"k\":1}]", "\xef\xbb\xbf{}"};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_null(both(bad[i], strlen(bad[i])));
}

static void a_nul_byte_is_never_json(void **state)
{
	(void)state;
	/* jansson reads "[1\0]" as [1] (its stream takes NUL for a refill mark): we do not */
	assert_null(kz_json_loadb("[1\0]", 4, 0, NULL));
	assert_null(kz_json_loadb("{}\0", 3, 0, NULL));
	assert_null(kz_json_loadb("\"a\0\"", 4, KZ_JSON_ANY, NULL));
}

static void scalars_need_the_any_flag(void **state)
{
	json_t *v;
	kz_json_error e;
	(void)state;
	assert_null(kz_json_loadb("1", 1, 0, &e));
	assert_string_equal(e.text, "'[' or '{' expected");
	v = kz_json_loadb("1", 1, KZ_JSON_ANY, NULL);
	assert_int_equal(json_integer_value(v), 1);
	json_decref(v);
}

static void errors_name_the_byte_line_and_column(void **state)
{
	const char *text = "{\n  \"name\": \"製品\",\n  \"x\": oops\n}";
	kz_json_error e;
	(void)state;
	assert_null(kz_json_loadb(text, strlen(text), 0, &e));
	assert_int_equal(e.position, (size_t)(strstr(text, "oops") - text));
	assert_int_equal(e.line, 3);
	assert_int_equal(e.column, 8);
	assert_string_equal(e.text, "invalid token");
	assert_null(kz_json_loadb("{\"a\":1,\"a\":2}", 13, 0, &e));
	assert_int_equal(e.position, 7);
	assert_string_equal(e.text, "duplicate object key");
}

static void nesting_is_limited(void **state)
{
	size_t n = KZ_JSON_MAX_DEPTH + 1, i;
	char *deep = malloc(2 * n);
	json_t *v;
	(void)state;
	for (i = 0; i < n; i++) {
		deep[i] = '[';
		deep[2 * n - 1 - i] = ']';
	}
	assert_null(kz_json_loadb(deep, 2 * n, 0, NULL));
	v = kz_json_loadb(deep + 1, 2 * n - 2, 0, NULL); /* exactly the limit */
	assert_non_null(v);
	json_decref(v);
	free(deep);
}

static void keys_keep_their_order(void **state)
{
	json_t *v = kz_json_loads("{\"z\":1,\"a\":2,\"m\":3}", 0, NULL);
	char *s = kz_json_dumps(v);
	(void)state;
	assert_string_equal(s, "{\"z\":1,\"a\":2,\"m\":3}");
	free(s);
	json_decref(v);
}

static void prints_what_jansson_prints(void **state)
{
	json_t *v = json_pack("{s:s, s:I, s:f, s:f, s:f, s:f, s:[b,b,n], s:{}, s:s#}", "s",
			      "a\"b\\c\n\x01\x1f/é製", "i", (json_int_t)-42, "r", 1.0, "big", 1e20,
			      "small", 1e-5, "pi", 3.14159, "arr", 1, 0, "o", "nul", "a\0b", (int)3);
	char *mine = kz_json_dumps(v), *theirs = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	(void)state;
	assert_non_null(mine);
	assert_string_equal(mine, theirs);
	assert_non_null(strstr(mine, "\"r\":1.0,\"big\":1e20,\"small\":1.0000000000000001e-5"));
	assert_non_null(strstr(mine, "\\u0001\\u001F/"));
	assert_non_null(strstr(mine, "a\\u0000b"));
	free(mine);
	free(theirs);
	json_decref(v);
}

static void a_full_buffer_fails_whole(void **state)
{
	kz_buf b;
	json_t *v = json_pack("{s:s}", "k", "0123456789012345678901234567890123456789");
	(void)state;
	kz_buf_init(&b, 16);
	kz_buf_adds(&b, "ab");
	assert_int_equal(kz_json_dump(v, &b), -1);
	assert_int_equal(b.len, 2);
	assert_string_equal(b.data, "ab");
	assert_null(kz_json_dumps(NULL));
	kz_buf_release(&b);
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepts_what_jansson_accepts),
		cmocka_unit_test(rejects_what_jansson_rejects),
		cmocka_unit_test(a_nul_byte_is_never_json),
		cmocka_unit_test(scalars_need_the_any_flag),
		cmocka_unit_test(errors_name_the_byte_line_and_column),
		cmocka_unit_test(nesting_is_limited),
		cmocka_unit_test(keys_keep_their_order),
		cmocka_unit_test(prints_what_jansson_prints),
		cmocka_unit_test(a_full_buffer_fails_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
