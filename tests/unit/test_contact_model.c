/* test_contact_model.c — the contact rules (upsert, patch, merge, custom field values, company
 * and owner references) over a real SQLite file, and PostgreSQL when KZ_TEST_PG_URL is set. */
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
#include <time.h>
#include <unistd.h>

#include "base/cleanse.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "model/contact.h"
#include "store/store.h"
#include "base/banned.h"

#define T0 INT64_C(1795540318000) /* 2026-11-24T17:11:58Z */

/* ---- fixture: a fresh, migrated database with custom fields per test ---- */

#define TESTDB_PREFIX "kz_test_contact"
#include "testdb.h"

typedef struct fx {
	char dir[64];
	char url[600];
	int pg;
	kz_store *s;
	kz_conn *c;
	json_t *defs;
	kz_contact_opts o;
} fx;








/* Custom fields every test may use. */
static const char *const field_defs_json =
	"[{\"key\":\"plan\",\"label\":\"プラン\",\"type\":\"select\",\"options\":[\"free\",\"pro\"]"
	"},"
	" {\"key\":\"seats\",\"label\":\"Seats\",\"type\":\"number\"},"
	" {\"key\":\"note\",\"label\":\"Note\",\"type\":\"text\"},"
	" {\"key\":\"vip\",\"label\":\"VIP\",\"type\":\"boolean\"},"
	" {\"key\":\"renewal\",\"label\":\"Renewal\",\"type\":\"date\"},"
	" {\"key\":\"seminar_at\",\"label\":\"Seminar\",\"type\":\"datetime\"},"
	" {\"key\":\"topics\",\"label\":\"Topics\",\"type\":\"multiselect\","
	"  \"options\":[\"crm\",\"ma\",\"sfa\"]},"
	" {\"key\":\"billing_email\",\"label\":\"Billing\",\"type\":\"email\"},"
	" {\"key\":\"site\",\"label\":\"Site\",\"type\":\"url\"},"
	" {\"key\":\"office_phone\",\"label\":\"Office\",\"type\":\"phone\"}]";

static fx *fx_open(int pg)
{
	fx *f = calloc(1, sizeof *f);
	json_t *defs, *d;
	size_t i;
	kz_err e;
	assert_non_null(f);
	f->pg = pg;
	if (pg) {
		if (pg_admin(pg_url, "DROP SCHEMA public CASCADE; CREATE SCHEMA public") < 0)
			fail_msg("cannot reset the PostgreSQL schema");
		snprintf(f->url, sizeof f->url, "%s", pg_url);
	} else {
		snprintf(f->dir, sizeof f->dir, "/tmp/kz_contact_XXXXXX");
		assert_non_null(mkdtemp(f->dir));
		snprintf(f->url, sizeof f->url, "%s/kizuna.db", f->dir);
	}
	if (kz_store_open(f->url, 2, &f->s, &e) < 0 || kz_store_migrate(f->s, NULL, &e) < 0)
		fail_msg("open %s: %s", f->url, e.message);
	f->c = kz_store_acquire(f->s);
	kz_clock_set_fixed(T0);
	defs = json_loads(field_defs_json, 0, NULL);
	assert_non_null(defs);
	json_array_foreach(defs, i, d) {
		int64_t id = 0;
		if (kz_store_field_save(f->c, d, &id, &e) < 0)
			fail_msg("field_save: %s", e.message);
	}
	json_decref(defs);
	if (kz_store_field_list(f->c, &f->defs, &e) < 0)
		fail_msg("field_list: %s", e.message);
	f->o.field_defs = f->defs;
	f->o.default_country = "JP";
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
	json_decref(f->defs);
	kz_store_release(f->c);
	kz_store_close(f->s);
	if (!f->pg)
		remove_tree(f->dir);
	free(f);
	return 0;
}

static fx *need(void **state)
{
	if (!*state)
		skip();
	return *state;
}

/* ---- helpers ---- */

static json_t *J(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
	if (!j)
		fail_msg("bad JSON in the test: %s: %s", text, je.text);
	return j;
}

/* Upsert JSON text; returns 0 or -1 with e filled. */
static int upsert(fx *f, const char *json, int *created, int64_t *id, kz_err *e)
{
	json_t *in = J(json);
	int r;
	memset(e, 0, sizeof *e);
	r = kz_contact_upsert(f->c, in, &f->o, created, id, e);
	json_decref(in);
	return r;
}

static int64_t must_upsert(fx *f, const char *json, int want_created)
{
	int created = -1;
	int64_t id = 0;
	kz_err e;
	if (upsert(f, json, &created, &id, &e) < 0)
		fail_msg("upsert %s: %d %s %s (%s)", json, e.status, e.code, e.message, e.field);
	assert_int_equal(created, want_created);
	assert_true(id > 0);
	return id;
}

static int patch(fx *f, int64_t id, const char *json, kz_err *e)
{
	json_t *in = J(json);
	int r;
	memset(e, 0, sizeof *e);
	r = kz_contact_patch(f->c, id, in, &f->o, e);
	json_decref(in);
	return r;
}

static void must_patch(fx *f, int64_t id, const char *json)
{
	kz_err e;
	if (patch(f, id, json, &e) < 0)
		fail_msg("patch %s: %d %s %s (%s)", json, e.status, e.code, e.message, e.field);
}

static json_t *get(fx *f, int64_t id)
{
	json_t *c = NULL;
	kz_err e;
	if (kz_store_contact_get(f->c, id, &c, &e) < 0)
		fail_msg("get %lld: %s", (long long)id, e.message);
	return c;
}

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void assert_err(const kz_err *e, int status, const char *code, const char *field)
{
	if (e->status != status || strcmp(e->code, code) || (field && strcmp(e->field, field)))
		fail_msg("error %d %s (%s) \"%s\", want %d %s (%s)", e->status, e->code, e->field,
			 e->message, status, code, field ? field : "*");
	if (!e->message[0])
		fail_msg("error %s has no message", e->code);
}

/* The JSON of `v` equals the JSON text `want` (order of object keys ignored). */
static void assert_json(const json_t *v, const char *want)
{
	json_t *w = J(want);
	if (!json_equal(v, w)) {
		char *got = json_dumps(v, JSON_SORT_KEYS | JSON_ENCODE_ANY);
		fail_msg("got %s, want %s", got ? got : "NULL", want);
	}
	json_decref(w);
}

static int64_t count_contacts(fx *f)
{
	int64_t n = -1;
	kz_err e;
	if (kz_store_contact_count(f->c, &n, &e) < 0)
		fail_msg("count: %s", e.message);
	return n;
}

static int64_t new_user(fx *f, const char *email)
{
	json_t *u =
		json_pack("{s:s, s:s, s:s}", "email", email, "role", "sales", "password_hash", "x");
	int64_t id = 0;
	kz_err e;
	if (kz_store_user_save(f->c, u, &id, &e) < 0)
		fail_msg("user_save: %s", e.message);
	json_decref(u);
	return id;
}

