/* site.c — tracked web sites (site key, allowed origins, privacy switches) in SQL. */
#include <inttypes.h>
#include <stdlib.h>

#include "base/timeutil.h"
#include "store/db.h"
#include "store/rowjson.h"
#include "store/store.h"

#include "base/banned.h"

#define SITE_SELECT                                                                                \
	"SELECT id, name, site_key, allowed_origins, bot_filter, anonymize_ip, respect_dnt,"       \
	" retention_days, created_at, updated_at FROM sites"

static json_t *row_to_site(const kz_rows *r, int i)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", kz_cell_int(r, i, 0));
	json_object_set_new(o, "name", kz_cell_str(r, i, 1));
	json_object_set_new(o, "site_key", kz_cell_str(r, i, 2));
	json_object_set_new(o, "allowed_origins", kz_cell_json(r, i, 3, "[]"));
	json_object_set_new(o, "bot_filter", json_boolean(kz_rows_int(r, i, 4)));
	json_object_set_new(o, "anonymize_ip", json_boolean(kz_rows_int(r, i, 5)));
	json_object_set_new(o, "respect_dnt", json_boolean(kz_rows_int(r, i, 6)));
	json_object_set_new(o, "retention_days", kz_cell_int(r, i, 7));
	json_object_set_new(o, "created_at", kz_cell_time(r, i, 8));
	json_object_set_new(o, "updated_at", kz_cell_time(r, i, 9));
	return o;
}

int kz_store_site_get(kz_conn *c, int64_t id, json_t **out, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(id)};
	*out = NULL;
	if (kz_db_query(c, SITE_SELECT " WHERE id = $1", p, 1, &rows, err) < 0)
		return -1;
	if (rows.nrows == 0) {
		kz_rows_free(&rows);
		return kz_err_set(err, 404, "not_found", "id", "no site with id %" PRId64, id);
	}
	*out = row_to_site(&rows, 0);
	kz_rows_free(&rows);
	return 0;
}

int kz_store_site_save(kz_conn *c, json_t *rec, int64_t *id, kz_err *err)
{
	char *origins = json_dumps(json_object_get(rec, "allowed_origins"), JSON_COMPACT);
	int64_t now = kz_now_ms();
	json_t *days = json_object_get(rec, "retention_days");
	kz_val p[10] = {
		KZ_TEXT(kz_jstr(rec, "name")),
		KZ_TEXT(kz_jstr(rec, "site_key")),
		KZ_TEXT(origins ? origins : "[]"),
		KZ_INT(json_is_true(json_object_get(rec, "bot_filter"))),
		KZ_INT(json_is_true(json_object_get(rec, "anonymize_ip"))),
		KZ_INT(json_is_true(json_object_get(rec, "respect_dnt"))),
		KZ_INT(json_is_integer(days) ? json_integer_value(days) : 400),
		KZ_INT(now),
		KZ_INT(*id),
	};
	int r, found = 0;
	if (*id == 0) {
		r = kz_db_scalar_int(
			c,
			"INSERT INTO sites(name, site_key, allowed_origins, bot_filter,"
			" anonymize_ip, respect_dnt, retention_days, created_at, updated_at)"
			" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
			p, 8, id, &found, err);
	} else {
		r = kz_db_exec(c,
			       "UPDATE sites SET name = $1, site_key = $2, allowed_origins = $3,"
			       " bot_filter = $4, anonymize_ip = $5, respect_dnt = $6,"
			       " retention_days = $7, updated_at = $8 WHERE id = $9",
			       p, 9, err);
		if (r == 0)
			r = kz_err_set(err, 404, "not_found", "id", "no site with id %" PRId64,
				       *id);
	}
	free(origins);
	if (r == KZ_DB_UNIQUE)
		kz_err_set(err, 409, "conflict", "site_key",
			   "another site already has this site key");
	return r < 0 ? -1 : 0;
}

int kz_store_site_delete(kz_conn *c, int64_t id, kz_err *err)
{
	kz_val p[1] = {KZ_INT(id)};
	int r = kz_db_exec(c, "DELETE FROM sites WHERE id = $1", p, 1, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return kz_err_set(err, 404, "not_found", "id", "no site with id %" PRId64, id);
	return 0;
}

int kz_store_site_list(kz_conn *c, json_t **data, kz_err *err)
{
	kz_rows rows;
	*data = NULL;
	if (kz_db_query(c, SITE_SELECT " ORDER BY id", NULL, 0, &rows, err) < 0)
		return -1;
	*data = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(*data, row_to_site(&rows, i));
	kz_rows_free(&rows);
	return 0;
}
