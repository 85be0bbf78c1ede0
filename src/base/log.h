/* log.h — structured one-line logs on stderr (level, time, message). */
#ifndef KZ_LOG_H
#define KZ_LOG_H

enum kz_log_level { KZ_LOG_DEBUG, KZ_LOG_INFO, KZ_LOG_WARN, KZ_LOG_ERROR };

/* Set the minimum level written (default INFO; KIZUNA_LOG=debug|info|warn|error). */
void kz_log_set_level(enum kz_log_level lvl);
/* Write one line: `ts=... level=... msg` to stderr at once; thread-safe. Lines buffered
 * before it are written first, so the log keeps its order. */
void kz_log(enum kz_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same line, written with others in one write(2) at most 100 ms later (or when 64 KiB
 * have gathered): for the request log, one line per request. A crash (kill -9) loses at
 * most the last 100 ms of such lines; never use it for a line someone must see. */
void kz_log_buffered(enum kz_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* kz_log_buffered of the message made of parts[0..nparts-1] put together, without a
 * format string to interpret (the request log's line, built by its caller). */
void kz_log_buffered_parts(enum kz_log_level lvl, const char *const *parts, int nparts);
/* Write out the buffered lines now (also done at exit). */
void kz_log_flush(void);

#define kz_info(...) kz_log(KZ_LOG_INFO, __VA_ARGS__)
#define kz_warn(...) kz_log(KZ_LOG_WARN, __VA_ARGS__)
#define kz_error(...) kz_log(KZ_LOG_ERROR, __VA_ARGS__)
#define kz_debug(...) kz_log(KZ_LOG_DEBUG, __VA_ARGS__)

#endif
