/* mime.h — writes standards-compliant messages: multipart/alternative (text + HTML), UTF-8
 * bodies in quoted-printable or base64, RFC 2047 words for Japanese headers, folded lines. */
#ifndef KZ_MIME_H
#define KZ_MIME_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

typedef struct kz_mail {
	const char *from_name, *from_email; /* from_name may be NULL */
	const char *to_name, *to_email;
	const char *reply_to;   /* may be NULL */
	const char *subject;
	const char *text, *html; /* either may be NULL, not both */
	const char *message_id;  /* without <>, e.g. "s42.x9@example.jp" */
	int64_t date_ms;
	const char *return_path;  /* written as Return-Path only by local delivery (Maildir) */
	const char *unsub_url;    /* List-Unsubscribe https part, may be NULL */
	const char *unsub_mailto; /* List-Unsubscribe mailto part, may be NULL */
	const char *send_ref;     /* X-Kizuna-Send header (signed reference to the send) */
	const char *boundary_seed; /* makes the boundary unique; may be NULL */
} kz_mail;

/* Append the whole message (CRLF line ends, every line <= 998 bytes) to out. 0 or -1. */
int kz_mime_build(const kz_mail *m, kz_buf *out, kz_err *err);

/* RFC 2047: append `s` as an unstructured header value starting at column `col`; ASCII is
 * kept and folded at spaces, anything else becomes =?UTF-8?B?...?= words (<= 75 chars). */
void kz_mime_header_text(kz_buf *out, const char *s, size_t col);
/* Append quoted-printable of data (soft line breaks at 76). */
void kz_mime_qp(kz_buf *out, const char *data, size_t len);
/* Append base64 of data in lines of 76. */
void kz_mime_base64(kz_buf *out, const unsigned char *data, size_t len);
/* RFC 5322 date, e.g. "Tue, 01 Dec 2026 21:40:00 +0000", into out (>= 40 bytes). */
void kz_mime_date(int64_t ms, char *out, size_t outlen);

#endif
