/* csv.h — RFC 4180 CSV/TSV reader over an in-memory UTF-8 buffer, and a safe field writer. */
#ifndef KZ_CSV_H
#define KZ_CSV_H

#include <stddef.h>

#include "base/buf.h"

#define KZ_CSV_MAX_FIELDS 1024
#define KZ_CSV_MAX_FIELD ((size_t)1 << 20) /* bytes per field */

/* Called once per record; row_no is the 1-based line the record starts on.
 * Fields are NUL-terminated and valid until the callback returns. Return
 * non-zero to stop parsing. */
typedef int (*kz_csv_row_fn)(void *ud, size_t row_no, char **fields, size_t nfields);

/* Parse data[0..len) (comma-separated, or tab-separated when the first line
 * has tabs and no commas), skipping empty lines and a leading BOM. Returns 0,
 * -1 on malformed input (message naming the line in err), or the callback's
 * non-zero value if it stopped early. */
int kz_csv_parse(const char *data, size_t len, kz_csv_row_fn fn, void *ud, char *err,
                 size_t errlen);

/* Append s (NULL: empty) as one CSV field, quoted when needed; a field that a
 * spreadsheet would run as a formula gets a leading '. Returns 0 or -1 (cap). */
int kz_csv_write_field(kz_buf *b, const char *s);

#endif
