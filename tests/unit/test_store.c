/* test_store.c — the store against a real SQLite file, and against PostgreSQL when
 * KZ_TEST_PG_URL is set (a throwaway database is created for this file and dropped at the end):
 * pool, migrations, transactions, savepoints and every record operation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "store/db.h"
#include "store/store.h"
#include "base/banned.h"

/* The migration lists of both drivers (src/store/schema_*.c): the expected schema version. */
extern const char *const kz_sqlite_migrations[];
extern const char *const kz_pg_migrations[];

#define T0 INT64_C(1795540318000) /* 2026-11-24T17:11:58Z */

/* ---- fixture: a fresh, migrated database per test ---- */

#define TESTDB_PREFIX "kz_test_store"
#include "testdb.h"

typedef struct fx {
	char dir[64]; /* SQLite: the mkdtemp() folder */
	char url[600];
	int pg;
	int first_applied;
	kz_store *s;
	kz_conn *c; /* borrowed for the test's plain calls */
} fx;





/* base "postgres://u@h:p/db?x=y" with the database replaced by `db`. */



static fx *fx_open(int pg)
{
	fx *f = calloc(1, sizeof *f);
	kz_err e;
	assert_non_null(f);
	f->pg = pg;
	if (pg) {
		/* a clean schema in this file's database */
		if (pg_admin(pg_url, "DROP SCHEMA public CASCADE; CREATE SCHEMA public") < 0)
			fail_msg("cannot reset the PostgreSQL schema");
		snprintf(f->url, sizeof f->url, "%s", pg_url);
	} else {
		snprintf(f->dir, sizeof f->dir, "/tmp/kz_store_XXXXXX");
		assert_non_null(mkdtemp(f->dir));
		snprintf(f->url, sizeof f->url, "%s/kizuna.db", f->dir);
	}
	if (kz_store_open(f->url, 4, &f->s, &e) < 0)
		fail_msg("kz_store_open(%s): %s", f->url, e.message);
	if (kz_store_migrate(f->s, &f->first_applied, &e) < 0)
		fail_msg("migrate: %s", e.message);
	f->c = kz_store_acquire(f->s);
	kz_clock_set_fixed(T0);
	return f;
}

static int setup_sqlite(void **state)
{
	*state = fx_open(0);
	return 0;
}

static int setup_pg(void **state)
{
	*state = pg_url[0] ? fx_open(1) : NULL;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	kz_clock_set_fixed(0);
	if (!f)
		return 0;
	if (f->c)
		kz_store_release(f->c);
	kz_store_close(f->s);
	if (!f->pg)
		remove_tree(f->dir);
	free(f);
	return 0;
}

/* The fixture, or skip when this is the PostgreSQL run without KZ_TEST_PG_URL. */
static fx *need(void **state)
{
	if (!*state)
		skip();
	return *state;
}

#define OK(call)                                                                                   \
	do {                                                                                       \
		kz_err e_;                                                                         \
		memset(&e_, 0, sizeof e_);                                                         \
		if ((call) < 0)                                                                    \
			fail_msg("%s failed: %d %s %s (%s)", #call, e_.status, e_.code,            \
				 e_.message, e_.field);                                            \
	} while (0)

/* ---- record builders ---- */

