/* writer.c — the group-commit writer: request threads queue events and wait; one thread writes
 * everything queued in one transaction, commits, and only then wakes them. */
#include "track/writer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "store/db.h"
#include "store/rowjson.h"
#include "track/ingest.h"

#include "base/banned.h"

/* Events per transaction: large enough that a burst costs few commits, small enough that
 * one group holds the write lock for milliseconds, not seconds. */
#define MAX_GROUP 2000

/* One caller's events, on the caller's stack until `done`. */
typedef struct job {
	kz_track_event *evs;
	int n;
	int done;
	struct job *next;
} job;

struct kz_track_writer {
	kz_store *store;
	kz_conn *conn;
	const char *default_country;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work; /* the writer waits here for jobs */
	pthread_cond_t done; /* callers wait here for their job */
	job *head, *tail;
	int queued; /* events waiting */
	int stopping;
	int started;
	/* retention: a pass over every site, done in small steps while no events wait */
	int64_t prune_every_ms; /* 0: never */
	int64_t prune_at;       /* when the next pass starts */
	json_t *prune_sites;    /* the pass in progress (NULL: none) */
	size_t prune_next;      /* index into prune_sites; its size means "events without a site" */
	/* SQLite: WAL checkpoints run on their own thread, not inside the writer's COMMIT */
	pthread_t ckpt_thread;
	pthread_cond_t ckpt_wake;
	int ckpt_started;
	unsigned long long ckpt_groups; /* n_groups at the last checkpoint */
	kz_track_commit_fn on_commit; /* the audience's listener (kz_track_writer_on_commit) */
	void *on_commit_ctx;
};

static _Atomic unsigned long long n_stored, n_dup, n_failed, n_groups, n_fallbacks, n_pruned;
static _Atomic unsigned long long n_drop[3];

void kz_track_count_drop(enum kz_track_drop why, int n)
{
	if ((int)why >= 0 && why < 3 && n > 0)
		atomic_fetch_add(&n_drop[why], (unsigned long long)n);
}

static void replace_conn(kz_track_writer *w);

/* ---- writing one group ---- */

static void reset_states(job *jobs)
{
	for (job *j = jobs; j; j = j->next)
		for (int i = 0; i < j->n; i++)
			if (j->evs[i].state != KZ_EV_FAILED || j->evs[i].err.status >= 500) {
				j->evs[i].state = KZ_EV_PENDING;
				kz_err_clear(&j->evs[i].err);
			}
}

static void fail_event(kz_track_event *ev, const kz_err *err)
{
	ev->state = KZ_EV_FAILED;
	ev->err = *err;
	if (!ev->err.status)
		kz_err_set(&ev->err, 500, "internal", NULL, "the event could not be written");
}

/* Everything in one transaction. Events that can fail on their own account (contact rules)
 * run in a savepoint and fail alone; a database error fails the whole group (-1). */
static int write_group(kz_conn *c, kz_ingest_ctx *x, job *jobs, kz_err *err)
{
	if (kz_tx_begin(c, 1, err) < 0)
		return -1;
	for (job *j = jobs; j; j = j->next)
		for (int i = 0; i < j->n; i++) {
			kz_track_event *ev = &j->evs[i];
			kz_err e;
			kz_err_clear(&e);
			if (ev->state != KZ_EV_PENDING)
				continue;
			if (!kz_ingest_needs_savepoint(ev)) {
				if (kz_ingest(c, x, ev, err) < 0)
					goto fail;
				continue;
			}
			if (kz_tx_savepoint(c, err) < 0)
				goto fail;
			if (kz_ingest(c, x, ev, &e) == 0) {
				if (kz_tx_savepoint_release(c, err) < 0)
					goto fail;
				continue;
			}
			kz_tx_savepoint_rollback(c);
			if (e.status >= 500 || e.status == 0) {
				*err = e;
				goto fail;
			}
			fail_event(ev, &e);
		}
	return kz_tx_commit(c, err);
fail:
	kz_tx_rollback(c);
	return -1;
}

