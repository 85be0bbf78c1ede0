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

/* Handle a body. Returns the HTTP status; *answer is the JSON to send (the result, or an
 * {"error": ...} object for a malformed body or a single invalid event). */
int kz_track_handle(kz_track_writer *w, const json_t *body, const kz_track_src *src,
		    const kz_track_policy *policy, json_t **answer);

#endif
