/* email_send.c — the durable outbox (claims, outcomes, engagement), stats, unsubscribes,
 * suppressions, bounces and consent in SQL. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/rowjson.h"
#include "store/store.h"

#include "base/banned.h"

int kz_store_send_insert(kz_conn *c, const kz_send_row *r, int64_t *id, kz_err *err)
{
	kz_val p[12] = {
		r->contact_id ? KZ_INT(r->contact_id) : KZ_NULLV,
		r->email_id ? KZ_INT(r->email_id) : KZ_NULLV,
		r->broadcast_id ? KZ_INT(r->broadcast_id) : KZ_NULLV,
		r->journey_id ? KZ_INT(r->journey_id) : KZ_NULLV,
		KZ_TEXT(r->kind),
		KZ_TEXT(r->dedupe),
		KZ_TEXT(r->to_email),
		KZ_TEXT(r->status),
		KZ_TEXT(r->reason),
		KZ_INT(r->next_at),
		KZ_INT(r->created_at),
	};
	int found = 0;
	int rc = kz_db_scalar_int(c,
				  "INSERT INTO email_sends(contact_id, email_id, broadcast_id, journey_id,"
				  " kind, dedupe, to_email, status, reason, next_at, created_at)"
				  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
				  " ON CONFLICT DO NOTHING RETURNING id",
				  p, 11, id, &found, err);
	if (rc < 0)
		return -1;
	if (!found)
		*id = 0;
	return 0;
}

int kz_store_send_claim(kz_conn *c, int64_t now, int64_t lease_until, int limit,
			json_t **out, kz_err *err)
{
	kz_rows rows;
	kz_val p[3] = {KZ_INT(now), KZ_INT(lease_until), KZ_INT(limit)};
	/* Two index walks, not one OR: expired leases first (few rows), then the queued ones in
	 * the order of email_sends_due (status, next_at, id). An OR over both made SQLite sort
	 * every queued row for each claim of CLAIM_BATCH — with 500k queued (a journey or a
	 * broadcast), each claim held the write lock for tens of milliseconds. */
#define CLAIM_PART(cond, order, lock)                                                              \
	" SELECT id FROM (SELECT s.id FROM email_sends s LEFT JOIN broadcasts b"                  \
	" ON b.id = s.broadcast_id WHERE " cond " AND (b.id IS NULL OR b.status = 'sending')"      \
	" ORDER BY " order " LIMIT $3" lock ") x"
#define CLAIM_SQL(lock)                                                                            \
	"UPDATE email_sends SET status = 'sending', claimed_until = $2,"                         \
	" attempts = attempts + 1 WHERE id IN (SELECT id FROM ("                                 \
	CLAIM_PART("s.status = 'sending' AND s.claimed_until < $1", "s.id", lock)               \
	" UNION ALL"                                                                           \
	CLAIM_PART("s.status = 'queued' AND s.next_at <= $1", "s.next_at, s.id", lock)          \
	") y LIMIT $3)"                                                                          \
	" RETURNING id, contact_id, email_id, broadcast_id, journey_id, kind, to_email, attempts"
	const char *sql_pg = CLAIM_SQL(" FOR UPDATE OF s SKIP LOCKED");
	const char *sql_lite = CLAIM_SQL("");
#undef CLAIM_SQL
#undef CLAIM_PART
	*out = NULL;
	if (kz_db_query(c, kz_conn_is_pg(c) ? sql_pg : sql_lite, p, 3, &rows, err) < 0)
		return -1;
	*out = json_array();
	for (int i = 0; i < rows.nrows; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "id", kz_cell_int(&rows, i, 0));
		json_object_set_new(o, "contact_id", kz_cell_int(&rows, i, 1));
		json_object_set_new(o, "email_id", kz_cell_int(&rows, i, 2));
		json_object_set_new(o, "broadcast_id", kz_cell_int(&rows, i, 3));
		json_object_set_new(o, "journey_id", kz_cell_int(&rows, i, 4));
		json_object_set_new(o, "kind", kz_cell_str(&rows, i, 5));
		json_object_set_new(o, "to_email", kz_cell_str(&rows, i, 6));
		json_object_set_new(o, "attempts", kz_cell_int(&rows, i, 7));
		json_array_append_new(*out, o);
	}
	kz_rows_free(&rows);
	return 0;
}

