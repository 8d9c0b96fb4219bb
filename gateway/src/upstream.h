/*
 * upstream.h -- the PostgreSQL servers behind the gateway: one primary and
 * the hot standbys of --replicas, each with its own connection pool and a
 * background health thread.
 *
 * Locking rules first.  Each upstream's health (replica_policy.h) is
 * atomics: stored by its own health thread and, for failures, by request
 * threads; read by everyone without a lock.  The primary's WAL samples
 * (the lag ring) are guarded by ring_mu, taken only by health threads,
 * never while waiting on the network.  Counters are relaxed atomics.  A
 * health thread owns its check connection; nothing else touches it.  The
 * pools have their own locks (pool.c); no lock here is held while calling
 * into a pool.
 *
 * Without replicas nothing runs in the background: every statement goes to
 * the primary's pool exactly as before, and the primary's health for the
 * metrics is the pool's own view.
 */
#ifndef OPENRISK_UPSTREAM_H
#define OPENRISK_UPSTREAM_H

#include <pthread.h>
#include <stdatomic.h>

#include "config.h"
#include "metrics.h"
#include "pool.h"
#include "replica_policy.h"
#include "upstream_metrics.h"

struct upstream {
	char name[16];   /* "primary", "replica-1": metrics label, X-Upstream, logs */
	char shown[160]; /* the DSN with passwords masked, for logs */
	const char *dsn;
	int is_primary;
	struct pool *pool;
	struct upstream_health health;
	_Atomic uint64_t reads, writes, failures;
	/* owned by its health thread */
	pthread_t thread;
	int thread_started;
	void *check_conn; /* PGconn */
	int was_live;
};

struct upstreams {
	const struct gw_config *cfg;
	struct routing_policy pol;
	struct upstream primary;
	struct upstream replicas[REPLICAS_MAX];
	int nreplicas;
	pthread_mutex_t ring_mu; /* guards ring (health threads only) */
	struct lag_ring ring;
	_Atomic unsigned spin;                    /* round-robin over replicas */
	_Atomic uint64_t lsn_reads[LSN_OUTCOMES]; /* reads presenting X-Min-LSN, by outcome */
	struct histogram lsn_wait;                /* replay waits on a replica, seconds */
	pthread_mutex_t stop_mu;
	pthread_cond_t stop_cv;
	int stopping;
};

/*
 * Build the set around the primary's pool (the gateway's existing one):
 * one pool per replica of cfg->replicas, each DSN checked by libpq.  NULL
 * with a sentence in err (naming the replica, password masked).
 */
struct upstreams *upstreams_create(const struct gw_config *cfg, struct pool *primary_pool, char *err, size_t errlen);

/* Start the health threads (only when there are replicas); 0 or -1. */
int upstreams_start(struct upstreams *u);

/* Stop the health threads and close the replicas' pools (not the primary's). */
void upstreams_stop(struct upstreams *u, int64_t timeout_ms);

/* 1 when some replica is live (the gateway can still serve reads). */
int upstreams_ready(struct upstreams *u);

/* Where a read goes now (see policy_choose). */
enum read_choice upstreams_choose(struct upstreams *u, uint64_t min_lsn, int *which);

/* A request found up unreachable or its connection dead: out of routing until a check succeeds. */
void upstream_failed(struct upstreams *u, struct upstream *up, const char *why);

/* The figures of every upstream for /metrics (upstream_metrics.h). */
void upstreams_figures(struct upstreams *u, struct upstream_figures *f);

#endif
