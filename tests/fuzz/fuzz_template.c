/* fuzz_template.c — libFuzzer target: template source through compile and render (both
 * modes) against fixed variables; errors must carry a position, output stays within limits. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template/template.h"
#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *vars;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kz_tpl_limits lim = {2000, 1 << 16};
	if (size > 1 << 16)
		return 0;
	if (!vars)
		vars = json_pack("{s:{s:s,s:i,s:[s,s],s:{s:s}},s:[i,i,i],s:s}", "contact", "first_name",
				 "太郎", "score", 42, "tags", "a", "b", "fields", "plan", "pro", "items",
				 1, 2, 3, "created_at", "2026-11-24T17:11:58Z");
	for (int mode = 0; mode < 2; mode++) {
		kz_tpl_err err;
		kz_tpl *t = kz_tpl_compile((const char *)data, size, (enum kz_tpl_mode)mode, &err);
		kz_buf out;
		if (!t) {
			if (err.line < 1 || err.col < 1 || !err.message[0]) {
				fprintf(stderr, "fuzz_template: an error without a position\n");
				abort();
			}
			continue;
		}
		kz_buf_init(&out, 0);
		if (kz_tpl_render(t, vars, &lim, &out, &err) == 0 && out.len > lim.max_output) {
			fprintf(stderr, "fuzz_template: output past the limit\n");
			abort();
		}
		kz_buf_release(&out);
		kz_tpl_free(t);
	}
	return 0;
}
