/* user.c — users and API keys in SQL (hashes never leave this layer except for verification). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "store/db.h"
#include "store/rowjson.h"
#include "store/store.h"

#include "base/banned.h"

#define USER_SELECT "SELECT id, email, name, role, active, created_at, updated_at, password_hash FROM users"

static json_t *row_to_user(const kz_rows *r, int i, int with_hash)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", kz_cell_int(r, i, 0));
	json_object_set_new(o, "email", kz_cell_str(r, i, 1));
	json_object_set_new(o, "name", kz_cell_str(r, i, 2));
	json_object_set_new(o, "role", kz_cell_str(r, i, 3));
	json_object_set_new(o, "active", json_boolean(kz_rows_int(r, i, 4)));
	json_object_set_new(o, "created_at", kz_cell_time(r, i, 5));
	json_object_set_new(o, "updated_at", kz_cell_time(r, i, 6));
	if (with_hash)
		json_object_set_new(o, "password_hash", kz_cell_str(r, i, 7));
	return o;
}

int kz_store_user_get(kz_conn *c, int64_t id, json_t **out, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(id)};
	*out = NULL;
	if (kz_db_query(c, USER_SELECT " WHERE id = $1", p, 1, &rows, err) < 0)
		return -1;
	if (rows.nrows == 0) {
		kz_rows_free(&rows);
		return kz_err_set(err, 404, "not_found", "id", "no user with id %" PRId64, id);
	}
	*out = row_to_user(&rows, 0, 0);
	kz_rows_free(&rows);
	return 0;
}

int kz_store_user_by_email(kz_conn *c, const char *email, json_t **out, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_TEXT(email)};
	*out = NULL;
	if (kz_db_query(c, USER_SELECT " WHERE email = $1", p, 1, &rows, err) < 0)
		return -1;
	if (rows.nrows > 0)
		*out = row_to_user(&rows, 0, 1);
	kz_rows_free(&rows);
	return 0;
}

int kz_store_user_save(kz_conn *c, json_t *rec, int64_t *id, kz_err *err)
{
	int64_t now = kz_now_ms();
	json_t *active = json_object_get(rec, "active");
	kz_val p[7] = {KZ_TEXT(kz_jstr(rec, "email")),
		       KZ_TEXT(kz_jstr(rec, "name")),
		       KZ_TEXT(kz_jstr(rec, "role")),
		       KZ_TEXT(kz_jstr(rec, "password_hash")),
		       KZ_INT(active && json_is_false(active) ? 0 : 1),
		       KZ_INT(now),
		       KZ_INT(*id)};
	int r, found = 0;
	if (*id == 0)
		r = kz_db_scalar_int(c,
				     "INSERT INTO users(email, name, role, password_hash, active,"
				     " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)"
				     " RETURNING id",
				     p, 6, id, &found, err);
	else if (kz_jstr(rec, "password_hash"))
		r = kz_db_exec(c,
			       "UPDATE users SET email = $1, name = $2, role = $3, password_hash = $4,"
			       " active = $5, updated_at = $6 WHERE id = $7",
			       p, 7, err);
	else {
		kz_val q[6] = {p[0], p[1], p[2], p[4], p[5], p[6]};
		r = kz_db_exec(c,
			       "UPDATE users SET email = $1, name = $2, role = $3, active = $4,"
			       " updated_at = $5 WHERE id = $6",
			       q, 6, err);
	}
	if (r == KZ_DB_UNIQUE)
		kz_err_set(err, 409, "conflict", "email", "a user with this email exists");
	return r < 0 ? -1 : 0;
}

int kz_store_user_delete(kz_conn *c, int64_t id, kz_err *err)
{
	kz_val p[1] = {KZ_INT(id)};
	int r = kz_db_exec(c, "DELETE FROM users WHERE id = $1", p, 1, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return kz_err_set(err, 404, "not_found", "id", "no user with id %" PRId64, id);
	return 0;
}

int kz_store_user_list(kz_conn *c, json_t **data, kz_err *err)
{
	kz_rows rows;
	*data = NULL;
	if (kz_db_query(c, USER_SELECT " ORDER BY id", NULL, 0, &rows, err) < 0)
		return -1;
	*data = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(*data, row_to_user(&rows, i, 0));
	kz_rows_free(&rows);
	return 0;
}

/* ---- API keys ---- */

