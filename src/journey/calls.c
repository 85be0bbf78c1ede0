/* calls.c — the journeys' outbound calls: signed webhooks (HMAC-SHA256 over the body),
 * Slack-style incoming-webhook alerts and alert mails to the contact's owner, each queued by
 * its step in journey_calls and sent here with retries and backoff. The contact's context
 * (score, stage, last pages, last clicked emails) is read when the call is sent. */
#include <curl/curl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "audience/audience.h"
#include "base/buf.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "channel/transport.h"
#include "journey/jinternal.h"
#include "model/records.h"

#include "base/banned.h"

#define CALL_BATCH 20
#define CALL_MAX_ATTEMPTS 8
#define CALL_LEASE_MS 60000
#define SECRET_KEY "journeys.webhook_secret"

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The signing secret: the journey's settings.webhook_secret, else the workspace's (made on
 * first use and kept in settings). */
static int secret_for(kz_conn *c, int64_t journey, char *out, size_t len, kz_err *err)
{
	json_t *rec = NULL;
	const char *own;
	if (kz_store_journey_get(c, journey, &rec, err) == 0 &&
	    (own = str(json_object_get(json_object_get(rec, "definition"), "settings"),
		       "webhook_secret"))) {
		snprintf(out, len, "%s", own);
		json_decref(rec);
		return 0;
	}
	json_decref(rec);
	return kz_journey_webhook_secret(c, out, len, err);
}

int kz_journey_webhook_secret(kz_conn *c, char *out, size_t len, kz_err *err)
{
	char *v = NULL;
	if (kz_store_setting_get(c, SECRET_KEY, &v, err) < 0)
		return -1;
	if (!v) {
		char hex[65];
		kz_random_hex(hex, 32);
		if (kz_store_setting_set(c, SECRET_KEY, hex, err) < 0)
			return -1;
		snprintf(out, len, "%s", hex);
		return 0;
	}
	snprintf(out, len, "%s", v);
	free(v);
	return 0;
}

/* "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">" */
static void sign(const char *secret, const char *body, int64_t t, char *out, size_t len)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char ts[32], hex[2 * crypto_auth_hmacsha256_BYTES + 1];
	crypto_auth_hmacsha256_state st;
	snprintf(ts, sizeof ts, "%" PRId64 ".", t);
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, strlen(ts));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
	snprintf(out, len, "t=%" PRId64 ",v1=%s", t, hex);
}

/* The contact as the receiver sees it: record, score, stage, last pages, last clicks. */
static json_t *contact_context(kz_journeys *j, kz_conn *c, int64_t cid)
{
	json_t *rec = NULL, *events = NULL, *pages = json_array(), *clicks = json_array(), *ev;
	kz_event_query q;
	char *next = NULL;
	size_t i;
	kz_err err;
	if (kz_store_contact_get(c, cid, &rec, &err) < 0)
		return json_pack("{s:I}", "id", (json_int_t)cid);
	if (j->cfg.audience)
		kz_audience_decorate(j->cfg.audience, rec);
	json_object_del(rec, "search");
	json_object_del(rec, "name_fold");
	memset(&q, 0, sizeof q);
	q.contact_id = cid;
	q.limit = 100;
	if (kz_store_event_list(c, &q, &events, &next, &err) == 0) {
		json_array_foreach(events, i, ev) {
			const char *name = str(ev, "name");
			const json_t *props = json_object_get(ev, "properties");
			const json_t *ctx = json_object_get(ev, "context");
			if (name && !strcmp(name, "page_view") && json_array_size(pages) < 5)
				json_array_append_new(
					pages, json_pack("{s:O?, s:O?, s:O?}", "url",
							 json_object_get(ctx, "url") ? json_object_get(ctx, "url")
										    : json_object_get(props, "url"),
							 "title", json_object_get(ctx, "title"), "at",
							 json_object_get(ev, "occurred_at")));
			else if (name && !strcmp(name, "email_clicked") && json_array_size(clicks) < 5)
				json_array_append_new(
					clicks, json_pack("{s:O?, s:O?, s:O?}", "email_id",
							  json_object_get(props, "email_id"), "url",
							  json_object_get(props, "url"), "at",
							  json_object_get(ev, "occurred_at")));
		}
	}
	free(next);
	json_decref(events);
	json_object_set_new(rec, "last_pages", pages);
	json_object_set_new(rec, "last_clicks", clicks);
	return rec;
}

