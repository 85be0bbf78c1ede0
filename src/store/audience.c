/* audience.c — the audience's tables in SQL: segments and members, scoring rules, scores and
 * their log, lifecycle stages; and the bulk scans that build the in-memory index. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "store/db.h"
#include "store/rowjson.h"
#include "store/store.h"

#include "base/banned.h"

#define SCAN_PAGE 20000

/* Run a keyset-paged query: `sql` takes $1 (the last key) and $2 (the page size), orders by
 * its first column and returns it; each row goes to fn. With `whole_keys`, a page's trailing
 * rows of one key are re-read on the next page, so fn never sees a key split in two. */
static int scan(kz_conn *c, const char *sql, const kz_val *extra, int nextra, kz_scan_fn fn,
		void *ctx, int whole_keys, kz_err *err)
{
	int64_t after = 0;
	for (;;) {
		kz_rows rows;
		kz_val p[4];
		int upto;
		p[0] = KZ_INT(after);
		p[1] = KZ_INT(SCAN_PAGE);
		for (int i = 0; i < nextra && i < 2; i++)
			p[2 + i] = extra[i];
		if (kz_db_query(c, sql, p, 2 + nextra, &rows, err) < 0)
			return -1;
		upto = rows.nrows;
		if (whole_keys && rows.nrows == SCAN_PAGE) {
			int64_t last = kz_rows_int(&rows, rows.nrows - 1, 0);
			while (upto > 0 && kz_rows_int(&rows, upto - 1, 0) == last)
				upto--;
			if (upto == 0) /* one key fills a page: take it as it is */
				upto = rows.nrows;
		}
		for (int i = 0; i < upto; i++) {
			const char *cells[8] = {0};
			for (int k = 0; k < rows.ncols && k < 8; k++)
				cells[k] = kz_rows_get(&rows, i, k);
			if (fn(ctx, cells) < 0) {
				kz_rows_free(&rows);
				return kz_err_set(err, 500, "internal", NULL, "scan stopped");
			}
		}
		int full = rows.nrows == SCAN_PAGE;
		if (upto > 0)
			after = kz_rows_int(&rows, upto - 1, 0);
		kz_rows_free(&rows);
		if (!full)
			return 0;
	}
}

/* ---- segments ---- */

#define SEG_SELECT                                                                                 \
	"SELECT id, name, type, filter, description, created_at, updated_at FROM segments"

static json_t *row_to_segment(const kz_rows *r, int i)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", kz_cell_int(r, i, 0));
	json_object_set_new(o, "name", kz_cell_str(r, i, 1));
	json_object_set_new(o, "type", kz_cell_str(r, i, 2));
	json_object_set_new(o, "filter", kz_cell_json(r, i, 3, "null"));
	json_object_set_new(o, "description", kz_cell_str(r, i, 4));
	json_object_set_new(o, "created_at", kz_cell_time(r, i, 5));
	json_object_set_new(o, "updated_at", kz_cell_time(r, i, 6));
	return o;
}

int kz_store_segment_get(kz_conn *c, int64_t id, json_t **out, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(id)};
	*out = NULL;
	if (kz_db_query(c, SEG_SELECT " WHERE id = $1", p, 1, &rows, err) < 0)
		return -1;
	if (rows.nrows == 0) {
		kz_rows_free(&rows);
		return kz_err_set(err, 404, "not_found", "id", "no segment with id %" PRId64, id);
	}
	*out = row_to_segment(&rows, 0);
	kz_rows_free(&rows);
	return 0;
}