/* ---- upsert ---- */

static void contact_upsert_creates_then_finds_by_normalized_email(void **state)
{
	fx *f = need(state);
	int64_t a = must_upsert(f, "{\"email\":\" Taro@Example.JP \",\"last_name\":\"山田\"}", 1);
	int64_t b = must_upsert(f, "{\"email\":\"taro@example.jp\",\"first_name\":\"太郎\"}", 0);
	json_t *c;
	assert_int_equal(a, b);
	assert_int_equal(count_contacts(f), 1);
	c = get(f, a);
	assert_string_equal(str(c, "email"), "taro@example.jp");
	assert_string_equal(str(c, "last_name"), "山田"); /* not given: kept */
	assert_string_equal(str(c, "first_name"), "太郎");
	json_decref(c);
}

static void contact_upsert_unions_tags(void **state)
{
	fx *f = need(state);
	int64_t id = must_upsert(f, "{\"email\":\"t@example.jp\",\"tags\":[\"b\",\"a\"]}", 1);
	json_t *c;
	must_upsert(f, "{\"email\":\"t@example.jp\",\"tags\":[\"c\",\"b\",\" ａ \"]}", 0);
	c = get(f, id);
	/* " ａ " cleans to "a" (NFKC, trimmed): no duplicate */
	assert_json(json_object_get(c, "tags"), "[\"a\",\"b\",\"c\"]");
	json_decref(c);
}

static void contact_upsert_overwrites_given_fields_and_keeps_others(void **state)
{
	fx *f = need(state);
	int64_t id = must_upsert(f,
				 "{\"email\":\"o@example.jp\",\"last_name\":\"Old\",\"first_name\":"
				 "\"Keep\",\"phone\":\"03-1234-5678\","
				 "\"fields\":{\"plan\":\"pro\",\"seats\":3}}",
				 1);
	json_t *c;
	must_upsert(f,
		    "{\"email\":\"o@example.jp\",\"last_name\":\"New\",\"phone\":\"090-1111-2222\","
		    "\"fields\":{\"plan\":\"free\"}}",
		    0);
	c = get(f, id);
	assert_string_equal(str(c, "last_name"), "New");
	assert_string_equal(str(c, "first_name"), "Keep");
	assert_string_equal(str(c, "phone"), "+819011112222");
	assert_json(json_object_get(c, "fields"), "{\"plan\":\"free\",\"seats\":3}");
	json_decref(c);
}

static void contact_upsert_without_email_always_creates(void **state)
{
	fx *f = need(state);
	int64_t a = must_upsert(f, "{\"last_name\":\"Same\"}", 1);
	int64_t b = must_upsert(f, "{\"last_name\":\"Same\"}", 1);
	int64_t c = must_upsert(f, "{\"email\":null,\"phone\":\"090-0000-1111\"}", 1);
	assert_true(a != b && b != c);
	assert_int_equal(count_contacts(f), 3);
}

static void contact_upsert_needs_an_email_phone_or_name(void **state)
{
	fx *f = need(state);
	int created;
	int64_t id;
	kz_err e;
	assert_int_equal(upsert(f, "{\"locale\":\"ja\",\"tags\":[\"x\"]}", &created, &id, &e), -1);
	assert_err(&e, 422, "invalid_field", "email");
	assert_int_equal(upsert(f, "{\"last_name\":\"   \"}", &created, &id, &e), -1);
	assert_err(&e, 422, "invalid_field", "email");
	assert_int_equal(count_contacts(f), 0);
}

static void contact_upsert_cleans_names(void **state)
{
	fx *f = need(state);
	int64_t id = must_upsert(f,
				 "{\"last_name\":\"  山田　 "
				 "\",\"first_name\":\"ＴＡＲＯ\",\"last_name_kana\":\"ﾔﾏﾀﾞ\"}",
				 1);
	json_t *c = get(f, id);
	assert_string_equal(str(c, "last_name"), "山田");
	assert_string_equal(str(c, "first_name"), "TARO");
	assert_string_equal(str(c, "last_name_kana"), "ヤマダ");
	json_decref(c);
}

static void contact_upsert_ignores_read_only_keys(void **state)
{
	fx *f = need(state);
	int64_t id =
		must_upsert(f,
			    "{\"id\":999,\"email\":\"ro@example.jp\",\"created_at\":\"2000-01-01"
			    "T00:00:00Z\",\"updated_at\":\"x\"}",
			    1);
	json_t *c = get(f, id);
	assert_true(id != 999);
	assert_string_equal(str(c, "created_at"), "2026-11-24T17:11:58Z");
	json_decref(c);
}

static void a_contact_read_back_can_be_sent_again(void **state)
{
	fx *f = need(state);
	int64_t id =
		must_upsert(f,
			    "{\"email\":\"rt@example.jp\",\"last_name\":\"R\",\"tags\":[\"t\"],"
			    "\"company\":{\"name\":\"RT Inc\"},\"fields\":{\"seats\":2}}",
			    1);
	json_t *c = get(f, id), *c2;
	int created = -1;
	int64_t id2 = 0;
	kz_err e;
	/* the record as GET returns it, minus nothing: company object, owner null, ... */
	if (kz_contact_upsert(f->c, c, &f->o, &created, &id2, &e) < 0)
		fail_msg("re-sending a read record: %s (%s)", e.message, e.field);
	assert_int_equal(created, 0);
	assert_int_equal(id2, id);
	c2 = get(f, id);
	assert_true(json_equal(json_object_get(c, "tags"), json_object_get(c2, "tags")));
	assert_true(
		json_equal(json_object_get(c, "company_id"), json_object_get(c2, "company_id")));
	assert_true(json_equal(json_object_get(c, "fields"), json_object_get(c2, "fields")));
	json_decref(c);
	json_decref(c2);
}

/* ---- validation errors name the field ---- */

static void invalid_email_is_invalid_field_email(void **state)
{
	fx *f = need(state);
	static const char *const bad[] = {"{\"email\":\"not-an-email\"}", "{\"email\":\"a@\"}",
					  "{\"email\":42}", "{\"email\":\"a b@example.jp\"}"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int created;
		int64_t id;
		kz_err e;
		if (upsert(f, bad[i], &created, &id, &e) != -1)
			fail_msg("%s was accepted", bad[i]);
		assert_err(&e, 422, "invalid_field", "email");
	}
	assert_int_equal(count_contacts(f), 0);
}

