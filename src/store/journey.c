/* journey.c — journeys in SQL: definitions and their versions, durable enrolments, the step
 * execution log (the idempotency keys of every step) and the outbox of outbound calls. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "store/db.h"
#include "store/rowjson.h"
#include "store/store.h"

#include "base/banned.h"

/* ---- journeys ---- */

#define JOURNEY_COLS                                                                               \
	"id, name, description, status, version, definition, created_at, updated_at, activated_at"

static json_t *row_to_journey(const kz_rows *r, int i)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", kz_cell_int(r, i, 0));
	json_object_set_new(o, "name", kz_cell_str(r, i, 1));
	json_object_set_new(o, "description", kz_cell_str(r, i, 2));
	json_object_set_new(o, "status", kz_cell_str(r, i, 3));
	json_object_set_new(o, "version", kz_cell_int(r, i, 4));
	json_object_set_new(o, "definition", kz_cell_json(r, i, 5, "{}"));
	json_object_set_new(o, "created_at", kz_cell_time(r, i, 6));
	json_object_set_new(o, "updated_at", kz_cell_time(r, i, 7));
	json_object_set_new(o, "activated_at", kz_cell_time(r, i, 8));
	return o;
}

int kz_store_journey_get(kz_conn *c, int64_t id, json_t **out, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(id)};
	*out = NULL;
	if (kz_db_query(c, "SELECT " JOURNEY_COLS " FROM journeys WHERE id = $1", p, 1, &rows,
			err) < 0)
		return -1;
	if (rows.nrows == 0) {
		kz_rows_free(&rows);
		return kz_err_set(err, 404, "not_found", "id", "no journey with id %" PRId64, id);
	}
	*out = row_to_journey(&rows, 0);
	kz_rows_free(&rows);
	return 0;
}

int kz_store_journey_save(kz_conn *c, const json_t *rec, int64_t *id, kz_err *err)
{
	int64_t now = kz_now_ms();
	char *def = kz_jdump(json_object_get(rec, "definition"));
	const json_t *act = json_object_get(rec, "activated_at_ms");
	int rc;
	if (!def)
		return kz_err_set(err, 500, "internal", NULL, "out of memory");
	if (*id == 0) {
		kz_val p[7] = {KZ_TEXT(kz_jstr(rec, "name")),   KZ_TEXT(kz_jstr(rec, "description")),
			       KZ_TEXT(kz_jstr(rec, "status")), KZ_INT(json_integer_value(
								       json_object_get(rec, "version"))),
			       KZ_TEXT(def),                    KZ_INT(now),
			       json_is_integer(act) ? KZ_INT(json_integer_value(act)) : KZ_NULLV};
		rc = kz_db_scalar_int(c,
				      "INSERT INTO journeys (name, description, status, version,"
				      " definition, created_at, updated_at, activated_at)"
				      " VALUES ($1, $2, $3, $4, $5, $6, $6, $7) RETURNING id",
				      p, 7, id, NULL, err);
	} else {
		kz_val p[8] = {KZ_TEXT(kz_jstr(rec, "name")),   KZ_TEXT(kz_jstr(rec, "description")),
			       KZ_TEXT(kz_jstr(rec, "status")), KZ_INT(json_integer_value(
								       json_object_get(rec, "version"))),
			       KZ_TEXT(def),                    KZ_INT(now),
			       json_is_integer(act) ? KZ_INT(json_integer_value(act)) : KZ_NULLV,
			       KZ_INT(*id)};
		rc = kz_db_exec(c,
				"UPDATE journeys SET name = $1, description = $2, status = $3,"
				" version = $4, definition = $5, updated_at = $6, activated_at = $7"
				" WHERE id = $8",
				p, 8, err);
		if (rc == 0)
			rc = kz_err_set(err, 404, "not_found", "id", "no journey with id %" PRId64, *id);
	}
	free(def);
	return rc < 0 ? -1 : 0;
}

int kz_store_journey_delete(kz_conn *c, int64_t id, kz_err *err)
{
	kz_val p[1] = {KZ_INT(id)};
	int rc = kz_db_exec(c, "DELETE FROM journeys WHERE id = $1", p, 1, err);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return kz_err_set(err, 404, "not_found", "id", "no journey with id %" PRId64, id);
	return 0;
}

