/*
 * http_stream.h -- replies whose length is unknown when they start: the
 * CSV export and the event stream.
 *
 * Every other reply is one mg_write with a Content-Length (http_reply.h).
 * A streamed reply is written as it is produced, so it cannot be: to an
 * HTTP/1.1 client it is sent with Transfer-Encoding: chunked -- each piece
 * is one chunk in ONE mg_write (size line, data and CRLF together, for the
 * reason http_reply.h gives), and the reply ends with the empty chunk, so
 * a client can tell a complete body from one cut short and the connection
 * can be kept.  An HTTP/1.0 client gets the body until the connection
 * closes instead.  A failed write means the client has gone: the stream
 * remembers it, writes nothing more, and the connection is not kept.
 */
#ifndef OPENRISK_HTTP_STREAM_H
#define OPENRISK_HTTP_STREAM_H

#include <civetweb.h>
#include <stddef.h>

struct http_stream {
	struct mg_connection *conn;
	int chunked; /* HTTP/1.1: chunked framing; HTTP/1.0: ends at close */
	int failed;  /* a write failed: the client is gone */
};

/*
 * Send "200 OK" with this Content-Type and the extra header lines ("" or
 * complete "Name: value\r\n" lines).  0, or -1 when the client is gone.
 */
int http_stream_begin(struct http_stream *s, struct mg_connection *conn, const char *content_type,
		      const char *extra_headers);

/* Write len bytes as one piece (nothing for len 0).  0, or -1 once the client is gone. */
int http_stream_write(struct http_stream *s, const char *data, size_t len);

/* End a complete reply (the empty chunk).  0, or -1 when the client is gone. */
int http_stream_end(struct http_stream *s);

/*
 * End a reply that is NOT complete (the database failed half-way): no
 * empty chunk, and the connection is closed, so the client sees a broken
 * transfer rather than a short body it would take for the whole.
 */
void http_stream_abort(struct http_stream *s);

#endif
