/* event.c — the events table in SQL: idempotent inserts, counts, newest-first pages. */
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

static kz_val id_or_null(int64_t v)
{
	return v ? KZ_INT(v) : KZ_NULLV;
}

int kz_store_event_insert(kz_conn *c, const kz_event_row *e, int *inserted, kz_err *err)
{
	kz_val p[11] = {
		id_or_null(e->contact_id),
		id_or_null(e->visitor_id),
		id_or_null(e->site_id),
		KZ_TEXT(e->type),
		KZ_TEXT(e->name),
		KZ_TEXT(e->properties ? e->properties : "{}"),
		KZ_TEXT(e->context ? e->context : "{}"),
		KZ_TEXT(e->message_id),
		KZ_INT(e->occurred_at),
		KZ_INT(e->received_at),
		id_or_null(e->session_id),
	};
	/* A message_id stored before makes this a no-op: retries are idempotent. */
	int r = kz_db_exec(
		c,
		"INSERT INTO events(contact_id, visitor_id, site_id, type, name, properties,"
		" context, message_id, occurred_at, received_at, session_id)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
		" ON CONFLICT DO NOTHING",
		p, 11, err);
	*inserted = r > 0;
	if (r < 0)
		return -1;
	return *inserted && e->contact_id > 0 ? kz_store_feed_note(c, KZ_FEED_EVENTS, e->contact_id, err)
					       : 0;
}

int kz_store_event_seen(kz_conn *c, const char *message_id, int *seen, kz_err *err)
{
	kz_val p[1] = {KZ_TEXT(message_id)};
	int64_t one = 0;
	if (kz_db_scalar_int(c, "SELECT 1 FROM events WHERE message_id = $1", p, 1, &one, seen,
			     err) < 0)
		return -1;
	return 0;
}

int kz_store_event_count(kz_conn *c, const char *name, int64_t contact_id, int64_t since_ms,
			 int64_t *n, kz_err *err)
{
	kz_buf sql;
	kz_val p[3];
	int np = 0, found = 0, r;
	kz_buf_init(&sql, 0);
	kz_buf_adds(&sql, "SELECT COUNT(*) FROM events WHERE 1=1");
	if (name) {
		p[np++] = KZ_TEXT(name);
		kz_buf_addf(&sql, " AND name = $%d", np);
	}
	if (contact_id) {
		p[np++] = KZ_INT(contact_id);
		kz_buf_addf(&sql, " AND contact_id = $%d", np);
	}
	if (since_ms) {
		p[np++] = KZ_INT(since_ms);
		kz_buf_addf(&sql, " AND occurred_at >= $%d", np);
	}
	r = kz_db_scalar_int(c, sql.data, p, np, n, &found, err);
	kz_buf_release(&sql);
	return r < 0 ? -1 : 0;
}

static json_t *row_to_event(const kz_rows *r, int i)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", kz_cell_int(r, i, 0));
	json_object_set_new(o, "type", kz_cell_str(r, i, 1));
	json_object_set_new(o, "name", kz_cell_str(r, i, 2));
	json_object_set_new(o, "properties", kz_cell_json(r, i, 3, "{}"));
	json_object_set_new(o, "context", kz_cell_json(r, i, 4, "{}"));
	json_object_set_new(o, "contact_id", kz_cell_int(r, i, 5));
	json_object_set_new(o, "visitor_id", kz_cell_int(r, i, 6));
	json_object_set_new(o, "site_id", kz_cell_int(r, i, 7));
	json_object_set_new(o, "session_id", kz_cell_int(r, i, 8));
	json_object_set_new(o, "message_id", kz_cell_str(r, i, 9));
	json_object_set_new(o, "occurred_at", kz_cell_time(r, i, 10));
	json_object_set_new(o, "received_at", kz_cell_time(r, i, 11));
	return o;
}