int kz_store_journey_list(kz_conn *c, const char *status, const char *cursor, int limit,
			  json_t **data, char **next_cursor, kz_err *err)
{
	kz_rows rows;
	int64_t before = INT64_MAX;
	char buf[32];
	*data = NULL;
	*next_cursor = NULL;
	if (cursor && *cursor) {
		char *end;
		before = strtoll(cursor, &end, 10);
		if (end == cursor || *end || before <= 0)
			return kz_err_set(err, 400, "invalid_parameter", "cursor",
					  "cursor is not one this server gave out; start again without it");
	}
	{
		kz_val p[3] = {KZ_INT(before), KZ_TEXT(status), KZ_INT(limit)};
		if (kz_db_query(c,
				"SELECT " JOURNEY_COLS " FROM journeys WHERE id < $1"
				" AND (CAST($2 AS TEXT) IS NULL OR status = $2) ORDER BY id DESC LIMIT $3",
				p, 3, &rows, err) < 0)
			return -1;
	}
	*data = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(*data, row_to_journey(&rows, i));
	if (rows.nrows == limit) {
		snprintf(buf, sizeof buf, "%" PRId64, kz_rows_int(&rows, rows.nrows - 1, 0));
		*next_cursor = strdup(buf);
	}
	kz_rows_free(&rows);
	return 0;
}

int kz_store_journey_version_put(kz_conn *c, int64_t id, int64_t version, const json_t *def,
				 kz_err *err)
{
	char *text = kz_jdump(def);
	kz_val p[4] = {KZ_INT(id), KZ_INT(version), KZ_TEXT(text), KZ_INT(kz_now_ms())};
	int rc;
	if (!text)
		return kz_err_set(err, 500, "internal", NULL, "out of memory");
	rc = kz_db_exec(c,
			"INSERT INTO journey_versions (journey_id, version, definition, created_at)"
			" VALUES ($1, $2, $3, $4) ON CONFLICT (journey_id, version)"
			" DO UPDATE SET definition = excluded.definition",
			p, 4, err);
	free(text);
	return rc < 0 ? -1 : 0;
}

int kz_store_journey_version_get(kz_conn *c, int64_t id, int64_t version, json_t **def,
				 kz_err *err)
{
	kz_rows rows;
	kz_val p[2] = {KZ_INT(id), KZ_INT(version)};
	*def = NULL;
	if (kz_db_query(c,
			"SELECT definition FROM journey_versions WHERE journey_id = $1 AND version = $2",
			p, 2, &rows, err) < 0)
		return -1;
	if (rows.nrows == 0) {
		kz_rows_free(&rows);
		return kz_err_set(err, 404, "not_found", "version",
				  "journey %" PRId64 " has no version %" PRId64, id, version);
	}
	*def = kz_cell_json(&rows, 0, 0, "{}");
	kz_rows_free(&rows);
	return 0;
}

int kz_store_journey_versions(kz_conn *c, int64_t id, json_t **data, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(id)};
	*data = NULL;
	if (kz_db_query(c,
			"SELECT v.version, v.definition, v.created_at,"
			" (SELECT COUNT(*) FROM journey_enrolments e WHERE e.journey_id = v.journey_id"
			"  AND e.version = v.version),"
			" (SELECT COUNT(*) FROM journey_enrolments e WHERE e.journey_id = v.journey_id"
			"  AND e.version = v.version AND e.state = 'active')"
			" FROM journey_versions v WHERE v.journey_id = $1 ORDER BY v.version DESC",
			p, 1, &rows, err) < 0)
		return -1;
	*data = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(*data,
				      json_pack("{s:o, s:o, s:o, s:o, s:o}", "version",
						kz_cell_int(&rows, i, 0), "definition",
						kz_cell_json(&rows, i, 1, "{}"), "created_at",
						kz_cell_time(&rows, i, 2), "enrolled",
						kz_cell_int(&rows, i, 3), "active",
						kz_cell_int(&rows, i, 4)));
	kz_rows_free(&rows);
	return 0;
}

int kz_store_journey_active_ids(kz_conn *c, json_t **ids, kz_err *err)
{
	kz_rows rows;
	*ids = NULL;
	if (kz_db_query(c, "SELECT id FROM journeys WHERE status = 'active' ORDER BY id", NULL, 0,
			&rows, err) < 0)
		return -1;
	*ids = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(*ids, json_integer(kz_rows_int(&rows, i, 0)));
	kz_rows_free(&rows);
	return 0;
}

int kz_store_journey_rr_next(kz_conn *c, int64_t id, int64_t *slot, kz_err *err)
{
	kz_val p[1] = {KZ_INT(id)};
	int found = 0;
	if (kz_db_scalar_int(c,
			     "UPDATE journeys SET rr_next = rr_next + 1 WHERE id = $1"
			     " RETURNING rr_next - 1",
			     p, 1, slot, &found, err) < 0)
		return -1;
	if (!found)
		return kz_err_set(err, 404, "not_found", "id", "no journey with id %" PRId64, id);
	return 0;
}

