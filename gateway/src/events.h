/*
 * events.h -- GET /api/v1/events: Server-Sent Events telling a dashboard
 * which parts of its tenant's data changed, so it refetches only then.
 *
 * One thread holds one dedicated libpq connection (not a pool one: it
 * must stay LISTENing) on the extension's openrisk_cache channel and
 * turns each notification into per-tenant events (event_parse.h) in a
 * ring of recent events.  Each stream is a civetweb worker thread asleep
 * on a condition variable until an event of its tenant (or of everyone)
 * arrives or a heartbeat is due.  Streams are bounded (--max-event-streams,
 * 503 + Retry-After beyond) and their threads are added to --threads when
 * the listener starts, so open streams never take the threads that serve
 * normal requests.  Event ids are "<gateway epoch>-<sequence>": a client
 * reconnecting with Last-Event-ID gets the events it missed while they
 * are still in the ring, else a resync event (refetch everything).
 * Draining or stopping ends every stream cleanly (the final empty chunk).
 */
#ifndef OPENRISK_EVENTS_H
#define OPENRISK_EVENTS_H

#include "auth_jwt.h"
#include "gateway.h"
#include "request.h"

/* Start the LISTEN thread (connects in the background, retrying). 0 or -1. */
int events_start(struct gateway *gw);

/* End every stream and stop the LISTEN thread (drain, shutdown). */
void events_stop(void);

/* Serve one stream for the caller's tenant until it goes or we stop; the status. */
int events_serve(struct request *req, const struct jwt_claims *claims);

/* Streams open now (tests, metrics). */
int events_open_streams(void);

#endif
