/* counter.h — impressions, clicks, visits and conversions of variants, counted in memory on
 * the hot path and written to the store in one transaction at most every half second (and
 * before any read of them, and at shutdown). */
#ifndef KZ_CAPTURE_COUNTER_H
#define KZ_CAPTURE_COUNTER_H

#include <stdint.h>

#include "store/store.h"

/* Count one of kind (KZ_COUNT_*) for slot or page id and its variant key. */
void kz_counter_hit(int kind, int64_t id, const char *variant);
/* Write what was counted when the last write is older than 500 ms (force: now). A failed
 * write keeps the counts for the next one. */
void kz_counter_flush(kz_store *store, int force);

#endif
