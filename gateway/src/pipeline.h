/*
 * pipeline.h -- the API listener's request handler.
 *
 * Every API request runs the same fixed pipeline: drain check -> route ->
 * token -> body -> parameters -> one prepared statement -> one write.
 * Everything request-specific is decided by the route table (routes.c).
 */
#ifndef OPENRISK_PIPELINE_H
#define OPENRISK_PIPELINE_H

#include <civetweb.h>

#include "gateway.h"

/* Start-up: the shared state every request reads (kept by pointer). */
void pipeline_init(struct gateway *gw);

/* civetweb's begin_request callback for the API listener. */
int pipeline_begin_request(struct mg_connection *conn);

#endif
