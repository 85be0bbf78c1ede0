/* evlog.h — the event log: validated events appended to files before they are acknowledged,
 * read back in order by the writer that applies them to the store.
 *
 * An event acknowledged by the collector is one write(2) into the page cache, which outlives
 * `kill -9` of the server (the same promise as SQLite's WAL with synchronous=NORMAL). The
 * writer thread applies the log to the database in large transactions and records, in the
 * same transaction, how far it got; a restart replays the rest. Files live in one directory
 * per server (node), locked while open; a file is deleted once all of its events are applied. */
#ifndef KZ_TRACK_EVLOG_H
#define KZ_TRACK_EVLOG_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "track/event.h"

typedef struct kz_evlog kz_evlog;

/* Open (creating) the log in dir and lock it; a torn record at the end (a crash while
 * writing) is cut off. file_bytes: size at which a new file starts (0: 64 MiB). */
kz_evlog *kz_evlog_open(const char *dir, size_t file_bytes, kz_err *err);
void kz_evlog_close(kz_evlog *l);
/* Also fdatasync(2) every append before it returns (survives a power cut; each append then
 * costs a disk flush). Off by default. */
void kz_evlog_set_sync(kz_evlog *l, int on);
/* The log's identity (32 hex digits), made when its directory was first used. */
const char *kz_evlog_id(const kz_evlog *l);
/* The sequence number of the last appended event (0: none yet). */
uint64_t kz_evlog_last(kz_evlog *l);
/* Continue numbering after `seq` when the log ends before it (its files were removed). */
void kz_evlog_skip_to(kz_evlog *l, uint64_t seq);
/* Forget every event in the log: its files go to DIR.orphan-<ms> (kept for an operator)
 * and numbering restarts at 1 under a new identity. For a log the database never saw. */
int kz_evlog_set_aside(kz_evlog *l, kz_err *err);

/* Append the events of evs[0..n) not marked KZ_EV_DUPLICATE in one write; *first gets the
 * first one's sequence number, the others follow. 0, or -1 with err (nothing of it is in
 * the log). Thread-safe. */
int kz_evlog_append(kz_evlog *l, const kz_track_event *evs, int n, uint64_t *first, kz_err *err);

/* The next events after sequence number `after` (at most max) decoded into evs (release each
 * with kz_track_event_release) with their numbers in seqs. Returns how many, 0 when none,
 * -1 with err. One reader at a time (the writer thread). */
int kz_evlog_read(kz_evlog *l, uint64_t after, kz_track_event *evs, uint64_t *seqs, int max,
		  kz_err *err);
/* Delete the files whose events all have numbers <= seq (applied). */
void kz_evlog_trim(kz_evlog *l, uint64_t seq);
/* Bytes in the log's files now. */
uint64_t kz_evlog_bytes(kz_evlog *l);

/* ---- the record codec (exposed for the unit tests and the fuzz target) ---- */
#define KZ_EVLOG_HEADER 24
/* Append one record for ev numbered seq to out. -1 when out is full. */
int kz_evlog_encode(const kz_track_event *ev, uint64_t seq, kz_buf *out);
/* Decode the record at p (len bytes available): 1 and *used = its size; 0 when p holds only
 * part of a record; -1 when it is not a valid record (bad magic, checksum or content). */
int kz_evlog_decode(const unsigned char *p, size_t len, kz_track_event *ev, uint64_t *seq,
		    size_t *used);

#endif