static json_t *contact_rec(const char *email, const char *last, const char *first,
			   const char *phone)
{
	json_t *r = json_pack("{s:s?, s:s?, s:s?, s:s?, s:[], s:{}}", "email", email, "last_name",
			      last, "first_name", first, "phone", phone, "tags", "fields");
	char fold[256];
	snprintf(fold, sizeof fold, "%s%s", last ? last : "", first ? first : "");
	for (char *p = fold; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	json_object_set_new(r, "name_fold", json_string(fold));
	json_object_set_new(r, "search", json_string(fold));
	return r;
}

static int64_t put_contact(kz_conn *c, json_t *rec /* stolen */)
{
	int64_t id = 0;
	kz_err e;
	if (kz_store_contact_save(c, rec, &id, &e) < 0)
		fail_msg("contact_save: %d %s", e.status, e.message);
	json_decref(rec);
	return id;
}

static int64_t count_contacts(kz_conn *c)
{
	int64_t n = -1;
	kz_err e;
	if (kz_store_contact_count(c, &n, &e) < 0)
		fail_msg("count: %s", e.message);
	return n;
}

static int64_t count_sql(kz_conn *c, const char *sql)
{
	int64_t n = -1;
	int found = 0;
	kz_err e;
	if (kz_db_scalar_int(c, sql, NULL, 0, &n, &found, &e) < 0)
		fail_msg("%s: %s", sql, e.message);
	return n;
}

static int64_t put_company(kz_conn *c, const char *name, const char *fold, const char *domain)
{
	json_t *r = json_pack("{s:s, s:s, s:s?, s:{}}", "name", name, "name_fold", fold, "domain",
			      domain, "fields");
	int64_t id = 0;
	kz_err e;
	if (kz_store_company_save(c, r, &id, &e) < 0)
		fail_msg("company_save: %s", e.message);
	json_decref(r);
	return id;
}

static int64_t put_user(kz_conn *c, const char *email, const char *role)
{
	json_t *r = json_pack("{s:s, s:s, s:s, s:s}", "email", email, "name", "User", "role", role,
			      "password_hash", "$argon2id$fake");
	int64_t id = 0;
	kz_err e;
	if (kz_store_user_save(c, r, &id, &e) < 0)
		fail_msg("user_save: %s", e.message);
	json_decref(r);
	return id;
}

/* ---- lifecycle and migrations ---- */

static void backend_is_reported(void **state)
{
	fx *f = need(state);
	assert_string_equal(kz_store_backend(f->s), f->pg ? "postgres" : "sqlite");
	assert_int_equal(kz_store_ping(f->s), 0);
}

static int migrations_known(int pg)
{
	const char *const *m = pg ? kz_pg_migrations : kz_sqlite_migrations;
	int n = 0;
	while (m[n])
		n++;
	return n;
}

static void migrate_twice_is_idempotent(void **state)
{
	fx *f = need(state);
	int applied = -1, n = migrations_known(f->pg);
	kz_err e;
	assert_true(n >= 1);
	assert_int_equal(f->first_applied, n);
	assert_int_equal(kz_store_schema_version(f->s), n);
	assert_int_equal(kz_store_migrate(f->s, &applied, &e), 0);
	assert_int_equal(applied, 0);
	assert_int_equal(kz_store_schema_version(f->s), n);
	assert_int_equal(count_sql(f->c, "SELECT COUNT(*) FROM schema_migrations"), n);
	/* the schema works after the second run */
	put_contact(f->c, contact_rec("a@example.jp", "A", NULL, NULL));
	assert_int_equal(kz_store_migrate(f->s, NULL, &e), 0);
	assert_int_equal(count_contacts(f->c), 1);
}

static void schema_version_is_minus_one_before_migrating(void **state)
{
	fx *f = need(state);
	kz_store *s2 = NULL;
	kz_err e;
	char url[700];
	if (f->pg) {
		/* a second schema-less database would need another CREATE DATABASE: reuse ours */
		kz_store_release(f->c);
		f->c = NULL;
		kz_store_close(f->s);
		f->s = NULL;
		assert_int_equal(
			pg_admin(pg_url, "DROP SCHEMA public CASCADE; CREATE SCHEMA public"), 0);
		snprintf(url, sizeof url, "%s", f->url);
	} else {
		snprintf(url, sizeof url, "%s/other.db", f->dir);
	}
	assert_int_equal(kz_store_open(url, 1, &s2, &e), 0);
	assert_int_equal(kz_store_schema_version(s2), -1);
	assert_int_equal(kz_store_migrate(s2, NULL, &e), 0);
	assert_int_equal(kz_store_schema_version(s2), migrations_known(f->pg));
	if (f->pg) {
		f->s = s2;
		f->c = kz_store_acquire(s2);
	} else {
		kz_store_close(s2);
	}
}

static void newer_schema_than_known_is_refused(void **state)
{
	fx *f = need(state);
	kz_err e;
	int applied = -1;
	memset(&e, 0, sizeof e);
	OK(kz_db_exec(f->c, "INSERT INTO schema_migrations(version, applied_at) VALUES (999, 0)",
		      NULL, 0, &e_));
	assert_int_equal(kz_store_migrate(f->s, &applied, &e), -1);
	assert_int_equal(e.status, 500);
	assert_string_equal(e.code, "schema_too_new");
	assert_non_null(strstr(e.message, "999"));
	assert_int_equal(applied, 0);
}

static void open_reports_an_unusable_location(void **state)
{
	fx *f = need(state);
	kz_store *s2 = (kz_store *)1;
	kz_err e;
	memset(&e, 0, sizeof e);
	if (f->pg)
		assert_int_equal(
			kz_store_open("postgres://postgres@127.0.0.1:1/none?connect_timeout=2", 2,
				      &s2, &e),
			-1);
	else
		assert_int_equal(kz_store_open("/proc/kizuna-no-such/dir/x.db", 2, &s2, &e), -1);
	assert_null(s2);
	assert_string_equal(e.code, "database_unavailable");
	assert_true(e.message[0] != '\0');
}

/* ---- transactions ---- */

static void rollback_leaves_nothing(void **state)
{
	fx *f = need(state);
	int64_t id = 0;
	OK(kz_tx_begin(f->c, 1, &e_));
	id = put_contact(f->c, contact_rec("gone@example.jp", "Gone", NULL, NULL));
	assert_true(id > 0);
	assert_int_equal(count_contacts(f->c), 1); /* visible inside the transaction */
	kz_tx_rollback(f->c);
	assert_int_equal(count_contacts(f->c), 0);
	assert_int_equal(count_sql(f->c, "SELECT COUNT(*) FROM contact_tags"), 0);
	OK(kz_store_contact_by_email(f->c, "gone@example.jp", &id, &e_));
	assert_int_equal(id, 0);
}

static void commit_keeps_writes_for_other_connections(void **state)
{
	fx *f = need(state);
	kz_conn *other;
	OK(kz_tx_begin(f->c, 1, &e_));
	put_contact(f->c, contact_rec("kept@example.jp", "Kept", NULL, NULL));
	OK(kz_tx_commit(f->c, &e_));
	other = kz_store_acquire(f->s);
	assert_ptr_not_equal(other, f->c);
	assert_int_equal(count_contacts(other), 1);
	kz_store_release(other);
}

static void uncommitted_writes_are_invisible_to_other_connections(void **state)
{
	fx *f = need(state);
	kz_conn *other = kz_store_acquire(f->s);
	OK(kz_tx_begin(f->c, 1, &e_));
	put_contact(f->c, contact_rec("pending@example.jp", "Pending", NULL, NULL));
	assert_int_equal(count_contacts(other), 0);
	OK(kz_tx_commit(f->c, &e_));
	assert_int_equal(count_contacts(other), 1);
	kz_store_release(other);
}

static void release_inside_a_transaction_rolls_it_back(void **state)
{
	fx *f = need(state);
	kz_conn *c = kz_store_acquire(f->s);
	OK(kz_tx_begin(c, 1, &e_));
	put_contact(c, contact_rec("abandoned@example.jp", "X", NULL, NULL));
	kz_store_release(c); /* a handler that forgot to commit */
	assert_int_equal(count_contacts(f->c), 0);
	/* the connection comes back usable */
	c = kz_store_acquire(f->s);
	OK(kz_tx_begin(c, 1, &e_));
	put_contact(c, contact_rec("next@example.jp", "Y", NULL, NULL));
	OK(kz_tx_commit(c, &e_));
	kz_store_release(c);
	assert_int_equal(count_contacts(f->c), 1);
}

static void savepoint_rollback_undoes_only_its_row(void **state)
{
	fx *f = need(state);
	int64_t id = 0;
	kz_err e;
	OK(kz_tx_begin(f->c, 1, &e_));
	put_contact(f->c, contact_rec("row1@example.jp", "One", NULL, NULL));

	OK(kz_tx_savepoint(f->c, &e_));
	put_contact(f->c, contact_rec("row2@example.jp", "Two", NULL, NULL));
	kz_tx_savepoint_rollback(f->c);

	/* a failing statement inside a savepoint must not spoil the transaction (PostgreSQL
	 * aborts the whole transaction on error unless the savepoint is rolled back) */
	OK(kz_tx_savepoint(f->c, &e_));
	{
		json_t *dup = contact_rec("row1@example.jp", "Dup", NULL, NULL);
		int64_t nid = 0;
		assert_true(kz_store_contact_save(f->c, dup, &nid, &e) < 0);
		assert_int_equal(e.status, 409);
		json_decref(dup);
	}
	kz_tx_savepoint_rollback(f->c);

	OK(kz_tx_savepoint(f->c, &e_));
	put_contact(f->c, contact_rec("row3@example.jp", "Three", NULL, NULL));
	OK(kz_tx_savepoint_release(f->c, &e_));
	OK(kz_tx_commit(f->c, &e_));

	assert_int_equal(count_contacts(f->c), 2);
	OK(kz_store_contact_by_email(f->c, "row2@example.jp", &id, &e_));
	assert_int_equal(id, 0);
	OK(kz_store_contact_by_email(f->c, "row3@example.jp", &id, &e_));
	assert_true(id > 0);
}

/* ---- contacts ---- */

static void contact_save_and_get_round_trip_every_column(void **state)
{
	fx *f = need(state);
	int64_t co = put_company(f->c, "株式会社キズナ", "株式会社キズナ", "kizuna.co.jp");
	int64_t owner = put_user(f->c, "owner@example.jp", "sales");
	json_t *rec = contact_rec("taro@example.jp", "山田", "太郎", "+819012345678");
	json_t *got = NULL, *want_fields;
	int64_t id;
	json_object_set_new(rec, "first_name_kana", json_string("タロウ"));
	json_object_set_new(rec, "last_name_kana", json_string("ヤマダ"));
	json_object_set_new(rec, "company_id", json_integer(co));
	json_object_set_new(rec, "owner", json_integer(owner));
	json_object_set_new(rec, "timezone", json_string("Asia/Tokyo"));
	json_object_set_new(rec, "locale", json_string("ja"));
	json_object_set_new(rec, "tags", json_pack("[s,s,s]", "展示会", "b2b", "アルファ"));
	want_fields = json_pack("{s:s, s:i, s:b, s:[s,s]}", "plan", "pro", "seats", 12, "vip", 1,
				"topics", "a", "b");
	json_object_set(rec, "fields", want_fields);
	id = put_contact(f->c, rec);
	assert_true(id > 0);

	OK(kz_store_contact_get(f->c, id, &got, &e_));
	assert_int_equal(json_integer_value(json_object_get(got, "id")), id);
	assert_string_equal(json_string_value(json_object_get(got, "email")), "taro@example.jp");
	assert_string_equal(json_string_value(json_object_get(got, "last_name")), "山田");
	assert_string_equal(json_string_value(json_object_get(got, "first_name")), "太郎");
	assert_string_equal(json_string_value(json_object_get(got, "last_name_kana")), "ヤマダ");
	assert_string_equal(json_string_value(json_object_get(got, "first_name_kana")), "タロウ");
	assert_string_equal(json_string_value(json_object_get(got, "phone")), "+819012345678");
	assert_string_equal(json_string_value(json_object_get(got, "timezone")), "Asia/Tokyo");
	assert_string_equal(json_string_value(json_object_get(got, "locale")), "ja");
	assert_int_equal(json_integer_value(json_object_get(got, "owner")), owner);
	assert_int_equal(json_integer_value(json_object_get(got, "company_id")), co);
	{
		json_t *cobj = json_object_get(got, "company");
		assert_int_equal(json_integer_value(json_object_get(cobj, "id")), co);
		assert_string_equal(json_string_value(json_object_get(cobj, "name")),
				    "株式会社キズナ");
		assert_string_equal(json_string_value(json_object_get(cobj, "domain")),
				    "kizuna.co.jp");
	}
	assert_true(json_equal(json_object_get(got, "fields"), want_fields));
	assert_string_equal(json_string_value(json_object_get(got, "created_at")),
			    "2026-11-24T17:11:58Z");
	assert_string_equal(json_string_value(json_object_get(got, "updated_at")),
			    "2026-11-24T17:11:58Z");
	/* tags come back sorted, byte order */
	{
		json_t *tags = json_object_get(got, "tags");
		assert_int_equal(json_array_size(tags), 3);
		assert_string_equal(json_string_value(json_array_get(tags, 0)), "b2b");
	}
	json_decref(want_fields);
	json_decref(got);
}

static void contact_without_company_has_null_company(void **state)
{
	fx *f = need(state);
	int64_t id = put_contact(f->c, contact_rec(NULL, "Solo", NULL, NULL));
	json_t *got = NULL;
	OK(kz_store_contact_get(f->c, id, &got, &e_));
	assert_true(json_is_null(json_object_get(got, "company")));
	assert_true(json_is_null(json_object_get(got, "company_id")));
	assert_true(json_is_null(json_object_get(got, "email")));
	assert_true(json_is_null(json_object_get(got, "owner")));
	assert_int_equal(json_array_size(json_object_get(got, "tags")), 0);
	assert_int_equal(json_object_size(json_object_get(got, "fields")), 0);
	json_decref(got);
}

static void contact_update_keeps_created_at_and_replaces_tags(void **state)
{
	fx *f = need(state);
	json_t *rec = contact_rec("u@example.jp", "Before", NULL, NULL), *got = NULL;
	int64_t id = 0;
	json_object_set_new(rec, "tags", json_pack("[s,s]", "old1", "old2"));
	OK(kz_store_contact_save(f->c, rec, &id, &e_));
	kz_clock_set_fixed(T0 + 60000);
	json_object_set_new(rec, "last_name", json_string("After"));
	json_object_set_new(rec, "tags", json_pack("[s]", "new"));
	{
		int64_t same = id;
		OK(kz_store_contact_save(f->c, rec, &same, &e_));
		assert_int_equal(same, id);
	}
	json_decref(rec);
	OK(kz_store_contact_get(f->c, id, &got, &e_));
	assert_string_equal(json_string_value(json_object_get(got, "last_name")), "After");
	assert_string_equal(json_string_value(json_object_get(got, "created_at")),
			    "2026-11-24T17:11:58Z");
	assert_string_equal(json_string_value(json_object_get(got, "updated_at")),
			    "2026-11-24T17:12:58Z");
	assert_int_equal(json_array_size(json_object_get(got, "tags")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(got, "tags"), 0)),
			    "new");
	assert_int_equal(count_contacts(f->c), 1);
	json_decref(got);
}

