/* session.c — browser sessions and tag counts in SQL. */
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/rowjson.h"
#include "store/store.h"

#include "base/banned.h"

int kz_store_session_insert(kz_conn *c, const char *token_hash, int64_t user_id,
			    const char *csrf, int64_t now_ms, int64_t expires_ms, kz_err *err)
{
	kz_val p[5] = {KZ_TEXT(token_hash), KZ_INT(user_id), KZ_TEXT(csrf), KZ_INT(now_ms),
		       KZ_INT(expires_ms)};
	return kz_db_exec(c,
			  "INSERT INTO sessions(token_hash, user_id, csrf, created_at, last_seen_at,"
			  " expires_at) VALUES ($1, $2, $3, $4, $4, $5)",
			  p, 5, err) < 0
		       ? -1
		       : 0;
}

int kz_store_session_get(kz_conn *c, const char *token_hash, json_t **out, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_TEXT(token_hash)};
	*out = NULL;
	if (kz_db_query(c,
			"SELECT s.user_id, s.csrf, s.last_seen_at, s.expires_at, u.role, u.active"
			" FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
			p, 1, &rows, err) < 0)
		return -1;
	if (rows.nrows > 0) {
		*out = json_object();
		json_object_set_new(*out, "user_id", kz_cell_int(&rows, 0, 0));
		json_object_set_new(*out, "csrf", kz_cell_str(&rows, 0, 1));
		json_object_set_new(*out, "last_seen_at_ms", kz_cell_int(&rows, 0, 2));
		json_object_set_new(*out, "expires_at_ms", kz_cell_int(&rows, 0, 3));
		json_object_set_new(*out, "role", kz_cell_str(&rows, 0, 4));
		json_object_set_new(*out, "active", json_boolean(kz_rows_int(&rows, 0, 5)));
	}
	kz_rows_free(&rows);
	return 0;
}

int kz_store_session_touch(kz_conn *c, const char *token_hash, int64_t now_ms, kz_err *err)
{
	kz_val p[2] = {KZ_INT(now_ms), KZ_TEXT(token_hash)};
	return kz_db_exec(c, "UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2", p, 2,
			  err) < 0
		       ? -1
		       : 0;
}

int kz_store_session_delete(kz_conn *c, const char *token_hash, kz_err *err)
{
	kz_val p[1] = {KZ_TEXT(token_hash)};
	return kz_db_exec(c, "DELETE FROM sessions WHERE token_hash = $1", p, 1, err) < 0 ? -1 : 0;
}

int kz_store_session_delete_user(kz_conn *c, int64_t user_id, kz_err *err)
{
	kz_val p[1] = {KZ_INT(user_id)};
	return kz_db_exec(c, "DELETE FROM sessions WHERE user_id = $1", p, 1, err) < 0 ? -1 : 0;
}

int kz_store_tag_counts(kz_conn *c, int limit, json_t **data, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(limit)};
	*data = NULL;
	if (kz_db_query(c,
			"SELECT tag, COUNT(*) FROM contact_tags GROUP BY tag ORDER BY COUNT(*) DESC,"
			" tag LIMIT $1",
			p, 1, &rows, err) < 0)
		return -1;
	*data = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(*data, json_pack("{s:o, s:o}", "tag", kz_cell_str(&rows, i, 0),
						       "count", kz_cell_int(&rows, i, 1)));
	kz_rows_free(&rows);
	return 0;
}
