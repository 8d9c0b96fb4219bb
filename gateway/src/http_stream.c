/*
 * http_stream.c -- chunked (or close-delimited) replies (see
 * http_stream.h).  A chunk up to 16 kB is framed on the stack, a larger
 * one costs one malloc; either way it leaves in one write.
 */
#include "http_stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STACK_CHUNK 16384

int http_stream_begin(struct http_stream *s, struct mg_connection *conn, const char *content_type,
		      const char *extra_headers)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	char head[1024];
	int n;

	s->conn = conn;
	s->failed = 0;
	s->chunked = !(ri && ri->http_version && strcmp(ri->http_version, "1.0") == 0);
	if (!s->chunked)
		mg_disable_connection_keep_alive(conn); /* the body ends where the connection does */
	n = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n%s%s\r\n", content_type,
		     s->chunked ? "Transfer-Encoding: chunked\r\n" : "Connection: close\r\n",
		     extra_headers ? extra_headers : "");
	if (n < 0 || (size_t)n >= sizeof head || mg_write(conn, head, (size_t)n) != n) {
		s->failed = 1;
		mg_disable_connection_keep_alive(conn);
		return -1;
	}
	return 0;
}

/* One write of exactly len bytes; a short or failed one ends the stream. */
static int put(struct http_stream *s, const char *data, size_t len)
{
	if (s->failed || mg_write(s->conn, data, len) != (int)len) {
		s->failed = 1;
		mg_disable_connection_keep_alive(s->conn);
		return -1;
	}
	return 0;
}

int http_stream_write(struct http_stream *s, const char *data, size_t len)
{
	char stack[STACK_CHUNK], *frame = stack;
	int hn, rc;

	if (s->failed)
		return -1;
	if (len == 0)
		return 0; /* an empty chunk would end the body */
	if (!s->chunked)
		return put(s, data, len);
	if (len + 32 > sizeof stack && !(frame = malloc(len + 32))) {
		s->failed = 1;
		mg_disable_connection_keep_alive(s->conn);
		return -1;
	}
	hn = snprintf(frame, 32, "%zx\r\n", len);
	memcpy(frame + hn, data, len);
	memcpy(frame + hn + len, "\r\n", 2);
	rc = put(s, frame, (size_t)hn + len + 2);
	if (frame != stack)
		free(frame);
	return rc;
}

int http_stream_end(struct http_stream *s)
{
	return s->chunked ? put(s, "0\r\n\r\n", 5) : (s->failed ? -1 : 0);
}

void http_stream_abort(struct http_stream *s)
{
	s->failed = 1;
	mg_disable_connection_keep_alive(s->conn);
}
