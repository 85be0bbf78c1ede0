/* token.c — HMAC-signed capture tokens (form render time, asset links) and their secret. */
#include "capture/token.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/crypto.h"

#include "base/banned.h"

static char secret[65];
static pthread_mutex_t secret_mu = PTHREAD_MUTEX_INITIALIZER;

void kz_token_set_secret(const char *s)
{
	pthread_mutex_lock(&secret_mu);
	snprintf(secret, sizeof secret, "%s", s);
	pthread_mutex_unlock(&secret_mu);
}

int kz_token_init(kz_store *store, kz_err *err)
{
	kz_conn *c = kz_store_acquire(store);
	char *v = NULL, fresh[65];
	int rc = -1;
	if (kz_tx_begin(c, 1, err) < 0)
		goto out;
	if (kz_store_setting_get(c, "capture_secret", &v, err) < 0) {
		kz_tx_rollback(c);
		goto out;
	}
	if (!v || strlen(v) < 32) {
		free(v);
		kz_random_hex(fresh, 32);
		if (kz_store_setting_set(c, "capture_secret", fresh, err) < 0) {
			kz_tx_rollback(c);
			v = NULL;
			goto out;
		}
		v = strdup(fresh);
	}
	if (kz_tx_commit(c, err) < 0)
		goto out;
	kz_token_set_secret(v);
	rc = 0;
out:
	free(v);
	kz_store_release(c);
	return rc;
}

/* Hex HMAC-SHA256 of msg, truncated to 32 hex characters (128 bits). */
static void mac(const char *msg, char out[33])
{
	unsigned char h[crypto_auth_hmacsha256_BYTES];
	char hex[2 * crypto_auth_hmacsha256_BYTES + 1];
	crypto_auth_hmacsha256_state st;
	pthread_mutex_lock(&secret_mu);
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	pthread_mutex_unlock(&secret_mu);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, strlen(msg));
	crypto_auth_hmacsha256_final(&st, h);
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	memcpy(out, hex, 32);
	out[32] = '\0';
}

void kz_token_form(int64_t form_id, int64_t at_ms, char *out, size_t outlen)
{
	char msg[96], m[33];
	snprintf(msg, sizeof msg, "form:%" PRId64 ":%" PRId64, form_id, at_ms);
	mac(msg, m);
	snprintf(out, outlen, "%" PRId64 ".%s", at_ms, m);
}

int kz_token_form_check(int64_t form_id, const char *tok, int64_t *at_ms)
{
	char *end, want[96];
	long long at;
	if (!tok)
		return -1;
	at = strtoll(tok, &end, 10);
	if (end == tok || *end != '.' || at <= 0)
		return -1;
	kz_token_form(form_id, at, want, sizeof want);
	if (strlen(want) != strlen(tok) || !kz_const_eq(want, tok, strlen(tok)))
		return -1;
	*at_ms = at;
	return 0;
}

void kz_token_asset(int64_t asset_id, int64_t contact_id, int64_t expires_ms, char *out,
		    size_t outlen)
{
	char msg[128], m[33];
	snprintf(msg, sizeof msg, "asset:%" PRId64 ":%" PRId64 ":%" PRId64, asset_id, contact_id,
		 expires_ms);
	mac(msg, m);
	snprintf(out, outlen, "%" PRId64 ".%" PRId64 ".%s", expires_ms, contact_id, m);
}

int kz_token_asset_check(int64_t asset_id, const char *tok, int64_t now_ms, int64_t *contact_id)
{
	char *end, *end2, want[128];
	long long exp, cid;
	if (!tok)
		return -1;
	exp = strtoll(tok, &end, 10);
	if (end == tok || *end != '.' || exp <= 0)
		return -1;
	cid = strtoll(end + 1, &end2, 10);
	if (end2 == end + 1 || *end2 != '.' || cid < 0)
		return -1;
	kz_token_asset(asset_id, cid, exp, want, sizeof want);
	if (strlen(want) != strlen(tok) || !kz_const_eq(want, tok, strlen(tok)))
		return -1;
	if (now_ms > exp)
		return -2;
	*contact_id = cid;
	return 0;
}
