/* test_audience.c — unit tests for the filter language (parse, type checks, JSON-pointer
 * errors, operator semantics) and the in-memory index (buckets, windows, props, scores). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audience/filter.h"
#include "audience/index.h"
#include "base/timeutil.h"
#include "base/banned.h"

#define NOW INT64_C(1795540318000) /* 2026-11-24T17:11:58Z */
#define DAYMS INT64_C(86400000)

static json_t *defs(void)
{
	return json_pack("[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]", "key", "employees", "type",
			 "number", "key", "birthday", "type", "date", "key", "title", "type", "text");
}

static kz_fnode *parse(const char *text, kz_err *err)
{
	json_t *in = json_loads(text, 0, NULL), *d = defs();
	kz_filter_env env = {d, NULL, NULL};
	kz_fnode *f;
	assert_non_null(in);
	f = kz_filter_parse(in, &env, "/filter", err);
	json_decref(in);
	json_decref(d);
	return f;
}

static void assert_rejected_at(const char *text, const char *pointer)
{
	kz_err err;
	kz_fnode *f = parse(text, &err);
	if (f)
		fail_msg("accepted %s", text);
	assert_int_equal(err.status, 422);
	assert_string_equal(err.code, "invalid_filter");
	if (strcmp(err.field, pointer) != 0)
		fail_msg("%s: error at %s (%s), want %s", text, err.field, err.message, pointer);
}

static void filter_errors_name_the_offending_node(void **state)
{
	(void)state;
	assert_rejected_at("{\"all\":[{\"field\":\"email\",\"op\":\"exists\"},{\"field\":\"score\","
			   "\"op\":\"starts_with\",\"value\":\"1\"}]}",
			   "/filter/all/1/op");
	assert_rejected_at("{\"any\":[{\"not\":{\"field\":\"fields.nope\",\"op\":\"exists\"}}]}",
			   "/filter/any/0/not/field");
	assert_rejected_at("{\"field\":\"fields.employees\",\"op\":\"between\",\"value\":[1,\"x\"]}",
			   "/filter/value/1");
	assert_rejected_at("{\"event\":\"page_view\",\"where\":[{\"prop\":\"path\",\"op\":\"nope\"}]}",
			   "/filter/where/0/op");
	assert_rejected_at("{\"event\":\"x\",\"within_days\":0}", "/filter/within_days");
	assert_rejected_at("{\"all\":[]}", "/filter/all");
	assert_rejected_at("{\"field\":\"created_at\",\"op\":\"within_last\",\"value\":3}",
			   "/filter/value");
	assert_rejected_at("{\"field\":\"tags\",\"op\":\"gt\",\"value\":\"a\"}", "/filter/op");
	assert_rejected_at("{\"field\":\"email\",\"op\":\"exists\",\"extra\":1}", "/filter/extra");
	assert_rejected_at("[1]", "/filter");
}

static void filter_rejects_deep_nesting(void **state)
{
	char buf[4096] = "";
	size_t len = 0;
	(void)state;
	for (int i = 0; i < 40; i++)
		len += (size_t)snprintf(buf + len, sizeof buf - len, "{\"not\":");
	len += (size_t)snprintf(buf + len, sizeof buf - len, "{\"field\":\"email\",\"op\":\"exists\"}");
	for (int i = 0; i < 40; i++)
		len += (size_t)snprintf(buf + len, sizeof buf - len, "}");
	{
		kz_err err;
		kz_fnode *f = parse(buf, &err);
		assert_null(f);
		assert_int_equal(err.status, 422);
	}
}

/* One comparison on one value. */
static int cmp(const char *filter, json_t *value)
{
	kz_err err;
	kz_fnode *f = parse(filter, &err);
	kz_fval v;
	int r;
	if (!f)
		fail_msg("%s: %s at %s", filter, err.message, err.field);
	v = kz_fval_of(value, f->cmp.type);
	r = kz_fcmp_match(&f->cmp, &v, NOW, NULL, NULL);
	kz_filter_free(f);
	json_decref(value);
	return r;
}

