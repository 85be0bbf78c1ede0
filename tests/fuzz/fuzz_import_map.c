/* fuzz_import_map.c — libFuzzer target: header mapping and full-name splitting on any text. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanse.h"
#include "model/import_map.h"
#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_import_map: %s: %s\n", what, detail ? detail : "(null)");
	abort();
}

/* A name part is stored as is: non-empty UTF-8 without the separator it was cut at. */
static void check_part(const char *part, const char *full)
{
	if (!part)
		return;
	if (!*part || !kz_utf8_valid(part, strlen(part)))
		fail("kz_split_full_name gave an empty or non-UTF-8 part", full);
	if (part[0] == ' ' || part[strlen(part) - 1] == ' ')
		fail("kz_split_full_name left a space at the edge of a part", full);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, *last, *first;
	const char *field;
	if (size > 4096)
		return 0;
	/* headers and cells reach these functions as C strings */
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	field = kz_import_field_for_header(s);
	if (field && !*field)
		fail("kz_import_field_for_header gave an empty field name", s);
	kz_split_full_name(s, &last, &first);
	if (first && !last)
		fail("kz_split_full_name gave a first name without a last name", s);
	check_part(last, s);
	check_part(first, s);
	free(last);
	free(first);
	free(s);
	return 0;
}
