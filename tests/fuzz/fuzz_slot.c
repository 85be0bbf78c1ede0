/* fuzz_slot.c — libFuzzer target: personalization slot definitions and landing-page A/B
 * variants as JSON, through validation, the choice of a variant for a few kinds of visitor,
 * sticky assignment and the A/B report. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "capture/abtest.h"
#include "capture/slot.h"
#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int member(void *ctx, int64_t seg)
{
	(void)ctx;
	return seg % 2 == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *in = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL), *def;
	kz_err err;
	if (!in)
		return 0;
	def = json_object();
	memset(&err, 0, sizeof err);
	if (kz_slot_apply(def, in, 1, &err) == 0) {
		kz_visit v;
		memset(&v, 0, sizeof v);
		for (int i = 0; i < 4; i++) {
			v.visits = i + 1;
			v.known = i & 1;
			v.score = i * 30;
			v.stage = i == 3 ? "mql" : NULL;
			v.utm_source = i == 2 ? "google" : NULL;
			v.utm_campaign = i == 2 ? "autumn" : NULL;
			v.member = member;
			(void)kz_slot_choose(def, &v);
		}
	}
	memset(&err, 0, sizeof err);
	if (kz_ab_check(json_object_get(in, "variants"), &err) == 0) {
		json_t *report;
		(void)kz_ab_assign(json_object_get(in, "variants"), "visitor", 1);
		report = kz_ab_report(json_object_get(in, "variants"), json_object_get(in, "counts"));
		json_decref(report);
	}
	json_decref(def);
	json_decref(in);
	return 0;
}
