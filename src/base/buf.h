/* buf.h — growable, capped, always NUL-terminated byte buffer (after git's strbuf). */
#ifndef KZ_BUF_H
#define KZ_BUF_H

#include <stdarg.h>
#include <stddef.h>

/* A kz_buf is never NULL-data after kz_buf_init: b->data always points at a
 * NUL-terminated string. Appends past `cap` bytes fail and set `overflow`
 * (sticky), so callers may append many times and check once. */
typedef struct kz_buf {
	char *data;
	size_t len;
	size_t alloc;
	size_t cap;   /* maximum len; 0 means the default (64 MiB) */
	int overflow; /* sticky: an append was refused (cap or out of memory) */
} kz_buf;

#define KZ_BUF_DEFAULT_CAP ((size_t)64 << 20)

/* Initialise an empty buffer that may grow to `cap` bytes (0: default cap). */
void kz_buf_init(kz_buf *b, size_t cap);
/* Free the contents; the buffer is empty and reusable afterwards. */
void kz_buf_release(kz_buf *b);
/* Hand the contents to the caller (free() it); the buffer is empty afterwards. */
char *kz_buf_detach(kz_buf *b, size_t *len /* OUT, may be NULL */);
/* Append; each returns 0, or -1 when the cap was hit (and sets overflow). */
int kz_buf_add(kz_buf *b, const void *data, size_t len);
int kz_buf_adds(kz_buf *b, const char *s);
int kz_buf_addc(kz_buf *b, char c);
int kz_buf_addf(kz_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int kz_buf_vaddf(kz_buf *b, const char *fmt, va_list ap);
/* Empty the buffer but keep its allocation. */
void kz_buf_reset(kz_buf *b);

#endif
