/*
 * log.h -- leveled messages and the per-request access log, on stderr.
 *
 * Each line is formatted in memory and written with a single write(2), so
 * lines from concurrent worker threads never interleave and no lock is
 * taken on the request path.  Callers never pass tokens, passwords or
 * query strings here; paths are escaped so a request cannot forge lines.
 */
#ifndef OPENRISK_LOG_H
#define OPENRISK_LOG_H

#include "config.h"

void log_init(enum log_level level, int access_log);
int log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

/* One access line: method, path (no query), status, duration, cache, id. */
void log_access(const char *method, const char *path, int status, double seconds,
		const char *cache, const char *request_id);

/* Copy s into out with control bytes, quotes and backslashes \xNN-escaped. */
void log_escape(const char *s, char *out, size_t outlen);

#endif
