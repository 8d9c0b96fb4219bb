/*
 * metrics.c -- counters on the request path, text exposition per scrape.
 *
 * Label sets are fixed at compile time (route x method x status), so the
 * counters are plain arrays indexed by small integers.  Statuses outside
 * the known list share one "other" slot labelled with its class.
 */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routes.h"

#define MAX_ROUTES 32
#define ROUTE_SLOTS (MAX_ROUTES + 1) /* last slot: unmatched */

static const char *const methods[] = {"GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS", "OTHER"};
#define NMETHODS (int)(sizeof methods / sizeof methods[0])

static const int statuses[] = {200, 201, 204, 304, 400, 401, 403, 404, 405, 408,
			       411, 413, 414, 415, 431, 500, 501, 503, 505};
#define NSTATUSES (int)(sizeof statuses / sizeof statuses[0])

const char *const pg_activity_states[PG_NSTATES] = {
	"active", "idle", "idle in transaction", "idle in transaction (aborted)", "fastpath function call",
	"disabled"};

/* seconds; a cached read is ~100 us, an uncached dashboard tens of ms */
static const double hist_bounds[HIST_NBOUNDS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
						 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5};

static _Atomic uint64_t requests[ROUTE_SLOTS][NMETHODS][NSTATUSES + 1];
static struct histogram durations[ROUTE_SLOTS];
static _Atomic uint64_t cache_results[ROUTE_SLOTS][2];

#define ADD(var, n) atomic_fetch_add_explicit(&(var), (n), memory_order_relaxed)
#define GET(var) atomic_load_explicit(&(var), memory_order_relaxed)

void histogram_observe(struct histogram *h, double seconds)
{
	int b = 0;

	if (seconds < 0)
		seconds = 0;
	while (b < HIST_NBOUNDS && seconds > hist_bounds[b])
		b++;
	ADD(h->buckets[b], 1);
	ADD(h->count, 1);
	ADD(h->sum_ns, (uint64_t)(seconds * 1e9));
}

static int route_slot(int route)
{
	return (route >= 0 && route < MAX_ROUTES && route < nroutes) ? route : MAX_ROUTES;
}

static int method_slot(const char *m)
{
	for (int i = 0; i < NMETHODS - 1; i++)
		if (m && strcmp(m, methods[i]) == 0)
			return i;
	return NMETHODS - 1;
}

static int status_slot(int status)
{
	for (int i = 0; i < NSTATUSES; i++)
		if (statuses[i] == status)
			return i;
	return NSTATUSES;
}

void metrics_observe_request(int route, const char *method, int status, double seconds)
{
	int r = route_slot(route);

	ADD(requests[r][method_slot(method)][status_slot(status)], 1);
	histogram_observe(&durations[r], seconds);
}

void metrics_observe_cache(int route, int hit)
{
	ADD(cache_results[route_slot(route)][hit ? 0 : 1], 1);
}

/* A growable string; a failed allocation poisons it (ok = 0). */
struct strbuf {
	char *data;
	size_t len, cap;
	int ok;
};

static void sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_vprintf(struct strbuf *sb, const char *fmt, va_list args)
{
	va_list ap;
	int n;

	if (!sb->ok)
		return;
	for (;;) {
		va_copy(ap, args);
		n = vsnprintf(sb->data + sb->len, sb->cap - sb->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			sb->ok = 0;
			return;
		}
		if ((size_t)n < sb->cap - sb->len) {
			sb->len += (size_t)n;
			return;
		}
		char *grown = realloc(sb->data, sb->cap * 2 + (size_t)n);
		if (!grown) {
			sb->ok = 0;
			return;
		}
		sb->data = grown;
		sb->cap = sb->cap * 2 + (size_t)n;
	}
}

static void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sb_vprintf(sb, fmt, ap);
	va_end(ap);
}

/* Sections rendered elsewhere (upstream_metrics.c) write through these. */
struct metrics_text {
	struct strbuf sb;
};

void metrics_text_printf(struct metrics_text *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sb_vprintf(&t->sb, fmt, ap);
	va_end(ap);
}

/* Route labels leave out the /api/v1 prefix: "/risks/{id}", "/health". */
static const char *route_label(int slot)
{
	const char *p;

	if (slot == MAX_ROUTES)
		return "unmatched";
	p = routes[slot].pattern;
	return strncmp(p, "/api/v1/", 8) == 0 ? p + 7 : p;
}

