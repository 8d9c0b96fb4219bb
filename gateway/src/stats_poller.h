/*
 * stats_poller.h -- pg_stat and engine cache figures for /metrics.
 *
 * A scrape must not cost PostgreSQL work proportional to how many
 * Prometheus servers (or curl loops) hit /metrics, and must never block
 * request threads: one background thread reads the figures through the
 * pool at most once per interval, and a scrape only copies the last
 * snapshot.
 */
#ifndef OPENRISK_STATS_POLLER_H
#define OPENRISK_STATS_POLLER_H

#include "metrics.h"
#include "pool.h"

/*
 * Start polling every interval_ms.  The poller runs STMT_POLL_PG_STATS and
 * STMT_POLL_CACHE_STATS (statements.h), which the pool must have.
 */
int stats_poller_start(struct pool *pool, int64_t interval_ms);
void stats_poller_stop(void);

/* Copy the last snapshot. */
void stats_poller_snapshot(struct pg_stats *out);

#endif
