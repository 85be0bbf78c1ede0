/* email.c — emails (templates), broadcasts and recipient resolution in SQL. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "store/db.h"
#include "store/rowjson.h"
#include "store/store.h"

#include "base/banned.h"

#define EMAIL_COLS                                                                                 \
	"id, name, subject, preheader, from_name, from_email, reply_to, html, text, topic,"        \
	" blocks, created_at, updated_at"

static json_t *row_to_email(const kz_rows *r, int i, int bodies)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", kz_cell_int(r, i, 0));
	json_object_set_new(o, "name", kz_cell_str(r, i, 1));
	json_object_set_new(o, "subject", kz_cell_str(r, i, 2));
	json_object_set_new(o, "preheader", kz_cell_str(r, i, 3));
	json_object_set_new(o, "from_name", kz_cell_str(r, i, 4));
	json_object_set_new(o, "from_email", kz_cell_str(r, i, 5));
	json_object_set_new(o, "reply_to", kz_cell_str(r, i, 6));
	if (bodies) {
		json_object_set_new(o, "html", kz_cell_str(r, i, 7));
		json_object_set_new(o, "text", kz_cell_str(r, i, 8));
		json_object_set_new(o, "blocks", kz_cell_json(r, i, 10, "null"));
	}
	json_object_set_new(o, "topic", kz_cell_str(r, i, 9));
	json_object_set_new(o, "created_at", kz_cell_time(r, i, 11));
	json_object_set_new(o, "updated_at", kz_cell_time(r, i, 12));
	return o;
}

int kz_store_email_get(kz_conn *c, int64_t id, json_t **out, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(id)};
	*out = NULL;
	if (kz_db_query(c, "SELECT " EMAIL_COLS " FROM emails WHERE id = $1", p, 1, &rows, err) < 0)
		return -1;
	if (rows.nrows == 0) {
		kz_rows_free(&rows);
		return kz_err_set(err, 404, "not_found", "id", "no email with id %" PRId64, id);
	}
	*out = row_to_email(&rows, 0, 1);
	kz_rows_free(&rows);
	return 0;
}

int kz_store_email_save(kz_conn *c, json_t *rec, int64_t *id, kz_err *err)
{
	json_t *blocks = json_object_get(rec, "blocks");
	char *bj = blocks && !json_is_null(blocks) ? kz_jdump(blocks) : NULL;
	int64_t now = kz_now_ms();
	kz_val p[12] = {
		KZ_TEXT(kz_jstr(rec, "name")),       KZ_TEXT(kz_jstr(rec, "subject")),
		KZ_TEXT(kz_jstr(rec, "preheader")),  KZ_TEXT(kz_jstr(rec, "from_name")),
		KZ_TEXT(kz_jstr(rec, "from_email")), KZ_TEXT(kz_jstr(rec, "reply_to")),
		KZ_TEXT(kz_jstr(rec, "html")),       KZ_TEXT(kz_jstr(rec, "text")),
		KZ_TEXT(kz_jstr(rec, "topic")),      KZ_TEXT(bj),
		KZ_INT(now),                         KZ_INT(*id),
	};
	int r, found;
	if (!p[6].s)
		p[6] = KZ_TEXT("");
	if (*id == 0) {
		r = kz_db_scalar_int(c,
				     "INSERT INTO emails(name, subject, preheader, from_name, from_email,"
				     " reply_to, html, text, topic, blocks, created_at, updated_at)"
				     " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)"
				     " RETURNING id",
				     p, 11, id, &found, err);
	} else {
		r = kz_db_exec(c,
			       "UPDATE emails SET name = $1, subject = $2, preheader = $3,"
			       " from_name = $4, from_email = $5, reply_to = $6, html = $7, text = $8,"
			       " topic = $9, blocks = $10, updated_at = $11 WHERE id = $12",
			       p, 12, err);
		if (r == 0)
			r = kz_err_set(err, 404, "not_found", "id", "no email with id %" PRId64, *id);
	}
	free(bj);
	return r < 0 ? -1 : 0;
}

int kz_store_email_delete(kz_conn *c, int64_t id, kz_err *err)
{
	kz_val p[1] = {KZ_INT(id)};
	int64_t n = 0;
	int found, r;
	if (kz_db_scalar_int(c, "SELECT COUNT(*) FROM broadcasts WHERE email_id = $1", p, 1, &n,
			     &found, err) < 0)
		return -1;
	if (n > 0)
		return kz_err_set(err, 409, "conflict", "id",
				  "this email is used by %" PRId64 " broadcast(s); it is kept for "
				  "their history",
				  n);
	r = kz_db_exec(c, "DELETE FROM emails WHERE id = $1", p, 1, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return kz_err_set(err, 404, "not_found", "id", "no email with id %" PRId64, id);
	return 0;
}

int kz_store_email_list(kz_conn *c, json_t **data, kz_err *err)
{
	kz_rows rows;
	*data = NULL;
	if (kz_db_query(c, "SELECT " EMAIL_COLS " FROM emails ORDER BY id DESC", NULL, 0, &rows,
			err) < 0)
		return -1;
	*data = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(*data, row_to_email(&rows, i, 0));
	kz_rows_free(&rows);
	return 0;
}

int kz_store_email_topics(kz_conn *c, json_t **data, kz_err *err)
{
	kz_rows rows;
	*data = NULL;
	if (kz_db_query(c,
			"SELECT DISTINCT topic FROM emails WHERE topic IS NOT NULL AND topic <> ''"
			" ORDER BY topic",
			NULL, 0, &rows, err) < 0)
		return -1;
	*data = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(*data, kz_cell_str(&rows, i, 0));
	kz_rows_free(&rows);
	return 0;
}

/* ---- broadcasts ---- */

