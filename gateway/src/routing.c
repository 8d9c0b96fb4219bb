/*
 * routing.c -- where each statement runs (see routing.h).
 *
 * Locking rules first: no lock of its own.  Health is read lock-free
 * through upstreams_choose(); connections come from the pools, which lock
 * inside; counters are relaxed atomics.
 *
 * Writes.  The write and `SELECT openrisk.last_commit_lsn()` go to the
 * primary in one libpq pipeline with a Sync after each: the Sync commits
 * the write's implicit transaction, so the second statement, in a
 * transaction of its own on the same backend, reads the end of the write's
 * commit record (extension/src/replica_lsn.c says why that is the right
 * LSN).  One round trip; the LSN becomes X-Commit-LSN.  A primary without
 * the function still answers the write, without the header.
 *
 * Cached reads (route_is_cached_read: KIND_READ, KIND_LIST) go where
 * replica_policy.c says.  A read that
 * presented X-Min-LSN and landed on a replica not known to have replayed it
 * sends `SELECT openrisk.replay_wait(lsn, --replica-wait)` and the read in
 * one pipeline: the read runs after the wait returned on the same backend,
 * so its snapshot includes everything up to the position the wait
 * reports.  If that position is short of the LSN (the wait ran out) the
 * read's result is discarded and the primary answers.  A replica that
 * fails under a read (connection refused or dead) is marked failed -- out
 * of routing at once -- and the read goes elsewhere; an SQL error on a
 * replica (a recovery conflict, say) sends the read to the primary, whose
 * answer, error or not, is final.  Other reads (/health, /cache/stats) and
 * everything without replicas run on the primary exactly as before.
 */
#include "routing.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "timeutil.h"
#include "upstream.h"

#define ADD(v, n) atomic_fetch_add_explicit(&(v), (n), memory_order_relaxed)

/* A busy replica pool is not worth waiting for: the primary can answer. */
#define REPLICA_ACQUIRE_MS 50

/* The reply's Server-Timing: t0 before the acquire, t1 once it returned. */
static void note_timing(struct routed *out, const struct timespec *t0, const struct timespec *t1)
{
	out->db_ms = seconds_since(t1) * 1000.0;
	out->wait_ms = seconds_since(t0) * 1000.0 - out->db_ms;
}

static void run_write(struct gateway *gw, const struct route *rt, const char *const *values, struct routed *out)
{
	struct pool_conn *c;
	struct timespec t0, t1;
	PGresult *lsn = NULL;
	uint64_t v;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	out->st = pool_acquire(gw->pool, gw->cfg->pool_acquire_timeout_ms, &c);
	if (out->st != POOL_OK)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pool_exec_pair(gw->pool, c, rt->stmt, rt->nparams, values, STMT_LAST_COMMIT_LSN, 0, NULL, &out->r, &lsn);
	note_timing(out, &t0, &t1);
	if (PQresultStatus(out->r) == PGRES_TUPLES_OK && PQresultStatus(lsn) == PGRES_TUPLES_OK && PQntuples(lsn) == 1 &&
	    !PQgetisnull(lsn, 0, 0) && lsn_parse(PQgetvalue(lsn, 0, 0), &v) == 0)
		lsn_format(v, out->commit_lsn, sizeof out->commit_lsn);
	PQclear(lsn);
	out->broken = pool_conn_broken(c);
	pool_release(gw->pool, c);
	if (gw->ups)
		ADD(gw->ups->primary.writes, 1);
}

/* The primary, retrying once on a fresh connection when the first one died. */
static void run_on_primary(struct gateway *gw, const struct route *rt, const char *const *values, struct routed *out)
{
	for (int attempt = 0;; attempt++) {
		struct pool_conn *c;
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		out->st = pool_acquire(gw->pool, gw->cfg->pool_acquire_timeout_ms, &c);
		if (out->st != POOL_OK)
			return;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		out->r = pool_exec(gw->pool, c, rt->stmt, rt->nparams, values);
		note_timing(out, &t0, &t1);
		out->broken = pool_conn_broken(c);
		pool_release(gw->pool, c);
		if (gw->ups)
			ADD(gw->ups->primary.reads, 1);
		if (out->broken && route_is_retryable(rt) && attempt == 0) {
			PQclear(out->r);
			out->r = NULL;
			continue;
		}
		return;
	}
}