/* ---- enrolments ---- */

#define ENROL_COLS                                                                                 \
	"e.id, e.contact_id, e.journey_id, e.version, e.seq, e.due_at, e.entered_at, e.sends,"    \
	" e.step, e.wait_event, e.context"

void kz_enrolments_free(kz_enrolment *e, int n)
{
	if (!e)
		return;
	for (int i = 0; i < n; i++)
		free(e[i].context);
	free(e);
}

/* A text cell into a fixed buffer, cut at its size ("" for NULL); a claim copies two per row. */
static void copy_cell(char *out, size_t len, const char *v)
{
	size_t n = v ? strlen(v) : 0;
	if (n >= len)
		n = len - 1;
	memcpy(out, v ? v : "", n);
	out[n] = '\0';
}

static int rows_to_enrolments(kz_rows *rows, kz_enrolment **out, int *n, kz_err *err)
{
	kz_enrolment *e = calloc((size_t)(rows->nrows ? rows->nrows : 1), sizeof *e);
	if (!e) {
		kz_rows_free(rows);
		return kz_err_set(err, 500, "internal", NULL, "out of memory");
	}
	for (int i = 0; i < rows->nrows; i++) {
		const char *ctx = kz_rows_get(rows, i, 10);
		e[i].id = kz_rows_int(rows, i, 0);
		e[i].contact_id = kz_rows_int(rows, i, 1);
		e[i].journey_id = kz_rows_int(rows, i, 2);
		e[i].version = kz_rows_int(rows, i, 3);
		e[i].seq = kz_rows_int(rows, i, 4);
		e[i].due_at = kz_rows_int(rows, i, 5);
		e[i].entered_at = kz_rows_int(rows, i, 6);
		e[i].sends = kz_rows_int(rows, i, 7);
		copy_cell(e[i].step, sizeof e[i].step, kz_rows_get(rows, i, 8));
		copy_cell(e[i].wait_event, sizeof e[i].wait_event, kz_rows_get(rows, i, 9));
		e[i].context = ctx ? strdup(ctx) : NULL;
	}
	*n = rows->nrows;
	*out = e;
	kz_rows_free(rows);
	return 0;
}

int kz_store_enrol(kz_conn *c, const kz_enrol_req *r, int64_t *id, kz_err *err)
{
	char key[160];
	int found = 0;
	*id = 0;
	snprintf(key, sizeof key, "%s", r->entry_key);
	if (!strcmp(r->entry_key, "after:")) {
		/* again only after the previous entry finished: the key counts earlier entries, so
		 * two nodes racing for the same entry collide on the unique index */
		int64_t total = 0, active = 0;
		kz_val p[2] = {KZ_INT(r->contact_id), KZ_INT(r->journey_id)};
		if (kz_db_scalar_int(c,
				     "SELECT COUNT(*) FROM journey_enrolments WHERE contact_id = $1"
				     " AND journey_id = $2",
				     p, 2, &total, NULL, err) < 0 ||
		    kz_db_scalar_int(c,
				     "SELECT COUNT(*) FROM journey_enrolments WHERE contact_id = $1"
				     " AND journey_id = $2 AND state = 'active'",
				     p, 2, &active, NULL, err) < 0)
			return -1;
		if (active)
			return 0;
		snprintf(key, sizeof key, "after:%" PRId64, total);
	}
	{
		kz_val p[9] = {KZ_INT(r->contact_id), KZ_INT(r->journey_id), KZ_INT(r->version),
			       KZ_TEXT(r->step),      KZ_INT(r->due_at),     KZ_INT(r->now),
			       (kz_val){KZ_V_TEXT, 0, key}, KZ_TEXT(r->context), KZ_TEXT(r->wait_event)};
		if (kz_db_scalar_int(c,
				     "INSERT INTO journey_enrolments (contact_id, journey_id, version,"
				     " state, step, seq, due_at, entered_at, updated_at, entry_key, context,"
				     " wait_event)"
				     " SELECT CAST($1 AS BIGINT), CAST($2 AS BIGINT), CAST($3 AS BIGINT), 'active',"
				     " CAST($4 AS TEXT), 0, CAST($5 AS BIGINT), CAST($6 AS BIGINT),"
				     " CAST($6 AS BIGINT), CAST($7 AS TEXT), CAST($8 AS TEXT), CAST($9 AS TEXT)"
				     " WHERE EXISTS (SELECT 1 FROM contacts WHERE id = $1)"
				     " ON CONFLICT DO NOTHING RETURNING id",
				     p, 9, id, &found, err) < 0)
			return -1;
	}
	if (!found)
		*id = 0;
	return 0;
}

