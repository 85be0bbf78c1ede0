/* sites.h — the collector's view of sites: looked up by key from a short-lived in-memory copy,
 * so a page view costs no query for its site. */
#ifndef KZ_TRACK_SITES_H
#define KZ_TRACK_SITES_H

#include <jansson.h>
#include <stdint.h>

#include "store/store.h"

typedef struct kz_track_site {
	int64_t id;
	int bot_filter, anonymize_ip, respect_dnt;
	json_t *origins; /* the caller's reference: release with kz_track_site_release */
} kz_track_site;

/* Find a site by its key: 1 found, 0 no such site, -1 the store failed. */
int kz_track_site_find(kz_store *s, const char *key, kz_track_site *out /* OUT */);
void kz_track_site_release(kz_track_site *site);
/* 1 when some site allows this origin (a CORS preflight names no site). */
int kz_track_origin_known(kz_store *s, const char *origin);
/* Forget the copy (after a site changed on this node; other nodes see it within seconds). */
void kz_track_sites_flush(void);

#endif
