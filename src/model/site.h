/* site.h — tracked web sites: validation, site keys, allowed origins and the embed snippet. */
#ifndef KZ_MODEL_SITE_H
#define KZ_MODEL_SITE_H

#include <jansson.h>

#include "base/err.h"

/* Apply a site body (name, allowed_origins, bot_filter, anonymize_ip, respect_dnt,
 * retention_days, rotate_key) onto rec. create=1 requires a name, fills the defaults and
 * makes a site key; "rotate_key": true makes a new one. */
int kz_site_apply(json_t *rec, const json_t *in, int create, kz_err *err);
/* The HTML a page embeds for this site: a queue stub and the kz.js tag (malloc'd). */
char *kz_site_snippet(const json_t *site, const char *base_url);
/* "HTTPS://Shop.Example.com/" → "https://shop.example.com"; "*" (any origin) and wildcard
 * subdomains ("https:" + "//" + "*.example.com") are kept. malloc'd, or NULL when s is not an
 * origin. */
char *kz_site_origin_normalize(const char *s);
/* 1 when `origin` (an Origin header) is in the list; an empty list allows any origin. */
int kz_site_origin_allowed(const json_t *origins, const char *origin);

#endif
