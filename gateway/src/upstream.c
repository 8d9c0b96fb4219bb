/*
 * upstream.c -- the primary, the replicas, their pools and health threads
 * (see upstream.h for the locking rules, replica_policy.h for the states).
 *
 * One health thread per server, each with a connection of its own (not a
 * pooled one: a saturated pool must not read as a dead server, and a
 * hanging server must delay only its own checks).  Every --health-interval:
 *
 *   primary   SELECT pg_is_in_recovery(), pg_current_wal_insert_lsn()
 *             -> a (start time, LSN) sample into the lag ring;
 *   replica   SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()
 *             -> replayed, and fresh_ms = lag_ring_covered(replayed).
 *
 * A check that fails (connect refused, query error, a replica that is not
 * in recovery, a primary that is) records the failure and drops the check
 * connection; a request that finds a replica dead does the same through
 * upstream_failed(), so a killed standby leaves the routing at once, not
 * at the next check.  A server comes back with the first check that starts
 * after its last failure.  Transitions are logged once each.
 */
#include "upstream.h"

#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "lsn.h"
#include "statements.h"
#include "timeutil.h"

#define GET(v) atomic_load_explicit(&(v), memory_order_relaxed)
#define ADD(v, n) atomic_fetch_add_explicit(&(v), (n), memory_order_relaxed)
#define SET(v, x) atomic_store_explicit(&(v), (x), memory_order_relaxed)

/* libpq's own check of a DSN; 0 or -1 with its message in err. */
static int check_dsn(const char *dsn, char *err, size_t errlen)
{
	char *msg = NULL;
	PQconninfoOption *o = PQconninfoParse(dsn, &msg);

	if (o) {
		PQconninfoFree(o);
		return 0;
	}
	snprintf(err, errlen, "%s", msg ? msg : "out of memory");
	err[strcspn(err, "\n")] = '\0';
	PQfreemem(msg);
	return -1;
}

static void name_upstream(struct upstream *up, const char *name, const char *dsn, int is_primary)
{
	snprintf(up->name, sizeof up->name, "%s", name);
	dsn_redact(dsn, up->shown, sizeof up->shown);
	up->dsn = dsn;
	up->is_primary = is_primary;
}

/* Undo a partial upstreams_create(). */
static void discard(struct upstreams *u)
{
	for (int i = 0; i < REPLICAS_MAX; i++)
		if (u->replicas[i].pool)
			pool_close(u->replicas[i].pool, 0);
	lag_ring_free(&u->ring);
	free(u);
}

struct upstreams *upstreams_create(const struct gw_config *cfg, struct pool *primary_pool, char *err, size_t errlen)
{
	struct upstreams *u = calloc(1, sizeof *u);
	pthread_condattr_t ca;

	if (!u) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&u->ring_mu, NULL);
	pthread_mutex_init(&u->stop_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&u->stop_cv, &ca);
	pthread_condattr_destroy(&ca);
	u->cfg = cfg;
	u->pol.max_lag_ms = cfg->max_replica_lag_ms;
	u->pol.down_after_ms = 3 * cfg->health_interval_ms + 1000;
	name_upstream(&u->primary, "primary", cfg->dsn, 1);
	u->primary.pool = primary_pool;
	for (int i = 0; i < cfg->replicas.n; i++) {
		struct upstream *up = &u->replicas[i];
		char name[16], msg[256];

		snprintf(name, sizeof name, "replica-%d", i + 1);
		name_upstream(up, name, cfg->replicas.dsn[i], 0);
		if (check_dsn(up->dsn, msg, sizeof msg) < 0) {
			snprintf(err, errlen, "replica %d \"%s\" is not a valid connection string: %s", i + 1, up->shown,
				 msg);
			discard(u);
			return NULL;
		}
		up->pool = pool_create_for(cfg, up->name, up->dsn, statements, STMT_COUNT);
		if (!up->pool) {
			snprintf(err, errlen, "out of memory creating the pool of %s", up->name);
			discard(u);
			return NULL;
		}
		u->nreplicas++;
	}
	if (lag_ring_init(&u->ring, replica_ring_size(cfg->max_replica_lag_ms, cfg->health_interval_ms)) < 0) {
		snprintf(err, errlen, "out of memory for the lag ring");
		discard(u);
		return NULL;
	}
	return u;
}

