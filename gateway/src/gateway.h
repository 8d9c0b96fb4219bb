/*
 * gateway.h -- the state the request threads of both listeners share.
 *
 * main() fills it once before the listeners start; afterwards only the two
 * atomics change.  A header of its own so that the pipeline, the metrics
 * listener and main() can share it without depending on one another.
 */
#ifndef OPENRISK_GATEWAY_H
#define OPENRISK_GATEWAY_H

#include <stdatomic.h>

#include "config.h"
#include "pool.h"

struct upstreams;

struct gateway {
	const struct gw_config *cfg;
	struct pool *pool;     /* the primary's */
	struct upstreams *ups; /* the primary and its replicas (upstream.h); NULL: the pool alone */
	atomic_int draining;   /* SIGTERM received: new requests get 503 */
	atomic_int inflight;   /* requests between begin and reply */
};

#endif