#define KEY_SELECT "SELECT id, name, role, prefix, user_id, created_at, last_used_at, revoked_at FROM api_keys"

static json_t *row_to_key(const kz_rows *r, int i)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", kz_cell_int(r, i, 0));
	json_object_set_new(o, "name", kz_cell_str(r, i, 1));
	json_object_set_new(o, "role", kz_cell_str(r, i, 2));
	json_object_set_new(o, "prefix", kz_cell_str(r, i, 3));
	json_object_set_new(o, "user_id", kz_cell_int(r, i, 4));
	json_object_set_new(o, "created_at", kz_cell_time(r, i, 5));
	json_object_set_new(o, "last_used_at", kz_cell_time(r, i, 6));
	json_object_set_new(o, "revoked_at", kz_cell_time(r, i, 7));
	return o;
}

int kz_store_apikey_insert(kz_conn *c, json_t *rec, int64_t *id, kz_err *err)
{
	json_t *uid = json_object_get(rec, "user_id");
	kz_val p[6] = {KZ_TEXT(kz_jstr(rec, "name")), KZ_TEXT(kz_jstr(rec, "role")),
		       KZ_TEXT(kz_jstr(rec, "prefix")), KZ_TEXT(kz_jstr(rec, "key_hash")),
		       json_is_integer(uid) ? KZ_INT(json_integer_value(uid)) : KZ_NULLV,
		       KZ_INT(kz_now_ms())};
	int found = 0;
	return kz_db_scalar_int(c,
				"INSERT INTO api_keys(name, role, prefix, key_hash, user_id, created_at)"
				" VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
				p, 6, id, &found, err) < 0
		       ? -1
		       : 0;
}

int kz_store_apikey_list(kz_conn *c, json_t **data, kz_err *err)
{
	kz_rows rows;
	*data = NULL;
	if (kz_db_query(c, KEY_SELECT " ORDER BY id", NULL, 0, &rows, err) < 0)
		return -1;
	*data = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(*data, row_to_key(&rows, i));
	kz_rows_free(&rows);
	return 0;
}

int kz_store_apikey_get(kz_conn *c, int64_t id, json_t **out, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(id)};
	*out = NULL;
	if (kz_db_query(c, KEY_SELECT " WHERE id = $1", p, 1, &rows, err) < 0)
		return -1;
	if (rows.nrows == 0) {
		kz_rows_free(&rows);
		return kz_err_set(err, 404, "not_found", "id", "no API key with id %" PRId64, id);
	}
	*out = row_to_key(&rows, 0);
	kz_rows_free(&rows);
	return 0;
}

int kz_store_apikey_revoke(kz_conn *c, int64_t id, int64_t now_ms, kz_err *err)
{
	kz_val p[2] = {KZ_INT(now_ms), KZ_INT(id)};
	int r = kz_db_exec(c, "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2",
			   p, 2, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return kz_err_set(err, 404, "not_found", "id", "no API key with id %" PRId64, id);
	return 0;
}

int kz_store_apikey_by_hash(kz_conn *c, const char *hash, json_t **out, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_TEXT(hash)};
	*out = NULL;
	if (kz_db_query(c, KEY_SELECT " WHERE key_hash = $1 AND revoked_at IS NULL", p, 1, &rows,
			err) < 0)
		return -1;
	if (rows.nrows > 0)
		*out = row_to_key(&rows, 0);
	kz_rows_free(&rows);
	return 0;
}

int kz_store_apikey_touch(kz_conn *c, int64_t id, int64_t now_ms, kz_err *err)
{
	kz_val p[2] = {KZ_INT(now_ms), KZ_INT(id)};
	return kz_db_exec(c, "UPDATE api_keys SET last_used_at = $1 WHERE id = $2", p, 2, err) < 0
		       ? -1
		       : 0;
}
