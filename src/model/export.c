/* export.c — all contacts as CSV or JSON Lines, one page of 500 at a time. */
#include "model/export.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/csv.h"
#include "base/log.h"

#include "base/banned.h"

#define PAGE 500

struct kz_export {
	kz_store *store;
	int csv;
	int bom; /* start a CSV with a UTF-8 byte order mark */
	int started, done, failed;
	char *cursor;
	json_t *defs;
	kz_buf out;
	size_t off;
	kz_export_decorate_fn decorate;
	void *decorate_ctx;
};

static const char *const cols[] = {"id",        "email",          "last_name",
				   "first_name", "last_name_kana", "first_name_kana",
				   "phone",     "company",        "company_domain",
				   "tags",      "owner",          "timezone",
				   "locale",    "created_at",     "updated_at",
				   NULL};

kz_export *kz_export_new(kz_store *s, int csv)
{
	kz_export *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->store = s;
	e->csv = csv;
	e->bom = csv == 2;
	kz_buf_init(&e->out, 0);
	return e;
}

void kz_export_set_decorate(kz_export *e, kz_export_decorate_fn fn, void *ctx)
{
	e->decorate = fn;
	e->decorate_ctx = ctx;
}

void kz_export_free(void *ev)
{
	kz_export *e = ev;
	if (!e)
		return;
	free(e->cursor);
	json_decref(e->defs);
	kz_buf_release(&e->out);
	free(e);
}

static void csv_cell(kz_buf *b, const json_t *v, int first)
{
	if (!first)
		kz_buf_addc(b, ',');
	if (!v || json_is_null(v))
		return;
	if (json_is_string(v)) {
		kz_csv_write_field(b, json_string_value(v));
	} else if (json_is_array(v)) {
		kz_buf tmp;
		size_t i;
		json_t *x;
		kz_buf_init(&tmp, 0);
		json_array_foreach(v, i, x)
		{
			if (i)
				kz_buf_addc(&tmp, ';');
			if (json_is_string(x))
				kz_buf_adds(&tmp, json_string_value(x));
		}
		kz_csv_write_field(b, tmp.data);
		kz_buf_release(&tmp);
	} else {
		char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		if (s)
			kz_csv_write_field(b, s);
		free(s);
	}
}

static void csv_header(kz_export *e)
{
	size_t i;
	json_t *d;
	for (int k = 0; cols[k]; k++) {
		if (k)
			kz_buf_addc(&e->out, ',');
		kz_buf_adds(&e->out, cols[k]);
	}
	json_array_foreach(e->defs, i, d)
		kz_buf_addf(&e->out, ",fields.%s", json_string_value(json_object_get(d, "key")));
	kz_buf_adds(&e->out, "\r\n");
}

static void csv_row(kz_export *e, json_t *c)
{
	json_t *co = json_object_get(c, "company"), *fields = json_object_get(c, "fields");
	size_t i;
	json_t *d;
	for (int k = 0; cols[k]; k++) {
		const json_t *v;
		if (!strcmp(cols[k], "company"))
			v = json_object_get(co, "name");
		else if (!strcmp(cols[k], "company_domain"))
			v = json_object_get(co, "domain");
		else
			v = json_object_get(c, cols[k]);
		csv_cell(&e->out, v, k == 0);
	}
	json_array_foreach(e->defs, i, d)
		csv_cell(&e->out, json_object_get(fields, json_string_value(json_object_get(d, "key"))),
			 0);
	kz_buf_adds(&e->out, "\r\n");
}

/* Fetch the next page into e->out. */
static int fill(kz_export *e)
{
	kz_conn *c = kz_store_acquire(e->store);
	kz_contact_query q;
	json_t *data = NULL, *row;
	char *next = NULL;
	size_t i;
	kz_err err;
	int rc = -1;
	if (!e->started) {
		e->started = 1;
		if (kz_store_field_list(c, &e->defs, &err) < 0)
			goto out;
		if (e->csv) {
			/* A BOM, so Excel (which assumes Shift_JIS otherwise) reads UTF-8. */
			if (e->bom)
				kz_buf_add(&e->out, "\xEF\xBB\xBF", 3);
			csv_header(e);
		}
	}
	memset(&q, 0, sizeof q);
	q.limit = PAGE;
	q.cursor = e->cursor;
	if (kz_store_contact_list(c, &q, &data, &next, &err) < 0) {
		kz_error("export failed: %s", err.message);
		goto out;
	}
	json_array_foreach(data, i, row)
	{
		if (e->csv) {
			csv_row(e, row);
		} else {
			char *line;
			if (e->decorate)
				e->decorate(e->decorate_ctx, c, row);
			else
				kz_store_contact_audience(c, row, &err);
			line = json_dumps(row, JSON_COMPACT);
			kz_buf_adds(&e->out, line ? line : "{}");
			kz_buf_addc(&e->out, '\n');
			free(line);
		}
	}
	free(e->cursor);
	e->cursor = next;
	if (!next)
		e->done = 1;
	rc = e->out.overflow ? -1 : 0;
out:
	kz_store_release(c);
	json_decref(data);
	return rc;
}

long kz_export_read(void *ev, uint64_t pos, char *buf, size_t max)
{
	kz_export *e = ev;
	size_t n;
	(void)pos;
	while (e->off == e->out.len) {
		kz_buf_reset(&e->out);
		e->off = 0;
		if (e->done)
			return 0;
		if (fill(e) < 0)
			return -1;
	}
	n = e->out.len - e->off;
	if (n > max)
		n = max;
	memcpy(buf, e->out.data + e->off, n);
	e->off += n;
	return (long)n;
}