static void invalid_phone_is_invalid_field_phone(void **state)
{
	fx *f = need(state);
	int created;
	int64_t id;
	kz_err e;
	assert_int_equal(
		upsert(f, "{\"email\":\"p@example.jp\",\"phone\":\"call me\"}", &created, &id, &e),
		-1);
	assert_err(&e, 422, "invalid_field", "phone");
	assert_int_equal(
		upsert(f, "{\"email\":\"p@example.jp\",\"phone\":12345}", &created, &id, &e), -1);
	assert_err(&e, 422, "invalid_field", "phone");
	assert_int_equal(count_contacts(f), 0);
}

static void phone_uses_the_default_country(void **state)
{
	fx *f = need(state);
	int64_t id;
	json_t *c;
	f->o.default_country = "US";
	id = must_upsert(f, "{\"email\":\"us@example.com\",\"phone\":\"(202) 555-0143\"}", 1);
	c = get(f, id);
	assert_string_equal(str(c, "phone"), "+12025550143");
	json_decref(c);
}

static void unknown_attribute_is_unknown_field(void **state)
{
	fx *f = need(state);
	int created;
	int64_t id;
	kz_err e;
	assert_int_equal(
		upsert(f, "{\"email\":\"u@example.jp\",\"nickname\":\"x\"}", &created, &id, &e),
		-1);
	assert_err(&e, 422, "unknown_field", "nickname");
	assert_int_equal(count_contacts(f), 0);
}

static void unknown_custom_field_is_unknown_field(void **state)
{
	fx *f = need(state);
	int created;
	int64_t id;
	kz_err e;
	assert_int_equal(upsert(f, "{\"email\":\"u@example.jp\",\"fields\":{\"nope\":1}}", &created,
				&id, &e),
			 -1);
	assert_err(&e, 422, "unknown_field", "fields.nope");
	assert_non_null(strstr(e.message, "fields.nope"));
	assert_int_equal(
		upsert(f, "{\"email\":\"u@example.jp\",\"fields\":[1]}", &created, &id, &e), -1);
	assert_err(&e, 422, "invalid_field", "fields");
	assert_int_equal(count_contacts(f), 0);
}

static void invalid_custom_value_names_the_custom_field(void **state)
{
	fx *f = need(state);
	int created;
	int64_t id;
	kz_err e;
	assert_int_equal(upsert(f, "{\"email\":\"u@example.jp\",\"fields\":{\"plan\":\"gold\"}}",
				&created, &id, &e),
			 -1);
	assert_err(&e, 422, "invalid_field", "fields.plan");
	assert_int_equal(count_contacts(f), 0);
}

static void timezone_and_locale_are_checked(void **state)
{
	fx *f = need(state);
	int created;
	int64_t id;
	kz_err e;
	json_t *c;
	id = must_upsert(
		f,
		"{\"email\":\"tz@example.jp\",\"timezone\":\"America/Argentina/Buenos_Aires\","
		"\"locale\":\"ja-JP\"}",
		1);
	c = get(f, id);
	assert_string_equal(str(c, "timezone"), "America/Argentina/Buenos_Aires");
	assert_string_equal(str(c, "locale"), "ja-JP");
	json_decref(c);
	assert_int_equal(upsert(f,
				"{\"email\":\"tz@example.jp\",\"timezone\":\"../../etc/passwd\"}",
				&created, &id, &e),
			 -1);
	assert_err(&e, 422, "invalid_field", "timezone");
	assert_int_equal(upsert(f, "{\"email\":\"tz@example.jp\",\"timezone\":\"Asia/To kyo\"}",
				&created, &id, &e),
			 -1);
	assert_err(&e, 422, "invalid_field", "timezone");
	assert_int_equal(upsert(f, "{\"email\":\"tz@example.jp\",\"locale\":\"japanese\"}",
				&created, &id, &e),
			 -1);
	assert_err(&e, 422, "invalid_field", "locale");
	assert_int_equal(
		upsert(f, "{\"email\":\"tz@example.jp\",\"locale\":\"j\"}", &created, &id, &e), -1);
	assert_err(&e, 422, "invalid_field", "locale");
}

static void bad_tags_are_refused(void **state)
{
	fx *f = need(state);
	static const char *const bad[] = {
		"{\"email\":\"t@example.jp\",\"tags\":\"a,b\"}",
		"{\"email\":\"t@example.jp\",\"tags\":[1]}",
		"{\"email\":\"t@example.jp\",\"tags\":[\"  \"]}",
		"{\"email\":\"t@example.jp\",\"tags\":{\"add\":[\"a\"],\"rename\":[]}}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int created;
		int64_t id;
		kz_err e;
		if (upsert(f, bad[i], &created, &id, &e) != -1)
			fail_msg("%s was accepted", bad[i]);
		assert_err(&e, 422, "invalid_field", "tags");
	}
}

/* ---- patch ---- */

static void contact_patch_tags_object_adds_and_removes(void **state)
{
	fx *f = need(state);
	int64_t id = must_upsert(f, "{\"email\":\"p@example.jp\",\"tags\":[\"a\",\"b\",\"c\"]}", 1);
	json_t *c;
	must_patch(f, id, "{\"tags\":{\"add\":[\"d\",\"a\"],\"remove\":[\"b\",\"not-there\"]}}");
	c = get(f, id);
	assert_json(json_object_get(c, "tags"), "[\"a\",\"c\",\"d\"]");
	json_decref(c);
}

static void contact_patch_tags_array_replaces(void **state)
{
	fx *f = need(state);
	int64_t id = must_upsert(f, "{\"email\":\"p@example.jp\",\"tags\":[\"a\",\"b\"]}", 1);
	json_t *c;
	must_patch(f, id, "{\"tags\":[\"x\",\"x\"]}");
	c = get(f, id);
	assert_json(json_object_get(c, "tags"), "[\"x\"]");
	json_decref(c);
}

static void contact_patch_null_clears(void **state)
{
	fx *f = need(state);
	int64_t id = must_upsert(f,
				 "{\"email\":\"p@example.jp\",\"last_name\":\"L\",\"phone\":"
				 "\"090-1234-5678\",\"tags\":[\"a\"],\"company\":{\"name\":\"Co\"},"
				 "\"fields\":{\"plan\":\"pro\",\"seats\":1}}",
				 1);
	json_t *c;
	must_patch(f, id,
		   "{\"last_name\":null,\"phone\":null,\"tags\":null,\"company\":null,"
		   "\"fields\":{\"plan\":null}}");
	c = get(f, id);
	assert_true(json_is_null(json_object_get(c, "last_name")));
	assert_true(json_is_null(json_object_get(c, "phone")));
	assert_true(json_is_null(json_object_get(c, "company")));
	assert_json(json_object_get(c, "tags"), "[]");
	assert_json(json_object_get(c, "fields"), "{\"seats\":1}");
	assert_string_equal(str(c, "email"), "p@example.jp"); /* not mentioned: kept */
	json_decref(c);
}

