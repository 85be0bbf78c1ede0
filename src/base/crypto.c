/* crypto.c — randomness, hashes and password hashing over libsodium. */
#include "base/crypto.h"

#include <sodium.h>
#include <string.h>

#include "base/banned.h"

int kz_crypto_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

void kz_random_hex(char *out, size_t nbytes)
{
	unsigned char raw[64];
	while (nbytes) {
		size_t n = nbytes < sizeof raw ? nbytes : sizeof raw;
		randombytes_buf(raw, n);
		sodium_bin2hex(out, n * 2 + 1, raw, n);
		out += n * 2;
		nbytes -= n;
	}
	sodium_memzero(raw, sizeof raw);
}

void kz_random_password(char *out, size_t len)
{
	static const char alphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	for (size_t i = 0; i < len; i++)
		out[i] = alphabet[randombytes_uniform(sizeof alphabet - 1)];
	out[len] = '\0';
}

void kz_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, data, len);
	sodium_bin2hex(out, 65, h, sizeof h);
}

int kz_password_hash(const char *password, char out[128])
{
	/* INTERACTIVE limits: ~64 MiB, well under 100 ms, fine for a login. */
	return crypto_pwhash_str_alg(out, password, strlen(password),
				     crypto_pwhash_OPSLIMIT_INTERACTIVE,
				     crypto_pwhash_MEMLIMIT_INTERACTIVE,
				     crypto_pwhash_ALG_ARGON2ID13) == 0
		       ? 0
		       : -1;
}

int kz_password_verify(const char *hash, const char *password)
{
	return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

int kz_const_eq(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0;
}
