/*
 * listener.h -- starting a civetweb listener the way the gateway needs it.
 *
 * civetweb's defaults are wrong for an API server in three ways, all set
 * here once for both listeners: tcp_nodelay (a reply written while Nagle
 * waits for a delayed ACK costs ~40 ms), no document_root (the gateway
 * serves no files: civetweb's file serving had CVE-2025-55763), and its
 * own error pages, which echo parts of a garbled request back -- replaced
 * by the JSON error shape through the http_error callback.
 */
#ifndef OPENRISK_LISTENER_H
#define OPENRISK_LISTENER_H

#include <civetweb.h>
#include <stdint.h>

/*
 * Listen on host:port with `threads` worker threads and an idle keep-alive
 * timeout, calling begin for every request; NULL when the address cannot
 * be bound.  user_data is civetweb's (mg_get_user_data).
 */
struct mg_context *listener_start(const char *listen, int threads, int64_t keep_alive_ms,
				  int (*begin)(struct mg_connection *), void *user_data);

/* The http_error callback: civetweb's own errors in the JSON error shape. */
int listener_http_error(struct mg_connection *conn, int status, const char *errmsg);

#endif
