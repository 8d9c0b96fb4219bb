/*
 * timeutil.h -- the little timespec arithmetic the gateway needs, once.
 *
 * Timed waits (pthread_cond_timedwait) take an absolute timespec on the
 * condition variable's clock, durations are measured on CLOCK_MONOTONIC,
 * and configuration speaks milliseconds.  Written out by hand in every
 * caller, the nanosecond carry is where the bugs hide, so the conversions
 * live here as static inline functions (no object file, no dependency).
 */
#ifndef OPENRISK_TIMEUTIL_H
#define OPENRISK_TIMEUTIL_H

#include <stdint.h>
#include <time.h>

#define NS_PER_SEC 1000000000L
#define NS_PER_MS 1000000L

/* t + ms, with the nanoseconds carried into seconds. */
static inline struct timespec timespec_add_ms(struct timespec t, int64_t ms)
{
	t.tv_sec += (time_t)(ms / 1000);
	t.tv_nsec += (long)(ms % 1000) * NS_PER_MS;
	if (t.tv_nsec >= NS_PER_SEC) {
		t.tv_sec++;
		t.tv_nsec -= NS_PER_SEC;
	}
	return t;
}

/* The absolute time ms from now on `clock`: a deadline for a timed wait. */
static inline struct timespec time_after_ms(clockid_t clock, int64_t ms)
{
	struct timespec t;

	clock_gettime(clock, &t);
	return timespec_add_ms(t, ms);
}

/* Milliseconds on CLOCK_MONOTONIC: the pool's and the drain's clock. */
static inline int64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / NS_PER_MS;
}

/* A millisecond count (e.g. a mono_ms() deadline) as a timespec. */
static inline struct timespec timespec_from_ms(int64_t ms)
{
	struct timespec t;

	t.tv_sec = (time_t)(ms / 1000);
	t.tv_nsec = (long)(ms % 1000) * NS_PER_MS;
	return t;
}

/* Seconds elapsed on CLOCK_MONOTONIC since t0. */
static inline double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* The wall clock as fractional unix seconds (for metrics timestamps). */
static inline double unix_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

#endif