/* After a failed group: each event on its own, so one bad row cannot sink the others. */
static void write_one_by_one(kz_conn *c, kz_ingest_ctx *x, job *jobs)
{
	for (job *j = jobs; j; j = j->next)
		for (int i = 0; i < j->n; i++) {
			kz_track_event *ev = &j->evs[i];
			kz_err e;
			kz_err_clear(&e);
			if (ev->state != KZ_EV_PENDING)
				continue;
			if (kz_tx_begin(c, 1, &e) < 0) {
				fail_event(ev, &e);
				continue;
			}
			if (kz_ingest(c, x, ev, &e) < 0) {
				kz_tx_rollback(c);
				fail_event(ev, &e);
				continue;
			}
			if (kz_tx_commit(c, &e) < 0)
				fail_event(ev, &e);
		}
}

static void count(job *jobs)
{
	unsigned long long s = 0, d = 0, f = 0;
	for (job *j = jobs; j; j = j->next)
		for (int i = 0; i < j->n; i++) {
			int st = j->evs[i].state;
			s += st == KZ_EV_STORED;
			d += st == KZ_EV_DUPLICATE;
			f += st == KZ_EV_FAILED;
		}
	atomic_fetch_add(&n_stored, s);
	atomic_fetch_add(&n_dup, d);
	atomic_fetch_add(&n_failed, f);
	atomic_fetch_add(&n_groups, 1);
}

/* Hand the group's stored events to the commit listener. */
static void notify_commit(kz_track_writer *w, job *jobs)
{
	kz_track_event **evs;
	int n = 0, cap = 0;
	if (!w->on_commit)
		return;
	for (job *j = jobs; j; j = j->next)
		cap += j->n;
	evs = malloc((size_t)(cap ? cap : 1) * sizeof *evs);
	if (!evs)
		return;
	for (job *j = jobs; j; j = j->next)
		for (int i = 0; i < j->n; i++)
			if (j->evs[i].state == KZ_EV_STORED)
				evs[n++] = &j->evs[i];
	if (n)
		w->on_commit(w->on_commit_ctx, evs, n);
	free(evs);
}

void kz_track_writer_on_commit(kz_track_writer *w, kz_track_commit_fn fn, void *ctx)
{
	pthread_mutex_lock(&w->mu);
	w->on_commit = fn;
	w->on_commit_ctx = ctx;
	pthread_mutex_unlock(&w->mu);
}

