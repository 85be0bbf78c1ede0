/* alert.h — the sender of form alerts to webhooks: one thread drains the durable queue
 * (kz_store_alert_*), posting each alert and retrying failures with backoff. */
#ifndef KZ_CAPTURE_ALERT_H
#define KZ_CAPTURE_ALERT_H

#include "store/store.h"

typedef struct kz_alerts kz_alerts;

/* Start the thread (retry_seconds: the first retry delay, doubled per attempt; attempts:
 * how many tries before an alert is given up). NULL when the thread cannot start. */
kz_alerts *kz_alerts_start(kz_store *store, int retry_seconds, int attempts);
/* Something was queued: look now rather than at the next poll. NULL is fine. */
void kz_alerts_kick(kz_alerts *a);
/* Finish the alert in hand and stop (queued alerts stay queued). NULL is fine. */
void kz_alerts_stop(kz_alerts *a);

#endif
