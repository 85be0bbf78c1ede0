/* csv.c — RFC 4180 CSV/TSV reader (quotes, embedded newlines, CR/LF/CRLF) and field writer. */
#include "base/csv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

struct csv {
	const char *p, *end;
	char sep;
	size_t line;   /* 1-based line of p */
	kz_buf rec;    /* the current record's fields, each NUL-terminated */
	size_t *offs;  /* start of each field in rec */
	char **fields; /* pointers into rec.data, built when the record is done */
	size_t nfields;
	size_t field_line; /* line the current field starts on */
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int csv_error(struct csv *c, const char *fmt, ...)
{
	va_list ap;
	if (!c->err || !c->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int is_eol(char ch)
{
	return ch == '\n' || ch == '\r';
}

/* Step over one CR, LF or CRLF. */
static void skip_eol(struct csv *c)
{
	if (*c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n')
		c->p++;
	c->p++;
	c->line++;
}

/* Would appending `more` bytes push the current field past the cap? */
static int field_too_long(const struct csv *c, size_t more)
{
	return c->rec.len - c->offs[c->nfields] + more > KZ_CSV_MAX_FIELD;
}

static int nul_error(struct csv *c)
{
	return csv_error(c, "line %zu: the data contains a NUL byte; save the file as CSV "
	                    "(UTF-8 or Shift_JIS), not as UTF-16 text",
	                 c->line);
}

static int long_error(struct csv *c)
{
	return csv_error(c, "line %zu: field %zu is longer than %zu bytes", c->field_line,
	                 c->nfields + 1, KZ_CSV_MAX_FIELD);
}

/* An unquoted field: everything up to the separator or line end, verbatim. */
static int read_plain(struct csv *c)
{
	const char *q = c->p;
	while (q < c->end && *q != c->sep && !is_eol(*q)) {
		if (*q == '\0')
			return nul_error(c);
		q++;
	}
	if (field_too_long(c, (size_t)(q - c->p)))
		return long_error(c);
	kz_buf_add(&c->rec, c->p, (size_t)(q - c->p));
	c->p = q;
	return 0;
}

/* A quoted field; c->p is on the opening quote. "" is a literal quote and line
 * breaks are kept as they are. */
static int read_quoted(struct csv *c)
{
	c->p++;
	for (;;) {
		const char *q = c->p;
		while (q < c->end && *q != '"' && !is_eol(*q) && *q != '\0')
			q++;
		if (field_too_long(c, (size_t)(q - c->p)))
			return long_error(c);
		kz_buf_add(&c->rec, c->p, (size_t)(q - c->p));
		c->p = q;
		if (q == c->end)
			return csv_error(c, "line %zu: quoted field is never closed; add the closing \" "
			                    "or double the quotes inside the field (\"\")",
			                 c->field_line);
		if (*q == '\0')
			return nul_error(c);
		if (is_eol(*q)) {
			const char *from = c->p;
			skip_eol(c);
			kz_buf_add(&c->rec, from, (size_t)(c->p - from));
			if (field_too_long(c, 0))
				return long_error(c);
			continue;
		}
		/* a quote: doubled means literal, otherwise the field ends */
		if (q + 1 < c->end && q[1] == '"') {
			kz_buf_addc(&c->rec, '"');
			c->p = q + 2;
			if (field_too_long(c, 0))
				return long_error(c);
			continue;
		}
		c->p = q + 1;
		if (c->p < c->end && *c->p != c->sep && !is_eol(*c->p))
			return csv_error(c, "line %zu: unexpected text after the closing quote of field "
			                    "%zu; quote the whole field and double any quote inside it",
			                 c->line, c->nfields + 1);
		return 0;
	}
}

/* Read one record into c->rec. Returns 0 (record ready), 1 (end of data), -1. */
static int read_record(struct csv *c, size_t *row_no)
{
	size_t i;
	while (c->p < c->end && is_eol(*c->p))
		skip_eol(c); /* fully empty lines carry no record */
	if (c->p == c->end)
		return 1;
	*row_no = c->line;
	kz_buf_reset(&c->rec);
	c->nfields = 0;
	for (;;) {
		int r;
		if (c->nfields == KZ_CSV_MAX_FIELDS)
			return csv_error(c, "line %zu: more than %d fields in one record", *row_no,
			                 KZ_CSV_MAX_FIELDS);
		c->offs[c->nfields] = c->rec.len;
		c->field_line = c->line;
		if (c->p < c->end && *c->p == '"')
			r = read_quoted(c);
		else
			r = read_plain(c);
		if (r < 0)
			return -1;
		kz_buf_addc(&c->rec, '\0');
		if (c->rec.overflow)
			return csv_error(c, "line %zu: record is too large (or out of memory)", *row_no);
		c->nfields++;
		if (c->p == c->end)
			break;
		if (*c->p == c->sep) {
			c->p++;
			continue;
		}
		skip_eol(c);
		break;
	}
	for (i = 0; i < c->nfields; i++)
		c->fields[i] = c->rec.data + c->offs[i];
	return 0;
}

/* Tab-separated when the first line has tabs and no commas. */
static char detect_sep(const char *p, const char *end)
{
	int tabs = 0;
	for (; p < end && !is_eol(*p); p++) {
		if (*p == ',')
			return ',';
		if (*p == '\t')
			tabs = 1;
	}
	return tabs ? '\t' : ',';
}

int kz_csv_parse(const char *data, size_t len, kz_csv_row_fn fn, void *ud, char *err,
                 size_t errlen)
{
	struct csv c;
	size_t row_no = 0;
	int rc = 0;
	memset(&c, 0, sizeof(c));
	c.err = err;
	c.errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
	if (!data || !len)
		return 0;
	c.p = data;
	c.end = data + len;
	c.line = 1;
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		c.p += 3;
	c.sep = detect_sep(c.p, c.end);
	kz_buf_init(&c.rec, 0);
	c.offs = malloc(KZ_CSV_MAX_FIELDS * sizeof(*c.offs));
	c.fields = malloc(KZ_CSV_MAX_FIELDS * sizeof(*c.fields));
	if (!c.offs || !c.fields) {
		rc = csv_error(&c, "out of memory");
		goto out;
	}
	for (;;) {
		int r = read_record(&c, &row_no);
		if (r < 0) {
			rc = -1;
			break;
		}
		if (r > 0)
			break;
		rc = fn(ud, row_no, c.fields, c.nfields);
		if (rc)
			break;
	}
out:
	kz_buf_release(&c.rec);
	free(c.offs);
	free(c.fields);
	return rc;
}

static int is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Spreadsheets run a cell as a formula when it starts with = + - @ (and some
 * also with TAB or CR). "+81..." and "-5" are numbers, so leave those alone;
 * a lone "-" or "+" is harmless too. */
static int needs_formula_guard(const char *s)
{
	switch (s[0]) {
	case '=':
	case '@':
	case '\t':
	case '\r':
		return 1;
	case '+':
	case '-':
		return s[1] != '\0' && !(s[1] >= '0' && s[1] <= '9');
	default:
		return 0;
	}
}

int kz_csv_write_field(kz_buf *b, const char *s)
{
	size_t n;
	int guard, quote;
	if (!s)
		s = "";
	n = strlen(s);
	guard = needs_formula_guard(s);
	quote = strpbrk(s, ",\"\r\n") != NULL || (n && (is_blank(s[0]) || is_blank(s[n - 1])));
	if (quote)
		kz_buf_addc(b, '"');
	if (guard)
		kz_buf_addc(b, '\'');
	for (; *s; s++) {
		if (*s == '"')
			kz_buf_addc(b, '"');
		kz_buf_addc(b, *s);
	}
	if (quote)
		kz_buf_addc(b, '"');
	return b->overflow ? -1 : 0;
}