static void contact_patch_empty_phone_clears_it(void **state)
{
	fx *f = need(state);
	int64_t id = must_upsert(f, "{\"email\":\"p@example.jp\",\"phone\":\"090-1234-5678\"}", 1);
	json_t *c;
	must_patch(f, id, "{\"phone\":\"\"}");
	c = get(f, id);
	assert_true(json_is_null(json_object_get(c, "phone")));
	json_decref(c);
}

static void contact_patch_to_a_taken_email_is_409(void **state)
{
	fx *f = need(state);
	int64_t a = must_upsert(f, "{\"email\":\"a@example.jp\"}", 1);
	int64_t b = must_upsert(f, "{\"email\":\"b@example.jp\",\"last_name\":\"B\"}", 1);
	kz_err e;
	json_t *c;
	assert_int_equal(patch(f, b, "{\"email\":\"A@EXAMPLE.JP\",\"last_name\":\"Changed\"}", &e),
			 -1);
	assert_err(&e, 409, "conflict", "email");
	c = get(f, b);
	assert_string_equal(str(c, "email"), "b@example.jp");
	assert_string_equal(str(c, "last_name"), "B");
	json_decref(c);
	/* its own email again is fine */
	must_patch(f, a, "{\"email\":\"a@example.jp\",\"last_name\":\"A\"}");
}

static void contact_patch_of_missing_contact_is_404(void **state)
{
	fx *f = need(state);
	kz_err e;
	assert_int_equal(patch(f, 4242, "{\"last_name\":\"X\"}", &e), -1);
	assert_err(&e, 404, "not_found", NULL);
}

static void contact_patch_validates_like_create(void **state)
{
	fx *f = need(state);
	int64_t id = must_upsert(f, "{\"email\":\"v@example.jp\"}", 1);
	kz_err e;
	assert_int_equal(patch(f, id, "{\"email\":\"broken\"}", &e), -1);
	assert_err(&e, 422, "invalid_field", "email");
	assert_int_equal(patch(f, id, "{\"fields\":{\"seats\":\"many\"}}", &e), -1);
	assert_err(&e, 422, "invalid_field", "fields.seats");
	assert_int_equal(patch(f, id, "{\"owner\":9999}", &e), -1);
	assert_err(&e, 422, "invalid_field", "owner");
}

static void contact_patch_updates_search_for_listing(void **state)
{
	fx *f = need(state);
	int64_t id = must_upsert(f, "{\"email\":\"s@example.jp\",\"last_name\":\"山田\"}", 1);
	kz_contact_query q;
	json_t *page = NULL;
	char *next = NULL, *fold = kz_fold_search("やまだ");
	kz_err e;
	must_patch(f, id, "{\"last_name_kana\":\"ヤマダ\"}");
	memset(&q, 0, sizeof q);
	q.q = fold;
	assert_int_equal(kz_store_contact_list(f->c, &q, &page, &next, &e), 0);
	assert_int_equal(json_array_size(page), 1);
	json_decref(page);
	free(fold);
}

/* A patch that changes no column (a tag) keeps every column and the search text as they
 * were; a later name change still reaches the search text. */
static void contact_patch_of_a_tag_keeps_the_row_and_its_search(void **state)
{
	fx *f = need(state);
	int64_t id = must_upsert(f, "{\"email\":\"t@example.jp\",\"last_name\":\"佐藤\","
				    "\"fields\":{\"plan\":\"pro\"},\"tags\":[\"a\"]}", 1);
	kz_contact_query q;
	json_t *page = NULL, *c;
	char *next = NULL, *fold = kz_fold_search("佐藤"), *fold2 = kz_fold_search("鈴木");
	kz_err e;
	must_patch(f, id, "{\"tags\":{\"add\":[\"b\"]}}");
	c = get(f, id);
	assert_json(json_object_get(c, "tags"), "[\"a\",\"b\"]");
	assert_json(json_object_get(c, "fields"), "{\"plan\":\"pro\"}");
	assert_string_equal(str(c, "last_name"), "佐藤");
	json_decref(c);
	memset(&q, 0, sizeof q);
	q.q = fold;
	assert_int_equal(kz_store_contact_list(f->c, &q, &page, &next, &e), 0);
	assert_int_equal(json_array_size(page), 1);
	json_decref(page);
	must_patch(f, id, "{\"last_name\":\"鈴木\",\"tags\":{\"remove\":[\"a\"]}}");
	q.q = fold2;
	assert_int_equal(kz_store_contact_list(f->c, &q, &page, &next, &e), 0);
	assert_int_equal(json_array_size(page), 1);
	json_decref(page);
	q.q = fold;
	assert_int_equal(kz_store_contact_list(f->c, &q, &page, &next, &e), 0);
	assert_int_equal(json_array_size(page), 0);
	json_decref(page);
	c = get(f, id);
	assert_json(json_object_get(c, "tags"), "[\"b\"]");
	json_decref(c);
	free(fold);
	free(fold2);
}

/* ---- merge ---- */

static void contact_merge_into_wins_fills_gaps_unions_tags_and_deletes_from(void **state)
{
	fx *f = need(state);
	int64_t owner = new_user(f, "rep@example.jp");
	int64_t into, from;
	char json[512];
	json_t *c, *gone = NULL;
	kz_err e;
	into = must_upsert(f,
			   "{\"email\":\"into@example.jp\",\"last_name\":\"Into\",\"tags\":[\"x\","
			   "\"shared\"],\"fields\":{\"plan\":\"pro\"}}",
			   1);
	snprintf(json, sizeof json,
		 "{\"email\":\"from@example.jp\",\"last_name\":\"From\",\"first_name\":\"Fills\","
		 "\"phone\":\"090-5555-6666\",\"owner\":%lld,\"company\":{\"name\":\"FromCo\"},"
		 "\"tags\":[\"y\",\"shared\"],\"fields\":{\"plan\":\"free\",\"seats\":2}}",
		 (long long)owner);
	from = must_upsert(f, json, 1);
	memset(&e, 0, sizeof e);
	if (kz_contact_merge(f->c, into, from, &e) < 0)
		fail_msg("merge: %s", e.message);
	c = get(f, into);
	assert_string_equal(str(c, "email"), "into@example.jp");
	assert_string_equal(str(c, "last_name"), "Into");   /* both set: into wins */
	assert_string_equal(str(c, "first_name"), "Fills"); /* gap filled from `from` */
	assert_string_equal(str(c, "phone"), "+819055556666");
	assert_int_equal(json_integer_value(json_object_get(c, "owner")), owner);
	assert_string_equal(str(json_object_get(c, "company"), "name"), "FromCo");
	assert_json(json_object_get(c, "tags"), "[\"shared\",\"x\",\"y\"]");
	assert_json(json_object_get(c, "fields"), "{\"plan\":\"pro\",\"seats\":2}");
	json_decref(c);
	assert_int_equal(kz_store_contact_get(f->c, from, &gone, &e), -1);
	assert_int_equal(e.status, 404);
	assert_int_equal(count_contacts(f), 1);
	/* from's email is free again */
	must_upsert(f, "{\"email\":\"from@example.jp\"}", 1);
}

