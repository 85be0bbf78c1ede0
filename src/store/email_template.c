/* email_template.c — saved email templates (layouts and starting points) in SQL. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "store/db.h"
#include "store/rowjson.h"
#include "store/store.h"

#include "base/banned.h"

#define TPL_COLS "id, name, description, subject, preheader, html, text, blocks, created_at, updated_at"

static json_t *row_to_template(const kz_rows *r, int i, int bodies)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", kz_cell_int(r, i, 0));
	json_object_set_new(o, "name", kz_cell_str(r, i, 1));
	json_object_set_new(o, "description", kz_cell_str(r, i, 2));
	json_object_set_new(o, "subject", kz_cell_str(r, i, 3));
	json_object_set_new(o, "preheader", kz_cell_str(r, i, 4));
	if (bodies) {
		json_object_set_new(o, "html", kz_cell_str(r, i, 5));
		json_object_set_new(o, "text", kz_cell_str(r, i, 6));
		json_object_set_new(o, "blocks", kz_cell_json(r, i, 7, "null"));
	}
	json_object_set_new(o, "created_at", kz_cell_time(r, i, 8));
	json_object_set_new(o, "updated_at", kz_cell_time(r, i, 9));
	return o;
}

int kz_store_template_get(kz_conn *c, int64_t id, json_t **out, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(id)};
	*out = NULL;
	if (kz_db_query(c, "SELECT " TPL_COLS " FROM email_templates WHERE id = $1", p, 1, &rows,
			err) < 0)
		return -1;
	if (rows.nrows == 0) {
		kz_rows_free(&rows);
		return kz_err_set(err, 404, "not_found", "id", "no email template with id %" PRId64,
				  id);
	}
	*out = row_to_template(&rows, 0, 1);
	kz_rows_free(&rows);
	return 0;
}

int kz_store_template_save(kz_conn *c, const json_t *rec, int64_t *id, kz_err *err)
{
	json_t *blocks = json_object_get(rec, "blocks");
	char *bj = blocks && !json_is_null(blocks) ? kz_jdump(blocks) : NULL;
	int64_t now = kz_now_ms();
	kz_val p[9] = {
		KZ_TEXT(kz_jstr(rec, "name")),      KZ_TEXT(kz_jstr(rec, "description")),
		KZ_TEXT(kz_jstr(rec, "subject")),   KZ_TEXT(kz_jstr(rec, "preheader")),
		KZ_TEXT(kz_jstr(rec, "html")),      KZ_TEXT(kz_jstr(rec, "text")),
		KZ_TEXT(bj),                        KZ_INT(now),
		KZ_INT(*id),
	};
	int r, found;
	if (!p[4].s)
		p[4] = KZ_TEXT("");
	if (*id == 0) {
		r = kz_db_scalar_int(c,
				     "INSERT INTO email_templates(name, description, subject, preheader,"
				     " html, text, blocks, created_at, updated_at)"
				     " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
				     p, 8, id, &found, err);
	} else {
		r = kz_db_exec(c,
			       "UPDATE email_templates SET name = $1, description = $2, subject = $3,"
			       " preheader = $4, html = $5, text = $6, blocks = $7, updated_at = $8"
			       " WHERE id = $9",
			       p, 9, err);
		if (r == 0)
			r = kz_err_set(err, 404, "not_found", "id",
				       "no email template with id %" PRId64, *id);
	}
	free(bj);
	return r < 0 ? -1 : 0;
}

int kz_store_template_delete(kz_conn *c, int64_t id, kz_err *err)
{
	kz_val p[1] = {KZ_INT(id)};
	int r = kz_db_exec(c, "DELETE FROM email_templates WHERE id = $1", p, 1, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return kz_err_set(err, 404, "not_found", "id", "no email template with id %" PRId64,
				  id);
	return 0;
}

int kz_store_template_list(kz_conn *c, json_t **data, kz_err *err)
{
	kz_rows rows;
	*data = NULL;
	if (kz_db_query(c, "SELECT " TPL_COLS " FROM email_templates ORDER BY name, id", NULL, 0,
			&rows, err) < 0)
		return -1;
	*data = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(*data, row_to_template(&rows, i, 0));
	kz_rows_free(&rows);
	return 0;
}
