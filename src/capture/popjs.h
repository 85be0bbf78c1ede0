/* popjs.h — the pop-up script (served at /t/pop.js, loaded by kz.js on demand). */
#ifndef KZ_CAPTURE_POPJS_H
#define KZ_CAPTURE_POPJS_H

#include <stddef.h>

/* The script's text (static) and its length. */
const char *kz_popjs_source(size_t *len /* OUT */);
/* Its ETag, quoted. */
const char *kz_popjs_etag(void);

#endif
