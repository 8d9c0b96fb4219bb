/*
 * pool.c -- libpq connection pool (see pool.h).
 *
 * Locking: one mutex guards the slot table and the counters; connecting,
 * preparing, querying and PQfinish all happen outside it, so a slow
 * connect never blocks requests that could use an idle connection.  A
 * slot reserved for connecting counts as open and busy until it is ready.
 *
 * Idle connections are handed out most-recently-used first, so under a
 * light load the surplus ones stay idle, age past the idle time and are
 * reaped, like database/sql does.  Connections above max_idle are closed by
 * the reaper after a second of idleness rather than on release, which would
 * close and reopen connections in a tight loop under a fluctuating load.
 *
 * Failure handling: a query error that leaves the connection in
 * CONNECTION_BAD means PostgreSQL went away (restart, crash, network).
 * That connection and every idle peer (they share its fate) are closed.
 * Connect failures open a short "down" window in which acquire answers
 * POOL_DOWN at once; the first acquire after the window probes again, so
 * service resumes by itself when PostgreSQL is back.
 *
 * One pool per server: the gateway's primary pool connects to --dsn, each
 * replica's (upstream.c) to its own DSN and logs under its name.
 */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "timeutil.h"

#define DOWN_WINDOW_MS 500
#define EXCESS_IDLE_GRACE_MS 1000
#define REAP_INTERVAL_MS 1000

enum slot_state {
	SLOT_EMPTY,
	SLOT_IDLE,
	SLOT_BUSY
};

struct pool_conn {
	PGconn *pg;
	enum slot_state state;
	int64_t created_ms, last_used_ms;
	int broken;
	unsigned char *prepared; /* per statement: prepared on this connection */
};

struct pool {
	pthread_mutex_t mu;
	pthread_cond_t freed; /* a slot became idle or empty */
	pthread_cond_t reaper_wake;
	pthread_t reaper;
	const struct gw_config *cfg;
	const char *name; /* NULL for the primary's pool (its log lines say just "pool") */
	const char *dsn;
	const struct statement *stmts;
	int nstmts;
	struct pool_conn *slots;
	int nslots;
	int open, in_use, waiting;
	int closing;
	int db_up;
	int probing; /* a connect attempt is under way while down */
	int64_t down_until_ms;
	uint64_t opened, connect_failures, acquire_timeouts;
	uint64_t closed_lifetime, closed_idle, closed_broken, closed_shutdown;
	struct histogram acquire_wait;
};

/*
 * Connect and prepare every statement; NULL when PostgreSQL refused.
 *
 * plan_cache_mode=force_generic_plan: every statement is one function call
 * whose plan never depends on the parameter values, yet PostgreSQL would
 * re-plan it per execution ("custom plan") when it cannot prove the generic
 * plan is as cheap -- measured at 12-18% of the database time of a cached
 * read.  Settings given in the DSN (which is expanded last) win.
 */
static PGconn *open_connection(struct pool *p, unsigned char *prepared)
{
	static const char *const keys[] = {"connect_timeout", "application_name", "options", "dbname", NULL};
	const char *values[] = {"3", "openrisk-gateway", "-c plan_cache_mode=force_generic_plan", p->dsn, NULL};
	PGconn *pg = PQconnectdbParams(keys, values, 1);

	if (PQstatus(pg) != CONNECTION_OK) {
		char msg[256];
		snprintf(msg, sizeof msg, "%s", PQerrorMessage(pg));
		msg[strcspn(msg, "\n")] = '\0';
		log_warn("pool%s%s: cannot connect to PostgreSQL: %s", p->name ? " " : "", p->name ? p->name : "", msg);
		PQfinish(pg);
		return NULL;
	}
	for (int i = 0; i < p->nstmts; i++) {
		PGresult *r;

		prepared[i] = 0;
		if (!p->stmts[i].sql)
			continue;
		r = PQprepare(pg, p->stmts[i].name, p->stmts[i].sql, 0, NULL);
		if (PQresultStatus(r) == PGRES_COMMAND_OK)
			prepared[i] = 1;
		else
			log_debug("pool: statement %s not prepared yet: %s", p->stmts[i].name, PQresultErrorMessage(r));
		PQclear(r);
	}
	return pg;
}

