/* webhook.h — one JSON POST to an HTTP endpoint (Slack-style incoming webhooks and the like),
 * with its outcome mapped to accepted / retry later / refused for good. */
#ifndef KZ_WEBHOOK_H
#define KZ_WEBHOOK_H

#include <stddef.h>

#include "base/err.h"
#include "channel/transport.h"

/* POST body (JSON) to url within timeout_s. 0 on a 2xx answer; KZ_SEND_TEMP on a connection
 * failure, a timeout, 408, 429 or 5xx; KZ_SEND_PERM on any other answer. err says what the
 * endpoint said. */
int kz_webhook_post(const char *url, const char *body, size_t len, int timeout_s, kz_err *err);

#endif
