/* capture.c — lead capture in SQL: forms, their submissions and spam log, assets, pages. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "store/db.h"
#include "store/rowjson.h"
#include "store/store.h"

#include "base/banned.h"

/* Parse a keyset cursor (a row id); 0 when none. */
static int parse_cursor(const char *cursor, int64_t *after, kz_err *err)
{
	char *end;
	*after = 0;
	if (!cursor || !*cursor)
		return 0;
	*after = strtoll(cursor, &end, 10);
	if (end == cursor || *end || *after <= 0)
		return kz_err_set(err, 400, "invalid_parameter", "cursor",
				  "cursor is not one this server gave out; start again without it");
	return 0;
}

static char *next_cursor_of(const json_t *data, int limit)
{
	char buf[32];
	if ((int)json_array_size(data) < limit)
		return NULL;
	snprintf(buf, sizeof buf, "%" PRId64,
		 (int64_t)json_integer_value(
			 json_object_get(json_array_get(data, json_array_size(data) - 1), "id")));
	return strdup(buf);
}

/* Merge the members of a stored JSON document into o. */
static void merge_doc(json_t *o, const kz_rows *r, int i, int col)
{
	json_t *doc = kz_cell_json(r, i, col, "{}");
	if (json_is_object(doc))
		json_object_update(o, doc);
	json_decref(doc);
}

/* ---- forms ---- */

#define FORM_SELECT                                                                                \
	"SELECT f.id, f.name, f.definition, f.views, f.created_at, f.updated_at,"                  \
	" (SELECT COUNT(*) FROM form_submissions s WHERE s.form_id = f.id),"                        \
	" (SELECT COUNT(*) FROM form_spam p WHERE p.form_id = f.id) FROM forms f"

static json_t *row_to_form(const kz_rows *r, int i)
{
	json_t *o = json_object();
	int64_t views = kz_rows_int(r, i, 3), subs = kz_rows_int(r, i, 6);
	json_object_set_new(o, "id", kz_cell_int(r, i, 0));
	json_object_set_new(o, "name", kz_cell_str(r, i, 1));
	merge_doc(o, r, i, 2);
	json_object_set_new(o, "views", json_integer(views));
	json_object_set_new(o, "submissions", json_integer(subs));
	json_object_set_new(o, "spam", kz_cell_int(r, i, 7));
	json_object_set_new(o, "conversion_rate",
			    views > 0 ? json_real((double)subs / (double)views) : json_null());
	json_object_set_new(o, "created_at", kz_cell_time(r, i, 4));
	json_object_set_new(o, "updated_at", kz_cell_time(r, i, 5));
	return o;
}

int kz_store_form_get(kz_conn *c, int64_t id, json_t **out, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(id)};
	*out = NULL;
	if (kz_db_query(c, FORM_SELECT " WHERE f.id = $1", p, 1, &rows, err) < 0)
		return -1;
	if (rows.nrows == 0) {
		kz_rows_free(&rows);
		return kz_err_set(err, 404, "not_found", "id", "no form with id %" PRId64, id);
	}
	*out = row_to_form(&rows, 0);
	kz_rows_free(&rows);
	return 0;
}

int kz_store_form_save(kz_conn *c, const char *name, const json_t *definition, int64_t *id,
		       kz_err *err)
{
	char *def = kz_jdump(definition);
	int64_t now = kz_now_ms();
	kz_val p[4] = {KZ_TEXT(name), KZ_TEXT(def), KZ_INT(now), KZ_INT(*id)};
	int r, found = 0;
	if (*id == 0) {
		r = kz_db_scalar_int(c,
				     "INSERT INTO forms(name, definition, created_at, updated_at)"
				     " VALUES ($1, $2, $3, $3) RETURNING id",
				     p, 3, id, &found, err);
	} else {
		r = kz_db_exec(c,
			       "UPDATE forms SET name = $1, definition = $2, updated_at = $3"
			       " WHERE id = $4",
			       p, 4, err);
		if (r == 0)
			r = kz_err_set(err, 404, "not_found", "id", "no form with id %" PRId64, *id);
	}
	free(def);
	return r < 0 ? -1 : 0;
}