int kz_store_event_list(kz_conn *c, const kz_event_query *q, json_t **data, char **next_cursor,
			kz_err *err)
{
	kz_buf sql;
	kz_val p[5];
	kz_rows rows;
	int n = 0, limit = q->limit > 0 ? q->limit : 50, rc = -1;
	int64_t cur_ms = 0, cur_id = 0;
	*data = NULL;
	*next_cursor = NULL;
	if (q->cursor && *q->cursor) {
		char *end;
		cur_ms = strtoll(q->cursor, &end, 10);
		if (end == q->cursor || *end != ':' || (cur_id = strtoll(end + 1, &end, 10)) <= 0 ||
		    *end)
			return kz_err_set(err, 400, "invalid_parameter", "cursor",
					  "cursor is not one this server gave out; start again "
					  "without it");
	}
	kz_buf_init(&sql, 0);
	kz_buf_adds(&sql, "SELECT id, type, name, properties, context, contact_id, visitor_id,"
			  " site_id, session_id, message_id, occurred_at, received_at FROM events");
	if (q->contact_id) {
		p[n++] = KZ_INT(q->contact_id);
		kz_buf_addf(&sql, " WHERE contact_id = $%d", n);
	} else {
		p[n++] = KZ_INT(q->visitor_id);
		kz_buf_addf(&sql, " WHERE visitor_id = $%d", n);
	}
	if (q->type) {
		p[n++] = KZ_TEXT(q->type);
		kz_buf_addf(&sql, " AND type = $%d", n);
	}
	if (q->cursor && *q->cursor) {
		p[n++] = KZ_INT(cur_ms);
		p[n++] = KZ_INT(cur_id);
		kz_buf_addf(&sql, " AND (occurred_at < $%d OR (occurred_at = $%d AND id < $%d))",
			    n - 1, n - 1, n);
	}
	p[n++] = KZ_INT(limit + 1);
	kz_buf_addf(&sql, " ORDER BY occurred_at DESC, id DESC LIMIT $%d", n);
	if (kz_db_query(c, sql.data, p, n, &rows, err) < 0)
		goto out;
	*data = json_array();
	for (int i = 0; i < rows.nrows && i < limit; i++)
		json_array_append_new(*data, row_to_event(&rows, i));
	if (rows.nrows > limit) {
		kz_buf b;
		kz_buf_init(&b, 0);
		kz_buf_addf(&b, "%" PRId64 ":%" PRId64, kz_rows_int(&rows, limit - 1, 10),
			    kz_rows_int(&rows, limit - 1, 0));
		*next_cursor = kz_buf_detach(&b, NULL);
	}
	kz_rows_free(&rows);
	rc = 0;
out:
	kz_buf_release(&sql);
	return rc;
}

/* ---- retention ---- */

#define DAY_MS 86400000

int kz_store_event_prune(kz_conn *c, int64_t site_id, int64_t before_ms, int limit,
			 int64_t *deleted, kz_err *err)
{
	const char *site = site_id > 0	       ? "site_id = $2"
			   : site_id == KZ_SITE_GONE ? "site_id IS NOT NULL AND site_id NOT IN"
						       " (SELECT id FROM sites)"
						     : "site_id IS NULL";
	kz_val p[3] = {KZ_INT(before_ms), KZ_INT(site_id), KZ_INT(limit)};
	int np = site_id > 0 ? 2 : 1, found = 0, r;
	int64_t upto = before_ms;
	char sql[640];
	*deleted = 0;
	if (kz_conn_is_pg(c)) {
		int64_t got = 0;
		/* Two nodes folding the same events would count them twice. */
		if (kz_db_scalar_int(c,
				     "SELECT CASE WHEN pg_try_advisory_xact_lock(7412002) THEN 1"
				     " ELSE 0 END",
				     NULL, 0, &got, &found, err) < 0)
			return -1;
		if (!got)
			return 0;
	}
	/* This call's share: up to the time of the limit-th oldest expired event. */
	snprintf(sql, sizeof sql,
		 "SELECT occurred_at FROM events WHERE occurred_at < $1 AND %s"
		 " ORDER BY occurred_at LIMIT 1 OFFSET $%d",
		 site, np + 1);
	p[np] = KZ_INT(limit);
	if (kz_db_scalar_int(c, sql, p, np + 1, &upto, &found, err) < 0)
		return -1;
	/* Everything at that very millisecond goes too, so a call always makes progress. */
	upto = found ? upto + 1 : before_ms;
	p[0] = KZ_INT(upto);
	snprintf(sql, sizeof sql,
		 "INSERT INTO event_rollups(contact_id, day, name, count)"
		 " SELECT contact_id, occurred_at / %d, name, COUNT(*) FROM events"
		 " WHERE occurred_at < $1 AND %s AND contact_id IS NOT NULL"
		 " GROUP BY contact_id, occurred_at / %d, name"
		 " ON CONFLICT (contact_id, day, name) DO UPDATE"
		 " SET count = event_rollups.count + excluded.count",
		 DAY_MS, site, DAY_MS);
	if (kz_db_exec(c, sql, p, np, err) < 0)
		return -1;
	snprintf(sql, sizeof sql, "DELETE FROM events WHERE occurred_at < $1 AND %s", site);
	r = kz_db_exec(c, sql, p, np, err);
	if (r < 0)
		return -1;
	*deleted = r;
	/* Anonymous visitors not seen since the cut-off go with their sessions (and their last
	 * events, all older than it): nothing about them is kept past retention. */
	p[0] = KZ_INT(before_ms);
	snprintf(sql, sizeof sql,
		 "DELETE FROM visitors WHERE last_seen < $1 AND contact_id IS NULL AND %s",
		 site_id > 0		     ? "site_id = $2"
		 : site_id == KZ_SITE_GONE ? "site_id > 0 AND site_id NOT IN (SELECT id FROM sites)"
					   : "site_id <= 0");
	if (kz_db_exec(c, sql, p, np, err) < 0)
		return -1;
	return 0;
}

