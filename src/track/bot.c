/* bot.c — the bot filter (known crawler/tool User-Agents, headless markers) and IP truncation. */
#include "track/bot.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <pthread.h>
#include <string.h>

#include "base/banned.h"

#define FLOOD_SLOTS 1024
#define FLOOD_WINDOW_MS 60000

/* Hits per address in the current minute; a collision only shares a counter (errs toward
 * dropping a little more from that pair of addresses, never toward missing a flood). */
typedef struct flood_slot {
	char ip[48];
	int64_t window;
	int hits;
} flood_slot;

static flood_slot flood[FLOOD_SLOTS];
static pthread_mutex_t flood_mu = PTHREAD_MUTEX_INITIALIZER;

int kz_track_flood(const char *ip, int64_t now_ms, int limit)
{
	uint32_t h = 2166136261u;
	int64_t window = now_ms / FLOOD_WINDOW_MS;
	flood_slot *s;
	int over;
	if (!ip || !*ip)
		return 0;
	for (const char *p = ip; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	pthread_mutex_lock(&flood_mu);
	s = &flood[h % FLOOD_SLOTS];
	if (s->window != window || strcmp(s->ip, ip)) {
		if (s->window != window || s->hits <= limit) {
			/* a new minute, or an idle neighbour: the slot is ours */
			size_t n = strlen(ip);
			if (n >= sizeof s->ip)
				n = sizeof s->ip - 1;
			memcpy(s->ip, ip, n);
			s->ip[n] = '\0';
			s->window = window;
			s->hits = 0;
		}
	}
	s->hits++;
	over = s->hits > limit;
	pthread_mutex_unlock(&flood_mu);
	return over;
}

/* Lowercase substrings. Generic words ("bot", "crawl", "spider") catch most crawlers that
 * announce themselves; the rest are monitors, previews, HTTP libraries and headless browsers. */
static const char *const bot_marks[] = {
	"bot",
	"crawl",
	"spider",
	"slurp",
	"mediapartners",
	"headlesschrome",
	"phantomjs",
	"puppeteer",
	"selenium",
	"lighthouse",
	"pingdom",
	"uptime",
	"statuscake",
	"site24x7",
	"facebookexternalhit",
	"embedly",
	"preview",
	"scrapy",
	"curl/",
	"wget/",
	"python-requests",
	"python-urllib",
	"aiohttp",
	"go-http-client",
	"java/",
	"okhttp",
	"libwww-perl",
	"httpclient",
	"axios/",
	"node-fetch",
	"postmanruntime",
	"insomnia",
	"feedfetcher",
	"validator",
	"ia_archiver",
};

/* Phones whose model names contain a marker ("CUBOT ..."). */
static const char *const not_bots[] = {"cubot"};

/* The User-Agent is lowercased once (its first UA_MAX bytes: markers sit early, and a longer
 * header is itself suspect), then each marker is one strstr. */
#define UA_MAX 1024

static int judge(const char *low)
{
	for (size_t i = 0; i < sizeof bot_marks / sizeof bot_marks[0]; i++) {
		int excused = 0;
		if (!strstr(low, bot_marks[i]))
			continue;
		for (size_t k = 0; i == 0 && k < sizeof not_bots / sizeof not_bots[0]; k++)
			excused |= strstr(low, not_bots[k]) != NULL;
		if (!excused)
			return 1;
	}
	return 0;
}

/* The last few User-Agents each request thread judged: most traffic comes from a handful of
 * browser versions, and a keep-alive connection sends the same one every time. */
#define UA_CACHE 8
typedef struct ua_seen {
	char ua[UA_MAX];
	int bot;
} ua_seen;
static __thread ua_seen ua_cache[UA_CACHE];
static __thread unsigned ua_next;

int kz_track_is_bot(const char *ua)
{
	char low[UA_MAX];
	size_t n = 0;
	int bot;
	if (!ua)
		return 1;
	while (isspace((unsigned char)*ua))
		ua++;
	if (!*ua)
		return 1;
	for (int i = 0; i < UA_CACHE; i++)
		if (ua_cache[i].ua[0] && !strcmp(ua_cache[i].ua, ua))
			return ua_cache[i].bot;
	for (; ua[n] && n < UA_MAX - 1; n++)
		low[n] = (char)tolower((unsigned char)ua[n]);
	low[n] = '\0';
	bot = judge(low);
	if (!ua[n]) { /* whole: it can be remembered */
		ua_seen *e = &ua_cache[ua_next++ % UA_CACHE];
		memcpy(e->ua, ua, n + 1);
		e->bot = bot;
	}
	return bot;
}

void kz_track_ip_anonymize(char *ip, size_t len)
{
	unsigned char a[16];
	if (inet_pton(AF_INET, ip, a) == 1) {
		a[3] = 0;
		inet_ntop(AF_INET, a, ip, (socklen_t)len);
	} else if (inet_pton(AF_INET6, ip, a) == 1) {
		memset(a + 6, 0, 10);
		inet_ntop(AF_INET6, a, ip, (socklen_t)len);
	}
}