static size_t discard(char *p, size_t size, size_t n, void *cls)
{
	(void)p;
	(void)cls;
	return size * n;
}

/* POST body to url; 0 on 2xx, KZ_SEND_TEMP or KZ_SEND_PERM (4xx but 408/429). */
static int post_json(const char *url, const char *body, const char *sig, const char *id,
		     kz_err *err)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hd = NULL;
	char line[400];
	long status = 0;
	CURLcode rc;
	if (!h)
		return kz_err_set(err, 500, "internal", NULL, "cannot start an HTTP client"), KZ_SEND_TEMP;
	hd = curl_slist_append(hd, "Content-Type: application/json; charset=utf-8");
	hd = curl_slist_append(hd, "User-Agent: Kizuna-Journeys/1");
	if (sig) {
		snprintf(line, sizeof line, "X-Kizuna-Signature: %s", sig);
		hd = curl_slist_append(hd, line);
	}
	snprintf(line, sizeof line, "X-Kizuna-Delivery: %s", id);
	hd = curl_slist_append(hd, line);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hd);
	curl_easy_cleanup(h);
	if (rc != CURLE_OK) {
		kz_err_set(err, 502, "call_failed", NULL, "%s", curl_easy_strerror(rc));
		return KZ_SEND_TEMP;
	}
	if (status >= 200 && status < 300)
		return 0;
	kz_err_set(err, 502, "call_failed", NULL, "HTTP %ld", status);
	return status >= 400 && status < 500 && status != 408 && status != 429 ? KZ_SEND_PERM
									       : KZ_SEND_TEMP;
}

/* The alert in words (Slack text and the mail body). */
static void alert_text(kz_buf *b, const json_t *body, const json_t *ct)
{
	const char *msg = str(body, "message");
	const json_t *v;
	size_t i;
	kz_buf_addf(b, "%s\n\n", msg ? msg : "A contact reached a journey alert step.");
	kz_buf_addf(b, "Contact: %s %s <%s> (id %" PRId64 ")\n", str(ct, "last_name") ?: "",
		      str(ct, "first_name") ?: "", str(ct, "email") ?: "-",
		      (int64_t)json_integer_value(json_object_get(ct, "id")));
	if (str(json_object_get(ct, "company"), "name"))
		kz_buf_addf(b, "Company: %s\n", str(json_object_get(ct, "company"), "name"));
	kz_buf_addf(b, "Score: %" PRId64 "\nStage: %s\n",
		      (int64_t)json_integer_value(json_object_get(ct, "score")),
		      str(ct, "stage") ?: "-");
	kz_buf_addf(b, "Journey %" PRId64 ", step %s\n",
		      (int64_t)json_integer_value(json_object_get(body, "journey_id")),
		      str(body, "step") ?: "");
	if (json_array_size(json_object_get(ct, "last_pages"))) {
		kz_buf_adds(b, "\nLast pages visited:\n");
		json_array_foreach(json_object_get(ct, "last_pages"), i, v)
			kz_buf_addf(b, "- %s %s\n", str(v, "url") ?: "", str(v, "title") ?: "");
	}
	if (json_array_size(json_object_get(ct, "last_clicks"))) {
		kz_buf_adds(b, "\nLast emails clicked:\n");
		json_array_foreach(json_object_get(ct, "last_clicks"), i, v)
			kz_buf_addf(b, "- email %" PRId64 ": %s\n",
				      (int64_t)json_integer_value(json_object_get(v, "email_id")),
				      str(v, "url") ?: "");
	}
}