static void process(kz_track_writer *w, job *jobs)
{
	kz_ingest_ctx x;
	kz_err err;
	struct timespec t0, t1;
	int n = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	kz_err_clear(&err);
	kz_ingest_ctx_init(&x, w->default_country);
	if (write_group(w->conn, &x, jobs, &err) < 0) {
		kz_warn("track writer: group failed (%s); writing its events one by one",
			err.message);
		atomic_fetch_add(&n_fallbacks, 1);
		/* A broken connection is replaced when it goes back to the pool. */
		replace_conn(w);
		kz_ingest_ctx_release(&x);
		reset_states(jobs);
		write_one_by_one(w->conn, &x, jobs);
	}
	kz_ingest_ctx_release(&x);
	count(jobs);
	notify_commit(w, jobs);
	for (job *j = jobs; j; j = j->next)
		n += j->n;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	kz_debug("track writer: %d events in %.3f ms", n,
		 (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
}

/* ---- WAL checkpoints ---- */

/* SQLite's default checkpoints from inside COMMIT once the WAL holds 1000 pages: the writer
 * then copies pages into the database file and fsyncs it while every caller of its group
 * waits. The writer's connection turns that off, and this thread checkpoints (PASSIVE: it
 * never blocks the writer, which keeps appending to the WAL meanwhile) on its own pooled
 * connection, at most every CKPT_EVERY_MS while events arrive. Durability is unchanged: a
 * commit is durable once its WAL frames are written, checkpointed or not. */
#define CKPT_EVERY_MS 200

static void *ckpt_main(void *arg)
{
	kz_track_writer *w = arg;
	prctl(PR_SET_NAME, "kz-track-ckpt", 0, 0, 0);
	pthread_mutex_lock(&w->mu);
	while (!w->stopping) {
		struct timespec ts;
		unsigned long long groups = atomic_load(&n_groups);
		if (groups != w->ckpt_groups) {
			kz_conn *c;
			kz_rows rows;
			kz_err err;
			w->ckpt_groups = groups;
			pthread_mutex_unlock(&w->mu);
			c = kz_store_acquire(w->store);
			kz_err_clear(&err);
			if (kz_db_query(c, "PRAGMA wal_checkpoint(PASSIVE)", NULL, 0, &rows, &err) <
			    0)
				kz_warn("track writer: WAL checkpoint failed: %s", err.message);
			else
				kz_rows_free(&rows);
			kz_store_release(c);
			pthread_mutex_lock(&w->mu);
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)CKPT_EVERY_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (!w->stopping)
			pthread_cond_timedwait(&w->ckpt_wake, &w->mu, &ts);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Turn SQLite's checkpoints inside COMMIT off (0) or back on (1) on connection c. */
static void autockpt(kz_conn *c, int on)
{
	kz_rows rows;
	kz_err err;
	kz_err_clear(&err);
	/* The pragma answers one row; free it whatever the result (rows start empty). */
	kz_db_query(c, on ? "PRAGMA wal_autocheckpoint=1000" : "PRAGMA wal_autocheckpoint=0", NULL,
		    0, &rows, &err);
	kz_rows_free(&rows);
}

/* SQLite only, before the writer thread exists: start ckpt_main and take checkpoints off
 * the writer's connection. Without the thread the writer keeps SQLite's own checkpoints
 * (slower, still correct). */
static void ckpt_start(kz_track_writer *w)
{
	pthread_cond_init(&w->ckpt_wake, NULL);
	if (kz_conn_is_pg(w->conn))
		return;
	if (pthread_create(&w->ckpt_thread, NULL, ckpt_main, w) != 0) {
		kz_warn("track writer: no checkpoint thread; checkpoints stay in the writer");
		return;
	}
	w->ckpt_started = 1;
	autockpt(w->conn, 0);
}

/* Give the writer's connection back to the pool as the pool handed it out. */
static void release_conn(kz_track_writer *w)
{
	if (w->ckpt_started && !kz_conn_is_pg(w->conn))
		autockpt(w->conn, 1);
	kz_store_release(w->conn);
}

/* A fresh writer connection from the pool (after a failed group). */
static void replace_conn(kz_track_writer *w)
{
	release_conn(w);
	w->conn = kz_store_acquire(w->store);
	if (w->ckpt_started && !kz_conn_is_pg(w->conn))
		autockpt(w->conn, 0);
}

static void ckpt_stop(kz_track_writer *w)
{
	if (w->ckpt_started) {
		pthread_mutex_lock(&w->mu);
		w->stopping = 1;
		pthread_cond_signal(&w->ckpt_wake);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->ckpt_thread, NULL);
	}
	pthread_cond_destroy(&w->ckpt_wake);
}

/* ---- retention ---- */

#define PRUNE_CHUNK 5000
#define DAY_MS ((int64_t)86400000)
#define FIRST_PRUNE_MS ((int64_t)60000) /* after start, so a restart loop still prunes */

static int64_t env_int(const char *name, int64_t def)
{
	const char *v = getenv(name);
	char *end;
	long long n;
	if (!v || !*v)
		return def;
	n = strtoll(v, &end, 10);
	if (*end || n < 0) {
		kz_warn("ignoring %s=%s: not a whole number", name, v);
		return def;
	}
	return n;
}

/* Events wait (or the server is stopping): background work should yield. */
static int jobs_waiting(kz_track_writer *w)
{
	int waiting;
	pthread_mutex_lock(&w->mu);
	waiting = w->head != NULL || w->stopping;
	pthread_mutex_unlock(&w->mu);
	return waiting;
}

/* Prune one target (a site, or the events without one) until done or events arrive.
 * Returns 1 when the target is finished. */
static int prune_target(kz_track_writer *w, int64_t site_id, int64_t days)
{
	int64_t before = kz_now_ms() - days * DAY_MS, deleted = PRUNE_CHUNK;
	kz_err err;
	while (deleted >= PRUNE_CHUNK) {
		if (jobs_waiting(w))
			return 0; /* events first; the pass goes on at the next quiet moment */
		kz_err_clear(&err);
		if (kz_tx_begin(w->conn, 1, &err) < 0)
			goto fail;
		if (kz_store_event_prune(w->conn, site_id, before, PRUNE_CHUNK, &deleted, &err) <
		    0) {
			kz_tx_rollback(w->conn);
			goto fail;
		}
		if (kz_tx_commit(w->conn, &err) < 0)
			goto fail;
		atomic_fetch_add(&n_pruned, (unsigned long long)deleted);
	}
	return 1;
fail:
	kz_warn("track writer: pruning old events failed: %s", err.message);
	return 1;
}

/* One step of the retention pass: events older than each site's retention_days (events
 * without a site: KIZUNA_EVENT_RETENTION_DAYS, default 400) become daily rollups. */
static void prune_step(kz_track_writer *w)
{
	if (!w->prune_sites) {
		kz_err err;
		if (kz_store_site_list(w->conn, &w->prune_sites, &err) < 0) {
			kz_warn("track writer: cannot list sites for pruning: %s", err.message);
			w->prune_at = kz_now_ms() + w->prune_every_ms;
			return;
		}
		w->prune_next = 0;
	}
	while (w->prune_next <= json_array_size(w->prune_sites)) {
		json_t *site = json_array_get(w->prune_sites, w->prune_next);
		int64_t id = site ? json_integer_value(json_object_get(site, "id")) : 0;
		int64_t days = site ? json_integer_value(json_object_get(site, "retention_days"))
				    : env_int("KIZUNA_EVENT_RETENTION_DAYS", 400);
		if (days > 0 && !prune_target(w, id, days))
			return;
		w->prune_next++;
	}
	json_decref(w->prune_sites);
	w->prune_sites = NULL;
	w->prune_at = kz_now_ms() + w->prune_every_ms;
}

static int prune_due(const kz_track_writer *w)
{
	return w->prune_every_ms > 0 && kz_now_ms() >= w->prune_at;
}

/* Wait for work, but no longer than until the next retention step is due. */
static void wait_for_work(kz_track_writer *w)
{
	struct timespec ts;
	int64_t ms = w->prune_every_ms > 0 ? w->prune_at - kz_now_ms() : 0;
	if (w->prune_every_ms <= 0) {
		pthread_cond_wait(&w->work, &w->mu);
		return;
	}
	if (ms > 1000)
		ms = 1000; /* also notices a clock that jumped */
	if (ms < 1)
		ms = 1;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&w->work, &w->mu, &ts);
}

static void *writer_main(void *arg)
{
	kz_track_writer *w = arg;
	prctl(PR_SET_NAME, "kz-track-writer", 0, 0, 0); /* visible in top -H, perf, gdb */
	pthread_mutex_lock(&w->mu);
	for (;;) {
		job *take, *last;
		int n;
		while (!w->head && !w->stopping) {
			if (prune_due(w)) {
				pthread_mutex_unlock(&w->mu);
				prune_step(w);
				pthread_mutex_lock(&w->mu);
				continue;
			}
			wait_for_work(w);
		}
		if (!w->head)
			break;
		/* Everything queued, up to MAX_GROUP events (a caller's batch is never split). */
		take = last = w->head;
		n = take->n;
		while (last->next && n + last->next->n <= MAX_GROUP) {
			last = last->next;
			n += last->n;
		}
		w->head = last->next;
		if (!w->head)
			w->tail = NULL;
		last->next = NULL;
		w->queued -= n;
		pthread_mutex_unlock(&w->mu);

		process(w, take);

		pthread_mutex_lock(&w->mu);
		for (job *j = take; j;) {
			job *next = j->next; /* the caller may return as soon as done is set */
			j->done = 1;
			j = next;
		}
		pthread_cond_broadcast(&w->done);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

kz_track_writer *kz_track_writer_start(kz_store *store, const char *default_country, kz_err *err)
{
	kz_track_writer *w = calloc(1, sizeof *w);
	if (!w) {
		kz_err_set(err, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	w->store = store;
	w->default_country = default_country;
	w->prune_every_ms = env_int("KIZUNA_PRUNE_INTERVAL_SECONDS", 3600) * 1000;
	w->prune_at = kz_now_ms() +
		      (w->prune_every_ms < FIRST_PRUNE_MS ? w->prune_every_ms : FIRST_PRUNE_MS);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->done, NULL);
	w->conn = kz_store_acquire(store);
	ckpt_start(w);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		ckpt_stop(w);
		release_conn(w);
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->work);
		pthread_cond_destroy(&w->done);
		free(w);
		kz_err_set(err, 500, "internal", NULL, "cannot start the event writer thread");
		return NULL;
	}
	w->started = 1;
	return w;
}

void kz_track_writer_stop(kz_track_writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
	if (w->started)
		pthread_join(w->thread, NULL);
	ckpt_stop(w);
	release_conn(w);
	json_decref(w->prune_sites);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->done);
	free(w);
}

int kz_track_write(kz_track_writer *w, kz_track_event *evs, int n, kz_err *err)
{
	job j;
	if (!w)
		return kz_err_set(err, 503, "unavailable", NULL, "the event writer is not running");
	if (n <= 0)
		return 0;
	memset(&j, 0, sizeof j);
	j.evs = evs;
	j.n = n;
	pthread_mutex_lock(&w->mu);
	if (w->stopping) {
		pthread_mutex_unlock(&w->mu);
		return kz_err_set(err, 503, "unavailable", NULL,
				  "the server is shutting down; send the events again");
	}
	/* The job lives on this stack frame; the queue may point at it because we do not
	 * return before the writer has set j.done under the lock. */
	if (w->tail)
		w->tail->next = &j; // cppcheck-suppress autoVariables
	else
		w->head = &j; // cppcheck-suppress autoVariables
	w->tail = &j;         // cppcheck-suppress autoVariables
	w->queued += n;
	pthread_cond_signal(&w->work);
	while (!j.done)
		pthread_cond_wait(&w->done, &w->mu);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

void kz_track_metrics(kz_track_writer *w, kz_buf *out)
{
	int queued = 0;
	if (w) {
		pthread_mutex_lock(&w->mu);
		queued = w->queued;
		pthread_mutex_unlock(&w->mu);
	}
	kz_buf_addf(out,
		    "# HELP kizuna_track_events_total Tracked events by outcome.\n"
		    "# TYPE kizuna_track_events_total counter\n"
		    "kizuna_track_events_total{outcome=\"stored\"} %llu\n"
		    "kizuna_track_events_total{outcome=\"duplicate\"} %llu\n"
		    "kizuna_track_events_total{outcome=\"failed\"} %llu\n"
		    "# HELP kizuna_track_dropped_total Collector events dropped before storage.\n"
		    "# TYPE kizuna_track_dropped_total counter\n"
		    "kizuna_track_dropped_total{reason=\"bot\"} %llu\n"
		    "kizuna_track_dropped_total{reason=\"dnt\"} %llu\n"
		    "kizuna_track_dropped_total{reason=\"origin\"} %llu\n"
		    "# HELP kizuna_track_bot_dropped_total Events from bots and headless browsers "
		    "dropped.\n"
		    "# TYPE kizuna_track_bot_dropped_total counter\n"
		    "kizuna_track_bot_dropped_total %llu\n"
		    "# HELP kizuna_track_commits_total Transactions the event writer committed.\n"
		    "# TYPE kizuna_track_commits_total counter\n"
		    "kizuna_track_commits_total %llu\n"
		    "# HELP kizuna_track_group_fallbacks_total Groups retried event by event.\n"
		    "# TYPE kizuna_track_group_fallbacks_total counter\n"
		    "kizuna_track_group_fallbacks_total %llu\n"
		    "# HELP kizuna_track_pruned_total Events past retention folded into rollups.\n"
		    "# TYPE kizuna_track_pruned_total counter\n"
		    "kizuna_track_pruned_total %llu\n"
		    "# HELP kizuna_track_queue_events Events waiting for the writer.\n"
		    "# TYPE kizuna_track_queue_events gauge\n"
		    "kizuna_track_queue_events %d\n",
		    atomic_load(&n_stored), atomic_load(&n_dup), atomic_load(&n_failed),
		    atomic_load(&n_drop[KZ_DROP_BOT]), atomic_load(&n_drop[KZ_DROP_DNT]),
		    atomic_load(&n_drop[KZ_DROP_ORIGIN]), atomic_load(&n_drop[KZ_DROP_BOT]),
		    atomic_load(&n_groups), atomic_load(&n_fallbacks), atomic_load(&n_pruned),
		    queued);
}
