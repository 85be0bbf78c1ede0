/* log.c — structured one-line logs on stderr; request lines are written in groups. */
#include "base/log.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/banned.h"

#define LINE_MAX_BYTES 2048
#define PEND_CAP (64 * 1024) /* a group of buffered lines; a full group is written at once */
#define FLUSH_MS 100         /* the longest a buffered line waits */

static enum kz_log_level min_level = KZ_LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

/* Every write to stderr happens under out_mu, so lines never interleave and a direct line
 * never overtakes a buffered one written before it. */
static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t out_cond = PTHREAD_COND_INITIALIZER;
static char pend[PEND_CAP];
static size_t npend;
static pthread_once_t flusher_once = PTHREAD_ONCE_INIT;
static int have_flusher;

void kz_log_set_level(enum kz_log_level lvl)
{
	min_level = lvl;
}

static void write_all(const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(STDERR_FILENO, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* nowhere to complain to */
		p += w;
		n -= (size_t)w;
	}
}

static void flush_locked(void)
{
	if (npend) {
		write_all(pend, npend);
		npend = 0;
	}
}

void kz_log_flush(void)
{
	pthread_mutex_lock(&out_mu);
	flush_locked();
	pthread_mutex_unlock(&out_mu);
}

/* Sleeps until a buffered line arrives, lets more gather for FLUSH_MS, writes them all. */
static void *flusher(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec nap = {0, FLUSH_MS * 1000000L};
		pthread_mutex_lock(&out_mu);
		while (!npend)
			pthread_cond_wait(&out_cond, &out_mu);
		pthread_mutex_unlock(&out_mu);
		nanosleep(&nap, NULL);
		kz_log_flush();
	}
	return NULL;
}

static void start_flusher(void)
{
	pthread_attr_t attr;
	pthread_t t;
	sigset_t all, old;
	/* The flusher takes no signals: they stay with the threads that wait for them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	have_flusher = pthread_create(&t, &attr, flusher, NULL) == 0;
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (have_flusher)
		atexit(kz_log_flush);
}

/* The start of a line, "ts=2026-12-03T09:04:16.123Z level=info ", into line; returns its
 * length. Made by hand: a busy server writes one for every request. */
static size_t line_prefix(char *line, enum kz_log_level lvl)
{
	/* The second's text is made once per second and thread. */
	static __thread time_t ts_sec = (time_t)-1;
	static __thread char ts[32];
	static __thread size_t tslen;
	struct timespec now;
	struct tm tm;
	const char *name = level_names[lvl];
	size_t n = 0, nl = strlen(name);
	long ms;
	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec != ts_sec) {
		gmtime_r(&now.tv_sec, &tm);
		tslen = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
		ts_sec = now.tv_sec;
	}
	ms = now.tv_nsec / 1000000L;
	memcpy(line, "ts=", 3);
	n = 3;
	memcpy(line + n, ts, tslen);
	n += tslen;
	line[n++] = '.';
	line[n++] = (char)('0' + ms / 100);
	line[n++] = (char)('0' + ms / 10 % 10);
	line[n++] = (char)('0' + ms % 10);
	memcpy(line + n, "Z level=", 8);
	n += 8;
	memcpy(line + n, name, nl);
	n += nl;
	line[n++] = ' ';
	return n;
}

/* Format one line, newline included, into line[LINE_MAX_BYTES]; returns its length. */
static size_t format_line(char *line, enum kz_log_level lvl, const char *fmt, va_list ap)
{
	size_t n = line_prefix(line, lvl);
	vsnprintf(line + n, LINE_MAX_BYTES - 1 - n, fmt, ap);
	n += strlen(line + n);
	line[n] = '\n';
	return n + 1;
}


/* Add a finished line to the group the flusher writes. */
static void enqueue(const char *line, size_t n)
{
	pthread_once(&flusher_once, start_flusher);
	pthread_mutex_lock(&out_mu);
	if (!have_flusher || npend + n > sizeof pend) {
		flush_locked();
		if (!have_flusher) {
			write_all(line, n);
			pthread_mutex_unlock(&out_mu);
			return;
		}
	}
	if (!npend)
		pthread_cond_signal(&out_cond);
	memcpy(pend + npend, line, n);
	npend += n;
	pthread_mutex_unlock(&out_mu);
}

/* One formatted line: written now (after what is buffered), or buffered. */
static void vlog(enum kz_log_level lvl, int buffered, const char *fmt, va_list ap)
{
	char line[LINE_MAX_BYTES];
	size_t n;
	if (lvl < min_level)
		return;
	n = format_line(line, lvl, fmt, ap);
	if (buffered) {
		enqueue(line, n);
		return;
	}
	pthread_mutex_lock(&out_mu);
	flush_locked();
	write_all(line, n);
	pthread_mutex_unlock(&out_mu);
}

void kz_log(enum kz_log_level lvl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(lvl, 0, fmt, ap);
	va_end(ap);
}

void kz_log_buffered(enum kz_log_level lvl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(lvl, 1, fmt, ap);
	va_end(ap);
}

void kz_log_buffered_parts(enum kz_log_level lvl, const char *const *parts, int nparts)
{
	char line[LINE_MAX_BYTES];
	size_t n;
	if (lvl < min_level)
		return;
	n = line_prefix(line, lvl);
	for (int i = 0; i < nparts; i++) {
		size_t len = strlen(parts[i]);
		if (len > LINE_MAX_BYTES - 1 - n)
			len = LINE_MAX_BYTES - 1 - n; /* cut, like the formatted lines */
		memcpy(line + n, parts[i], len);
		n += len;
	}
	line[n] = '\n';
	enqueue(line, n + 1);
}
