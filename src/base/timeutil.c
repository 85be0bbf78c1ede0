/* timeutil.c — clock and ISO 8601 in UTC, independent of the machine's zone. */
#include "base/timeutil.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/banned.h"

static _Atomic int64_t fixed_ms;

int64_t kz_now_ms(void)
{
	struct timespec ts;
	int64_t f = atomic_load(&fixed_ms);
	if (f)
		return f;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void kz_clock_set_fixed(int64_t ms)
{
	atomic_store(&fixed_ms, ms);
}

/* Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* The date of a day since 1970-01-01 (the inverse of days_from_civil, same source). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static char *put2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

/* Every JSON time goes through here (contacts, events, lists): digits by hand, no
 * gmtime_r/snprintf (a tenth of the cost). */
void kz_time_iso(int64_t ms, char *out, size_t outlen)
{
	int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
	int milli = (int)(ms - secs * 1000);
	int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
	unsigned sod = (unsigned)(secs - days * 86400), mon, mday;
	int64_t year;
	char buf[80], *p = buf;
	civil_from_days(days, &year, &mon, &mday);
	if (year < 0 || year > 9999) { /* %04d, not strftime's %Y: year 90 must read 0090 */
		snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02u:%02u:%02u", (long long)year, mon,
			 mday, sod / 3600, sod / 60 % 60, sod % 60);
		p = buf + strlen(buf);
	} else {
		p = put2(p, (unsigned)(year / 100));
		p = put2(p, (unsigned)(year % 100));
		*p++ = '-';
		p = put2(p, mon);
		*p++ = '-';
		p = put2(p, mday);
		*p++ = 'T';
		p = put2(p, sod / 3600);
		*p++ = ':';
		p = put2(p, sod / 60 % 60);
		*p++ = ':';
		p = put2(p, sod % 60);
	}
	if (milli) {
		*p++ = '.';
		*p++ = (char)('0' + milli / 100);
		p = put2(p, (unsigned)(milli % 100));
	}
	*p++ = 'Z';
	*p = '\0';
	if (outlen) {
		size_t n = (size_t)(p - buf) < outlen ? (size_t)(p - buf) : outlen - 1;
		memcpy(out, buf, n);
		out[n] = '\0';
	}
}

static int days_in_month(int y, int m)
{
	static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int parse_date(const char *s, int *y, int *m, int *d)
{
	if (digits(s, 4, y) || s[4] != '-' || digits(s + 5, 2, m) || s[7] != '-' ||
	    digits(s + 8, 2, d))
		return -1;
	if (*y < 1 || *m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m))
		return -1;
	return 0;
}

int kz_date_valid(const char *s)
{
	int y, m, d;
	if (!s || strlen(s) != 10)
		return -1;
	return parse_date(s, &y, &m, &d);
}

int kz_time_parse_iso(const char *s, int64_t *ms)
{
	int y, mo, d, h = 0, mi = 0, se = 0, frac = 0, oh = 0, om = 0, sign = 0;
	size_t len;
	const char *p;
	if (!s)
		return -1;
	len = strlen(s);
	if (len < 10 || parse_date(s, &y, &mo, &d))
		return -1;
	p = s + 10;
	if (*p == '\0')
		goto done;
	if ((*p != 'T' && *p != 't' && *p != ' ') || strlen(p) < 6)
		return -1;
	if (digits(p + 1, 2, &h) || p[3] != ':' || digits(p + 4, 2, &mi))
		return -1;
	p += 6;
	if (*p == ':') {
		if (digits(p + 1, 2, &se))
			return -1;
		p += 3;
	}
	if (*p == '.' || *p == ',') {
		int scale = 100;
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9') {
			frac += (*p - '0') * scale;
			scale /= 10;
			p++;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		if (digits(p + 1, 2, &oh))
			return -1;
		p += 3;
		if (*p == ':')
			p++;
		if (digits(p, 2, &om))
			return -1;
		p += 2;
	} else {
		return -1; /* a time without a zone is ambiguous: refuse it */
	}
	if (*p != '\0' || h > 23 || mi > 59 || se > 60 || oh > 23 || om > 59)
		return -1;
done:;
	int64_t secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se;
	secs -= sign * (oh * 3600 + om * 60);
	/* Keep to years 0001..9999 in UTC, so every time we store formats and parses back. */
	if (secs < days_from_civil(1, 1, 1) * 86400 || secs >= days_from_civil(10000, 1, 1) * 86400)
		return -1;
	*ms = secs * 1000 + frac;
	return 0;
}