int kz_store_segment_save(kz_conn *c, json_t *rec, int64_t *id, kz_err *err)
{
	const json_t *f = json_object_get(rec, "filter");
	char *filter = f && !json_is_null(f) ? kz_jdump(f) : NULL;
	kz_val p[6] = {
		KZ_TEXT(kz_jstr(rec, "name")), KZ_TEXT(kz_jstr(rec, "type")), KZ_TEXT(filter),
		KZ_TEXT(kz_jstr(rec, "description")), KZ_INT(kz_now_ms()), KZ_INT(*id),
	};
	int r, found = 0;
	if (*id == 0) {
		r = kz_db_scalar_int(c,
				     "INSERT INTO segments(name, type, filter, description, created_at,"
				     " updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
				     p, 5, id, &found, err);
	} else {
		r = kz_db_exec(c,
			       "UPDATE segments SET name = $1, type = $2, filter = $3, description = $4,"
			       " updated_at = $5 WHERE id = $6",
			       p, 6, err);
		if (r == 0)
			r = kz_err_set(err, 404, "not_found", "id", "no segment with id %" PRId64,
				       *id);
	}
	free(filter);
	if (r < 0)
		return -1;
	return kz_store_feed_note(c, KZ_FEED_CONFIG, 0, err);
}

int kz_store_segment_delete(kz_conn *c, int64_t id, kz_err *err)
{
	kz_val p[1] = {KZ_INT(id)};
	int r;
	/* members first: PostgreSQL and SQLite both cascade, but this keeps SQLite's cascade
	 * from walking the members index row by row inside the DELETE */
	if (kz_db_exec(c, "DELETE FROM segment_members WHERE segment_id = $1", p, 1, err) < 0)
		return -1;
	r = kz_db_exec(c, "DELETE FROM segments WHERE id = $1", p, 1, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return kz_err_set(err, 404, "not_found", "id", "no segment with id %" PRId64, id);
	return kz_store_feed_note(c, KZ_FEED_CONFIG, 0, err);
}

int kz_store_segment_list(kz_conn *c, json_t **data, kz_err *err)
{
	kz_rows rows;
	*data = NULL;
	if (kz_db_query(c, SEG_SELECT " ORDER BY id", NULL, 0, &rows, err) < 0)
		return -1;
	*data = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(*data, row_to_segment(&rows, i));
	kz_rows_free(&rows);
	return 0;
}

int kz_store_segment_member_scan(kz_conn *c, kz_scan_fn fn, void *ctx, kz_err *err)
{
	return scan(c,
		    "SELECT contact_id, segment_id FROM segment_members WHERE contact_id > $1"
		    " ORDER BY contact_id LIMIT $2",
		    NULL, 0, fn, ctx, 1, err);
}

int kz_store_segment_member_set(kz_conn *c, int64_t segment, int64_t contact, int in, int64_t at,
				int *changed, kz_err *err)
{
	kz_val p[3] = {KZ_INT(contact), KZ_INT(segment), KZ_INT(at)};
	/* The count of rows written says whether this call made the change: two nodes that
	 * evaluate the same contact both try, and only one of them records the event. */
	int r = in ? kz_db_exec(c,
				"INSERT INTO segment_members(contact_id, segment_id, added_at)"
				" VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
				p, 3, err)
		   : kz_db_exec(c,
				"DELETE FROM segment_members WHERE contact_id = $1 AND segment_id = $2",
				p, 2, err);
	if (r < 0)
		return -1;
	if (changed)
		*changed = r > 0;
	return 0;
}

int kz_store_contact_lists(kz_conn *c, int64_t contact, kz_scan_fn fn, void *ctx, kz_err *err)
{
	kz_val p[1] = {KZ_INT(contact)};
	return scan(c,
		    "SELECT m.segment_id FROM segment_members m JOIN segments s ON s.id = m.segment_id"
		    " WHERE m.segment_id > $1 AND m.contact_id = $3 AND s.type = 'static'"
		    " ORDER BY m.segment_id LIMIT $2",
		    p, 1, fn, ctx, 0, err);
}

/* ---- bulk reads for the index ---- */

int kz_store_event_scan(kz_conn *c, int64_t contact_id, kz_scan_fn fn, void *ctx, kz_err *err)
{
	kz_val p[1] = {KZ_INT(contact_id)};
	if (contact_id)
		return scan(c,
			    "SELECT id, contact_id, name, occurred_at, properties, context FROM events"
			    " WHERE id > $1 AND contact_id = $3 ORDER BY id LIMIT $2",
			    p, 1, fn, ctx, 0, err);
	return scan(c,
		    "SELECT id, contact_id, name, occurred_at, properties, context FROM events"
		    " WHERE id > $1 AND contact_id IS NOT NULL ORDER BY id LIMIT $2",
		    NULL, 0, fn, ctx, 0, err);
}

int kz_store_rollup_scan(kz_conn *c, int64_t contact_id, kz_scan_fn fn, void *ctx, kz_err *err)
{
	kz_val p[1] = {KZ_INT(contact_id)};
	if (contact_id)
		return scan(c,
			    "SELECT contact_id, day, name, count FROM event_rollups"
			    " WHERE contact_id > $1 AND contact_id = $3 ORDER BY contact_id LIMIT $2",
			    p, 1, fn, ctx, 1, err);
	return scan(c,
		    "SELECT contact_id, day, name, count FROM event_rollups WHERE contact_id > $1"
		    " ORDER BY contact_id LIMIT $2",
		    NULL, 0, fn, ctx, 1, err);
}

int kz_store_attribution_scan(kz_conn *c, kz_scan_fn fn, void *ctx, kz_err *err)
{
	return scan(c,
		    "SELECT contact_id, first_touch, last_touch FROM contact_attribution"
		    " WHERE contact_id > $1 ORDER BY contact_id LIMIT $2",
		    NULL, 0, fn, ctx, 0, err);
}

int kz_store_contact_lock(kz_conn *c, int64_t id, kz_err *err)
{
	kz_val p[1] = {KZ_INT(id)};
	kz_rows rows;
	/* SQLite: the caller's write transaction already excludes every other writer. */
	if (!kz_conn_is_pg(c))
		return 0;
	/* FOR NO KEY UPDATE: it waits for every other change of the contact's row, but lets other
	 * transactions insert rows that refer to the contact (events, memberships), as another
	 * node's engine does while it holds membership rows this transaction may want next. */
	if (kz_db_query(c, "SELECT id FROM contacts WHERE id = $1 FOR NO KEY UPDATE", p, 1, &rows,
			err) < 0)
		return -1;
	kz_rows_free(&rows);
	return 0;
}

/* ---- scoring rules ---- */

static json_t *row_to_rule(const kz_rows *r, int i)
{
	json_t *o = kz_cell_json(r, i, 3, "{}");
	if (!json_is_object(o)) {
		json_decref(o);
		o = json_object();
	}
	json_object_set_new(o, "id", kz_cell_int(r, i, 0));
	json_object_set_new(o, "name", kz_cell_str(r, i, 1));
	json_object_set_new(o, "kind", kz_cell_str(r, i, 2));
	json_object_set_new(o, "created_at", kz_cell_time(r, i, 4));
	json_object_set_new(o, "updated_at", kz_cell_time(r, i, 5));
	return o;
}

#define RULE_SELECT "SELECT id, name, kind, rule, created_at, updated_at FROM scoring_rules"

int kz_store_score_rule_get(kz_conn *c, int64_t id, json_t **out, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(id)};
	*out = NULL;
	if (kz_db_query(c, RULE_SELECT " WHERE id = $1", p, 1, &rows, err) < 0)
		return -1;
	if (rows.nrows == 0) {
		kz_rows_free(&rows);
		return kz_err_set(err, 404, "not_found", "id", "no scoring rule with id %" PRId64,
				  id);
	}
	*out = row_to_rule(&rows, 0);
	kz_rows_free(&rows);
	return 0;
}

