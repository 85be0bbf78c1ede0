/* crypto.h — randomness, hashes and password hashing over libsodium. */
#ifndef KZ_CRYPTO_H
#define KZ_CRYPTO_H

#include <stddef.h>

/* Call once before threads start; returns 0 or -1 when libsodium cannot start. */
int kz_crypto_init(void);
/* Write `nbytes` random bytes as lowercase hex into out (needs 2*nbytes+1). */
void kz_random_hex(char *out, size_t nbytes);
/* A random password of `len` characters from an unambiguous alphabet (out needs len+1). */
void kz_random_password(char *out, size_t len);
/* SHA-256 of data as 64 hex chars + NUL into out[65]. */
void kz_sha256_hex(const void *data, size_t len, char out[65]);
/* argon2id hash string (crypto_pwhash_str) of a password into out[128]; 0 or -1. */
int kz_password_hash(const char *password, char out[128]);
/* 1 when `password` matches the stored argon2id hash, else 0. */
int kz_password_verify(const char *hash, const char *password);
/* Constant-time comparison of two equal-length buffers: 1 when equal. */
int kz_const_eq(const void *a, const void *b, size_t len);

#endif