int kz_store_enrol_segment(kz_conn *c, const kz_enrol_req *r, int64_t segment_id, int64_t *n,
			   kz_err *err)
{
	kz_val p[8] = {KZ_INT(r->journey_id), KZ_INT(r->version), KZ_TEXT(r->step),
		       KZ_INT(r->due_at),     KZ_INT(r->now),     KZ_TEXT(r->entry_key),
		       KZ_INT(segment_id),    KZ_TEXT(r->wait_event)};
	int rc = kz_db_exec(c,
			    "INSERT INTO journey_enrolments (contact_id, journey_id, version, state,"
			    " step, seq, due_at, entered_at, updated_at, entry_key, wait_event)"
			    " SELECT m.contact_id, CAST($1 AS BIGINT), CAST($2 AS BIGINT), 'active',"
			    " CAST($3 AS TEXT), 0, CAST($4 AS BIGINT), CAST($5 AS BIGINT),"
			    " CAST($5 AS BIGINT), CAST($6 AS TEXT), CAST($8 AS TEXT)"
			    " FROM segment_members m WHERE m.segment_id = $7 AND NOT EXISTS"
			    " (SELECT 1 FROM journey_enrolments x WHERE x.contact_id = m.contact_id"
			    "  AND x.journey_id = $1 AND x.state = 'active')"
			    " ON CONFLICT DO NOTHING",
			    p, 8, err);
	if (rc < 0)
		return -1;
	*n = rc;
	return 0;
}

int kz_store_enrol_due(kz_conn *c, int64_t now, int limit, kz_enrolment **out, int *n,
		       kz_err *err)
{
	kz_rows rows;
	kz_val p[2] = {KZ_INT(now), KZ_INT(limit)};
	const char *sql_pg = "SELECT " ENROL_COLS " FROM journey_enrolments e"
			     " JOIN journeys j ON j.id = e.journey_id"
			     " WHERE e.state = 'active' AND e.due_at <= $1 AND j.status = 'active'"
			     " ORDER BY e.due_at LIMIT $2 FOR UPDATE OF e SKIP LOCKED";
	const char *sql_lite = "SELECT " ENROL_COLS " FROM journey_enrolments e"
			       " JOIN journeys j ON j.id = e.journey_id"
			       " WHERE e.state = 'active' AND e.due_at <= $1 AND j.status = 'active'"
			       " ORDER BY e.due_at LIMIT $2";
	*out = NULL;
	*n = 0;
	if (kz_db_query(c, kz_conn_is_pg(c) ? sql_pg : sql_lite, p, 2, &rows, err) < 0)
		return -1;
	return rows_to_enrolments(&rows, out, n, err);
}

int kz_store_enrol_of_contact(kz_conn *c, int64_t contact_id, kz_enrolment **out, int *n,
			      kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(contact_id)};
	const char *sql_pg = "SELECT " ENROL_COLS " FROM journey_enrolments e"
			     " JOIN journeys j ON j.id = e.journey_id"
			     " WHERE e.contact_id = $1 AND e.state = 'active' AND j.status = 'active'"
			     " ORDER BY e.id FOR UPDATE OF e";
	const char *sql_lite = "SELECT " ENROL_COLS " FROM journey_enrolments e"
			       " JOIN journeys j ON j.id = e.journey_id"
			       " WHERE e.contact_id = $1 AND e.state = 'active' AND j.status = 'active'"
			       " ORDER BY e.id";
	*out = NULL;
	*n = 0;
	if (kz_db_query(c, kz_conn_is_pg(c) ? sql_pg : sql_lite, p, 1, &rows, err) < 0)
		return -1;
	return rows_to_enrolments(&rows, out, n, err);
}

int kz_store_enrol_next_due(kz_conn *c, int64_t *due, kz_err *err)
{
	int found = 0;
	*due = 0;
	if (kz_db_scalar_int(c,
			     "SELECT e.due_at FROM journey_enrolments e"
			     " JOIN journeys j ON j.id = e.journey_id WHERE e.state = 'active'"
			     " AND e.due_at IS NOT NULL AND j.status = 'active' ORDER BY e.due_at LIMIT 1",
			     NULL, 0, due, &found, err) < 0)
		return -1;
	if (!found)
		*due = 0;
	return 0;
}