static void operators_mean_what_the_docs_say(void **state)
{
	(void)state;
	assert_true(cmp("{\"field\":\"email\",\"op\":\"eq\",\"value\":\"A@Example.jp\"}", json_string("a@example.jp")));
	assert_true(cmp("{\"field\":\"email\",\"op\":\"neq\",\"value\":\"x\"}", json_null()));
	assert_false(cmp("{\"field\":\"email\",\"op\":\"contains\",\"value\":\"x\"}", json_null()));
	assert_true(cmp("{\"field\":\"fields.title\",\"op\":\"contains\",\"value\":\"部長\"}", json_string("営業部長")));
	assert_true(cmp("{\"field\":\"fields.title\",\"op\":\"ends_with\",\"value\":\"部長\"}", json_string("営業部長")));
	assert_false(cmp("{\"field\":\"fields.title\",\"op\":\"starts_with\",\"value\":\"部長\"}", json_string("営業部長")));
	assert_true(cmp("{\"field\":\"fields.employees\",\"op\":\"between\",\"value\":[100,300]}", json_integer(100)));
	assert_false(cmp("{\"field\":\"fields.employees\",\"op\":\"gt\",\"value\":100}", json_integer(100)));
	assert_true(cmp("{\"field\":\"fields.employees\",\"op\":\"in\",\"value\":[1,2,3]}", json_integer(2)));
	assert_true(cmp("{\"field\":\"tags\",\"op\":\"in\",\"value\":[\"a\",\"vip\"]}", json_pack("[s,s]", "x", "vip")));
	assert_true(cmp("{\"field\":\"tags\",\"op\":\"not_in\",\"value\":[\"a\"]}", json_pack("[s]", "x")));
	assert_false(cmp("{\"field\":\"tags\",\"op\":\"exists\"}", json_array()));
	/* dates: a date-only operand means the whole UTC day */
	assert_true(cmp("{\"field\":\"created_at\",\"op\":\"eq\",\"value\":\"2026-11-24\"}", json_string("2026-11-24T23:59:59Z")));
	assert_true(cmp("{\"field\":\"created_at\",\"op\":\"lte\",\"value\":\"2026-11-24\"}", json_string("2026-11-24T23:59:59Z")));
	assert_false(cmp("{\"field\":\"created_at\",\"op\":\"gt\",\"value\":\"2026-11-24\"}", json_string("2026-11-24T23:59:59Z")));
	assert_true(cmp("{\"field\":\"created_at\",\"op\":\"gt\",\"value\":\"2026-11-24T09:00:00+09:00\"}", json_string("2026-11-24T00:00:01Z")));
	assert_true(cmp("{\"field\":\"created_at\",\"op\":\"within_last\",\"value\":{\"days\":2}}", json_string("2026-11-23T00:00:00Z")));
	assert_false(cmp("{\"field\":\"created_at\",\"op\":\"within_last\",\"value\":{\"days\":1}}", json_string("2026-11-22T00:00:00Z")));
	assert_true(cmp("{\"field\":\"created_at\",\"op\":\"not_within_last\",\"value\":{\"days\":1}}", json_string("2026-11-22T00:00:00Z")));
	assert_true(cmp("{\"field\":\"fields.birthday\",\"op\":\"anniversary_within\",\"value\":{\"days\":7}}", json_string("1990-11-30")));
	assert_false(cmp("{\"field\":\"fields.birthday\",\"op\":\"anniversary_within\",\"value\":{\"days\":7}}", json_string("1990-12-02")));
	/* Feb 29 birthdays fall on Feb 28 in other years: 2027-02-28 is 96 days after NOW */
	assert_true(cmp("{\"field\":\"fields.birthday\",\"op\":\"anniversary_within\",\"value\":{\"days\":96}}", json_string("1992-02-29")));
	assert_false(cmp("{\"field\":\"fields.birthday\",\"op\":\"anniversary_within\",\"value\":{\"days\":95}}", json_string("1992-02-29")));
}

static kz_index *sample_index(void)
{
	kz_index *ix = kz_index_new();
	for (int i = 1; i <= 3; i++) {
		json_t *rec = json_pack("{s:i, s:s, s:[s], s:{s:i}}", "id", i, "email", "a@example.jp",
					"tags", i == 1 ? "vip" : "x", "fields", "employees", i * 100);
		kz_index_put_contact(ix, i, rec);
	}
	return ix;
}

static void page(kz_index *ix, int64_t cid, const char *path, int64_t at)
{
	json_t *props = json_pack("{s:s}", "path", path), *ctx = json_object();
	json_t *kept = kz_index_event_props("page_view", props, ctx);
	kz_index_add_event(ix, cid, "page_view", at, kept, 1);
	json_decref(props);
	json_decref(ctx);
	json_decref(kept);
}

