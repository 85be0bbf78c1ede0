/* alert.c — form alerts leave through one thread: claim due rows with a lease (a crash
 * mid-post sends again after it), POST each, record sent / retry later / failed. */
#include "capture/alert.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "channel/webhook.h"

#include "base/banned.h"

#define POLL_MS 1000
#define LEASE_MS 60000
#define POST_TIMEOUT_S 10
#define BATCH 20

struct kz_alerts {
	kz_store *store;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int stopping, kicked;
	int retry_s, attempts;
};

static void finish(kz_alerts *a, const json_t *row, int rc, const kz_err *perr)
{
	int64_t id = json_integer_value(json_object_get(row, "id"));
	int64_t tries = json_integer_value(json_object_get(row, "attempts"));
	int64_t now = kz_now_ms(), next = now;
	const char *status = "sent";
	kz_conn *c = kz_store_acquire(a->store);
	kz_err err;
	if (rc == KZ_SEND_TEMP && tries < a->attempts) {
		status = "queued";
		next = now + ((int64_t)a->retry_s * 1000 << (tries - 1 < 16 ? tries - 1 : 16));
	} else if (rc != 0) {
		status = "failed";
	}
	if (rc != 0)
		kz_warn("form alert %" PRId64 " (attempt %" PRId64 "): %s%s", id, tries,
			perr->message, strcmp(status, "failed") ? "; will retry" : "; given up");
	if (kz_store_alert_finish(c, id, status, rc ? perr->message : NULL, now, next, &err) < 0)
		kz_error("form alert %" PRId64 ": the outcome was not recorded: %s (sent again "
			 "when the lease ends)",
			 id, err.message);
	kz_store_release(c);
}

/* One pass: claim and post what is due. Returns how many were claimed. */
static int drain(kz_alerts *a)
{
	json_t *rows = NULL, *row;
	int64_t now = kz_now_ms();
	size_t i;
	kz_err err;
	kz_conn *c = kz_store_acquire(a->store);
	int rc = kz_store_alert_claim(c, now, now + LEASE_MS, BATCH, &rows, &err);
	kz_store_release(c);
	if (rc < 0) {
		kz_warn("form alerts: cannot claim: %s", err.message);
		return 0;
	}
	json_array_foreach(rows, i, row) {
		const char *url = json_string_value(json_object_get(row, "url"));
		const char *body = json_string_value(json_object_get(row, "payload"));
		kz_err_clear(&err);
		rc = kz_webhook_post(url, body, strlen(body), POST_TIMEOUT_S, &err);
		finish(a, row, rc, &err);
	}
	rc = (int)json_array_size(rows);
	json_decref(rows);
	return rc;
}

static void *run(void *arg)
{
	kz_alerts *a = arg;
	prctl(PR_SET_NAME, "kz-alerts", 0, 0, 0); /* visible in top -H, perf, gdb */
	for (;;) {
		struct timespec ts;
		int n;
		pthread_mutex_lock(&a->mu);
		if (!a->kicked && !a->stopping) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += POLL_MS / 1000;
			pthread_cond_timedwait(&a->cond, &a->mu, &ts);
		}
		a->kicked = 0;
		if (a->stopping) {
			pthread_mutex_unlock(&a->mu);
			break;
		}
		pthread_mutex_unlock(&a->mu);
		do
			n = drain(a);
		while (n == BATCH);
	}
	return NULL;
}

kz_alerts *kz_alerts_start(kz_store *store, int retry_seconds, int attempts)
{
	kz_alerts *a = calloc(1, sizeof *a);
	if (!a)
		return NULL;
	a->store = store;
	a->retry_s = retry_seconds > 0 ? retry_seconds : 30;
	a->attempts = attempts > 0 ? attempts : 8;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cond, NULL);
	if (pthread_create(&a->thread, NULL, run, a) != 0) {
		pthread_mutex_destroy(&a->mu);
		pthread_cond_destroy(&a->cond);
		free(a);
		return NULL;
	}
	return a;
}

void kz_alerts_kick(kz_alerts *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	a->kicked = 1;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->mu);
}

void kz_alerts_stop(kz_alerts *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	a->stopping = 1;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->thread, NULL);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cond);
	free(a);
}
