/* writer.h — the durable group-commit writer: one thread, one connection, one transaction per
 * group of queued events; a caller is answered only after its events are committed. */
#ifndef KZ_TRACK_WRITER_H
#define KZ_TRACK_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "store/store.h"
#include "track/event.h"

typedef struct kz_track_writer kz_track_writer;

#define KZ_TRACK_LISTENERS 4
typedef void (*kz_track_commit_fn)(void *ctx, kz_track_event *const *evs, int n);

typedef struct kz_track_writer_opts {
	const char *default_country; /* for identify traits when the settings name none */
	const char *log_dir;         /* the event log's directory (created when missing) */
	size_t log_file_bytes;       /* a new log file past this size (0: 64 MiB) */
	uint64_t max_lag;            /* refuse events past this many unapplied (0: 5,000,000) */
	size_t dedupe_window;        /* messageIds remembered for duplicate answers (0: 1M) */
	int log_sync;                /* fdatasync each append (power-cut safe, slower) */
	/* the commit listener (see kz_track_writer_on_commit), set before the thread starts so
	 * that it also hears the events replayed from the log at start */
	kz_track_commit_fn on_commit;
	void *on_commit_ctx;
} kz_track_writer_opts;

/* Open the event log, find where the store left it, and start the writer thread on a
 * connection borrowed from `store` for its whole life. Events logged before a crash are
 * applied first. */
kz_track_writer *kz_track_writer_start(kz_store *store, const kz_track_writer_opts *o,
				       kz_err *err);
/* Finish the group in hand, stop the thread and give the connection back (what is still
 * in the log is applied at the next start). NULL is fine. */
void kz_track_writer_stop(kz_track_writer *w);

/* Hand n parsed events to the writer. Events whose messageId was seen lately become
 * KZ_EV_DUPLICATE; the rest go into the event log in one write, durable when this returns.
 * Returns 0 when every event's state is final (plain events are KZ_EV_STORED once logged);
 * 1 when some need the store's answer (identify, alias, events naming an email or contact):
 * then fn(cls) is called from the writer's thread once all are applied, and their states
 * (and err when KZ_EV_FAILED) are set by then; evs must live until that call. -1 with err
 * when nothing was logged (503: the log is not writable, or too far ahead of the store). */
int kz_track_write_async(kz_track_writer *w, kz_track_event *evs, int n, void (*fn)(void *cls),
			 void *cls, kz_err *err);
/* The same, waiting in place for the store's answer where one is needed. 0 or -1. */
int kz_track_write(kz_track_writer *w, kz_track_event *evs, int n, kz_err *err);
/* For events that other parts of the server produce (form submissions, downloads, email
 * opens): validate `event` (Segment style, as the server API takes it) and log it through
 * the running writer without waiting, so it reaches the store, the audience engine and
 * journeys like any tracked event. occurred_at overrides the time when not 0. Returns 0
 * when logged, 1 when no writer runs in this process (a CLI command: the caller writes
 * the event itself), -1 with err when the event is invalid or could not be logged. Call
 * it after the caller's transaction commits. */
int kz_track_emit(const json_t *event, const kz_track_src *src, int64_t occurred_at,
		  kz_err *err);
/* The same, returning once the store has the event (for a caller whose next step reads it:
 * a form submission ties the visitor to the contact for the next page). Never call it
 * inside an open write transaction: the writer needs the store's write lock. */
int kz_track_emit_wait(const json_t *event, const kz_track_src *src, int64_t occurred_at,
		       kz_err *err);

/* Read-your-writes: wait (at most timeout_ms) until every event logged before this call is
 * in the store. 0, or -1 when the time ran out. */
int kz_track_sync(kz_track_writer *w, int timeout_ms);

/* Called on the writer thread after each committed group with the events it stored
 * (state KZ_EV_STORED; stored_contact_id, properties and context set), before callers that
 * wait for the store are answered. The events are the writer's: copy (or incref) what you
 * keep. Up to KZ_TRACK_LISTENERS listeners (the first may be given in the options, before
 * the thread starts), called in the order they were added. */
void kz_track_writer_on_commit(kz_track_writer *w, kz_track_commit_fn fn, void *ctx);

/* Counters of what the collector dropped before the writer. */
enum kz_track_drop { KZ_DROP_BOT, KZ_DROP_DNT, KZ_DROP_ORIGIN };
void kz_track_count_drop(enum kz_track_drop why, int n);
/* Append the Prometheus text of the tracking counters (w may be NULL). */
void kz_track_metrics(kz_track_writer *w, kz_buf *out);

#endif