static int matches(kz_index *ix, const char *filter, int64_t cid, int64_t now)
{
	kz_err err;
	kz_fnode *f = parse(filter, &err);
	int r;
	if (!f)
		fail_msg("%s: %s at %s", filter, err.message, err.field);
	r = kz_index_match(ix, f, cid, now, NULL);
	kz_filter_free(f);
	return r;
}

static void index_counts_events_in_a_sliding_window(void **state)
{
	kz_index *ix = sample_index();
	const char *f = "{\"event\":\"page_view\",\"where\":[{\"prop\":\"path\",\"op\":\"eq\","
			"\"value\":\"/pricing\"}],\"count\":{\"op\":\"gte\",\"value\":3},"
			"\"within_days\":30}";
	(void)state;
	page(ix, 1, "/pricing", NOW - 29 * DAYMS);
	page(ix, 1, "/pricing", NOW - DAYMS);
	page(ix, 1, "/about", NOW);
	assert_false(matches(ix, f, 1, NOW));
	page(ix, 1, "/pricing", NOW);
	assert_true(matches(ix, f, 1, NOW));
	assert_false(matches(ix, f, 1, NOW + DAYMS)); /* the oldest view left the window */
	assert_false(matches(ix, f, 2, NOW));
	/* never did: count eq 0 */
	assert_true(matches(ix, "{\"event\":\"page_view\",\"count\":{\"op\":\"eq\",\"value\":0}}", 2, NOW));
	assert_false(matches(ix, "{\"event\":\"page_view\",\"count\":{\"op\":\"eq\",\"value\":0}}", 1, NOW));
	kz_index_free(ix);
}

static void index_groups_scores_and_stages(void **state)
{
	kz_index *ix = sample_index();
	uint64_t *bits;
	kz_err err;
	kz_fnode *f;
	(void)state;
	bits = calloc((size_t)(kz_index_end(ix) + 63) / 64, sizeof *bits);
	kz_index_set_score(ix, 1, "engagement", 30);
	kz_index_set_score(ix, 1, "fit", 25);
	kz_index_set_stage(ix, 2, "mql");
	assert_int_equal(kz_index_score(ix, 1), 55);
	assert_true(matches(ix, "{\"all\":[{\"field\":\"score\",\"op\":\"gte\",\"value\":50},{\"field\":\"score.fit\",\"op\":\"eq\",\"value\":25}]}", 1, NOW));
	assert_true(matches(ix, "{\"field\":\"stage\",\"op\":\"eq\",\"value\":\"mql\"}", 2, NOW));
	f = parse("{\"any\":[{\"field\":\"tags\",\"op\":\"contains\",\"value\":\"vip\"},{\"not\":{\"field\":\"fields.employees\",\"op\":\"lt\",\"value\":300}}]}", &err);
	assert_non_null(f);
	assert_int_equal(kz_index_match_all(ix, f, NOW, NULL, bits), 2);
	assert_true(bits[0] & (1u << 1));
	assert_true(bits[0] & (1u << 3));
	kz_filter_free(f);
	free(bits);
	kz_index_remove_contact(ix, 1);
	assert_int_equal(kz_index_count(ix), 2);
	assert_false(matches(ix, "{\"field\":\"email\",\"op\":\"exists\"}", 1, NOW));
	kz_index_free(ix);
}