#define BC_COLS                                                                                    \
	"id, email_id, segment_id, tag, all_contacts, status, send_at, started_at, finished_at,"   \
	" recipients, created_at, updated_at, ab, ab_decide_at, winner_email_id"

static json_t *row_to_broadcast(const kz_rows *r, int i)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", kz_cell_int(r, i, 0));
	json_object_set_new(o, "email_id", kz_cell_int(r, i, 1));
	json_object_set_new(o, "segment_id", kz_cell_int(r, i, 2));
	json_object_set_new(o, "tag", kz_cell_str(r, i, 3));
	json_object_set_new(o, "all_contacts", json_boolean(kz_rows_int(r, i, 4)));
	json_object_set_new(o, "status", kz_cell_str(r, i, 5));
	json_object_set_new(o, "send_at", kz_cell_time(r, i, 6));
	json_object_set_new(o, "started_at", kz_cell_time(r, i, 7));
	json_object_set_new(o, "finished_at", kz_cell_time(r, i, 8));
	json_object_set_new(o, "recipients", kz_cell_int(r, i, 9));
	json_object_set_new(o, "created_at", kz_cell_time(r, i, 10));
	json_object_set_new(o, "updated_at", kz_cell_time(r, i, 11));
	if (kz_rows_get(r, i, 12)) {
		json_t *ab = kz_cell_json(r, i, 12, "null");
		if (json_is_object(ab)) {
			json_object_set_new(ab, "decide_at", kz_cell_time(r, i, 13));
			json_object_set_new(ab, "winner_email_id", kz_cell_int(r, i, 14));
		}
		json_object_set_new(o, "ab", ab);
	} else {
		json_object_set_new(o, "ab", json_null());
	}
	return o;
}

int kz_store_broadcast_get(kz_conn *c, int64_t id, json_t **out, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(id)};
	*out = NULL;
	if (kz_db_query(c, "SELECT " BC_COLS " FROM broadcasts WHERE id = $1", p, 1, &rows, err) < 0)
		return -1;
	if (rows.nrows == 0) {
		kz_rows_free(&rows);
		return kz_err_set(err, 404, "not_found", "id", "no broadcast with id %" PRId64, id);
	}
	*out = row_to_broadcast(&rows, 0);
	kz_rows_free(&rows);
	return 0;
}

