/*
 * stats_poller.c -- the background pg_stat reader (see stats_poller.h).
 *
 * Each poll borrows a pool connection with a short acquire timeout: when
 * the pool is saturated by requests, the poll is skipped rather than
 * competing with them, and the metrics say so (openrisk_stats_poll_success
 * 0).  The engine's cache_stats() is read with its own statement so the
 * pg_stat figures survive a missing or older extension.  Both statements
 * live in the registry (statements.c) with every other.
 */
#include "stats_poller.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "statements.h"
#include "timeutil.h"

#define POLL_ACQUIRE_TIMEOUT_MS 1000

static struct {
	pthread_mutex_t mu;
	pthread_cond_t wake;
	pthread_t thread;
	int running, stop;
	struct pool *pool;
	int64_t interval_ms;
	struct pg_stats last;
} poller = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static int64_t num(const PGresult *r, int col)
{
	return PQgetisnull(r, 0, col) ? 0 : strtoll(PQgetvalue(r, 0, col), NULL, 10);
}

/* One poll: both statements on one borrowed connection. */
static void poll_once(void)
{
	struct pool_conn *c;
	struct pg_stats s;
	PGresult *r;
	int ok = 0;

	pthread_mutex_lock(&poller.mu);
	s = poller.last;
	pthread_mutex_unlock(&poller.mu);

	if (pool_acquire(poller.pool, POLL_ACQUIRE_TIMEOUT_MS, &c) == POOL_OK) {
		r = pool_exec(poller.pool, c, STMT_POLL_PG_STATS, 0, NULL);
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
			s.xact_commit = num(r, 0);
			s.xact_rollback = num(r, 1);
			s.blks_hit = num(r, 2);
			s.blks_read = num(r, 3);
			s.deadlocks = num(r, 4);
			s.numbackends = num(r, 5);
			for (int i = 0; i < PG_NSTATES; i++)
				s.activity[i] = num(r, 6 + i);
			ok = 1;
		} else
			log_debug("stats poller: pg_stat query failed: %s", PQresultErrorMessage(r));
		PQclear(r);
		if (ok && !pool_conn_broken(c)) {
			r = pool_exec(poller.pool, c, STMT_POLL_CACHE_STATS, 0, NULL);
			s.have_cache = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
			if (s.have_cache) {
				s.cache_hits = num(r, 0);
				s.cache_misses = num(r, 1);
				s.cache_evictions = num(r, 2);
				s.cache_entries = num(r, 3);
				s.cache_bytes_used = num(r, 4);
				s.cache_bytes_limit = num(r, 5);
				s.cache_fills_rejected = num(r, 6);
				s.cache_stampede_waits = num(r, 7);
				s.cache_handoffs = num(r, 8);
				s.cache_stampede_recomputes = num(r, 9);
			}
			PQclear(r);
		}
		pool_release(poller.pool, c);
	}
	s.last_poll_ok = ok;
	if (ok) {
		s.valid = 1;
		s.last_success = unix_seconds();
	} else
		s.poll_errors++;
	pthread_mutex_lock(&poller.mu);
	poller.last = s;
	pthread_mutex_unlock(&poller.mu);
}

static void *poller_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&poller.mu);
	while (!poller.stop) {
		struct timespec ts;

		pthread_mutex_unlock(&poller.mu);
		poll_once();
		pthread_mutex_lock(&poller.mu);
		ts = time_after_ms(CLOCK_REALTIME, poller.interval_ms);
		while (!poller.stop && pthread_cond_timedwait(&poller.wake, &poller.mu, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&poller.mu);
	return NULL;
}

int stats_poller_start(struct pool *pool, int64_t interval_ms)
{
	poller.pool = pool;
	poller.interval_ms = interval_ms;
	poller.stop = 0;
	if (pthread_create(&poller.thread, NULL, poller_main, NULL) != 0)
		return -1;
	poller.running = 1;
	return 0;
}

void stats_poller_stop(void)
{
	if (!poller.running)
		return;
	pthread_mutex_lock(&poller.mu);
	poller.stop = 1;
	pthread_cond_signal(&poller.wake);
	pthread_mutex_unlock(&poller.mu);
	pthread_join(poller.thread, NULL);
	poller.running = 0;
}

void stats_poller_snapshot(struct pg_stats *out)
{
	pthread_mutex_lock(&poller.mu);
	*out = poller.last;
	pthread_mutex_unlock(&poller.mu);
}
