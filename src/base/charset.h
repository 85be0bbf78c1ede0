/* charset.h — decodes uploaded text (UTF-8 or Japanese Excel's CP932) to UTF-8. */
#ifndef KZ_CHARSET_H
#define KZ_CHARSET_H

#include <stddef.h>

/* Decode data[0..len) from `charset` (utf-8, shift_jis/sjis/cp932/windows-31j/
 * ms932, case-insensitive; NULL or "": UTF-8 if valid, else CP932) into a
 * malloc'd NUL-terminated UTF-8 string without BOM. Returns 0, -1 for bytes
 * that do not decode (or out of memory), -2 for an unknown charset. */
int kz_charset_to_utf8(const char *data, size_t len, const char *charset,
                       char **out /* OUT: malloc'd */, size_t *out_len /* OUT, may be NULL */);

#endif
