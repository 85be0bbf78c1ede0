/* session.c — sign-in for the admin UI: password check, session tokens, CSRF tokens. */
#include "model/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanse.h"
#include "base/crypto.h"
#include "base/timeutil.h"
#include "model/records.h"

#include "base/banned.h"

#define TOUCH_EVERY_MS 30000

int kz_session_login(kz_conn *c, const char *email, const char *password, char **token,
		     char **csrf, json_t **user, kz_err *err)
{
	char tok[65], cs[65], hash[65];
	char *clean = NULL;
	json_t *u = NULL;
	const char *ph;
	int64_t now = kz_now_ms();
	*token = *csrf = NULL;
	*user = NULL;
	if (kz_clean_email(email, &clean) == 0 && kz_store_user_by_email(c, clean, &u, err) < 0) {
		free(clean);
		return -1;
	}
	free(clean);
	ph = u ? json_string_value(json_object_get(u, "password_hash")) : NULL;
	/* Verify even when the user is unknown, so timing does not reveal who has an account. */
	if (!ph || !kz_password_verify(ph, password) || !json_is_true(json_object_get(u, "active"))) {
		if (!ph) {
			char dummy[128];
			if (kz_password_hash("kizuna-timing-equalizer", dummy) == 0)
				kz_password_verify(dummy, password);
		}
		json_decref(u);
		return kz_err_set(err, 401, "invalid_credentials", "password",
				  "the email or password is wrong (or the account is deactivated)");
	}
	kz_random_hex(tok, 32);
	kz_random_hex(cs, 32);
	kz_sha256_hex(tok, strlen(tok), hash);
	if (kz_store_session_insert(c, hash, json_integer_value(json_object_get(u, "id")), cs, now,
				    now + KZ_SESSION_MAX_AGE_MS, err) < 0) {
		json_decref(u);
		return -1;
	}
	json_object_del(u, "password_hash");
	*user = u;
	*token = strdup(tok);
	*csrf = strdup(cs);
	return 0;
}

int kz_session_check(kz_conn *c, const char *token, int64_t idle_ms, int *role,
		     int64_t *user_id, char *csrf, size_t csrflen)
{
	char hash[65];
	json_t *s = NULL;
	int64_t now = kz_now_ms();
	int rc = -1;
	kz_err err;
	if (strlen(token) != 64)
		return -1;
	kz_sha256_hex(token, strlen(token), hash);
	if (kz_store_session_get(c, hash, &s, &err) < 0 || !s)
		goto out;
	if (!json_is_true(json_object_get(s, "active")) ||
	    json_integer_value(json_object_get(s, "expires_at_ms")) <= now ||
	    now - json_integer_value(json_object_get(s, "last_seen_at_ms")) > idle_ms) {
		kz_store_session_delete(c, hash, &err);
		goto out;
	}
	if (now - json_integer_value(json_object_get(s, "last_seen_at_ms")) > TOUCH_EVERY_MS)
		kz_store_session_touch(c, hash, now, &err);
	*role = kz_role_parse(json_string_value(json_object_get(s, "role")));
	*user_id = json_integer_value(json_object_get(s, "user_id"));
	snprintf(csrf, csrflen, "%s", json_string_value(json_object_get(s, "csrf")));
	rc = 0;
out:
	json_decref(s);
	return rc;
}

char *kz_session_csrf(kz_conn *c, const char *token)
{
	char hash[65];
	json_t *s = NULL;
	char *out = NULL;
	kz_err err;
	kz_sha256_hex(token, strlen(token), hash);
	if (kz_store_session_get(c, hash, &s, &err) == 0 && s)
		out = strdup(json_string_value(json_object_get(s, "csrf")));
	json_decref(s);
	return out;
}

int kz_session_logout(kz_conn *c, const char *token, kz_err *err)
{
	char hash[65];
	kz_sha256_hex(token, strlen(token), hash);
	return kz_store_session_delete(c, hash, err);
}
