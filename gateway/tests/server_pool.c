/*
 * server_pool.c -- the libpq pool against a real database: its accounting
 * (open / idle / in use / waiting), most-recently-used reuse, the acquire
 * timeout, waking a waiter on release, a killed backend replaced (and its
 * idle peers closed), fail-fast while PostgreSQL refuses connections,
 * statements prepared late, lifetime and idle reaping, and shutdown.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool.h"
#include "server.h"
#include "timeutil.h"

/* The pool tests' own statement registry. */
enum {
	S_ONE,
	S_PID,
	S_LATE,
	S_COUNT
};
static const struct statement test_statements[S_COUNT] = {
	[S_ONE] = {"one", "SELECT 1"},
	[S_PID] = {"pid", "SELECT pg_backend_pid()"},
	[S_LATE] = {"late", "SELECT gw_test_late()"}, /* the function is created after connecting */
};

/* The settings of the pool under test (a pool keeps a pointer to them). */
static struct gw_config cfg;

/* A pool with cfg as it is (after server_config and any changes). */
static struct pool *new_pool(void)
{
	return pool_create(&cfg, test_statements, S_COUNT);
}

/* A pool with the default test settings. */
static struct pool *fresh_pool(void)
{
	server_config(&cfg);
	return new_pool();
}

/* Run statement s on c; the first value as an int, or -1 when it failed. */
static long exec_value(struct pool *p, struct pool_conn *c, int s)
{
	PGresult *r = pool_exec(p, c, s, 0, NULL);
	long v = PQresultStatus(r) == PGRES_TUPLES_OK ? atol(PQgetvalue(r, 0, 0)) : -1;

	PQclear(r);
	return v;
}

static void accounting_and_mru(void)
{
	struct pool *p;
	struct pool_conn *a, *b, *c;
	struct pool_stats s;

	p = fresh_pool();
	pool_snapshot(p, &s);
	CHECK_INT(s.open, 0); /* nothing opened before the first acquire */
	CHECK_INT(s.max, 2);
	CHECK_INT(pool_acquire(p, 1000, &a), POOL_OK);
	CHECK_INT(pool_acquire(p, 1000, &b), POOL_OK);
	CHECK(a != b);
	pool_snapshot(p, &s);
	CHECK_INT(s.open, 2);
	CHECK_INT(s.in_use, 2);
	CHECK_INT(s.idle, 0);
	CHECK_INT(exec_value(p, a, S_ONE), 1);
	CHECK(exec_value(p, a, S_PID) != exec_value(p, b, S_PID));
	pool_release(p, a);
	usleep(2000);
	pool_release(p, b);
	pool_snapshot(p, &s);
	CHECK_INT(s.in_use, 0);
	CHECK_INT(s.idle, 2);
	CHECK_INT(s.opened, 2);
	CHECK(pool_ready(p));
	/* the most recently used connection comes back first */
	CHECK_INT(pool_acquire(p, 1000, &c), POOL_OK);
	CHECK(c == b);
	pool_release(p, c);
	pool_close(p, 1000);
}

static void acquire_timeout(void)
{
	struct pool *p;
	struct pool_conn *a, *b, *c;
	struct pool_stats s;
	uint64_t waits;
	int64_t t0;

	p = fresh_pool();
	CHECK_INT(pool_acquire(p, 1000, &a), POOL_OK);
	CHECK_INT(pool_acquire(p, 1000, &b), POOL_OK);
	pool_snapshot(p, &s);
	waits = s.acquire_wait->count;
	t0 = mono_ms();
	CHECK_INT(pool_acquire(p, 150, &c), POOL_TIMEOUT);
	CHECK(ms_since(t0) >= 145); /* it did wait the timeout ... */
	CHECK(ms_since(t0) < 1500); /* ... and not much longer */
	pool_snapshot(p, &s);
	CHECK_INT(s.acquire_timeouts, 1);
	CHECK_INT(s.waiting, 0);
	CHECK_INT(s.in_use, 2);
	CHECK_INT(s.acquire_wait->count, waits + 1);
	pool_release(p, a);
	pool_release(p, b);
	pool_close(p, 1000);
}

struct delayed_release {
	struct pool *p;
	struct pool_conn *c;
};

static void *release_later(void *arg)
{
	struct delayed_release *d = arg;

	usleep(100 * 1000);
	pool_release(d->p, d->c);
	return NULL;
}

/* A waiter gets the connection another thread releases, long before its timeout. */
static void waiter_woken_by_release(void)
{
	struct delayed_release d;
	struct pool_conn *b, *c;
	pthread_t t;
	int64_t t0;

	d.p = fresh_pool();
	CHECK_INT(pool_acquire(d.p, 1000, &d.c), POOL_OK);
	CHECK_INT(pool_acquire(d.p, 1000, &b), POOL_OK);
	t0 = mono_ms();
	pthread_create(&t, NULL, release_later, &d);
	CHECK_INT(pool_acquire(d.p, 5000, &c), POOL_OK);
	CHECK(ms_since(t0) < 2500);
	CHECK(c == d.c);
	pthread_join(t, NULL);
	pool_release(d.p, b);
	pool_release(d.p, c);
	pool_close(d.p, 1000);
}