int kz_store_send_finish(kz_conn *c, int64_t id, const char *status, const char *reason,
			 const char *error, const char *message_id, int64_t at, int64_t next_at,
			 kz_err *err)
{
	kz_val p[7] = {KZ_TEXT(status), KZ_TEXT(reason), KZ_TEXT(error), KZ_TEXT(message_id),
		       KZ_INT(at), KZ_INT(next_at), KZ_INT(id)};
	return kz_db_exec(c,
			  "UPDATE email_sends SET status = $1, reason = COALESCE($2, reason),"
			  " last_error = $3, message_id = COALESCE($4, message_id),"
			  " sent_at = CASE WHEN $1 = 'sent' THEN $5 ELSE sent_at END,"
			  " next_at = $6, claimed_until = NULL WHERE id = $7",
			  p, 7, err) < 0
		       ? -1
		       : 0;
}

#define SEND_COLS                                                                                  \
	"id, contact_id, email_id, broadcast_id, journey_id, kind, to_email, status, reason,"      \
	" attempts, last_error, message_id, created_at, sent_at, opened_at, open_count,"           \
	" machine_opens, clicked_at, click_count, bounced, complained, unsubscribed, next_at"

static json_t *row_to_send(const kz_rows *r, int i)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", kz_cell_int(r, i, 0));
	json_object_set_new(o, "contact_id", kz_cell_int(r, i, 1));
	json_object_set_new(o, "email_id", kz_cell_int(r, i, 2));
	json_object_set_new(o, "broadcast_id", kz_cell_int(r, i, 3));
	json_object_set_new(o, "journey_id", kz_cell_int(r, i, 4));
	json_object_set_new(o, "kind", kz_cell_str(r, i, 5));
	json_object_set_new(o, "to", kz_cell_str(r, i, 6));
	json_object_set_new(o, "status", kz_cell_str(r, i, 7));
	json_object_set_new(o, "reason", kz_cell_str(r, i, 8));
	json_object_set_new(o, "attempts", kz_cell_int(r, i, 9));
	json_object_set_new(o, "last_error", kz_cell_str(r, i, 10));
	json_object_set_new(o, "message_id", kz_cell_str(r, i, 11));
	json_object_set_new(o, "created_at", kz_cell_time(r, i, 12));
	json_object_set_new(o, "sent_at", kz_cell_time(r, i, 13));
	json_object_set_new(o, "opened_at", kz_cell_time(r, i, 14));
	json_object_set_new(o, "open_count", kz_cell_int(r, i, 15));
	json_object_set_new(o, "machine_opens", kz_cell_int(r, i, 16));
	json_object_set_new(o, "clicked_at", kz_cell_time(r, i, 17));
	json_object_set_new(o, "click_count", kz_cell_int(r, i, 18));
	json_object_set_new(o, "bounced", kz_cell_str(r, i, 19));
	json_object_set_new(o, "complained", json_boolean(kz_rows_int(r, i, 20)));
	json_object_set_new(o, "unsubscribed", json_boolean(kz_rows_int(r, i, 21)));
	json_object_set_new(o, "next_attempt_at", kz_cell_time(r, i, 22));
	return o;
}

int kz_store_send_get(kz_conn *c, int64_t id, json_t **out, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(id)};
	*out = NULL;
	if (kz_db_query(c, "SELECT " SEND_COLS " FROM email_sends WHERE id = $1", p, 1, &rows,
			err) < 0)
		return -1;
	if (rows.nrows == 0) {
		kz_rows_free(&rows);
		return kz_err_set(err, 404, "not_found", "id", "no send with id %" PRId64, id);
	}
	*out = row_to_send(&rows, 0);
	kz_rows_free(&rows);
	return 0;
}

int kz_store_send_list(kz_conn *c, int64_t email_id, int64_t broadcast_id, int64_t contact_id,
		       const char *status, int limit, json_t **data, kz_err *err)
{
	kz_rows rows;
	kz_val p[5] = {KZ_INT(email_id), KZ_INT(broadcast_id), KZ_INT(contact_id),
		       KZ_TEXT(status ? status : ""), KZ_INT(limit)};
	*data = NULL;
	if (kz_db_query(c,
			"SELECT " SEND_COLS " FROM email_sends WHERE ($1 = 0 OR email_id = $1)"
			" AND ($2 = 0 OR broadcast_id = $2) AND ($3 = 0 OR contact_id = $3)"
			" AND ($4 = '' OR status = $4) ORDER BY id DESC LIMIT $5",
			p, 5, &rows, err) < 0)
		return -1;
	*data = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(*data, row_to_send(&rows, i));
	kz_rows_free(&rows);
	return 0;
}

