/* slot.c — personalization slots in SQL, and the counters of personalization and landing-page
 * variants (impressions, clicks, visits, conversions) added in batches. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "store/db.h"
#include "store/rowjson.h"
#include "store/store.h"

#include "base/banned.h"

#define SLOT_SELECT "SELECT id, name, definition, created_at, updated_at FROM slots"

static json_t *row_to_slot(const kz_rows *r, int i)
{
	json_t *o = kz_cell_json(r, i, 2, "{}");
	if (!json_is_object(o)) {
		json_decref(o);
		o = json_object();
	}
	json_object_set_new(o, "id", kz_cell_int(r, i, 0));
	json_object_set_new(o, "name", kz_cell_str(r, i, 1));
	json_object_set_new(o, "created_at", kz_cell_time(r, i, 3));
	json_object_set_new(o, "updated_at", kz_cell_time(r, i, 4));
	return o;
}

int kz_store_slot_get(kz_conn *c, int64_t id, json_t **out, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(id)};
	*out = NULL;
	if (kz_db_query(c, SLOT_SELECT " WHERE id = $1", p, 1, &rows, err) < 0)
		return -1;
	if (rows.nrows == 0) {
		kz_rows_free(&rows);
		return kz_err_set(err, 404, "not_found", "id", "no slot with id %" PRId64, id);
	}
	*out = row_to_slot(&rows, 0);
	kz_rows_free(&rows);
	return 0;
}

int kz_store_slot_save(kz_conn *c, const json_t *def, int64_t *id, kz_err *err)
{
	json_t *doc = json_deep_copy(def);
	char *text;
	int64_t now = kz_now_ms();
	int r, found = 0, insert = *id == 0;
	json_object_del(doc, "id");
	json_object_del(doc, "name");
	json_object_del(doc, "created_at");
	json_object_del(doc, "updated_at");
	json_object_del(doc, "stats");
	text = kz_jdump(doc);
	json_decref(doc);
	{
		kz_val p[4] = {KZ_TEXT(json_string_value(json_object_get(def, "name"))), KZ_TEXT(text),
			       KZ_INT(now), KZ_INT(*id)};
		if (*id == 0)
			r = kz_db_scalar_int(c,
					     "INSERT INTO slots(name, definition, created_at, updated_at)"
					     " VALUES ($1, $2, $3, $3) RETURNING id",
					     p, 3, id, &found, err);
		else
			r = kz_db_exec(c,
				       "UPDATE slots SET name = $1, definition = $2, updated_at = $3"
				       " WHERE id = $4",
				       p, 4, err);
	}
	free(text);
	if (r == KZ_DB_UNIQUE)
		return kz_err_set(err, 409, "conflict", "name",
				  "another slot is already called %s; names are what "
				  "data-kz-slot=\"…\" holds and must be unique",
				  json_string_value(json_object_get(def, "name")));
	if (!insert && r == 0)
		return kz_err_set(err, 404, "not_found", "id", "no slot with id %" PRId64, *id);
	return r < 0 ? -1 : 0;
}

int kz_store_slot_delete(kz_conn *c, int64_t id, kz_err *err)
{
	kz_val p[1] = {KZ_INT(id)};
	int r = kz_db_exec(c, "DELETE FROM slots WHERE id = $1", p, 1, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return kz_err_set(err, 404, "not_found", "id", "no slot with id %" PRId64, id);
	return 0;
}

int kz_store_slot_list(kz_conn *c, json_t **data, kz_err *err)
{
	kz_rows rows;
	*data = NULL;
	if (kz_db_query(c, SLOT_SELECT " ORDER BY name", NULL, 0, &rows, err) < 0)
		return -1;
	*data = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(*data, row_to_slot(&rows, i));
	kz_rows_free(&rows);
	return 0;
}

/* The counter tables: which table and which columns a kind means. */
static const char *const counter_sql[][3] = {
	[KZ_COUNT_SLOT_VIEW] = {"slot_stats", "slot_id, variant, impressions", "slots"},
	[KZ_COUNT_SLOT_CLICK] = {"slot_stats", "slot_id, variant, clicks", "slots"},
	[KZ_COUNT_PAGE_VISIT] = {"page_variant_stats", "page_id, variant, visits", "pages"},
	[KZ_COUNT_PAGE_CONVERSION] = {"page_variant_stats", "page_id, variant, conversions",
				      "pages"},
};

int kz_store_counter_add(kz_conn *c, int kind, int64_t id, const char *variant, int64_t n,
			 kz_err *err)
{
	char sql[400];
	const char *table = counter_sql[kind][0], *cols = counter_sql[kind][1];
	const char *col = strrchr(cols, ' ') + 1;
	kz_val p[3] = {KZ_INT(id), KZ_TEXT(variant), KZ_INT(n)};
	/* a slot or page deleted since the count was taken: the count goes with it */
	snprintf(sql, sizeof sql,
		 "INSERT INTO %s(%s) SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM %s WHERE id = $1)"
		 " ON CONFLICT (%.4s_id, variant) DO UPDATE SET %s = %s.%s + excluded.%s",
		 table, cols, counter_sql[kind][2], cols, col, table, col, col);
	return kz_db_exec(c, sql, p, 3, err) < 0 ? -1 : 0;
}

int kz_store_counter_get(kz_conn *c, int slot, int64_t id, json_t **out, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(id)};
	*out = NULL;
	if (kz_db_query(c,
			slot ? "SELECT variant, impressions, clicks FROM slot_stats WHERE slot_id = $1"
			     : "SELECT variant, visits, conversions FROM page_variant_stats"
			       " WHERE page_id = $1",
			p, 1, &rows, err) < 0)
		return -1;
	*out = json_object();
	for (int i = 0; i < rows.nrows; i++)
		json_object_set_new(*out, kz_rows_get(&rows, i, 0),
				    json_pack("{s:I, s:I}", slot ? "impressions" : "visits",
					      (json_int_t)kz_rows_int(&rows, i, 1),
					      slot ? "clicks" : "conversions",
					      (json_int_t)kz_rows_int(&rows, i, 2)));
	kz_rows_free(&rows);
	return 0;
}

int kz_store_visit_facts(kz_conn *c, const char *anon_id, kz_visit_row *out, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_TEXT(anon_id)};
	memset(out, 0, sizeof *out);
	if (kz_db_query(c,
			"SELECT v.id, v.contact_id, v.last_seen, v.last_touch,"
			" (SELECT COUNT(*) FROM sessions_web s WHERE s.visitor_id = v.id)"
			" FROM visitors v WHERE v.anon_id = $1 ORDER BY v.id LIMIT 1",
			p, 1, &rows, err) < 0)
		return -1;
	if (rows.nrows) {
		out->visitor_id = kz_rows_int(&rows, 0, 0);
		out->contact_id = kz_rows_int(&rows, 0, 1);
		out->last_seen = kz_rows_int(&rows, 0, 2);
		out->last_touch = kz_cell_json(&rows, 0, 3, "{}");
		out->sessions = kz_rows_int(&rows, 0, 4);
	}
	kz_rows_free(&rows);
	return 0;
}