int kz_store_form_delete(kz_conn *c, int64_t id, kz_err *err)
{
	kz_val p[1] = {KZ_INT(id)};
	int r = kz_db_exec(c, "DELETE FROM forms WHERE id = $1", p, 1, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return kz_err_set(err, 404, "not_found", "id", "no form with id %" PRId64, id);
	return 0;
}

int kz_store_form_list(kz_conn *c, json_t **data, kz_err *err)
{
	kz_rows rows;
	*data = NULL;
	if (kz_db_query(c, FORM_SELECT " ORDER BY f.id", NULL, 0, &rows, err) < 0)
		return -1;
	*data = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(*data, row_to_form(&rows, i));
	kz_rows_free(&rows);
	return 0;
}

int kz_store_form_viewed(kz_conn *c, int64_t id, kz_err *err)
{
	kz_val p[1] = {KZ_INT(id)};
	return kz_db_exec(c, "UPDATE forms SET views = views + 1 WHERE id = $1", p, 1, err) < 0
		       ? -1
		       : 0;
}

/* ---- submissions ---- */

int kz_store_submission_insert(kz_conn *c, int64_t form_id, const json_t *rec, int64_t *id,
			       kz_err *err)
{
	char *data = kz_jdump(json_object_get(rec, "data"));
	char *utm = kz_jdump(json_object_get(rec, "utm"));
	const json_t *consent = json_object_get(rec, "consent");
	char *cons = consent && !json_is_null(consent) ? kz_jdump(consent) : NULL;
	json_t *cid = json_object_get(rec, "contact_id");
	kz_val p[11] = {
		KZ_INT(form_id),
		json_is_integer(cid) ? KZ_INT(json_integer_value(cid)) : KZ_NULLV,
		KZ_TEXT(kz_jstr(rec, "anonymous_id")),
		KZ_TEXT(data),
		KZ_TEXT(kz_jstr(rec, "page_url")),
		KZ_TEXT(kz_jstr(rec, "referrer")),
		KZ_TEXT(utm),
		KZ_TEXT(kz_jstr(rec, "ip")),
		KZ_TEXT(kz_jstr(rec, "user_agent")),
		KZ_TEXT(cons),
		KZ_INT(kz_now_ms()),
	};
	int found = 0;
	int r = kz_db_scalar_int(c,
				 "INSERT INTO form_submissions(form_id, contact_id, anon_id, data,"
				 " page_url, referrer, utm, ip, user_agent, consent, created_at)"
				 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
				 p, 11, id, &found, err);
	free(data);
	free(utm);
	free(cons);
	return r < 0 ? -1 : 0;
}

static json_t *row_to_submission(const kz_rows *r, int i)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", kz_cell_int(r, i, 0));
	json_object_set_new(o, "form_id", kz_cell_int(r, i, 1));
	json_object_set_new(o, "contact_id", kz_cell_int(r, i, 2));
	json_object_set_new(o, "anonymous_id", kz_cell_str(r, i, 3));
	json_object_set_new(o, "data", kz_cell_json(r, i, 4, "{}"));
	json_object_set_new(o, "page_url", kz_cell_str(r, i, 5));
	json_object_set_new(o, "referrer", kz_cell_str(r, i, 6));
	json_object_set_new(o, "utm", kz_cell_json(r, i, 7, "{}"));
	json_object_set_new(o, "ip", kz_cell_str(r, i, 8));
	json_object_set_new(o, "user_agent", kz_cell_str(r, i, 9));
	json_object_set_new(o, "consent", kz_cell_json(r, i, 10, "null"));
	json_object_set_new(o, "created_at", kz_cell_time(r, i, 11));
	return o;
}

