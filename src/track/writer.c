/* writer.c — the event writer: request threads append validated events to the event log
 * (src/track/evlog.c) and are answered at once; this thread applies the log to the store in
 * large transactions, moving the log's position in the same transaction, and wakes the few
 * callers that wait for the result (identify, alias, events naming a contact). */
#include "track/writer.h"
#include "base/json.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "store/db.h"
#include "store/rowjson.h"
#include "track/dedupe.h"
#include "track/evlog.h"
#include "track/ingest.h"

#include "base/banned.h"

/* Events per transaction: large enough that a backlog drains with few commits, small enough
 * that one group holds the write lock for tens of milliseconds, not seconds. */
#define MAX_GROUP 4000
/* A plain event the store refuses this many times (with the database reachable) is given up,
 * logged and counted as failed, so one poisoned record cannot stop the log. */
#define MAX_ATTEMPTS 5
#define WRITER_NICE 10

/* A caller waiting for the result of events first..last (their states go to evs). */
typedef struct waiter {
	uint64_t first, last;
	kz_track_event *evs; /* the caller's; those marked DUPLICATE were not logged */
	int n;
	void (*fn)(void *cls); /* NULL: a blocked kz_track_write, woken by `done` */
	void *cls;
	int done;
	struct waiter *next;
} waiter;

struct kz_track_writer {
	kz_store *store;
	kz_conn *conn;
	kz_evlog *log;
	kz_dedupe *seen;
	const char *default_country;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work;    /* the writer sleeps here */
	pthread_cond_t done;    /* blocked kz_track_write callers and kz_track_sync wait here */
	waiter *waiters;        /* under mu, in no particular order */
	_Atomic int idle;       /* the writer is (about to be) asleep: appenders signal work */
	/* Group commit: a plain event only nudges a sleeping writer (once per sleep), and the
	 * writer then lingers linger_ms for more before it applies them; someone waiting (a
	 * needs-result event, a read barrier) makes it urgent and cuts the linger short. */
	_Atomic int nudged, urgent;
	int linger_ms;
	_Atomic uint64_t applied; /* the log's events up to here are in the store */
	uint64_t max_lag;       /* appends are refused (503) past this many unapplied events */
	int stopping;
	int started;
	kz_track_event *evs; /* the group being applied */
	uint64_t *seqs;
	/* the listeners (kz_track_writer_on_commit): the audience, journeys */
	kz_track_commit_fn on_commit[KZ_TRACK_LISTENERS];
	void *on_commit_ctx[KZ_TRACK_LISTENERS];
	int nlisteners;
	kz_track_event **stored; /* the listener's view of a group */
	uint64_t stuck_seq; /* the event that failed last, and how often */
	int stuck_count;
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
};

/* The writer of this process, for kz_track_emit (one server, one writer). */
static kz_track_writer *_Atomic the_writer;

static _Atomic unsigned long long n_stored, n_dup, n_failed, n_groups, n_fallbacks, n_pruned;
static _Atomic unsigned long long n_logged, n_refused;
static _Atomic unsigned long long n_drop[3];

void kz_track_count_drop(enum kz_track_drop why, int n)
{
	if ((int)why >= 0 && why < 3 && n > 0)
		atomic_fetch_add(&n_drop[why], (unsigned long long)n);
}

static void replace_conn(kz_track_writer *w);