static void *reaper_main(void *arg);

struct pool *pool_create(const struct gw_config *cfg, const struct statement *stmts, int nstmts)
{
	return pool_create_for(cfg, NULL, cfg->dsn, stmts, nstmts);
}

struct pool *pool_create_for(const struct gw_config *cfg, const char *name, const char *dsn,
			     const struct statement *stmts, int nstmts)
{
	struct pool *p = calloc(1, sizeof *p);

	if (!p)
		return NULL;
	p->cfg = cfg;
	p->name = name;
	p->dsn = dsn;
	p->stmts = stmts;
	p->nstmts = nstmts;
	p->nslots = cfg->pool_max_open;
	p->slots = calloc((size_t)p->nslots, sizeof *p->slots);
	if (!p->slots) {
		free(p);
		return NULL;
	}
	for (int i = 0; i < p->nslots; i++) {
		p->slots[i].prepared = calloc((size_t)nstmts + 1, 1);
		if (!p->slots[i].prepared)
			abort();
	}
	pthread_mutex_init(&p->mu, NULL);
	{
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&p->freed, &ca);
		pthread_cond_init(&p->reaper_wake, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (pthread_create(&p->reaper, NULL, reaper_main, p) != 0)
		abort();
	return p;
}

/* With the lock held: the most recently used idle slot, or -1. */
static int pick_idle(struct pool *p)
{
	int best = -1;

	for (int i = 0; i < p->nslots; i++)
		if (p->slots[i].state == SLOT_IDLE && (best < 0 || p->slots[i].last_used_ms > p->slots[best].last_used_ms))
			best = i;
	return best;
}

static int find_empty(struct pool *p)
{
	for (int i = 0; i < p->nslots; i++)
		if (p->slots[i].state == SLOT_EMPTY)
			return i;
	return -1;
}

/* With the lock held: empty slot i, returning its connection for PQfinish. */
static PGconn *empty_slot(struct pool *p, int i, uint64_t *reason_counter)
{
	PGconn *pg = p->slots[i].pg;

	p->slots[i].pg = NULL;
	p->slots[i].state = SLOT_EMPTY;
	p->open--;
	(*reason_counter)++;
	pthread_cond_signal(&p->freed);
	return pg;
}

/* Connect into reserved slot i (lock NOT held); returns POOL_OK or POOL_DOWN. */
static enum pool_status fill_slot(struct pool *p, int i)
{
	struct pool_conn *c = &p->slots[i];
	PGconn *pg = open_connection(p, c->prepared);
	int64_t t = mono_ms();

	pthread_mutex_lock(&p->mu);
	p->probing = 0;
	if (!pg) {
		c->state = SLOT_EMPTY;
		p->open--;
		p->in_use--;
		p->connect_failures++;
		p->db_up = 0;
		p->down_until_ms = t + DOWN_WINDOW_MS;
		pthread_cond_signal(&p->freed);
		pthread_mutex_unlock(&p->mu);
		return POOL_DOWN;
	}
	c->pg = pg;
	c->created_ms = c->last_used_ms = t;
	c->broken = 0;
	p->opened++;
	if (!p->db_up)
		log_info("pool%s%s: connected to PostgreSQL", p->name ? " " : "", p->name ? p->name : "");
	p->db_up = 1;
	p->down_until_ms = 0;
	pthread_mutex_unlock(&p->mu);
	return POOL_OK;
}

enum pool_status pool_acquire(struct pool *p, int64_t timeout_ms, struct pool_conn **out)
{
	int64_t start = mono_ms(), deadline = start + timeout_ms;
	enum pool_status st = POOL_TIMEOUT;
	PGconn *stale = NULL;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		int i;

		if (p->closing) {
			st = POOL_CLOSING;
			break;
		}
		i = pick_idle(p);
		if (i >= 0) {
			struct pool_conn *c = &p->slots[i];
			if (mono_ms() - c->created_ms >= p->cfg->pool_max_lifetime_ms) {
				stale = empty_slot(p, i, &p->closed_lifetime);
				pthread_mutex_unlock(&p->mu);
				PQfinish(stale);
				pthread_mutex_lock(&p->mu);
				continue;
			}
			c->state = SLOT_BUSY;
			p->in_use++;
			*out = c;
			st = POOL_OK;
			break;
		}
		if (p->open < p->nslots) {
			int64_t t = mono_ms();
			if (!p->db_up && (t < p->down_until_ms || p->probing) && p->opened + p->connect_failures > 0) {
				st = POOL_DOWN; /* fail fast while PostgreSQL is away */
				break;
			}
			i = find_empty(p);
			p->slots[i].state = SLOT_BUSY;
			p->open++;
			p->in_use++;
			p->probing = !p->db_up;
			pthread_mutex_unlock(&p->mu);
			st = fill_slot(p, i);
			if (st == POOL_OK)
				*out = &p->slots[i];
			histogram_observe(&p->acquire_wait, (double)(mono_ms() - start) / 1000.0);
			return st;
		}
		if (mono_ms() >= deadline) {
			p->acquire_timeouts++;
			st = POOL_TIMEOUT;
			break;
		}
		{
			struct timespec ts = timespec_from_ms(deadline);
			p->waiting++;
			(void)pthread_cond_timedwait(&p->freed, &p->mu, &ts);
			p->waiting--;
		}
	}
	pthread_mutex_unlock(&p->mu);
	histogram_observe(&p->acquire_wait, (double)(mono_ms() - start) / 1000.0);
	return st;
}

