/* kzjs.h — the tracking script a site embeds (served at /kz.js). */
#ifndef KZ_TRACK_KZJS_H
#define KZ_TRACK_KZJS_H

#include <stddef.h>

/* The script's text (static) and its length. */
const char *kz_kzjs_source(size_t *len /* OUT */);
/* Its ETag, quoted: "\"0123abcd...\"". */
const char *kz_kzjs_etag(void);

#endif
