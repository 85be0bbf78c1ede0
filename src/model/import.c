/* import.c — CSV contact import: charset, header mapping, batched row-by-row upserts. */
#include "model/import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/charset.h"
#include "base/cleanse.h"
#include "base/csv.h"
#include "model/contact.h"
#include "model/import_map.h"

#include "base/banned.h"

#define BATCH 500
#define MAX_FAILED 10000
#define MAX_COLS 1024

typedef struct import_state {
	kz_store *store;
	kz_conn *conn;
	json_t *defs;
	kz_contact_opts opts;
	json_t *overrides; /* column header → field, from ?map= */
	char *cols[MAX_COLS];
	size_t ncols;
	int header_done;
	int in_batch;
	int batch_rows;
	size_t sheet_row; /* the spreadsheet row of the last record (header = 1) */
	size_t next_line; /* the text line where the next record would start without blanks */
	long created, updated;
	json_t *failed, *ignored;
	kz_err fatal;
	int has_fatal;
} import_state;

static const char *const plain_fields[] = {"email",          "first_name", "last_name",
					   "first_name_kana", "last_name_kana", "phone",
					   "company",        "company_domain", "tags",
					   "owner",          "timezone",   "locale",
					   "name",           "name_kana",  NULL};

static int known_target(const char *f)
{
	if (!strcmp(f, "ignore") || !strcmp(f, "-"))
		return 1;
	if (!strncmp(f, "fields.", 7))
		return 1;
	for (int i = 0; plain_fields[i]; i++)
		if (!strcmp(plain_fields[i], f))
			return 1;
	return 0;
}

/* "col:field,col:field" (already URL-decoded) → object. */
static int parse_map(const char *map, json_t **out, kz_err *err)
{
	char *copy, *p;
	*out = json_object();
	if (!map || !*map)
		return 0;
	copy = strdup(map);
	p = copy;
	while (p && *p) {
		char *comma = strchr(p, ','), *colon;
		if (comma)
			*comma = '\0';
		colon = strrchr(p, ':');
		if (!colon || colon == p || !colon[1]) {
			kz_err_set(err, 400, "invalid_parameter", "map",
				   "map must be column:field pairs separated by commas, e.g. "
				   "メール:email,姓:last_name");
			goto fail;
		}
		*colon = '\0';
		if (!known_target(colon + 1)) {
			kz_err_set(err, 400, "invalid_parameter", "map",
				   "map names an unknown field \"%s\"; use email, first_name, last_name, "
				   "first_name_kana, last_name_kana, name, phone, company, "
				   "company_domain, tags, owner, timezone, locale, fields.<key> or ignore",
				   colon + 1);
			goto fail;
		}
		json_object_set_new(*out, p, json_string(colon + 1));
		p = comma ? comma + 1 : NULL;
	}
	free(copy);
	return 0;
fail:
	free(copy);
	json_decref(*out);
	*out = NULL;
	return -1;
}

/* Which field a header names: the map, then well-known headers, then custom fields. */
static char *target_for(import_state *st, const char *header)
{
	const char *t = json_string_value(json_object_get(st->overrides, header));
	const char *known;
	size_t i;
	json_t *d;
	char *fold, buf[96];
	if (t)
		return strdup(t);
	if (known_target(header)) /* our own export's headers: email, last_name, fields.plan */
		return strdup(header);
	known = kz_import_field_for_header(header);
	if (known)
		return strdup(known);
	fold = kz_fold_search(header);
	json_array_foreach(st->defs, i, d)
	{
		const char *key = json_string_value(json_object_get(d, "key"));
		const char *label = json_string_value(json_object_get(d, "label"));
		char *lf = label ? kz_fold_search(label) : NULL;
		int hit = (key && !strcmp(key, header)) || (lf && fold && !strcmp(lf, fold));
		free(lf);
		if (hit) {
			free(fold);
			snprintf(buf, sizeof buf, "fields.%s", key);
			return strdup(buf);
		}
	}
	free(fold);
	return NULL;
}

