/* visitor.c — visitors (anonymous identities), web sessions and contact attribution in SQL. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "store/db.h"
#include "store/rowjson.h"
#include "store/store.h"

#include "base/banned.h"

/* ---- visitors ---- */

#define VISITOR_SELECT                                                                             \
	"SELECT id, site_id, anon_id, contact_id, first_seen, last_seen, ip, user_agent,"          \
	" first_touch, last_touch FROM visitors"

static json_t *row_to_visitor(const kz_rows *r, int i)
{
	json_t *o = json_object();
	int64_t site = kz_rows_int(r, i, 1);
	json_object_set_new(o, "id", kz_cell_int(r, i, 0));
	json_object_set_new(o, "site_id", site > 0 ? json_integer(site) : json_null());
	json_object_set_new(o, "anonymous_id",
			    site == KZ_SITE_USERID ? json_null() : kz_cell_str(r, i, 2));
	json_object_set_new(o, "user_id",
			    site == KZ_SITE_USERID ? kz_cell_str(r, i, 2) : json_null());
	json_object_set_new(o, "contact_id", kz_cell_int(r, i, 3));
	json_object_set_new(o, "first_seen", kz_cell_time(r, i, 4));
	json_object_set_new(o, "last_seen", kz_cell_time(r, i, 5));
	json_object_set_new(o, "ip", kz_cell_str(r, i, 6));
	json_object_set_new(o, "user_agent", kz_cell_str(r, i, 7));
	json_object_set_new(o, "first_touch", kz_cell_json(r, i, 8, "null"));
	json_object_set_new(o, "last_touch", kz_cell_json(r, i, 9, "null"));
	return o;
}

static void fill_ref(const kz_rows *r, kz_visitor_ref *out)
{
	out->id = kz_rows_int(r, 0, 0);
	out->site_id = kz_rows_int(r, 0, 1);
	out->contact_id = kz_rows_int(r, 0, 2);
}

/* last_seen is kept to the minute: a visitor's every page view need not rewrite its row. */
#define SEEN_PRECISION_MS 60000

static int same_or_unset(const char *given, const char *stored)
{
	return !given || (stored && !strcmp(given, stored));
}

/* The visitor as it is, when this sighting changes nothing worth a write. */
static int visitor_fresh(kz_conn *c, int64_t site_id, const char *anon_id, int64_t at,
			 const char *ip, const char *ua, kz_visitor_ref *out, kz_err *err)
{
	kz_rows rows;
	kz_val p[2] = {KZ_TEXT(anon_id), KZ_INT(site_id)};
	int fresh = 0;
	if (kz_db_query(c,
			"SELECT id, site_id, contact_id, first_seen, last_seen, ip, user_agent"
			" FROM visitors WHERE anon_id = $1 AND site_id = $2",
			p, 2, &rows, err) < 0)
		return -1;
	if (rows.nrows > 0 && at >= kz_rows_int(&rows, 0, 3) &&
	    at < kz_rows_int(&rows, 0, 4) + SEEN_PRECISION_MS &&
	    same_or_unset(ip, kz_rows_get(&rows, 0, 5)) &&
	    same_or_unset(ua, kz_rows_get(&rows, 0, 6))) {
		fill_ref(&rows, out);
		fresh = 1;
	}
	kz_rows_free(&rows);
	return fresh;
}

int kz_store_visitor_upsert(kz_conn *c, int64_t site_id, const char *anon_id, int64_t at,
			    const char *ip, const char *ua, kz_visitor_ref *out, kz_err *err)
{
	kz_rows rows;
	kz_val p[5] = {KZ_INT(site_id), KZ_TEXT(anon_id), KZ_INT(at), KZ_TEXT(ip), KZ_TEXT(ua)};
	int fresh;
	memset(out, 0, sizeof *out);
	/* A read first: most sightings are of a visitor seen a moment ago, and a read costs
	 * the writer no page writes. */
	fresh = visitor_fresh(c, site_id, anon_id, at, ip, ua, out, err);
	if (fresh != 0)
		return fresh < 0 ? -1 : 0;
	if (kz_db_query(
		    c,
		    "INSERT INTO visitors(site_id, anon_id, first_seen, last_seen, ip, user_agent)"
		    " VALUES ($1, $2, $3, $3, $4, $5) ON CONFLICT (anon_id, site_id) DO UPDATE SET"
		    " last_seen = CASE WHEN excluded.last_seen > visitors.last_seen"
		    "   THEN excluded.last_seen ELSE visitors.last_seen END,"
		    " first_seen = CASE WHEN excluded.first_seen < visitors.first_seen"
		    "   THEN excluded.first_seen ELSE visitors.first_seen END,"
		    " ip = COALESCE(excluded.ip, visitors.ip),"
		    " user_agent = COALESCE(excluded.user_agent, visitors.user_agent)"
		    " RETURNING id, site_id, contact_id",
		    p, 5, &rows, err) < 0)
		return -1;
	if (rows.nrows == 1)
		fill_ref(&rows, out);
	kz_rows_free(&rows);
	if (!out->id)
		return kz_err_set(err, 500, "internal", NULL, "the visitor was not written");
	return 0;
}

