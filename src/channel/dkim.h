/* dkim.h — DKIM signing (RFC 6376, relaxed/relaxed) with rsa-sha256 or ed25519-sha256
 * (RFC 8463) over OpenSSL's libcrypto, and key generation with the DNS record to publish. */
#ifndef KZ_DKIM_H
#define KZ_DKIM_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

typedef struct kz_dkim kz_dkim;

/* A signer for d=domain, s=selector with a PEM private key (RSA or Ed25519; the algorithm
 * follows the key). NULL with err when the key does not load. */
kz_dkim *kz_dkim_new(const char *domain, const char *selector, const char *pem, kz_err *err);
void kz_dkim_free(kz_dkim *k);
/* "rsa-sha256" or "ed25519-sha256". */
const char *kz_dkim_algorithm(const kz_dkim *k);
/* Sign msg (headers CRLF CRLF body) at time `t` (seconds); append the DKIM-Signature header
 * line(s), CRLF-terminated, to out. Thread-safe. 0 or -1. */
int kz_dkim_sign(const kz_dkim *k, const char *msg, size_t len, int64_t t, kz_buf *out,
		 kz_err *err);
/* Generate a key ("rsa" = RSA-2048, or "ed25519"): *pem gets the private key, *txt the
 * TXT record value ("v=DKIM1; k=rsa; p=..."). Both malloc'd. 0 or -1. */
int kz_dkim_keygen(const char *type, char **pem, char **txt, kz_err *err);

/* Relaxed body canonicalization (exposed for tests). */
void kz_dkim_canon_body(const char *body, size_t len, kz_buf *out);
/* Relaxed canonicalization of one header field "Name: value" (unfolded, lowercased name). */
void kz_dkim_canon_header(const char *field, size_t len, kz_buf *out);

#endif
