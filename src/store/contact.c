/* contact.c — contacts and their tags in SQL; cleansing and merge rules live in src/model/. */
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

/* Columns read for a contact, in this order (see row_to_contact). */
#define CONTACT_COLS                                                                            \
	"c.id, c.email, c.first_name, c.last_name, c.first_name_kana, c.last_name_kana, c.phone, " \
	"c.company_id, c.owner_id, c.timezone, c.locale, c.fields, c.created_at, c.updated_at, "  \
	"co.name, co.domain, "
#define TAGS_SQLITE                                                                         \
	"(SELECT group_concat(tag, char(31)) FROM (SELECT tag FROM contact_tags t "          \
	"WHERE t.contact_id = c.id ORDER BY tag))"
#define TAGS_PG "(SELECT string_agg(tag, chr(31) ORDER BY tag) FROM contact_tags t WHERE t.contact_id = c.id)"
#define CONTACT_FROM " FROM contacts c LEFT JOIN companies co ON co.id = c.company_id"

static const char *select_head(kz_conn *c)
{
	return kz_conn_is_pg(c) ? "SELECT " CONTACT_COLS TAGS_PG CONTACT_FROM
				: "SELECT " CONTACT_COLS TAGS_SQLITE CONTACT_FROM;
}

static json_t *split_tags(const char *agg)
{
	json_t *a = json_array();
	const char *p = agg;
	if (!agg || !*agg)
		return a;
	for (;;) {
		const char *e = strchr(p, '\x1f');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		json_array_append_new(a, json_stringn(p, n));
		if (!e)
			break;
		p = e + 1;
	}
	return a;
}

/* The text members of a contact that are columns of the same name, in the column order of
 * CONTACT_COLS (after the id) and of save_cols. */
static const char *const text_members[6] = {"email", "first_name", "last_name",
					    "first_name_kana", "last_name_kana", "phone"};

static json_t *row_to_contact(const kz_rows *r, int i)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", kz_cell_int(r, i, 0));
	for (int k = 0; k < 6; k++)
		json_object_set_new(o, text_members[k], kz_cell_str(r, i, 1 + k));
	if (kz_rows_get(r, i, 7)) {
		json_t *co = json_object();
		json_object_set_new(co, "id", kz_cell_int(r, i, 7));
		json_object_set_new(co, "name", kz_cell_str(r, i, 14));
		json_object_set_new(co, "domain", kz_cell_str(r, i, 15));
		json_object_set_new(o, "company", co);
	} else {
		json_object_set_new(o, "company", json_null());
	}
	json_object_set_new(o, "company_id", kz_cell_int(r, i, 7));
	json_object_set_new(o, "tags", split_tags(kz_rows_get(r, i, 16)));
	json_object_set_new(o, "fields", kz_cell_json(r, i, 11, "{}"));
	json_object_set_new(o, "owner", kz_cell_int(r, i, 8));
	json_object_set_new(o, "timezone", kz_cell_str(r, i, 9));
	json_object_set_new(o, "locale", kz_cell_str(r, i, 10));
	json_object_set_new(o, "created_at", kz_cell_time(r, i, 12));
	json_object_set_new(o, "updated_at", kz_cell_time(r, i, 13));
	return o;
}

int kz_store_contact_get(kz_conn *c, int64_t id, json_t **out, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(id)};
	kz_buf sql;
	int r;
	*out = NULL;
	kz_buf_init(&sql, 0);
	kz_buf_adds(&sql, select_head(c));
	kz_buf_adds(&sql, " WHERE c.id = $1");
	r = kz_db_query(c, sql.data, p, 1, &rows, err);
	kz_buf_release(&sql);
	if (r < 0)
		return -1;
	if (rows.nrows == 0) {
		kz_rows_free(&rows);
		return kz_err_set(err, 404, "not_found", "id", "no contact with id %" PRId64, id);
	}
	*out = row_to_contact(&rows, 0);
	kz_rows_free(&rows);
	return 0;
}

int kz_store_contact_by_email(kz_conn *c, const char *email, int64_t *id, kz_err *err)
{
	kz_val p[1] = {KZ_TEXT(email)};
	int found;
	return kz_db_scalar_int(c, "SELECT id FROM contacts WHERE email = $1", p, 1, id, &found,
				err) < 0
		       ? -1
		       : 0;
}