int kz_store_broadcast_insert(kz_conn *c, const json_t *rec, int64_t *id, kz_err *err)
{
	json_t *seg = json_object_get(rec, "segment_id");
	json_t *at = json_object_get(rec, "send_at_ms");
	int64_t now = kz_now_ms();
	json_t *ab = json_object_get(rec, "ab");
	char *abj = json_is_object(ab) ? kz_jdump(ab) : NULL;
	kz_val p[8] = {
		KZ_INT(json_integer_value(json_object_get(rec, "email_id"))),
		json_is_integer(seg) ? KZ_INT(json_integer_value(seg)) : KZ_NULLV,
		KZ_TEXT(kz_jstr(rec, "tag")),
		KZ_INT(json_is_true(json_object_get(rec, "all_contacts"))),
		KZ_TEXT(kz_jstr(rec, "status")),
		KZ_INT(json_is_integer(at) ? json_integer_value(at) : now),
		KZ_INT(now),
		KZ_TEXT(abj),
	};
	int found;
	int r = kz_db_scalar_int(c,
				 "INSERT INTO broadcasts(email_id, segment_id, tag, all_contacts, status,"
				 " send_at, created_at, updated_at, ab) VALUES ($1, $2, $3, $4, $5, $6,"
				 " $7, $7, $8) RETURNING id",
				 p, 8, id, &found, err);
	free(abj);
	if (r == KZ_DB_FOREIGN)
		return kz_err_set(err, 422, "invalid_field", "email_id", "no such email");
	return r < 0 ? -1 : 0;
}

int kz_store_broadcast_list(kz_conn *c, json_t **data, kz_err *err)
{
	kz_rows rows;
	*data = NULL;
	if (kz_db_query(c, "SELECT " BC_COLS " FROM broadcasts ORDER BY id DESC LIMIT 500", NULL, 0,
			&rows, err) < 0)
		return -1;
	*data = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(*data, row_to_broadcast(&rows, i));
	kz_rows_free(&rows);
	return 0;
}

int kz_store_broadcast_set_status(kz_conn *c, int64_t id, const char *status,
				  const char *const *from, int64_t now, int *changed, kz_err *err)
{
	int r, fin = !strcmp(status, "sent") || !strcmp(status, "cancelled");
	kz_val p[7] = {KZ_TEXT(status), KZ_INT(now), KZ_INT(id), KZ_INT(fin)};
	int n = 4;
	for (int i = 0; from[i] && n < 7; i++)
		p[n++] = KZ_TEXT(from[i]);
	while (n < 7)
		p[n++] = KZ_TEXT(from[0]);
	r = kz_db_exec(c,
		       "UPDATE broadcasts SET status = $1, updated_at = $2,"
		       " finished_at = CASE WHEN $4 = 1 THEN $2 ELSE finished_at END"
		       " WHERE id = $3 AND status IN ($5, $6, $7)",
		       p, 7, err);
	if (r < 0)
		return -1;
	*changed = r > 0;
	return 0;
}

int kz_store_broadcast_due(kz_conn *c, int64_t now, int limit, json_t **ids, kz_err *err)
{
	kz_rows rows;
	kz_val p[2] = {KZ_INT(now), KZ_INT(limit)};
	*ids = NULL;
	if (kz_db_query(c,
			"SELECT id FROM broadcasts WHERE status = 'scheduled' AND send_at <= $1"
			" ORDER BY send_at, id LIMIT $2",
			p, 2, &rows, err) < 0)
		return -1;
	*ids = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(*ids, kz_cell_int(&rows, i, 0));
	kz_rows_free(&rows);
	return 0;
}

int kz_store_broadcast_started(kz_conn *c, int64_t id, int64_t recipients, int64_t now,
			       kz_err *err)
{
	kz_val p[3] = {KZ_INT(recipients), KZ_INT(now), KZ_INT(id)};
	return kz_db_exec(c,
			  "UPDATE broadcasts SET status = 'sending', recipients = $1, started_at = $2,"
			  " updated_at = $2 WHERE id = $3 AND status = 'scheduled'",
			  p, 3, err) < 0
		       ? -1
		       : 0;
}