/*
 * Make sure statement stmt is prepared on c: NULL when it is, else the
 * failed result (an unknown index, or a function that still does not exist).
 */
static PGresult *ensure_prepared(struct pool *p, struct pool_conn *c, int stmt)
{
	PGresult *r;

	if (stmt < 0 || stmt >= p->nstmts || !p->stmts[stmt].sql) {
		log_error("pool: no statement %d (the pool has %d)", stmt, p->nstmts);
		return PQmakeEmptyPGresult(NULL, PGRES_FATAL_ERROR);
	}
	if (c->prepared[stmt])
		return NULL;
	/* the function did not exist when this connection was opened */
	r = PQprepare(c->pg, p->stmts[stmt].name, p->stmts[stmt].sql, 0, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		c->broken = PQstatus(c->pg) != CONNECTION_OK;
		return r;
	}
	PQclear(r);
	c->prepared[stmt] = 1;
	return NULL;
}

PGresult *pool_exec(struct pool *p, struct pool_conn *c, int stmt, int nparams, const char *const *values)
{
	PGresult *r = ensure_prepared(p, c, stmt);

	if (r)
		return r;
	r = PQexecPrepared(c->pg, p->stmts[stmt].name, nparams, values, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_FATAL_ERROR && PQstatus(c->pg) != CONNECTION_OK)
		c->broken = 1;
	return r;
}

PGresult *pool_run(struct pool *p, int64_t timeout_ms, int stmt, int nparams, const char *const *values, int retry,
		   enum pool_status *st, int *broken, struct pool_timing *timing)
{
	for (int attempt = 0;; attempt++) {
		struct pool_conn *c;
		struct timespec t0, t1;
		PGresult *r;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		if ((*st = pool_acquire(p, timeout_ms, &c)) != POOL_OK)
			return NULL;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		r = pool_exec(p, c, stmt, nparams, values);
		if (timing) {
			timing->db_ms = seconds_since(&t1) * 1000.0;
			timing->wait_ms = seconds_since(&t0) * 1000.0 - timing->db_ms;
		}
		*broken = c->broken;
		pool_release(p, c);
		if (!*broken || !retry || attempt > 0)
			return r;
		PQclear(r);
	}
}