static void typed_columns_follow_record_changes_and_removals(void **state)
{
	kz_index *ix = sample_index();
	uint64_t *bits;
	kz_err err;
	kz_fnode *f = parse("{\"all\":[{\"field\":\"fields.employees\",\"op\":\"gte\",\"value\":200},"
			    "{\"field\":\"email\",\"op\":\"ends_with\",\"value\":\"example.jp\"}]}", &err);
	(void)state;
	assert_non_null(f);
	bits = calloc((size_t)(kz_index_end(ix) + 1024 + 63) / 64, sizeof *bits);
	assert_int_equal(kz_index_match_all(ix, f, NOW, NULL, bits), 2); /* 200 and 300 */
	/* the same node again reads the columns; a changed record is read anew */
	kz_index_put_contact(ix, 1, json_pack("{s:i, s:s, s:{s:i}}", "id", 1, "email", "b@example.jp", "fields", "employees", 900));
	kz_index_put_contact(ix, 3, json_pack("{s:i, s:s, s:{s:i}}", "id", 3, "email", "c@example.com", "fields", "employees", 900));
	assert_int_equal(kz_index_match_all(ix, f, NOW, NULL, bits), 2); /* 1 and 2 */
	assert_true(bits[0] & (1u << 1));
	assert_false(bits[0] & (1u << 3));
	/* removed and put again under the same id: never the old value */
	kz_index_remove_contact(ix, 2);
	assert_int_equal(kz_index_match_all(ix, f, NOW, NULL, bits), 1);
	kz_index_put_contact(ix, 2, json_pack("{s:i, s:s, s:{s:i}}", "id", 2, "email", "d@example.jp", "fields", "employees", 10));
	assert_int_equal(kz_index_match_all(ix, f, NOW, NULL, bits), 1);
	/* a contact past the columns' length */
	kz_index_put_contact(ix, 2000, json_pack("{s:i, s:s, s:{s:i}}", "id", 2000, "email", "e@example.jp", "fields", "employees", 500));
	free(bits);
	bits = calloc((size_t)(kz_index_end(ix) + 63) / 64, sizeof *bits);
	assert_int_equal(kz_index_match_all(ix, f, NOW, NULL, bits), 2);
	free(bits);
	kz_filter_free(f);
	kz_index_free(ix);
}

/* A large index is evaluated on several threads: the same members as one contact at a time,
 * for field, event (with property caches) and nested conditions, and a second pass over the
 * caches the first one filled. */
static void large_index_matches_the_same_on_many_threads(void **state)
{
	const int64_t n = 100000;
	kz_index *ix = kz_index_new();
	static const char *const filters[] = {
		"{\"field\":\"fields.employees\",\"op\":\"gte\",\"value\":500}",
		"{\"event\":\"page_view\",\"where\":[{\"prop\":\"path\",\"op\":\"eq\","
		"\"value\":\"/pricing\"}],\"count\":{\"op\":\"gte\",\"value\":2},\"within_days\":30}",
		"{\"all\":[{\"any\":[{\"field\":\"tags\",\"op\":\"contains\",\"value\":\"vip\"},"
		"{\"field\":\"fields.employees\",\"op\":\"gte\",\"value\":900}]},"
		"{\"not\":{\"event\":\"page_view\",\"where\":[{\"prop\":\"path\",\"op\":\"eq\","
		"\"value\":\"/about\"}]}}]}",
	};
	uint64_t *bits;
	(void)state;
	for (int64_t i = 1; i <= n; i++) {
		kz_index_put_contact(ix, i, json_pack("{s:I, s:s, s:[s], s:{s:I}}", "id", (json_int_t)i,
						      "email", "a@example.jp", "tags",
						      i % 7 == 0 ? "vip" : "x", "fields", "employees",
						      (json_int_t)(i * 37 % 1000)));
		for (int64_t k = 0; k < i % 4; k++)
			page(ix, i, k % 2 ? "/pricing" : (i % 3 ? "/pricing" : "/about"),
			     NOW - (i + k) % 40 * DAYMS);
	}
	bits = calloc((size_t)(kz_index_end(ix) + 63) / 64, sizeof *bits);
	for (size_t q = 0; q < sizeof filters / sizeof *filters; q++) {
		kz_err err;
		kz_fnode *f = parse(filters[q], &err);
		assert_non_null(f);
		for (int pass = 0; pass < 2; pass++) {
			int64_t want = 0, got = kz_index_match_all(ix, f, NOW, NULL, bits);
			for (int64_t i = 1; i <= n; i++) {
				int m = kz_index_match(ix, f, i, NOW, NULL);
				want += m;
				if (m != (int)(bits[i >> 6] >> (i & 63) & 1))
					fail_msg("filter %zu, contact %lld: %d one by one", q, (long long)i, m);
			}
			assert_int_equal(got, want);
			assert_true(want > 0 && want < n);
		}
		kz_filter_free(f);
	}
	free(bits);
	kz_index_free(ix);
}

/* Records are kept as compact text and a column reads one member out of it: values with
 * quotes, backslashes, braces and non-ASCII text, members of the same name nested in other
 * members, dotted paths set after the contact was put, and a column made after the
 * contacts came in (so it reads the texts) all read as the JSON says. */