static void contact_merge_takes_the_email_when_into_has_none(void **state)
{
	fx *f = need(state);
	int64_t into = must_upsert(f, "{\"last_name\":\"NoMail\"}", 1);
	int64_t from = must_upsert(f, "{\"email\":\"only@example.jp\",\"last_name\":\"X\"}", 1);
	kz_err e;
	json_t *c;
	int64_t found = 0;
	memset(&e, 0, sizeof e);
	assert_int_equal(kz_contact_merge(f->c, into, from, &e), 0);
	c = get(f, into);
	assert_string_equal(str(c, "email"), "only@example.jp");
	assert_string_equal(str(c, "last_name"), "NoMail");
	json_decref(c);
	assert_int_equal(kz_store_contact_by_email(f->c, "only@example.jp", &found, &e), 0);
	assert_int_equal(found, into);
}

static void contact_merge_refuses_itself_and_missing_contacts(void **state)
{
	fx *f = need(state);
	int64_t a = must_upsert(f, "{\"email\":\"a@example.jp\"}", 1);
	kz_err e;
	memset(&e, 0, sizeof e);
	assert_int_equal(kz_contact_merge(f->c, a, a, &e), -1);
	assert_err(&e, 422, "invalid_field", "from");
	assert_int_equal(kz_contact_merge(f->c, 777, a, &e), -1);
	assert_err(&e, 404, "not_found", "into");
	assert_int_equal(kz_contact_merge(f->c, a, 777, &e), -1);
	assert_err(&e, 404, "not_found", "from");
	assert_int_equal(count_contacts(f), 1);
}

static void contact_merge_sums_scores_and_moves_score_and_stage_history(void **state)
{
	fx *f = need(state);
	int64_t into = must_upsert(f, "{\"email\":\"keep@example.jp\"}", 1);
	int64_t from = must_upsert(f, "{\"email\":\"gone@example.jp\"}", 1);
	int64_t pts = 0;
	json_t *c = json_pack("{s:I}", "id", (json_int_t)into), *hist = NULL;
	kz_err e;
	memset(&e, 0, sizeof e);
	assert_int_equal(kz_store_score_add(f->c, into, "engagement", 5, T0, &pts, &e), 0);
	assert_int_equal(kz_store_score_add(f->c, from, "engagement", 7, T0 + 1000, &pts, &e), 0);
	assert_int_equal(kz_store_score_add(f->c, from, "fit", 10, T0, &pts, &e), 0);
	assert_int_equal(kz_store_score_log(f->c, from, 0, "engagement", 7, "+7 visited /pricing", T0 + 1000, &e), 0);
	assert_int_equal(kz_store_stage_set(f->c, from, "mql", NULL, "rule", T0, &e), 0);
	assert_int_equal(kz_contact_merge(f->c, into, from, &e), 0);
	assert_int_equal(kz_store_contact_audience(f->c, c, &e), 0);
	assert_json(json_object_get(c, "scores"), "{\"engagement\":12,\"fit\":10}");
	assert_int_equal(json_integer_value(json_object_get(c, "score")), 22);
	assert_string_equal(str(c, "stage"), "mql"); /* into had none: from's is kept */
	assert_int_equal(kz_store_score_history(f->c, into, 10, &hist, &e), 0);
	assert_int_equal(json_array_size(hist), 1);
	assert_string_equal(str(json_array_get(hist, 0), "reason"), "+7 visited /pricing");
	json_decref(hist);
	assert_int_equal(kz_store_stage_history(f->c, into, &hist, &e), 0);
	assert_int_equal(json_array_size(hist), 1);
	json_decref(hist);
	json_decref(c);
}

/* ---- custom field values, every type ---- */

static const json_t *def(fx *f, const char *key)
{
	size_t i;
	json_t *d;
	json_array_foreach(f->defs, i, d)
		if (!strcmp(str(d, "key"), key))
			return d;
	fail_msg("no field %s", key);
	return NULL;
}

/* Check that value `in` (JSON text) normalizes to `want` (JSON text), or fails when want is
 * NULL, for the field `key` in strict (lenient=0) or lenient mode. */
static void check_value(fx *f, const char *key, int lenient, const char *in, const char *want)
{
	json_t *v = J(in), *out = (json_t *)1;
	kz_err e;
	char fname[64];
	int r;
	memset(&e, 0, sizeof e);
	r = kz_field_value_check(def(f, key), v, lenient, &out, &e);
	if (want) {
		json_t *w = J(want);
		if (r != 0)
			fail_msg("%s %s (lenient=%d) refused: %s", key, in, lenient, e.message);
		if (!out || !json_equal(out, w)) {
			char *got = out ? json_dumps(out, JSON_ENCODE_ANY) : NULL;
			fail_msg("%s %s (lenient=%d) -> %s, want %s", key, in, lenient,
				 got ? got : "NULL", want);
		}
		json_decref(w);
		json_decref(out);
	} else {
		if (r == 0) {
			char *got = out ? json_dumps(out, JSON_ENCODE_ANY) : NULL;
			fail_msg("%s %s (lenient=%d) accepted as %s", key, in, lenient,
				 got ? got : "NULL");
		}
		snprintf(fname, sizeof fname, "fields.%s", key);
		assert_err(&e, 422, "invalid_field", fname);
	}
	json_decref(v);
}

/* A JSON string literal of n letters. */
static char *json_letters(size_t n)
{
	char *s = malloc(n + 3);
	assert_non_null(s);
	s[0] = '"';
	memset(s + 1, 'a', n);
	s[n + 1] = '"';
	s[n + 2] = '\0';
	return s;
}

static void field_value_text(void **state)
{
	fx *f = need(state);
	char *max = json_letters(10000), *over = json_letters(10001);
	check_value(f, "note", 0, "\"自由記述\"", "\"自由記述\"");
	check_value(f, "note", 0, "\"\"", "\"\"");
	check_value(f, "note", 0, "null", "null");
	check_value(f, "note", 0, "12", NULL);
	check_value(f, "note", 0, "[\"a\"]", NULL);
	check_value(f, "note", 1, "\"12\"", "\"12\"");
	check_value(f, "note", 0, max, max);
	check_value(f, "note", 0, over, NULL);
	free(max);
	free(over);
	{
		/* bytes that are not UTF-8 (jansson's parser never makes them; a C caller can) */
		json_t *v = json_stringn_nocheck("ab\xff", 3), *out = NULL;
		kz_err e;
		assert_int_equal(kz_field_value_check(def(f, "note"), v, 0, &out, &e), -1);
		assert_err(&e, 422, "invalid_field", "fields.note");
		assert_null(out);
		json_decref(v);
	}
}