/* The CLOCK_REALTIME time ms from now, for pthread_cond_timedwait. */
static void deadline_in(int64_t ms, struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* ---- applying a group ---- */

static void fail_event(kz_track_event *ev, const kz_err *err)
{
	ev->state = KZ_EV_FAILED;
	ev->err = *err;
	if (!ev->err.status)
		kz_err_set(&ev->err, 500, "internal", NULL, "the event could not be written");
}

/* One event inside the open transaction. Events that can fail on their own account (contact
 * rules) run in a savepoint and fail alone (0, state FAILED); a database error is -1. */
static int apply_one(kz_conn *c, kz_ingest_ctx *x, kz_track_event *ev, kz_err *err)
{
	kz_err e;
	kz_err_clear(&e);
	ev->state = KZ_EV_PENDING;
	if (!kz_ingest_needs_savepoint(ev))
		return kz_ingest(c, x, ev, err);
	if (kz_tx_savepoint(c, err) < 0)
		return -1;
	if (kz_ingest(c, x, ev, &e) == 0)
		return kz_tx_savepoint_release(c, err);
	kz_tx_savepoint_rollback(c);
	if (e.status >= 500 || e.status == 0) {
		*err = e;
		return -1;
	}
	fail_event(ev, &e);
	return 0;
}

/* evs[0..n) and the log position after them, in one transaction. */
static int apply_group(kz_track_writer *w, kz_ingest_ctx *x, int n, kz_err *err)
{
	kz_conn *c = w->conn;
	if (kz_tx_begin(c, 1, err) < 0)
		return -1;
	for (int i = 0; i < n; i++)
		if (apply_one(c, x, &w->evs[i], err) < 0)
			goto fail;
	if (kz_store_evlog_pos_set(c, kz_evlog_id(w->log), (int64_t)w->seqs[n - 1], err) < 0)
		goto fail;
	return kz_tx_commit(c, err);
fail:
	kz_tx_rollback(c);
	return -1;
}

/* Only the position (for an event given up). */
static int skip_event(kz_track_writer *w, uint64_t seq, kz_err *err)
{
	if (kz_tx_begin(w->conn, 1, err) < 0)
		return -1;
	if (kz_store_evlog_pos_set(w->conn, kz_evlog_id(w->log), (int64_t)seq, err) < 0) {
		kz_tx_rollback(w->conn);
		return -1;
	}
	return kz_tx_commit(w->conn, err);
}

/* Event i alone, with its position, in one transaction. */
static int apply_group_at(kz_track_writer *w, kz_ingest_ctx *x, int i, kz_err *err)
{
	kz_conn *c = w->conn;
	if (kz_tx_begin(c, 1, err) < 0)
		return -1;
	if (apply_one(c, x, &w->evs[i], err) < 0 ||
	    kz_store_evlog_pos_set(c, kz_evlog_id(w->log), (int64_t)w->seqs[i], err) < 0) {
		kz_tx_rollback(c);
		return -1;
	}
	return kz_tx_commit(c, err);
}

/* After a failed group: event by event, so one bad row cannot sink the others. Returns how
 * many events (from the start) are done; fewer than n when the store is failing. */
static int apply_one_by_one(kz_track_writer *w, kz_ingest_ctx *x, int n)
{
	for (int i = 0; i < n; i++) {
		kz_track_event *ev = &w->evs[i];
		kz_err e;
		kz_err_clear(&e);
		if (apply_group_at(w, x, i, &e) == 0)
			continue;
		if (w->stuck_seq != w->seqs[i]) {
			w->stuck_seq = w->seqs[i];
			w->stuck_count = 0;
		}
		if (++w->stuck_count < MAX_ATTEMPTS || kz_store_ping(w->store) < 0) {
			kz_warn("track writer: event %" PRIu64 " not applied (%s); retrying",
				w->seqs[i], e.message);
			return i;
		}
		kz_warn("track writer: giving up event %" PRIu64 " (%s %s, messageId %s): %s",
			w->seqs[i], kz_track_type_name(ev->type), ev->name,
			ev->message_id ? ev->message_id : "-", e.message);
		fail_event(ev, &e);
		if (skip_event(w, w->seqs[i], &e) < 0)
			return i;
	}
	return n;
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
		deadline_in(CKPT_EVERY_MS, &ts);
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
	waiting = w->stopping || (uint64_t)atomic_load(&w->applied) < kz_evlog_last(w->log);
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
	/* every site, then the events without a site, then those of sites deleted since (both
	 * kept for KIZUNA_EVENT_RETENTION_DAYS) */
	while (w->prune_next <= json_array_size(w->prune_sites) + 1) {
		json_t *site = json_array_get(w->prune_sites, w->prune_next);
		int64_t id = site ? json_integer_value(json_object_get(site, "id"))
			   : w->prune_next == json_array_size(w->prune_sites) ? 0
									   : KZ_SITE_GONE;
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
	deadline_in(ms, &ts);
	pthread_cond_timedwait(&w->work, &w->mu, &ts);
}

static void count(const kz_track_event *evs, int n)
{
	unsigned long long s = 0, d = 0, f = 0;
	for (int i = 0; i < n; i++) {
		s += evs[i].state == KZ_EV_STORED;
		d += evs[i].state == KZ_EV_DUPLICATE;
		f += evs[i].state == KZ_EV_FAILED;
	}
	atomic_fetch_add(&n_stored, s);
	atomic_fetch_add(&n_dup, d);
	atomic_fetch_add(&n_failed, f);
	atomic_fetch_add(&n_groups, 1);
}

/* After events seqs[0..n) are applied: hand their states to the callers waiting for them and
 * wake those whose events are all done (callbacks run after the lock is let go). */
static void notify(kz_track_writer *w, int n)
{
	uint64_t a = w->seqs[0], b = w->seqs[n - 1];
	waiter **pp, *ready = NULL;
	pthread_mutex_lock(&w->mu);
	atomic_store(&w->applied, b);
	for (pp = &w->waiters; *pp;) {
		waiter *q = *pp;
		if (q->first <= b && q->last >= a) {
			uint64_t seq = q->first;
			for (int i = 0; i < q->n; i++) {
				kz_track_event *mine = &q->evs[i];
				if (mine->state == KZ_EV_DUPLICATE)
					continue; /* not logged */
				if (seq >= a && seq <= b) {
					mine->state = w->evs[seq - a].state;
					mine->err = w->evs[seq - a].err;
				}
				seq++;
			}
		}
		if (q->last <= b) {
			*pp = q->next;
			if (q->fn) {
				q->next = ready;
				ready = q;
			} else {
				q->done = 1;
			}
		} else {
			pp = &q->next;
		}
	}
	pthread_cond_broadcast(&w->done);
	pthread_mutex_unlock(&w->mu);
	while (ready) {
		waiter *q = ready;
		ready = q->next;
		q->fn(q->cls);
		free(q);
	}
}

/* Hand the stored events of evs[0..n) to the commit listener. The log keeps properties as
 * text; the listener gets them as JSON too. */
static void notify_commit(kz_track_writer *w, int n)
{
	kz_track_commit_fn fn[KZ_TRACK_LISTENERS];
	void *ctx[KZ_TRACK_LISTENERS];
	int k = 0, nl;
	pthread_mutex_lock(&w->mu);
	nl = w->nlisteners;
	for (int i = 0; i < nl; i++) {
		fn[i] = w->on_commit[i];
		ctx[i] = w->on_commit_ctx[i];
	}
	pthread_mutex_unlock(&w->mu);
	if (!nl)
		return;
	for (int i = 0; i < n; i++) {
		kz_track_event *ev = &w->evs[i];
		if (ev->state != KZ_EV_STORED)
			continue;
		if (!ev->properties)
			ev->properties = kz_json_loads(
				ev->properties_text ? ev->properties_text : "{}", 0, NULL);
		if (!ev->properties)
			ev->properties = json_object();
		w->stored[k++] = ev;
	}
	for (int i = 0; k && i < nl; i++)
		fn[i](ctx[i], w->stored, k);
}

void kz_track_writer_on_commit(kz_track_writer *w, kz_track_commit_fn fn, void *ctx)
{
	pthread_mutex_lock(&w->mu);
	if (w->nlisteners < KZ_TRACK_LISTENERS) {
		w->on_commit[w->nlisteners] = fn;
		w->on_commit_ctx[w->nlisteners++] = ctx;
	}
	pthread_mutex_unlock(&w->mu);
}

/* Read the next group from the log and apply it. 1: applied some, 0: nothing to do, -1: the
 * store failed (the events stay in the log; try again later). */
static int apply_next(kz_track_writer *w)
{
	kz_ingest_ctx x;
	kz_err err;
	uint64_t after = atomic_load(&w->applied);
	int n, done;
	kz_err_clear(&err);
	n = kz_evlog_read(w->log, after, w->evs, w->seqs, MAX_GROUP, &err);
	if (n < 0) {
		kz_warn("track writer: %s", err.message);
		return -1;
	}
	if (n == 0)
		return 0;
	kz_ingest_ctx_init(&x, w->default_country);
	done = n;
	if (apply_group(w, &x, n, &err) < 0) {
		kz_warn("track writer: group of %d failed (%s); applying its events one by one", n,
			err.message);
		atomic_fetch_add(&n_fallbacks, 1);
		replace_conn(w); /* a broken connection is replaced when it goes back to the pool */
		kz_ingest_ctx_release(&x);
		done = apply_one_by_one(w, &x, n);
	}
	kz_ingest_ctx_release(&x);
	if (done > 0) {
		for (int i = 0; i < done; i++)
			if (w->evs[i].state == KZ_EV_STORED && w->evs[i].message_id)
				kz_dedupe_add(w->seen, w->evs[i].message_id);
		count(w->evs, done);
		notify_commit(w, done);
		notify(w, done);
		kz_evlog_trim(w->log, w->seqs[done - 1]);
	}
	for (int i = 0; i < n; i++)
		kz_track_event_release(&w->evs[i]);
	if (done < n) {
		/* The reader moved past the events not applied: make it read them again. */
		return -1;
	}
	return 1;
}

static void *writer_main(void *arg)
{
	kz_track_writer *w = arg;
	int backoff_ms = 0;
	prctl(PR_SET_NAME, "kz-track-writer", 0, 0, 0); /* visible in top -H, perf, gdb */
	/* Taking events in comes first: under a burst the log grows and this thread catches up
	 * when the request threads leave it CPU (bounded by max_lag). Linux: nice is per thread. */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), WRITER_NICE) < 0)
		kz_debug("track writer: cannot lower its priority");
	for (;;) {
		int r = apply_next(w);
		if (r > 0) {
			backoff_ms = 0;
			continue;
		}
		if (r < 0) { /* the store is failing: wait a little, more each time, up to 2 s */
			backoff_ms = backoff_ms ? (backoff_ms * 2 > 2000 ? 2000 : backoff_ms * 2) : 50;
			usleep((useconds_t)backoff_ms * 1000);
			pthread_mutex_lock(&w->mu);
			r = w->stopping;
			pthread_mutex_unlock(&w->mu);
			if (r)
				break;
			continue;
		}
		pthread_mutex_lock(&w->mu);
		if (w->stopping) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		atomic_store(&w->idle, 1);
		atomic_store(&w->nudged, 0); /* under mu: a nudge from now on is signalled */
		/* an append that came after apply_next looked, before `idle`, is seen here */
		if (kz_evlog_last(w->log) == atomic_load(&w->applied)) {
			if (prune_due(w)) {
				atomic_store(&w->idle, 0);
				pthread_mutex_unlock(&w->mu);
				prune_step(w);
				continue;
			}
			wait_for_work(w);
			if (w->linger_ms > 0 && !atomic_load(&w->urgent) && !w->stopping &&
			    kz_evlog_last(w->log) != atomic_load(&w->applied)) {
				struct timespec ts;
				deadline_in(w->linger_ms, &ts);
				while (!atomic_load(&w->urgent) && !w->stopping &&
				       pthread_cond_timedwait(&w->work, &w->mu, &ts) == 0)
					;
			}
		}
		atomic_store(&w->urgent, 0);
		atomic_store(&w->idle, 0);
		pthread_mutex_unlock(&w->mu);
	}
	return NULL;
}

