/*
 * upstream_metrics.h -- the /metrics section about the servers behind the
 * gateway: per upstream (primary, replica-N) its health, lag, pool and
 * requests, and how reads presenting X-Min-LSN were served.
 *
 * Rendered from plain figures (upstream.c copies them out of atomics and
 * pool snapshots), so this file needs neither libpq nor threads and is
 * unit-tested.  Every series exists from the start (counters at 0, the
 * primary with lag 0), so dashboards and alerts have data on a gateway
 * without replicas too.
 */
#ifndef OPENRISK_UPSTREAM_METRICS_H
#define OPENRISK_UPSTREAM_METRICS_H

#include <stdint.h>

#include "metrics.h"
#include "replica_list.h"

/* Where a read that presented X-Min-LSN was served. */
enum lsn_outcome {
	LSN_REPLICA,            /* a replica that had already replayed it */
	LSN_REPLICA_WAITED,     /* a replica, after waiting for its replay */
	LSN_PRIMARY_AFTER_WAIT, /* the primary: the wait ran out */
	LSN_PRIMARY,            /* the primary: no replica was routable */
	LSN_OUTCOMES
};

struct upstream_sample {
	const char *name, *role; /* "replica-1", "replica" */
	int up;                  /* last health check (or the pool) reached it */
	int routable;            /* reads may go there now */
	double lag_seconds;      /* how old its data may be; NaN: unknown */
	double behind_bytes;     /* WAL the primary had that it has not replayed */
	uint64_t reads, writes, failures;
	struct pool_stats pool;
};

struct upstream_figures {
	struct upstream_sample s[1 + REPLICAS_MAX];
	int n;
	double max_lag_seconds;
	uint64_t lsn_reads[LSN_OUTCOMES];
	const struct histogram *lsn_wait;
};

/* metrics_section_fn: arg is a struct upstream_figures. */
void upstream_metrics_render(struct metrics_text *t, void *arg);

#endif