int kz_store_broadcast_finish(kz_conn *c, int64_t now, kz_err *err)
{
	kz_val p[1] = {KZ_INT(now)};
	return kz_db_exec(c,
			  "UPDATE broadcasts SET status = 'sent', finished_at = $1, updated_at = $1"
			  " WHERE status = 'sending' AND NOT EXISTS (SELECT 1 FROM email_sends s"
			  " WHERE s.broadcast_id = broadcasts.id"
			  " AND s.status IN ('queued', 'sending', 'held'))",
			  p, 1, err) < 0
		       ? -1
		       : 0;
}

int kz_store_broadcast_cancel_rows(kz_conn *c, int64_t id, kz_err *err)
{
	kz_val p[1] = {KZ_INT(id)};
	return kz_db_exec(c,
			  "UPDATE email_sends SET status = 'cancelled', claimed_until = NULL"
			  " WHERE broadcast_id = $1 AND status IN ('queued', 'held')",
			  p, 1, err) < 0
		       ? -1
		       : 0;
}

int kz_store_broadcast_ab_start(kz_conn *c, int64_t id, int64_t decide_at, kz_err *err)
{
	kz_val p[2] = {KZ_INT(decide_at), KZ_INT(id)};
	return kz_db_exec(c, "UPDATE broadcasts SET ab_decide_at = $1 WHERE id = $2", p, 2, err) < 0
		       ? -1
		       : 0;
}

int kz_store_broadcast_ab_due(kz_conn *c, int64_t now, json_t **ids, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(now)};
	*ids = NULL;
	if (kz_db_query(c,
			"SELECT id FROM broadcasts WHERE ab IS NOT NULL AND winner_email_id IS NULL"
			" AND ab_decide_at IS NOT NULL AND ab_decide_at <= $1 AND status = 'sending'"
			" ORDER BY id LIMIT 20",
			p, 1, &rows, err) < 0)
		return -1;
	*ids = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(*ids, kz_cell_int(&rows, i, 0));
	kz_rows_free(&rows);
	return 0;
}

int kz_store_broadcast_ab_stats(kz_conn *c, int64_t id, json_t **out, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(id)};
	*out = NULL;
	if (kz_db_query(c,
			"SELECT email_id,"
			" COALESCE(SUM(CASE WHEN status IN ('sent', 'bounced') THEN 1 ELSE 0 END), 0),"
			" COALESCE(SUM(CASE WHEN opened_at IS NOT NULL THEN 1 ELSE 0 END), 0),"
			" COALESCE(SUM(CASE WHEN clicked_at IS NOT NULL THEN 1 ELSE 0 END), 0),"
			" COUNT(*)"
			" FROM email_sends WHERE broadcast_id = $1 AND kind = 'ab_test'"
			" GROUP BY email_id ORDER BY email_id",
			p, 1, &rows, err) < 0)
		return -1;
	*out = json_array();
	for (int i = 0; i < rows.nrows; i++) {
		int64_t sent = kz_rows_int(&rows, i, 1), op = kz_rows_int(&rows, i, 2);
		int64_t cl = kz_rows_int(&rows, i, 3);
		json_array_append_new(
			*out, json_pack("{sIsIsIsIsIsfsf}", "email_id",
					(json_int_t)kz_rows_int(&rows, i, 0), "recipients",
					(json_int_t)kz_rows_int(&rows, i, 4), "sent", (json_int_t)sent,
					"opened", (json_int_t)op, "clicked", (json_int_t)cl, "open_rate",
					sent ? (double)op / (double)sent : 0.0, "click_rate",
					sent ? (double)cl / (double)sent : 0.0));
	}
	kz_rows_free(&rows);
	return 0;
}

