/* timeutil.h — an injectable clock and ISO 8601 formatting/parsing, always UTC. */
#ifndef KZ_TIMEUTIL_H
#define KZ_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds since the Unix epoch, from the injectable clock. */
int64_t kz_now_ms(void);
/* Tests may fix the clock; pass 0 to return to the real one. */
void kz_clock_set_fixed(int64_t ms);
/* Format ms as "2026-11-24T17:11:58Z" (".123" millis only when non-zero). */
void kz_time_iso(int64_t ms, char *out, size_t outlen);
/* Parse ISO 8601 datetime ("2026-11-24T17:11:58Z", "+09:00" offsets, optional fraction,
 * or a date "2026-11-24" at 00:00Z). Returns 0 and *ms, or -1. */
int kz_time_parse_iso(const char *s, int64_t *ms /* OUT */);
/* Validate a calendar date "YYYY-MM-DD". Returns 0 or -1. */
int kz_date_valid(const char *s);

#endif
