/* static.h — the admin UI's files: embedded at build time, or from a folder while developing. */
#ifndef KZ_STATIC_H
#define KZ_STATIC_H

#include "http/server.h"

/* Serve from `dir` instead of the embedded copy (KIZUNA_WEB_DIR); NULL for embedded. */
void kz_static_set_dir(const char *dir);
/* Fallback handler: a known file, else index.html for app paths (no extension), else 404. */
int kz_static_handler(kz_req *req, kz_resp *resp);
/* Content-Type for a file name. */
const char *kz_static_mime(const char *name);

#endif