static int send_mail(kz_journeys *j, kz_conn *c, const char *target, const json_t *body,
		     const json_t *ct, kz_err *err)
{
	json_t *user = NULL, *settings = NULL;
	char to[320] = "", from[320], msgid[64];
	kz_buf m, text;
	kz_transport *t = NULL;
	int rc;
	if (!strcmp(target, "owner") || !strncmp(target, "user:", 5)) {
		int64_t uid = !strcmp(target, "owner")
				      ? json_integer_value(json_object_get(ct, "owner"))
				      : strtoll(target + 5, NULL, 10);
		if (!uid) {
			kz_err_set(err, 422, "no_owner", NULL, "the contact has no owner");
			return KZ_SEND_PERM;
		}
		if (kz_store_user_get(c, uid, &user, err) < 0)
			return KZ_SEND_PERM;
		snprintf(to, sizeof to, "%s", str(user, "email") ?: "");
		json_decref(user);
	} else {
		snprintf(to, sizeof to, "%s", target);
	}
	if (!*to || strchr(to, '\r') || strchr(to, '\n')) {
		kz_err_set(err, 422, "no_address", NULL, "no address to alert");
		return KZ_SEND_PERM;
	}
	if (kz_settings_load(c, NULL, &settings, err) < 0)
		return KZ_SEND_TEMP;
	snprintf(from, sizeof from, "%s",
		 str(settings, "sender_email") && *str(settings, "sender_email")
			 ? str(settings, "sender_email")
			 : "kizuna@localhost");
	json_decref(settings);
	kz_random_hex(msgid, 16);
	kz_buf_init(&text, 0);
	alert_text(&text, body, ct);
	kz_buf_init(&m, 0);
	kz_buf_addf(&m,
		      "From: Kizuna <%s>\r\nTo: <%s>\r\nSubject: =?UTF-8?B?", from, to);
	{
		char subj[400], b64[800];
		snprintf(subj, sizeof subj, "[Kizuna] %s: %s", str(body, "message") ?: "Journey alert",
			 str(ct, "email") ?: "contact");
		sodium_bin2base64(b64, sizeof b64, (const unsigned char *)subj, strlen(subj),
				  sodium_base64_VARIANT_ORIGINAL);
		kz_buf_adds(&m, b64);
	}
	kz_buf_addf(&m,
		      "?=\r\nMessage-ID: <%s@kizuna>\r\nMIME-Version: 1.0\r\n"
		      "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n"
		      "X-Kizuna-Journey: %" PRId64 "\r\n\r\n",
		      msgid, (int64_t)json_integer_value(json_object_get(body, "journey_id")));
	for (size_t i = 0; i < text.len; i++) {
		if (text.data[i] == '\n')
			kz_buf_adds(&m, "\r\n");
		else
			kz_buf_addc(&m, text.data[i]);
	}
	kz_buf_release(&text);
	t = j->cfg.smtp_url ? kz_smtp_new(j->cfg.smtp_url, j->cfg.smtp_tls ? j->cfg.smtp_tls : "try",
					  20, err)
			    : kz_maildir_new(j->cfg.maildir ? j->cfg.maildir : "./data/outbox", err);
	if (!t) {
		kz_buf_release(&m);
		return KZ_SEND_TEMP;
	}
	rc = kz_transport_send(t, from, to, m.data, m.len, err);
	kz_transport_free(t);
	kz_buf_release(&m);
	return rc;
}

static int deliver(kz_journeys *j, kz_conn *c, const json_t *row, kz_err *err)
{
	const char *kind = str(row, "kind"), *target = str(row, "target");
	json_t *body = json_loads(str(row, "body"), 0, NULL), *ct;
	int64_t cid = json_integer_value(json_object_get(row, "contact_id"));
	int rc;
	if (!body)
		return kz_err_set(err, 500, "internal", NULL, "bad call body"), KZ_SEND_PERM;
	ct = contact_context(j, c, cid);
	if (!strcmp(kind, "webhook")) {
		char secret[300], sig[200], *text;
		json_object_set(body, "contact", ct);
		text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
		if (secret_for(c, json_integer_value(json_object_get(row, "journey_id")), secret,
			       sizeof secret, err) < 0) {
			free(text);
			json_decref(ct);
			json_decref(body);
			return KZ_SEND_TEMP;
		}
		sign(secret, text, kz_now_ms() / 1000, sig, sizeof sig);
		rc = post_json(target, text, sig, str(row, "dedupe"), err);
		free(text);
	} else if (!strcmp(kind, "slack")) {
		kz_buf b;
		json_t *msg;
		char *text;
		kz_buf_init(&b, 0);
		alert_text(&b, body, ct);
		msg = json_pack("{s:s}", "text", b.data ? b.data : "");
		text = json_dumps(msg, JSON_COMPACT);
		rc = post_json(target, text, NULL, str(row, "dedupe"), err);
		free(text);
		json_decref(msg);
		kz_buf_release(&b);
	} else {
		rc = send_mail(j, c, target, body, ct, err);
	}
	json_decref(ct);
	json_decref(body);
	return rc;
}