static void field_value_number(void **state)
{
	fx *f = need(state);
	check_value(f, "seats", 0, "12", "12");
	check_value(f, "seats", 0, "-1.5", "-1.5");
	check_value(f, "seats", 0, "\"12\"", NULL); /* strict: JSON numbers only */
	check_value(f, "seats", 0, "true", NULL);
	check_value(f, "seats", 1, "\"12\"", "12");
	check_value(f, "seats", 1, "\"-7\"", "-7");
	check_value(f, "seats", 1, "\"1.5\"", "1.5");
	check_value(f, "seats", 1, "\"2.0\"", "2.0");
	check_value(f, "seats", 1, "\"12 seats\"", NULL);
	check_value(f, "seats", 1, "\"\"", NULL);
	check_value(f, "seats", 1, "\"abc\"", NULL);
}

static void lenient_number_refuses_nan_and_infinity(void **state)
{
	fx *f = need(state);
	/* strtod() reads these, but JSON has no such numbers: a value must never vanish */
	check_value(f, "seats", 1, "\"nan\"", NULL);
	check_value(f, "seats", 1, "\"inf\"", NULL);
	check_value(f, "seats", 1, "\"1e999\"", NULL);
	check_value(f, "seats", 1, "\"-infinity\"", NULL);
}

static void lenient_integer_text_is_never_rounded(void **state)
{
	fx *f = need(state);
	json_t *v = json_string("9007199254740993"), *out = NULL;
	kz_err e;
	/* 2^53 + 1 has no double: a lenient number may refuse it, never store 2^53 instead */
	check_value(f, "seats", 0, "9007199254740993", "9007199254740993");
	check_value(f, "seats", 1, "\"9007199254740991\"", "9007199254740991");
	check_value(f, "seats", 1, "\"-9007199254740991\"", "-9007199254740991");
	if (kz_field_value_check(def(f, "seats"), v, 1, &out, &e) == 0) {
		assert_true(json_is_integer(out));
		assert_int_equal(json_integer_value(out), INT64_C(9007199254740993));
	}
	json_decref(out);
	json_decref(v);
}

static void field_value_boolean(void **state)
{
	fx *f = need(state);
	static const char *const yes[] = {"\"true\"", "\"yes\"", "\"Y\"",  "\"1\"",   "\"on\"",
					  "\"はい\"", "\"○\"",   "\"有\"", "\"TRUE\""};
	static const char *const no[] = {"\"false\"",  "\"no\"", "\"n\"",  "\"0\"", "\"off\"",
					 "\"いいえ\"", "\"×\"",  "\"無\"", "\"\""};
	check_value(f, "vip", 0, "true", "true");
	check_value(f, "vip", 0, "false", "false");
	check_value(f, "vip", 0, "\"yes\"", NULL); /* strict */
	check_value(f, "vip", 0, "1", NULL);
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
		check_value(f, "vip", 1, yes[i], "true");
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		check_value(f, "vip", 1, no[i], "false");
	check_value(f, "vip", 1, "\"maybe\"", NULL);
}

static void field_value_date(void **state)
{
	fx *f = need(state);
	check_value(f, "renewal", 0, "\"2024-02-29\"", "\"2024-02-29\"");
	check_value(f, "renewal", 0, "\"2026-02-30\"", NULL);
	check_value(f, "renewal", 0, "\"2026/02/01\"", NULL);
	check_value(f, "renewal", 0, "\"2026-02-01T00:00:00Z\"", NULL);
	check_value(f, "renewal", 0, "20260201", NULL);
	check_value(f, "renewal", 1, "\"2026-02-01\"", "\"2026-02-01\"");
}

static void field_value_datetime_is_stored_in_utc(void **state)
{
	fx *f = need(state);
	check_value(f, "seminar_at", 0, "\"2026-11-25T02:11:58+09:00\"",
		    "\"2026-11-24T17:11:58Z\"");
	check_value(f, "seminar_at", 0, "\"2026-11-24T17:11:58.250Z\"",
		    "\"2026-11-24T17:11:58.250Z\"");
	check_value(f, "seminar_at", 0, "\"2026-11-24\"", "\"2026-11-24T00:00:00Z\"");
	check_value(f, "seminar_at", 0, "\"2026-11-24T17:11:58\"", NULL); /* no zone */
	check_value(f, "seminar_at", 0, "\"tomorrow\"", NULL);
	check_value(f, "seminar_at", 0, "1795540318000", NULL);
}

static void field_value_select_and_multiselect(void **state)
{
	fx *f = need(state);
	check_value(f, "plan", 0, "\"pro\"", "\"pro\"");
	check_value(f, "plan", 0, "\"Pro\"", NULL);
	check_value(f, "plan", 0, "\"gold\"", NULL);
	check_value(f, "plan", 0, "1", NULL);
	check_value(f, "topics", 0, "[\"crm\",\"ma\"]", "[\"crm\",\"ma\"]");
	check_value(f, "topics", 0, "[]", "[]");
	check_value(f, "topics", 0, "[\"crm\",\"erp\"]", NULL);
	check_value(f, "topics", 0, "[1]", NULL);
	check_value(f, "topics", 0, "\"crm\"", NULL); /* strict: arrays only */
	check_value(f, "topics", 1, "\"crm; sfa\"", "[\"crm\",\"sfa\"]");
	check_value(f, "topics", 1, "\"crm,ma\"", "[\"crm\",\"ma\"]");
	check_value(f, "topics", 1, "\"crm;erp\"", NULL);
}

static void field_value_email_url_phone(void **state)
{
	fx *f = need(state);
	check_value(f, "billing_email", 0, "\" Billing@Example.JP \"", "\"billing@example.jp\"");
	check_value(f, "billing_email", 0, "\"billing\"", NULL);
	check_value(f, "site", 0, "\"https://example.jp/about?x=1\"",
		    "\"https://example.jp/about?x=1\"");
	check_value(f, "site", 0, "\"http://a.jp\"", "\"http://a.jp\"");
	check_value(f, "site", 0, "\"ftp://example.jp\"", NULL);
	check_value(f, "site", 0, "\"https://\"", NULL);
	check_value(f, "site", 0, "\"https://exa mple.jp\"", NULL);
	check_value(f, "site", 0, "\"example.jp\"", NULL);
	check_value(f, "office_phone", 0, "\"03-1234-5678\"", "\"+81312345678\"");
	check_value(f, "office_phone", 0, "\"+1 202 555 0143\"", "\"+12025550143\"");
	check_value(f, "office_phone", 0, "\"call me\"", NULL);
	check_value(f, "office_phone", 0, "312345678", NULL);
}

