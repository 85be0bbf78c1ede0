/* bot.h — telling crawlers and headless browsers from people, and truncating IP addresses. */
#ifndef KZ_TRACK_BOT_H
#define KZ_TRACK_BOT_H

#include <stddef.h>

/* 1 when the User-Agent belongs to a crawler, monitor, HTTP library or headless browser
 * (or is missing). */
int kz_track_is_bot(const char *ua);
/* Truncate an IP address in place for privacy: IPv4 to its /24, IPv6 to its /48. */
void kz_track_ip_anonymize(char *ip, size_t len);

#endif
