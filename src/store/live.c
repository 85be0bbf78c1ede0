/* live.c — the dashboard's live view: events per minute, top pages and sources lately. */
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "store/db.h"
#include "store/rowjson.h"
#include "store/store.h"

#include "base/banned.h"

#define LIVE_MINUTES 60
#define LIVE_DAY_MS (24LL * 60 * 60 * 1000)
#define LIVE_PAGE_ROWS 20000 /* page views read for top pages (newest first) */

/* The path of a page view's context: "path", else the URL without scheme, host, query. */
static void page_path(const json_t *ctx, char *out, size_t outlen)
{
	const char *p = kz_jstr(ctx, "path"), *u = kz_jstr(ctx, "url");
	size_t n;
	out[0] = 0;
	if (!p && u) {
		const char *s = strstr(u, "://");
		p = s ? strchr(s + 3, '/') : u;
		if (!p)
			p = "/";
	}
	if (!p)
		return;
	n = strcspn(p, "?#");
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, p, n);
	out[n] = 0;
}

static int by_count(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "count"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "count"));
	if (x != y)
		return x < y ? 1 : -1;
	return strcmp(kz_jstr(*(json_t *const *)a, "path"), kz_jstr(*(json_t *const *)b, "path"));
}

static json_t *top_pages(kz_rows *rows, int limit)
{
	json_t *seen = json_object(), *out = json_array(), *v;
	json_t **all;
	const char *k;
	size_t n = 0, i;
	for (int r = 0; r < rows->nrows; r++) {
		json_t *ctx = kz_cell_json(rows, r, 0, "{}"), *e;
		char path[512];
		page_path(ctx, path, sizeof path);
		if (path[0]) {
			e = json_object_get(seen, path);
			if (!e) {
				const char *title = kz_jstr(ctx, "title");
				e = json_object();
				json_object_set_new(e, "path", json_string(path));
				json_object_set_new(e, "title",
						    title && *title ? json_string(title) : json_null());
				json_object_set_new(e, "count", json_integer(0));
				json_object_set_new(seen, path, e);
			}
			json_object_set_new(e, "count", json_integer(json_integer_value(json_object_get(e, "count")) + 1));
		}
		json_decref(ctx);
	}
	all = malloc(sizeof(json_t *) * (json_object_size(seen) + 1));
	if (!all) {
		json_decref(seen);
		return out; /* out of memory: no top pages rather than a failure */
	}
	json_object_foreach(seen, k, v) all[n++] = v;
	qsort(all, n, sizeof(json_t *), by_count);
	for (i = 0; i < n && (int)i < limit; i++)
		json_array_append(out, all[i]);
	free(all);
	json_decref(seen);
	return out;
}

int kz_store_live(kz_conn *c, int64_t now_ms, int top, json_t **out, kz_err *err)
{
	kz_rows rows;
	int64_t first = now_ms / 60000 - (LIVE_MINUTES - 1);
	int64_t counts[LIVE_MINUTES] = {0};
	kz_val p[2];
	json_t *per = json_array(), *pages, *sources = json_array();
	*out = NULL;

	p[0] = KZ_INT(first * 60000);
	if (kz_db_query(c,
			"SELECT occurred_at / 60000, COUNT(*) FROM events WHERE occurred_at >= $1"
			" GROUP BY occurred_at / 60000",
			p, 1, &rows, err) < 0)
		goto fail;
	for (int r = 0; r < rows.nrows; r++) {
		int64_t m = kz_rows_int(&rows, r, 0) - first;
		if (m >= 0 && m < LIVE_MINUTES)
			counts[m] += kz_rows_int(&rows, r, 1);
	}
	kz_rows_free(&rows);
	for (int i = 0; i < LIVE_MINUTES; i++) {
		char iso[40];
		json_t *m = json_object();
		kz_time_iso((first + i) * 60000, iso, sizeof iso);
		json_object_set_new(m, "minute", json_string(iso));
		json_object_set_new(m, "count", json_integer(counts[i]));
		json_array_append_new(per, m);
	}

	p[0] = KZ_INT(now_ms - LIVE_DAY_MS);
	p[1] = KZ_INT(LIVE_PAGE_ROWS);
	if (kz_db_query(c,
			"SELECT context FROM events WHERE occurred_at >= $1 AND type = 'page'"
			" ORDER BY occurred_at DESC LIMIT $2",
			p, 2, &rows, err) < 0)
		goto fail;
	pages = top_pages(&rows, top);
	kz_rows_free(&rows);

	p[1] = KZ_INT(top);
	if (kz_db_query(c,
			"SELECT COALESCE(source, '(direct)'), COUNT(*) FROM sessions_web"
			" WHERE started_at >= $1 GROUP BY COALESCE(source, '(direct)')"
			" ORDER BY COUNT(*) DESC, COALESCE(source, '(direct)') LIMIT $2",
			p, 2, &rows, err) < 0) {
		json_decref(pages);
		goto fail;
	}
	for (int r = 0; r < rows.nrows; r++) {
		json_t *o = json_object();
		json_object_set_new(o, "source", kz_cell_str(&rows, r, 0));
		json_object_set_new(o, "count", kz_cell_int(&rows, r, 1));
		json_array_append_new(sources, o);
	}
	kz_rows_free(&rows);
	*out = json_object();
	json_object_set_new(*out, "per_minute", per);
	json_object_set_new(*out, "top_pages", pages);
	json_object_set_new(*out, "top_sources", sources);
	return 0;
fail:
	json_decref(per);
	json_decref(sources);
	return -1;
}
