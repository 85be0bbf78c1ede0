/* fuzz_csv.c — libFuzzer target: CSV uploads through charset detection, parsing and mapping. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/charset.h"
#include "base/cleanse.h"
#include "base/csv.h"
#include "model/import_map.h"
#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_csv: %s: %s\n", what, detail ? detail : "(null)");
	abort();
}

/* What the round-trip parse saw: the second record of "h1,h2\n<field>,end\n". */
struct echo {
	size_t records;
	char *field;
	int tail_ok;
};

static int echo_row(void *ud, size_t row_no, char **fields, size_t nfields)
{
	struct echo *e = ud;
	(void)row_no;
	if (++e->records == 2 && nfields == 2) {
		e->field = strdup(fields[0]);
		e->tail_ok = strcmp(fields[1], "end") == 0;
	}
	return 0;
}

/* Cells a spreadsheet would run as a formula: = @ TAB CR, or + - not before a digit. */
static int formula_like(const char *s)
{
	if (s[0] == '=' || s[0] == '@' || s[0] == '\t' || s[0] == '\r')
		return 1;
	return (s[0] == '+' || s[0] == '-') && s[1] && !(s[1] >= '0' && s[1] <= '9');
}

/* Write the field as an export would (after a header row, so the separator is
 * detected from the header as on a real file) and read it back. The writer's
 * formula guard prefixes a ' that the reader keeps, so expect that too. */
static void check_round_trip(const char *field)
{
	kz_buf b, want;
	struct echo e = {0, NULL, 0};
	char err[256];
	kz_buf_init(&b, 0);
	kz_buf_init(&want, 0);
	kz_buf_adds(&b, "h1,h2\n");
	if (kz_csv_write_field(&b, field) < 0)
		fail("kz_csv_write_field hit the buffer cap", field);
	kz_buf_adds(&b, ",end\n");
	if (kz_csv_parse(b.data, b.len, echo_row, &e, err, sizeof err) != 0) {
		fprintf(stderr, "written as [%s]: %s\n", b.data, err);
		fail("a written field does not parse", field);
	}
	if (formula_like(field))
		kz_buf_addc(&want, '\'');
	kz_buf_adds(&want, field);
	if (e.records != 2 || !e.field || !e.tail_ok || strcmp(e.field, want.data) != 0) {
		fprintf(stderr, "written as [%s], read back [%s]\n", b.data,
			e.field ? e.field : "(no field)");
		fail("a written field reads back differently", field);
	}
	free(e.field);
	kz_buf_release(&want);
	kz_buf_release(&b);
}

static void check_name(const char *cell)
{
	char *last, *first;
	kz_split_full_name(cell, &last, &first);
	if (first && !last)
		fail("kz_split_full_name gave a first name without a last name", cell);
	free(last);
	free(first);
}

static int on_row(void *ud, size_t row_no, char **fields, size_t nfields)
{
	size_t *rows = ud, i;
	if (nfields == 0 || nfields > KZ_CSV_MAX_FIELDS || row_no == 0)
		fail("record with an impossible shape", NULL);
	for (i = 0; i < nfields; i++) {
		if (!fields[i])
			fail("NULL field", NULL);
		if (*rows == 0)
			(void)kz_import_field_for_header(fields[i]);
		check_name(fields[i]);
		check_round_trip(fields[i]);
	}
	(*rows)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = NULL, err[256];
	size_t len = 0, rows = 0;
	/* charset NULL: UTF-8 when valid, else CP932, as for an upload without ?charset= */
	if (kz_charset_to_utf8((const char *)data, size, NULL, &text, &len) != 0) {
		if (text)
			fail("kz_charset_to_utf8 failed but set *out", NULL);
		return 0;
	}
	if (!text || text[len] != '\0' || !kz_utf8_valid(text, len))
		fail("kz_charset_to_utf8 gave no NUL-terminated UTF-8", NULL);
	(void)kz_csv_parse(text, len, on_row, &rows, err, sizeof err);
	free(text);
	return 0;
}
