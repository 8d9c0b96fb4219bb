/*
 * conn_drain.h -- end a connection whose request body was not read,
 * without destroying the reply just sent.
 *
 * civetweb closes such a connection with shutdown() + close() while the
 * client may still be sending the body (a 413 is answered as soon as the
 * headers say the body is too large).  Closing a socket with unread bytes
 * in its receive buffer makes the kernel send RST, and an RST discards
 * what the client had not yet read -- the 413 itself: Node's http client
 * and fetch() saw EPIPE / ECONNRESET instead of the reply.
 *
 * So after the reply: half-close (FIN: "nothing more from us"), then read
 * and discard what the client still sends, until it closes its side, or
 * DRAIN_MAX_BYTES were discarded, or it was silent for DRAIN_IDLE_MS, or
 * DRAIN_MAX_MS passed -- bounds that keep a worker thread from being held
 * by a client that never stops.  Then civetweb's close finds an empty
 * receive buffer and ends with FIN, and the client reads the reply.
 *
 * civetweb has no accessor for a connection's socket; it is found by its
 * address: the socket whose peer is the request's remote address and
 * port and whose local port is the server port (a TCP 4-tuple names one
 * socket).  When none is found (a test's fake connection), nothing is done.
 */
#ifndef OPENRISK_CONN_DRAIN_H
#define OPENRISK_CONN_DRAIN_H

#include <civetweb.h>

#define DRAIN_MAX_BYTES (16LL << 20)
#define DRAIN_MAX_MS 3000
#define DRAIN_IDLE_MS 500

/* Half-close and drain the connection's socket; bytes discarded, or -1
 * when its socket was not found. */
long long conn_drain(struct mg_connection *conn);

#endif