int kz_store_score_rule_save(kz_conn *c, json_t *rec, int64_t *id, kz_err *err)
{
	json_t *body = json_deep_copy(rec);
	char *text;
	int r, found = 0;
	static const char *const meta[] = {"id", "name", "kind", "created_at", "updated_at"};
	for (int i = 0; i < 5; i++)
		json_object_del(body, meta[i]);
	text = kz_jdump(body);
	json_decref(body);
	{
		kz_val p[5] = {KZ_TEXT(kz_jstr(rec, "name")), KZ_TEXT(kz_jstr(rec, "kind")),
			       KZ_TEXT(text), KZ_INT(kz_now_ms()), KZ_INT(*id)};
		if (*id == 0) {
			r = kz_db_scalar_int(c,
					     "INSERT INTO scoring_rules(name, kind, rule, created_at,"
					     " updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id",
					     p, 4, id, &found, err);
		} else {
			r = kz_db_exec(c,
				       "UPDATE scoring_rules SET name = $1, kind = $2, rule = $3,"
				       " updated_at = $4 WHERE id = $5",
				       p, 5, err);
			if (r == 0)
				r = kz_err_set(err, 404, "not_found", "id",
					       "no scoring rule with id %" PRId64, *id);
		}
	}
	free(text);
	if (r < 0)
		return -1;
	return kz_store_feed_note(c, KZ_FEED_CONFIG, 0, err);
}