int kz_store_visitor_find(kz_conn *c, int64_t site_id, const char *anon_id, kz_visitor_ref *out,
			  kz_err *err)
{
	kz_rows rows;
	kz_val p[2] = {KZ_TEXT(anon_id), KZ_INT(site_id)};
	int r;
	memset(out, 0, sizeof *out);
	if (site_id == KZ_SITE_ANY)
		r = kz_db_query(c,
				/* MIN(id) over the (anon_id, site_id) index: no sorter per event */
				"SELECT id, site_id, contact_id FROM visitors WHERE id = (SELECT MIN(id)"
				" FROM visitors WHERE anon_id = $1 AND site_id >= 0)",
				p, 1, &rows, err);
	else
		r = kz_db_query(c,
				"SELECT id, site_id, contact_id FROM visitors WHERE anon_id = $1"
				" AND site_id = $2",
				p, 2, &rows, err);
	if (r < 0)
		return -1;
	if (rows.nrows > 0)
		fill_ref(&rows, out);
	kz_rows_free(&rows);
	return 0;
}

int kz_store_visitor_link(kz_conn *c, int64_t visitor_id, int64_t contact_id, kz_err *err)
{
	kz_val p[2] = {KZ_INT(visitor_id), KZ_INT(contact_id)};
	if (kz_db_exec(c, "UPDATE visitors SET contact_id = $2 WHERE id = $1", p, 2, err) < 0 ||
	    kz_db_exec(c,
		       "UPDATE events SET contact_id = $2"
		       " WHERE visitor_id = $1 AND contact_id IS NULL",
		       p, 2, err) < 0 ||
	    kz_db_exec(c,
		       "UPDATE sessions_web SET contact_id = $2 WHERE visitor_id = $1"
		       " AND contact_id IS NULL",
		       p, 2, err) < 0)
		return -1;
	/* the visitor's earlier events are the contact's now */
	return kz_store_feed_note(c, KZ_FEED_EVENTS, contact_id, err);
}

int kz_store_visitor_move(kz_conn *c, int64_t from, int64_t into, kz_err *err)
{
	kz_val p[2] = {KZ_INT(from), KZ_INT(into)};
	if (kz_db_exec(c, "UPDATE events SET visitor_id = $2 WHERE visitor_id = $1", p, 2, err) <
		    0 ||
	    kz_db_exec(c, "UPDATE sessions_web SET visitor_id = $2 WHERE visitor_id = $1", p, 2,
		       err) < 0)
		return -1;
	return 0;
}

int kz_store_visitor_touch(kz_conn *c, int64_t visitor_id, const json_t *touch, int direct,
			   kz_err *err)
{
	char *doc = kz_jdump(touch);
	kz_val p[3] = {KZ_INT(visitor_id), KZ_TEXT(doc), KZ_INT(direct ? 1 : 0)};
	int r;
	if (!doc)
		return kz_err_set(err, 500, "internal", NULL, "out of memory");
	r = kz_db_exec(c,
		       "UPDATE visitors SET first_touch = COALESCE(first_touch, $2),"
		       " last_touch = CASE WHEN $3 = 0 OR last_touch IS NULL OR last_direct = 1"
		       "   THEN $2 ELSE last_touch END,"
		       " last_direct = CASE WHEN $3 = 0 OR last_touch IS NULL OR last_direct = 1"
		       "   THEN $3 ELSE last_direct END"
		       " WHERE id = $1",
		       p, 3, err);
	free(doc);
	return r < 0 ? -1 : 0;
}

int kz_store_visitor_get(kz_conn *c, int64_t id, json_t **out, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(id)};
	*out = NULL;
	if (kz_db_query(c, VISITOR_SELECT " WHERE id = $1", p, 1, &rows, err) < 0)
		return -1;
	if (rows.nrows == 0) {
		kz_rows_free(&rows);
		return kz_err_set(err, 404, "not_found", "id", "no visitor with id %" PRId64, id);
	}
	*out = row_to_visitor(&rows, 0);
	kz_rows_free(&rows);
	return 0;
}

