/* tpl_internal.h — what the template parser, renderer and filters share (private). */
#ifndef KZ_TPL_INTERNAL_H
#define KZ_TPL_INTERNAL_H

#include <jansson.h>

#include "template/template.h"

/* A filter: takes the input (borrowed, NULL = nil) and arguments (borrowed), sets *out to a
 * new reference (NULL = nil). Returns 0, or -1 with msg filled (a render error). */
typedef int (*kz_tpl_filter_fn)(json_t *in, json_t **args, int nargs, json_t **out,
				char *msg, size_t msglen);

typedef struct kz_tpl_filter {
	const char *name;
	int min_args, max_args;
	int safe; /* 1: the output is already HTML (escape, raw) */
	kz_tpl_filter_fn fn;
} kz_tpl_filter;

/* The filter called `name` (len bytes), or NULL. */
const kz_tpl_filter *kz_tpl_filter_find(const char *name, size_t len);

/* Liquid's text form of a value: strings as is, numbers, true/false, arrays joined, nil "". */
void kz_tpl_stringify(json_t *v, kz_buf *out);
/* A value as a number (strings parsed); *is_int says whether it is an integer. */
double kz_tpl_number(json_t *v, int *is_int, long long *ival);

#endif