static void contact_save_of_missing_id_is_404(void **state)
{
	fx *f = need(state);
	json_t *rec = contact_rec("x@example.jp", "X", NULL, NULL);
	int64_t id = 4242;
	kz_err e;
	assert_true(kz_store_contact_save(f->c, rec, &id, &e) < 0);
	assert_int_equal(e.status, 404);
	assert_string_equal(e.code, "not_found");
	assert_int_equal(count_contacts(f->c), 0);
	json_decref(rec);
}

static void contact_with_taken_email_is_409(void **state)
{
	fx *f = need(state);
	json_t *rec;
	int64_t id = 0;
	kz_err e;
	put_contact(f->c, contact_rec("same@example.jp", "First", NULL, NULL));
	rec = contact_rec("same@example.jp", "Second", NULL, NULL);
	assert_true(kz_store_contact_save(f->c, rec, &id, &e) < 0);
	assert_int_equal(e.status, 409);
	assert_string_equal(e.code, "conflict");
	assert_string_equal(e.field, "email");
	json_decref(rec);
	assert_int_equal(count_contacts(f->c), 1);
}

static void contacts_without_email_may_be_many(void **state)
{
	fx *f = need(state);
	put_contact(f->c, contact_rec(NULL, "A", NULL, NULL));
	put_contact(f->c, contact_rec(NULL, "B", NULL, NULL));
	assert_int_equal(count_contacts(f->c), 2);
}

static void contact_by_email_finds_exact_address(void **state)
{
	fx *f = need(state);
	int64_t id = put_contact(f->c, contact_rec("find@example.jp", "F", NULL, NULL)), got = -1;
	OK(kz_store_contact_by_email(f->c, "find@example.jp", &got, &e_));
	assert_int_equal(got, id);
	OK(kz_store_contact_by_email(f->c, "nobody@example.jp", &got, &e_));
	assert_int_equal(got, 0);
}

static void contact_delete_removes_it_and_its_tags(void **state)
{
	fx *f = need(state);
	json_t *rec = contact_rec("del@example.jp", "Del", NULL, NULL), *got = NULL;
	int64_t id, keep;
	kz_err e;
	json_object_set_new(rec, "tags", json_pack("[s,s]", "x", "y"));
	id = put_contact(f->c, rec);
	rec = contact_rec("keep@example.jp", "Keep", NULL, NULL);
	json_object_set_new(rec, "tags", json_pack("[s]", "x"));
	keep = put_contact(f->c, rec);
	OK(kz_store_contact_delete(f->c, id, &e_));
	assert_int_equal(kz_store_contact_get(f->c, id, &got, &e), -1);
	assert_null(got);
	assert_int_equal(e.status, 404);
	assert_int_equal(kz_store_contact_delete(f->c, id, &e), -1);
	assert_int_equal(e.status, 404);
	assert_int_equal(count_sql(f->c, "SELECT COUNT(*) FROM contact_tags"), 1);
	OK(kz_store_contact_get(f->c, keep, &got, &e_));
	json_decref(got);
}

static void contact_get_of_missing_id_is_404(void **state)
{
	fx *f = need(state);
	json_t *got = (json_t *)1;
	kz_err e;
	assert_int_equal(kz_store_contact_get(f->c, 99, &got, &e), -1);
	assert_null(got);
	assert_int_equal(e.status, 404);
	assert_string_equal(e.code, "not_found");
}

static void tags_are_aggregated_sorted_and_deduplicated(void **state)
{
	fx *f = need(state);
	json_t *rec = contact_rec("tags@example.jp", "T", NULL, NULL), *got = NULL, *page = NULL;
	int64_t id, other;
	char *next = NULL;
	kz_contact_query q;
	json_object_set_new(
		rec, "tags",
		json_pack("[s,s,s,s,s]", "zeta", "alpha", "with,comma", "zeta", "セミナー"));
	id = put_contact(f->c, rec);
	rec = contact_rec("other@example.jp", "O", NULL, NULL);
	json_object_set_new(rec, "tags", json_pack("[s]", "alpha"));
	other = put_contact(f->c, rec);
	put_contact(f->c, contact_rec("none@example.jp", "N", NULL, NULL));

	OK(kz_store_contact_get(f->c, id, &got, &e_));
	{
		json_t *want = json_pack("[s,s,s,s]", "alpha", "with,comma", "zeta", "セミナー");
		json_t *tags = json_object_get(got, "tags");
		if (!json_equal(tags, want)) {
			char *s = json_dumps(tags, 0);
			fail_msg("tags = %s", s);
		}
		json_decref(want);
	}
	json_decref(got);

	/* listing by tag */
	memset(&q, 0, sizeof q);
	q.tag = "alpha";
	OK(kz_store_contact_list(f->c, &q, &page, &next, &e_));
	assert_null(next);
	assert_int_equal(json_array_size(page), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(page, 0), "id")), id);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(page, 1), "id")), other);
	json_decref(page);
	q.tag = "with,comma";
	OK(kz_store_contact_list(f->c, &q, &page, &next, &e_));
	assert_int_equal(json_array_size(page), 1);
	json_decref(page);
	q.tag = "zet";
	OK(kz_store_contact_list(f->c, &q, &page, &next, &e_));
	assert_int_equal(json_array_size(page), 0);
	json_decref(page);
}

static void move_related_copies_tags_onto_the_survivor(void **state)
{
	fx *f = need(state);
	json_t *rec = contact_rec("from@example.jp", "F", NULL, NULL), *got = NULL;
	int64_t from, into;
	json_object_set_new(rec, "tags", json_pack("[s,s]", "a", "shared"));
	from = put_contact(f->c, rec);
	rec = contact_rec("into@example.jp", "I", NULL, NULL);
	json_object_set_new(rec, "tags", json_pack("[s,s]", "shared", "z"));
	into = put_contact(f->c, rec);
	OK(kz_store_contact_move_related(f->c, from, into, &e_));
	OK(kz_store_contact_get(f->c, into, &got, &e_));
	{
		json_t *want = json_pack("[s,s,s]", "a", "shared", "z");
		assert_true(json_equal(json_object_get(got, "tags"), want));
		json_decref(want);
	}
	json_decref(got);
}

static void list_filters_by_email_company_owner_and_search(void **state)
{
	fx *f = need(state);
	int64_t co = put_company(f->c, "Acme", "acme", "acme.jp");
	int64_t u = put_user(f->c, "rep@example.jp", "sales");
	int64_t a, b, pct;
	json_t *rec, *page = NULL;
	char *next = NULL;
	kz_contact_query q;
	rec = contact_rec("a@example.jp", "Suzuki", "Ichiro", NULL);
	json_object_set_new(rec, "company_id", json_integer(co));
	a = put_contact(f->c, rec);
	rec = contact_rec("b@example.jp", "Tanaka", "Jiro", NULL);
	json_object_set_new(rec, "owner", json_integer(u));
	b = put_contact(f->c, rec);
	rec = contact_rec("c@example.jp", "Percent", NULL, NULL);
	json_object_set_new(rec, "search", json_string("100%off"));
	pct = put_contact(f->c, rec);
	rec = contact_rec("d@example.jp", "Thousand", NULL, NULL);
	json_object_set_new(rec, "search", json_string("1000off"));
	put_contact(f->c, rec);

#define LIST_IDS(...)                                                                              \
	do {                                                                                       \
		memset(&q, 0, sizeof q);                                                           \
		__VA_ARGS__;                                                                       \
		OK(kz_store_contact_list(f->c, &q, &page, &next, &e_));                            \
	} while (0)

	LIST_IDS(q.email = "b@example.jp");
	assert_int_equal(json_array_size(page), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(page, 0), "id")), b);
	json_decref(page);

	LIST_IDS(q.company_id = co);
	assert_int_equal(json_array_size(page), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(page, 0), "id")), a);
	json_decref(page);

	LIST_IDS(q.owner_id = u);
	assert_int_equal(json_array_size(page), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(page, 0), "id")), b);
	json_decref(page);

	LIST_IDS(q.q = "tanaka");
	assert_int_equal(json_array_size(page), 1);
	json_decref(page);

	/* the company's folded name matches too */
	LIST_IDS(q.q = "acm");
	assert_int_equal(json_array_size(page), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(page, 0), "id")), a);
	json_decref(page);

	/* LIKE wildcards in the query are literal */
	LIST_IDS(q.q = "0%o");
	assert_int_equal(json_array_size(page), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(page, 0), "id")), pct);
	json_decref(page);
	LIST_IDS(q.q = "1_00");
	assert_int_equal(json_array_size(page), 0);
	json_decref(page);