int pool_conn_broken(const struct pool_conn *c)
{
	return c->broken;
}

/*
 * Collect a two-statement pipeline's results: each statement's result,
 * its terminating NULL, then the Sync's PGRES_PIPELINE_SYNC.  Anything
 * else (a connection that died, a protocol surprise) leaves a slot empty;
 * the caller then marks the connection broken.
 */
static void pipeline_results(PGconn *pg, PGresult **res)
{
	int q = 0, nulls = 0;

	while (q < 2 && nulls < 3) {
		PGresult *r = PQgetResult(pg);

		if (!r) {
			if (PQstatus(pg) != CONNECTION_OK)
				break;
			nulls++;
			continue;
		}
		nulls = 0;
		if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
			q++;
			PQclear(r);
		} else if (!res[q])
			res[q] = r;
		else
			PQclear(r);
	}
}

void pool_exec_pair(struct pool *p, struct pool_conn *c, int s1, int n1, const char *const *v1, int s2, int n2,
		    const char *const *v2, PGresult **r1, PGresult **r2)
{
	PGresult *res[2] = {NULL, NULL}, *failed;

	*r1 = *r2 = NULL;
	if ((failed = ensure_prepared(p, c, s2)) != NULL) {
		/* the second statement cannot run here: the first alone */
		*r2 = failed;
		*r1 = c->broken ? PQmakeEmptyPGresult(NULL, PGRES_FATAL_ERROR) : pool_exec(p, c, s1, n1, v1);
		return;
	}
	if ((failed = ensure_prepared(p, c, s1)) != NULL) {
		*r1 = failed;
		*r2 = PQmakeEmptyPGresult(NULL, PGRES_FATAL_ERROR);
		return;
	}
	if (PQenterPipelineMode(c->pg) && PQsendQueryPrepared(c->pg, p->stmts[s1].name, n1, v1, NULL, NULL, 0) &&
	    PQpipelineSync(c->pg) && PQsendQueryPrepared(c->pg, p->stmts[s2].name, n2, v2, NULL, NULL, 0) &&
	    PQpipelineSync(c->pg))
		pipeline_results(c->pg, res);
	if (!res[0] || !res[1] || !PQexitPipelineMode(c->pg)) {
		c->broken = 1; /* whatever state it is in, it is not reusable */
		log_warn("pool%s%s: a pipelined statement pair failed: %s", p->name ? " " : "", p->name ? p->name : "",
			 PQerrorMessage(c->pg));
	}
	*r1 = res[0] ? res[0] : PQmakeEmptyPGresult(NULL, PGRES_FATAL_ERROR);
	*r2 = res[1] ? res[1] : PQmakeEmptyPGresult(NULL, PGRES_FATAL_ERROR);
}

void pool_release(struct pool *p, struct pool_conn *c)
{
	PGconn *dead[64];
	int ndead = 0;
	int64_t t = mono_ms();
	int i = (int)(c - p->slots);

	pthread_mutex_lock(&p->mu);
	p->in_use--;
	if (c->broken) {
		/*
		 * db_up stays as it is: one killed backend must not fail other
		 * requests fast.  The next connect attempt decides whether
		 * PostgreSQL is really down.
		 */
		dead[ndead++] = empty_slot(p, i, &p->closed_broken);
		log_warn("pool: lost a connection to PostgreSQL; closing its idle peers");
		for (int j = 0; j < p->nslots && ndead < 64; j++)
			if (p->slots[j].state == SLOT_IDLE)
				dead[ndead++] = empty_slot(p, j, &p->closed_broken);
	} else if (p->closing || t - c->created_ms >= p->cfg->pool_max_lifetime_ms) {
		dead[ndead++] = empty_slot(p, i, p->closing ? &p->closed_shutdown : &p->closed_lifetime);
	} else {
		c->state = SLOT_IDLE;
		c->last_used_ms = t;
		pthread_cond_signal(&p->freed);
	}
	pthread_mutex_unlock(&p->mu);
	for (int j = 0; j < ndead; j++)
		PQfinish(dead[j]);
}

