/*
 * upstream_metrics.c -- the upstream section of /metrics (see
 * upstream_metrics.h).  Labels: upstream="primary|replica-N" and
 * role="primary|replica", so a dashboard can sum over replicas and an
 * alert can name the one that lags.
 */
#include "upstream_metrics.h"

#include <math.h>

static const char *const outcome_names[LSN_OUTCOMES] = {"replica", "replica_after_wait", "primary_after_wait",
							"primary"};

/* One gauge or counter family, one series per upstream. */
static void per_upstream(struct metrics_text *t, const struct upstream_figures *f, const char *name, const char *type,
			 const char *help, double (*value)(const struct upstream_sample *))
{
	metrics_text_family(t, name, type, help);
	for (int i = 0; i < f->n; i++) {
		double v = value(&f->s[i]);
		if (isnan(v))
			metrics_text_printf(t, "%s{upstream=\"%s\",role=\"%s\"} NaN\n", name, f->s[i].name, f->s[i].role);
		else
			metrics_text_printf(t, "%s{upstream=\"%s\",role=\"%s\"} %.17g\n", name, f->s[i].name, f->s[i].role,
					    v);
	}
}

static double up(const struct upstream_sample *s)
{
	return s->up;
}
static double routable(const struct upstream_sample *s)
{
	return s->routable;
}
static double lag(const struct upstream_sample *s)
{
	return s->lag_seconds;
}
static double behind(const struct upstream_sample *s)
{
	return s->behind_bytes;
}
static double reads(const struct upstream_sample *s)
{
	return (double)s->reads;
}
static double writes(const struct upstream_sample *s)
{
	return (double)s->writes;
}
static double failures(const struct upstream_sample *s)
{
	return (double)s->failures;
}
static double pool_in_use(const struct upstream_sample *s)
{
	return s->pool.in_use;
}
static double pool_idle(const struct upstream_sample *s)
{
	return s->pool.idle;
}
static double pool_max(const struct upstream_sample *s)
{
	return s->pool.max;
}
static double pool_waiting(const struct upstream_sample *s)
{
	return s->pool.waiting;
}
static double pool_timeouts(const struct upstream_sample *s)
{
	return (double)s->pool.acquire_timeouts;
}
static double pool_connect_failures(const struct upstream_sample *s)
{
	return (double)s->pool.connect_failures;
}

void upstream_metrics_render(struct metrics_text *t, void *arg)
{
	const struct upstream_figures *f = arg;

	per_upstream(t, f, "openrisk_upstream_up", "gauge",
		     "1 when the last health check reached the server (a replica must be in recovery).", up);
	per_upstream(t, f, "openrisk_upstream_routable", "gauge",
		     "1 when reads may be sent there now (a replica: up and lag within --max-replica-lag).", routable);
	per_upstream(t, f, "openrisk_upstream_replay_lag_seconds", "gauge",
		     "Upper bound of how old the server's data is against the primary (0 for the primary).", lag);
	per_upstream(t, f, "openrisk_upstream_replay_lag_bytes", "gauge",
		     "WAL bytes the primary had at its last sample that the server has not replayed.", behind);
	per_upstream(t, f, "openrisk_upstream_reads_total", "counter", "Read statements run on the server.", reads);
	per_upstream(t, f, "openrisk_upstream_writes_total", "counter", "Write statements run on the server.", writes);
	per_upstream(t, f, "openrisk_upstream_failures_total", "counter",
		     "Failed health checks and requests that found the server unreachable.", failures);
	per_upstream(t, f, "openrisk_upstream_pool_connections_in_use", "gauge", "Connections serving a request.",
		     pool_in_use);
	per_upstream(t, f, "openrisk_upstream_pool_connections_idle", "gauge", "Open connections waiting for a request.",
		     pool_idle);
	per_upstream(t, f, "openrisk_upstream_pool_connections_max", "gauge", "Most connections the pool may open.",
		     pool_max);
	per_upstream(t, f, "openrisk_upstream_pool_waiting", "gauge", "Requests waiting for a connection.", pool_waiting);
	per_upstream(t, f, "openrisk_upstream_pool_acquire_timeouts_total", "counter",
		     "Requests that found no free connection in time.", pool_timeouts);
	per_upstream(t, f, "openrisk_upstream_pool_connect_failures_total", "counter", "Failed connection attempts.",
		     pool_connect_failures);
	metrics_text_family(t, "openrisk_replica_max_lag_seconds", "gauge",
			    "--max-replica-lag: replicas whose lag exceeds it get no reads while the primary is up.");
	metrics_text_printf(t, "openrisk_replica_max_lag_seconds %.17g\n", f->max_lag_seconds);
	metrics_text_family(t, "openrisk_lsn_reads_total", "counter",
			    "Reads that presented X-Min-LSN, by where they were served.");
	for (int i = 0; i < LSN_OUTCOMES; i++)
		metrics_text_printf(t, "openrisk_lsn_reads_total{outcome=\"%s\"} %llu\n", outcome_names[i],
				    (unsigned long long)f->lsn_reads[i]);
	if (f->lsn_wait) {
		metrics_text_family(t, "openrisk_lsn_wait_seconds", "histogram",
				    "Time reads presenting X-Min-LSN spent waiting for a replica's replay.");
		metrics_text_histogram(t, "openrisk_lsn_wait_seconds", "", f->lsn_wait);
	}
}
