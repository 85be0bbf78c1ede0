/* log.c — structured one-line logs on stderr. */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/banned.h"

static enum kz_log_level min_level = KZ_LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void kz_log_set_level(enum kz_log_level lvl)
{
	min_level = lvl;
}

void kz_log(enum kz_log_level lvl, const char *fmt, ...)
{
	/* The second's text is made once per second and thread (a request logs a line). */
	static __thread time_t ts_sec = (time_t)-1;
	static __thread char ts[32];
	char line[2048];
	struct timespec now;
	struct tm tm;
	va_list ap;
	int n;
	if (lvl < min_level)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec != ts_sec) {
		gmtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
		ts_sec = now.tv_sec;
	}
	n = snprintf(line, sizeof line, "ts=%s.%03ldZ level=%s ", ts, now.tv_nsec / 1000000L,
		     level_names[lvl]);
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof line - 1)
		vsnprintf(line + n, sizeof line - 1 - (size_t)n, fmt, ap);
	va_end(ap);
	n = (int)strlen(line);
	line[n] = '\n';
	/* One write per line (newline included): lines from threads never interleave. */
	fwrite(line, 1, (size_t)n + 1, stderr);
}
