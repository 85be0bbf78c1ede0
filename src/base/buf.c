/* buf.c — growable, capped, always NUL-terminated byte buffer. */
#include "base/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

static char kz_buf_empty[1];

void kz_buf_init(kz_buf *b, size_t cap)
{
	b->data = kz_buf_empty;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap ? cap : KZ_BUF_DEFAULT_CAP;
	b->overflow = 0;
}

void kz_buf_release(kz_buf *b)
{
	size_t cap = b->cap;
	if (b->alloc)
		free(b->data);
	kz_buf_init(b, cap);
}

char *kz_buf_detach(kz_buf *b, size_t *len)
{
	char *out;
	if (len)
		*len = b->len;
	if (b->alloc) {
		out = b->data;
	} else {
		out = malloc(1);
		if (out)
			out[0] = '\0';
	}
	kz_buf_init(b, b->cap);
	return out;
}

/* Make room for `extra` more bytes plus the NUL. */
static int kz_buf_grow(kz_buf *b, size_t extra)
{
	size_t want, n;
	char *p;
	if (b->overflow)
		return -1;
	if (extra > b->cap || b->len > b->cap - extra) {
		b->overflow = 1;
		return -1;
	}
	want = b->len + extra + 1;
	if (want <= b->alloc)
		return 0;
	n = b->alloc ? b->alloc : 64;
	while (n < want)
		n = n * 2;
	p = b->alloc ? realloc(b->data, n) : malloc(n);
	if (!p) {
		b->overflow = 1;
		return -1;
	}
	if (!b->alloc)
		p[0] = '\0';
	b->data = p;
	b->alloc = n;
	return 0;
}

int kz_buf_add(kz_buf *b, const void *data, size_t len)
{
	if (kz_buf_grow(b, len) < 0)
		return -1;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int kz_buf_adds(kz_buf *b, const char *s)
{
	return kz_buf_add(b, s, strlen(s));
}

int kz_buf_addc(kz_buf *b, char c)
{
	return kz_buf_add(b, &c, 1);
}

int kz_buf_vaddf(kz_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;
	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return -1;
	if (kz_buf_grow(b, (size_t)n) < 0)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int kz_buf_addf(kz_buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;
	va_start(ap, fmt);
	r = kz_buf_vaddf(b, fmt, ap);
	va_end(ap);
	return r;
}

void kz_buf_reset(kz_buf *b)
{
	b->len = 0;
	b->overflow = 0;
	if (b->alloc)
		b->data[0] = '\0';
}