int kz_store_step_done(kz_conn *c, const kz_step_done *d, int *applied, kz_err *err)
{
	const kz_enrolment *e = d->e;
	int rc;
	*applied = 0;
	{
		kz_val p[8] = {KZ_INT(e->id),	       KZ_INT(e->seq),	       KZ_INT(e->contact_id),
			       KZ_INT(e->journey_id),  KZ_INT(e->version),     KZ_TEXT(e->step),
			       KZ_TEXT(d->outcome),    KZ_INT(d->at)};
		rc = kz_db_exec(c,
				"INSERT INTO journey_steps (enrolment_id, seq, contact_id, journey_id,"
				" version, step, outcome, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
				" ON CONFLICT DO NOTHING",
				p, 8, err);
		if (rc <= 0)
			return rc < 0 ? -1 : 0;
	}
	{
		kz_val p[9] = {KZ_TEXT(d->next ? d->next : e->step),
			       KZ_TEXT(d->state),
			       d->due_at ? KZ_INT(d->due_at) : KZ_NULLV,
			       KZ_TEXT(d->wait_event),
			       KZ_TEXT(d->reason),
			       KZ_INT(d->sent),
			       KZ_INT(d->at),
			       KZ_INT(e->id),
			       KZ_INT(e->seq)};
		rc = kz_db_exec(c,
				"UPDATE journey_enrolments SET step = $1, seq = seq + 1, state = CAST($2 AS TEXT),"
				" due_at = CAST($3 AS BIGINT), wait_event = $4, reason = $5, sends = sends + $6,"
				" updated_at = CAST($7 AS BIGINT), finished_at = CASE WHEN $2 = 'active'"
				" THEN NULL ELSE CAST($7 AS BIGINT) END WHERE id = $8 AND seq = $9",
				p, 9, err);
	}
	if (rc < 0)
		return -1;
	*applied = rc > 0;
	return 0;
}

int kz_store_enrol_migrate(kz_conn *c, int64_t journey_id, int64_t from, const char *old_step,
			   int64_t to, const char *new_step, int64_t now, int64_t *n, kz_err *err)
{
	kz_val p[6] = {KZ_INT(to),	   KZ_TEXT(new_step), KZ_INT(now),
		       KZ_INT(journey_id), KZ_INT(from),      KZ_TEXT(old_step)};
	int rc = kz_db_exec(c,
			    "UPDATE journey_enrolments SET version = $1, step = $2, updated_at = $3"
			    " WHERE journey_id = $4 AND version = $5 AND step = $6"
			    " AND state = 'active'",
			    p, 6, err);
	if (rc < 0)
		return -1;
	*n = rc;
	return 0;
}

int kz_store_enrol_exit_all(kz_conn *c, int64_t journey_id, const char *reason, int64_t now,
			    kz_err *err)
{
	kz_val p[3] = {KZ_TEXT(reason), KZ_INT(now), KZ_INT(journey_id)};
	return kz_db_exec(c,
			  "UPDATE journey_enrolments SET state = 'exited', reason = $1, due_at = NULL,"
			  " updated_at = $2, finished_at = $2, seq = seq + 1"
			  " WHERE journey_id = $3 AND state = 'active'",
			  p, 3, err) < 0
		       ? -1
		       : 0;
}

int kz_store_journey_sends(kz_conn *c, int64_t journey_id, int64_t contact_id, int64_t *n,
			   kz_err *err)
{
	kz_val p[2] = {KZ_INT(contact_id), KZ_INT(journey_id)};
	return kz_db_scalar_int(c,
				"SELECT COUNT(*) FROM email_sends WHERE contact_id = $1"
				" AND journey_id = $2 AND status <> 'skipped'",
				p, 2, n, NULL, err);
}

/* steps[step][key] += n */
static void bump(json_t *steps, const char *step, const char *key, int64_t n)
{
	json_t *s = json_object_get(steps, step);
	if (!s) {
		s = json_pack("{s:i, s:i, s:i, s:i, s:{}}", "waiting", 0, "exited", 0, "executed", 0,
			      "finished", 0, "outcomes");
		json_object_set_new(steps, step, s);
	}
	json_object_set_new(s, key, json_integer(json_integer_value(json_object_get(s, key)) + n));
}

