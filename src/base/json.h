/* json.h — a fast strict JSON reader into jansson values, and a compact JSON writer.
 *
 * jansson's own reader pulls the input one byte at a time through a stream and a string
 * buffer: about 5 µs for a tracking event, most of a request's user time. This reader
 * scans the bytes in place and builds the same jansson tree (objects keep their order).
 * It accepts exactly what json_loadb(..., JSON_REJECT_DUPLICATES) accepts: RFC 8259 text,
 * UTF-8 only (no overlong forms, no surrogates), no "\u0000", no duplicate keys in any
 * object, integers that fit in int64 (a larger one is an error, as in jansson), nesting up
 * to 2048 levels. tests/fuzz/fuzz_json.c holds it to that, value for value, against
 * jansson itself.
 *
 * The writer prints what json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) prints, byte for
 * byte, without jansson's per-value callbacks. Numbers assume the C locale's decimal
 * point (the server never calls setlocale). */
#ifndef KZ_JSON_H
#define KZ_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "base/buf.h"

typedef struct kz_json_error {
	size_t position; /* byte offset of the fault */
	int line;        /* 1-based */
	int column;      /* 1-based, in bytes */
	char text[96];   /* what was wrong */
} kz_json_error;

enum kz_json_flags {
	KZ_JSON_ANY = 1, /* any value at the top, not only an object or an array */
};

#define KZ_JSON_MAX_DEPTH 2048

/* Parse len bytes into a new value (the caller decrefs it), or NULL with *err filled
 * (err may be NULL). */
json_t *kz_json_loadb(const char *buf, size_t len, int flags, kz_json_error *err);
/* The same for a NUL-terminated string; NULL s is NULL. */
json_t *kz_json_loads(const char *s, int flags, kz_json_error *err);

/* Append v's compact JSON text to out; 0, or -1 when out overflowed or v holds a value
 * that has no JSON form (a NaN or infinite real, nesting past KZ_JSON_MAX_DEPTH). */
int kz_json_dump(const json_t *v, kz_buf *out);
/* Append the JSON string of the n bytes at s (valid UTF-8, as jansson escapes it). */
int kz_json_dump_str(const char *s, size_t n, kz_buf *out);
/* v's compact JSON text, malloc'd (free() it); NULL for a NULL v or on failure. */
char *kz_json_dumps(const json_t *v);

#endif