int kz_store_submission_list(kz_conn *c, int64_t form_id, int64_t contact_id, const char *cursor,
			     int limit, json_t **data, char **next, kz_err *err)
{
	kz_rows rows;
	int64_t after;
	kz_val p[4];
	*data = NULL;
	*next = NULL;
	if (parse_cursor(cursor, &after, err) < 0)
		return -1;
	p[0] = KZ_INT(form_id);
	p[1] = KZ_INT(contact_id);
	p[2] = KZ_INT(after);
	p[3] = KZ_INT(limit);
	if (kz_db_query(c,
			"SELECT id, form_id, contact_id, anon_id, data, page_url, referrer, utm, ip,"
			" user_agent, consent, created_at FROM form_submissions"
			" WHERE ($1 = 0 OR form_id = $1) AND ($2 = 0 OR contact_id = $2)"
			" AND ($3 = 0 OR id < $3) ORDER BY id DESC LIMIT $4",
			p, 4, &rows, err) < 0)
		return -1;
	*data = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(*data, row_to_submission(&rows, i));
	kz_rows_free(&rows);
	*next = next_cursor_of(*data, limit);
	return 0;
}

int kz_store_spam_insert(kz_conn *c, int64_t form_id, const char *reason, const char *ip,
			 const char *ua, const json_t *data, kz_err *err)
{
	char *d = kz_jdump(data);
	kz_val p[6] = {KZ_INT(form_id), KZ_TEXT(reason), KZ_TEXT(ip),
		       KZ_TEXT(ua),     KZ_TEXT(d),      KZ_INT(kz_now_ms())};
	int r = kz_db_exec(c,
			   "INSERT INTO form_spam(form_id, reason, ip, user_agent, data, created_at)"
			   " VALUES ($1, $2, $3, $4, $5, $6)",
			   p, 6, err);
	free(d);
	return r < 0 ? -1 : 0;
}

int kz_store_spam_list(kz_conn *c, int64_t form_id, const char *cursor, int limit, json_t **data,
		       char **next, kz_err *err)
{
	kz_rows rows;
	int64_t after;
	kz_val p[3];
	*data = NULL;
	*next = NULL;
	if (parse_cursor(cursor, &after, err) < 0)
		return -1;
	p[0] = KZ_INT(form_id);
	p[1] = KZ_INT(after);
	p[2] = KZ_INT(limit);
	if (kz_db_query(c,
			"SELECT id, reason, ip, user_agent, data, created_at FROM form_spam"
			" WHERE form_id = $1 AND ($2 = 0 OR id < $2) ORDER BY id DESC LIMIT $3",
			p, 3, &rows, err) < 0)
		return -1;
	*data = json_array();
	for (int i = 0; i < rows.nrows; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "id", kz_cell_int(&rows, i, 0));
		json_object_set_new(o, "reason", kz_cell_str(&rows, i, 1));
		json_object_set_new(o, "ip", kz_cell_str(&rows, i, 2));
		json_object_set_new(o, "user_agent", kz_cell_str(&rows, i, 3));
		json_object_set_new(o, "data", kz_cell_json(&rows, i, 4, "{}"));
		json_object_set_new(o, "created_at", kz_cell_time(&rows, i, 5));
		json_array_append_new(*data, o);
	}
	kz_rows_free(&rows);
	*next = next_cursor_of(*data, limit);
	return 0;
}

/* ---- assets ---- */

static json_t *row_to_asset(const kz_rows *r, int i, int with_content)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", kz_cell_int(r, i, 0));
	json_object_set_new(o, "name", kz_cell_str(r, i, 1));
	json_object_set_new(o, "filename", kz_cell_str(r, i, 2));
	json_object_set_new(o, "content_type", kz_cell_str(r, i, 3));
	json_object_set_new(o, "size", kz_cell_int(r, i, 4));
	json_object_set_new(o, "sha256", kz_cell_str(r, i, 5));
	json_object_set_new(o, "gated", json_boolean(kz_rows_int(r, i, 6)));
	json_object_set_new(o, "downloads", kz_cell_int(r, i, 7));
	json_object_set_new(o, "created_at", kz_cell_time(r, i, 8));
	json_object_set_new(o, "updated_at", kz_cell_time(r, i, 9));
	if (with_content)
		json_object_set_new(o, "content", kz_cell_str(r, i, 10));
	return o;
}