/*
 * Close idle connections past their lifetime or idle time, then those above
 * max_idle that have been idle a little while (least recently used first).
 */
static void reap(struct pool *p)
{
	PGconn *dead[1024];
	int ndead = 0, idle = 0;
	int64_t t = mono_ms();

	pthread_mutex_lock(&p->mu);
	for (int i = 0; i < p->nslots && ndead < 1024; i++) {
		struct pool_conn *c = &p->slots[i];
		if (c->state != SLOT_IDLE)
			continue;
		if (t - c->created_ms >= p->cfg->pool_max_lifetime_ms)
			dead[ndead++] = empty_slot(p, i, &p->closed_lifetime);
		else if (t - c->last_used_ms >= p->cfg->pool_max_idle_time_ms)
			dead[ndead++] = empty_slot(p, i, &p->closed_idle);
		else
			idle++;
	}
	while (idle > p->cfg->pool_max_idle && ndead < 1024) {
		int lru = -1;
		for (int i = 0; i < p->nslots; i++)
			if (p->slots[i].state == SLOT_IDLE &&
			    (lru < 0 || p->slots[i].last_used_ms < p->slots[lru].last_used_ms))
				lru = i;
		if (lru < 0 || t - p->slots[lru].last_used_ms < EXCESS_IDLE_GRACE_MS)
			break;
		dead[ndead++] = empty_slot(p, lru, &p->closed_idle);
		idle--;
	}
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < ndead; i++)
		PQfinish(dead[i]);
}

static void *reaper_main(void *arg)
{
	struct pool *p = arg;

	pthread_mutex_lock(&p->mu);
	while (!p->closing) {
		struct timespec ts = timespec_from_ms(mono_ms() + REAP_INTERVAL_MS);
		(void)pthread_cond_timedwait(&p->reaper_wake, &p->mu, &ts);
		if (p->closing)
			break;
		pthread_mutex_unlock(&p->mu);
		reap(p);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int pool_warm(struct pool *p)
{
	struct pool_conn *c;

	if (pool_acquire(p, p->cfg->pool_acquire_timeout_ms, &c) != POOL_OK)
		return -1;
	pool_release(p, c);
	return 0;
}

int pool_ready(struct pool *p)
{
	int ready;

	pthread_mutex_lock(&p->mu);
	ready = p->db_up && !p->closing;
	pthread_mutex_unlock(&p->mu);
	return ready;
}

void pool_snapshot(struct pool *p, struct pool_stats *s)
{
	pthread_mutex_lock(&p->mu);
	s->open = p->open;
	s->in_use = p->in_use;
	s->idle = p->open - p->in_use;
	s->max = p->nslots;
	s->waiting = p->waiting;
	s->db_up = p->db_up;
	s->opened = p->opened;
	s->connect_failures = p->connect_failures;
	s->acquire_timeouts = p->acquire_timeouts;
	s->closed_lifetime = p->closed_lifetime;
	s->closed_idle = p->closed_idle;
	s->closed_broken = p->closed_broken;
	s->closed_shutdown = p->closed_shutdown;
	s->acquire_wait = &p->acquire_wait;
	pthread_mutex_unlock(&p->mu);
}

void pool_close(struct pool *p, int64_t timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;

	pthread_mutex_lock(&p->mu);
	p->closing = 1;
	pthread_cond_broadcast(&p->freed);
	pthread_cond_signal(&p->reaper_wake);
	while (p->in_use > 0 && mono_ms() < deadline) {
		struct timespec ts = timespec_from_ms(deadline);
		(void)pthread_cond_timedwait(&p->freed, &p->mu, &ts);
	}
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->reaper, NULL);
	pthread_mutex_lock(&p->mu);
	for (int i = 0; i < p->nslots; i++)
		if (p->slots[i].state == SLOT_IDLE) {
			PGconn *pg = empty_slot(p, i, &p->closed_shutdown);
			PQfinish(pg);
		}
	pthread_mutex_unlock(&p->mu);
}