int kz_store_journey_stats(kz_conn *c, int64_t journey_id, int64_t version, json_t **out,
			   kz_err *err)
{
	kz_rows rows;
	kz_val p[2] = {KZ_INT(journey_id), KZ_INT(version)};
	json_t *steps = json_object();
	int64_t enrolled = 0, active = 0, completed = 0, exited = 0, goal = 0;
	*out = NULL;
	if (kz_db_query(c,
			"SELECT step, state, COUNT(*) FROM journey_enrolments WHERE journey_id = $1"
			" AND ($2 = 0 OR version = $2) GROUP BY step, state",
			p, 2, &rows, err) < 0)
		goto fail;
	for (int i = 0; i < rows.nrows; i++) {
		const char *step = kz_rows_get(&rows, i, 0), *state = kz_rows_get(&rows, i, 1);
		int64_t n = kz_rows_int(&rows, i, 2);
		enrolled += n;
		if (!strcmp(state, "active")) {
			active += n;
			bump(steps, step, "waiting", n);
		} else if (!strcmp(state, "completed")) {
			completed += n;
			bump(steps, step, "finished", n);
		} else if (!strcmp(state, "goal")) {
			goal += n;
			bump(steps, step, "finished", n);
		} else {
			exited += n;
			bump(steps, step, "exited", n);
		}
	}
	kz_rows_free(&rows);
	if (kz_db_query(c,
			"SELECT step, outcome, COUNT(*) FROM journey_steps WHERE journey_id = $1"
			" AND ($2 = 0 OR version = $2) GROUP BY step, outcome",
			p, 2, &rows, err) < 0)
		goto fail;
	for (int i = 0; i < rows.nrows; i++) {
		const char *step = kz_rows_get(&rows, i, 0), *outcome = kz_rows_get(&rows, i, 1);
		int64_t n = kz_rows_int(&rows, i, 2);
		json_t *o;
		bump(steps, step, "executed", n);
		o = json_object_get(json_object_get(steps, step), "outcomes");
		json_object_set_new(o, outcome,
				    json_integer(json_integer_value(json_object_get(o, outcome)) + n));
	}
	kz_rows_free(&rows);
	*out = json_pack("{s:I, s:I, s:I, s:I, s:I, s:o}", "enrolled", (json_int_t)enrolled,
			 "active", (json_int_t)active, "completed", (json_int_t)completed, "exited",
			 (json_int_t)exited, "goal_reached", (json_int_t)goal, "steps", steps);
	return 0;
fail:
	json_decref(steps);
	return -1;
}

int kz_store_contact_journeys(kz_conn *c, int64_t contact_id, json_t **data, kz_err *err)
{
	kz_rows rows, h;
	kz_val p[1] = {KZ_INT(contact_id)};
	*data = NULL;
	if (kz_db_query(c,
			"SELECT e.id, e.journey_id, j.name, e.version, e.state, e.step, e.due_at,"
			" e.entered_at, e.finished_at, e.reason, e.wait_event FROM journey_enrolments e"
			" JOIN journeys j ON j.id = e.journey_id WHERE e.contact_id = $1"
			" ORDER BY e.id DESC LIMIT 100",
			p, 1, &rows, err) < 0)
		return -1;
	*data = json_array();
	for (int i = 0; i < rows.nrows; i++) {
		kz_val q[1] = {KZ_INT(kz_rows_int(&rows, i, 0))};
		json_t *hist = json_array();
		if (kz_db_query(c,
				"SELECT step, at, outcome FROM journey_steps WHERE enrolment_id = $1"
				" ORDER BY seq",
				q, 1, &h, err) < 0) {
			json_decref(hist);
			kz_rows_free(&rows);
			json_decref(*data);
			*data = NULL;
			return -1;
		}
		for (int k = 0; k < h.nrows; k++)
			json_array_append_new(hist, json_pack("{s:o, s:o, s:o}", "step",
							      kz_cell_str(&h, k, 0), "at",
							      kz_cell_time(&h, k, 1), "outcome",
							      kz_cell_str(&h, k, 2)));
		kz_rows_free(&h);
		json_array_append_new(
			*data,
			json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:o}",
				  "journey_id", kz_cell_int(&rows, i, 1), "journey_name",
				  kz_cell_str(&rows, i, 2), "version", kz_cell_int(&rows, i, 3),
				  "state", kz_cell_str(&rows, i, 4), "step", kz_cell_str(&rows, i, 5),
				  "due_at", kz_cell_time(&rows, i, 6), "entered_at",
				  kz_cell_time(&rows, i, 7), "finished_at", kz_cell_time(&rows, i, 8),
				  "reason", kz_cell_str(&rows, i, 9), "wait_event",
				  kz_cell_str(&rows, i, 10), "enrolment_id",
				  (json_int_t)kz_rows_int(&rows, i, 0), "history", hist));
	}
	kz_rows_free(&rows);
	return 0;
}

