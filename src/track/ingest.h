/* ingest.h — writing one validated event inside the writer's transaction: identity (visitor ↔
 * contact), stitching of the anonymous past, web sessions and attribution. */
#ifndef KZ_TRACK_INGEST_H
#define KZ_TRACK_INGEST_H

#include <jansson.h>

#include "base/err.h"
#include "store/store.h"
#include "track/event.h"

#define KZ_SESSION_IDLE_MS ((int64_t)30 * 60 * 1000) /* inactivity that starts a new visit */

/* What one group of events shares (loaded lazily, released after the group). */
typedef struct kz_ingest_ctx {
	const char *default_country; /* when the settings name none */
	json_t *field_defs;          /* custom field definitions, for identify traits */
	char country[8];
	int loaded;
} kz_ingest_ctx;

void kz_ingest_ctx_init(kz_ingest_ctx *x, const char *default_country);
void kz_ingest_ctx_release(kz_ingest_ctx *x);
/* 1 when the event may fail on its own account (contact rules) after it wrote something,
 * so the writer runs it inside a savepoint. */
int kz_ingest_needs_savepoint(const kz_track_event *ev);
/* Write the event and what it implies, in the caller's write transaction; sets ev->state to
 * KZ_EV_STORED or KZ_EV_DUPLICATE. err->status >= 500 means the database failed. */
int kz_ingest(kz_conn *c, kz_ingest_ctx *x, kz_track_event *ev, kz_err *err);

#endif