#undef LIST_IDS
}

/* ---- keyset pagination ---- */

#define NPAGED 120

typedef struct paged {
	int64_t id;
	const char *email; /* may be NULL */
	const char *last;  /* may be NULL */
	int64_t created;
} paged;

static paged seeded[NPAGED];

/* 120 contacts with many ties (equal last names, NULL and "" last names, NULL emails,
 * shared creation times) so that the id tie-break is exercised on every sort. */
static void seed_paged(kz_conn *c)
{
	static const char *const lasts[] = {"Yamada", NULL,  "abe",    "Abe", "",
					    "山田",   "Ōta", "Yamada", "zz",  "Sato"};
	static char emails[NPAGED][40];
	for (int i = 0; i < NPAGED; i++) {
		json_t *rec;
		paged *p = &seeded[i];
		if (i % 11 == 5) {
			p->email = NULL;
		} else {
			/* not in id order: email order differs from insertion order */
			snprintf(emails[i], sizeof emails[i], "u%03d@example.jp",
				 (i * 37) % NPAGED);
			p->email = emails[i];
		}
		p->last = lasts[i % 10];
		p->created = T0 + (int64_t)((i * 7) % 13) * 1000;
		kz_clock_set_fixed(p->created);
		rec = contact_rec(p->email, p->last, "x", NULL);
		if (!p->last)
			json_object_set_new(rec, "last_name", json_null());
		p->id = put_contact(c, rec);
	}
	kz_clock_set_fixed(T0);
}

static const char *sort_key_str(const paged *p, const char *sort)
{
	const char *v = !strcmp(sort, "email") ? p->email : p->last;
	if (!strcmp(sort, "first_name"))
		return "x"; /* every seeded contact has first name "x" */
	return v ? v : "";
}

/* Compare by the sort key then id, as SQLite (binary collation) orders them. */
static const char *cmp_sort;
static int cmp_paged(const void *a, const void *b)
{
	const paged *x = a, *y = b;
	int c = 0;
	if (!strcmp(cmp_sort, "created_at") || !strcmp(cmp_sort, "updated_at"))
		c = (x->created > y->created) - (x->created < y->created);
	else if (strcmp(cmp_sort, "id"))
		c = strcmp(sort_key_str(x, cmp_sort), sort_key_str(y, cmp_sort));
	if (!c)
		c = (x->id > y->id) - (x->id < y->id);
	return c;
}

/* Walk every page; fail on errors or runaway cursors. Returns a new array of ids. */
static json_t *walk(kz_conn *c, const char *sort, int limit)
{
	json_t *ids = json_array();
	char *cursor = NULL;
	int pages = 0;
	do {
		kz_contact_query q;
		json_t *data = NULL, *row;
		char *next = NULL;
		kz_err e;
		size_t i;
		memset(&q, 0, sizeof q);
		q.sort = sort;
		q.cursor = cursor;
		q.limit = limit;
		if (kz_store_contact_list(c, &q, &data, &next, &e) < 0)
			fail_msg("sort=%s cursor=%s: %s", sort, cursor ? cursor : "-", e.message);
		assert_true(json_array_size(data) <= (size_t)limit);
		if (next)
			assert_int_equal(json_array_size(data), limit);
		json_array_foreach(data, i, row)
			json_array_append(ids, json_object_get(row, "id"));
		json_decref(data);
		free(cursor);
		cursor = next;
		if (++pages > 1000)
			fail_msg("sort=%s: the cursor never ends", sort);
	} while (cursor);
	return ids;
}

static void keyset_pagination_is_complete_for_every_sort(void **state)
{
	fx *f = need(state);
	static const char *const sorts[] = {
		"id",    "-id",    "created_at", "-created_at", "updated_at", "-updated_at",
		"email", "-email", "last_name",  "-last_name",  "first_name", "-first_name"};
	static const int limits[] = {1, 7, 50, 119, 120, 121};
	seed_paged(f->c);
	for (size_t s = 0; s < sizeof sorts / sizeof sorts[0]; s++) {
		const char *sort = sorts[s];
		int desc = sort[0] == '-';
		json_t *whole = walk(f->c, sort, 500); /* one page: the database's own order */
		assert_int_equal(json_array_size(whole), NPAGED);
		for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++) {
			json_t *ids = walk(f->c, sort, limits[l]);
			char seen[NPAGED + 1];
			size_t i;
			json_t *v;
			memset(seen, 0, sizeof seen);
			/* no duplicates, none missing */
			json_array_foreach(ids, i, v) {
				int64_t id = json_integer_value(v);
				int k;
				for (k = 0; k < NPAGED && seeded[k].id != id; k++)
					;
				if (k == NPAGED)
					fail_msg("sort=%s limit=%d: unknown id %lld", sort,
						 limits[l], (long long)id);
				if (seen[k])
					fail_msg("sort=%s limit=%d: id %lld twice", sort, limits[l],
						 (long long)id);
				seen[k] = 1;
			}
			if (json_array_size(ids) != NPAGED)
				fail_msg("sort=%s limit=%d: %zu rows, want %d", sort, limits[l],
					 json_array_size(ids), NPAGED);
			/* and in the same order as one big page */
			if (!json_equal(ids, whole))
				fail_msg("sort=%s limit=%d: page order differs from one big page",
					 sort, limits[l]);
			json_decref(ids);
		}
		/* SQLite orders text by bytes: check the order itself there. (PostgreSQL orders
		 * by its collation, which the test does not know.) */
		if (!f->pg || strstr(sort, "id") || strstr(sort, "_at")) {
			paged want[NPAGED];
			memcpy(want, seeded, sizeof want);
			cmp_sort = sort + desc;
			qsort(want, NPAGED, sizeof want[0], cmp_paged);
			for (int i = 0; i < NPAGED; i++) {
				int64_t exp = want[desc ? NPAGED - 1 - i : i].id;
				int64_t got = json_integer_value(json_array_get(whole, (size_t)i));
				if (got != exp)
					fail_msg("sort=%s: position %d is id %lld, want %lld", sort,
						 i, (long long)got, (long long)exp);
			}
		}
		json_decref(whole);
	}
}

static void pagination_with_a_filter_stays_inside_it(void **state)
{
	fx *f = need(state);
	int n = 0;
	char *cursor = NULL;
	for (int i = 0; i < 30; i++) {
		char email[32];
		json_t *rec;
		snprintf(email, sizeof email, "f%02d@example.jp", i);
		rec = contact_rec(email, i % 2 ? "Odd" : "Even", NULL, NULL);
		json_object_set_new(rec, "tags", json_pack("[s]", i % 2 ? "odd" : "even"));
		put_contact(f->c, rec);
	}
	do {
		kz_contact_query q;
		json_t *data = NULL, *row;
		char *next = NULL;
		size_t i;
		memset(&q, 0, sizeof q);
		q.tag = "odd";
		q.sort = "-email";
		q.limit = 4;
		q.cursor = cursor;
		OK(kz_store_contact_list(f->c, &q, &data, &next, &e_));
		json_array_foreach(data, i, row) {
			assert_string_equal(json_string_value(json_object_get(row, "last_name")),
					    "Odd");
			n++;
		}
		json_decref(data);
		free(cursor);
		cursor = next;
	} while (cursor && n < 100);
	assert_int_equal(n, 15);
}

static void garbage_cursor_is_a_400(void **state)
{
	fx *f = need(state);
	static const struct {
		const char *sort, *cursor;
	} bad[] = {
		{"id", "abc"},
		{"id", "-5"},
		{"id", "12x"},
		{"id", "5:zz"},
		{"id", "5:abc"},
		{"email", "5"},
		{"email", "5:g0"},
		{"last_name", "x:41"},
		{"created_at", "7"},
		{"-created_at", "7"},
		{"-email", ":41"},
		{NULL, "12;DROP"},
		/* only our own lowercase hex pairs: no signs, blanks or 0x */
		{"email", "5:+1+1"},
		{"email", "5: 1 2"},
		{"email", "5:0x41"},
	};
	put_contact(f->c, contact_rec("a@example.jp", "A", NULL, NULL));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		kz_contact_query q;
		json_t *data = (json_t *)1;
		char *next = (char *)1;
		kz_err e;
		memset(&q, 0, sizeof q);
		memset(&e, 0, sizeof e);
		q.sort = bad[i].sort;
		q.cursor = bad[i].cursor;
		if (kz_store_contact_list(f->c, &q, &data, &next, &e) != -1)
			fail_msg("sort=%s cursor=\"%s\" was accepted",
				 bad[i].sort ? bad[i].sort : "-", bad[i].cursor);
		assert_int_equal(e.status, 400);
		assert_string_equal(e.code, "invalid_parameter");
		assert_string_equal(e.field, "cursor");
		assert_null(data);
		assert_null(next);
	}
}

