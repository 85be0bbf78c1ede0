/* export.h — all contacts as CSV or JSON Lines, produced page by page (for HTTP and the CLI). */
#ifndef KZ_MODEL_EXPORT_H
#define KZ_MODEL_EXPORT_H

#include <stddef.h>
#include <jansson.h>
#include <stdint.h>

#include "store/store.h"

typedef struct kz_export kz_export;

/* A new export over every contact, in id order; csv=0 gives JSON Lines, 1 CSV, 2 CSV with a
 * UTF-8 byte order mark (for Excel). */
kz_export *kz_export_new(kz_store *s, int csv);
/* JSON Lines: pass each contact through fn (e.g. to add score and stage) before writing; c is
 * the export's connection. Without one, score, scores and stage are read from the store. */
typedef void (*kz_export_decorate_fn)(void *ctx, kz_conn *c, json_t *contact);
void kz_export_set_decorate(kz_export *e, kz_export_decorate_fn fn, void *ctx);
/* Copy up to max bytes of the export into buf; returns bytes, 0 at the end, -1 on error. */
long kz_export_read(void *exp, uint64_t pos, char *buf, size_t max);
void kz_export_free(void *exp);

#endif
