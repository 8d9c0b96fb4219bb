/*
 * routing.h -- running a route's statement on the right server: writes on
 * the primary with their commit LSN, cached reads on a replica when one
 * may serve them (replica_policy.h), everything else on the primary.
 *
 * The pipeline calls routing_run() where it used to borrow a connection
 * from the one pool, and gets the same things back (a result, or why there
 * was no connection), plus the name of the server that answered and, for
 * a write, the LSN to hand the client (X-Commit-LSN).
 */
#ifndef OPENRISK_ROUTING_H
#define OPENRISK_ROUTING_H

#include <stdint.h>

#include "gateway.h"
#include "lsn.h"
#include "request.h"
#include "routes.h"

struct routed {
	PGresult *r;                   /* the result (the caller clears it); NULL unless st is POOL_OK */
	enum pool_status st;           /* POOL_OK, or why no server could run it */
	int broken;                    /* the connection died under the statement */
	double wait_ms, db_ms;         /* the wait for a connection, the statement's round trip (Server-Timing) */
	const char *upstream;          /* "primary", "replica-1": who answered */
	char commit_lsn[LSN_TEXT_MAX]; /* a write: the end of its commit record; else "" */
};

/*
 * Run rt's statement with values.  min_lsn is the read's X-Min-LSN (0:
 * none).  Reads are retried elsewhere when a replica fails under them, and
 * once on the primary when its connection dies; writes never are (the
 * first attempt may have committed).
 */
void routing_run(struct gateway *gw, const struct route *rt, const char *const *values, uint64_t min_lsn,
		 struct routed *out);

/* Add X-Upstream and X-Commit-LSN to the request's reply headers. */
void routing_headers(struct request *req, const struct routed *res);

#endif
