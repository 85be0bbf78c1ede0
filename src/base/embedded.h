/* embedded.h — files compiled into the binary (web UI, openapi.json), generated at build time. */
#ifndef KZ_EMBEDDED_H
#define KZ_EMBEDDED_H

#include <stddef.h>

typedef struct kz_embedded_file {
	const char *name; /* path relative to web/, e.g. "index.html", or "openapi.json" */
	const unsigned char *data;
	size_t len;
} kz_embedded_file;

/* Terminated by an entry whose name is NULL. */
extern const kz_embedded_file kz_embedded_files[];

#endif
