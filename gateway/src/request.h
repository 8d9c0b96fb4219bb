/*
 * request.h -- one API request's bookkeeping, from start to its one exit.
 *
 * Every reply of the pipeline leaves through request_reply() or
 * request_fail(), which is what makes "every request is counted in the
 * metrics and gets exactly one access-log line with its request id" true
 * by construction rather than by care in each branch.
 */
#ifndef OPENRISK_REQUEST_H
#define OPENRISK_REQUEST_H

#include <civetweb.h>
#include <stddef.h>
#include <time.h>

#include "cors.h"

/* Room for every header line a reply of the pipeline carries besides the
 * ones its reply kind adds: X-Request-Id, Connection, CORS, Server-Timing. */
#define REQUEST_HEADERS_MAX 1024

struct request {
	struct mg_connection *conn;
	const struct mg_request_info *ri;
	struct timespec t0;
	char id[20];
	int route;                         /* index in routes[], -1 when unmatched */
	const char *cache;                 /* "HIT" / "MISS" for the access line, or NULL */
	int body_unread;                   /* a body arrived that we did not read (yet) */
	int close_after;                   /* an early reply must end the connection: see request_start */
	char headers[REQUEST_HEADERS_MAX]; /* lines every reply carries: X-Request-Id, CORS, Server-Timing, X-Upstream, X-Commit-LSN */
};

/* Pick this process's random request-id prefix (once, at start-up). */
void request_ids_init(void);

/* Begin a request: clock, id, whether an early reply must close, and the
 * CORS lines for its Origin (cors.h; none when CORS is off). */
void request_start(struct request *req, struct mg_connection *conn, size_t max_body, const struct cors_policy *cors);

/* Forget the header lines added so far but X-Request-Id (a preflight
 * answers with its own CORS lines). */
void request_reset_headers(struct request *req);

/* Append one header line ("Name: value", no CRLF) to every reply of req. */
void request_add_header(struct request *req, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Count the request (metrics, access log); returns status. */
int request_finish(struct request *req, int status);

/* Send a complete reply (status, extra headers, body) and finish. */
int request_reply(struct request *req, int status, const char *headers, const char *body, size_t body_len);

/* Send a JSON error with this code and finish; extra: "" or header lines. */
int request_fail(struct request *req, int status, const char *code, const char *message, const char *extra);

/* The same with the status's generic code ("bad_request"). */
int request_fail_status(struct request *req, int status, const char *message, const char *extra);

#endif
