/*
 * result_reply.c -- from a PGresult to the route's reply (see
 * result_reply.h).
 *
 * A result that does not have the shape the route's kind promises (no row
 * where one must be) is a bug in the SQL, not the client's fault: it is
 * logged with the request id and answered 500, like an unexpected
 * SQLSTATE.  The client only ever sees messages written for users.
 */
#include "result_reply.h"

#include <stdio.h>

#include "errors.h"
#include "http_reply.h"
#include "log.h"
#include "metrics.h"

/* An error whose detail is only in the log: the client gets the request id. */
static int fail_logged(struct request *req, int status, const char *code)
{
	char msg[96];

	snprintf(msg, sizeof msg, "internal error; quote request id %s", req->id);
	return request_fail(req, status, code, msg, NULL);
}

static int fail_not_found(struct request *req, const struct route *rt)
{
	char msg[96];

	snprintf(msg, sizeof msg, "%s not found", rt->what);
	return request_fail(req, 404, "not_found", msg, NULL);
}

int reply_sql_error(struct request *req, const struct route *rt, const PGresult *r, int broken)
{
	const char *sqlstate = broken ? NULL : PQresultErrorField(r, PG_DIAG_SQLSTATE);
	const char *primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	struct sql_error_map m;

	sqlstate_map(sqlstate, &m);
	if (m.show_db_message && primary)
		return request_fail(req, m.status, m.code, primary, NULL);
	if (m.status == 503)
		return request_fail(req, 503, m.code, "the database is unavailable or busy; retry shortly",
				    "Retry-After: 1\r\n");
	log_error("request %s: %s %s failed: SQLSTATE %s: %s", req->id, rt->method, rt->pattern,
		  sqlstate ? sqlstate : "-", primary ? primary : PQresultErrorMessage(r));
	return fail_logged(req, m.status, m.code);
}

/* A cached read: value, hit, etag. */
static int reply_read(struct request *req, const struct route *rt, const PGresult *r)
{
	char headers[384];
	const char *etag;
	int hit;

	if (PQntuples(r) < 1 || PQgetisnull(r, 0, 0))
		return fail_not_found(req, rt);
	hit = PQnfields(r) > 1 && PQgetvalue(r, 0, 1)[0] == 't';
	etag = PQnfields(r) > 2 ? PQgetvalue(r, 0, 2) : "";
	req->cache = hit ? "HIT" : "MISS";
	metrics_observe_cache(req->route, hit);
	snprintf(headers, sizeof headers, "%sX-Cache: %s\r\nETag: \"%s\"\r\nCache-Control: private, no-cache\r\n",
		 req->headers, req->cache, etag);
	return request_finish(req, reply_send_conditional(req->conn, headers, etag, PQgetvalue(r, 0, 0),
							  (size_t)PQgetlength(r, 0, 0)));
}

int reply_health(struct request *req, int up)
{
	static const char upb[] = "{\"status\":\"UP\",\"db\":\"CONNECTED\"}";
	static const char downb[] = "{\"status\":\"DOWN\",\"db\":\"DISCONNECTED\"}";

	if (up)
		return request_reply(req, 200, req->headers, upb, sizeof upb - 1);
	return request_reply(req, 503, req->headers, downb, sizeof downb - 1);
}

/* 201 + Location: the route's template filled with the second column. */
static int reply_created(struct request *req, const struct route *rt, const PGresult *r)
{
	char headers[512], location[256];

	if (PQnfields(r) < 2 || PQgetisnull(r, 0, 1) ||
	    route_expand(rt->location, PQgetvalue(r, 0, 1), location, sizeof location) < 0)
		return -1;
	snprintf(headers, sizeof headers, "%sLocation: %s\r\n", req->headers, location);
	return request_reply(req, 201, headers, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
}

int reply_result(struct request *req, const struct route *rt, const PGresult *r)
{
	int null = PQntuples(r) < 1 || PQgetisnull(r, 0, 0);
	int status;

	switch (rt->kind) {
	case KIND_READ:
		return reply_read(req, rt, r);
	case KIND_HEALTH:
		return reply_health(req, 1);
	case KIND_CREATE:
		if (!null && (status = reply_created(req, rt, r)) >= 0)
			return status;
		break;
	case KIND_DELETE:
		if (null)
			break;
		if (PQgetvalue(r, 0, 0)[0] != 't')
			return fail_not_found(req, rt);
		return request_reply(req, 204, req->headers, NULL, 0);
	case KIND_UPDATE:
		if (null)
			return fail_not_found(req, rt);
		/* fall through */
	case KIND_JSON:
		if (null)
			break;
		return request_reply(req, 200, req->headers, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
	case KIND_READY:
		break;
	}
	log_error("request %s: %s %s returned no usable row", req->id, rt->method, rt->pattern);
	return fail_logged(req, 500, "internal");
}