static void seed_dedupe(void *ctx, const char *id)
{
	if (id)
		kz_dedupe_add(ctx, id);
}

/* Where the store says this log was applied up to; a log the store never saw is set aside
 * when it holds events (they belong to another database). */
static int load_position(kz_track_writer *w, kz_err *err)
{
	int64_t seq = 0;
	int found = 0;
	if (kz_store_evlog_pos_get(w->conn, kz_evlog_id(w->log), &seq, &found, err) < 0)
		return -1;
	if (!found && kz_evlog_last(w->log) > 0 && kz_evlog_set_aside(w->log, err) < 0)
		return -1;
	if (!found && kz_store_evlog_pos_set(w->conn, kz_evlog_id(w->log), 0, err) < 0)
		return -1;
	if ((uint64_t)seq > kz_evlog_last(w->log))
		kz_evlog_skip_to(w->log, (uint64_t)seq);
	atomic_store(&w->applied, (uint64_t)seq);
	return 0;
}

static void writer_free(kz_track_writer *w)
{
	if (w->conn)
		release_conn(w);
	kz_evlog_close(w->log);
	kz_dedupe_free(w->seen);
	json_decref(w->prune_sites);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->done);
	free(w->evs);
	free(w->seqs);
	free(w->stored);
	free(w);
}