static void cursor_with_a_malformed_value_is_a_400(void **state)
{
	fx *f = need(state);
	/* a numeric sort's cursor value that is not a number */
	static const struct {
		const char *sort, *cursor;
	} bad[] = {{"created_at", "5:7a7a"}, {"created_at", "5:"}, {"updated_at", "5:31322e35"}};
	int accepted = 0;
	put_contact(f->c, contact_rec("a@example.jp", "A", NULL, NULL));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		kz_contact_query q;
		json_t *data = NULL;
		char *next = NULL;
		kz_err e;
		memset(&q, 0, sizeof q);
		memset(&e, 0, sizeof e);
		q.sort = bad[i].sort;
		q.cursor = bad[i].cursor;
		if (kz_store_contact_list(f->c, &q, &data, &next, &e) != -1) {
			json_decref(data);
			free(next);
			print_error("sort=%s cursor=\"%s\" was accepted\n", bad[i].sort,
				    bad[i].cursor);
			accepted++;
		} else {
			assert_int_equal(e.status, 400);
		}
	}
	assert_int_equal(accepted, 0);
}

static void unknown_sort_is_a_400(void **state)
{
	fx *f = need(state);
	kz_contact_query q;
	json_t *data = NULL;
	char *next = NULL;
	kz_err e;
	memset(&q, 0, sizeof q);
	q.sort = "phone; DROP TABLE contacts";
	assert_int_equal(kz_store_contact_list(f->c, &q, &data, &next, &e), -1);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.field, "sort");
	q.sort = "--id";
	assert_int_equal(kz_store_contact_list(f->c, &q, &data, &next, &e), -1);
	assert_int_equal(e.status, 400);
}

/* ---- duplicates ---- */

static void duplicates_group_by_phone_and_by_name_within_a_company(void **state)
{
	fx *f = need(state);
	int64_t co = put_company(f->c, "Acme", "acme", NULL);
	int64_t co2 = put_company(f->c, "Other", "other", NULL);
	int64_t p1, p2, p3, n1, n2, solo, nc1, nc2;
	json_t *groups = NULL, *rec, *want;
	p1 = put_contact(f->c, contact_rec("p1@example.jp", "Phone", "One", "+81311112222"));
	put_contact(f->c, contact_rec("u1@example.jp", "Unique", "Person", "+81399998888"));
	p2 = put_contact(f->c, contact_rec("p2@example.jp", "Phone", "Two", "+81311112222"));
	rec = contact_rec("n1@example.jp", "Sato", "Hanako", NULL);
	json_object_set_new(rec, "company_id", json_integer(co));
	n1 = put_contact(f->c, rec);
	rec = contact_rec("n2@example.jp", "Sato", "Hanako", NULL);
	json_object_set_new(rec, "company_id", json_integer(co));
	n2 = put_contact(f->c, rec);
	rec = contact_rec("n3@example.jp", "Sato", "Hanako", NULL); /* another company */
	json_object_set_new(rec, "company_id", json_integer(co2));
	solo = put_contact(f->c, rec);
	p3 = put_contact(f->c, contact_rec(NULL, "Phone", "Three", "+81311112222"));
	/* same name, both without a company */
	nc1 = put_contact(f->c, contact_rec("nc1@example.jp", "Kato", "Ken", NULL));
	nc2 = put_contact(f->c, contact_rec("nc2@example.jp", "Kato", "Ken", NULL));
	/* nameless contacts never group by name */
	put_contact(f->c, contact_rec("x1@example.jp", NULL, NULL, NULL));
	put_contact(f->c, contact_rec("x2@example.jp", NULL, NULL, NULL));
	(void)solo;

	OK(kz_store_contact_duplicates(f->c, 10, &groups, &e_));
	want = json_pack("[{s:s, s:[I,I,I]}, {s:s, s:[I,I]}, {s:s, s:[I,I]}]", "reason", "phone",
			 "ids", (json_int_t)p1, (json_int_t)p2, (json_int_t)p3, "reason",
			 "name_company", "ids", (json_int_t)n1, (json_int_t)n2, "reason",
			 "name_company", "ids", (json_int_t)nc1, (json_int_t)nc2);
	if (!json_equal(groups, want)) {
		char *s = json_dumps(groups, 0);
		fail_msg("groups = %s", s);
	}
	json_decref(want);
	json_decref(groups);

	/* the limit applies per reason */
	OK(kz_store_contact_duplicates(f->c, 1, &groups, &e_));
	assert_int_equal(json_array_size(groups), 2);
	json_decref(groups);
}

/* ---- companies ---- */

static void company_find_prefers_domain_and_never_falls_back_to_name(void **state)
{
	fx *f = need(state);
	int64_t by_domain = put_company(f->c, "Acme", "acme", "acme.co.jp");
	int64_t by_name = put_company(f->c, "Acme", "acme", NULL);
	int64_t id = -1;
	assert_true(by_name > by_domain);
	OK(kz_store_company_find(f->c, "acme.co.jp", "whatever", &id, &e_));
	assert_int_equal(id, by_domain);
	OK(kz_store_company_find(f->c, "other.co.jp", "acme", &id, &e_));
	assert_int_equal(id, 0); /* a different domain is a different company */
	OK(kz_store_company_find(f->c, NULL, "acme", &id, &e_));
	assert_int_equal(id, by_domain); /* the oldest of that name */
	OK(kz_store_company_find(f->c, "", "acme", &id, &e_));
	assert_int_equal(id, by_domain);
	OK(kz_store_company_find(f->c, NULL, "nobody", &id, &e_));
	assert_int_equal(id, 0);
	OK(kz_store_company_find(f->c, NULL, NULL, &id, &e_));
	assert_int_equal(id, 0);
}

static void company_save_get_update_and_404(void **state)
{
	fx *f = need(state);
	int64_t id = put_company(f->c, "Kizuna", "kizuna", "kizuna.jp"), missing = 777;
	json_t *got = NULL, *rec;
	kz_err e;
	OK(kz_store_company_get(f->c, id, &got, &e_));
	assert_string_equal(json_string_value(json_object_get(got, "name")), "Kizuna");
	assert_string_equal(json_string_value(json_object_get(got, "domain")), "kizuna.jp");
	assert_string_equal(json_string_value(json_object_get(got, "created_at")),
			    "2026-11-24T17:11:58Z");
	json_decref(got);
	rec = json_pack("{s:s, s:s, s:n, s:{s:s}}", "name", "Kizuna KK", "name_fold", "kizunakk",
			"domain", "fields", "industry", "saas");
	OK(kz_store_company_save(f->c, rec, &id, &e_));
	OK(kz_store_company_get(f->c, id, &got, &e_));
	assert_string_equal(json_string_value(json_object_get(got, "name")), "Kizuna KK");
	assert_true(json_is_null(json_object_get(got, "domain")));
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(got, "fields"), "industry")),
		"saas");
	json_decref(got);
	assert_int_equal(kz_store_company_save(f->c, rec, &missing, &e), -1);
	assert_int_equal(e.status, 404);
	json_decref(rec);
	assert_int_equal(kz_store_company_get(f->c, 12345, &got, &e), -1);
	assert_int_equal(e.status, 404);
	assert_int_equal(kz_store_company_delete(f->c, 12345, &e), -1);
	assert_int_equal(e.status, 404);
}

static void deleting_a_company_detaches_its_contacts(void **state)
{
	fx *f = need(state);
	int64_t co = put_company(f->c, "Gone", "gone", NULL), id;
	json_t *rec = contact_rec("emp@example.jp", "Emp", NULL, NULL), *got = NULL;
	json_object_set_new(rec, "company_id", json_integer(co));
	id = put_contact(f->c, rec);
	OK(kz_store_company_delete(f->c, co, &e_));
	OK(kz_store_contact_get(f->c, id, &got, &e_));
	assert_true(json_is_null(json_object_get(got, "company_id")));
	assert_true(json_is_null(json_object_get(got, "company")));
	json_decref(got);
}

static void contact_with_missing_company_is_refused(void **state)
{
	fx *f = need(state);
	json_t *rec = contact_rec("orphan@example.jp", "O", NULL, NULL);
	int64_t id = 0;
	kz_err e;
	json_object_set_new(rec, "company_id", json_integer(9999));
	assert_true(kz_store_contact_save(f->c, rec, &id, &e) < 0);
	assert_int_equal(e.status, 422);
	json_decref(rec);
	assert_int_equal(count_contacts(f->c), 0);
}

