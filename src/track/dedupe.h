/* dedupe.h — the messageIds seen lately, in memory, so the collector can answer "duplicate"
 * without asking the database. The database's unique index stays the guarantee: an id older
 * than the window is still ignored when the writer applies it, only counted as accepted. */
#ifndef KZ_TRACK_DEDUPE_H
#define KZ_TRACK_DEDUPE_H

#include <stddef.h>

typedef struct kz_dedupe kz_dedupe;

/* A set that remembers at least `window` ids (the newest; at most twice as many). */
kz_dedupe *kz_dedupe_new(size_t window);
void kz_dedupe_free(kz_dedupe *d);
/* Add id; 1 when it was there already (a duplicate), 0 when new. Thread-safe. */
int kz_dedupe_add(kz_dedupe *d, const char *id);
/* 1 when id is there. */
int kz_dedupe_has(kz_dedupe *d, const char *id);
/* Ids remembered now. */
size_t kz_dedupe_size(kz_dedupe *d);

#endif