static void *calls_main(void *arg)
{
	kz_journeys *j = arg;
	kz_conn *c = kz_store_acquire(j->cfg.store);
	prctl(PR_SET_NAME, "kz-journey-calls", 0, 0, 0); /* visible in top -H, perf, gdb */
	for (;;) {
		json_t *rows = NULL, *row;
		size_t i;
		kz_err err;
		int64_t now;
		pthread_mutex_lock(&j->calls_mu);
		if (!j->calls_kicked && j->calls_running) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&j->calls_cv, &j->calls_mu, &ts);
		}
		j->calls_kicked = 0;
		if (!j->calls_running) {
			pthread_mutex_unlock(&j->calls_mu);
			break;
		}
		pthread_mutex_unlock(&j->calls_mu);
		now = kz_now_ms();
		if (kz_tx_begin(c, 1, &err) < 0)
			continue;
		if (kz_store_jcall_claim(c, now, now + CALL_LEASE_MS, CALL_BATCH, &rows, &err) < 0 ||
		    kz_tx_commit(c, &err) < 0) {
			kz_tx_rollback(c);
			json_decref(rows);
			continue;
		}
		json_array_foreach(rows, i, row) {
			int attempts = (int)json_integer_value(json_object_get(row, "attempts"));
			int rc = deliver(j, c, row, &err);
			const char *status = rc == 0 ? "done"
					     : rc == KZ_SEND_TEMP && attempts < CALL_MAX_ATTEMPTS ? "queued"
												  : "failed";
			/* backoff: 5 s, 10 s, 20 s, ... in the server's clock */
			int64_t next = kz_now_ms() + ((int64_t)5000 << (attempts > 10 ? 10 : attempts - 1));
			kz_err e2;
			if (rc == 0)
				atomic_fetch_add(&j->n_calls_sent, 1);
			else {
				atomic_fetch_add(&j->n_calls_failed, 1);
				kz_warn("journeys: %s call %" PRId64 " to %s: %s (%s)", str(row, "kind"),
					(int64_t)json_integer_value(json_object_get(row, "id")),
					str(row, "target"), err.message, status);
			}
			if (kz_tx_begin(c, 1, &e2) == 0 &&
			    (kz_store_jcall_finish(c, json_integer_value(json_object_get(row, "id")),
						   status, rc == 0 ? NULL : err.message, next,
						   kz_now_ms(), &e2) < 0 ||
			     kz_tx_commit(c, &e2) < 0))
				kz_tx_rollback(c);
		}
		if (json_array_size(rows) == CALL_BATCH)
			kz_jn_calls_kick(j);
		json_decref(rows);
	}
	kz_store_release(c);
	return NULL;
}

int kz_jn_calls_start(kz_journeys *j, kz_err *err)
{
	pthread_mutex_init(&j->calls_mu, NULL);
	pthread_cond_init(&j->calls_cv, NULL);
	j->calls_running = 1;
	if (pthread_create(&j->calls_thread, NULL, calls_main, j) != 0) {
		j->calls_running = 0;
		return kz_err_set(err, 500, "internal", NULL, "cannot start the journey call sender");
	}
	return 0;
}

void kz_jn_calls_stop(kz_journeys *j)
{
	int was;
	pthread_mutex_lock(&j->calls_mu);
	was = j->calls_running;
	j->calls_running = 0;
	pthread_cond_broadcast(&j->calls_cv);
	pthread_mutex_unlock(&j->calls_mu);
	if (was)
		pthread_join(j->calls_thread, NULL);
}

void kz_jn_calls_kick(kz_journeys *j)
{
	pthread_mutex_lock(&j->calls_mu);
	j->calls_kicked = 1;
	j->queued_calls = 0;
	pthread_cond_signal(&j->calls_cv);
	pthread_mutex_unlock(&j->calls_mu);
}
