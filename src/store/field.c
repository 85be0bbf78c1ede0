/* field.c — custom field definitions in SQL. */
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "store/db.h"
#include "store/rowjson.h"
#include "store/store.h"

#include "base/banned.h"

#define FIELD_SELECT "SELECT id, key, label, type, options, created_at, updated_at FROM fields"

static json_t *row_to_field(const kz_rows *r, int i)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", kz_cell_int(r, i, 0));
	json_object_set_new(o, "key", kz_cell_str(r, i, 1));
	json_object_set_new(o, "label", kz_cell_str(r, i, 2));
	json_object_set_new(o, "type", kz_cell_str(r, i, 3));
	json_object_set_new(o, "options", kz_cell_json(r, i, 4, "null"));
	json_object_set_new(o, "created_at", kz_cell_time(r, i, 5));
	json_object_set_new(o, "updated_at", kz_cell_time(r, i, 6));
	return o;
}

int kz_store_field_list(kz_conn *c, json_t **data, kz_err *err)
{
	kz_rows rows;
	*data = NULL;
	if (kz_db_query(c, FIELD_SELECT " ORDER BY id", NULL, 0, &rows, err) < 0)
		return -1;
	*data = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(*data, row_to_field(&rows, i));
	kz_rows_free(&rows);
	return 0;
}

int kz_store_field_get(kz_conn *c, const char *key, json_t **out, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_TEXT(key)};
	*out = NULL;
	if (kz_db_query(c, FIELD_SELECT " WHERE key = $1", p, 1, &rows, err) < 0)
		return -1;
	if (rows.nrows == 0) {
		kz_rows_free(&rows);
		return kz_err_set(err, 404, "not_found", "key", "no custom field with key \"%s\"", key);
	}
	*out = row_to_field(&rows, 0);
	kz_rows_free(&rows);
	return 0;
}

int kz_store_field_save(kz_conn *c, json_t *rec, int64_t *id, kz_err *err)
{
	json_t *opts = json_object_get(rec, "options");
	char *options = opts && !json_is_null(opts) ? json_dumps(opts, JSON_COMPACT) : NULL;
	int64_t now = kz_now_ms();
	kz_val p[6] = {KZ_TEXT(kz_jstr(rec, "key")), KZ_TEXT(kz_jstr(rec, "label")),
		       KZ_TEXT(kz_jstr(rec, "type")), KZ_TEXT(options),
		       KZ_INT(now),                    KZ_INT(*id)};
	int r, found = 0;
	if (*id == 0) {
		r = kz_db_scalar_int(c,
				     "INSERT INTO fields(key, label, type, options, created_at, updated_at)"
				     " VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
				     p, 5, id, &found, err);
		if (r == KZ_DB_UNIQUE)
			kz_err_set(err, 409, "conflict", "key", "a custom field with key \"%s\" exists",
				   kz_jstr(rec, "key"));
	} else {
		r = kz_db_exec(c,
			       "UPDATE fields SET key = $1, label = $2, type = $3, options = $4,"
			       " updated_at = $5 WHERE id = $6",
			       p, 6, err);
	}
	free(options);
	if (r < 0)
		return -1;
	return kz_store_feed_note(c, KZ_FEED_CONFIG, 0, err);
}

int kz_store_field_delete(kz_conn *c, const char *key, kz_err *err)
{
	kz_val p[1] = {KZ_TEXT(key)};
	int r = kz_db_exec(c, "DELETE FROM fields WHERE key = $1", p, 1, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return kz_err_set(err, 404, "not_found", "key", "no custom field with key \"%s\"", key);
	return kz_store_feed_note(c, KZ_FEED_CONFIG, 0, err);
}