static int take_header(import_state *st, char **fields, size_t n)
{
	if (n > MAX_COLS)
		n = MAX_COLS;
	for (size_t i = 0; i < n; i++) {
		char *h = kz_clean_name(fields[i]);
		/* strip a BOM that survived charset conversion */
		char *t = h ? target_for(st, h) : NULL;
		if (!t || !strcmp(t, "ignore") || !strcmp(t, "-")) {
			if (h && *h)
				json_array_append_new(st->ignored, json_string(h));
			free(t);
			t = NULL;
		}
		st->cols[i] = t;
		free(h);
	}
	st->ncols = n;
	st->header_done = 1;
	return 0;
}

static json_t *split_list(const char *s)
{
	json_t *a = json_array();
	char *copy = strdup(s), *p = copy;
	while (p && *p) {
		char *sep = strpbrk(p, ";,|");
		if (sep)
			*sep = '\0';
		while (*p == ' ')
			p++;
		if (*p)
			json_array_append_new(a, json_string(p));
		p = sep ? sep + 1 : NULL;
	}
	free(copy);
	return a;
}

static json_t *row_to_input(import_state *st, char **fields, size_t n)
{
	json_t *in = json_object(), *company = NULL, *cf = NULL;
	for (size_t i = 0; i < n && i < st->ncols; i++) {
		const char *t = st->cols[i], *v = fields[i];
		if (!t || !v || !*v)
			continue;
		if (!strcmp(t, "name") || !strcmp(t, "name_kana")) {
			char *last = NULL, *first = NULL;
			int kana = !strcmp(t, "name_kana");
			kz_split_full_name(v, &last, &first);
			if (last)
				json_object_set_new(in, kana ? "last_name_kana" : "last_name",
						    json_string(last));
			if (first)
				json_object_set_new(in, kana ? "first_name_kana" : "first_name",
						    json_string(first));
			free(last);
			free(first);
		} else if (!strcmp(t, "company") || !strcmp(t, "company_domain")) {
			if (!company)
				company = json_object();
			json_object_set_new(company, !strcmp(t, "company") ? "name" : "domain",
					    json_string(v));
		} else if (!strcmp(t, "tags")) {
			json_object_set_new(in, "tags", split_list(v));
		} else if (!strcmp(t, "owner")) {
			char *end;
			long long id = strtoll(v, &end, 10);
			json_object_set_new(in, "owner", *end ? json_string(v) : json_integer(id));
		} else if (!strncmp(t, "fields.", 7)) {
			if (!cf)
				cf = json_object();
			json_object_set_new(cf, t + 7, json_string(v));
		} else {
			json_object_set_new(in, t, json_string(v));
		}
	}
	if (company)
		json_object_set_new(in, "company", company);
	if (cf)
		json_object_set_new(in, "fields", cf);
	return in;
}

static void fail_row(import_state *st, size_t row, const char *msg, const char *field)
{
	if (json_array_size(st->failed) >= MAX_FAILED)
		return;
	json_t *f = json_pack("{s:I, s:s}", "row", (json_int_t)row, "error", msg);
	json_object_set_new(f, "field", field && *field ? json_string(field) : json_null());
	json_array_append_new(st->failed, f);
}

static int end_batch(import_state *st)
{
	kz_err err;
	if (!st->in_batch)
		return 0;
	st->in_batch = 0;
	if (kz_tx_commit(st->conn, &err) < 0) {
		st->fatal = err;
		st->has_fatal = 1;
		return -1;
	}
	return 0;
}

