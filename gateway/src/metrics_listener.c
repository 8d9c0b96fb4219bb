/*
 * metrics_listener.c -- GET /metrics (see metrics_listener.h).
 */
#include "metrics_listener.h"

#include <stdlib.h>
#include <string.h>

#include "http_reply.h"
#include "metrics.h"
#include "stats_poller.h"
#include "upstream.h"

static struct gateway *gw;

void metrics_listener_init(struct gateway *g)
{
	gw = g;
}

int metrics_begin_request(struct mg_connection *conn)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	struct pool_stats ps;
	struct pg_stats pg;
	struct upstream_figures up;
	size_t len;
	char *text;

	if (strcmp(ri->local_uri, "/metrics") != 0) {
		reply_error(conn, 404, "not_found", "only /metrics is served here", NULL);
		return 404;
	}
	if (strcmp(ri->request_method, "GET") != 0) {
		reply_error(conn, 405, "method_not_allowed", "use GET", "Allow: GET\r\n");
		return 405;
	}
	pool_snapshot(gw->pool, &ps);
	stats_poller_snapshot(&pg);
	if (gw->ups)
		upstreams_figures(gw->ups, &up);
	text = metrics_render_with(&ps, &pg, gw->ups ? upstream_metrics_render : NULL, &up, &len);
	if (!text) {
		reply_error(conn, 500, "internal", "out of memory", NULL);
		return 500;
	}
	reply_send_as(conn, 200, "text/plain; version=0.0.4; charset=utf-8", "", text, len);
	free(text);
	return 200;
}
