/* feed.c — the change feed in SQL: one row per change that other nodes' audience indexes must
 * follow, written in the transaction of the change, and read back in commit-safe order. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/db.h"
#include "store/rowjson.h"
#include "store/store.h"

#include "base/banned.h"

/* Wall-clock ms: the feed's age is real time even when the server runs on a manual clock. */
static int64_t real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Was (kind, ref) noted earlier in this transaction? Remembers it if not. */
static int noted_before(kz_conn *c, int kind, int64_t ref)
{
	if (!c->in_tx)
		return 0;
	for (int i = 0; i < c->nfeed; i++)
		if (c->feed[i].kind == kind && c->feed[i].ref == ref)
			return 1;
	if (c->nfeed < KZ_FEED_NOTED)
		c->feed[c->nfeed++] = (struct kz_feed_noted){kind, ref};
	return 0;
}

int kz_store_feed_note(kz_conn *c, int kind, int64_t ref, kz_err *err)
{
	/* PostgreSQL fills xid (the writing transaction's id) by the column's default. */
	kz_val p[4] = {KZ_INT(kind), KZ_INT(ref), KZ_TEXT(kz_store_node_id(c->store)),
		       KZ_INT(real_ms())};
	if (noted_before(c, kind, ref))
		return 0;
	return kz_db_exec(c,
			  "INSERT INTO change_feed(kind, ref, origin, created_at)"
			  " VALUES ($1, $2, $3, $4)",
			  p, 4, err) < 0
		       ? -1
		       : 0;
}

int kz_store_feed_start(kz_conn *c, kz_feed_pos *pos, kz_err *err)
{
	int found = 0;
	pos->xid = 0;
	pos->seq = 0;
	if (!kz_conn_is_pg(c))
		return kz_db_scalar_int(c, "SELECT COALESCE(MAX(seq), 0) FROM change_feed", NULL, 0,
					&pos->seq, &found, err);
	/* Everything written by transactions older than the oldest one still running is in
	 * what the caller reads next; the rest comes through the feed. */
	pos->seq = -1;
	return kz_db_scalar_int(c, "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
				NULL, 0, &pos->xid, &found, err);
}

/* How far rows are surely committed. SQLite has one writer at a time, so rows commit in seq
 * order and the largest seq is the line. PostgreSQL hands out seq values at insert time but
 * transactions commit in any order, so a row with a lower seq can become visible after a
 * higher one; a row is final once its transaction is older than every transaction still
 * running (xid below the snapshot's xmin): no row can appear below that line any more. There
 * the position is (xid, seq), in that order. The line is read in its own statement first:
 * a row that commits after it has a seq or xid above it, so the read never passes it. */
static int read_line(kz_conn *c, int64_t *line, kz_err *err)
{
	int found = 0;
	return kz_db_scalar_int(
		c,
		kz_conn_is_pg(c) ? "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
				 : "SELECT COALESCE(MAX(seq), 0) FROM change_feed",
		NULL, 0, line, &found, err);
}

int kz_store_feed_read(kz_conn *c, kz_feed_pos *pos, int limit, kz_feed_fn fn, void *ctx, int *more,
		       kz_err *err)
{
	int pg = kz_conn_is_pg(c);
	int64_t line = 0;
	kz_rows rows;
	*more = 0;
	if (read_line(c, &line, err) < 0)
		return -1;
	kz_val p[5] = {KZ_INT(pos->xid), KZ_INT(pos->seq), KZ_INT(line), KZ_INT(limit),
		       KZ_TEXT(kz_store_node_id(c->store))};
	if (kz_db_query(c,
			pg ? "SELECT seq, kind, ref, xid FROM change_feed"
			     " WHERE xid < $3 AND (xid > $1 OR (xid = $1 AND seq > $2))"
			     " AND origin <> $5 ORDER BY xid, seq LIMIT $4"
			   : "SELECT seq, kind, ref, xid FROM change_feed"
			     " WHERE seq > $2 AND seq <= $3 AND origin <> $5 ORDER BY seq LIMIT $4",
			p, 5, &rows, err) < 0)
		return -1;
	for (int i = 0; i < rows.nrows; i++)
		fn(ctx, (int)kz_rows_int(&rows, i, 1), kz_rows_int(&rows, i, 2));
	*more = rows.nrows == limit;
	if (*more) { /* the rest next time, from the last row read */
		pos->seq = kz_rows_int(&rows, rows.nrows - 1, 0);
		pos->xid = kz_rows_int(&rows, rows.nrows - 1, 3);
	} else if (pg && line > pos->xid) { /* all below the line is read: it is the position */
		pos->xid = line;
		pos->seq = -1;
	} else if (!pg && line > pos->seq) {
		pos->seq = line;
	}
	kz_rows_free(&rows);
	return 0;
}

int kz_store_feed_prune(kz_conn *c, int64_t max_age_ms, int64_t *deleted, kz_err *err)
{
	kz_val p[1] = {KZ_INT(real_ms() - max_age_ms)};
	int r = kz_db_exec(c, "DELETE FROM change_feed WHERE created_at < $1", p, 1, err);
	if (r < 0)
		return -1;
	*deleted = r;
	return 0;
}