int kz_store_broadcast_ab_release(kz_conn *c, int64_t id, int64_t winner, int64_t now,
				  int64_t *released, kz_err *err)
{
	kz_val p[3] = {KZ_INT(winner), KZ_INT(now), KZ_INT(id)};
	int r = kz_db_exec(c,
			   "UPDATE email_sends SET email_id = $1, status = 'queued', next_at = $2"
			   " WHERE broadcast_id = $3 AND status = 'held'",
			   p, 3, err);
	if (r < 0)
		return -1;
	*released = r;
	if (kz_db_exec(c,
		       "UPDATE broadcasts SET winner_email_id = $1, updated_at = $2 WHERE id = $3"
		       " AND winner_email_id IS NULL",
		       p, 3, err) < 0)
		return -1;
	return 0;
}

/* ---- recipient resolution ---- */

/* Marketing mails sent to the contact since a time: the frequency caps' count. */
#define SENT_SINCE(since)                                                                          \
	"(SELECT COUNT(*) FROM email_sends e WHERE e.contact_id = c.id"                           \
	"   AND e.kind NOT IN ('test', 'notify', 'form') AND e.status = 'sent'"                   \
	"   AND e.sent_at >= " since ")"

int kz_store_email_candidates(kz_conn *c, const kz_recipients *a, const char *topic,
			      int64_t day_since, int64_t week_since, json_t **rows_out,
			      kz_err *err)
{
	kz_rows rows;
	kz_val p[4] = {KZ_TEXT(topic ? topic : ""), KZ_INT(day_since), KZ_INT(week_since)};
	const char *where;
	int np = 3;
	char sql[2048];
	*rows_out = NULL;
	if (a->contact_id) {
		where = "c.id = $4";
		p[np++] = KZ_INT(a->contact_id);
	} else if (a->ids) {
		/* one cached statement whatever the list */
		where = kz_conn_is_pg(c)
				? "c.id IN (SELECT CAST(jsonb_array_elements_text(CAST($4 AS jsonb)) AS BIGINT))"
				: "c.id IN (SELECT value FROM json_each($4))";
		p[np++] = KZ_TEXT(a->ids);
	} else if (a->tag) {
		where = "c.id IN (SELECT contact_id FROM contact_tags WHERE tag = $4)";
		p[np++] = KZ_TEXT(a->tag);
	} else if (a->segment_id) {
		/* the kept membership (static lists, and dynamic segments as the audience engine
		 * keeps them current) at the time of sending */
		where = "c.id IN (SELECT contact_id FROM segment_members WHERE segment_id = $4)";
		p[np++] = KZ_INT(a->segment_id);
	} else if (a->all) {
		where = "1 = 1";
	} else {
		return kz_err_set(err, 422, "invalid_field", "segment_id",
				  "choose who receives it: a segment_id, a tag or all_contacts");
	}
	snprintf(sql, sizeof sql,
		 "SELECT c.id, c.email,"
		 " CASE WHEN EXISTS (SELECT 1 FROM email_unsubscribes u WHERE u.contact_id = c.id"
		 "   AND (u.topic = '' OR u.topic = $1)) THEN 1 ELSE 0 END,"
		 " (SELECT s.reason FROM email_suppressions s WHERE s.email = c.email),"
		 " (SELECT k.status FROM contact_consent k WHERE k.contact_id = c.id"
		 "   AND k.channel = 'email'),"
		 " %s, %s"
		 " FROM contacts c WHERE %s ORDER BY c.id",
		 day_since ? SENT_SINCE("$2") : "CAST($2 AS BIGINT) * 0",
		 week_since ? SENT_SINCE("$3") : "CAST($3 AS BIGINT) * 0", where);
	if (kz_db_query(c, sql, p, np, &rows, err) < 0)
		return -1;
	*rows_out = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(*rows_out,
				      json_pack("[ooiooII]", kz_cell_int(&rows, i, 0),
						kz_cell_str(&rows, i, 1), (int)kz_rows_int(&rows, i, 2),
						kz_cell_str(&rows, i, 3), kz_cell_str(&rows, i, 4),
						(json_int_t)kz_rows_int(&rows, i, 5),
						(json_int_t)kz_rows_int(&rows, i, 6)));
	kz_rows_free(&rows);
	return 0;
}
