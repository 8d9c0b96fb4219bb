/*
 * http_reply.h -- every byte the gateway sends goes through here.
 *
 * A reply is status line, headers and body in ONE mg_write: with two
 * writes, Nagle plus delayed ACK cost ~40 ms per reply on this stack (and
 * tcp_nodelay=1 is set too, belt and braces).  Errors are always the JSON
 * shape {"error":{"code","message"}} so clients parse one format.
 */
#ifndef OPENRISK_HTTP_REPLY_H
#define OPENRISK_HTTP_REPLY_H

#include <civetweb.h>
#include <stddef.h>

/*
 * Send status + headers + body.  extra_headers is "" or complete
 * "Name: value\r\n" lines.  body may be NULL (no body: 204, 304).
 * Returns 0 when the whole reply was written.
 */
int reply_send(struct mg_connection *conn, int status, const char *extra_headers, const char *body,
	       size_t body_len);

/* The same with another Content-Type (the metrics exposition). */
int reply_send_as(struct mg_connection *conn, int status, const char *content_type,
		  const char *extra_headers, const char *body, size_t body_len);

/* Send an error in the JSON shape; message must be safe to show. */
int reply_error(struct mg_connection *conn, int status, const char *code, const char *message,
		const char *extra_headers);

#endif
