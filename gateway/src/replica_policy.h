/*
 * replica_policy.h -- where a read may go: the routing state machine of
 * the primary and its hot standbys, as pure functions of their health and
 * of a clock.
 *
 * Locking rules first.  Each upstream's health is a handful of atomics:
 * its health thread (upstream.c) stores them after every check, a request
 * thread that saw the server fail stores failed_ms, and every request reads
 * them without a lock.  No decision needs two fields to be consistent with
 * each other beyond what the comparisons below tolerate (a failure newer
 * than the last good check wins; a lag computed from a slightly older
 * fresh_ms is only more conservative).  The lag ring is NOT atomic: its
 * owner (upstream.c) guards it with a mutex that only health threads take.
 *
 * The lag, and why it is a bound.  The primary's health thread records
 * samples (t, L): at gateway time t, just before asking, the primary's WAL
 * insert position was L -- so every commit acknowledged to anyone before t
 * ends at or before L.  A replica whose replay position r >= L has every
 * such commit: its data is "fresh as of t" (fresh_ms), and at time now its
 * lag is at most now - t.  This needs no clock on the servers and stays 0
 * on an idle primary (unlike now() - pg_last_xact_replay_timestamp()).
 *
 * The states of a server, as the decisions below read them:
 *
 *   live      its last health check succeeded, started after its last
 *             failure, and less than down_after_ms ago;
 *   routable  (replicas) live, and its lag is known and <= max_lag -- or
 *             live while the primary is not: then no fresher copy is
 *             reachable and replicas serve reads whatever their lag;
 *   ready     (for a read presenting an LSN) routable and its last known
 *             replay position is past that LSN.
 *
 * A read without an LSN goes to a routable replica (round-robin), else to
 * the primary.  A read with one goes to a ready replica, else to the
 * routable replica that replayed the most (which must first wait for the
 * LSN, a bounded time: routing.c), else to the primary.  Writes never ask.
 */
#ifndef OPENRISK_REPLICA_POLICY_H
#define OPENRISK_REPLICA_POLICY_H

#include <stdatomic.h>
#include <stdint.h>

/* Primary WAL samples, oldest first in time; sized by replica_ring_size(). */
struct lag_ring {
	int64_t *t_ms;
	uint64_t *lsn;
	int size, n, next; /* capacity, samples held, slot of the next sample */
};

struct upstream_health {
	_Atomic int64_t ok_ms;         /* start of the last successful check; 0: never */
	_Atomic int64_t failed_ms;     /* last failure seen (check or request); 0: never */
	_Atomic int64_t fresh_ms;      /* replicas: fresh as of this gateway time; 0: unknown */
	_Atomic uint64_t replayed;     /* replicas: replay LSN seen by the last check */
	_Atomic uint64_t behind_bytes; /* replicas: newest primary sample - replayed */
};

struct routing_policy {
	int64_t max_lag_ms;    /* replicas serve reads only while their lag is at most this */
	int64_t down_after_ms; /* no successful check for this long: down */
};

enum read_choice {
	READ_PRIMARY,     /* no replica may serve it */
	READ_REPLICA,     /* the chosen replica serves it as it is */
	READ_REPLICA_WAIT /* the chosen replica must first replay the read's LSN */
};

/* Samples needed so that the ring spans max_lag_ms plus a margin at interval_ms. */
int replica_ring_size(int64_t max_lag_ms, int64_t interval_ms);

/* Allocate / free a ring of size samples; 0 or -1 (out of memory). */
int lag_ring_init(struct lag_ring *r, int size);
void lag_ring_free(struct lag_ring *r);

/* Record a primary sample (t_ms increasing). */
void lag_ring_add(struct lag_ring *r, int64_t t_ms, uint64_t lsn);

/* The newest sample's LSN (0 when empty). */
uint64_t lag_ring_newest(const struct lag_ring *r);

/*
 * The gateway time as of which a replay position covers the primary: the
 * newest sample whose LSN is <= replayed.  When replayed is older than
 * every sample of a full ring, the oldest sample's time - 1 (the lag it
 * implies, more than the ring's span, is a lower bound that exceeds
 * max_lag).  -1 when the ring cannot tell (empty, or not yet full and
 * replayed older than all of it).
 */
int64_t lag_ring_covered(const struct lag_ring *r, uint64_t replayed);

/* A successful check that started at started_ms. */
void health_ok(struct upstream_health *h, int64_t started_ms);

/* A failure seen at now_ms; a replica's replay knowledge is forgotten (a restart can go back). */
void health_failed(struct upstream_health *h, int64_t now_ms);

int health_live(const struct upstream_health *h, const struct routing_policy *pol, int64_t now_ms);

/* now - fresh_ms, or -1 when unknown. */
int64_t health_lag_ms(const struct upstream_health *h, int64_t now_ms);

/* Routable for reads (see above); primary_live as health_live() of the primary. */
int health_routable(const struct upstream_health *h, const struct routing_policy *pol, int primary_live,
		    int64_t now_ms);

/*
 * Choose where a read goes.  replicas[0..n) are the replicas' health,
 * min_lsn the read's X-Min-LSN (0: none), spin a per-request counter for
 * round-robin.  *which is set to the replica's index unless READ_PRIMARY.
 */
enum read_choice policy_choose(const struct routing_policy *pol, const struct upstream_health *primary,
			       const struct upstream_health *const replicas[], int n, uint64_t min_lsn,
			       int64_t now_ms, unsigned spin, int *which);

#endif
