/* session.h — sign-in for the admin UI: password check, session tokens, CSRF tokens. */
#ifndef KZ_MODEL_SESSION_H
#define KZ_MODEL_SESSION_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

#define KZ_SESSION_MAX_AGE_MS ((int64_t)12 * 3600 * 1000)

/* Check the password and open a session: *token (cookie value) and *csrf are malloc'd,
 * *user is the user record. A wrong email or password is a 401 invalid_credentials. */
int kz_session_login(kz_conn *c, const char *email, const char *password, char **token,
		     char **csrf, json_t **user, kz_err *err);
/* Validate a cookie: not expired, idle less than idle_ms, user still active.
 * Returns 0 and fills role/user_id/csrf, or -1. */
int kz_session_check(kz_conn *c, const char *token, int64_t idle_ms, int *role,
		     int64_t *user_id, char *csrf, size_t csrflen);
/* The session's CSRF token (malloc'd) or NULL. */
char *kz_session_csrf(kz_conn *c, const char *token);
int kz_session_logout(kz_conn *c, const char *token, kz_err *err);

#endif