/* The check connection (reconnecting when needed); NULL when the server refused. */
static PGconn *check_conn(struct upstream *up, char *why, size_t whylen)
{
	static const char *const keys[] = {"connect_timeout", "application_name", "options", "dbname", NULL};
	const char *values[] = {"2", "openrisk-gateway-health", "-c statement_timeout=2000", up->dsn, NULL};
	PGconn *pg = up->check_conn;

	if (pg && PQstatus(pg) == CONNECTION_OK)
		return pg;
	PQfinish(pg);
	pg = PQconnectdbParams(keys, values, 1);
	if (PQstatus(pg) != CONNECTION_OK) {
		snprintf(why, whylen, "%s", PQerrorMessage(pg));
		why[strcspn(why, "\n")] = '\0';
		PQfinish(pg);
		pg = NULL;
	}
	up->check_conn = pg;
	return pg;
}

/*
 * One check; 0 when the server is what it should be.  started is the
 * time before the query was sent: a primary sample taken then bounds every
 * commit acknowledged before it.
 */
static int check_once(struct upstreams *u, struct upstream *up, int64_t started, char *why, size_t whylen)
{
	PGconn *pg = check_conn(up, why, whylen);
	PGresult *r;
	uint64_t lsn = 0;
	int ok = 0, recovery;

	if (!pg)
		return -1;
	r = PQexec(pg, up->is_primary ? "SELECT pg_is_in_recovery(), CASE WHEN NOT pg_is_in_recovery()"
					" THEN pg_current_wal_insert_lsn() END::text"
				      : "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		snprintf(why, whylen, "%s", PQresultErrorMessage(r));
		why[strcspn(why, "\n")] = '\0';
	} else {
		recovery = PQgetvalue(r, 0, 0)[0] == 't';
		if (up->is_primary && recovery)
			snprintf(why, whylen, "it is in recovery: not a primary");
		else if (!up->is_primary && !recovery)
			snprintf(why, whylen, "it is not in recovery (promoted?): not a replica of this primary");
		else if (PQgetisnull(r, 0, 1) || lsn_parse(PQgetvalue(r, 0, 1), &lsn) < 0)
			snprintf(why, whylen, "it reported no WAL position");
		else
			ok = 1;
	}
	PQclear(r);
	if (!ok)
		return -1;
	pthread_mutex_lock(&u->ring_mu);
	if (up->is_primary)
		lag_ring_add(&u->ring, started, lsn);
	else {
		int64_t covered = lag_ring_covered(&u->ring, lsn);
		uint64_t newest = lag_ring_newest(&u->ring);
		SET(up->health.fresh_ms, covered > 0 ? covered : 0);
		SET(up->health.behind_bytes, newest > lsn ? newest - lsn : 0);
		SET(up->health.replayed, lsn);
	}
	pthread_mutex_unlock(&u->ring_mu);
	health_ok(&up->health, started);
	return 0;
}

static void log_transition(struct upstreams *u, struct upstream *up, const char *why)
{
	int live = health_live(&up->health, &u->pol, mono_ms());

	if (live == up->was_live)
		return;
	up->was_live = live;
	if (live)
		log_info("upstream %s (%s) is up%s", up->name, up->shown,
			 up->is_primary ? "" : ": it gets reads again once its lag is within --max-replica-lag");
	else
		log_warn("upstream %s (%s) is down: %s%s", up->name, up->shown, why,
			 up->is_primary ? "; writes get 503, replicas serve reads whatever their lag"
					: "; its reads go elsewhere");
}

struct health_arg {
	struct upstreams *u;
	struct upstream *up;
};

static void *health_main(void *arg)
{
	struct health_arg *a = arg;
	struct upstreams *u = a->u;
	struct upstream *up = a->up;
	char why[256];

	free(a);
	pthread_mutex_lock(&u->stop_mu);
	while (!u->stopping) {
		int64_t started = mono_ms();
		struct timespec next = timespec_from_ms(started + u->cfg->health_interval_ms);

		pthread_mutex_unlock(&u->stop_mu);
		why[0] = '\0';
		if (check_once(u, up, started, why, sizeof why) < 0) {
			health_failed(&up->health, mono_ms());
			ADD(up->failures, 1);
			PQfinish(up->check_conn);
			up->check_conn = NULL;
		}
		log_transition(u, up, why);
		pthread_mutex_lock(&u->stop_mu);
		while (!u->stopping && pthread_cond_timedwait(&u->stop_cv, &u->stop_mu, &next) == 0)
			;
	}
	pthread_mutex_unlock(&u->stop_mu);
	PQfinish(up->check_conn);
	up->check_conn = NULL;
	return NULL;
}