static void null_custom_value_removes_it(void **state)
{
	fx *f = need(state);
	static const char *const keys[] = {"plan",    "seats",       "note",   "vip",
					   "renewal", "seminar_at",  "topics", "billing_email",
					   "site",    "office_phone"};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		check_value(f, keys[i], 0, "null", "null");
		check_value(f, keys[i], 1, "null", "null");
	}
}

static void custom_phone_field_uses_the_default_country(void **state)
{
	fx *f = need(state);
	int64_t id;
	json_t *c;
	/* a phone custom field is read like the contact's own phone */
	f->o.default_country = "US";
	id = must_upsert(f,
			 "{\"email\":\"us@example.com\",\"phone\":\"(202) 555-0143\","
			 "\"fields\":{\"office_phone\":\"(202) 555-0143\"}}",
			 1);
	c = get(f, id);
	assert_string_equal(str(c, "phone"), "+12025550143");
	assert_string_equal(str(json_object_get(c, "fields"), "office_phone"), "+12025550143");
	json_decref(c);
}

static void custom_values_are_normalized_when_saved(void **state)
{
	fx *f = need(state);
	int64_t id;
	json_t *c;
	f->o.lenient_strings = 1;
	id = must_upsert(
		f,
		"{\"email\":\"cv@example.jp\",\"fields\":{\"seats\":\"40\",\"vip\":\"はい\","
		"\"topics\":\"crm;ma\",\"seminar_at\":\"2026-11-25T09:00:00+09:00\"}}",
		1);
	c = get(f, id);
	assert_json(json_object_get(c, "fields"),
		    "{\"seats\":40,\"vip\":true,\"topics\":[\"crm\",\"ma\"],"
		    "\"seminar_at\":\"2026-11-25T00:00:00Z\"}");
	json_decref(c);
}

/* ---- company and owner references ---- */

static int64_t company_of(fx *f, int64_t contact)
{
	json_t *c = get(f, contact);
	int64_t id = json_integer_value(json_object_get(c, "company_id"));
	json_decref(c);
	return id;
}

static int64_t count_companies(fx *f)
{
	json_t *data = NULL;
	char *next = NULL;
	kz_err e;
	int64_t n;
	if (kz_store_company_list(f->c, NULL, NULL, 500, &data, &next, &e) < 0)
		fail_msg("company_list: %s", e.message);
	n = (int64_t)json_array_size(data);
	json_decref(data);
	free(next);
	return n;
}

static void company_by_name_is_reused(void **state)
{
	fx *f = need(state);
	int64_t a = must_upsert(
		f, "{\"email\":\"a@example.jp\",\"company\":{\"name\":\"株式会社キズナ\"}}", 1);
	/* half-width kana and extra spaces fold to the same name */
	int64_t b = must_upsert(
		f, "{\"email\":\"b@example.jp\",\"company\":{\"name\":\" 株式会社ｷｽﾞﾅ \"}}", 1);
	int64_t c =
		must_upsert(f, "{\"email\":\"c@example.jp\",\"company\":{\"name\":\"別会社\"}}", 1);
	json_t *rec;
	assert_true(company_of(f, a) > 0);
	assert_int_equal(company_of(f, a), company_of(f, b));
	assert_true(company_of(f, c) != company_of(f, a));
	assert_int_equal(count_companies(f), 2);
	rec = get(f, a);
	assert_string_equal(str(json_object_get(rec, "company"), "name"), "株式会社キズナ");
	json_decref(rec);
}

static void company_by_domain_is_reused_and_normalized(void **state)
{
	fx *f = need(state);
	int64_t a = must_upsert(f,
				"{\"email\":\"a@example.jp\",\"company\":{\"domain\":\"https://"
				"www.Acme.co.jp/about\"}}",
				1);
	int64_t b = must_upsert(f,
				"{\"email\":\"b@example.jp\",\"company\":{\"name\":\"ACME\","
				"\"domain\":\"acme.co.jp\"}}",
				1);
	/* same name, other domain: another company */
	int64_t c = must_upsert(f,
				"{\"email\":\"c@example.jp\",\"company\":{\"name\":\"ACME\","
				"\"domain\":\"acme.com\"}}",
				1);
	json_t *rec;
	assert_int_equal(company_of(f, a), company_of(f, b));
	assert_true(company_of(f, c) != company_of(f, a));
	rec = get(f, a);
	/* created from a bare domain: the domain names it */
	assert_string_equal(str(json_object_get(rec, "company"), "domain"), "acme.co.jp");
	assert_string_equal(str(json_object_get(rec, "company"), "name"), "acme.co.jp");
	json_decref(rec);
}