/* Cursor of a newest-first list: "<ms>:<id>" of the last row given out. */
static int parse_pair_cursor(const char *cur, int64_t *ms, int64_t *id)
{
	char *end;
	*ms = strtoll(cur, &end, 10);
	if (end == cur || *end != ':')
		return -1;
	cur = end + 1;
	*id = strtoll(cur, &end, 10);
	return end == cur || *end || *id < 0 ? -1 : 0;
}

static char *pair_cursor(const kz_rows *r, int row, int ms_col)
{
	kz_buf b;
	kz_buf_init(&b, 0);
	kz_buf_addf(&b, "%" PRId64 ":%" PRId64, kz_rows_int(r, row, ms_col),
		    kz_rows_int(r, row, 0));
	return kz_buf_detach(&b, NULL);
}

int kz_store_visitor_list(kz_conn *c, const kz_visitor_query *q, json_t **data, char **next_cursor,
			  kz_err *err)
{
	kz_buf sql;
	kz_val p[6];
	kz_rows rows;
	int n = 0, limit = q->limit > 0 ? q->limit : 50, rc = -1;
	int64_t cur_ms = 0, cur_id = 0;
	*data = NULL;
	*next_cursor = NULL;
	if (q->cursor && *q->cursor && parse_pair_cursor(q->cursor, &cur_ms, &cur_id) < 0)
		return kz_err_set(err, 400, "invalid_parameter", "cursor",
				  "cursor is not one this server gave out; start again without it");
	kz_buf_init(&sql, 0);
	kz_buf_adds(&sql, VISITOR_SELECT " WHERE 1=1");
	if (q->contact_id) {
		p[n++] = KZ_INT(q->contact_id);
		kz_buf_addf(&sql, " AND contact_id = $%d", n);
	}
	if (q->site_id) {
		p[n++] = KZ_INT(q->site_id);
		kz_buf_addf(&sql, " AND site_id = $%d", n);
	}
	if (q->anonymous)
		kz_buf_adds(&sql, " AND contact_id IS NULL");
	if (q->cursor && *q->cursor) {
		p[n++] = KZ_INT(cur_ms);
		p[n++] = KZ_INT(cur_id);
		kz_buf_addf(&sql, " AND (last_seen < $%d OR (last_seen = $%d AND id < $%d))", n - 1,
			    n - 1, n);
	}
	p[n++] = KZ_INT(limit + 1);
	kz_buf_addf(&sql, " ORDER BY last_seen DESC, id DESC LIMIT $%d", n);
	if (kz_db_query(c, sql.data, p, n, &rows, err) < 0)
		goto out;
	*data = json_array();
	for (int i = 0; i < rows.nrows && i < limit; i++)
		json_array_append_new(*data, row_to_visitor(&rows, i));
	if (rows.nrows > limit)
		*next_cursor = pair_cursor(&rows, limit - 1, 5);
	kz_rows_free(&rows);
	rc = 0;
out:
	kz_buf_release(&sql);
	return rc;
}

/* ---- web sessions ---- */

int kz_store_wsession_last(kz_conn *c, int64_t visitor_id, kz_wsession *out, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(visitor_id)};
	memset(out, 0, sizeof *out);
	if (kz_db_query(c,
			"SELECT id, started_at, last_at FROM sessions_web WHERE visitor_id = $1"
			" ORDER BY last_at DESC LIMIT 1",
			p, 1, &rows, err) < 0)
		return -1;
	if (rows.nrows > 0) {
		out->id = kz_rows_int(&rows, 0, 0);
		out->started_at = kz_rows_int(&rows, 0, 1);
		out->last_at = kz_rows_int(&rows, 0, 2);
	}
	kz_rows_free(&rows);
	return 0;
}

int kz_store_wsession_start(kz_conn *c, int64_t visitor_id, int64_t contact_id, int64_t at,
			    const json_t *touch, int pages, int64_t *id, kz_err *err)
{
	kz_val p[9] = {
		KZ_INT(visitor_id),
		contact_id ? KZ_INT(contact_id) : KZ_NULLV,
		KZ_INT(at),
		KZ_TEXT(kz_jstr(touch, "landing_url")),
		KZ_TEXT(kz_jstr(touch, "source")),
		KZ_TEXT(kz_jstr(touch, "medium")),
		KZ_TEXT(kz_jstr(touch, "campaign")),
		KZ_TEXT(kz_jstr(touch, "referrer_domain")),
		KZ_INT(pages),
	};
	int found = 0;
	if (kz_db_scalar_int(c,
			     "INSERT INTO sessions_web(visitor_id, contact_id, started_at, last_at,"
			     " landing_url, source, medium, campaign, referrer_domain, page_count)"
			     " VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
			     p, 9, id, &found, err) < 0)
		return -1;
	return 0;
}

