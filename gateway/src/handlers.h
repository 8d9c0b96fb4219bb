/*
 * handlers.h -- civetweb entry points: the API pipeline, /metrics, and
 * civetweb's own errors.
 *
 * Everything request-specific is decided by the route table; this layer
 * only runs the fixed pipeline match -> auth -> parameters -> body -> one
 * prepared statement -> one write.
 */
#ifndef OPENRISK_HANDLERS_H
#define OPENRISK_HANDLERS_H

#include <civetweb.h>
#include <stdatomic.h>

#include "config.h"
#include "pool.h"

struct gateway {
	const struct gw_config *cfg;
	struct pool *pool;
	atomic_int draining; /* SIGTERM received: new requests get 503 */
	atomic_int inflight; /* requests between begin and reply */
};

/* Statement numbers of the poller's two statements (after the routes'). */
int handlers_pg_stats_stmt(void);
int handlers_cache_stats_stmt(void);

/* Every statement to prepare, indexed by statement number; count in *n. */
const char *const *handlers_statements(int *n);

void handlers_init(struct gateway *gw);

int api_begin_request(struct mg_connection *conn);
int metrics_begin_request(struct mg_connection *conn);
int http_error_reply(struct mg_connection *conn, int status, const char *errmsg);
int civetweb_log_message(const struct mg_connection *conn, const char *message);

#endif
