/*
 * log.h -- leveled messages and the per-request access log, on stderr.
 *
 * Each line is formatted in memory first, so lines from concurrent worker
 * threads never interleave.  Once log_start_writer() has run, lines are
 * appended to a shared buffer (a ~100-byte memcpy under a mutex) that a
 * writer thread flushes every 50 ms: a write(2) per request to a file
 * that 64 threads append to was measured at ~10% of the gateway's
 * throughput on a cached read.  A crash can lose the last 50 ms of lines;
 * a full buffer falls back to a direct write, never to dropping a line.
 * Callers never pass tokens, passwords or query strings here; paths are
 * escaped so a request cannot forge lines.
 */
#ifndef OPENRISK_LOG_H
#define OPENRISK_LOG_H

#include "config.h"

void log_init(enum log_level level, int access_log);

/* Start / stop (flushing) the background writer; before start, lines are written directly. */
int log_start_writer(void);
void log_stop_writer(void);
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