kz_track_writer *kz_track_writer_start(kz_store *store, const kz_track_writer_opts *o,
				       kz_err *err)
{
	kz_track_writer *w = calloc(1, sizeof *w);
	if (!w) {
		kz_err_set(err, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	w->store = store;
	w->default_country = o->default_country;
	if (o->on_commit) {
		w->on_commit[0] = o->on_commit;
		w->on_commit_ctx[0] = o->on_commit_ctx;
		w->nlisteners = 1;
	}
	w->max_lag = o->max_lag ? o->max_lag : 5000000;
	w->prune_every_ms = env_int("KIZUNA_PRUNE_INTERVAL_SECONDS", 3600) * 1000;
	w->linger_ms = (int)env_int("KIZUNA_TRACK_LINGER_MS", 3);
	if (w->linger_ms > 100)
		w->linger_ms = 100;
	w->prune_at = kz_now_ms() +
		      (w->prune_every_ms < FIRST_PRUNE_MS ? w->prune_every_ms : FIRST_PRUNE_MS);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->done, NULL);
	pthread_cond_init(&w->ckpt_wake, NULL);
	w->evs = calloc(MAX_GROUP, sizeof *w->evs);
	w->seqs = calloc(MAX_GROUP, sizeof *w->seqs);
	w->stored = calloc(MAX_GROUP, sizeof *w->stored);
	w->seen = kz_dedupe_new(o->dedupe_window ? o->dedupe_window : 1000000);
	if (!w->evs || !w->seqs || !w->stored || !w->seen) {
		kz_err_set(err, 500, "internal", NULL, "out of memory");
		goto fail;
	}
	w->log = kz_evlog_open(o->log_dir, o->log_file_bytes, err);
	if (!w->log)
		goto fail;
	kz_evlog_set_sync(w->log, o->log_sync);
	w->conn = kz_store_acquire(store);
	if (load_position(w, err) < 0 ||
	    kz_store_event_recent_ids(w->conn, (int)(o->dedupe_window ? o->dedupe_window : 1000000),
				      seed_dedupe, w->seen, err) < 0)
		goto fail;
	if (kz_evlog_last(w->log) > atomic_load(&w->applied))
		kz_info("track writer: %" PRIu64 " logged events to apply from %s",
			kz_evlog_last(w->log) - atomic_load(&w->applied), o->log_dir);
	ckpt_start(w);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		ckpt_stop(w);
		kz_err_set(err, 500, "internal", NULL, "cannot start the event writer thread");
		goto fail;
	}
	w->started = 1;
	atomic_store(&the_writer, w);
	return w;
fail:
	writer_free(w);
	return NULL;
}

