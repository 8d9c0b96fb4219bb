/*
 * result_reply.h -- what a statement's result becomes for the client.
 *
 * The route's kind decides the shape (routes.h): a cached read with
 * X-Cache and an ETag (and 304 on a matching If-None-Match), 201 with the
 * route's Location, 204, 404 when the function said "no such thing", and
 * the database's errors mapped to statuses by errors.c.  A write reports
 * its outcome and the ETag of what it wrote (45_risk_writes.sql): 200 /
 * 201 with that ETag, 404, or 412 with the risk's current ETag when the
 * request's If-Match no longer names it.
 */
#ifndef OPENRISK_RESULT_REPLY_H
#define OPENRISK_RESULT_REPLY_H

#include <libpq-fe.h>

#include "pool.h"
#include "request.h"
#include "routes.h"

/* Reply to a PGRES_TUPLES_OK result; returns the status sent. */
int reply_result(struct request *req, const struct route *rt, const PGresult *r);

/* Reply to a failed statement (broken: its connection died). */
int reply_sql_error(struct request *req, const struct route *rt, const PGresult *r, int broken);

/* No connection for the statement (st): why, as the route wants it said (503s). */
int reply_no_connection(struct request *req, const struct route *rt, enum pool_status st);

/* /health: 200 UP when the database answered, else 503 DOWN. */
int reply_health(struct request *req, int up);

#endif
