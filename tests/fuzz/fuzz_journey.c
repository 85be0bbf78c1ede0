/* fuzz_journey.c — libFuzzer target: journey definitions as any JSON through the validator
 * (every problem must carry a field and a message, and a step id or null), and the settings
 * of a definition through the send-window calculator (it must answer at or after the time). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "journey/journey.h"
#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int small_ids(void *ctx, int64_t id)
{
	(void)ctx;
	return id > 0 && id < 10;
}

static int seg_kind(void *ctx, int64_t id)
{
	(void)ctx;
	return id <= 0 || id > 9 ? -1 : (int)(id % 2);
}

static int filter_ok(void *ctx, const json_t *f, char *msg, size_t len)
{
	(void)ctx;
	(void)msg;
	(void)len;
	return json_object_size(f) > 0 ? 0 : -1;
}

static int field_kind(void *ctx, const char *key)
{
	(void)ctx;
	return !strcmp(key, "birthday") ? 2 : !strcmp(key, "plan") ? 1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const kz_journey_env env = {small_ids, seg_kind, small_ids, filter_ok, field_kind,
					   NULL};
	json_t *def = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL), *p, *x;
	size_t i;
	if (!def)
		return 0;
	p = kz_journey_check(def, &env);
	json_array_foreach(p, i, x) {
		const json_t *step = json_object_get(x, "step");
		if (!json_is_string(json_object_get(x, "field")) ||
		    !json_is_string(json_object_get(x, "message")) ||
		    !(json_is_string(step) || json_is_null(step)))
			abort();
	}
	json_decref(p);
	p = kz_journey_check(def, NULL);
	json_decref(p);
	if (json_is_object(json_object_get(def, "settings"))) {
		const int64_t t = INT64_C(1796085000000);
		const json_t *s = json_object_get(def, "settings");
		if (kz_journey_next_window(s, "Asia/Tokyo", t) < t)
			abort();
	}
	json_decref(def);
	return 0;
}