int kz_store_wsession_extend(kz_conn *c, int64_t id, int64_t at, int pages, kz_err *err)
{
	kz_val p[3] = {KZ_INT(id), KZ_INT(at), KZ_INT(pages)};
	return kz_db_exec(c,
			  "UPDATE sessions_web SET last_at = CASE WHEN $2 > last_at THEN $2"
			  " ELSE last_at END, page_count = page_count + $3 WHERE id = $1",
			  p, 3, err) < 0
		       ? -1
		       : 0;
}

#define SESSION_COLS                                                                               \
	"id, visitor_id, contact_id, started_at, last_at, landing_url, source, medium,"            \
	" campaign, referrer_domain, page_count"

static json_t *row_to_session(const kz_rows *r, int i)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", kz_cell_int(r, i, 0));
	json_object_set_new(o, "visitor_id", kz_cell_int(r, i, 1));
	json_object_set_new(o, "contact_id", kz_cell_int(r, i, 2));
	json_object_set_new(o, "started_at", kz_cell_time(r, i, 3));
	json_object_set_new(o, "last_at", kz_cell_time(r, i, 4));
	json_object_set_new(o, "landing_url", kz_cell_str(r, i, 5));
	json_object_set_new(o, "source", kz_cell_str(r, i, 6));
	json_object_set_new(o, "medium", kz_cell_str(r, i, 7));
	json_object_set_new(o, "campaign", kz_cell_str(r, i, 8));
	json_object_set_new(o, "referrer_domain", kz_cell_str(r, i, 9));
	json_object_set_new(o, "page_count", kz_cell_int(r, i, 10));
	return o;
}

int kz_store_wsession_list(kz_conn *c, int64_t visitor_id, int limit, json_t **data, kz_err *err)
{
	kz_rows rows;
	kz_val p[2] = {KZ_INT(visitor_id), KZ_INT(limit)};
	*data = NULL;
	if (kz_db_query(c,
			"SELECT " SESSION_COLS " FROM sessions_web WHERE visitor_id = $1"
			" ORDER BY started_at DESC, id DESC LIMIT $2",
			p, 2, &rows, err) < 0)
		return -1;
	*data = json_array();
	for (int i = 0; i < rows.nrows; i++)
		json_array_append_new(*data, row_to_session(&rows, i));
	kz_rows_free(&rows);
	return 0;
}

/* A session row (started_at, landing_url, source, medium, campaign, referrer_domain) as the
 * touch document kept on visitors and contacts. */
static json_t *row_to_touch(const kz_rows *r, int i)
{
	json_t *o = json_object();
	json_object_set_new(o, "source", kz_cell_str(r, i, 2));
	json_object_set_new(o, "medium", kz_cell_str(r, i, 3));
	json_object_set_new(o, "campaign", kz_cell_str(r, i, 4));
	json_object_set_new(o, "referrer_domain", kz_cell_str(r, i, 5));
	json_object_set_new(o, "landing_url", kz_cell_str(r, i, 1));
	json_object_set_new(o, "at", kz_cell_time(r, i, 0));
	return o;
}

int kz_store_wsession_touches(kz_conn *c, int64_t visitor_id, json_t **first, int64_t *first_at,
			      json_t **last, int64_t *last_at, int *last_direct, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(visitor_id)};
	*first = *last = NULL;
	*first_at = *last_at = 0;
	*last_direct = 1;
	if (kz_db_query(c,
			"SELECT started_at, landing_url, source, medium, campaign, referrer_domain"
			" FROM sessions_web WHERE visitor_id = $1 ORDER BY started_at, id LIMIT 1",
			p, 1, &rows, err) < 0)
		return -1;
	if (rows.nrows > 0) {
		*first = row_to_touch(&rows, 0);
		*first_at = kz_rows_int(&rows, 0, 0);
	}
	kz_rows_free(&rows);
	if (!*first)
		return 0;
	if (kz_db_query(c,
			"SELECT started_at, landing_url, source, medium, campaign, referrer_domain"
			" FROM sessions_web WHERE visitor_id = $1"
			" ORDER BY CASE WHEN medium = '(none)' THEN 1 ELSE 0 END, started_at DESC,"
			" id DESC LIMIT 1",
			p, 1, &rows, err) < 0) {
		json_decref(*first);
		*first = NULL;
		return -1;
	}
	if (rows.nrows > 0) {
		const char *medium = kz_rows_get(&rows, 0, 3);
		*last = row_to_touch(&rows, 0);
		*last_at = kz_rows_int(&rows, 0, 0);
		*last_direct = medium && !strcmp(medium, "(none)");
	}
	kz_rows_free(&rows);
	return 0;
}

