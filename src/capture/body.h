/* body.h — a form post's body (urlencoded, multipart/form-data or JSON) as name → value(s). */
#ifndef KZ_CAPTURE_BODY_H
#define KZ_CAPTURE_BODY_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"

#define KZ_BODY_MAX_PARAMS 200       /* names in one submission */
#define KZ_BODY_MAX_VALUE (64 << 10) /* bytes in one value */

/* Parse a submission body by its Content-Type (NULL: urlencoded). *out is an object whose
 * members are strings, or arrays of strings for repeated names (checkboxes). Every value is
 * valid UTF-8. Files in multipart bodies are refused (forms take no uploads). Returns 0, or
 * -1 with err (400 malformed, 413 too many values, 415 unknown content type). */
int kz_body_parse(const char *content_type, const char *data, size_t len, json_t **out,
		  kz_err *err);

/* The string value of `name` (the first one when repeated), or NULL. */
const char *kz_body_str(const json_t *values, const char *name);

#endif
