/* test_csv.c — unit tests for the CSV/TSV reader and the injection-safe field writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/csv.h"
#include "base/banned.h"

/* Collects records as "row_no:field|field|..." lines so a whole parse can be
 * compared against one expected string. */
struct rows {
	kz_buf out;
	size_t nrecords;
	size_t max_nfields;
	size_t stop_after; /* 0: never stop */
};

static int collect(void *ud, size_t row_no, char **fields, size_t nfields)
{
	struct rows *r = ud;
	size_t i;
	kz_buf_addf(&r->out, "%zu:", row_no);
	for (i = 0; i < nfields; i++) {
		assert_non_null(fields[i]);
		kz_buf_addf(&r->out, "%s%s", i ? "|" : "", fields[i]);
	}
	kz_buf_addc(&r->out, '\n');
	r->nrecords++;
	if (nfields > r->max_nfields)
		r->max_nfields = nfields;
	if (r->stop_after && r->nrecords == r->stop_after)
		return 7;
	return 0;
}

static int count_only(void *ud, size_t row_no, char **fields, size_t nfields)
{
	struct rows *r = ud;
	(void)row_no;
	(void)fields;
	r->nrecords++;
	if (nfields > r->max_nfields)
		r->max_nfields = nfields;
	return 0;
}

static void assert_parses_n(const char *data, size_t len, const char *want)
{
	struct rows r;
	char err[256] = "untouched";
	memset(&r, 0, sizeof(r));
	kz_buf_init(&r.out, 0);
	assert_int_equal(kz_csv_parse(data, len, collect, &r, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(r.out.data, want);
	kz_buf_release(&r.out);
}

static void assert_parses(const char *data, const char *want)
{
	assert_parses_n(data, strlen(data), want);
}

/* Expects failure; err must contain `needle`. */
static void assert_parse_fails_n(const char *data, size_t len, const char *needle)
{
	struct rows r;
	char err[256] = "";
	memset(&r, 0, sizeof(r));
	kz_buf_init(&r.out, 0);
	assert_int_equal(kz_csv_parse(data, len, collect, &r, err, sizeof(err)), -1);
	if (!strstr(err, needle))
		fail_msg("error \"%s\" lacks \"%s\"", err, needle);
	kz_buf_release(&r.out);
}

static void assert_parse_fails(const char *data, const char *needle)
{
	assert_parse_fails_n(data, strlen(data), needle);
}

/* ---- reading ---- */

static void simple_rows_are_split_on_commas(void **state)
{
	(void)state;
	assert_parses("a,b,c\n1,2,3\n", "1:a|b|c\n2:1|2|3\n");
}

static void last_line_without_newline_is_read(void **state)
{
	(void)state;
	assert_parses("a,b\n1,2", "1:a|b\n2:1|2\n");
	assert_parses("x", "1:x\n");
}

static void crlf_lf_and_cr_line_ends_are_all_accepted(void **state)
{
	(void)state;
	assert_parses("a,b\r\n1,2\r\n", "1:a|b\n2:1|2\n");
	assert_parses("a,b\r1,2\r", "1:a|b\n2:1|2\n");
	assert_parses("a\r\nb\nc\rd", "1:a\n2:b\n3:c\n4:d\n");
}

static void empty_lines_are_skipped_but_counted(void **state)
{
	(void)state;
	assert_parses("\n\na,b\n\n\r\n1,2\n\n", "3:a|b\n6:1|2\n");
	assert_parses("", "");
	assert_parses("\r\n\r\n", "");
}

static void empty_fields_are_kept(void **state)
{
	(void)state;
	assert_parses(",\n", "1:|\n");
	assert_parses("a,,c,\n", "1:a||c|\n");
	assert_parses("\"\"\n", "1:\n");
	assert_parses("a,", "1:a|\n");
}

static void quoted_fields_keep_commas_and_doubled_quotes(void **state)
{
	(void)state;
	assert_parses("\"a,b\",\"say \"\"hi\"\"\",c\n", "1:a,b|say \"hi\"|c\n");
	assert_parses("\"\"\"\"", "1:\"\n");
}

static void quoted_fields_keep_embedded_newlines(void **state)
{
	(void)state;
	assert_parses("name,note\n\"山田\",\"line1\nline2\r\nline3\"\nnext,row\n",
	              "1:name|note\n2:山田|line1\nline2\r\nline3\n5:next|row\n");
}

static void spaces_are_not_trimmed(void **state)
{
	(void)state;
	assert_parses(" a , b \n", "1: a | b \n");
	assert_parses("\"  padded  \",x", "1:  padded  |x\n");
	assert_parses(" \"q\" ,x", "1: \"q\" |x\n"); /* not quoted: quote is not first */
}

static void quote_inside_unquoted_field_is_literal(void **state)
{
	(void)state;
	assert_parses("5\" floppy,x\n", "1:5\" floppy|x\n");
}

static void tab_separated_is_detected_from_first_line(void **state)
{
	(void)state;
	assert_parses("email\tname\na@b.jp\t山田, 太郎\n", "1:email|name\n2:a@b.jp|山田, 太郎\n");
	assert_parses("\"a\tb\"\tc\n", "1:a\tb|c\n");
}

static void tabs_with_commas_on_first_line_mean_csv(void **state)
{
	(void)state;
	assert_parses("a\tb,c\n1\t2,3\n", "1:a\tb|c\n2:1\t2|3\n");
}

static void utf8_bom_is_skipped(void **state)
{
	(void)state;
	assert_parses("\xEF\xBB\xBF" "email,name\n", "1:email|name\n");
	assert_parses("\xEF\xBB\xBF" "email\tname\n", "1:email|name\n");
}

static void callback_can_stop_parsing(void **state)
{
	struct rows r;
	(void)state;
	memset(&r, 0, sizeof(r));
	kz_buf_init(&r.out, 0);
	r.stop_after = 2;
	assert_int_equal(kz_csv_parse("a\nb\nc\nd\n", 8, collect, &r, NULL, 0), 7);
	assert_string_equal(r.out.data, "1:a\n2:b\n");
	kz_buf_release(&r.out);
}

static void length_bounds_the_input(void **state)
{
	(void)state;
	assert_parses_n("a,b\nIGNORED", 4, "1:a|b\n");
	assert_parses_n(NULL, 0, "");
}

static void unterminated_quote_names_its_line(void **state)
{
	(void)state;
	assert_parse_fails("a,b\n1,\"open\n\nmore", "line 2:");
	assert_parse_fails("\"", "never closed");
	assert_parse_fails("x\n\"ab\"\"", "line 2:");
}

static void text_after_closing_quote_is_an_error(void **state)
{
	(void)state;
	assert_parse_fails("a\n\"ab\"cd,e\n", "line 2: unexpected text after the closing quote of field 1");
	assert_parse_fails("x,\"ab\" ,e\n", "field 2");
}

static void nul_byte_is_an_error(void **state)
{
	(void)state;
	assert_parse_fails_n("a\0,b\n", 5, "NUL");
	assert_parse_fails_n("x\n\"a\0\"\n", 6, "line 2:");
}

static void too_many_fields_is_an_error(void **state)
{
	kz_buf b;
	struct rows r;
	int i;
	(void)state;
	kz_buf_init(&b, 0);
	for (i = 0; i < KZ_CSV_MAX_FIELDS; i++)
		kz_buf_adds(&b, i ? ",x" : "x");
	/* exactly the cap is fine */
	memset(&r, 0, sizeof(r));
	assert_int_equal(kz_csv_parse(b.data, b.len, count_only, &r, NULL, 0), 0);
	assert_int_equal(r.max_nfields, KZ_CSV_MAX_FIELDS);
	/* one more is not; a trailing comma adds an empty field */
	kz_buf_addc(&b, ',');
	assert_parse_fails_n(b.data, b.len, "more than 1024 fields");
	kz_buf_release(&b);
}

static void field_of_exactly_one_mib_is_accepted(void **state)
{
	char *data = malloc(KZ_CSV_MAX_FIELD + 8);
	struct rows r;
	(void)state;
	assert_non_null(data);
	/* quoted so the cap check covers the quoted path too */
	data[0] = '"';
	memset(data + 1, 'x', KZ_CSV_MAX_FIELD);
	memcpy(data + 1 + KZ_CSV_MAX_FIELD, "\",y\n", 4);
	memset(&r, 0, sizeof(r));
	assert_int_equal(kz_csv_parse(data, KZ_CSV_MAX_FIELD + 5, count_only, &r, NULL, 0), 0);
	assert_int_equal(r.nrecords, 1);
	assert_int_equal(r.max_nfields, 2);
	free(data);
}

static void huge_field_is_an_error(void **state)
{
	size_t n = KZ_CSV_MAX_FIELD + 1;
	size_t alloc = 2 * n + 4;
	char *data = malloc(alloc);
	(void)state;
	assert_non_null(data);
	memset(data, 'x', n);
	assert_parse_fails_n(data, n, "line 1: field 1 is longer than");
	/* quoted, growing one byte at a time through doubled quotes */
	data[0] = '"';
	memset(data + 1, '"', 2 * n);
	data[2 * n + 1] = '"';
	assert_parse_fails_n(data, 2 * n + 2, "line 1: field 1 is longer than");
	/* quoted, growing through embedded line breaks */
	memset(data + 1, '\n', n);
	data[n + 1] = '"';
	assert_parse_fails_n(data, n + 2, "line 1: field 1 is longer than");
	free(data);
}

static void err_may_be_null_or_tiny(void **state)
{
	struct rows r;
	char err[4] = "zzz";
	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(kz_csv_parse("\"x", 2, count_only, &r, NULL, 0), -1);
	assert_int_equal(kz_csv_parse("\"x", 2, count_only, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "lin");
	assert_int_equal(kz_csv_parse("\"x", 2, count_only, &r, err, 0), -1);
}

/* ---- writing ---- */

static void assert_written(const char *in, const char *want)
{
	kz_buf b;
	kz_buf_init(&b, 0);
	assert_int_equal(kz_csv_write_field(&b, in), 0);
	assert_string_equal(b.data, want);
	kz_buf_release(&b);
}

static void plain_field_is_written_bare(void **state)
{
	(void)state;
	assert_written("taro@example.jp", "taro@example.jp");
	assert_written("山田 太郎", "山田 太郎");
	assert_written("", "");
	assert_written(NULL, "");
}

static void field_with_separator_quote_or_newline_is_quoted(void **state)
{
	(void)state;
	assert_written("a,b", "\"a,b\"");
	assert_written("say \"hi\"", "\"say \"\"hi\"\"\"");
	assert_written("line1\nline2", "\"line1\nline2\"");
	assert_written("cr\rhere", "\"cr\rhere\"");
}

static void field_with_edge_spaces_is_quoted(void **state)
{
	(void)state;
	assert_written(" lead", "\" lead\"");
	assert_written("trail ", "\"trail \"");
	assert_written("in side", "in side");
}

static void formula_like_field_gets_quote_prefix(void **state)
{
	(void)state;
	assert_written("=1+2", "'=1+2");
	assert_written("@SUM(A1)", "'@SUM(A1)");
	assert_written("+cmd", "'+cmd");
	assert_written("-cmd", "'-cmd");
	assert_written("=HYPERLINK(\"x\",\"y\")", "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\"");
	assert_written("\tx", "\"'\tx\"");
}

static void signed_numbers_are_not_prefixed(void **state)
{
	(void)state;
	assert_written("+819012345678", "+819012345678");
	assert_written("-5", "-5");
	assert_written("-", "-");
	assert_written("+", "+");
	assert_written("a=b", "a=b");
}

static void written_fields_read_back_unchanged(void **state)
{
	static const char *const in[] = {"plain", "a,b", "q\"q", "multi\r\nline", " sp ", "", "x"};
	kz_buf b;
	struct rows r;
	size_t i;
	(void)state;
	kz_buf_init(&b, 0);
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		if (i)
			kz_buf_addc(&b, ',');
		assert_int_equal(kz_csv_write_field(&b, in[i]), 0);
	}
	kz_buf_adds(&b, "\r\n");
	memset(&r, 0, sizeof(r));
	kz_buf_init(&r.out, 0);
	assert_int_equal(kz_csv_parse(b.data, b.len, collect, &r, NULL, 0), 0);
	assert_string_equal(r.out.data, "1:plain|a,b|q\"q|multi\r\nline| sp ||x\n");
	kz_buf_release(&r.out);
	kz_buf_release(&b);
}

static void write_reports_buffer_cap(void **state)
{
	kz_buf b;
	(void)state;
	kz_buf_init(&b, 4);
	assert_int_equal(kz_csv_write_field(&b, "abcdef"), -1);
	assert_int_equal(b.overflow, 1);
	kz_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(simple_rows_are_split_on_commas),
		cmocka_unit_test(last_line_without_newline_is_read),
		cmocka_unit_test(crlf_lf_and_cr_line_ends_are_all_accepted),
		cmocka_unit_test(empty_lines_are_skipped_but_counted),
		cmocka_unit_test(empty_fields_are_kept),
		cmocka_unit_test(quoted_fields_keep_commas_and_doubled_quotes),
		cmocka_unit_test(quoted_fields_keep_embedded_newlines),
		cmocka_unit_test(spaces_are_not_trimmed),
		cmocka_unit_test(quote_inside_unquoted_field_is_literal),
		cmocka_unit_test(tab_separated_is_detected_from_first_line),
		cmocka_unit_test(tabs_with_commas_on_first_line_mean_csv),
		cmocka_unit_test(utf8_bom_is_skipped),
		cmocka_unit_test(callback_can_stop_parsing),
		cmocka_unit_test(length_bounds_the_input),
		cmocka_unit_test(unterminated_quote_names_its_line),
		cmocka_unit_test(text_after_closing_quote_is_an_error),
		cmocka_unit_test(nul_byte_is_an_error),
		cmocka_unit_test(too_many_fields_is_an_error),
		cmocka_unit_test(field_of_exactly_one_mib_is_accepted),
		cmocka_unit_test(huge_field_is_an_error),
		cmocka_unit_test(err_may_be_null_or_tiny),
		cmocka_unit_test(plain_field_is_written_bare),
		cmocka_unit_test(field_with_separator_quote_or_newline_is_quoted),
		cmocka_unit_test(field_with_edge_spaces_is_quoted),
		cmocka_unit_test(formula_like_field_gets_quote_prefix),
		cmocka_unit_test(signed_numbers_are_not_prefixed),
		cmocka_unit_test(written_fields_read_back_unchanged),
		cmocka_unit_test(write_reports_buffer_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
