/* import.h — CSV contact import (UTF-8 or Shift_JIS/CP932), shared by the API and the CLI. */
#ifndef KZ_MODEL_IMPORT_H
#define KZ_MODEL_IMPORT_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "store/store.h"

/* Import contacts from a CSV document. `charset` may be NULL (detect: UTF-8, else CP932);
 * `map` is "column:field,column:field" (may be NULL). Rows upsert like POST /contacts, in
 * batches; a bad row is reported in "failed" and never spoils the others. *result gets
 * {"created":n,"updated":n,"failed":[{"row":n,"error":...,"field":...}],"ignored_columns":[]}.
 * Returns -1 only when the document as a whole is unusable (bad charset, no header, bad map). */
int kz_import_csv(kz_store *s, const char *data, size_t len, const char *charset,
		  const char *map, const char *default_country, json_t **result, kz_err *err);

#endif