/* Whether tag t is one of the strings of a (a JSON array, or the text cells of rows). */
static int in_json(const json_t *a, const char *t)
{
	size_t i;
	const json_t *x;
	json_array_foreach(a, i, x)
	{
		if (json_is_string(x) && !strcmp(json_string_value(x), t))
			return 1;
	}
	return 0;
}

/* Make the contact's tags exactly `tags`, writing only the difference: adding one tag to a
 * contact with five writes one row, not six (and deletes none). `had`: the tags stored
 * (read with the record in this transaction), or NULL to read them here; an empty array
 * for a new contact. */
static int save_tags(kz_conn *c, int64_t id, const json_t *tags, const json_t *had, kz_err *err)
{
	kz_val p[2] = {KZ_INT(id), KZ_NULLV};
	kz_rows rows;
	json_t *read = NULL;
	size_t i;
	json_t *t;
	int rc = -1;
	if (!had) {
		if (kz_db_query(c, "SELECT tag FROM contact_tags WHERE contact_id = $1", p, 1, &rows,
				err) < 0)
			return -1;
		read = json_array();
		for (int k = 0; k < rows.nrows; k++)
			if (kz_rows_get(&rows, k, 0))
				json_array_append_new(read, json_string(kz_rows_get(&rows, k, 0)));
		kz_rows_free(&rows);
		had = read;
	}
	json_array_foreach(had, i, t)
	{
		if (!json_is_string(t) || in_json(tags, json_string_value(t)))
			continue;
		p[1] = KZ_TEXT(json_string_value(t));
		if (kz_db_exec(c, "DELETE FROM contact_tags WHERE contact_id = $1 AND tag = $2", p, 2,
			       err) < 0)
			goto out;
	}
	json_array_foreach(tags, i, t)
	{
		if (!json_is_string(t) || in_json(had, json_string_value(t)))
			continue;
		p[1] = KZ_TEXT(json_string_value(t));
		if (kz_db_exec(c,
			       "INSERT INTO contact_tags(contact_id, tag) VALUES ($1, $2) "
			       "ON CONFLICT DO NOTHING",
			       p, 2, err) < 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(read);
	return rc;
}

/* The columns kz_store_contact_save writes, in the order of its parameters. */
static const char *const save_cols[] = {"email",	  "first_name", "last_name", "first_name_kana",
					"last_name_kana", "phone",	"company_id", "owner_id",
					"timezone",	  "locale",	"fields",     "search",
					"name_fold"};
#define NSAVE_COLS ((int)(sizeof save_cols / sizeof save_cols[0]))

/* Whether a value differs from a stored cell (text, NULL for SQL NULL). */
static int val_differs(const kz_val *v, const char *cell)
{
	char num[24];
	if (v->t == KZ_V_NULL)
		return cell != NULL;
	if (!cell)
		return 1;
	if (v->t == KZ_V_INT) {
		snprintf(num, sizeof num, "%" PRId64, v->i);
		return strcmp(num, cell) != 0;
	}
	return strcmp(v->s, cell) != 0;
}

/* The stored cells of the save columns as text, from the record the caller read in this
 * transaction (before): what it lacks ("search" and "name_fold" when the model could not
 * vouch for them) reads as NULL, so it is written. `num` holds the numbers' text and
 * *fields the fields' JSON (malloc'd). */
static void cells_of(const json_t *before, const char **cell, char num[2][24], char **fields)
{
	const json_t *co = json_object_get(before, "company_id"), *ow = json_object_get(before, "owner");
	for (int i = 0; i < 6; i++)
		cell[i] = kz_jstr(before, text_members[i]);
	snprintf(num[0], sizeof num[0], "%" PRId64, (int64_t)json_integer_value(co));
	snprintf(num[1], sizeof num[1], "%" PRId64, (int64_t)json_integer_value(ow));
	cell[6] = json_is_integer(co) ? num[0] : NULL;
	cell[7] = json_is_integer(ow) ? num[1] : NULL;
	cell[8] = kz_jstr(before, "timezone");
	cell[9] = kz_jstr(before, "locale");
	*fields = kz_jdump(json_object_get(before, "fields"));
	cell[10] = *fields;
	cell[11] = kz_jstr(before, "search");
	cell[12] = kz_jstr(before, "name_fold");
}

/* UPDATE the contact's row setting only the columns that changed (and updated_at): every
 * column named in SET costs a delete and an insert in each of its indexes, and most saves
 * change one or two (a tag added by a journey changes none). The stored values come from
 * `before` when the caller has them, else from a read of the row. Returns rows changed (0:
 * no such contact) or a KZ_DB_ code. */
static int update_changed(kz_conn *c, const kz_val *p, int64_t id, const json_t *before,
			  int64_t now, kz_err *err)
{
	kz_val q[NSAVE_COLS + 2], pid = KZ_INT(id);
	kz_rows had;
	const char *cell[NSAVE_COLS];
	char num[2][24], *fields = NULL;
	kz_buf sql;
	int nq = 0, r;
	memset(&had, 0, sizeof had);
	if (before) {
		cells_of(before, cell, num, &fields);
	} else {
		r = kz_db_query(c,
				"SELECT email, first_name, last_name, first_name_kana, last_name_kana,"
				" phone, company_id, owner_id, timezone, locale, fields, search,"
				" name_fold FROM contacts WHERE id = $1",
				&pid, 1, &had, err);
		if (r < 0)
			return r;
		if (had.nrows == 0) {
			kz_rows_free(&had);
			return 0;
		}
		for (int i = 0; i < NSAVE_COLS; i++)
			cell[i] = kz_rows_get(&had, 0, i);
	}
	kz_buf_init(&sql, 256);
	kz_buf_adds(&sql, "UPDATE contacts SET ");
	for (int i = 0; i < NSAVE_COLS; i++) {
		if (!val_differs(&p[i], cell[i]))
			continue;
		q[nq] = p[i];
		kz_buf_addf(&sql, "%s = $%d, ", save_cols[i], ++nq);
	}
	q[nq++] = KZ_INT(now);
	q[nq++] = pid;
	kz_buf_addf(&sql, "updated_at = $%d WHERE id = $%d", nq - 1, nq);
	r = kz_db_exec(c, sql.data, q, nq, err);
	kz_buf_release(&sql);
	kz_rows_free(&had);
	free(fields);
	return r;
}

static kz_val int_or_null(const json_t *v)
{
	return json_is_integer(v) ? KZ_INT(json_integer_value(v)) : KZ_NULLV;
}

/* Save rec; before: the record as read in this transaction (NULL: compare with the rows). */
static int save(kz_conn *c, json_t *rec, const json_t *before, int64_t *id, kz_err *err)
{
	char *fields = kz_jdump(json_object_get(rec, "fields"));
	int64_t now = kz_now_ms();
	kz_val p[15] = {
		KZ_TEXT(kz_jstr(rec, "email")),
		KZ_TEXT(kz_jstr(rec, "first_name")),
		KZ_TEXT(kz_jstr(rec, "last_name")),
		KZ_TEXT(kz_jstr(rec, "first_name_kana")),
		KZ_TEXT(kz_jstr(rec, "last_name_kana")),
		KZ_TEXT(kz_jstr(rec, "phone")),
		int_or_null(json_object_get(rec, "company_id")),
		int_or_null(json_object_get(rec, "owner")),
		KZ_TEXT(kz_jstr(rec, "timezone")),
		KZ_TEXT(kz_jstr(rec, "locale")),
		KZ_TEXT(fields),
		KZ_TEXT(kz_jstr(rec, "search") ? kz_jstr(rec, "search") : ""),
		KZ_TEXT(kz_jstr(rec, "name_fold") ? kz_jstr(rec, "name_fold") : ""),
		KZ_INT(now),
		KZ_INT(*id),
	};
	json_t *none = NULL;
	const json_t *had_tags = before ? json_object_get(before, "tags") : NULL;
	int r, fresh = *id == 0;
	if (!fields)
		return kz_err_set(err, 500, "internal", NULL, "out of memory");
	if (fresh) {
		int found = 0;
		r = kz_db_scalar_int(
			c,
			"INSERT INTO contacts(email, first_name, last_name, first_name_kana,"
			" last_name_kana, phone, company_id, owner_id, timezone, locale, fields,"
			" search, name_fold, created_at, updated_at)"
			" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)"
			" RETURNING id",
			p, 14, id, &found, err);
		had_tags = none = json_array();
	} else {
		r = update_changed(c, p, *id, before, now, err);
		if (r == 0)
			r = kz_err_set(err, 404, "not_found", "id", "no contact with id %" PRId64, *id);
	}
	free(fields);
	if (r == KZ_DB_UNIQUE)
		kz_err_set(err, 409, "conflict", "email", "another contact already has this email");
	if (r >= 0)
		r = save_tags(c, *id, json_object_get(rec, "tags"),
			      json_is_array(had_tags) ? had_tags : NULL, err);
	json_decref(none);
	if (r < 0)
		return r;
	return kz_store_feed_note(c, KZ_FEED_CONTACT, *id, err);
}

int kz_store_contact_save(kz_conn *c, json_t *rec, int64_t *id, kz_err *err)
{
	return save(c, rec, NULL, id, err);
}

int kz_store_contact_save_over(kz_conn *c, json_t *rec, const json_t *before, int64_t id,
			       kz_err *err)
{
	return save(c, rec, before, &id, err);
}

int kz_store_contact_delete(kz_conn *c, int64_t id, kz_err *err)
{
	kz_val p[1] = {KZ_INT(id)};
	int r;
	/* Dependent per-person tables cascade on contact_id (see the migrations). */
	r = kz_db_exec(c, "DELETE FROM contacts WHERE id = $1", p, 1, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return kz_err_set(err, 404, "not_found", "id", "no contact with id %" PRId64, id);
	return kz_store_feed_note(c, KZ_FEED_CONTACT, id, err);
}

int kz_store_contact_move_related(kz_conn *c, int64_t from, int64_t into, kz_err *err)
{
	kz_val p[2] = {KZ_INT(from), KZ_INT(into)};
	/* Tags are merged by the model; other per-person tables move here as they appear. */
	if (kz_db_exec(c,
		       "INSERT INTO contact_tags(contact_id, tag) SELECT $2, tag FROM contact_tags "
		       "WHERE contact_id = $1 ON CONFLICT DO NOTHING",
		       p, 2, err) < 0)
		return -1;
	/* Events, visitors (devices), web sessions and attribution follow the survivor. */
	if (kz_store_track_move_contact(c, from, into, err) < 0)
		return -1;
	/* Sends, unsubscribes, consent and clicks too. */
	if (kz_store_email_move_contact(c, from, into, err) < 0)
		return -1;
	/* Scores (summed per category), the score log and the stage history too. */
	if (kz_store_audience_move_contact(c, from, into, err) < 0)
		return -1;
	/* Form submissions (with their consent records) follow too. */
	if (kz_db_exec(c, "UPDATE form_submissions SET contact_id = $2 WHERE contact_id = $1", p, 2,
		       err) < 0)
		return -1;
	return kz_store_feed_note(c, KZ_FEED_MERGED, into, err);
}

int kz_store_contact_count(kz_conn *c, int64_t *n, kz_err *err)
{
	int found;
	return kz_db_scalar_int(c, "SELECT COUNT(*) FROM contacts", NULL, 0, n, &found, err) < 0
		       ? -1
		       : 0;
}

/* ---- listing with keyset pagination ---- */

typedef struct sort_spec {
	const char *name;
	const char *expr; /* SQL expression; ties broken by c.id */
	int is_int;
} sort_spec;

static const sort_spec sorts[] = {
	{"id", "c.id", 1},
	{"created_at", "c.created_at", 1},
	{"updated_at", "c.updated_at", 1},
	{"email", "COALESCE(c.email, '')", 0},
	{"last_name", "COALESCE(c.last_name, '')", 0},
	{"first_name", "COALESCE(c.first_name, '')", 0},
};

static const sort_spec *find_sort(const char *name)
{
	for (size_t i = 0; i < sizeof sorts / sizeof sorts[0]; i++)
		if (!strcmp(sorts[i].name, name))
			return &sorts[i];
	return NULL;
}

/* Cursor: "<id>" or "<id>:<value>" where value is the sort key of the last row, hex-encoded. */
static char *make_cursor(int64_t id, const char *value)
{
	kz_buf b;
	kz_buf_init(&b, 0);
	kz_buf_addf(&b, "%" PRId64, id);
	if (value) {
		kz_buf_addc(&b, ':');
		for (const unsigned char *p = (const unsigned char *)value; *p; p++)
			kz_buf_addf(&b, "%02x", *p);
	}
	return kz_buf_detach(&b, NULL);
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

static int parse_cursor(const char *cur, int64_t *id, char **value)
{
	char *end;
	const char *colon;
	*value = NULL;
	*id = strtoll(cur, &end, 10);
	if (end == cur || *id < 0)
		return -1;
	if (*end == '\0')
		return 0;
	if (*end != ':')
		return -1;
	colon = end + 1;
	size_t n = strlen(colon);
	if (n % 2)
		return -1;
	*value = malloc(n / 2 + 1);
	if (!*value)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(colon[2 * i]), lo = hexval(colon[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			free(*value);
			*value = NULL;
			return -1;
		}
		(*value)[i] = (char)(hi * 16 + lo);
	}
	(*value)[n / 2] = '\0';
	return 0;
}

int kz_store_contact_list(kz_conn *c, const kz_contact_query *q, json_t **data, char **next_cursor,
			  kz_err *err)
{
	kz_buf sql;
	kz_val p[12];
	int n = 0, rc = -1, desc = 0, limit = q->limit > 0 ? q->limit : 50;
	const sort_spec *sort;
	const char *sname = q->sort && *q->sort ? q->sort : "id";
	char *like = NULL, *cur_val = NULL;
	int64_t cur_id = 0;
	kz_rows rows;

	*data = NULL;
	*next_cursor = NULL;
	if (*sname == '-') {
		desc = 1;
		sname++;
	}
	sort = find_sort(sname);
	if (!sort)
		return kz_err_set(err, 400, "invalid_parameter", "sort",
				  "sort must be one of id, created_at, updated_at, email, last_name, "
				  "first_name (prefix - for descending)");
	if (q->cursor && *q->cursor &&
	    (parse_cursor(q->cursor, &cur_id, &cur_val) < 0 || (!sort->is_int && !cur_val) ||
	     (sort->is_int && strcmp(sort->name, "id") && !cur_val)))
		return kz_err_set(err, 400, "invalid_parameter", "cursor",
				  "cursor is not one this server gave out; start again without it");

	kz_buf_init(&sql, 0);
	kz_buf_adds(&sql, select_head(c));
	kz_buf_adds(&sql, " WHERE 1=1");
	if (q->email) {
		p[n++] = KZ_TEXT(q->email);
		kz_buf_addf(&sql, " AND c.email = $%d", n);
	}
	if (q->q && *q->q) {
		like = kz_like_contains(q->q);
		p[n++] = KZ_TEXT(like);
		kz_buf_addf(&sql, " AND (c.search LIKE $%d ESCAPE '\\' OR co.name_fold LIKE $%d ESCAPE '\\')",
			    n, n);
	}
	if (q->tag) {
		p[n++] = KZ_TEXT(q->tag);
		kz_buf_addf(&sql,
			    " AND EXISTS (SELECT 1 FROM contact_tags t WHERE t.contact_id = c.id"
			    " AND t.tag = $%d)",
			    n);
	}
	if (q->segment_id) {
		p[n++] = KZ_INT(q->segment_id);
		kz_buf_addf(&sql,
			    " AND EXISTS (SELECT 1 FROM segment_members m WHERE m.contact_id = c.id"
			    " AND m.segment_id = $%d)",
			    n);
	}
	if (q->company_id) {
		p[n++] = KZ_INT(q->company_id);
		kz_buf_addf(&sql, " AND c.company_id = $%d", n);
	}
	if (q->owner_id) {
		p[n++] = KZ_INT(q->owner_id);
		kz_buf_addf(&sql, " AND c.owner_id = $%d", n);
	}
	if (q->cursor && *q->cursor) {
		const char *op = desc ? "<" : ">";
		if (!strcmp(sort->name, "id")) {
			p[n++] = KZ_INT(cur_id);
			kz_buf_addf(&sql, " AND c.id %s $%d", op, n);
		} else {
			if (sort->is_int) {
				char *end = NULL;
				long long v = cur_val ? strtoll(cur_val, &end, 10) : 0;
				if (!cur_val || end == cur_val || *end) {
					kz_err_set(err, 400, "invalid_parameter", "cursor",
						   "cursor is not one this server gave out; start again "
						   "without it");
					goto out;
				}
				p[n++] = KZ_INT(v);
			} else {
				p[n++] = KZ_TEXT(cur_val);
			}
			p[n++] = KZ_INT(cur_id);
			/* "v >= last AND (v > last OR id > last_id)": the same rows as the
			 * textbook "(v > last) OR (v = last AND id > last_id)", but both
			 * databases can start the index scan at `last` instead of the top. */
			kz_buf_addf(&sql, " AND %s %s= $%d AND (%s %s $%d OR c.id %s $%d)", sort->expr,
				    op, n - 1, sort->expr, op, n - 1, op, n);
		}
	}
	kz_buf_addf(&sql, " ORDER BY %s %s", sort->expr, desc ? "DESC" : "ASC");
	if (strcmp(sort->name, "id"))
		kz_buf_addf(&sql, ", c.id %s", desc ? "DESC" : "ASC");
	p[n++] = KZ_INT(limit + 1);
	kz_buf_addf(&sql, " LIMIT $%d", n);

	if (kz_db_query(c, sql.data, p, n, &rows, err) < 0)
		goto out;
	*data = json_array();
	for (int i = 0; i < rows.nrows && i < limit; i++)
		json_array_append_new(*data, row_to_contact(&rows, i));
	if (rows.nrows > limit) {
		int last = limit - 1;
		int64_t lid = kz_rows_int(&rows, last, 0);
		if (!strcmp(sort->name, "id")) {
			*next_cursor = make_cursor(lid, NULL);
		} else {
			const char *v;
			json_t *row = json_array_get(*data, (size_t)last);
			char num[32];
			if (sort->is_int) {
				v = kz_rows_get(&rows, last, !strcmp(sort->name, "created_at") ? 12 : 13);
			} else {
				v = kz_jstr(row, sort->name);
				if (!v)
					v = "";
			}
			snprintf(num, sizeof num, "%s", v ? v : "0");
			*next_cursor = make_cursor(lid, sort->is_int ? num : v);
		}
	}
	kz_rows_free(&rows);
	rc = 0;
out:
	free(like);
	free(cur_val);
	kz_buf_release(&sql);
	return rc;
}

/* ---- duplicates ---- */

static int dup_groups(kz_conn *c, const char *sql, const char *reason, int limit, json_t *groups,
		      kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_INT(limit)};
	if (kz_db_query(c, sql, p, 1, &rows, err) < 0)
		return -1;
	for (int i = 0; i < rows.nrows; i++) {
		json_t *g = json_object(), *ids = json_array();
		const char *list = kz_rows_get(&rows, i, 0);
		for (const char *s = list; s && *s;) {
			char *end;
			long long v = strtoll(s, &end, 10);
			json_array_append_new(ids, json_integer(v));
			s = *end == ',' ? end + 1 : end;
			if (end == s && *s)
				break;
		}
		json_object_set_new(g, "reason", json_string(reason));
		json_object_set_new(g, "ids", ids);
		json_array_append_new(groups, g);
	}
	kz_rows_free(&rows);
	return 0;
}

int kz_store_contact_duplicates(kz_conn *c, int limit, json_t **groups, kz_err *err)
{
	int pg = kz_conn_is_pg(c);
	/* Emails are unique after cleansing, so "same email" cannot happen in the table;
	 * phones and name+company can. */
	const char *phone_sql =
		pg ? "SELECT string_agg(id::text, ',' ORDER BY id) FROM contacts WHERE phone IS NOT NULL"
		     " GROUP BY phone HAVING COUNT(*) > 1 ORDER BY MIN(id) LIMIT $1"
		   : "SELECT group_concat(id, ',') FROM (SELECT id, phone FROM contacts WHERE phone IS"
		     " NOT NULL ORDER BY id) GROUP BY phone HAVING COUNT(*) > 1 ORDER BY MIN(id) LIMIT $1";
	const char *name_sql =
		pg ? "SELECT string_agg(id::text, ',' ORDER BY id) FROM contacts WHERE name_fold <> ''"
		     " GROUP BY name_fold, COALESCE(company_id, 0) HAVING COUNT(*) > 1"
		     " ORDER BY MIN(id) LIMIT $1"
		   : "SELECT group_concat(id, ',') FROM (SELECT id, name_fold, company_id FROM contacts"
		     " WHERE name_fold <> '' ORDER BY id) GROUP BY name_fold, COALESCE(company_id, 0)"
		     " HAVING COUNT(*) > 1 ORDER BY MIN(id) LIMIT $1";
	*groups = json_array();
	if (dup_groups(c, phone_sql, "phone", limit, *groups, err) < 0 ||
	    dup_groups(c, name_sql, "name_company", limit, *groups, err) < 0) {
		json_decref(*groups);
		*groups = NULL;
		return -1;
	}
	return 0;
}
