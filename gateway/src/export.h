/*
 * export.h -- GET /api/v1/risks/export.csv: the register as CSV, streamed
 * batch by batch.
 *
 * The route's statement (openrisk.risk_export_page) returns one batch of
 * CSV and the list cursor after it; the gateway runs it on a pooled
 * connection borrowed for that one call, writes the batch to the client
 * as one chunk (http_stream.h) with the connection already returned, and
 * calls it again with the cursor until there is none.  So neither the
 * gateway nor PostgreSQL ever holds the whole export, and a slow client
 * holds a thread -- never a database connection or an open transaction.
 * Exports are bounded (--max-exports, 503 + Retry-After beyond) and their
 * threads are added to --threads, like event streams.  Bad arguments fail
 * the first batch, before anything is sent: a 400 as on the list; a
 * failure after the first batch can only cut the stream (no final chunk),
 * which a client sees as a broken transfer, never as a short export.
 */
#ifndef OPENRISK_EXPORT_H
#define OPENRISK_EXPORT_H

#include "gateway.h"
#include "request.h"
#include "routes.h"

/*
 * Serve an export route: values are the bound parameters, the
 * PARAM_CURSOR one NULL (the first batch); it is replaced batch by batch.
 */
int export_csv(struct gateway *gw, struct request *req, const struct route *rt, const char **values);

#endif
