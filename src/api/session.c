/* session.c — /api/v1/session: sign in and out of the admin UI (cookie + CSRF token), with
 * throttling of repeated failures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "base/cleanse.h"
#include "base/timeutil.h"
#include "model/session.h"

#include "base/banned.h"

#define THROTTLE_SLOTS 256
#define THROTTLE_WINDOW_MS ((int64_t)15 * 60 * 1000)
#define MAX_FAILS_PER_EMAIL 5
#define MAX_FAILS_PER_IP 20

/* Recent failures per email and per client address (this node's memory). */
typedef struct throttle_slot {
	char key[160];
	int fails;
	int64_t first_ms;
} throttle_slot;

static throttle_slot slots[THROTTLE_SLOTS];
static pthread_mutex_t throttle_mu = PTHREAD_MUTEX_INITIALIZER;

static throttle_slot *slot_for(const char *key, int64_t now, int create)
{
	throttle_slot *free_slot = NULL, *oldest = &slots[0];
	for (int i = 0; i < THROTTLE_SLOTS; i++) {
		throttle_slot *s = &slots[i];
		if (s->key[0] && now - s->first_ms > THROTTLE_WINDOW_MS)
			s->key[0] = '\0';
		if (s->key[0] && !strcmp(s->key, key))
			return s;
		if (!s->key[0] && !free_slot)
			free_slot = s;
		if (s->first_ms < oldest->first_ms)
			oldest = s;
	}
	if (!create)
		return NULL;
	if (!free_slot)
		free_slot = oldest;
	snprintf(free_slot->key, sizeof free_slot->key, "%s", key);
	free_slot->fails = 0;
	free_slot->first_ms = now;
	return free_slot;
}

/* Seconds to wait when the key is over its limit, else 0. */
static int64_t blocked_for(const char *key, int limit, int64_t now)
{
	throttle_slot *s;
	int64_t wait = 0;
	pthread_mutex_lock(&throttle_mu);
	s = slot_for(key, now, 0);
	if (s && s->fails >= limit)
		wait = (s->first_ms + THROTTLE_WINDOW_MS - now) / 1000 + 1;
	pthread_mutex_unlock(&throttle_mu);
	return wait;
}

static void note_failure(const char *key, int64_t now)
{
	pthread_mutex_lock(&throttle_mu);
	slot_for(key, now, 1)->fails++;
	pthread_mutex_unlock(&throttle_mu);
}

static void forget(const char *key)
{
	throttle_slot *s;
	pthread_mutex_lock(&throttle_mu);
	s = slot_for(key, kz_now_ms(), 0);
	if (s)
		s->key[0] = '\0';
	pthread_mutex_unlock(&throttle_mu);
}

static int secure_cookie(kz_req *req)
{
	kz_app *app = req->app;
	const char *proto = kz_req_header(req, "X-Forwarded-Proto");
	return (proto && !strcmp(proto, "https")) ||
	       (app->base_url && !strncmp(app->base_url, "https://", 8));
}

static void set_cookie(kz_req *req, kz_resp *resp, const char *value, long max_age)
{
	char c[256];
	snprintf(c, sizeof c, "%s=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=%ld%s",
		 KZ_SESSION_COOKIE, value, max_age, secure_cookie(req) ? "; Secure" : "");
	kz_resp_header(resp, "Set-Cookie", c);
	kz_resp_header(resp, "Cache-Control", "no-store");
}

static int login(kz_req *req, kz_resp *resp)
{
	json_t *in = kz_req_json(req, resp), *user = NULL;
	const char *email, *password;
	char ip[64], kemail[160], kip[80], wait_s[32];
	char *token = NULL, *csrf = NULL, *fold = NULL;
	int64_t now = kz_now_ms(), wait;
	kz_conn *c;
	kz_err err;
	if (!in)
		return 0;
	email = json_string_value(json_object_get(in, "email"));
	password = json_string_value(json_object_get(in, "password"));
	if (!email || !*email || !password || !*password) {
		kz_resp_errorf(resp, 422, "invalid_field", email && *email ? "password" : "email",
			       "send {\"email\": ..., \"password\": ...}");
		goto done;
	}
	fold = kz_fold_search(email);
	kz_req_client_ip(req, ip, sizeof ip);
	snprintf(kemail, sizeof kemail, "e:%s", fold ? fold : email);
	snprintf(kip, sizeof kip, "i:%s", ip);
	wait = blocked_for(kemail, MAX_FAILS_PER_EMAIL, now);
	if (!wait)
		wait = blocked_for(kip, MAX_FAILS_PER_IP, now);
	if (wait) {
		snprintf(wait_s, sizeof wait_s, "%lld", (long long)wait);
		kz_resp_header(resp, "Retry-After", wait_s);
		kz_resp_errorf(resp, 429, "too_many_attempts", NULL,
			       "too many failed sign-ins; try again in %lld minutes",
			       (long long)(wait + 59) / 60);
		goto done;
	}
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	if (kz_session_login(c, email, password, &token, &csrf, &user, &err) < 0) {
		if (err.status == 401) {
			note_failure(kemail, now);
			note_failure(kip, now);
		}
		kz_api_fail(c, resp, &err);
		goto done;
	}
	if (kz_api_commit(c, resp) == 0) {
		forget(kemail);
		set_cookie(req, resp, token, (long)(KZ_SESSION_MAX_AGE_MS / 1000));
		kz_resp_json(resp, 200,
			     json_pack("{s:o, s:s}", "user", user, "csrf_token", csrf));
		user = NULL;
	}
done:
	free(fold);
	free(token);
	free(csrf);
	json_decref(user);
	json_decref(in);
	return 0;
}

static int current(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	const char *cookie = kz_req_cookie(req, KZ_SESSION_COOKIE);
	json_t *user = NULL;
	char *csrf;
	kz_conn *c;
	kz_err err;
	if (!req->user_id || !cookie)
		return kz_resp_errorf(resp, 401, "unauthorized", NULL, "not signed in");
	c = kz_store_acquire(app->store);
	csrf = kz_session_csrf(c, cookie);
	if (!csrf || kz_store_user_get(c, req->user_id, &user, &err) < 0) {
		kz_store_release(c);
		free(csrf);
		return kz_resp_errorf(resp, 401, "unauthorized", NULL, "not signed in");
	}
	kz_store_release(c);
	kz_resp_header(resp, "Cache-Control", "no-store");
	kz_resp_json(resp, 200, json_pack("{s:o, s:s}", "user", user, "csrf_token", csrf));
	free(csrf);
	return 0;
}

static int logout(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	const char *cookie = kz_req_cookie(req, KZ_SESSION_COOKIE);
	kz_err err;
	if (cookie) {
		kz_conn *c = kz_store_acquire(app->store);
		kz_session_logout(c, cookie, &err);
		kz_store_release(c);
	}
	set_cookie(req, resp, "", 0);
	return kz_resp_empty(resp, 204);
}

void kz_api_session_routes(kz_server *s)
{
	kz_server_route(s, "POST", "/api/v1/session", KZ_ROLE_NONE, KZ_ROUTE_PUBLIC, login);
	kz_server_route(s, "GET", "/api/v1/session", KZ_ROLE_NONE, KZ_ROUTE_PUBLIC, current);
	kz_server_route(s, "DELETE", "/api/v1/session", KZ_ROLE_NONE, KZ_ROUTE_PUBLIC, logout);
}
