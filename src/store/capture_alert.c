/* capture_alert.c — the durable queue of form alerts to webhooks in SQL: written in the
 * submission's transaction, claimed by the alert sender, retried until delivered. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/rowjson.h"
#include "store/store.h"

#include "base/banned.h"

int kz_store_alert_insert(kz_conn *c, const kz_alert_row *a, int64_t *id, kz_err *err)
{
	kz_val p[6] = {a->contact_id ? KZ_INT(a->contact_id) : KZ_NULLV,
		       KZ_INT(a->form_id),
		       KZ_INT(a->submission_id),
		       KZ_TEXT(a->url),
		       KZ_TEXT(a->payload),
		       KZ_INT(a->now)};
	int found = 0;
	return kz_db_scalar_int(c,
				"INSERT INTO capture_webhooks(contact_id, form_id, submission_id, url,"
				" payload, status, next_at, created_at)"
				" VALUES ($1, $2, $3, $4, $5, 'queued', $6, $6) RETURNING id",
				p, 6, id, &found, err) < 0
		       ? -1
		       : 0;
}

int kz_store_alert_claim(kz_conn *c, int64_t now, int64_t lease_until, int limit, json_t **out,
			 kz_err *err)
{
	kz_rows rows;
	kz_val p[3] = {KZ_INT(now), KZ_INT(lease_until), KZ_INT(limit)};
	const char *sql_pg = "UPDATE capture_webhooks SET status = 'sending', claimed_until = $2,"
			     " attempts = attempts + 1 WHERE id IN (SELECT id FROM capture_webhooks"
			     " WHERE (status = 'queued' AND next_at <= $1)"
			     "  OR (status = 'sending' AND claimed_until < $1)"
			     " ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)"
			     " RETURNING id, url, payload, attempts, form_id";
	const char *sql_lite = "UPDATE capture_webhooks SET status = 'sending', claimed_until = $2,"
			       " attempts = attempts + 1 WHERE id IN (SELECT id FROM capture_webhooks"
			       " WHERE (status = 'queued' AND next_at <= $1)"
			       "  OR (status = 'sending' AND claimed_until < $1)"
			       " ORDER BY id LIMIT $3)"
			       " RETURNING id, url, payload, attempts, form_id";
	*out = NULL;
	if (kz_db_query(c, kz_conn_is_pg(c) ? sql_pg : sql_lite, p, 3, &rows, err) < 0)
		return -1;
	*out = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(
			*out, json_pack("{s:o, s:o, s:o, s:o, s:o}", "id", kz_cell_int(&rows, i, 0),
					"url", kz_cell_str(&rows, i, 1), "payload",
					kz_cell_str(&rows, i, 2), "attempts",
					kz_cell_int(&rows, i, 3), "form_id", kz_cell_int(&rows, i, 4)));
	kz_rows_free(&rows);
	return 0;
}

int kz_store_alert_finish(kz_conn *c, int64_t id, const char *status, const char *error,
			  int64_t at, int64_t next_at, kz_err *err)
{
	kz_val p[5] = {KZ_TEXT(status), KZ_TEXT(error), KZ_INT(at), KZ_INT(next_at), KZ_INT(id)};
	return kz_db_exec(c,
			  "UPDATE capture_webhooks SET status = $1, last_error = $2,"
			  " sent_at = CASE WHEN $1 = 'sent' THEN $3 ELSE sent_at END,"
			  " next_at = $4, claimed_until = NULL WHERE id = $5",
			  p, 5, err) < 0
		       ? -1
		       : 0;
}

int kz_store_alert_list(kz_conn *c, int64_t form_id, int limit, json_t **out, kz_err *err)
{
	kz_rows rows;
	kz_val p[2] = {KZ_INT(form_id), KZ_INT(limit)};
	*out = NULL;
	if (kz_db_query(c,
			"SELECT id, submission_id, url, status, attempts, last_error, created_at,"
			" sent_at FROM capture_webhooks WHERE form_id = $1 ORDER BY id DESC LIMIT $2",
			p, 2, &rows, err) < 0)
		return -1;
	*out = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(
			*out, json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
					kz_cell_int(&rows, i, 0), "submission_id",
					kz_cell_int(&rows, i, 1), "url", kz_cell_str(&rows, i, 2),
					"status", kz_cell_str(&rows, i, 3), "attempts",
					kz_cell_int(&rows, i, 4), "last_error",
					kz_cell_str(&rows, i, 5), "created_at",
					kz_cell_time(&rows, i, 6), "sent_at",
					kz_cell_time(&rows, i, 7)));
	kz_rows_free(&rows);
	return 0;
}
