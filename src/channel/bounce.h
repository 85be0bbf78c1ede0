/* bounce.h — applying a DSN or ARF report to the store (kizuna bounce, POST /api/v1/bounces). */
#ifndef KZ_BOUNCE_H
#define KZ_BOUNCE_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "store/store.h"

/* Parse the report and record it inside the caller's transaction. *result:
 * {"kind":"hard"|"soft"|"complaint","recipient","status","contact_id","send_id",
 *  "diagnostic","suppressed"}. 0, or -1 with err (422 for what is not a report). */
int kz_bounce_apply(kz_conn *c, const char *data, size_t len, json_t **result, kz_err *err);

#endif
