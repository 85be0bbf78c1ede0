/* asset.h — gated assets (whitepapers): what may be uploaded, and the content's encoding. */
#ifndef KZ_CAPTURE_ASSET_H
#define KZ_CAPTURE_ASSET_H

#include <stddef.h>

#include "base/err.h"

#define KZ_ASSET_DEFAULT_MAX ((size_t)25 << 20) /* KIZUNA_MAX_ASSET overrides */

/* The upload limit in bytes ($KIZUNA_MAX_ASSET, else 25 MiB). */
size_t kz_asset_max(void);
/* Check an upload: the declared Content-Type must be one we serve (PDF, PNG, JPEG, GIF,
 * WebP, ZIP/Office, MP4, plain text, CSV) and the bytes must look like it. Copies the bare
 * MIME type into mime. Returns 0, or -1 with err (413, 415 or 422). */
int kz_asset_check(const char *content_type, const void *data, size_t len, char *mime,
		   size_t mimelen, kz_err *err);
/* A file name safe to put in Content-Disposition (ASCII letters, digits, - _ . only);
 * malloc'd, never empty. */
char *kz_asset_safe_filename(const char *name, const char *mime);
/* base64 of data (malloc'd) and back (*out malloc'd, *outlen set); decode returns -1 on
 * bad input. */
char *kz_asset_encode(const void *data, size_t len);
int kz_asset_decode(const char *b64, unsigned char **out, size_t *outlen);

#endif