static void columns_read_members_out_of_the_record_text(void **state)
{
	kz_index *ix = kz_index_new();
	json_t *rec;
	(void)state;
	/* "fields" first, holding members named like the record's own */
	kz_index_put_contact(ix, 1, json_loads("{\"fields\":{\"email\":\"in@fields\",\"title\":"
					       "\"a\\\"b\\\\c}{,]\",\"employees\":-1.5e3},\"email\":"
					       "\"top@example.jp\",\"tags\":[\"x,y]\",\"営業\"],"
					       "\"company_id\":7}", 0, NULL));
	kz_index_put_contact(ix, 2, json_loads("{\"email\":\"two@example.jp\",\"fields\":{"
					       "\"title\":\"部長\",\"employees\":12},\"tags\":[]}",
					       0, NULL));
	kz_index_update_contact(ix, 2, json_pack("{s:{s:s, s:s}}", "first_touch", "source",
						 "google", "medium", "cpc"));
	assert_true(matches(ix, "{\"field\":\"email\",\"op\":\"eq\",\"value\":\"top@example.jp\"}", 1, NOW));
	assert_true(matches(ix, "{\"field\":\"fields.title\",\"op\":\"eq\",\"value\":\"a\\\"b\\\\c}{,]\"}", 1, NOW));
	assert_true(matches(ix, "{\"field\":\"fields.employees\",\"op\":\"eq\",\"value\":-1500}", 1, NOW));
	assert_true(matches(ix, "{\"field\":\"tags\",\"op\":\"contains\",\"value\":\"x,y]\"}", 1, NOW));
	assert_true(matches(ix, "{\"field\":\"tags\",\"op\":\"contains\",\"value\":\"営業\"}", 1, NOW));
	assert_true(matches(ix, "{\"field\":\"tags\",\"op\":\"not_exists\"}", 2, NOW));
	assert_true(matches(ix, "{\"field\":\"first_touch.source\",\"op\":\"eq\",\"value\":\"google\"}", 2, NOW));
	assert_false(matches(ix, "{\"field\":\"first_touch.source\",\"op\":\"exists\"}", 1, NOW));
	assert_true(matches(ix, "{\"field\":\"fields.title\",\"op\":\"starts_with\",\"value\":\"部\"}", 2, NOW));
	/* kept as given (no nulls), and the update did not lose the rest */
	rec = kz_index_record(ix, 2);
	assert_non_null(rec);
	assert_string_equal(json_string_value(json_object_get(rec, "email")), "two@example.jp");
	assert_string_equal(json_string_value(json_object_get(json_object_get(rec, "first_touch"), "medium")), "cpc");
	json_decref(rec);
	assert_int_equal(kz_index_company_of(ix, 1), 7);
	assert_int_equal(kz_index_company_of(ix, 2), 0);
	/* the same questions over everyone, through columns made now */
	{
		static const char *const f[] = {
			"{\"field\":\"email\",\"op\":\"ends_with\",\"value\":\"example.jp\"}",
			"{\"field\":\"fields.employees\",\"op\":\"lt\",\"value\":0}",
			"{\"field\":\"first_touch.medium\",\"op\":\"eq\",\"value\":\"cpc\"}",
		};
		static const int64_t want[] = {2, 1, 1};
		uint64_t bits[16];
		for (size_t q = 0; q < sizeof f / sizeof *f; q++) {
			kz_err err;
			kz_fnode *n = parse(f[q], &err);
			assert_non_null(n);
			assert_int_equal(kz_index_match_all(ix, n, NOW, NULL, bits), want[q]);
			kz_filter_free(n);
		}
	}
	kz_index_free(ix);
}

/* Segment 7's members for the hooks: every contact whose id is a multiple of 3. */
static uint64_t *seg7;
static int64_t seg7_words;

static int hook_member(void *ctx, int64_t segment, int64_t cid)
{
	(void)ctx;
	return segment == 7 && cid < seg7_words * 64 && (seg7[cid >> 6] >> (cid & 63) & 1);
}

static const uint64_t *hook_bits(void *ctx, int64_t segment, int64_t *nwords)
{
	(void)ctx;
	*nwords = segment == 7 ? seg7_words : 0;
	return segment == 7 ? seg7 : NULL;
}

/* A whole-index evaluation (unit by unit, as bits, on several threads when large) gives
 * every contact the verdict of evaluating that contact alone, for each kind of value a
 * column can hold (numbers, strings in a number field, missing, empty and shared lists,
 * dates), each operator family, groups, negation and segments; and again after records
 * change under the columns. */