int kz_store_event_rollups(kz_conn *c, int64_t contact_id, json_t **data, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(contact_id)};
	*data = NULL;
	if (kz_db_query(c,
			"SELECT day, name, count FROM event_rollups WHERE contact_id = $1"
			" ORDER BY day, name",
			p, 1, &rows, err) < 0)
		return -1;
	*data = json_array();
	for (int i = 0; i < rows.nrows; i++) {
		char day[40];
		kz_time_iso(kz_rows_int(&rows, i, 0) * DAY_MS, day, sizeof day);
		day[10] = '\0'; /* the date part of 2026-11-24T00:00:00Z */
		json_array_append_new(*data, json_pack("{s:s, s:o, s:o}", "day", day, "name",
						       kz_cell_str(&rows, i, 1), "count",
						       kz_cell_int(&rows, i, 2)));
	}
	kz_rows_free(&rows);
	return 0;
}

int kz_store_evlog_pos_get(kz_conn *c, const char *log_id, int64_t *seq, int *found, kz_err *err)
{
	kz_val p[1] = {KZ_TEXT(log_id)};
	*seq = 0;
	return kz_db_scalar_int(c, "SELECT seq FROM event_log_pos WHERE log_id = $1", p, 1, seq,
				found, err) < 0
		       ? -1
		       : 0;
}

int kz_store_evlog_pos_set(kz_conn *c, const char *log_id, int64_t seq, kz_err *err)
{
	kz_val p[3] = {KZ_TEXT(log_id), KZ_INT(seq), KZ_INT(kz_now_ms())};
	return kz_db_exec(c,
			  "INSERT INTO event_log_pos(log_id, seq, updated_at) VALUES ($1, $2, $3)"
			  " ON CONFLICT (log_id) DO UPDATE SET seq = excluded.seq,"
			  " updated_at = excluded.updated_at",
			  p, 3, err) < 0
		       ? -1
		       : 0;
}

int kz_store_event_recent_ids(kz_conn *c, int limit, void (*fn)(void *ctx, const char *id),
			      void *ctx, kz_err *err)
{
	kz_val p[1] = {KZ_INT(limit)};
	kz_rows rows;
	if (kz_db_query(c,
			"SELECT message_id FROM events WHERE message_id IS NOT NULL"
			" ORDER BY id DESC LIMIT $1",
			p, 1, &rows, err) < 0)
		return -1;
	for (int i = 0; i < rows.nrows; i++)
		fn(ctx, kz_rows_get(&rows, i, 0));
	kz_rows_free(&rows);
	return 0;
}
