/*
 * http_reply.h -- every byte the gateway sends goes through here, and the
 * conditional-request rule (If-None-Match against the ETag) with it.
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

/* Does an If-None-Match header value name this (unquoted) etag, or "*"? */
int http_etag_matches(const char *if_none_match, const char *etag);

/*
 * A conditional GET: 304 without a body when the request's If-None-Match
 * names etag, else 200 with the body.  extra_headers must already carry
 * the ETag line.  Returns the status sent.
 */
int reply_send_conditional(struct mg_connection *conn, const char *extra_headers, const char *etag,
			   const char *body, size_t body_len);

#endif