static void whole_index_evaluation_agrees_with_one_contact_at_a_time(void **state)
{
	static const char *const filters[] = {
		"{\"field\":\"fields.employees\",\"op\":\"eq\",\"value\":37}",
		"{\"field\":\"fields.employees\",\"op\":\"neq\",\"value\":37}",
		"{\"field\":\"fields.employees\",\"op\":\"lt\",\"value\":100}",
		"{\"field\":\"fields.employees\",\"op\":\"lte\",\"value\":100}",
		"{\"field\":\"fields.employees\",\"op\":\"gt\",\"value\":900}",
		"{\"field\":\"fields.employees\",\"op\":\"between\",\"value\":[100,200]}",
		"{\"field\":\"fields.employees\",\"op\":\"in\",\"value\":[1,2,3,500]}",
		"{\"field\":\"fields.employees\",\"op\":\"not_exists\"}",
		"{\"field\":\"tags\",\"op\":\"contains\",\"value\":\"vip\"}",
		"{\"field\":\"tags\",\"op\":\"not_contains\",\"value\":\"vip\"}",
		"{\"field\":\"tags\",\"op\":\"in\",\"value\":[\"a\",\"b\"]}",
		"{\"field\":\"tags\",\"op\":\"exists\"}",
		"{\"field\":\"fields.title\",\"op\":\"starts_with\",\"value\":\"部長\"}",
		"{\"field\":\"fields.title\",\"op\":\"neq\",\"value\":\"部長 A\"}",
		"{\"field\":\"fields.birthday\",\"op\":\"lt\",\"value\":\"1990-06-01\"}",
		"{\"field\":\"fields.birthday\",\"op\":\"anniversary_within\",\"value\":{\"days\":30}}",
		"{\"field\":\"email\",\"op\":\"ends_with\",\"value\":\"example.com\"}",
		"{\"segment\":7,\"member\":true}",
		"{\"segment\":7,\"member\":false}",
		"{\"all\":[{\"segment\":7,\"member\":true},{\"not\":{\"field\":\"tags\",\"op\":"
		"\"contains\",\"value\":\"b\"}}]}",
		"{\"any\":[{\"field\":\"fields.employees\",\"op\":\"gte\",\"value\":950},{\"event\":"
		"\"page_view\",\"count\":{\"op\":\"gte\",\"value\":2}},{\"segment\":7,\"member\":true}]}",
		"{\"all\":[{\"any\":[{\"field\":\"tags\",\"op\":\"contains\",\"value\":\"vip\"},"
		"{\"not\":{\"field\":\"fields.employees\",\"op\":\"lt\",\"value\":800}}]},{\"not\":{"
		"\"event\":\"page_view\",\"within_days\":10}},{\"field\":\"score\",\"op\":\"gte\","
		"\"value\":5}]}",
	};
	static const int64_t sizes[] = {70000, 3000}; /* several threads, then one */
	kz_index_hooks h = {hook_member, hook_bits, NULL, NULL};
	(void)state;
	for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++) {
		const int64_t n = sizes[z];
		kz_index *ix = kz_index_new();
		kz_fnode *f[sizeof filters / sizeof *filters];
		uint64_t *bits;
		for (int64_t i = 1; i <= n; i++) {
			json_t *fields = json_object(), *tags = json_array();
			if (i % 5 == 1)
				json_object_set_new(fields, "employees", json_string("many"));
			else if (i % 5 != 2)
				json_object_set_new(fields, "employees", json_integer(i * 37 % 1000));
			if (i % 4 == 0)
				json_object_set_new(fields, "title", json_string(i % 8 ? "部長 A" : "課長"));
			if (i % 3 != 0)
				json_object_set_new(fields, "birthday", json_string(i % 2 ? "1990-02-28" : "1991-12-01"));
			if (i % 7 == 0)
				json_array_append_new(tags, json_string("vip"));
			if (i % 11 < 3)
				json_array_append_new(tags, json_string(i % 2 ? "a" : "b"));
			kz_index_put_contact(ix, i, json_pack("{s:s, s:o, s:o}", "email",
							      i % 2 ? "x@example.com" : "y@example.jp",
							      "tags", tags, "fields", fields));
			if (i % 13 == 0)
				kz_index_set_score(ix, i, "fit", i % 10);
			for (int64_t k = 0; k < i % 3; k++)
				page(ix, i, "/p", NOW - (i + k) % 20 * DAYMS);
		}
		kz_index_remove_contact(ix, 10);
		seg7_words = (kz_index_end(ix) + 63) / 64;
		seg7 = calloc((size_t)seg7_words, sizeof *seg7);
		for (int64_t i = 3; i <= n; i += 3)
			seg7[i >> 6] |= (uint64_t)1 << (i & 63);
		bits = calloc((size_t)seg7_words, sizeof *bits);
		for (size_t q = 0; q < sizeof filters / sizeof *filters; q++) {
			kz_err err;
			f[q] = parse(filters[q], &err);
			if (!f[q])
				fail_msg("%s: %s at %s", filters[q], err.message, err.field);
		}
		for (int pass = 0; pass < 2; pass++) {
			for (size_t q = 0; q < sizeof filters / sizeof *filters; q++) {
				int64_t want = 0, got = kz_index_match_all(ix, f[q], NOW, &h, bits);
				for (int64_t i = 1; i < kz_index_end(ix); i++) {
					int m = kz_index_match(ix, f[q], i, NOW, &h);
					want += m;
					if (m != (int)(bits[i >> 6] >> (i & 63) & 1))
						fail_msg("n %lld pass %d: %s, contact %lld: %d alone",
							 (long long)n, pass, filters[q], (long long)i, m);
				}
				assert_int_equal(got, want);
			}
			/* records change under the columns (and a new list appears) */
			for (int64_t i = 2; i <= n; i += 97)
				kz_index_put_contact(ix, i, json_pack("{s:s, s:[s,s], s:{s:i}}", "email",
								      "z@example.com", "tags", "vip", "new",
								      "fields", "employees", 950));
			kz_index_remove_contact(ix, 12);
		}
		for (size_t q = 0; q < sizeof filters / sizeof *filters; q++)
			kz_filter_free(f[q]);
		free(bits);
		free(seg7);
		kz_index_free(ix);
	}
}

