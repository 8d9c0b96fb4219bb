/*
 * listener.c -- civetweb set-up and its own callbacks (see listener.h).
 */
#include "listener.h"

#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "http_reply.h"
#include "log.h"
#include "metrics.h"

/*
 * civetweb's own errors (malformed request line, headers too large, ...):
 * answered in our JSON shape instead of civetweb's page, which echoes parts
 * of the garbled request back.  They are counted under the "unmatched"
 * route with method OTHER: the request line may not even have a method.
 */
int listener_http_error(struct mg_connection *conn, int status, const char *errmsg)
{
	(void)errmsg;
	mg_disable_connection_keep_alive(conn); /* as the reply says */
	reply_error(conn, status, http_status_code(status), http_status_text(status), "Connection: close\r\n");
	metrics_observe_request(-1, "OTHER", status, 0);
	log_access("-", "-", status, 0, NULL, "-");
	return 0;
}

/* civetweb's diagnostics go to our log, at debug level. */
static int civetweb_log_message(const struct mg_connection *conn, const char *message)
{
	(void)conn;
	log_debug("civetweb: %s", message);
	return 1;
}

struct mg_context *listener_start(const char *listen, int threads, int64_t keep_alive_ms,
				  int (*begin)(struct mg_connection *), void *user_data)
{
	struct mg_callbacks cbs;
	char nthreads[16], keep_alive[24];
	const char *opts[] = {"listening_ports", listen,
			      "num_threads", nthreads,
			      "enable_keep_alive", "yes",
			      "keep_alive_timeout_ms", keep_alive,
			      "tcp_nodelay", "1",
			      "request_timeout_ms", "30000",
			      NULL};

	snprintf(nthreads, sizeof nthreads, "%d", threads);
	snprintf(keep_alive, sizeof keep_alive, "%lld", (long long)keep_alive_ms);
	memset(&cbs, 0, sizeof cbs);
	cbs.begin_request = begin;
	cbs.http_error = listener_http_error;
	cbs.log_message = civetweb_log_message;
	return mg_start(&cbs, user_data, opts);
}
