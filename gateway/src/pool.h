/*
 * pool.h -- a bounded pool of libpq connections with prepared statements.
 *
 * The pool of OpenRisk's original Go service (database/sql: max open, max idle, lifetime, idle
 * time) rebuilt for a thread-per-connection HTTP server: a request thread
 * borrows one connection for exactly one statement.  Every statement the
 * gateway runs is prepared once per connection, right after connecting,
 * so a request costs one round trip.  Broken connections are discarded and
 * replaced; while PostgreSQL is down, acquire fails fast instead of making
 * every request wait for a connect timeout.
 */
#ifndef OPENRISK_POOL_H
#define OPENRISK_POOL_H

#include <libpq-fe.h>

#include "config.h"
#include "metrics.h"
#include "statements.h"

struct pool;
struct pool_conn;

enum pool_status {
	POOL_OK,
	POOL_TIMEOUT, /* every connection stayed busy for the acquire timeout */
	POOL_DOWN,    /* PostgreSQL refused a new connection just now */
	POOL_CLOSING  /* the gateway is shutting down */
};

/*
 * Create the pool (no connection is opened yet) and its reaper thread.
 * Every statement of stmts[0..nstmts) (the gateway passes the registry of
 * statements.h) is prepared under its name on every connection; entries
 * without SQL are skipped.  The array must outlive the pool.
 */
struct pool *pool_create(const struct gw_config *cfg, const struct statement *stmts, int nstmts);

/* The same for another server than cfg->dsn; name (or NULL) prefixes its log lines. */
struct pool *pool_create_for(const struct gw_config *cfg, const char *name, const char *dsn,
			     const struct statement *stmts, int nstmts);

enum pool_status pool_acquire(struct pool *p, int64_t timeout_ms, struct pool_conn **out);

/*
 * Run prepared statement `stmt` (an index into the pool's statements) with
 * text parameters (NULL = SQL NULL).  Always returns a PGresult (possibly a
 * FATAL one, also for an index out of range) that the caller clears; marks
 * the connection broken when the error left it unusable.
 */
PGresult *pool_exec(struct pool *p, struct pool_conn *c, int stmt, int nparams, const char *const *values);

/*
 * Two prepared statements in one round trip (a libpq pipeline), each in a
 * transaction of its own (a Sync after each), the second after the first
 * finished on the same backend.  *r1 and *r2 are always set (FATAL ones on
 * failure) and cleared by the caller.  When s2 cannot be prepared here (an
 * older extension), s1 runs alone and *r2 is that failure.
 */
void pool_exec_pair(struct pool *p, struct pool_conn *c, int s1, int n1, const char *const *v1, int s2, int n2,
		    const char *const *v2, PGresult **r1, PGresult **r2);

/* 1 when the last pool_exec found the connection dead (not an SQL error). */
int pool_conn_broken(const struct pool_conn *c);

/* Give the connection back; a broken one is closed and its idle peers too. */
void pool_release(struct pool *p, struct pool_conn *c);

/*
 * One statement on a borrowed connection, given back before returning:
 * acquire (up to timeout_ms), pool_exec, release.  The result (cleared by
 * the caller), or NULL with *st saying why there was no connection.  With
 * retry (reads: nothing can have been committed), a statement whose
 * connection died runs once more on a fresh one.  *broken: the last
 * attempt's connection died (the caller's reply differs).  *timing (may
 * be NULL): the last attempt's wait for a connection and its statement's
 * round trip, in milliseconds (the reply's Server-Timing).
 */
struct pool_timing {
	double wait_ms;
	double db_ms;
};
PGresult *pool_run(struct pool *p, int64_t timeout_ms, int stmt, int nparams, const char *const *values, int retry,
		   enum pool_status *st, int *broken, struct pool_timing *timing);

/* Open one connection now (start-up warm-up); 0 when PostgreSQL answered. */
int pool_warm(struct pool *p);

/* 1 when the pool last reached PostgreSQL and is not closing. */
int pool_ready(struct pool *p);

void pool_snapshot(struct pool *p, struct pool_stats *out);

/* Refuse new acquires, wait up to timeout_ms for borrowed ones, close all. */
void pool_close(struct pool *p, int64_t timeout_ms);

#endif