/* ---- the events journeys read ---- */

#define POS_KEY "journeys.event_pos"

int kz_store_journey_pos_get(kz_conn *c, int64_t *pos, int *found, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_TEXT(POS_KEY)};
	*pos = 0;
	*found = 0;
	if (kz_db_query(c,
			kz_conn_is_pg(c) ? "SELECT value FROM settings WHERE key = $1 FOR UPDATE"
					 : "SELECT value FROM settings WHERE key = $1",
			p, 1, &rows, err) < 0)
		return -1;
	if (rows.nrows && kz_rows_get(&rows, 0, 0)) {
		*pos = strtoll(kz_rows_get(&rows, 0, 0), NULL, 10);
		*found = 1;
	}
	kz_rows_free(&rows);
	return 0;
}

int kz_store_journey_pos_set(kz_conn *c, int64_t pos, kz_err *err)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%" PRId64, pos);
	return kz_store_setting_set(c, POS_KEY, buf, err);
}

int kz_store_event_max_id(kz_conn *c, int64_t *id, kz_err *err)
{
	return kz_db_scalar_int(c, "SELECT COALESCE(MAX(id), 0) FROM events", NULL, 0, id, NULL,
				err);
}

static void rows_to_events(kz_rows *rows, json_t **out);

int kz_store_journey_events(kz_conn *c, int64_t after, int limit, json_t **out, kz_err *err)
{
	kz_rows rows;
	kz_val p[2] = {KZ_INT(after), KZ_INT(limit)};
	*out = NULL;
	if (kz_db_query(c,
			"SELECT id, contact_id, name, properties, context, occurred_at FROM events"
			" WHERE id > $1 ORDER BY id LIMIT $2",
			p, 2, &rows, err) < 0)
		return -1;
	rows_to_events(&rows, out);
	return 0;
}

int kz_store_journey_events_in(kz_conn *c, const int64_t *ids, int n, json_t **out,
			       kz_err *err)
{
	kz_rows rows;
	char *sql = malloc((size_t)n * 24 + 160);
	size_t len;
	int rc;
	*out = NULL;
	if (!sql)
		return kz_err_set(err, 500, "internal", NULL, "out of memory");
	/* ids are integers: written into the statement (one statement per call, not cached) */
	len = (size_t)snprintf(sql, 160, "SELECT id, contact_id, name, properties, context,"
					 " occurred_at FROM events WHERE id IN (");
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(sql + len, 24, "%s%" PRId64, i ? "," : "", ids[i]);
	snprintf(sql + len, 24, ") ORDER BY id");
	rc = kz_db_query(c, sql, NULL, 0, &rows, err);
	free(sql);
	if (rc < 0)
		return -1;
	rows_to_events(&rows, out);
	return 0;
}

static void rows_to_events(kz_rows *rows_in, json_t **out)
{
	kz_rows rows = *rows_in;
	*out = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(*out, json_pack("{s:I, s:I, s:s, s:s, s:s, s:I}", "id",
						      (json_int_t)kz_rows_int(&rows, i, 0), "contact_id",
						      (json_int_t)(kz_rows_get(&rows, i, 1) ? kz_rows_int(&rows, i, 1) : 0),
						      "name",
						      kz_rows_get(&rows, i, 2), "properties",
						      kz_rows_get(&rows, i, 3) ? kz_rows_get(&rows, i, 3) : "{}",
						      "context",
						      kz_rows_get(&rows, i, 4) ? kz_rows_get(&rows, i, 4) : "{}",
						      "occurred_at", (json_int_t)kz_rows_int(&rows, i, 5)));
	kz_rows_free(&rows);
}

int kz_store_contact_fields_page(kz_conn *c, int64_t after, int limit, json_t **out,
				 kz_err *err)
{
	kz_rows rows;
	kz_val p[2] = {KZ_INT(after), KZ_INT(limit)};
	*out = NULL;
	if (kz_db_query(c,
			"SELECT id, fields, timezone FROM contacts WHERE id > $1 ORDER BY id LIMIT $2",
			p, 2, &rows, err) < 0)
		return -1;
	*out = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(*out, json_pack("[I, s, o]", (json_int_t)kz_rows_int(&rows, i, 0),
						      kz_rows_get(&rows, i, 1) ? kz_rows_get(&rows, i, 1)
									       : "{}",
						      kz_cell_str(&rows, i, 2)));
	kz_rows_free(&rows);
	return 0;
}

/* ---- outbound calls ---- */