static int start_thread(struct upstreams *u, struct upstream *up)
{
	struct health_arg *a = malloc(sizeof *a);

	if (!a)
		return -1;
	a->u = u;
	a->up = up;
	up->was_live = 1; /* log the first "down", not the first "up" */
	if (pthread_create(&up->thread, NULL, health_main, a) != 0) {
		free(a);
		return -1;
	}
	up->thread_started = 1;
	return 0;
}

int upstreams_start(struct upstreams *u)
{
	if (u->nreplicas == 0)
		return 0;
	if (start_thread(u, &u->primary) < 0)
		return -1;
	for (int i = 0; i < u->nreplicas; i++) {
		if (start_thread(u, &u->replicas[i]) < 0)
			return -1;
		(void)pool_warm(u->replicas[i].pool);
	}
	log_info("routing reads to %d replica(s) with lag up to %lld ms, waiting up to %lld ms for X-Min-LSN",
		 u->nreplicas, (long long)u->cfg->max_replica_lag_ms, (long long)u->cfg->replica_wait_ms);
	return 0;
}

void upstreams_stop(struct upstreams *u, int64_t timeout_ms)
{
	if (!u)
		return;
	pthread_mutex_lock(&u->stop_mu);
	u->stopping = 1;
	pthread_cond_broadcast(&u->stop_cv);
	pthread_mutex_unlock(&u->stop_mu);
	if (u->primary.thread_started)
		pthread_join(u->primary.thread, NULL);
	for (int i = 0; i < REPLICAS_MAX; i++) {
		struct upstream *up = &u->replicas[i];
		if (up->thread_started)
			pthread_join(up->thread, NULL);
		up->thread_started = 0;
		if (up->pool)
			pool_close(up->pool, timeout_ms);
	}
	u->primary.thread_started = 0;
}

int upstreams_ready(struct upstreams *u)
{
	int64_t now = mono_ms();

	for (int i = 0; i < u->nreplicas; i++)
		if (health_live(&u->replicas[i].health, &u->pol, now))
			return 1;
	return 0;
}

enum read_choice upstreams_choose(struct upstreams *u, uint64_t min_lsn, int *which)
{
	const struct upstream_health *h[REPLICAS_MAX];

	for (int i = 0; i < u->nreplicas; i++)
		h[i] = &u->replicas[i].health;
	return policy_choose(&u->pol, &u->primary.health, h, u->nreplicas, min_lsn, mono_ms(),
			     atomic_fetch_add_explicit(&u->spin, 1, memory_order_relaxed), which);
}

void upstream_failed(struct upstreams *u, struct upstream *up, const char *why)
{
	int64_t now = mono_ms();
	int was_live = health_live(&up->health, &u->pol, now);

	health_failed(&up->health, now);
	ADD(up->failures, 1);
	if (was_live)
		log_warn("upstream %s (%s): %s; no reads go there until a health check succeeds", up->name, up->shown,
			 why);
}

static void sample(struct upstreams *u, struct upstream *up, int primary_live, int64_t now, struct upstream_sample *s)
{
	int64_t lag;

	s->name = up->name;
	s->role = up->is_primary ? "primary" : "replica";
	pool_snapshot(up->pool, &s->pool);
	s->pool.acquire_wait = NULL;
	s->reads = GET(up->reads);
	s->writes = GET(up->writes);
	s->failures = GET(up->failures);
	if (up->is_primary) {
		/* without replicas no health thread runs: the pool's view */
		s->up = u->nreplicas ? primary_live : s->pool.db_up;
		s->routable = s->up;
		s->lag_seconds = 0;
		s->behind_bytes = 0;
		return;
	}
	lag = health_lag_ms(&up->health, now);
	s->up = health_live(&up->health, &u->pol, now);
	s->routable = health_routable(&up->health, &u->pol, primary_live, now);
	s->lag_seconds = lag >= 0 ? (double)lag / 1000.0 : NAN;
	s->behind_bytes = (double)GET(up->health.behind_bytes);
}

void upstreams_figures(struct upstreams *u, struct upstream_figures *f)
{
	int64_t now = mono_ms();
	int primary_live = health_live(&u->primary.health, &u->pol, now);

	sample(u, &u->primary, primary_live, now, &f->s[0]);
	for (int i = 0; i < u->nreplicas; i++)
		sample(u, &u->replicas[i], primary_live, now, &f->s[1 + i]);
	f->n = 1 + u->nreplicas;
	f->max_lag_seconds = (double)u->cfg->max_replica_lag_ms / 1000.0;
	for (int i = 0; i < LSN_OUTCOMES; i++)
		f->lsn_reads[i] = GET(u->lsn_reads[i]);
	f->lsn_wait = &u->lsn_wait;
}