static void company_list_pages_and_searches(void **state)
{
	fx *f = need(state);
	json_t *data = NULL;
	char *next = NULL, *cursor = NULL;
	int total = 0;
	kz_err e;
	for (int i = 0; i < 25; i++) {
		char name[32], dom[32];
		snprintf(name, sizeof name, "co%02d", i);
		snprintf(dom, sizeof dom, "d%02d.example.jp", i);
		put_company(f->c, name, name, i == 3 ? "special.jp" : dom);
	}
	do {
		OK(kz_store_company_list(f->c, NULL, cursor, 10, &data, &next, &e_));
		total += (int)json_array_size(data);
		json_decref(data);
		free(cursor);
		cursor = next;
	} while (cursor);
	assert_int_equal(total, 25);
	OK(kz_store_company_list(f->c, "special", NULL, 10, &data, &next, &e_));
	assert_int_equal(json_array_size(data), 1); /* by domain */
	json_decref(data);
	OK(kz_store_company_list(f->c, "co1", NULL, 50, &data, &next, &e_));
	assert_int_equal(json_array_size(data), 10); /* co10..co19 */
	json_decref(data);
	assert_int_equal(kz_store_company_list(f->c, NULL, "x1", 10, &data, &next, &e), -1);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.field, "cursor");
}

/* ---- custom field definitions ---- */

static void field_defs_crud_and_key_conflict(void **state)
{
	fx *f = need(state);
	json_t *rec, *got = NULL, *list = NULL;
	int64_t id = 0, id2 = 0;
	kz_err e;
	rec = json_pack("{s:s, s:s, s:s, s:[s,s]}", "key", "plan", "label", "プラン", "type",
			"select", "options", "free", "pro");
	OK(kz_store_field_save(f->c, rec, &id, &e_));
	assert_true(id > 0);
	json_decref(rec);
	rec = json_pack("{s:s, s:s, s:s}", "key", "seats", "label", "Seats", "type", "number");
	OK(kz_store_field_save(f->c, rec, &id2, &e_));
	json_decref(rec);

	OK(kz_store_field_get(f->c, "plan", &got, &e_));
	assert_string_equal(json_string_value(json_object_get(got, "label")), "プラン");
	assert_string_equal(json_string_value(json_object_get(got, "type")), "select");
	{
		json_t *want = json_pack("[s,s]", "free", "pro");
		assert_true(json_equal(json_object_get(got, "options"), want));
		json_decref(want);
	}
	/* update: new label, same key */
	json_object_set_new(got, "label", json_string("Plan"));
	OK(kz_store_field_save(f->c, got, &id, &e_));
	json_decref(got);
	OK(kz_store_field_get(f->c, "plan", &got, &e_));
	assert_string_equal(json_string_value(json_object_get(got, "label")), "Plan");
	json_decref(got);

	OK(kz_store_field_get(f->c, "seats", &got, &e_));
	assert_true(json_is_null(json_object_get(got, "options")));
	json_decref(got);

	OK(kz_store_field_list(f->c, &list, &e_));
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "key")),
			    "plan");
	json_decref(list);

	/* the same key again: 409 on "key" */
	rec = json_pack("{s:s, s:s, s:s}", "key", "plan", "label", "Again", "type", "text");
	{
		int64_t nid = 0;
		assert_true(kz_store_field_save(f->c, rec, &nid, &e) < 0);
		assert_int_equal(e.status, 409);
		assert_string_equal(e.code, "conflict");
		assert_string_equal(e.field, "key");
	}
	json_decref(rec);

	OK(kz_store_field_delete(f->c, "plan", &e_));
	assert_int_equal(kz_store_field_get(f->c, "plan", &got, &e), -1);
	assert_int_equal(e.status, 404);
	assert_string_equal(e.field, "key");
	assert_int_equal(kz_store_field_delete(f->c, "plan", &e), -1);
	assert_int_equal(e.status, 404);
	OK(kz_store_field_list(f->c, &list, &e_));
	assert_int_equal(json_array_size(list), 1);
	json_decref(list);
}

/* ---- users and API keys ---- */

static void users_save_get_list_and_conflict(void **state)
{
	fx *f = need(state);
	int64_t id = put_user(f->c, "admin@example.jp", "admin"), id2;
	json_t *got = NULL, *rec, *list = NULL;
	kz_err e;
	OK(kz_store_user_get(f->c, id, &got, &e_));
	assert_string_equal(json_string_value(json_object_get(got, "email")), "admin@example.jp");
	assert_string_equal(json_string_value(json_object_get(got, "role")), "admin");
	assert_true(json_is_true(json_object_get(got, "active")));
	assert_null(json_object_get(got, "password_hash")); /* never leaves by id */
	json_decref(got);

	OK(kz_store_user_by_email(f->c, "admin@example.jp", &got, &e_));
	assert_non_null(got);
	assert_string_equal(json_string_value(json_object_get(got, "password_hash")),
			    "$argon2id$fake");
	json_decref(got);
	OK(kz_store_user_by_email(f->c, "nobody@example.jp", &got, &e_));
	assert_null(got);

	/* update without a password keeps the hash; active false sticks */
	rec = json_pack("{s:s, s:s, s:s, s:b}", "email", "admin@example.jp", "name", "Renamed",
			"role", "viewer", "active", 0);
	OK(kz_store_user_save(f->c, rec, &id, &e_));
	json_decref(rec);
	OK(kz_store_user_by_email(f->c, "admin@example.jp", &got, &e_));
	assert_string_equal(json_string_value(json_object_get(got, "name")), "Renamed");
	assert_string_equal(json_string_value(json_object_get(got, "role")), "viewer");
	assert_true(json_is_false(json_object_get(got, "active")));
	assert_string_equal(json_string_value(json_object_get(got, "password_hash")),
			    "$argon2id$fake");
	json_decref(got);

	id2 = put_user(f->c, "second@example.jp", "sales");
	OK(kz_store_user_list(f->c, &list, &e_));
	assert_int_equal(json_array_size(list), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 1), "id")), id2);
	json_decref(list);

	rec = json_pack("{s:s, s:s}", "email", "second@example.jp", "role", "admin");
	{
		int64_t nid = 0;
		assert_true(kz_store_user_save(f->c, rec, &nid, &e) < 0);
		assert_int_equal(e.status, 409);
		assert_string_equal(e.field, "email");
	}
	json_decref(rec);
}

static void deleting_a_user_clears_owner_and_key_user(void **state)
{
	fx *f = need(state);
	int64_t u = put_user(f->c, "leaver@example.jp", "sales"), cid, kid = 0;
	json_t *rec = contact_rec("owned@example.jp", "Owned", NULL, NULL), *got = NULL;
	kz_err e;
	json_object_set_new(rec, "owner", json_integer(u));
	cid = put_contact(f->c, rec);
	rec = json_pack("{s:s, s:s, s:s, s:s, s:I}", "name", "k", "role", "sales", "prefix", "kz_x",
			"key_hash", "h1", "user_id", (json_int_t)u);
	OK(kz_store_apikey_insert(f->c, rec, &kid, &e_));
	json_decref(rec);
	OK(kz_store_user_delete(f->c, u, &e_));
	OK(kz_store_contact_get(f->c, cid, &got, &e_));
	assert_true(json_is_null(json_object_get(got, "owner")));
	json_decref(got);
	OK(kz_store_apikey_get(f->c, kid, &got, &e_));
	assert_true(json_is_null(json_object_get(got, "user_id")));
	json_decref(got);
	assert_int_equal(kz_store_user_delete(f->c, u, &e), -1);
	assert_int_equal(e.status, 404);
	assert_int_equal(kz_store_user_get(f->c, u, &got, &e), -1);
	assert_int_equal(e.status, 404);
}

