/* writer.h — the durable group-commit writer: one thread, one connection, one transaction per
 * group of queued events; a caller is answered only after its events are committed. */
#ifndef KZ_TRACK_WRITER_H
#define KZ_TRACK_WRITER_H

#include "base/buf.h"
#include "base/err.h"
#include "store/store.h"
#include "track/event.h"

typedef struct kz_track_writer kz_track_writer;

/* Start the writer thread on a connection borrowed from `store` for its whole life.
 * default_country is used for identify traits when the settings name none. */
kz_track_writer *kz_track_writer_start(kz_store *store, const char *default_country, kz_err *err);
/* Write what is queued, then stop the thread and give the connection back. NULL is fine. */
void kz_track_writer_stop(kz_track_writer *w);
/* Queue n parsed events and wait until the group holding them is committed. Each event's
 * state (and err when KZ_EV_FAILED) says what became of it. Returns 0, or -1 with err when
 * the writer is stopped. */
int kz_track_write(kz_track_writer *w, kz_track_event *evs, int n, kz_err *err);

/* Called on the writer thread after each committed group with the events it stored
 * (state KZ_EV_STORED; stored_contact_id set), before their callers are answered. The
 * events belong to their callers: copy (or incref) what you keep. One listener. */
typedef void (*kz_track_commit_fn)(void *ctx, kz_track_event *const *evs, int n);
void kz_track_writer_on_commit(kz_track_writer *w, kz_track_commit_fn fn, void *ctx);

/* Counters of what the collector dropped before the writer. */
enum kz_track_drop { KZ_DROP_BOT, KZ_DROP_DNT, KZ_DROP_ORIGIN };
void kz_track_count_drop(enum kz_track_drop why, int n);
/* Append the Prometheus text of the tracking counters (w may be NULL). */
void kz_track_metrics(kz_track_writer *w, kz_buf *out);

#endif