int kz_store_jcall_insert(kz_conn *c, const char *dedupe, int64_t journey_id, int64_t contact_id,
			  const char *kind, const char *target, const char *body, int64_t now,
			  kz_err *err)
{
	kz_val p[7] = {KZ_TEXT(dedupe), KZ_INT(journey_id), KZ_INT(contact_id), KZ_TEXT(kind),
		       KZ_TEXT(target), KZ_TEXT(body),      KZ_INT(now)};
	return kz_db_exec(c,
			  "INSERT INTO journey_calls (dedupe, journey_id, contact_id, kind, target,"
			  " body, status, next_at, created_at) VALUES ($1, $2, $3, $4, $5, $6,"
			  " 'queued', $7, $7) ON CONFLICT DO NOTHING",
			  p, 7, err) < 0
		       ? -1
		       : 0;
}

int kz_store_jcall_claim(kz_conn *c, int64_t now, int64_t lease_until, int limit, json_t **out,
			 kz_err *err)
{
	kz_rows rows;
	kz_val p[3] = {KZ_INT(now), KZ_INT(lease_until), KZ_INT(limit)};
	const char *sql_pg = "UPDATE journey_calls SET status = 'sending', next_at = $2,"
			     " attempts = attempts + 1 WHERE id IN (SELECT id FROM journey_calls"
			     " WHERE status IN ('queued', 'sending') AND next_at <= $1 ORDER BY id"
			     " LIMIT $3 FOR UPDATE SKIP LOCKED)"
			     " RETURNING id, dedupe, journey_id, contact_id, kind, target, body, attempts";
	const char *sql_lite = "UPDATE journey_calls SET status = 'sending', next_at = $2,"
			       " attempts = attempts + 1 WHERE id IN (SELECT id FROM journey_calls"
			       " WHERE status IN ('queued', 'sending') AND next_at <= $1 ORDER BY id"
			       " LIMIT $3)"
			       " RETURNING id, dedupe, journey_id, contact_id, kind, target, body,"
			       " attempts";
	*out = NULL;
	if (kz_db_query(c, kz_conn_is_pg(c) ? sql_pg : sql_lite, p, 3, &rows, err) < 0)
		return -1;
	*out = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(
			*out, json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
					kz_cell_int(&rows, i, 0), "dedupe", kz_cell_str(&rows, i, 1),
					"journey_id", kz_cell_int(&rows, i, 2), "contact_id",
					kz_cell_int(&rows, i, 3), "kind", kz_cell_str(&rows, i, 4),
					"target", kz_cell_str(&rows, i, 5), "body",
					kz_cell_str(&rows, i, 6), "attempts", kz_cell_int(&rows, i, 7)));
	kz_rows_free(&rows);
	return 0;
}

int kz_store_jcall_finish(kz_conn *c, int64_t id, const char *status, const char *error,
			  int64_t next_at, int64_t now, kz_err *err)
{
	kz_val p[5] = {KZ_TEXT(status), KZ_TEXT(error), KZ_INT(next_at), KZ_INT(now), KZ_INT(id)};
	return kz_db_exec(c,
			  "UPDATE journey_calls SET status = CAST($1 AS TEXT), last_error = $2, next_at = $3,"
			  " done_at = CASE WHEN $1 = 'queued' THEN NULL ELSE CAST($4 AS BIGINT) END"
			  " WHERE id = $5",
			  p, 5, err) < 0
		       ? -1
		       : 0;
}

int kz_store_jcall_list(kz_conn *c, int64_t journey_id, int limit, json_t **data, kz_err *err)
{
	kz_rows rows;
	kz_val p[2] = {KZ_INT(journey_id), KZ_INT(limit)};
	*data = NULL;
	if (kz_db_query(c,
			"SELECT id, kind, target, status, attempts, last_error, created_at, contact_id"
			" FROM journey_calls WHERE journey_id = $1 ORDER BY id DESC LIMIT $2",
			p, 2, &rows, err) < 0)
		return -1;
	*data = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(
			*data, json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
					 kz_cell_int(&rows, i, 0), "kind", kz_cell_str(&rows, i, 1),
					 "target", kz_cell_str(&rows, i, 2), "status",
					 kz_cell_str(&rows, i, 3), "attempts", kz_cell_int(&rows, i, 4),
					 "last_error", kz_cell_str(&rows, i, 5), "created_at",
					 kz_cell_time(&rows, i, 6), "contact_id",
					 kz_cell_int(&rows, i, 7)));
	kz_rows_free(&rows);
	return 0;
}