static void header(struct strbuf *sb, const char *name, const char *type, const char *help)
{
	sb_printf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One histogram series; labels is "" or `key="value"`. */
static void render_histogram(struct strbuf *sb, const char *name, const char *labels,
			     const struct histogram *h)
{
	uint64_t cum = 0;
	const char *sep = *labels ? "," : "";

	for (int b = 0; b <= HIST_NBOUNDS; b++) {
		cum += GET(((struct histogram *)h)->buckets[b]);
		if (b < HIST_NBOUNDS)
			sb_printf(sb, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, hist_bounds[b],
				  (unsigned long long)cum);
		else
			sb_printf(sb, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
				  (unsigned long long)cum);
	}
	sb_printf(sb, "%s_sum%s%s%s %.9f\n", name, *labels ? "{" : "", labels, *labels ? "}" : "",
		  (double)GET(((struct histogram *)h)->sum_ns) / 1e9);
	sb_printf(sb, "%s_count%s%s%s %llu\n", name, *labels ? "{" : "", labels, *labels ? "}" : "",
		  (unsigned long long)cum);
}

static void render_http(struct strbuf *sb)
{
	char labels[160];

	header(sb, "openrisk_http_requests_total", "counter", "HTTP requests by route, method and status code.");
	for (int r = 0; r < ROUTE_SLOTS; r++)
		for (int m = 0; m < NMETHODS; m++)
			for (int s = 0; s <= NSTATUSES; s++) {
				uint64_t v = GET(requests[r][m][s]);
				if (v == 0)
					continue;
				if (s < NSTATUSES)
					sb_printf(sb, "openrisk_http_requests_total{route=\"%s\",method=\"%s\",code=\"%d\"} %llu\n",
						  route_label(r), methods[m], statuses[s], (unsigned long long)v);
				else
					sb_printf(sb, "openrisk_http_requests_total{route=\"%s\",method=\"%s\",code=\"other\"} %llu\n",
						  route_label(r), methods[m], (unsigned long long)v);
			}
	header(sb, "openrisk_http_request_duration_seconds", "histogram",
	       "Time from request start to the reply written, by route.");
	for (int r = 0; r < ROUTE_SLOTS; r++) {
		if (GET(durations[r].count) == 0)
			continue;
		snprintf(labels, sizeof labels, "route=\"%s\"", route_label(r));
		render_histogram(sb, "openrisk_http_request_duration_seconds", labels, &durations[r]);
	}
	header(sb, "openrisk_cache_requests_total", "counter",
	       "Cached reads by route and result, as reported by the extension for each call.");
	for (int r = 0; r < ROUTE_SLOTS; r++)
		for (int h = 0; h < 2; h++) {
			uint64_t v = GET(cache_results[r][h]);
			if (v)
				sb_printf(sb, "openrisk_cache_requests_total{route=\"%s\",result=\"%s\"} %llu\n",
					  route_label(r), h == 0 ? "hit" : "miss", (unsigned long long)v);
		}
}

static void gauge(struct strbuf *sb, const char *name, const char *help, double v)
{
	header(sb, name, "gauge", help);
	sb_printf(sb, "%s %.17g\n", name, v);
}

static void counter(struct strbuf *sb, const char *name, const char *help, double v)
{
	header(sb, name, "counter", help);
	sb_printf(sb, "%s %.17g\n", name, v);
}

static void render_pool(struct strbuf *sb, const struct pool_stats *p)
{
	gauge(sb, "openrisk_pool_connections_open", "Open PostgreSQL connections.", p->open);
	gauge(sb, "openrisk_pool_connections_idle", "Open connections waiting for a request.", p->idle);
	gauge(sb, "openrisk_pool_connections_in_use", "Connections serving a request.", p->in_use);
	gauge(sb, "openrisk_pool_connections_max", "Most connections the pool may open.", p->max);
	gauge(sb, "openrisk_pool_waiting", "Requests waiting for a connection.", p->waiting);
	gauge(sb, "openrisk_pool_database_up", "1 when the last connection attempt or query reached PostgreSQL.",
	      p->db_up);
	counter(sb, "openrisk_pool_connections_opened_total", "Connections opened.", (double)p->opened);
	counter(sb, "openrisk_pool_connect_failures_total", "Failed connection attempts.",
		(double)p->connect_failures);
	counter(sb, "openrisk_pool_acquire_timeouts_total", "Requests answered 503 because no connection freed up in time.",
		(double)p->acquire_timeouts);
	header(sb, "openrisk_pool_connections_closed_total", "counter", "Connections closed, by reason.");
	sb_printf(sb, "openrisk_pool_connections_closed_total{reason=\"lifetime\"} %llu\n",
		  (unsigned long long)p->closed_lifetime);
	sb_printf(sb, "openrisk_pool_connections_closed_total{reason=\"idle\"} %llu\n",
		  (unsigned long long)p->closed_idle);
	sb_printf(sb, "openrisk_pool_connections_closed_total{reason=\"broken\"} %llu\n",
		  (unsigned long long)p->closed_broken);
	sb_printf(sb, "openrisk_pool_connections_closed_total{reason=\"shutdown\"} %llu\n",
		  (unsigned long long)p->closed_shutdown);
	if (p->acquire_wait) {
		header(sb, "openrisk_pool_acquire_wait_seconds", "histogram", "Time spent waiting for a connection.");
		render_histogram(sb, "openrisk_pool_acquire_wait_seconds", "", p->acquire_wait);
	}
}

static void render_pg(struct strbuf *sb, const struct pg_stats *g)
{
	gauge(sb, "openrisk_stats_poll_success", "1 when the last pg_stat poll succeeded.", g->last_poll_ok);
	counter(sb, "openrisk_stats_poll_errors_total", "Failed pg_stat polls.", (double)g->poll_errors);
	if (!g->valid)
		return;
	gauge(sb, "openrisk_stats_poll_timestamp_seconds", "Unix time of the last successful pg_stat poll.",
	      g->last_success);
	if (g->have_cache) {
		counter(sb, "openrisk_db_cache_hits_total", "Engine cache hits (openrisk.cache_stats).", (double)g->cache_hits);
		counter(sb, "openrisk_db_cache_misses_total", "Engine cache misses.", (double)g->cache_misses);
		counter(sb, "openrisk_db_cache_evictions_total", "Engine cache evictions.", (double)g->cache_evictions);
		counter(sb, "openrisk_db_cache_fills_rejected_total",
			"Computed values the engine refused to store (a write committed meanwhile).",
			(double)g->cache_fills_rejected);
		counter(sb, "openrisk_db_cache_stampede_waits_total", "Misses that waited for another backend's fill.",
			(double)g->cache_stampede_waits);
		counter(sb, "openrisk_db_cache_handoffs_total",
			"Waits answered by a fill that a write committed during the wait made unstorable.",
			(double)g->cache_handoffs);
		counter(sb, "openrisk_db_cache_stampede_recomputes_total", "Waits that still ended in computing the value.",
			(double)g->cache_stampede_recomputes);
		gauge(sb, "openrisk_db_cache_entries", "Entries in the engine cache.", (double)g->cache_entries);
		gauge(sb, "openrisk_db_cache_bytes_used", "Bytes used by the engine cache.", (double)g->cache_bytes_used);
		gauge(sb, "openrisk_db_cache_bytes_limit", "Engine cache memory limit in bytes.",
		      (double)g->cache_bytes_limit);
	}
	counter(sb, "openrisk_pg_xact_commit_total", "Committed transactions in the database (pg_stat_database).",
		(double)g->xact_commit);
	counter(sb, "openrisk_pg_xact_rollback_total", "Rolled back transactions in the database.",
		(double)g->xact_rollback);
	counter(sb, "openrisk_pg_blks_hit_total", "Buffer hits in the database.", (double)g->blks_hit);
	counter(sb, "openrisk_pg_blks_read_total", "Blocks read from disk in the database.", (double)g->blks_read);
	counter(sb, "openrisk_pg_deadlocks_total", "Deadlocks detected in the database.", (double)g->deadlocks);
	gauge(sb, "openrisk_pg_numbackends", "Backends connected to the database.", (double)g->numbackends);
	header(sb, "openrisk_pg_activity_connections", "gauge", "Backends of the database by pg_stat_activity state.");
	for (int i = 0; i < PG_NSTATES; i++)
		sb_printf(sb, "openrisk_pg_activity_connections{state=\"%s\"} %lld\n", pg_activity_states[i],
			  (long long)g->activity[i]);
}

void metrics_text_family(struct metrics_text *t, const char *name, const char *type, const char *help)
{
	header(&t->sb, name, type, help);
}

void metrics_text_histogram(struct metrics_text *t, const char *name, const char *labels, const struct histogram *h)
{
	render_histogram(&t->sb, name, labels, h);
}

char *metrics_render(const struct pool_stats *pool, const struct pg_stats *pg, size_t *len)
{
	return metrics_render_with(pool, pg, NULL, NULL, len);
}

char *metrics_render_with(const struct pool_stats *pool, const struct pg_stats *pg, metrics_section_fn extra,
			  void *arg, size_t *len)
{
	struct metrics_text t = {{malloc(16384), 0, 16384, 1}};
	struct strbuf sb;

	if (!t.sb.data)
		return NULL;
	render_http(&t.sb);
	if (pool)
		render_pool(&t.sb, pool);
	if (pg)
		render_pg(&t.sb, pg);
	if (extra)
		extra(&t, arg);
	sb = t.sb;
	if (!sb.ok) {
		free(sb.data);
		return NULL;
	}
	*len = sb.len;
	return sb.data;
}
