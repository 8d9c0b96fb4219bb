/*
 * metrics.h -- Prometheus counters, histograms and the /metrics text.
 *
 * Request threads only do relaxed atomic increments on fixed arrays: no
 * lock, no allocation, no label map on the hot path.  All label handling
 * happens at render time, which is once per scrape.  Rendering takes plain
 * snapshots of the pool and of the pg_stat poller, so this file needs
 * neither civetweb nor libpq and is unit-tested.
 */
#ifndef OPENRISK_METRICS_H
#define OPENRISK_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define HIST_NBOUNDS 14

struct histogram {
	_Atomic uint64_t buckets[HIST_NBOUNDS + 1]; /* last one is +Inf */
	_Atomic uint64_t count;
	_Atomic uint64_t sum_ns;
};

void histogram_observe(struct histogram *h, double seconds);

/* What the pool reports (pool.c fills it under its lock). */
struct pool_stats {
	int open, idle, in_use, max, waiting;
	int db_up;
	uint64_t opened, connect_failures, acquire_timeouts;
	uint64_t closed_lifetime, closed_idle, closed_broken, closed_shutdown;
	const struct histogram *acquire_wait;
};

/* pg_stat_activity states we count, in this order. */
#define PG_NSTATES 6
extern const char *const pg_activity_states[PG_NSTATES];

/* What the poller last read from PostgreSQL. */
struct pg_stats {
	int valid; /* a poll has succeeded at least once */
	int last_poll_ok;
	double last_success; /* unix seconds */
	uint64_t poll_errors;
	int have_cache; /* openrisk.cache_stats() answered */
	int64_t cache_hits, cache_misses, cache_evictions, cache_entries, cache_bytes_used, cache_bytes_limit;
	/* fills the engine refused, waits on another backend's fill, and how
	 * those waits ended: answered by a refused fill, or recomputed */
	int64_t cache_fills_rejected, cache_stampede_waits, cache_handoffs, cache_stampede_recomputes;
	int64_t xact_commit, xact_rollback, blks_hit, blks_read, deadlocks, numbackends;
	int64_t activity[PG_NSTATES];
};

/* Count one finished request.  route: index in routes[], or -1 unmatched. */
void metrics_observe_request(int route, const char *method, int status, double seconds);
void metrics_observe_cache(int route, int hit);

/* The exposition text (malloc'd, caller frees); NULL on allocation failure. */
char *metrics_render(const struct pool_stats *pool, const struct pg_stats *pg, size_t *len);

/*
 * A section of the text rendered by another file (upstream_metrics.c):
 * metrics_render_with() calls extra(t, arg) after its own families, and
 * the section writes through these, so every family is spelt the same way.
 */
struct metrics_text;
typedef void (*metrics_section_fn)(struct metrics_text *t, void *arg);
void metrics_text_printf(struct metrics_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void metrics_text_family(struct metrics_text *t, const char *name, const char *type, const char *help);
void metrics_text_histogram(struct metrics_text *t, const char *name, const char *labels, const struct histogram *h);
char *metrics_render_with(const struct pool_stats *pool, const struct pg_stats *pg, metrics_section_fn extra,
			  void *arg, size_t *len);

#endif
