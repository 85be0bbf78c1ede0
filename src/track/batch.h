/* batch.h — a request body of events (one, or {"batch": [...]}) through validation and the
 * writer to the answer {"accepted","duplicates","errors":[{"index","code","field","message"}]}. */
#ifndef KZ_TRACK_BATCH_H
#define KZ_TRACK_BATCH_H

#include <jansson.h>

#include "track/event.h"
#include "track/writer.h"

/* Collector policy applied before the writer. */
typedef struct kz_track_policy {
	int drop_headless; /* the site filters bots: events reporting navigator.webdriver go */
} kz_track_policy;

/* A body's events after validation: the valid ones (for the writer) and, per index, why the
 * others were refused. No SQL, no HTTP: this is what the fuzz target drives. */
typedef struct kz_track_batch {
	kz_track_event *evs; /* nvalid parsed events */
	size_t *index;       /* index[k]: the position of evs[k] in the body */
	size_t n, nvalid;    /* events in the body, events that passed */
	int single;          /* the body was one event, not {"batch": [...]} */
	int dropped;         /* headless browsers the policy dropped */
	json_t *errors;      /* [{"index","code","field","message"}], in index order */
} kz_track_batch;

/* Validate a body into *b (zeroed first). Returns 0, or the HTTP status with *answer set
 * when the body is refused whole (not a batch, too large, a single invalid event);
 * kz_track_batch_release is due either way. */
int kz_track_batch_parse(const json_t *body, const kz_track_src *src, const kz_track_policy *policy,
			 kz_track_batch *b, json_t **answer);
/* Free what a batch owns. */
void kz_track_batch_release(kz_track_batch *b);

/* Handle a body. Returns the HTTP status; *answer is the JSON text to send (the result, or
 * an {"error": ...} object for a malformed body or a single invalid event; NULL only when
 * memory ran out), the caller's to free. */
int kz_track_handle(kz_track_writer *w, const json_t *body, const kz_track_src *src,
		    const kz_track_policy *policy, char **answer);

/* The same without waiting: 0 with *pending set when the writer must answer first (it
 * calls done(cls) from its thread, after which kz_track_pending_answer makes the answer);
 * otherwise the HTTP status with *answer set at once. With done NULL it waits in place
 * (kz_track_handle) and never leaves anything pending. */
typedef struct kz_track_pending kz_track_pending;
int kz_track_submit(kz_track_writer *w, const json_t *body, const kz_track_src *src,
		    const kz_track_policy *policy, void (*done)(void *cls), void *cls,
		    kz_track_pending **pending, char **answer);
/* The answer of a pending submission (frees it). Returns the HTTP status. */
int kz_track_pending_answer(kz_track_pending *p, char **answer);

#endif