void kz_track_writer_stop(kz_track_writer *w)
{
	if (!w)
		return;
	if (atomic_load(&the_writer) == w)
		atomic_store(&the_writer, NULL);
	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
	if (w->started)
		pthread_join(w->thread, NULL);
	ckpt_stop(w);
	writer_free(w);
}

/* In-memory duplicate check before logging. Marks DUPLICATE what the window or an earlier
 * event of the same call has seen; returns how many remain PENDING. */
static int mark_duplicates(kz_track_writer *w, kz_track_event *evs, int n)
{
	int left = 0;
	for (int i = 0; i < n; i++) {
		kz_track_event *ev = &evs[i];
		ev->state = KZ_EV_PENDING;
		kz_err_clear(&ev->err);
		if (ev->message_id) {
			int dup = kz_dedupe_has(w->seen, ev->message_id);
			for (int k = 0; k < i && !dup; k++)
				dup = evs[k].message_id && evs[k].state != KZ_EV_DUPLICATE &&
				      !strcmp(evs[k].message_id, ev->message_id);
			if (dup) {
				ev->state = KZ_EV_DUPLICATE;
				continue;
			}
		}
		left++;
	}
	return left;
}

/* The log is too far ahead of the store. (applied is read first: it only grows, and never
 * past the log's end, so the difference cannot wrap.) */
static int over_lag(kz_track_writer *w)
{
	uint64_t applied = atomic_load(&w->applied);
	return kz_evlog_last(w->log) - applied > w->max_lag;
}