/* ---- attribution ---- */

/* The rule shared by new touches and merges: the earliest touch stays first; a non-direct
 * touch beats a direct one as last touch, and among equals the later one wins. */
#define ATTRIBUTION_ON_CONFLICT                                                                    \
	" ON CONFLICT (contact_id) DO UPDATE SET"                                                  \
	" first_touch = CASE WHEN contact_attribution.first_at IS NULL"                            \
	"   OR excluded.first_at < contact_attribution.first_at THEN excluded.first_touch"         \
	"   ELSE contact_attribution.first_touch END,"                                             \
	" first_at = CASE WHEN contact_attribution.first_at IS NULL"                               \
	"   OR excluded.first_at < contact_attribution.first_at THEN excluded.first_at"            \
	"   ELSE contact_attribution.first_at END,"                                                \
	" last_touch = CASE WHEN " LAST_WINS " THEN excluded.last_touch"                           \
	"   ELSE contact_attribution.last_touch END,"                                              \
	" last_at = CASE WHEN " LAST_WINS " THEN excluded.last_at"                                 \
	"   ELSE contact_attribution.last_at END,"                                                 \
	" last_direct = CASE WHEN " LAST_WINS " THEN excluded.last_direct"                         \
	"   ELSE contact_attribution.last_direct END"
#define LAST_WINS                                                                                  \
	"(contact_attribution.last_at IS NULL"                                                     \
	" OR excluded.last_direct < contact_attribution.last_direct"                               \
	" OR (excluded.last_direct = contact_attribution.last_direct"                              \
	"     AND excluded.last_at >= contact_attribution.last_at))"

int kz_store_attribution_touch(kz_conn *c, int64_t contact_id, const json_t *touch, int64_t at,
			       int direct, kz_err *err)
{
	char *doc = kz_jdump(touch);
	kz_val p[4] = {KZ_INT(contact_id), KZ_TEXT(doc), KZ_INT(at), KZ_INT(direct ? 1 : 0)};
	int r;
	if (!doc)
		return kz_err_set(err, 500, "internal", NULL, "out of memory");
	r = kz_db_exec(
		c,
		"INSERT INTO contact_attribution(contact_id, first_touch, first_at, last_touch,"
		" last_at, last_direct) VALUES ($1, $2, $3, $2, $3, $4)" ATTRIBUTION_ON_CONFLICT,
		p, 4, err);
	free(doc);
	return r < 0 ? -1 : 0;
}

int kz_store_attribution_get(kz_conn *c, int64_t contact_id, json_t **out, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(contact_id)};
	*out = NULL;
	if (kz_db_query(
		    c,
		    "SELECT first_touch, last_touch FROM contact_attribution WHERE contact_id = $1",
		    p, 1, &rows, err) < 0)
		return -1;
	*out = json_object();
	json_object_set_new(*out, "first_touch",
			    rows.nrows ? kz_cell_json(&rows, 0, 0, "null") : json_null());
	json_object_set_new(*out, "last_touch",
			    rows.nrows ? kz_cell_json(&rows, 0, 1, "null") : json_null());
	kz_rows_free(&rows);
	return 0;
}

int kz_store_track_move_contact(kz_conn *c, int64_t from, int64_t into, kz_err *err)
{
	static const char *const moves[] = {
		"UPDATE events SET contact_id = $2 WHERE contact_id = $1",
		"UPDATE visitors SET contact_id = $2 WHERE contact_id = $1",
		"UPDATE sessions_web SET contact_id = $2 WHERE contact_id = $1",
		"INSERT INTO contact_attribution(contact_id, first_touch, first_at, last_touch,"
		" last_at, last_direct) SELECT $2, first_touch, first_at, last_touch, last_at,"
		" last_direct"
		" FROM contact_attribution WHERE contact_id = $1" ATTRIBUTION_ON_CONFLICT,
		"INSERT INTO event_rollups(contact_id, day, name, count)"
		" SELECT $2, day, name, count FROM event_rollups WHERE contact_id = $1"
		" ON CONFLICT (contact_id, day, name) DO UPDATE"
		" SET count = event_rollups.count + excluded.count",
	};
	kz_val p[2] = {KZ_INT(from), KZ_INT(into)};
	for (size_t i = 0; i < sizeof moves / sizeof moves[0]; i++)
		if (kz_db_exec(c, moves[i], p, 2, err) < 0)
			return -1;
	return 0;
}