static void api_keys_revoke_and_lookup_by_hash(void **state)
{
	fx *f = need(state);
	int64_t k1 = 0, k2 = 0;
	json_t *rec, *got = NULL, *list = NULL;
	kz_err e;
	rec = json_pack("{s:s, s:s, s:s, s:s}", "name", "ci", "role", "admin", "prefix",
			"kz_abcdefgh", "key_hash", "aaaa");
	OK(kz_store_apikey_insert(f->c, rec, &k1, &e_));
	json_decref(rec);
	rec = json_pack("{s:s, s:s, s:s, s:s}", "name", "zap", "role", "viewer", "prefix", "kz_1",
			"key_hash", "bbbb");
	OK(kz_store_apikey_insert(f->c, rec, &k2, &e_));
	/* a second key with the same hash is refused */
	{
		int64_t k3 = 0;
		assert_true(kz_store_apikey_insert(f->c, rec, &k3, &e) < 0);
		assert_int_equal(e.status, 409);
	}
	json_decref(rec);

	OK(kz_store_apikey_by_hash(f->c, "aaaa", &got, &e_));
	assert_non_null(got);
	assert_int_equal(json_integer_value(json_object_get(got, "id")), k1);
	assert_string_equal(json_string_value(json_object_get(got, "role")), "admin");
	assert_string_equal(json_string_value(json_object_get(got, "prefix")), "kz_abcdefgh");
	assert_null(json_object_get(got, "key_hash")); /* the hash never leaves the store */
	assert_true(json_is_null(json_object_get(got, "revoked_at")));
	assert_true(json_is_null(json_object_get(got, "last_used_at")));
	json_decref(got);
	OK(kz_store_apikey_by_hash(f->c, "cccc", &got, &e_));
	assert_null(got);

	OK(kz_store_apikey_touch(f->c, k1, T0 + 5000, &e_));
	OK(kz_store_apikey_get(f->c, k1, &got, &e_));
	assert_string_equal(json_string_value(json_object_get(got, "last_used_at")),
			    "2026-11-24T17:12:03Z");
	json_decref(got);

	OK(kz_store_apikey_revoke(f->c, k1, T0 + 10000, &e_));
	OK(kz_store_apikey_by_hash(f->c, "aaaa", &got, &e_));
	assert_null(got); /* revoked keys do not authenticate */
	/* revoking again keeps the first time */
	OK(kz_store_apikey_revoke(f->c, k1, T0 + 99000, &e_));
	OK(kz_store_apikey_get(f->c, k1, &got, &e_));
	assert_string_equal(json_string_value(json_object_get(got, "revoked_at")),
			    "2026-11-24T17:12:08Z");
	json_decref(got);
	/* the other key still works */
	OK(kz_store_apikey_by_hash(f->c, "bbbb", &got, &e_));
	assert_non_null(got);
	json_decref(got);

	OK(kz_store_apikey_list(f->c, &list, &e_));
	assert_int_equal(json_array_size(list), 2);
	json_decref(list);
	assert_int_equal(kz_store_apikey_revoke(f->c, 4444, T0, &e), -1);
	assert_int_equal(e.status, 404);
	assert_int_equal(kz_store_apikey_get(f->c, 4444, &got, &e), -1);
	assert_int_equal(e.status, 404);
}

/* ---- settings ---- */

static void settings_get_set_and_overwrite(void **state)
{
	fx *f = need(state);
	char *v = (char *)1;
	OK(kz_store_setting_get(f->c, "org.name", &v, &e_));
	assert_null(v);
	OK(kz_store_setting_set(f->c, "org.name", "株式会社キズナ", &e_));
	OK(kz_store_setting_get(f->c, "org.name", &v, &e_));
	assert_string_equal(v, "株式会社キズナ");
	free(v);
	OK(kz_store_setting_set(f->c, "org.name", "Kizuna", &e_));
	OK(kz_store_setting_set(f->c, "other", "x", &e_));
	OK(kz_store_setting_get(f->c, "org.name", &v, &e_));
	assert_string_equal(v, "Kizuna");
	free(v);
	OK(kz_store_setting_set(f->c, "org.name", NULL, &e_));
	OK(kz_store_setting_get(f->c, "org.name", &v, &e_));
	assert_null(v);
	OK(kz_store_setting_get(f->c, "other", &v, &e_));
	assert_string_equal(v, "x");
	free(v);
}

/* ---- the pool under concurrency ---- */

#define NTHREADS 8
#define WRITES_PER_THREAD 25

typedef struct worker {
	kz_store *s;
	int n;
	int errors;
	char last_error[256];
} worker;

static void *write_many(void *arg)
{
	worker *w = arg;
	for (int i = 0; i < WRITES_PER_THREAD; i++) {
		kz_conn *c = kz_store_acquire(w->s);
		char email[64];
		json_t *rec;
		int64_t id = 0, n = 0;
		kz_err e;
		snprintf(email, sizeof email, "t%d-%d@example.jp", w->n, i);
		rec = contact_rec(email, "Thread", NULL, NULL);
		json_object_set_new(rec, "tags", json_pack("[s]", "concurrent"));
		if (kz_tx_begin(c, 1, &e) < 0 || kz_store_contact_save(c, rec, &id, &e) < 0 ||
		    kz_store_contact_count(c, &n, &e) < 0 || kz_tx_commit(c, &e) < 0) {
			w->errors++;
			snprintf(w->last_error, sizeof w->last_error, "%s", e.message);
		}
		json_decref(rec);
		kz_store_release(c);
	}
	return NULL;
}

