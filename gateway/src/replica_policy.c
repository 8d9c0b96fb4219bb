/*
 * replica_policy.c -- the routing state machine (see replica_policy.h for
 * the states, the lag bound and the locking rules).
 *
 * Everything here is a function of its arguments and the atomics it is
 * handed: no thread, no clock of its own, no libpq, so every transition is
 * unit-tested with a fake clock (tests/test_replica.c).
 */
#include "replica_policy.h"

#include <stdlib.h>

#define GET(v) atomic_load_explicit(&(v), memory_order_relaxed)
#define SET(v, x) atomic_store_explicit(&(v), (x), memory_order_relaxed)

/* Samples beyond max_lag / interval, so the span exceeds max_lag even with late checks. */
#define RING_MARGIN 16

int replica_ring_size(int64_t max_lag_ms, int64_t interval_ms)
{
	if (interval_ms < 1)
		interval_ms = 1;
	return (int)(max_lag_ms / interval_ms) + RING_MARGIN;
}

int lag_ring_init(struct lag_ring *r, int size)
{
	r->t_ms = calloc((size_t)size, sizeof *r->t_ms);
	r->lsn = calloc((size_t)size, sizeof *r->lsn);
	r->size = size;
	r->n = r->next = 0;
	if (!r->t_ms || !r->lsn) {
		lag_ring_free(r);
		return -1;
	}
	return 0;
}

void lag_ring_free(struct lag_ring *r)
{
	free(r->t_ms);
	free(r->lsn);
	r->t_ms = NULL;
	r->lsn = NULL;
	r->size = r->n = r->next = 0;
}

void lag_ring_add(struct lag_ring *r, int64_t t_ms, uint64_t lsn)
{
	r->t_ms[r->next] = t_ms;
	r->lsn[r->next] = lsn;
	r->next = (r->next + 1) % r->size;
	if (r->n < r->size)
		r->n++;
}

/* The i-th newest sample's slot (i = 0: newest). */
static int slot(const struct lag_ring *r, int i)
{
	return (r->next - 1 - i + 2 * r->size) % r->size;
}

uint64_t lag_ring_newest(const struct lag_ring *r)
{
	return r->n ? r->lsn[slot(r, 0)] : 0;
}

int64_t lag_ring_covered(const struct lag_ring *r, uint64_t replayed)
{
	/* samples are in LSN order too (WAL only grows), so the first hit from the newest is the answer */
	for (int i = 0; i < r->n; i++)
		if (r->lsn[slot(r, i)] <= replayed)
			return r->t_ms[slot(r, i)];
	if (r->n > 0 && r->n == r->size)
		return r->t_ms[slot(r, r->n - 1)] - 1;
	return -1;
}

void health_ok(struct upstream_health *h, int64_t started_ms)
{
	SET(h->ok_ms, started_ms);
}

void health_failed(struct upstream_health *h, int64_t now_ms)
{
	SET(h->failed_ms, now_ms);
	SET(h->fresh_ms, 0);
	SET(h->replayed, 0);
}

int health_live(const struct upstream_health *h, const struct routing_policy *pol, int64_t now_ms)
{
	int64_t ok = GET(h->ok_ms);

	return ok > 0 && ok > GET(h->failed_ms) && now_ms - ok <= pol->down_after_ms;
}

int64_t health_lag_ms(const struct upstream_health *h, int64_t now_ms)
{
	int64_t fresh = GET(h->fresh_ms);

	return fresh > 0 ? (now_ms > fresh ? now_ms - fresh : 0) : -1;
}

int health_routable(const struct upstream_health *h, const struct routing_policy *pol, int primary_live,
		    int64_t now_ms)
{
	int64_t lag;

	if (!health_live(h, pol, now_ms))
		return 0;
	if (!primary_live)
		return 1;
	lag = health_lag_ms(h, now_ms);
	return lag >= 0 && lag <= pol->max_lag_ms;
}

enum read_choice policy_choose(const struct routing_policy *pol, const struct upstream_health *primary,
			       const struct upstream_health *const replicas[], int n, uint64_t min_lsn,
			       int64_t now_ms, unsigned spin, int *which)
{
	int routable[64], ready[64], nr = 0, nready = 0, most = -1;
	int primary_live = health_live(primary, pol, now_ms);

	for (int i = 0; i < n && i < 64; i++) {
		if (!health_routable(replicas[i], pol, primary_live, now_ms))
			continue;
		routable[nr++] = i;
		if (GET(replicas[i]->replayed) >= min_lsn)
			ready[nready++] = i;
		if (most < 0 || GET(replicas[i]->replayed) > GET(replicas[most]->replayed))
			most = i;
	}
	if (nr == 0)
		return READ_PRIMARY;
	if (min_lsn == 0) {
		*which = routable[spin % (unsigned)nr];
		return READ_REPLICA;
	}
	if (nready > 0) {
		*which = ready[spin % (unsigned)nready];
		return READ_REPLICA;
	}
	*which = most;
	return READ_REPLICA_WAIT;
}