int kz_store_send_mark(kz_conn *c, int64_t id, const char *what, int64_t at, int *first,
		       kz_err *err)
{
	kz_val p[2] = {KZ_INT(at), KZ_INT(id)};
	const char *sql = NULL;
	int64_t prev = 0;
	int found = 0;
	*first = 0;
	if (!strcmp(what, "open") || !strcmp(what, "click")) {
		const char *q = !strcmp(what, "open")
					? "SELECT COALESCE(opened_at, 0) FROM email_sends WHERE id = $1"
					: "SELECT COALESCE(clicked_at, 0) FROM email_sends WHERE id = $1";
		if (kz_db_scalar_int(c, q, p + 1, 1, &prev, &found, err) < 0)
			return -1;
		*first = found && prev == 0;
	}
	if (!strcmp(what, "open"))
		sql = "UPDATE email_sends SET open_count = open_count + 1,"
		      " opened_at = COALESCE(opened_at, $1) WHERE id = $2";
	else if (!strcmp(what, "machine_open"))
		sql = "UPDATE email_sends SET machine_opens = machine_opens + 1 WHERE id = $1";
	else if (!strcmp(what, "click"))
		sql = "UPDATE email_sends SET click_count = click_count + 1,"
		      " clicked_at = COALESCE(clicked_at, $1),"
		      " opened_at = COALESCE(opened_at, $1) WHERE id = $2";
	else if (!strcmp(what, "unsubscribe"))
		sql = "UPDATE email_sends SET unsubscribed = 1 WHERE id = $1";
	else if (!strcmp(what, "complaint"))
		sql = "UPDATE email_sends SET complained = 1 WHERE id = $1";
	else if (!strcmp(what, "hard"))
		sql = "UPDATE email_sends SET bounced = 'hard', status = CASE WHEN status = 'sent'"
		      " THEN 'bounced' ELSE status END WHERE id = $1";
	else if (!strcmp(what, "soft"))
		sql = "UPDATE email_sends SET bounced = COALESCE(bounced, 'soft') WHERE id = $1";
	if (!sql)
		return kz_err_set(err, 500, "internal", "", "unknown engagement %s", what);
	/* statements that do not use the time take only the id */
	if (!strstr(sql, "$2"))
		return kz_db_exec(c, sql, p + 1, 1, err) < 0 ? -1 : 0;
	return kz_db_exec(c, sql, p, 2, err) < 0 ? -1 : 0;
}

int kz_store_click_insert(kz_conn *c, int64_t contact_id, int64_t send_id, const char *url,
			  int machine, int64_t at, kz_err *err)
{
	kz_val p[5] = {contact_id ? KZ_INT(contact_id) : KZ_NULLV, KZ_INT(send_id), KZ_TEXT(url),
		       KZ_INT(machine), KZ_INT(at)};
	return kz_db_exec(c,
			  "INSERT INTO email_clicks(contact_id, send_id, url, machine, at)"
			  " VALUES ($1, $2, $3, $4, $5)",
			  p, 5, err) < 0
		       ? -1
		       : 0;
}

