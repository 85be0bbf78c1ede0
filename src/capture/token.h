/* token.h — signed tokens for public capture links: a form's render time (minimum fill time)
 * and expiring asset download links, HMAC-SHA256 under a per-install secret. */
#ifndef KZ_CAPTURE_TOKEN_H
#define KZ_CAPTURE_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* Load (or create, once per install) the signing secret from the settings table. */
int kz_token_init(kz_store *store, kz_err *err);
/* Use a given secret instead (unit tests, fuzzing). */
void kz_token_set_secret(const char *secret);

/* "<ms>.<hex>" proving the form `form_id` was rendered at `at_ms`. */
void kz_token_form(int64_t form_id, int64_t at_ms, char *out, size_t outlen);
/* 0 and *at_ms when tok is a valid render token of form_id, else -1. */
int kz_token_form_check(int64_t form_id, const char *tok, int64_t *at_ms);

/* "<expires ms>.<contact id>.<hex>": a download of asset_id until expires_ms, for contact_id
 * (0: nobody known). */
void kz_token_asset(int64_t asset_id, int64_t contact_id, int64_t expires_ms, char *out,
		    size_t outlen);
/* 0 with *contact_id when tok is a valid link for asset_id that has not expired at now_ms;
 * -1 bad, -2 expired. */
int kz_token_asset_check(int64_t asset_id, const char *tok, int64_t now_ms, int64_t *contact_id);

#endif