int kz_store_score_rule_delete(kz_conn *c, int64_t id, kz_err *err)
{
	kz_val p[1] = {KZ_INT(id)};
	int r = kz_db_exec(c, "DELETE FROM scoring_rules WHERE id = $1", p, 1, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return kz_err_set(err, 404, "not_found", "id", "no scoring rule with id %" PRId64,
				  id);
	return kz_store_feed_note(c, KZ_FEED_CONFIG, 0, err);
}

int kz_store_score_rule_list(kz_conn *c, json_t **data, kz_err *err)
{
	kz_rows rows;
	*data = NULL;
	if (kz_db_query(c, RULE_SELECT " ORDER BY id", NULL, 0, &rows, err) < 0)
		return -1;
	*data = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(*data, row_to_rule(&rows, i));
	kz_rows_free(&rows);
	return 0;
}

/* ---- scores ---- */

int kz_store_score_add(kz_conn *c, int64_t contact, const char *category, int64_t delta,
		       int64_t at, int64_t *points, kz_err *err)
{
	kz_val p[4] = {KZ_INT(contact), KZ_TEXT(category), KZ_INT(delta), KZ_INT(at)};
	int found = 0;
	return kz_db_scalar_int(c,
				"INSERT INTO contact_scores(contact_id, category, points,"
				" last_activity_at, decay_steps) VALUES ($1, $2, $3, $4, 0)"
				" ON CONFLICT (contact_id, category) DO UPDATE SET"
				" points = contact_scores.points + excluded.points,"
				" last_activity_at = excluded.last_activity_at, decay_steps = 0"
				" RETURNING points",
				p, 4, points, &found, err) < 0
		       ? -1
		       : kz_store_feed_note(c, KZ_FEED_AUDIENCE, contact, err);
}

int kz_store_score_decay(kz_conn *c, int64_t contact, const char *category, int64_t points,
			 int64_t steps, kz_err *err)
{
	kz_val p[4] = {KZ_INT(points), KZ_INT(steps), KZ_INT(contact), KZ_TEXT(category)};
	return kz_db_exec(c,
			  "UPDATE contact_scores SET points = $1, decay_steps = $2"
			  " WHERE contact_id = $3 AND category = $4",
			  p, 4, err) < 0
		       ? -1
		       : kz_store_feed_note(c, KZ_FEED_AUDIENCE, contact, err);
}

int kz_store_score_log(kz_conn *c, int64_t contact, int64_t rule, const char *category,
		       int64_t points, const char *reason, int64_t at, kz_err *err)
{
	kz_val p[6] = {KZ_INT(contact), rule ? KZ_INT(rule) : KZ_NULLV, KZ_TEXT(category),
		       KZ_INT(points), KZ_TEXT(reason), KZ_INT(at)};
	return kz_db_exec(c,
			  "INSERT INTO score_log(contact_id, rule_id, category, points, reason, at)"
			  " VALUES ($1, $2, $3, $4, $5, $6)",
			  p, 6, err) < 0
		       ? -1
		       : 0;
}

int kz_store_score_log_count(kz_conn *c, int64_t contact, int64_t rule, int64_t since,
			     int64_t until, int64_t *n, kz_err *err)
{
	kz_val p[4] = {KZ_INT(contact), KZ_INT(rule), KZ_INT(since), KZ_INT(until)};
	int found;
	return kz_db_scalar_int(c,
				"SELECT COUNT(*) FROM score_log WHERE contact_id = $1 AND rule_id = $2"
				" AND at >= $3 AND at < $4",
				p, 4, n, &found, err);
}

int kz_store_score_log_sum(kz_conn *c, int64_t contact, int64_t rule, int64_t *sum, kz_err *err)
{
	kz_val p[2] = {KZ_INT(contact), KZ_INT(rule)};
	int found;
	return kz_db_scalar_int(c,
				"SELECT COALESCE(SUM(points), 0) FROM score_log WHERE contact_id = $1"
				" AND rule_id = $2",
				p, 2, sum, &found, err);
}

int kz_store_score_history(kz_conn *c, int64_t contact, int limit, json_t **data, kz_err *err)
{
	kz_val p[2] = {KZ_INT(contact), KZ_INT(limit)};
	kz_rows rows;
	*data = NULL;
	if (kz_db_query(c,
			"SELECT rule_id, category, points, reason, at FROM score_log"
			" WHERE contact_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
			p, 2, &rows, err) < 0)
		return -1;
	*data = json_array();
	for (int i = 0; i < rows.nrows; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "rule_id", kz_cell_int(&rows, i, 0));
		json_object_set_new(o, "category", kz_cell_str(&rows, i, 1));
		json_object_set_new(o, "points", kz_cell_int(&rows, i, 2));
		json_object_set_new(o, "reason", kz_cell_str(&rows, i, 3));
		json_object_set_new(o, "at", kz_cell_time(&rows, i, 4));
		json_array_append_new(*data, o);
	}
	kz_rows_free(&rows);
	return 0;
}

