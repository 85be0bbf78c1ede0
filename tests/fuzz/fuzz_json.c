/* fuzz_json.c — libFuzzer target: the fast JSON reader and writer (src/base/json.c), held to
 * jansson itself. Whatever the bytes, kz_json_loadb must accept exactly what
 * json_loadb(JSON_DECODE_ANY | JSON_REJECT_DUPLICATES) accepts, build an equal value, and
 * kz_json_dumps must print what json_dumps(JSON_COMPACT | JSON_ENCODE_ANY) prints.
 * One known difference: jansson's input stream takes a NUL byte outside a string for a
 * refill mark and reads on ("[1\0]" is [1] to it); a NUL byte is never valid JSON text, and
 * kz_json_loadb rejects every input that holds one. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/json.h"
#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const uint8_t *data, size_t size)
{
	fprintf(stderr, "fuzz_json: %s (input %zu bytes: %.*s)\n", what, size, (int)size,
		(const char *)data);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t je;
	kz_json_error ke;
	json_t *theirs = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
				    &je);
	json_t *mine = kz_json_loadb((const char *)data, size, KZ_JSON_ANY, &ke);
	json_t *strict = kz_json_loadb((const char *)data, size, 0, NULL);
	if (memchr(data, 0, size)) {
		if (mine)
			fail("accepted a NUL byte", data, size);
		json_decref(theirs);
		return 0;
	}
	if (!theirs != !mine)
		fail(mine ? "accepted what jansson rejects" : "rejected what jansson accepts", data,
		     size);
	if (strict && !json_is_object(strict) && !json_is_array(strict))
		fail("without KZ_JSON_ANY a scalar was accepted", data, size);
	if (mine) {
		char *a = kz_json_dumps(mine), *b = json_dumps(theirs, JSON_COMPACT | JSON_ENCODE_ANY);
		json_t *again;
		if (!json_equal(mine, theirs))
			fail("a different value than jansson's", data, size);
		if (!a || !b || strcmp(a, b) != 0)
			fail("printed differently than jansson", data, size);
		again = kz_json_loads(a, KZ_JSON_ANY, NULL);
		if (!again || !json_equal(again, mine))
			fail("its own output does not read back", data, size);
		json_decref(again);
		free(a);
		free(b);
	} else if (ke.position > size) {
		fail("error position past the input", data, size);
	}
	json_decref(theirs);
	json_decref(mine);
	json_decref(strict);
	return 0;
}
