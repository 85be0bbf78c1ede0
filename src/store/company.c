/* company.c — companies in SQL. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/timeutil.h"
#include "store/db.h"
#include "store/rowjson.h"
#include "store/store.h"

#include "base/banned.h"

#define COMPANY_SELECT "SELECT id, name, domain, fields, created_at, updated_at FROM companies"

static json_t *row_to_company(const kz_rows *r, int i)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", kz_cell_int(r, i, 0));
	json_object_set_new(o, "name", kz_cell_str(r, i, 1));
	json_object_set_new(o, "domain", kz_cell_str(r, i, 2));
	json_object_set_new(o, "fields", kz_cell_json(r, i, 3, "{}"));
	json_object_set_new(o, "created_at", kz_cell_time(r, i, 4));
	json_object_set_new(o, "updated_at", kz_cell_time(r, i, 5));
	return o;
}

int kz_store_company_get(kz_conn *c, int64_t id, json_t **out, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(id)};
	*out = NULL;
	if (kz_db_query(c, COMPANY_SELECT " WHERE id = $1", p, 1, &rows, err) < 0)
		return -1;
	if (rows.nrows == 0) {
		kz_rows_free(&rows);
		return kz_err_set(err, 404, "not_found", "id", "no company with id %" PRId64, id);
	}
	*out = row_to_company(&rows, 0);
	kz_rows_free(&rows);
	return 0;
}

int kz_store_company_find(kz_conn *c, const char *domain, const char *name_fold, int64_t *id,
			  kz_err *err)
{
	int found = 0;
	*id = 0;
	if (domain && *domain) {
		kz_val p[1] = {KZ_TEXT(domain)};
		if (kz_db_scalar_int(c, "SELECT MIN(id) FROM companies WHERE domain = $1", p, 1, id,
				     &found, err) < 0)
			return -1;
		return 0; /* a domain names the company: never fall back to the name */
	}
	if (name_fold && *name_fold) {
		kz_val p[1] = {KZ_TEXT(name_fold)};
		if (kz_db_scalar_int(c, "SELECT MIN(id) FROM companies WHERE name_fold = $1", p, 1, id,
				     &found, err) < 0)
			return -1;
	}
	return 0;
}

int kz_store_company_save(kz_conn *c, json_t *rec, int64_t *id, kz_err *err)
{
	char *fields = kz_jdump(json_object_get(rec, "fields"));
	int64_t now = kz_now_ms();
	kz_val p[6] = {
		KZ_TEXT(kz_jstr(rec, "name")),   KZ_TEXT(kz_jstr(rec, "name_fold")),
		KZ_TEXT(kz_jstr(rec, "domain")), KZ_TEXT(fields),
		KZ_INT(now),                     KZ_INT(*id),
	};
	int r, found = 0;
	if (!fields)
		return kz_err_set(err, 500, "internal", NULL, "out of memory");
	if (*id == 0) {
		r = kz_db_scalar_int(c,
				     "INSERT INTO companies(name, name_fold, domain, fields, created_at,"
				     " updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
				     p, 5, id, &found, err);
	} else {
		r = kz_db_exec(c,
			       "UPDATE companies SET name = $1, name_fold = $2, domain = $3, fields = $4,"
			       " updated_at = $5 WHERE id = $6",
			       p, 6, err);
		if (r == 0)
			r = kz_err_set(err, 404, "not_found", "id", "no company with id %" PRId64, *id);
	}
	free(fields);
	if (r < 0)
		return -1;
	return kz_store_feed_note(c, KZ_FEED_COMPANY, *id, err);
}

int kz_store_company_delete(kz_conn *c, int64_t id, kz_err *err)
{
	kz_val p[1] = {KZ_INT(id)};
	int r = kz_db_exec(c, "DELETE FROM companies WHERE id = $1", p, 1, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return kz_err_set(err, 404, "not_found", "id", "no company with id %" PRId64, id);
	return kz_store_feed_note(c, KZ_FEED_COMPANY, id, err);
}

int kz_store_company_list(kz_conn *c, const char *q_fold, const char *cursor, int limit,
			  json_t **data, char **next_cursor, kz_err *err)
{
	kz_buf sql;
	kz_val p[3];
	kz_rows rows;
	int n = 0, rc = -1;
	char *like = NULL, *end = NULL;
	int64_t after = 0;
	*data = NULL;
	*next_cursor = NULL;
	if (limit <= 0)
		limit = 50;
	if (cursor && *cursor) {
		after = strtoll(cursor, &end, 10);
		if (end == cursor || *end || after < 0)
			return kz_err_set(err, 400, "invalid_parameter", "cursor",
					  "cursor is not one this server gave out; start again without it");
	}
	kz_buf_init(&sql, 0);
	kz_buf_adds(&sql, COMPANY_SELECT " WHERE id > $1");
	p[n++] = KZ_INT(after);
	if (q_fold && *q_fold) {
		like = kz_like_contains(q_fold);
		p[n++] = KZ_TEXT(like);
		kz_buf_addf(&sql, " AND (name_fold LIKE $%d ESCAPE '\\' OR domain LIKE $%d ESCAPE '\\')",
			    n, n);
	}
	p[n++] = KZ_INT(limit + 1);
	kz_buf_addf(&sql, " ORDER BY id LIMIT $%d", n);
	if (kz_db_query(c, sql.data, p, n, &rows, err) < 0)
		goto out;
	*data = json_array();
	for (int i = 0; i < rows.nrows && i < limit; i++)
		json_array_append_new(*data, row_to_company(&rows, i));
	if (rows.nrows > limit) {
		char buf[32];
		snprintf(buf, sizeof buf, "%s", kz_rows_get(&rows, limit - 1, 0));
		*next_cursor = strdup(buf);
	}
	kz_rows_free(&rows);
	rc = 0;
out:
	free(like);
	kz_buf_release(&sql);
	return rc;
}