/* A killed backend: the connection is reported broken, closed with its idle peers, and replaced. */
static void dead_connection_replaced(void)
{
	struct pool *p;
	struct pool_conn *a, *b;
	struct pool_stats s;
	long pid;
	PGresult *r;

	p = fresh_pool();
	CHECK_INT(pool_acquire(p, 1000, &a), POOL_OK);
	CHECK_INT(pool_acquire(p, 1000, &b), POOL_OK);
	pool_release(p, b); /* an idle peer */
	pid = exec_value(p, a, S_PID);
	kill_backends("openrisk-gateway");
	r = pool_exec(p, a, S_ONE, 0, NULL);
	CHECK(PQresultStatus(r) != PGRES_TUPLES_OK);
	CHECK(pool_conn_broken(a));
	PQclear(r);
	pool_release(p, a);
	pool_snapshot(p, &s);
	CHECK_INT(s.closed_broken, 2); /* it and its idle peer */
	CHECK_INT(s.open, 0);
	CHECK(pool_ready(p)); /* one dead backend does not mean the database is down */
	CHECK_INT(pool_acquire(p, 1000, &a), POOL_OK);
	CHECK(exec_value(p, a, S_PID) != pid);
	pool_snapshot(p, &s);
	CHECK_INT(s.opened, 3); /* a new connection, not a revived one */
	CHECK(!pool_conn_broken(a));
	pool_release(p, a);
	pool_close(p, 1000);
}

/* While PostgreSQL refuses connections, acquire fails at once, probing again after a window. */
static void database_down_fails_fast(void)
{
	struct pool *p;
	struct pool_conn *c;
	struct pool_stats s;
	int64_t t0;

	server_config(&cfg);
	snprintf(cfg.dsn, sizeof cfg.dsn, "host=127.0.0.1 port=1 dbname=%s", TEST_DB); /* nothing listens */
	p = new_pool();
	CHECK_INT(pool_acquire(p, 1000, &c), POOL_DOWN);
	t0 = mono_ms();
	CHECK_INT(pool_acquire(p, 1000, &c), POOL_DOWN);
	CHECK(ms_since(t0) < 500); /* no waiting for the 1 s acquire timeout (nor a connect: see below) */
	pool_snapshot(p, &s);
	CHECK_INT(s.connect_failures, 1);
	CHECK_INT(s.open, 0);
	CHECK_INT(s.in_use, 0);
	CHECK(!s.db_up);
	CHECK(!pool_ready(p));
	usleep(600 * 1000); /* past the down window: the next acquire probes again */
	CHECK_INT(pool_acquire(p, 1000, &c), POOL_DOWN);
	pool_snapshot(p, &s);
	CHECK_INT(s.connect_failures, 2);
	pool_close(p, 1000);
}

/* A statement whose function did not exist at connect time is prepared on first use. */
static void late_statement_prepared_on_use(void)
{
	struct pool *p;
	struct pool_conn *c;
	PGresult *r;

	db_exec("DROP FUNCTION IF EXISTS gw_test_late()");
	p = fresh_pool();
	CHECK_INT(pool_acquire(p, 1000, &c), POOL_OK);
	CHECK_INT(exec_value(p, c, S_LATE), -1); /* not there yet: an SQL error ... */
	CHECK(!pool_conn_broken(c));             /* ... that leaves the connection usable */
	db_exec("CREATE FUNCTION gw_test_late() RETURNS int LANGUAGE sql AS 'SELECT 42'");
	CHECK_INT(exec_value(p, c, S_LATE), 42);
	/* an index outside the registry is an error result, not a read past the table */
	fprintf(stderr, "server_pool: (two ERROR lines about statements 3 and -1 are expected next)\n");
	r = pool_exec(p, c, S_COUNT, 0, NULL);
	CHECK_INT(PQresultStatus(r), PGRES_FATAL_ERROR);
	PQclear(r);
	r = pool_exec(p, c, -1, 0, NULL);
	CHECK_INT(PQresultStatus(r), PGRES_FATAL_ERROR);
	PQclear(r);
	CHECK(!pool_conn_broken(c));
	pool_release(p, c);
	pool_close(p, 1000);
}

/* Past its lifetime a connection is closed on its next acquire; idle ones are reaped. */
static void lifetime_and_idle_reaping(void)
{
	struct pool *p;
	struct pool_conn *c;
	struct pool_stats s;

	server_config(&cfg);
	cfg.pool_max_lifetime_ms = 100;
	p = new_pool();
	CHECK_INT(pool_acquire(p, 1000, &c), POOL_OK);
	pool_release(p, c);
	usleep(150 * 1000);
	CHECK_INT(pool_acquire(p, 1000, &c), POOL_OK);
	pool_snapshot(p, &s);
	CHECK_INT(s.closed_lifetime, 1);
	CHECK_INT(s.opened, 2);
	pool_release(p, c);
	pool_close(p, 1000);

	server_config(&cfg);
	cfg.pool_max_idle_time_ms = 200;
	p = new_pool();
	CHECK_INT(pool_acquire(p, 1000, &c), POOL_OK);
	pool_release(p, c);
	usleep(1500 * 1000); /* the reaper runs every second */
	pool_snapshot(p, &s);
	CHECK_INT(s.closed_idle, 1);
	CHECK_INT(s.open, 0);
	pool_close(p, 1000);
}

static void close_refuses_and_counts(void)
{
	struct pool *p;
	struct pool_conn *a, *b;
	struct pool_stats s;

	p = fresh_pool();
	CHECK_INT(pool_acquire(p, 1000, &a), POOL_OK);
	CHECK_INT(pool_acquire(p, 1000, &b), POOL_OK);
	pool_release(p, a);
	pool_release(p, b);
	pool_close(p, 1000);
	CHECK_INT(pool_acquire(p, 1000, &a), POOL_CLOSING);
	CHECK(!pool_ready(p));
	pool_snapshot(p, &s);
	CHECK_INT(s.closed_shutdown, 2);
	CHECK_INT(s.open, 0);
}

void server_pool(void)
{
	accounting_and_mru();
	acquire_timeout();
	waiter_woken_by_release();
	dead_connection_replaced();
	database_down_fails_fast();
	late_statement_prepared_on_use();
	lifetime_and_idle_reaping();
	close_refuses_and_counts();
}
