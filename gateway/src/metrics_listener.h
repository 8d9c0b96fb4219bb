/*
 * metrics_listener.h -- the separate /metrics listener.
 *
 * Prometheus scrapes a listener of its own (2 threads, its own address),
 * so a scrape never queues behind API clients and the API listener never
 * exposes operational figures.  A scrape reads only in-memory snapshots:
 * it costs PostgreSQL nothing (see stats_poller.h).
 */
#ifndef OPENRISK_METRICS_LISTENER_H
#define OPENRISK_METRICS_LISTENER_H

#include <civetweb.h>

#include "gateway.h"

/* Start-up: the pool whose figures are reported (kept by pointer). */
void metrics_listener_init(struct gateway *gw);

/* civetweb's begin_request callback: GET /metrics, 404 / 405 otherwise. */
int metrics_begin_request(struct mg_connection *conn);

#endif
