/* template.h — Kizuna's Liquid-compatible template engine: compile once, render many times,
 * sandboxed (no file or network access, loop and output limits), HTML-escaping by default. */
#ifndef KZ_TEMPLATE_H
#define KZ_TEMPLATE_H

#include <jansson.h>
#include <stddef.h>

#include "base/buf.h"

typedef struct kz_tpl kz_tpl;

/* Where a template went wrong: 1-based line and column (in characters) and why. */
typedef struct kz_tpl_err {
	int line, col;
	char message[200];
} kz_tpl_err;

/* KZ_TPL_HTML escapes every {{ output }} unless its last filter is `escape` or `raw`. */
enum kz_tpl_mode { KZ_TPL_TEXT = 0, KZ_TPL_HTML = 1 };

/* Rendering limits (the sandbox). Zero members take the defaults below. */
typedef struct kz_tpl_limits {
	long max_iterations; /* loop bodies run per render, all loops together (100000) */
	size_t max_output;   /* bytes of output (4 MiB) */
} kz_tpl_limits;

/* Compile src[0..len); NULL with err filled (line and column) when it is not valid. */
kz_tpl *kz_tpl_compile(const char *src, size_t len, enum kz_tpl_mode mode, kz_tpl_err *err);
void kz_tpl_free(kz_tpl *t);
/* Render with `vars` (an object; may be NULL) appending to out. Thread-safe: a compiled
 * template may be rendered by many threads at once. 0, or -1 with err (limits, bad math). */
int kz_tpl_render(const kz_tpl *t, const json_t *vars, const kz_tpl_limits *lim, kz_buf *out,
		  kz_tpl_err *err);
/* Convenience: compile and report only (save-time validation). 0 or -1 with err. */
int kz_tpl_check(const char *src, enum kz_tpl_mode mode, kz_tpl_err *err);

#endif