int kz_store_asset_get(kz_conn *c, int64_t id, int with_content, json_t **out, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(id)};
	*out = NULL;
	if (kz_db_query(c,
			with_content
				? "SELECT id, name, filename, content_type, size, sha256, gated,"
				  " downloads, created_at, updated_at, content FROM assets WHERE id = $1"
				: "SELECT id, name, filename, content_type, size, sha256, gated,"
				  " downloads, created_at, updated_at FROM assets WHERE id = $1",
			p, 1, &rows, err) < 0)
		return -1;
	if (rows.nrows == 0) {
		kz_rows_free(&rows);
		return kz_err_set(err, 404, "not_found", "id", "no asset with id %" PRId64, id);
	}
	*out = row_to_asset(&rows, 0, with_content);
	kz_rows_free(&rows);
	return 0;
}

int kz_store_asset_insert(kz_conn *c, const json_t *rec, const char *content_b64, int64_t *id,
			  kz_err *err)
{
	kz_val p[8] = {
		KZ_TEXT(kz_jstr(rec, "name")),
		KZ_TEXT(kz_jstr(rec, "filename")),
		KZ_TEXT(kz_jstr(rec, "content_type")),
		KZ_INT(json_integer_value(json_object_get(rec, "size"))),
		KZ_TEXT(kz_jstr(rec, "sha256")),
		KZ_INT(json_is_true(json_object_get(rec, "gated"))),
		KZ_TEXT(content_b64),
		KZ_INT(kz_now_ms()),
	};
	int found = 0;
	return kz_db_scalar_int(c,
				"INSERT INTO assets(name, filename, content_type, size, sha256, gated,"
				" content, created_at, updated_at)"
				" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
				p, 8, id, &found, err) < 0
		       ? -1
		       : 0;
}

int kz_store_asset_update(kz_conn *c, int64_t id, const char *name, int gated, kz_err *err)
{
	kz_val p[4] = {KZ_TEXT(name), KZ_INT(gated), KZ_INT(kz_now_ms()), KZ_INT(id)};
	int r = kz_db_exec(c, "UPDATE assets SET name = $1, gated = $2, updated_at = $3 WHERE id = $4",
			   p, 4, err);
	if (r == 0)
		return kz_err_set(err, 404, "not_found", "id", "no asset with id %" PRId64, id);
	return r < 0 ? -1 : 0;
}

int kz_store_asset_delete(kz_conn *c, int64_t id, kz_err *err)
{
	kz_val p[1] = {KZ_INT(id)};
	int r = kz_db_exec(c, "DELETE FROM assets WHERE id = $1", p, 1, err);
	if (r == 0)
		return kz_err_set(err, 404, "not_found", "id", "no asset with id %" PRId64, id);
	return r < 0 ? -1 : 0;
}

int kz_store_asset_list(kz_conn *c, json_t **data, kz_err *err)
{
	kz_rows rows;
	*data = NULL;
	if (kz_db_query(c,
			"SELECT id, name, filename, content_type, size, sha256, gated, downloads,"
			" created_at, updated_at FROM assets ORDER BY id",
			NULL, 0, &rows, err) < 0)
		return -1;
	*data = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(*data, row_to_asset(&rows, i, 0));
	kz_rows_free(&rows);
	return 0;
}

int kz_store_asset_downloaded(kz_conn *c, int64_t id, kz_err *err)
{
	kz_val p[1] = {KZ_INT(id)};
	return kz_db_exec(c, "UPDATE assets SET downloads = downloads + 1 WHERE id = $1", p, 1,
			  err) < 0
		       ? -1
		       : 0;
}

/* ---- landing pages ---- */

