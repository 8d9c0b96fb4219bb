/*
 * request.c -- request ids, timing and the single exit (see request.h).
 *
 * Request ids are a random per-process prefix and a counter: unique across
 * gateways sharing a log, cheap (no syscall per request), and unguessable
 * enough that an id quoted by a client identifies one log line.
 */
#include "request.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "conn_drain.h"
#include "errors.h"
#include "http_reply.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"

static unsigned int request_id_prefix;
static _Atomic unsigned int request_counter;

void request_ids_init(void)
{
	if (getrandom(&request_id_prefix, sizeof request_id_prefix, 0) != sizeof request_id_prefix)
		request_id_prefix = (unsigned int)time(NULL);
}

/*
 * A body nobody read (an error replied before the body was read) is left
 * to civetweb, which reads and discards it after the reply and keeps the
 * connection.  That is bounded (by max_body) only when the length is
 * declared and within the limit.  Any other unread body -- declared too
 * large, chunked (length unknown), or held back by "Expect: 100-continue"
 * -- ends the connection instead (close_after): request_fail() then says
 * "Connection: close" AND makes civetweb honour it, since the header alone
 * does not: civetweb would discard the body and serve what follows it.
 */
void request_start(struct request *req, struct mg_connection *conn, size_t max_body, const struct cors_policy *cors)
{
	char lines[512];

	const int chunked = mg_get_header(conn, "Transfer-Encoding") != NULL;
	long long cl;

	req->conn = conn;
	req->ri = mg_get_request_info(conn);
	cl = req->ri->content_length;
	clock_gettime(CLOCK_MONOTONIC, &req->t0);
	snprintf(req->id, sizeof req->id, "%08x%08x", request_id_prefix,
		 atomic_fetch_add_explicit(&request_counter, 1, memory_order_relaxed));
	req->route = -1;
	req->cache = NULL;
	req->body_unread = cl > 0 || chunked;
	req->close_after = chunked || cl > (long long)max_body ||
			   (req->body_unread && mg_get_header(conn, "Expect") != NULL);
	snprintf(req->headers, sizeof req->headers, "X-Request-Id: %s\r\n", req->id);
	if (cors && cors->enabled && cors_reply_headers(cors, mg_get_header(conn, "Origin"), lines, sizeof lines) > 0)
		strncat(req->headers, lines, sizeof req->headers - strlen(req->headers) - 1);
}

void request_reset_headers(struct request *req)
{
	snprintf(req->headers, sizeof req->headers, "X-Request-Id: %s\r\n", req->id);
}

void request_add_header(struct request *req, const char *fmt, ...)
{
	size_t used = strlen(req->headers);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(req->headers + used, sizeof req->headers - used, fmt, ap);
	va_end(ap);
	if (n < 0 || used + (size_t)n + 3 > sizeof req->headers) {
		req->headers[used] = '\0'; /* does not fit: left out whole, never cut */
		return;
	}
	memcpy(req->headers + used + n, "\r\n", 3);
}

int request_finish(struct request *req, int status)
{
	double d = seconds_since(&req->t0);

	metrics_observe_request(req->route, req->ri->request_method, status, d);
	log_access(req->ri->request_method, req->ri->local_uri, status, d, req->cache, req->id);
	return status;
}

int request_reply(struct request *req, int status, const char *headers, const char *body, size_t body_len)
{
	reply_send(req->conn, status, headers, body, body_len);
	return request_finish(req, status);
}

int request_fail(struct request *req, int status, const char *code, const char *message, const char *extra)
{
	char headers[REQUEST_HEADERS_MAX + 256];

	snprintf(headers, sizeof headers, "%s%s%s", req->headers, req->close_after ? "Connection: close\r\n" : "",
		 extra ? extra : "");
	if (req->close_after)
		mg_disable_connection_keep_alive(req->conn);
	reply_error(req->conn, status, code, message, headers);
	/* a body is still coming (or may be): let the client read this reply
	 * before the connection ends (conn_drain.h).  Not when it waits for
	 * "100 Continue": it sends nothing. */
	if (req->close_after && req->body_unread && !mg_get_header(req->conn, "Expect"))
		conn_drain(req->conn);
	return request_finish(req, status);
}

int request_fail_status(struct request *req, int status, const char *message, const char *extra)
{
	return request_fail(req, status, http_status_code(status), message, extra);
}