int kz_store_email_stats(kz_conn *c, const char *by, int64_t id, json_t **out, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(id)};
	char sql[1400];
	const char *col = !strcmp(by, "broadcast") ? "broadcast_id" : "email_id";
	json_t *skipped, *links;
	*out = NULL;
	snprintf(sql, sizeof sql,
		 "SELECT"
		 " COALESCE(SUM(CASE WHEN status IN ('sent', 'bounced') THEN 1 ELSE 0 END), 0),"
		 " COALESCE(SUM(CASE WHEN bounced = 'hard' THEN 1 ELSE 0 END), 0),"
		 " COALESCE(SUM(CASE WHEN bounced = 'soft' THEN 1 ELSE 0 END), 0),"
		 " COALESCE(SUM(CASE WHEN opened_at IS NOT NULL THEN 1 ELSE 0 END), 0),"
		 " COALESCE(SUM(open_count), 0), COALESCE(SUM(machine_opens), 0),"
		 " COALESCE(SUM(CASE WHEN clicked_at IS NOT NULL THEN 1 ELSE 0 END), 0),"
		 " COALESCE(SUM(click_count), 0), COALESCE(SUM(unsubscribed), 0),"
		 " COALESCE(SUM(complained), 0),"
		 " COALESCE(SUM(CASE WHEN status IN ('queued', 'sending', 'held') THEN 1 ELSE 0 END), 0),"
		 " COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0),"
		 " COALESCE(SUM(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END), 0)"
		 " FROM email_sends WHERE %s = $1 AND kind NOT IN ('test', 'notify')",
		 col);
	if (kz_db_query(c, sql, p, 1, &rows, err) < 0)
		return -1;
	{
		int64_t sent = kz_rows_int(&rows, 0, 0), hard = kz_rows_int(&rows, 0, 1);
		int64_t soft = kz_rows_int(&rows, 0, 2);
		*out = json_pack("{sIsIs{sIsI}s{sIsIsI}s{sIsI}sIsIsIsIsI}", "sent", (json_int_t)sent,
				 "delivered", (json_int_t)(sent - hard - soft), "bounced", "hard",
				 (json_int_t)hard, "soft", (json_int_t)soft, "opened", "unique",
				 (json_int_t)kz_rows_int(&rows, 0, 3), "total",
				 (json_int_t)kz_rows_int(&rows, 0, 4), "machine",
				 (json_int_t)kz_rows_int(&rows, 0, 5), "clicked", "unique",
				 (json_int_t)kz_rows_int(&rows, 0, 6), "total",
				 (json_int_t)kz_rows_int(&rows, 0, 7), "unsubscribed",
				 (json_int_t)kz_rows_int(&rows, 0, 8), "complained",
				 (json_int_t)kz_rows_int(&rows, 0, 9), "queued",
				 (json_int_t)kz_rows_int(&rows, 0, 10), "failed",
				 (json_int_t)kz_rows_int(&rows, 0, 11), "cancelled",
				 (json_int_t)kz_rows_int(&rows, 0, 12));
	}
	kz_rows_free(&rows);
	snprintf(sql, sizeof sql,
		 "SELECT reason, COUNT(*) FROM email_sends WHERE %s = $1 AND status = 'skipped'"
		 " AND kind NOT IN ('test', 'notify') GROUP BY reason ORDER BY reason",
		 col);
	if (kz_db_query(c, sql, p, 1, &rows, err) < 0)
		goto fail;
	skipped = json_object();
	for (int i = 0; i < rows.nrows; i++)
		json_object_set_new(skipped, kz_rows_get(&rows, i, 0) ? kz_rows_get(&rows, i, 0) : "other",
				    json_integer(kz_rows_int(&rows, i, 1)));
	json_object_set_new(*out, "skipped", skipped);
	kz_rows_free(&rows);
	snprintf(sql, sizeof sql,
		 "SELECT k.url, COUNT(*), COUNT(DISTINCT k.send_id) FROM email_clicks k"
		 " JOIN email_sends s ON s.id = k.send_id WHERE s.%s = $1 AND s.kind NOT IN ('test', 'notify')"
		 " AND k.machine = 0 GROUP BY k.url ORDER BY COUNT(*) DESC, k.url LIMIT 100",
		 col);
	if (kz_db_query(c, sql, p, 1, &rows, err) < 0)
		goto fail;
	links = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(links, json_pack("{sosIsI}", "url", kz_cell_str(&rows, i, 0),
						       "total", (json_int_t)kz_rows_int(&rows, i, 1),
						       "unique", (json_int_t)kz_rows_int(&rows, i, 2)));
	json_object_set_new(json_object_get(*out, "clicked"), "links", links);
	kz_rows_free(&rows);
	return 0;
fail:
	json_decref(*out);
	*out = NULL;
	return -1;
}

/* ---- unsubscribes, suppressions, bounces, consent ---- */