#define PAGE_SELECT                                                                                \
	"SELECT id, slug, title, definition, published, created_at, updated_at FROM pages"

static json_t *row_to_page(const kz_rows *r, int i)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", kz_cell_int(r, i, 0));
	json_object_set_new(o, "slug", kz_cell_str(r, i, 1));
	json_object_set_new(o, "title", kz_cell_str(r, i, 2));
	merge_doc(o, r, i, 3);
	json_object_set_new(o, "published", json_boolean(kz_rows_int(r, i, 4)));
	json_object_set_new(o, "created_at", kz_cell_time(r, i, 5));
	json_object_set_new(o, "updated_at", kz_cell_time(r, i, 6));
	json_object_set_new(o, "updated_at_ms", kz_cell_int(r, i, 6));
	return o;
}

static int page_one(kz_conn *c, const char *where, kz_val p, json_t **out, int *found,
		    kz_err *err)
{
	kz_rows rows;
	char sql[256];
	snprintf(sql, sizeof sql, PAGE_SELECT " WHERE %s", where);
	*out = NULL;
	*found = 0;
	if (kz_db_query(c, sql, &p, 1, &rows, err) < 0)
		return -1;
	if (rows.nrows) {
		*out = row_to_page(&rows, 0);
		*found = 1;
	}
	kz_rows_free(&rows);
	return 0;
}

int kz_store_page_get(kz_conn *c, int64_t id, json_t **out, kz_err *err)
{
	int found;
	if (page_one(c, "id = $1", KZ_INT(id), out, &found, err) < 0)
		return -1;
	if (!found)
		return kz_err_set(err, 404, "not_found", "id", "no page with id %" PRId64, id);
	return 0;
}

int kz_store_page_by_slug(kz_conn *c, const char *slug, json_t **out, kz_err *err)
{
	int found;
	return page_one(c, "slug = $1", KZ_TEXT(slug), out, &found, err);
}

int kz_store_page_save(kz_conn *c, const json_t *rec, const json_t *definition, int64_t *id,
		       kz_err *err)
{
	char *def = kz_jdump(definition);
	kz_val p[6] = {KZ_TEXT(kz_jstr(rec, "slug")),
		       KZ_TEXT(kz_jstr(rec, "title")),
		       KZ_TEXT(def),
		       KZ_INT(json_is_true(json_object_get(rec, "published"))),
		       KZ_INT(kz_now_ms()),
		       KZ_INT(*id)};
	int r, found = 0;
	if (*id == 0)
		r = kz_db_scalar_int(c,
				     "INSERT INTO pages(slug, title, definition, published, created_at,"
				     " updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
				     p, 5, id, &found, err);
	else {
		r = kz_db_exec(c,
			       "UPDATE pages SET slug = $1, title = $2, definition = $3,"
			       " published = $4, updated_at = $5 WHERE id = $6",
			       p, 6, err);
		if (r == 0)
			r = kz_err_set(err, 404, "not_found", "id", "no page with id %" PRId64, *id);
	}
	free(def);
	if (r == KZ_DB_UNIQUE)
		kz_err_set(err, 409, "conflict", "slug", "another page already has this slug");
	return r < 0 ? -1 : 0;
}

int kz_store_page_delete(kz_conn *c, int64_t id, kz_err *err)
{
	kz_val p[1] = {KZ_INT(id)};
	int r = kz_db_exec(c, "DELETE FROM pages WHERE id = $1", p, 1, err);
	if (r == 0)
		return kz_err_set(err, 404, "not_found", "id", "no page with id %" PRId64, id);
	return r < 0 ? -1 : 0;
}

int kz_store_page_list(kz_conn *c, int published_only, json_t **data, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(published_only)};
	*data = NULL;
	if (kz_db_query(c, PAGE_SELECT " WHERE ($1 = 0 OR published = 1) ORDER BY id", p, 1, &rows,
			err) < 0)
		return -1;
	*data = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(*data, row_to_page(&rows, i));
	kz_rows_free(&rows);
	return 0;
}