/*
 * The wait and the read in one pipeline on a replica connection.  The
 * read's result, or NULL (cleared) when the replica did not reach min_lsn
 * within --replica-wait.
 */
static PGresult *wait_then_read(struct upstreams *u, struct upstream *up, struct pool_conn *c, const struct route *rt,
				const char *const *values, uint64_t min_lsn)
{
	char lsn[LSN_TEXT_MAX], ms[24];
	const char *args[2] = {lsn, ms};
	PGresult *w = NULL, *r = NULL;
	int64_t t0 = mono_ms();
	uint64_t reached = 0;
	int ok;

	lsn_format(min_lsn, lsn, sizeof lsn);
	snprintf(ms, sizeof ms, "%lld", (long long)u->cfg->replica_wait_ms);
	pool_exec_pair(up->pool, c, STMT_REPLAY_WAIT, 2, args, rt->stmt, rt->nparams, values, &w, &r);
	histogram_observe(&u->lsn_wait, (double)(mono_ms() - t0) / 1000.0);
	ok = PQresultStatus(w) == PGRES_TUPLES_OK && PQntuples(w) == 1 && !PQgetisnull(w, 0, 0) &&
	     lsn_parse(PQgetvalue(w, 0, 0), &reached) == 0 && reached >= min_lsn;
	PQclear(w);
	if (!ok) {
		PQclear(r);
		return NULL;
	}
	return r;
}

/* 1 when a replica answered the read (out filled), 0 when the primary must. */
static int try_replicas(struct gateway *gw, const struct route *rt, const char *const *values, uint64_t min_lsn,
			struct routed *out)
{
	struct upstreams *u = gw->ups;

	for (int attempt = 0; attempt < 2; attempt++) {
		int which = -1, broken;
		enum read_choice choice = upstreams_choose(u, min_lsn, &which);
		struct upstream *up;
		struct pool_conn *c;
		struct timespec t0, t1;
		enum pool_status st;
		PGresult *r;

		if (choice == READ_PRIMARY) {
			if (min_lsn)
				ADD(u->lsn_reads[LSN_PRIMARY], 1);
			return 0;
		}
		up = &u->replicas[which];
		clock_gettime(CLOCK_MONOTONIC, &t0);
		st = pool_acquire(up->pool, REPLICA_ACQUIRE_MS, &c);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (st == POOL_DOWN) {
			upstream_failed(u, up, "a connection was refused");
			continue;
		}
		if (st != POOL_OK)
			return 0;
		r = choice == READ_REPLICA_WAIT ? wait_then_read(u, up, c, rt, values, min_lsn)
						: pool_exec(up->pool, c, rt->stmt, rt->nparams, values);
		broken = pool_conn_broken(c);
		pool_release(up->pool, c);
		if (broken) {
			PQclear(r);
			upstream_failed(u, up, "a connection died under a read");
			continue;
		}
		if (!r) { /* the wait ran out */
			ADD(u->lsn_reads[LSN_PRIMARY_AFTER_WAIT], 1);
			return 0;
		}
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			log_debug("%s: read failed (%s); asking the primary", up->name, PQresultErrorMessage(r));
			PQclear(r);
			return 0;
		}
		ADD(up->reads, 1);
		if (min_lsn)
			ADD(u->lsn_reads[choice == READ_REPLICA_WAIT ? LSN_REPLICA_WAITED : LSN_REPLICA], 1);
		out->st = POOL_OK;
		out->r = r;
		out->upstream = up->name;
		note_timing(out, &t0, &t1);
		return 1;
	}
	return 0;
}

void routing_run(struct gateway *gw, const struct route *rt, const char *const *values, uint64_t min_lsn,
		 struct routed *out)
{
	memset(out, 0, sizeof *out);
	out->upstream = "primary";
	if (!route_is_retryable(rt))
		run_write(gw, rt, values, out);
	else if (!(route_is_cached_read(rt) && gw->ups && gw->ups->nreplicas > 0 &&
		   try_replicas(gw, rt, values, min_lsn, out)))
		run_on_primary(gw, rt, values, out);
}

void routing_headers(struct request *req, const struct routed *res)
{
	size_t len = strlen(req->headers);

	snprintf(req->headers + len, sizeof req->headers - len, "X-Upstream: %s\r\n%s%s%s", res->upstream,
		 res->commit_lsn[0] ? "X-Commit-LSN: " : "", res->commit_lsn, res->commit_lsn[0] ? "\r\n" : "");
}