static int needs_result(const kz_track_event *evs, int n)
{
	for (int i = 0; i < n; i++)
		if (evs[i].state == KZ_EV_PENDING && kz_ingest_needs_savepoint(&evs[i]))
			return 1;
	return 0;
}

/* urgent: someone waits for the writer. Otherwise only the first plain append of a sleep
 * wakes it (the writer then lingers for the rest of the group). */
static void wake_writer(kz_track_writer *w, int urgent)
{
	if (urgent)
		atomic_store(&w->urgent, 1);
	else if (!atomic_load(&w->idle) || atomic_exchange(&w->nudged, 1))
		return;
	if (atomic_load(&w->idle)) {
		pthread_mutex_lock(&w->mu);
		pthread_cond_signal(&w->work);
		pthread_mutex_unlock(&w->mu);
	}
}

int kz_track_write_async(kz_track_writer *w, kz_track_event *evs, int n, void (*fn)(void *),
			 void *cls, kz_err *err)
{
	waiter *q, stack_q;
	uint64_t first = 0;
	int left;
	if (!w)
		return kz_err_set(err, 503, "unavailable", NULL, "the event writer is not running");
	left = mark_duplicates(w, evs, n);
	if (!left)
		return 0;
	if (over_lag(w)) {
		atomic_fetch_add(&n_refused, (unsigned long long)left);
		return kz_err_set(err, 503, "busy", NULL,
				  "the server is behind with writing events; send them again in a "
				  "few seconds");
	}
	if (!needs_result(evs, n)) {
		/* Plain events: durable once in the log; the writer applies them later. */
		if (kz_evlog_append(w->log, evs, n, &first, err) < 0)
			return -1;
		for (int i = 0; i < n; i++)
			if (evs[i].state == KZ_EV_PENDING) {
				evs[i].state = KZ_EV_STORED;
				if (evs[i].message_id)
					kz_dedupe_add(w->seen, evs[i].message_id);
			}
		atomic_fetch_add(&n_logged, (unsigned long long)left);
		wake_writer(w, 0);
		return 0;
	}
	q = fn ? calloc(1, sizeof *q) : &stack_q;
	if (!q)
		return kz_err_set(err, 503, "internal", NULL, "out of memory");
	memset(q, 0, sizeof *q);
	q->fn = fn;
	q->cls = cls;
	q->evs = evs;
	q->n = n;
	/* The waiter is listed in the same critical section as the append, so the writer cannot
	 * hand out these events' results before it knows who waits for them. */
	pthread_mutex_lock(&w->mu);
	if (w->stopping || kz_evlog_append(w->log, evs, n, &first, err) < 0) {
		if (w->stopping)
			kz_err_set(err, 503, "unavailable", NULL,
				   "the server is shutting down; send the events again");
		pthread_mutex_unlock(&w->mu);
		if (q != &stack_q)
			free(q);
		return -1;
	}
	q->first = first;
	q->last = first + (uint64_t)left - 1;
	q->next = w->waiters;
	w->waiters = q;
	pthread_mutex_unlock(&w->mu);
	atomic_fetch_add(&n_logged, (unsigned long long)left);
	wake_writer(w, 1);
	if (fn)
		return 1;
	pthread_mutex_lock(&w->mu); /* kz_track_write: wait here */
	while (!stack_q.done)
		pthread_cond_wait(&w->done, &w->mu);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

int kz_track_write(kz_track_writer *w, kz_track_event *evs, int n, kz_err *err)
{
	if (n <= 0)
		return 0;
	return kz_track_write_async(w, evs, n, NULL, NULL, err) < 0 ? -1 : 0;
}

/* An emitted event, owned until the writer is done with it. */
typedef struct emitted {
	kz_track_event ev;
} emitted;

static void emitted_done(void *cls)
{
	emitted *e = cls;
	if (e->ev.state == KZ_EV_FAILED)
		kz_warn("track: %s event not stored: %s", e->ev.name, e->ev.err.message);
	kz_track_event_release(&e->ev);
	free(e);
}

int kz_track_emit(const json_t *event, const kz_track_src *src, int64_t occurred_at,
		  kz_err *err)
{
	kz_track_writer *w = atomic_load(&the_writer);
	emitted *e;
	int r;
	if (!w)
		return 1;
	e = calloc(1, sizeof *e);
	if (!e)
		return kz_err_set(err, 500, "internal", NULL, "out of memory");
	if (kz_track_event_parse(event, src, &e->ev, err) < 0) {
		free(e);
		return -1;
	}
	if (occurred_at)
		e->ev.occurred_at = occurred_at;
	r = kz_track_write_async(w, &e->ev, 1, emitted_done, e, err);
	if (r != 1) /* logged and final already (or refused): nothing will call back */
		emitted_done(e);
	return r < 0 ? -1 : 0;
}

int kz_track_emit_wait(const json_t *event, const kz_track_src *src, int64_t occurred_at,
		       kz_err *err)
{
	kz_track_writer *w = atomic_load(&the_writer);
	kz_track_event ev;
	int rc;
	if (!w)
		return 1;
	if (kz_track_event_parse(event, src, &ev, err) < 0)
		return -1;
	if (occurred_at)
		ev.occurred_at = occurred_at;
	rc = kz_track_write(w, &ev, 1, err);
	if (rc == 0 && ev.state == KZ_EV_FAILED) {
		*err = ev.err;
		rc = -1;
	}
	kz_track_event_release(&ev);
	return rc;
}

int kz_track_sync(kz_track_writer *w, int timeout_ms)
{
	struct timespec ts;
	uint64_t target;
	int rc = 0;
	if (!w)
		return 0;
	target = kz_evlog_last(w->log);
	if (atomic_load(&w->applied) >= target)
		return 0;
	wake_writer(w, 1);
	deadline_in(timeout_ms, &ts);
	pthread_mutex_lock(&w->mu);
	while (atomic_load(&w->applied) < target && rc == 0)
		rc = pthread_cond_timedwait(&w->done, &w->mu, &ts);
	pthread_mutex_unlock(&w->mu);
	return atomic_load(&w->applied) >= target ? 0 : -1;
}

void kz_track_metrics(kz_track_writer *w, kz_buf *out)
{
	unsigned long long lag = 0, bytes = 0, window = 0;
	if (w) {
		uint64_t applied = atomic_load(&w->applied);
		lag = kz_evlog_last(w->log) - applied;
		bytes = kz_evlog_bytes(w->log);
		window = kz_dedupe_size(w->seen);
	}
	kz_buf_addf(out,
		    "# HELP kizuna_track_events_total Tracked events by outcome.\n"
		    "# TYPE kizuna_track_events_total counter\n"
		    "kizuna_track_events_total{outcome=\"stored\"} %llu\n"
		    "kizuna_track_events_total{outcome=\"duplicate\"} %llu\n"
		    "kizuna_track_events_total{outcome=\"failed\"} %llu\n"
		    "# HELP kizuna_track_logged_total Events appended to the event log.\n"
		    "# TYPE kizuna_track_logged_total counter\n"
		    "kizuna_track_logged_total %llu\n"
		    "# HELP kizuna_track_refused_total Events refused because the log was too far "
		    "ahead of the store.\n"
		    "# TYPE kizuna_track_refused_total counter\n"
		    "kizuna_track_refused_total %llu\n"
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
		    "# HELP kizuna_track_queue_events Logged events not yet applied to the store.\n"
		    "# TYPE kizuna_track_queue_events gauge\n"
		    "kizuna_track_queue_events %llu\n"
		    "# HELP kizuna_track_log_bytes Bytes in the event log's files.\n"
		    "# TYPE kizuna_track_log_bytes gauge\n"
		    "kizuna_track_log_bytes %llu\n"
		    "# HELP kizuna_track_dedupe_ids messageIds remembered for duplicate answers.\n"
		    "# TYPE kizuna_track_dedupe_ids gauge\n"
		    "kizuna_track_dedupe_ids %llu\n",
		    atomic_load(&n_stored), atomic_load(&n_dup), atomic_load(&n_failed),
		    atomic_load(&n_logged), atomic_load(&n_refused),
		    atomic_load(&n_drop[KZ_DROP_BOT]), atomic_load(&n_drop[KZ_DROP_DNT]),
		    atomic_load(&n_drop[KZ_DROP_ORIGIN]), atomic_load(&n_drop[KZ_DROP_BOT]),
		    atomic_load(&n_groups), atomic_load(&n_fallbacks), atomic_load(&n_pruned), lag,
		    bytes, window);
}