int kz_store_unsubscribe(kz_conn *c, int64_t contact_id, const char *topic, const char *source,
			 int64_t send_id, int64_t now, kz_err *err)
{
	kz_val p[5] = {KZ_INT(contact_id), KZ_TEXT(topic ? topic : ""), KZ_TEXT(source),
		       send_id ? KZ_INT(send_id) : KZ_NULLV, KZ_INT(now)};
	return kz_db_exec(c,
			  "INSERT INTO email_unsubscribes(contact_id, topic, source, send_id,"
			  " created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
			  p, 5, err) < 0
		       ? -1
		       : 0;
}

int kz_store_resubscribe(kz_conn *c, int64_t contact_id, const char *topic, kz_err *err)
{
	kz_val p[2] = {KZ_INT(contact_id), KZ_TEXT(topic)};
	if (!topic)
		return kz_db_exec(c, "DELETE FROM email_unsubscribes WHERE contact_id = $1", p, 1,
				  err) < 0
			       ? -1
			       : 0;
	return kz_db_exec(c, "DELETE FROM email_unsubscribes WHERE contact_id = $1 AND topic = $2",
			  p, 2, err) < 0
		       ? -1
		       : 0;
}

int kz_store_unsubscribes(kz_conn *c, int64_t contact_id, json_t **topics, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(contact_id)};
	*topics = NULL;
	if (kz_db_query(c,
			"SELECT topic FROM email_unsubscribes WHERE contact_id = $1 ORDER BY topic",
			p, 1, &rows, err) < 0)
		return -1;
	*topics = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(*topics, kz_cell_str(&rows, i, 0));
	kz_rows_free(&rows);
	return 0;
}

int kz_store_suppress(kz_conn *c, const char *email, int64_t contact_id, const char *reason,
		      const char *detail, int64_t now, kz_err *err)
{
	kz_val p[5] = {KZ_TEXT(email), contact_id ? KZ_INT(contact_id) : KZ_NULLV, KZ_TEXT(reason),
		       KZ_TEXT(detail), KZ_INT(now)};
	return kz_db_exec(c,
			  "INSERT INTO email_suppressions(email, contact_id, reason, detail,"
			  " created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (email) DO UPDATE"
			  " SET reason = excluded.reason, detail = excluded.detail",
			  p, 5, err) < 0
		       ? -1
		       : 0;
}

int kz_store_unsuppress(kz_conn *c, const char *email, kz_err *err)
{
	kz_val p[1] = {KZ_TEXT(email)};
	int r = kz_db_exec(c, "DELETE FROM email_suppressions WHERE email = $1", p, 1, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return kz_err_set(err, 404, "not_found", "email", "%s is not suppressed", email);
	return 0;
}

int kz_store_suppression_list(kz_conn *c, int limit, json_t **data, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(limit)};
	*data = NULL;
	if (kz_db_query(c,
			"SELECT email, contact_id, reason, detail, created_at FROM email_suppressions"
			" ORDER BY created_at DESC, email LIMIT $1",
			p, 1, &rows, err) < 0)
		return -1;
	*data = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(*data, json_pack("{sososssoso}", "email",
						       kz_cell_str(&rows, i, 0), "contact_id",
						       kz_cell_int(&rows, i, 1), "reason",
						       kz_rows_get(&rows, i, 2), "detail",
						       kz_cell_str(&rows, i, 3), "created_at",
						       kz_cell_time(&rows, i, 4)));
	kz_rows_free(&rows);
	return 0;
}

int kz_store_bounce_insert(kz_conn *c, int64_t contact_id, int64_t send_id, const char *email,
			   const char *kind, const char *status, const char *detail, int64_t now,
			   int64_t *id, kz_err *err)
{
	kz_val p[7] = {contact_id ? KZ_INT(contact_id) : KZ_NULLV,
		       send_id ? KZ_INT(send_id) : KZ_NULLV,
		       KZ_TEXT(email),
		       KZ_TEXT(kind),
		       KZ_TEXT(status),
		       KZ_TEXT(detail),
		       KZ_INT(now)};
	int found;
	return kz_db_scalar_int(c,
				"INSERT INTO email_bounces(contact_id, send_id, email, kind, status,"
				" detail, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
				p, 7, id, &found, err) < 0
		       ? -1
		       : 0;
}

int kz_store_bounce_count(kz_conn *c, const char *email, const char *kind, int64_t since,
			  int64_t *n, kz_err *err)
{
	kz_val p[3] = {KZ_TEXT(email), KZ_TEXT(kind), KZ_INT(since)};
	int found;
	return kz_db_scalar_int(c,
				"SELECT COUNT(*) FROM email_bounces WHERE email = $1 AND kind = $2"
				" AND created_at >= $3",
				p, 3, n, &found, err) < 0
		       ? -1
		       : 0;
}