int kz_store_score_scan(kz_conn *c, int64_t before, kz_scan_fn fn, void *ctx, kz_err *err)
{
	kz_val p[1] = {KZ_INT(before)};
	return scan(c,
		    "SELECT contact_id, category, points, last_activity_at, decay_steps"
		    " FROM contact_scores WHERE contact_id > $1 AND last_activity_at < $3"
		    " ORDER BY contact_id LIMIT $2",
		    p, 1, fn, ctx, 1, err);
}

int kz_store_score_clear(kz_conn *c, kz_err *err)
{
	if (kz_db_exec(c, "DELETE FROM contact_scores", NULL, 0, err) < 0 ||
	    kz_db_exec(c, "DELETE FROM score_log", NULL, 0, err) < 0)
		return -1;
	return kz_store_feed_note(c, KZ_FEED_AUDIENCE, 0, err); /* ref 0: everyone */
}

/* ---- stages ---- */

int kz_store_stage_set(kz_conn *c, int64_t contact, const char *stage, const char *previous,
		       const char *reason, int64_t at, kz_err *err)
{
	kz_val p[5] = {KZ_INT(contact), KZ_TEXT(stage), KZ_INT(at), KZ_TEXT(previous),
		       KZ_TEXT(reason)};
	if (kz_db_exec(c,
		       "INSERT INTO contact_stages(contact_id, stage, since) VALUES ($1, $2, $3)"
		       " ON CONFLICT (contact_id) DO UPDATE SET stage = excluded.stage,"
		       " since = excluded.since",
		       p, 3, err) < 0)
		return -1;
	return kz_db_exec(c,
			  "INSERT INTO stage_history(contact_id, stage, previous, reason, at)"
			  " VALUES ($1, $2, $4, $5, $3)",
			  p, 5, err) < 0
		       ? -1
		       : kz_store_feed_note(c, KZ_FEED_AUDIENCE, contact, err);
}