static void company_reference_errors_name_the_field(void **state)
{
	fx *f = need(state);
	static const struct {
		const char *json, *field;
	} bad[] = {
		{"{\"email\":\"a@example.jp\",\"company\":{\"domain\":\"localhost\"}}",
		 "company.domain"},
		{"{\"email\":\"a@example.jp\",\"company\":{}}", "company"},
		{"{\"email\":\"a@example.jp\",\"company\":{\"name\":\"  \"}}", "company"},
		{"{\"email\":\"a@example.jp\",\"company\":{\"name\":5}}", "company"},
		{"{\"email\":\"a@example.jp\",\"company\":\"Acme\"}", "company"},
		{"{\"email\":\"a@example.jp\",\"company\":9999}", "company_id"},
		{"{\"email\":\"a@example.jp\",\"company_id\":9999}", "company_id"},
		{"{\"email\":\"a@example.jp\",\"company_id\":\"1\"}", "company_id"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int created;
		int64_t id;
		kz_err e;
		if (upsert(f, bad[i].json, &created, &id, &e) != -1)
			fail_msg("%s was accepted", bad[i].json);
		assert_err(&e, 422, "invalid_field", bad[i].field);
	}
	assert_int_equal(count_contacts(f), 0);
	assert_int_equal(count_companies(f), 0);
}

static void company_by_id_links_an_existing_company(void **state)
{
	fx *f = need(state);
	int64_t a =
		must_upsert(f, "{\"email\":\"a@example.jp\",\"company\":{\"name\":\"Linked\"}}", 1);
	int64_t co = company_of(f, a);
	char json[128];
	int64_t b;
	snprintf(json, sizeof json, "{\"email\":\"b@example.jp\",\"company_id\":%lld}",
		 (long long)co);
	b = must_upsert(f, json, 1);
	assert_int_equal(company_of(f, b), co);
	snprintf(json, sizeof json, "{\"email\":\"c@example.jp\",\"company\":{\"id\":%lld}}",
		 (long long)co);
	b = must_upsert(f, json, 1);
	assert_int_equal(company_of(f, b), co);
	assert_int_equal(count_companies(f), 1);
}

static void owner_must_be_an_existing_user(void **state)
{
	fx *f = need(state);
	int64_t u = new_user(f, "rep@example.jp"), id;
	char json[128];
	int created;
	kz_err e;
	json_t *c;
	assert_int_equal(
		upsert(f, "{\"email\":\"o@example.jp\",\"owner\":9999}", &created, &id, &e), -1);
	assert_err(&e, 422, "invalid_field", "owner");
	assert_int_equal(upsert(f, "{\"email\":\"o@example.jp\",\"owner\":\"rep@example.jp\"}",
				&created, &id, &e),
			 -1);
	assert_err(&e, 422, "invalid_field", "owner");
	assert_int_equal(count_contacts(f), 0);
	snprintf(json, sizeof json, "{\"email\":\"o@example.jp\",\"owner\":%lld}", (long long)u);
	id = must_upsert(f, json, 1);
	c = get(f, id);
	assert_int_equal(json_integer_value(json_object_get(c, "owner")), u);
	json_decref(c);
	must_patch(f, id, "{\"owner\":null}");
	c = get(f, id);
	assert_true(json_is_null(json_object_get(c, "owner")));
	json_decref(c);
}

static void same_name_at_same_company_is_a_duplicate(void **state)
{
	fx *f = need(state);
	int64_t a = must_upsert(
		f,
		"{\"email\":\"a@example.jp\",\"last_name\":\"山田\",\"first_name\":\"太郎\","
		"\"company\":{\"name\":\"Dup\"}}",
		1);
	int64_t b = must_upsert(
		f,
		"{\"email\":\"b@example.jp\",\"last_name\":\"山田 \",\"first_name\":\" 太郎\","
		"\"company\":{\"name\":\"Dup\"}}",
		1);
	json_t *groups = NULL;
	kz_err e;
	char want[128];
	must_upsert(f,
		    "{\"email\":\"c@example.jp\",\"last_name\":\"山田\",\"first_name\":\"花子\","
		    "\"company\":{\"name\":\"Dup\"}}",
		    1);
	assert_int_equal(kz_store_contact_duplicates(f->c, 10, &groups, &e), 0);
	snprintf(want, sizeof want, "[{\"reason\":\"name_company\",\"ids\":[%lld,%lld]}]",
		 (long long)a, (long long)b);
	assert_json(groups, want);
	json_decref(groups);
}

/* ---- domains ---- */

static void domain_normalize_strips_scheme_www_path_port_and_case(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"https://www.Example.co.jp/x", "example.co.jp"},
		{"HTTP://WWW.EXAMPLE.COM:8080/p?q=1", "example.com"},
		{"example.jp", "example.jp"},
		{"  example.jp", "example.jp"},
		{"example.jp/", "example.jp"},
		{"example.jp?x", "example.jp"},
		{"example.jp#top", "example.jp"},
		{"sub.example.jp", "sub.example.jp"},
		{"www2.example.jp", "www2.example.jp"},
		{"https://shop.example.jp", "shop.example.jp"},
		{"", ""},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *got = kz_domain_normalize(cases[i].in);
		assert_non_null(got);
		if (strcmp(got, cases[i].want))
			fail_msg("kz_domain_normalize(\"%s\") = \"%s\", want \"%s\"", cases[i].in,
				 got, cases[i].want);
		free(got);
	}
}

/* Every test runs on SQLite, then on PostgreSQL (skipped without KZ_TEST_PG_URL). */
// clang-format off
#define MODEL_TESTS(X) \
	X(contact_upsert_creates_then_finds_by_normalized_email)           \
	X(contact_upsert_unions_tags)                                      \
	X(contact_upsert_overwrites_given_fields_and_keeps_others)         \
	X(contact_upsert_without_email_always_creates)                     \
	X(contact_upsert_needs_an_email_phone_or_name)                     \
	X(contact_upsert_cleans_names)                                     \
	X(contact_upsert_ignores_read_only_keys)                           \
	X(a_contact_read_back_can_be_sent_again)                           \
	X(invalid_email_is_invalid_field_email)                            \
	X(invalid_phone_is_invalid_field_phone)                            \
	X(phone_uses_the_default_country)                                  \
	X(unknown_attribute_is_unknown_field)                              \
	X(unknown_custom_field_is_unknown_field)                           \
	X(invalid_custom_value_names_the_custom_field)                     \
	X(timezone_and_locale_are_checked)                                 \
	X(bad_tags_are_refused)                                            \
	X(contact_patch_tags_object_adds_and_removes)                      \
	X(contact_patch_tags_array_replaces)                               \
	X(contact_patch_null_clears)                                       \
	X(contact_patch_empty_phone_clears_it)                             \
	X(contact_patch_to_a_taken_email_is_409)                           \
	X(contact_patch_of_missing_contact_is_404)                         \
	X(contact_patch_validates_like_create)                             \
	X(contact_patch_updates_search_for_listing)                        \
	X(contact_patch_of_a_tag_keeps_the_row_and_its_search)            \
	X(contact_merge_into_wins_fills_gaps_unions_tags_and_deletes_from) \
	X(contact_merge_takes_the_email_when_into_has_none)                \
	X(contact_merge_refuses_itself_and_missing_contacts)               \
	X(contact_merge_sums_scores_and_moves_score_and_stage_history)    \
	X(field_value_text)                                                \
	X(field_value_number)                                              \
	X(lenient_number_refuses_nan_and_infinity)                         \
	X(lenient_integer_text_is_never_rounded)                          \
	X(field_value_boolean)                                             \
	X(field_value_date)                                                \
	X(field_value_datetime_is_stored_in_utc)                           \
	X(field_value_select_and_multiselect)                              \
	X(field_value_email_url_phone)                                     \
	X(null_custom_value_removes_it)                                    \
	X(custom_phone_field_uses_the_default_country)                     \
	X(custom_values_are_normalized_when_saved)                         \
	X(company_by_name_is_reused)                                       \
	X(company_by_domain_is_reused_and_normalized)                      \
	X(company_reference_errors_name_the_field)                         \
	X(company_by_id_links_an_existing_company)                         \
	X(owner_must_be_an_existing_user)                                  \
	X(same_name_at_same_company_is_a_duplicate)
// clang-format on

#define ON_SQLITE(fn) cmocka_unit_test_setup_teardown(fn, setup_sqlite, teardown),
#define ON_PG(fn) cmocka_unit_test_setup_teardown(fn, setup_pg, teardown),

int main(void)
{
	const struct CMUnitTest pure_tests[] = {
		cmocka_unit_test(domain_normalize_strips_scheme_www_path_port_and_case),
	};
	const struct CMUnitTest sqlite_tests[] = {MODEL_TESTS(ON_SQLITE)};
	const struct CMUnitTest pg_tests[] = {MODEL_TESTS(ON_PG)};
	int failed;
	kz_log_set_level(KZ_LOG_ERROR);
	failed = cmocka_run_group_tests_name("contact_pure", pure_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("contact_sqlite", sqlite_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("contact_postgres", pg_tests, pg_group_setup,
					      pg_group_teardown);
	return failed;
}
