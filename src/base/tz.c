/* tz.c — reads /usr/share/zoneinfo TZif files (v1 and the 64-bit v2+ block) into a cache and
 * answers offsets; never touches the TZ environment variable (not thread-safe). */
#include "base/tz.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

#define MAX_ZONES 32
#define MAX_TZFILE (512 * 1024)

typedef struct zone {
	char name[64];
	int ntrans, ntypes;
	int64_t *trans;
	unsigned char *idx;
	int *utoff;
	unsigned char *abbrind;
	char *chars;
	int nchars;
} zone;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static zone *zones[MAX_ZONES];
static int nzones;

static int64_t be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	if (n == 4)
		return (int32_t)(uint32_t)v;
	return (int64_t)v;
}

static int valid_name(const char *z)
{
	size_t n = strlen(z);
	if (!n || n >= 64 || z[0] == '/' || strstr(z, ".."))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = z[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '/' || c == '_' || c == '-' || c == '+'))
			return 0;
	}
	return 1;
}

static void zone_free(zone *z)
{
	if (!z)
		return;
	free(z->trans);
	free(z->idx);
	free(z->utoff);
	free(z->abbrind);
	free(z->chars);
	free(z);
}

/* Parse one data block with time size ts (4 or 8); hdr points at "TZif". */
static zone *parse_block(const unsigned char *hdr, size_t avail, int ts, const char *name)
{
	int64_t cnt[6];
	size_t need;
	const unsigned char *p;
	zone *z;
	if (avail < 44 || memcmp(hdr, "TZif", 4))
		return NULL;
	for (int i = 0; i < 6; i++)
		cnt[i] = be(hdr + 20 + 4 * i, 4);
	/* isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt */
	for (int i = 0; i < 6; i++)
		if (cnt[i] < 0 || cnt[i] > 100000)
			return NULL;
	need = 44 + (size_t)cnt[3] * (size_t)ts + (size_t)cnt[3] + (size_t)cnt[4] * 6 +
	       (size_t)cnt[5];
	if (avail < need || cnt[4] == 0)
		return NULL;
	z = calloc(1, sizeof *z);
	if (!z)
		return NULL;
	snprintf(z->name, sizeof z->name, "%s", name);
	z->ntrans = (int)cnt[3];
	z->ntypes = (int)cnt[4];
	z->nchars = (int)cnt[5];
	z->trans = calloc((size_t)z->ntrans + 1, sizeof *z->trans);
	z->idx = calloc((size_t)z->ntrans + 1, 1);
	z->utoff = calloc((size_t)z->ntypes, sizeof *z->utoff);
	z->abbrind = calloc((size_t)z->ntypes, 1);
	z->chars = calloc((size_t)z->nchars + 1, 1);
	if (!z->trans || !z->idx || !z->utoff || !z->abbrind || !z->chars) {
		zone_free(z);
		return NULL;
	}
	p = hdr + 44;
	for (int i = 0; i < z->ntrans; i++, p += ts)
		z->trans[i] = be(p, ts);
	for (int i = 0; i < z->ntrans; i++, p++)
		z->idx[i] = *p < z->ntypes ? *p : 0;
	for (int i = 0; i < z->ntypes; i++, p += 6) {
		z->utoff[i] = (int)be(p, 4);
		z->abbrind[i] = p[5] < z->nchars ? p[5] : 0;
	}
	memcpy(z->chars, p, (size_t)z->nchars);
	return z;
}

static zone *load(const char *name)
{
	char path[128];
	unsigned char *data;
	size_t n;
	FILE *f;
	zone *z = NULL;
	snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", name);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	data = malloc(MAX_TZFILE);
	if (!data) {
		fclose(f);
		return NULL;
	}
	n = fread(data, 1, MAX_TZFILE, f);
	fclose(f);
	if (n >= 44 && !memcmp(data, "TZif", 4)) {
		if (data[4] >= '2') {
			/* skip the v1 block to the 64-bit one */
			int64_t c[6];
			size_t v1;
			for (int i = 0; i < 6; i++)
				c[i] = be(data + 20 + 4 * i, 4);
			v1 = 44 + (size_t)c[3] * 5 + (size_t)c[4] * 6 + (size_t)c[5] +
			     (size_t)c[2] * 8 + (size_t)c[1] + (size_t)c[0];
			if (v1 < n)
				z = parse_block(data + v1, n - v1, 8, name);
		}
		if (!z)
			z = parse_block(data, n, 4, name);
	}
	free(data);
	return z;
}

/* "+09:00", "-0530", "+9" */
static int fixed_offset(const char *s, int *off)
{
	int sign, h = 0, m = 0, digits = 0;
	if (s[0] != '+' && s[0] != '-')
		return -1;
	sign = s[0] == '-' ? -1 : 1;
	s++;
	while (*s >= '0' && *s <= '9' && digits < 2) {
		h = h * 10 + (*s++ - '0');
		digits++;
	}
	if (!digits)
		return -1;
	if (*s == ':')
		s++;
	if (*s) {
		if (!(s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9') || s[2])
			return -1;
		m = (s[0] - '0') * 10 + (s[1] - '0');
	}
	if (h > 14 || m > 59)
		return -1;
	*off = sign * (h * 3600 + m * 60);
	return 0;
}

int kz_tz_offset(const char *name, int64_t t, int *offset, char *abbr, size_t abbrlen)
{
	zone *z = NULL;
	int type, lo, hi;
	if (abbr && abbrlen)
		abbr[0] = '\0';
	if (!name || !*name || !strcmp(name, "UTC") || !strcmp(name, "Z") ||
	    !strcmp(name, "Etc/UTC")) {
		*offset = 0;
		if (abbr)
			snprintf(abbr, abbrlen, "UTC");
		return 0;
	}
	if (fixed_offset(name, offset) == 0) {
		if (abbr)
			snprintf(abbr, abbrlen, "%s", name);
		return 0;
	}
	if (!valid_name(name))
		return -1;
	pthread_mutex_lock(&mu);
	for (int i = 0; i < nzones; i++)
		if (!strcmp(zones[i]->name, name))
			z = zones[i];
	if (!z && nzones < MAX_ZONES) {
		z = load(name);
		if (z)
			zones[nzones++] = z;
	}
	pthread_mutex_unlock(&mu);
	if (!z)
		return -1;
	/* the last transition at or before t; before the first: the first non-DST type (0) */
	type = 0;
	lo = 0;
	hi = z->ntrans - 1;
	if (z->ntrans && t >= z->trans[0]) {
		while (lo < hi) {
			int mid = (lo + hi + 1) / 2;
			if (z->trans[mid] <= t)
				lo = mid;
			else
				hi = mid - 1;
		}
		type = z->idx[lo];
	}
	*offset = z->utoff[type];
	if (abbr)
		snprintf(abbr, abbrlen, "%s", z->chars + z->abbrind[type]);
	return 0;
}
