/*
 * log.c -- stderr logging (see log.h for why one write per line).
 */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "timeutil.h"

static enum log_level current_level = LOG_LEVEL_INFO;
static int access_enabled = 1;

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

void log_init(enum log_level level, int access_log)
{
	current_level = level;
	access_enabled = access_log;
}

int log_enabled(enum log_level level)
{
	return level <= current_level;
}

/*
 * "2025-01-31T12:34:56.789Z".  The seconds part is cached per thread:
 * gmtime_r takes glibc's global timezone lock, which 64 worker threads
 * logging every request would contend on.
 */
static size_t timestamp(char *out, size_t outlen)
{
	static __thread time_t cached_sec = -1;
	static __thread char cached[32];
	static __thread size_t cached_len;
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != cached_sec) {
		gmtime_r(&ts.tv_sec, &tm);
		cached_len = strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
		cached_sec = ts.tv_sec;
	}
	if (outlen < cached_len + 6)
		return 0;
	memcpy(out, cached, cached_len);
	out[cached_len] = '.';
	out[cached_len + 1] = (char)('0' + ts.tv_nsec / 100000000);
	out[cached_len + 2] = (char)('0' + ts.tv_nsec / 10000000 % 10);
	out[cached_len + 3] = (char)('0' + ts.tv_nsec / 1000000 % 10);
	out[cached_len + 4] = 'Z';
	return cached_len + 5;
}

#define LOG_BUFFER (1 << 20)
#define FLUSH_INTERVAL_MS 50

static struct {
	pthread_mutex_t mu;
	pthread_cond_t wake;
	pthread_t thread;
	char *bufs[2];
	size_t len; /* bytes used in bufs[active] */
	int active;
	int running, stop;
} writer = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static void write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, p, n);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* Swap buffers under the lock, write the full one outside it. */
static void flush_once(void)
{
	char *full;
	size_t n;

	pthread_mutex_lock(&writer.mu);
	full = writer.bufs[writer.active];
	n = writer.len;
	writer.active ^= 1;
	writer.len = 0;
	pthread_mutex_unlock(&writer.mu);
	write_all(full, n);
}

static void *writer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&writer.mu);
	while (!writer.stop) {
		struct timespec ts = time_after_ms(CLOCK_REALTIME, FLUSH_INTERVAL_MS);
		(void)pthread_cond_timedwait(&writer.wake, &writer.mu, &ts);
		pthread_mutex_unlock(&writer.mu);
		flush_once();
		pthread_mutex_lock(&writer.mu);
	}
	pthread_mutex_unlock(&writer.mu);
	flush_once();
	return NULL;
}

int log_start_writer(void)
{
	writer.bufs[0] = malloc(LOG_BUFFER);
	writer.bufs[1] = malloc(LOG_BUFFER);
	if (!writer.bufs[0] || !writer.bufs[1] || pthread_create(&writer.thread, NULL, writer_main, NULL) != 0)
		return -1;
	writer.running = 1;
	return 0;
}

void log_stop_writer(void)
{
	if (!writer.running)
		return;
	pthread_mutex_lock(&writer.mu);
	writer.stop = 1;
	pthread_cond_signal(&writer.wake);
	pthread_mutex_unlock(&writer.mu);
	pthread_join(writer.thread, NULL);
	writer.running = 0;
}

static void write_line(char *buf, size_t n, size_t cap)
{
	int direct = 1;

	if (n >= cap - 1)
		n = cap - 2;
	buf[n++] = '\n';
	if (writer.running) {
		pthread_mutex_lock(&writer.mu);
		if (writer.running && !writer.stop && writer.len + n <= LOG_BUFFER) {
			memcpy(writer.bufs[writer.active] + writer.len, buf, n);
			writer.len += n;
			direct = 0;
		}
		pthread_mutex_unlock(&writer.mu);
	}
	if (direct)
		write_all(buf, n);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char buf[2048];
	size_t n;
	int m;
	va_list ap;

	if (!log_enabled(level))
		return;
	n = timestamp(buf, sizeof buf);
	n += (size_t)snprintf(buf + n, sizeof buf - n, " %s ", level_names[level]);
	va_start(ap, fmt);
	m = vsnprintf(buf + n, sizeof buf - n, fmt, ap);
	va_end(ap);
	n = (m < 0) ? n : n + (size_t)m;
	if (n > sizeof buf - 1)
		n = sizeof buf - 1;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	write_line(buf, n, sizeof buf);
}

void log_escape(const char *s, char *out, size_t outlen)
{
	size_t n = 0;

	if (outlen == 0)
		return;
	for (; s && *s && n + 5 < outlen; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			n += (size_t)snprintf(out + n, outlen - n, "\\x%02x", c);
		else
			out[n++] = (char)c;
	}
	out[n] = '\0';
}

void log_access(const char *method, const char *path, int status, double seconds,
		const char *cache, const char *request_id)
{
	char buf[1024], safe_path[512], safe_method[32];
	size_t n;
	int m;

	if (!access_enabled)
		return;
	log_escape(method, safe_method, sizeof safe_method);
	log_escape(path, safe_path, sizeof safe_path);
	n = timestamp(buf, sizeof buf);
	m = snprintf(buf + n, sizeof buf - n,
		     " ACCESS method=%s path=\"%s\" status=%d duration_ms=%.3f cache=%s request_id=%s",
		     safe_method, safe_path, status, seconds * 1000.0, cache ? cache : "-", request_id);
	n = (m < 0) ? n : n + (size_t)m;
	if (n > sizeof buf - 1)
		n = sizeof buf - 1;
	write_line(buf, n, sizeof buf);
}