static int on_row(void *ud, size_t row_no, char **fields, size_t n)
{
	import_state *st = ud;
	json_t *in;
	kz_err err;
	int created = 0;
	int64_t id = 0;
	/* Spreadsheets count records and blank lines, not text lines: a quoted cell may span
	 * several lines, while a skipped blank line is still a row of its own. */
	{
		size_t line = row_no, blanks = 0, spanned = 1;
		if (st->next_line && line > st->next_line)
			blanks = line - st->next_line;
		for (size_t i = 0; i < n; i++)
			for (const char *p = fields[i]; p && *p; p++)
				spanned += *p == '\n';
		st->sheet_row += 1 + blanks;
		st->next_line = line + spanned;
		row_no = st->sheet_row;
	}
	if (!st->header_done)
		return take_header(st, fields, n);
	if (!st->in_batch) {
		if (kz_tx_begin(st->conn, 1, &err) < 0) {
			st->fatal = err;
			st->has_fatal = 1;
			return 1;
		}
		st->in_batch = 1;
		st->batch_rows = 0;
	}
	in = row_to_input(st, fields, n);
	if (json_object_size(in) == 0) {
		fail_row(st, row_no, "the row has no values in any imported column", NULL);
	} else if (kz_tx_savepoint(st->conn, &err) < 0) {
		json_decref(in);
		st->fatal = err;
		st->has_fatal = 1;
		return 1;
	} else if (kz_contact_upsert(st->conn, in, &st->opts, &created, &id, &err) < 0) {
		kz_tx_savepoint_rollback(st->conn);
		fail_row(st, row_no, err.message, err.field);
	} else {
		kz_tx_savepoint_release(st->conn, &err);
		if (created)
			st->created++;
		else
			st->updated++;
	}
	json_decref(in);
	if (++st->batch_rows >= BATCH && end_batch(st) < 0)
		return 1;
	return 0;
}

int kz_import_csv(kz_store *s, const char *data, size_t len, const char *charset,
		  const char *map, const char *default_country, json_t **result, kz_err *err)
{
	import_state st;
	char *utf8 = NULL, csverr[256];
	size_t ulen = 0;
	int rc = -1, cr;
	*result = NULL;
	memset(&st, 0, sizeof st);
	cr = kz_charset_to_utf8(data, len, charset, &utf8, &ulen);
	if (cr == -2)
		return kz_err_set(err, 415, "unsupported_charset", "charset",
				  "charset %s is not supported; send UTF-8 or Shift_JIS (CP932)",
				  charset);
	if (cr < 0)
		return kz_err_set(err, 422, "invalid_encoding", "charset",
				  "the file is neither valid UTF-8 nor Shift_JIS (CP932)");
	if (parse_map(map, &st.overrides, err) < 0)
		goto out;
	st.store = s;
	st.conn = kz_store_acquire(s);
	if (kz_store_field_list(st.conn, &st.defs, err) < 0)
		goto out;
	st.opts.field_defs = st.defs;
	st.opts.default_country = default_country;
	st.opts.lenient_strings = 1;
	st.failed = json_array();
	st.ignored = json_array();
	if (kz_csv_parse(utf8, ulen, on_row, &st, csverr, sizeof csverr) < 0) {
		if (st.in_batch)
			end_batch(&st);
		if (!st.has_fatal) {
			/* Rows before the damage are kept; say where it broke. */
			fail_row(&st, 0, csverr, NULL);
		}
	}
	if (!st.has_fatal)
		end_batch(&st);
	if (st.has_fatal) {
		*err = st.fatal;
		goto out;
	}
	if (!st.header_done) {
		kz_err_set(err, 422, "invalid_csv", NULL,
			   "the file is empty; the first row must name the columns");
		goto out;
	}
	*result = json_pack("{s:I, s:I, s:O, s:O}", "created", (json_int_t)st.created, "updated",
			    (json_int_t)st.updated, "failed", st.failed, "ignored_columns",
			    st.ignored);
	rc = 0;
out:
	if (st.conn) {
		if (st.in_batch)
			kz_tx_rollback(st.conn);
		kz_store_release(st.conn);
	}
	for (size_t i = 0; i < st.ncols; i++)
		free(st.cols[i]);
	json_decref(st.defs);
	json_decref(st.overrides);
	json_decref(st.failed);
	json_decref(st.ignored);
	free(utf8);
	return rc;
}
