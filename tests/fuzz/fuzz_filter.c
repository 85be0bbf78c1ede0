/* fuzz_filter.c — libFuzzer target: the segment filter language on any JSON, parsed and, when
 * valid, evaluated over a small index; a rejection must name a JSON pointer. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audience/filter.h"
#include "audience/index.h"
#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int member(void *ctx, int64_t seg, int64_t cid)
{
	(void)ctx;
	return (seg + cid) % 2 == 0;
}

/* The same members as bits (one word: the index holds ids 1..8). */
static const uint64_t *member_bits(void *ctx, int64_t seg, int64_t *nwords)
{
	static uint64_t w;
	w = 0;
	for (int64_t cid = 0; cid < 64; cid++)
		if (member(ctx, seg, cid))
			w |= (uint64_t)1 << cid;
	*nwords = 1;
	return &w;
}

static int rank(void *ctx, const char *stage)
{
	(void)ctx;
	return stage && !strcmp(stage, "mql") ? 2 : stage && !strcmp(stage, "lead") ? 1 : -1;
}

static int segment_ok(void *ctx, int64_t id, kz_err *err)
{
	(void)ctx;
	return id < 5 ? 0 : kz_err_set(err, 422, "invalid_filter", NULL, "no segment");
}

static kz_index *ix;

static void build(void)
{
	ix = kz_index_new();
	for (int i = 1; i <= 8; i++) {
		json_t *rec = json_pack("{s:I, s:s, s:[s], s:{s:i, s:s}, s:s, s:n}", "id",
					(json_int_t)i, "email", "a@example.jp", "tags", i % 2 ? "vip" : "x",
					"fields", "employees", i * 50, "birthday", "1990-02-29",
					"created_at", "2026-11-24T08:00:00Z", "company");
		json_t *props = json_pack("{s:s, s:i}", "path", i % 3 ? "/pricing" : "/about", "n", i);
		kz_index_put_contact(ix, i, rec);
		kz_index_add_event(ix, i, "page_view", INT64_C(1795540318000) - i * 86400000LL, props,
				   (uint32_t)i);
		kz_index_set_score(ix, i, "engagement", i * 7);
		kz_index_set_stage(ix, i, i % 2 ? "lead" : "mql");
		json_decref(props);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *in, *defs;
	kz_fnode *f;
	kz_err err;
	kz_filter_env env;
	kz_index_hooks h = {member, member_bits, rank, NULL};
	static uint64_t *bits;
	if (size > 8192)
		return 0;
	if (!ix) {
		build();
		bits = calloc((size_t)(kz_index_end(ix) + 63) / 64, sizeof *bits);
	}
	in = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (!in)
		return 0;
	defs = json_pack("[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]", "key", "employees", "type", "number",
			 "key", "birthday", "type", "date", "key", "title", "type", "text");
	env.field_defs = defs;
	env.segment_ok = segment_ok;
	env.ctx = NULL;
	f = kz_filter_parse(in, &env, "/filter", &err);
	if (!f) {
		if (err.status != 422 || strncmp(err.field, "/filter", 7) != 0) {
			fprintf(stderr, "fuzz_filter: rejection without a pointer: %d %s %s\n",
				err.status, err.field, err.message);
			abort();
		}
	} else {
		int64_t n = kz_index_match_all(ix, f, INT64_C(1795540318000), &h, bits);
		if (n < 0 || n > 8)
			abort();
		for (int64_t id = 1; id <= 8; id++)
			if (kz_index_match(ix, f, id, INT64_C(1795540318000), &h) !=
			    (int)(bits[0] >> id & 1))
				abort(); /* one contact and all contacts must agree */
	}
	kz_filter_free(f);
	json_decref(defs);
	json_decref(in);
	return 0;
}