int kz_store_consent_get(kz_conn *c, int64_t contact_id, const char *channel, json_t **out,
			 kz_err *err)
{
	kz_rows rows;
	kz_val p[2] = {KZ_INT(contact_id), KZ_TEXT(channel)};
	*out = NULL;
	if (kz_db_query(c,
			"SELECT status, source, ip, at, confirmed_at, confirmed_ip FROM"
			" contact_consent WHERE contact_id = $1 AND channel = $2",
			p, 2, &rows, err) < 0)
		return -1;
	if (rows.nrows)
		*out = json_pack("{sosososososo}", "status", kz_cell_str(&rows, 0, 0), "source",
				 kz_cell_str(&rows, 0, 1), "ip", kz_cell_str(&rows, 0, 2), "at",
				 kz_cell_time(&rows, 0, 3), "confirmed_at", kz_cell_time(&rows, 0, 4),
				 "confirmed_ip", kz_cell_str(&rows, 0, 5));
	kz_rows_free(&rows);
	return 0;
}

int kz_store_consent_set(kz_conn *c, int64_t contact_id, const char *channel,
			 const char *status, const char *source, const char *ip, int64_t at,
			 kz_err *err)
{
	kz_val p[6] = {KZ_INT(contact_id), KZ_TEXT(channel), KZ_TEXT(status),
		       KZ_TEXT(source),     KZ_TEXT(ip),      KZ_INT(at)};
	int r = kz_db_exec(c,
			   "INSERT INTO contact_consent(contact_id, channel, status, source, ip, at)"
			   " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (contact_id, channel) DO"
			   " UPDATE SET status = excluded.status, source = excluded.source,"
			   " ip = excluded.ip, at = excluded.at, confirmed_at = NULL,"
			   " confirmed_ip = NULL",
			   p, 6, err);
	if (r == KZ_DB_FOREIGN)
		return kz_err_set(err, 404, "not_found", "id", "no contact with id %" PRId64,
				  contact_id);
	return r < 0 ? -1 : 0;
}

int kz_store_email_move_contact(kz_conn *c, int64_t from, int64_t into, kz_err *err)
{
	kz_val p[2] = {KZ_INT(from), KZ_INT(into)};
	static const char *const sql[] = {
		/* a send the survivor already has for the same message stays the survivor's */
		"UPDATE email_sends SET contact_id = $2 WHERE contact_id = $1 AND dedupe NOT IN"
		" (SELECT dedupe FROM email_sends WHERE contact_id = $2)",
		"UPDATE email_clicks SET contact_id = $2 WHERE contact_id = $1",
		"UPDATE email_bounces SET contact_id = $2 WHERE contact_id = $1",
		"INSERT INTO email_unsubscribes(contact_id, topic, source, send_id, created_at)"
		" SELECT $2, topic, source, send_id, created_at FROM email_unsubscribes"
		" WHERE contact_id = $1 ON CONFLICT DO NOTHING",
		"INSERT INTO contact_consent(contact_id, channel, status, source, ip, at)"
		" SELECT $2, channel, status, source, ip, at FROM contact_consent"
		" WHERE contact_id = $1 ON CONFLICT DO NOTHING",
		NULL,
	};
	for (int i = 0; sql[i]; i++)
		if (kz_db_exec(c, sql[i], p, 2, err) < 0)
			return -1;
	return 0;
}

int kz_store_consent_confirm(kz_conn *c, int64_t contact_id, const char *channel, const char *ip,
			     int64_t at, kz_err *err)
{
	kz_val p[4] = {KZ_INT(contact_id), KZ_TEXT(channel), KZ_TEXT(ip), KZ_INT(at)};
	int64_t one = 0;
	int found = 0;
	if (kz_db_scalar_int(c,
			     "UPDATE contact_consent SET status = 'granted', confirmed_at = $4,"
			     " confirmed_ip = $3 WHERE contact_id = $1 AND channel = $2 AND"
			     " status = 'pending' RETURNING 1",
			     p, 4, &one, &found, err) < 0)
		return -1;
	return found ? 1 : 0;
}
