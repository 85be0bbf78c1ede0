/* bot.h — telling crawlers and headless browsers from people, and truncating IP addresses. */
#ifndef KZ_TRACK_BOT_H
#define KZ_TRACK_BOT_H

#include <stddef.h>
#include <stdint.h>

/* 1 when the User-Agent belongs to a crawler, monitor, HTTP library or headless browser
 * (or is missing). */
int kz_track_is_bot(const char *ua);
/* Pixel floods: count a hit from `ip` at now_ms; 1 when that address has sent more than
 * `limit` hits in the current minute (a script, not a person reading mail or pages). */
int kz_track_flood(const char *ip, int64_t now_ms, int limit);
/* Truncate an IP address in place for privacy: IPv4 to its /24, IPv6 to its /48. */
void kz_track_ip_anonymize(char *ip, size_t len);

#endif