int kz_store_stage_scan(kz_conn *c, kz_scan_fn fn, void *ctx, kz_err *err)
{
	return scan(c,
		    "SELECT contact_id, stage FROM contact_stages WHERE contact_id > $1"
		    " ORDER BY contact_id LIMIT $2",
		    NULL, 0, fn, ctx, 0, err);
}

int kz_store_stage_history(kz_conn *c, int64_t contact, json_t **data, kz_err *err)
{
	kz_val p[1] = {KZ_INT(contact)};
	kz_rows rows;
	*data = NULL;
	if (kz_db_query(c,
			"SELECT stage, previous, reason, at FROM stage_history WHERE contact_id = $1"
			" ORDER BY at, id",
			p, 1, &rows, err) < 0)
		return -1;
	*data = json_array();
	for (int i = 0; i < rows.nrows; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "stage", kz_cell_str(&rows, i, 0));
		json_object_set_new(o, "previous", kz_cell_str(&rows, i, 1));
		json_object_set_new(o, "reason", kz_cell_str(&rows, i, 2));
		json_object_set_new(o, "at", kz_cell_time(&rows, i, 3));
		json_array_append_new(*data, o);
	}
	kz_rows_free(&rows);
	return 0;
}

int kz_store_contact_audience(kz_conn *c, json_t *contact, kz_err *err)
{
	kz_val p[1] = {KZ_INT(json_integer_value(json_object_get(contact, "id")))};
	kz_rows rows;
	json_t *scores = json_object();
	int64_t total = 0;
	if (kz_db_query(c, "SELECT category, points FROM contact_scores WHERE contact_id = $1", p, 1,
			&rows, err) < 0) {
		json_decref(scores);
		return -1;
	}
	for (int i = 0; i < rows.nrows; i++) {
		json_object_set_new(scores, kz_rows_get(&rows, i, 0), json_integer(kz_rows_int(&rows, i, 1)));
		total += kz_rows_int(&rows, i, 1);
	}
	kz_rows_free(&rows);
	json_object_set_new(contact, "score", json_integer(total));
	json_object_set_new(contact, "scores", scores);
	if (kz_db_query(c, "SELECT stage FROM contact_stages WHERE contact_id = $1", p, 1, &rows,
			err) < 0)
		return -1;
	json_object_set_new(contact, "stage", rows.nrows ? kz_cell_str(&rows, 0, 0) : json_null());
	kz_rows_free(&rows);
	return 0;
}

int kz_store_audience_move_contact(kz_conn *c, int64_t from, int64_t into, kz_err *err)
{
	kz_val p[2] = {KZ_INT(from), KZ_INT(into)};
	static const char *const sql[] = {
		"INSERT INTO contact_scores(contact_id, category, points, last_activity_at, decay_steps)"
		" SELECT $2, category, points, last_activity_at, decay_steps FROM contact_scores"
		" WHERE contact_id = $1"
		" ON CONFLICT (contact_id, category) DO UPDATE SET"
		" points = contact_scores.points + excluded.points,"
		" decay_steps = CASE WHEN excluded.last_activity_at > contact_scores.last_activity_at"
		"   THEN excluded.decay_steps ELSE contact_scores.decay_steps END,"
		" last_activity_at = CASE WHEN excluded.last_activity_at > contact_scores.last_activity_at"
		"   THEN excluded.last_activity_at ELSE contact_scores.last_activity_at END",
		"UPDATE score_log SET contact_id = $2 WHERE contact_id = $1",
		"INSERT INTO contact_stages(contact_id, stage, since)"
		" SELECT $2, stage, since FROM contact_stages WHERE contact_id = $1"
		" ON CONFLICT (contact_id) DO NOTHING",
		"UPDATE stage_history SET contact_id = $2 WHERE contact_id = $1",
	};
	for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++)
		if (kz_db_exec(c, sql[i], p, 2, err) < 0)
			return -1;
	return 0;
}