static void index_keeps_days_in_order_when_events_arrive_out_of_order(void **state)
{
	kz_index *ix = sample_index();
	const char *in7 = "{\"event\":\"page_view\",\"count\":{\"op\":\"eq\",\"value\":3},\"within_days\":7}";
	const char *ever = "{\"event\":\"page_view\",\"count\":{\"op\":\"eq\",\"value\":5}}";
	const char *two = "{\"event\":\"page_view\",\"count\":{\"op\":\"gte\",\"value\":2},\"within_days\":3}";
	(void)state;
	page(ix, 1, "/a", NOW);
	page(ix, 1, "/b", NOW - 40 * DAYMS); /* older than what is there: goes first */
	page(ix, 1, "/a", NOW - 2 * DAYMS);
	page(ix, 1, "/a", NOW - 2 * DAYMS); /* same day, same props: one bucket */
	page(ix, 1, "/c", NOW + 2 * DAYMS); /* a future day does not count today */
	assert_true(matches(ix, in7, 1, NOW));
	assert_true(matches(ix, ever, 1, NOW + 3 * DAYMS));
	assert_false(matches(ix, ever, 1, NOW));
	assert_true(matches(ix, two, 1, NOW));
	assert_false(matches(ix, two, 1, NOW + 5 * DAYMS)); /* only the future view is left in 3 days */
	kz_index_clear_events(ix, 1);
	assert_true(matches(ix, "{\"event\":\"page_view\",\"count\":{\"op\":\"eq\",\"value\":0}}", 1, NOW));
	kz_index_free(ix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(filter_errors_name_the_offending_node),
		cmocka_unit_test(filter_rejects_deep_nesting),
		cmocka_unit_test(operators_mean_what_the_docs_say),
		cmocka_unit_test(index_counts_events_in_a_sliding_window),
		cmocka_unit_test(index_groups_scores_and_stages),
		cmocka_unit_test(typed_columns_follow_record_changes_and_removals),
		cmocka_unit_test(index_keeps_days_in_order_when_events_arrive_out_of_order),
		cmocka_unit_test(large_index_matches_the_same_on_many_threads),
		cmocka_unit_test(whole_index_evaluation_agrees_with_one_contact_at_a_time),
		cmocka_unit_test(columns_read_members_out_of_the_record_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
