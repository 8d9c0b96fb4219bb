/*
 * test_metrics.c -- the exposition has the documented names and labels,
 * histograms are cumulative and end in +Inf, and pool / pg_stat snapshots
 * are rendered.  (promtool itself runs in the integration suite.)
 */
#include <stdlib.h>

#include "metrics.h"
#include "routes.h"
#include "unit.h"

void test_metrics(void)
{
	struct pool_stats ps = {0};
	struct pg_stats pg = {0};
	struct histogram wait = {0};
	size_t len;
	char *text;
	int stats = 0; /* the index of /api/v1/stats, wherever the table puts it */

	while (stats < nroutes - 1 && strcmp(routes[stats].pattern, "/api/v1/stats") != 0)
		stats++;
	metrics_observe_request(stats, "GET", 200, 0.0003);
	metrics_observe_request(stats, "GET", 200, 0.2);
	metrics_observe_request(-1, "BREW", 418, 0.001);
	metrics_observe_cache(stats, 1);
	metrics_observe_cache(stats, 0);
	histogram_observe(&wait, 0.002);
	ps.open = 3;
	ps.max = 10;
	ps.closed_broken = 2;
	ps.acquire_wait = &wait;
	pg.valid = 1;
	pg.last_poll_ok = 1;
	pg.have_cache = 1;
	pg.cache_hits = 42;
	pg.cache_handoffs = 7;
	pg.activity[0] = 5;

	CHECK_STR(routes[stats].pattern, "/api/v1/stats");
	text = metrics_render(&ps, &pg, &len);
	CHECK(text != NULL);
	if (!text)
		return;
	CHECK_INT(strlen(text), len);
	CHECK(strstr(text, "openrisk_http_requests_total{route=\"/stats\",method=\"GET\",code=\"200\"} 2\n") != NULL);
	CHECK(strstr(text, "openrisk_http_requests_total{route=\"unmatched\",method=\"OTHER\",code=\"other\"} 1\n") != NULL);
	CHECK(strstr(text, "openrisk_http_request_duration_seconds_bucket{route=\"/stats\",le=\"0.0005\"} 1\n") != NULL);
	CHECK(strstr(text, "openrisk_http_request_duration_seconds_bucket{route=\"/stats\",le=\"0.25\"} 2\n") != NULL);
	CHECK(strstr(text, "openrisk_http_request_duration_seconds_bucket{route=\"/stats\",le=\"+Inf\"} 2\n") != NULL);
	CHECK(strstr(text, "openrisk_http_request_duration_seconds_count{route=\"/stats\"} 2\n") != NULL);
	CHECK(strstr(text, "openrisk_cache_requests_total{route=\"/stats\",result=\"hit\"} 1\n") != NULL);
	CHECK(strstr(text, "openrisk_cache_requests_total{route=\"/stats\",result=\"miss\"} 1\n") != NULL);
	CHECK(strstr(text, "openrisk_pool_connections_open 3\n") != NULL);
	CHECK(strstr(text, "openrisk_pool_connections_max 10\n") != NULL);
	CHECK(strstr(text, "openrisk_pool_connections_closed_total{reason=\"broken\"} 2\n") != NULL);
	CHECK(strstr(text, "openrisk_pool_acquire_wait_seconds_bucket{le=\"+Inf\"} 1\n") != NULL);
	CHECK(strstr(text, "openrisk_db_cache_hits_total 42\n") != NULL);
	CHECK(strstr(text, "openrisk_db_cache_handoffs_total 7\n") != NULL);
	CHECK(strstr(text, "# TYPE openrisk_db_cache_fills_rejected_total counter\n") != NULL);
	CHECK(strstr(text, "openrisk_pg_activity_connections{state=\"active\"} 5\n") != NULL);
	CHECK(strstr(text, "# TYPE openrisk_http_request_duration_seconds histogram\n") != NULL);
	free(text);

	/* before the first successful poll only the poll health is shown */
	pg.valid = 0;
	text = metrics_render(NULL, &pg, &len);
	CHECK(text && strstr(text, "openrisk_db_cache_hits_total") == NULL);
	CHECK(text && strstr(text, "openrisk_stats_poll_success") != NULL);
	free(text);
}