static void pool_serves_concurrent_writers_without_errors(void **state)
{
	fx *f = need(state);
	pthread_t th[NTHREADS];
	worker w[NTHREADS];
	int size = 0, in_use = -1;
	uint64_t waits = 0;
	/* give the fixture's connection back so all four are shared by the threads */
	kz_store_release(f->c);
	f->c = NULL;
	for (int i = 0; i < NTHREADS; i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].s = f->s;
		w[i].n = i;
		assert_int_equal(pthread_create(&th[i], NULL, write_many, &w[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < NTHREADS; i++)
		if (w[i].errors)
			fail_msg("thread %d: %d errors, last: %s", i, w[i].errors, w[i].last_error);
	kz_store_pool_stats(f->s, &size, &in_use, &waits);
	assert_int_equal(size, 4);
	assert_int_equal(in_use, 0);
	f->c = kz_store_acquire(f->s);
	assert_int_equal(count_contacts(f->c), NTHREADS * WRITES_PER_THREAD);
	assert_int_equal(count_sql(f->c, "SELECT COUNT(*) FROM contact_tags"),
			 NTHREADS * WRITES_PER_THREAD);
}

static void acquire_blocks_until_a_connection_is_released(void **state)
{
	fx *f = need(state);
	kz_conn *held[3];
	int size, in_use;
	uint64_t waits_before, waits_after;
	for (int i = 0; i < 3; i++)
		held[i] = kz_store_acquire(f->s);
	kz_store_pool_stats(f->s, &size, &in_use, &waits_before);
	assert_int_equal(in_use, 4);
	/* every connection is distinct */
	assert_ptr_not_equal(held[0], held[1]);
	assert_ptr_not_equal(held[1], held[2]);
	assert_ptr_not_equal(held[0], f->c);
	kz_store_release(held[1]);
	held[1] = kz_store_acquire(f->s); /* does not block: one is free */
	kz_store_pool_stats(f->s, &size, &in_use, &waits_after);
	assert_int_equal(waits_after, waits_before);
	for (int i = 0; i < 3; i++)
		kz_store_release(held[i]);
	kz_store_pool_stats(f->s, &size, &in_use, &waits_after);
	assert_int_equal(in_use, 1);
	kz_store_release(NULL); /* harmless */
}

/* ---- the change feed ---- */

typedef struct feed_seen {
	int n;
	int kind[16];
	int64_t ref[16];
} feed_seen;

static void feed_got(void *ctx, int kind, int64_t ref)
{
	feed_seen *s = ctx;
	if (s->n < 16) {
		s->kind[s->n] = kind;
		s->ref[s->n] = ref;
	}
	s->n++;
}

/* Rows after *pos that other processes wrote; *pos moves on. */
static void feed_read_into(kz_conn *c, kz_feed_pos *pos, feed_seen *s)
{
	int more = 0;
	OK(kz_store_feed_read(c, pos, 100, feed_got, s, &more, &e_));
	assert_int_equal(more, 0);
}

static feed_seen feed_read_all(kz_conn *c, kz_feed_pos *pos)
{
	feed_seen s;
	memset(&s, 0, sizeof s);
	feed_read_into(c, pos, &s);
	return s;
}

/* Read until `want` rows came (at most 10 s): on PostgreSQL a write transaction anywhere in
 * the cluster (other tests' databases too) holds back the rows that committed after it. */
static feed_seen feed_read_until(kz_conn *c, kz_feed_pos *pos, int want)
{
	feed_seen s;
	struct timespec pause = {0, 20 * 1000 * 1000};
	memset(&s, 0, sizeof s);
	for (int i = 0; i < 500 && s.n < want; i++) {
		feed_read_into(c, pos, &s);
		if (s.n < want)
			nanosleep(&pause, NULL);
	}
	return s;
}

/* A second process on the same database: another store, so another node id. */
static kz_store *other_node(fx *f)
{
	kz_store *s = NULL;
	kz_err e;
	if (kz_store_open(f->url, 2, &s, &e) < 0)
		fail_msg("kz_store_open: %s", e.message);
	assert_string_not_equal(kz_store_node_id(s), kz_store_node_id(f->s));
	return s;
}

static void feed_shows_other_nodes_changes_once_each(void **state)
{
	fx *f = need(state);
	kz_store *s2 = other_node(f);
	kz_conn *c2 = kz_store_acquire(s2);
	kz_feed_pos pos;
	feed_seen seen;
	json_t *rec;
	int64_t id, own;
	OK(kz_store_feed_start(f->c, &pos, &e_));
	/* one transaction that writes the contact twice: one row */
	OK(kz_tx_begin(c2, 1, &e_));
	id = put_contact(c2, contact_rec("feed@example.com", "Feed", "One", NULL));
	rec = contact_rec("feed@example.com", "Feed", "Two", NULL);
	OK(kz_store_contact_save(c2, rec, &id, &e_));
	json_decref(rec);
	OK(kz_tx_commit(c2, &e_));
	own = put_contact(f->c, contact_rec("own@example.com", "Own", NULL, NULL));
	assert_true(own > 0);
	seen = feed_read_until(f->c, &pos, 1);
	assert_int_equal(seen.n, 1); /* this process's own row is not shown */
	assert_int_equal(seen.kind[0], KZ_FEED_CONTACT);
	assert_int_equal(seen.ref[0], id);
	assert_int_equal(feed_read_all(f->c, &pos).n, 0);
	/* rows written before a start position are not shown (PostgreSQL may show them again
	 * while another transaction in the cluster is older than they are: harmless, since
	 * readers refresh from the store) */
	OK(kz_store_feed_start(f->c, &pos, &e_));
	if (!f->pg)
		assert_int_equal(feed_read_all(f->c, &pos).n, 0);
	kz_store_release(c2);
	kz_store_close(s2);
}

static void feed_row_of_a_rolled_back_savepoint_is_written_again(void **state)
{
	fx *f = need(state);
	int64_t id = put_contact(f->c, contact_rec("sp@example.com", "Save", "Point", NULL));
	int64_t before;
	OK(kz_tx_begin(f->c, 1, &e_));
	OK(kz_tx_savepoint(f->c, &e_));
	OK(kz_store_feed_note(f->c, KZ_FEED_EVENTS, id, &e_));
	kz_tx_savepoint_rollback(f->c);
	before = count_sql(f->c, "SELECT COUNT(*) FROM change_feed WHERE kind = 2");
	OK(kz_store_feed_note(f->c, KZ_FEED_EVENTS, id, &e_));
	OK(kz_store_feed_note(f->c, KZ_FEED_EVENTS, id, &e_)); /* once a transaction */
	OK(kz_tx_commit(f->c, &e_));
	assert_int_equal(count_sql(f->c, "SELECT COUNT(*) FROM change_feed WHERE kind = 2"),
			 before + 1);
}

static void feed_row_committed_after_a_later_one_is_not_skipped(void **state)
{
	fx *f = need(state);
	kz_store *s2;
	kz_conn *slow, *fast;
	kz_feed_pos pos;
	feed_seen seen;
	if (!f->pg)
		skip(); /* SQLite has one writer at a time: rows commit in seq order */
	s2 = other_node(f);
	slow = kz_store_acquire(s2);
	fast = kz_store_acquire(s2);
	OK(kz_store_feed_start(f->c, &pos, &e_));
	/* `slow` takes the lower seq and commits last */
	OK(kz_tx_begin(slow, 1, &e_));
	OK(kz_store_feed_note(slow, KZ_FEED_COMPANY, 1, &e_));
	OK(kz_tx_begin(fast, 1, &e_));
	OK(kz_store_feed_note(fast, KZ_FEED_COMPANY, 2, &e_));
	OK(kz_tx_commit(fast, &e_));
	assert_int_equal(feed_read_all(f->c, &pos).n, 0); /* not final while `slow` runs */
	OK(kz_tx_commit(slow, &e_));
	seen = feed_read_until(f->c, &pos, 2);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.ref[0] + seen.ref[1], 3);
	assert_int_equal(feed_read_all(f->c, &pos).n, 0);
	kz_store_release(slow);
	kz_store_release(fast);
	kz_store_close(s2);
}

static void feed_prune_deletes_rows_older_than_the_age(void **state)
{
	fx *f = need(state);
	int64_t deleted = -1;
	put_contact(f->c, contact_rec("prune@example.com", "Prune", NULL, NULL));
	OK(kz_store_feed_prune(f->c, 3600000, &deleted, &e_));
	assert_int_equal(deleted, 0);
	OK(kz_store_feed_prune(f->c, -60000, &deleted, &e_)); /* "older than a minute from now" */
	assert_true(deleted >= 1);
	assert_int_equal(count_sql(f->c, "SELECT COUNT(*) FROM change_feed"), 0);
}

static void segment_member_set_reports_whether_it_changed_the_row(void **state)
{
	fx *f = need(state);
	int64_t cid = put_contact(f->c, contact_rec("member@example.com", "Mem", NULL, NULL));
	int64_t sid = 0;
	int changed = -1;
	json_t *seg = json_pack("{s:s, s:s}", "name", "members", "type", "static");
	OK(kz_store_segment_save(f->c, seg, &sid, &e_));
	json_decref(seg);
	OK(kz_store_segment_member_set(f->c, sid, cid, 1, T0, &changed, &e_));
	assert_int_equal(changed, 1);
	OK(kz_store_segment_member_set(f->c, sid, cid, 1, T0, &changed, &e_));
	assert_int_equal(changed, 0); /* another node got there first */
	OK(kz_store_segment_member_set(f->c, sid, cid, 0, T0, &changed, &e_));
	assert_int_equal(changed, 1);
	OK(kz_store_segment_member_set(f->c, sid, cid, 0, T0, &changed, &e_));
	assert_int_equal(changed, 0);
}

/* Every test runs on SQLite, then on PostgreSQL (skipped without KZ_TEST_PG_URL). */
// clang-format off
#define STORE_TESTS(X) \
	X(backend_is_reported)                                      \
	X(migrate_twice_is_idempotent)                              \
	X(schema_version_is_minus_one_before_migrating)             \
	X(newer_schema_than_known_is_refused)                       \
	X(open_reports_an_unusable_location)                        \
	X(rollback_leaves_nothing)                                  \
	X(commit_keeps_writes_for_other_connections)                \
	X(uncommitted_writes_are_invisible_to_other_connections)    \
	X(release_inside_a_transaction_rolls_it_back)               \
	X(savepoint_rollback_undoes_only_its_row)                   \
	X(contact_save_and_get_round_trip_every_column)             \
	X(contact_without_company_has_null_company)                 \
	X(contact_update_keeps_created_at_and_replaces_tags)        \
	X(contact_save_of_missing_id_is_404)                        \
	X(contact_with_taken_email_is_409)                          \
	X(contacts_without_email_may_be_many)                       \
	X(contact_by_email_finds_exact_address)                     \
	X(contact_delete_removes_it_and_its_tags)                   \
	X(contact_get_of_missing_id_is_404)                         \
	X(tags_are_aggregated_sorted_and_deduplicated)              \
	X(move_related_copies_tags_onto_the_survivor)               \
	X(list_filters_by_email_company_owner_and_search)           \
	X(keyset_pagination_is_complete_for_every_sort)             \
	X(pagination_with_a_filter_stays_inside_it)                 \
	X(garbage_cursor_is_a_400)                                  \
	X(cursor_with_a_malformed_value_is_a_400)                   \
	X(unknown_sort_is_a_400)                                    \
	X(duplicates_group_by_phone_and_by_name_within_a_company)   \
	X(company_find_prefers_domain_and_never_falls_back_to_name) \
	X(company_save_get_update_and_404)                          \
	X(deleting_a_company_detaches_its_contacts)                 \
	X(contact_with_missing_company_is_refused)                  \
	X(company_list_pages_and_searches)                          \
	X(field_defs_crud_and_key_conflict)                         \
	X(users_save_get_list_and_conflict)                         \
	X(deleting_a_user_clears_owner_and_key_user)                \
	X(api_keys_revoke_and_lookup_by_hash)                       \
	X(settings_get_set_and_overwrite)                           \
	X(pool_serves_concurrent_writers_without_errors)            \
	X(acquire_blocks_until_a_connection_is_released)           \
	X(feed_shows_other_nodes_changes_once_each)                 \
	X(feed_row_of_a_rolled_back_savepoint_is_written_again)     \
	X(feed_row_committed_after_a_later_one_is_not_skipped)      \
	X(feed_prune_deletes_rows_older_than_the_age)               \
	X(segment_member_set_reports_whether_it_changed_the_row)
// clang-format on

#define ON_SQLITE(fn) cmocka_unit_test_setup_teardown(fn, setup_sqlite, teardown),
#define ON_PG(fn) cmocka_unit_test_setup_teardown(fn, setup_pg, teardown),

int main(void)
{
	const struct CMUnitTest sqlite_tests[] = {STORE_TESTS(ON_SQLITE)};
	const struct CMUnitTest pg_tests[] = {STORE_TESTS(ON_PG)};
	int failed;
	kz_log_set_level(KZ_LOG_ERROR);
	failed = cmocka_run_group_tests_name("store_sqlite", sqlite_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("store_postgres", pg_tests, pg_group_setup,
					      pg_group_teardown);
	return failed;
}
