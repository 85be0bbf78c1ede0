/* tz.h — UTC offsets of IANA time zones read from the system's TZif files, independent of
 * the process's TZ and locale; also fixed offsets like "+09:00". */
#ifndef KZ_TZ_H
#define KZ_TZ_H

#include <stddef.h>
#include <stdint.h>

/* The offset east of UTC in seconds of `zone` ("Asia/Tokyo", "UTC", "+09:00") at the Unix
 * time `t`, and its abbreviation ("JST") into abbr (may be NULL). 0, or -1 for an unknown
 * zone. Thread-safe; zones are loaded once and cached. */
int kz_tz_offset(const char *zone, int64_t t, int *offset /* OUT */, char *abbr, size_t abbrlen);

#endif
