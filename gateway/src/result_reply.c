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
#include <string.h>

#include "errors.h"
#include "http_reply.h"
#include "list_links.h"
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

	sqlstate_map(sqlstate, sql_error_is_ours(PQresultErrorField(r, PG_DIAG_SOURCE_FUNCTION)), &m);
	if (m.status == 503)
		return request_fail(req, 503, m.code, m.message, "Retry-After: 1\r\n");
	if (m.status < 500) {
		if (!m.show_db_message || !primary) /* PostgreSQL's own words: logged, not shown */
			log_debug("request %s: %s %s: SQLSTATE %s: %s", req->id, rt->method, rt->pattern,
				  sqlstate ? sqlstate : "-", primary ? primary : PQresultErrorMessage(r));
		return request_fail(req, m.status, m.code, m.show_db_message && primary ? primary : m.message, NULL);
	}
	log_error("request %s: %s %s failed: SQLSTATE %s: %s", req->id, rt->method, rt->pattern,
		  sqlstate ? sqlstate : "-", primary ? primary : PQresultErrorMessage(r));
	return fail_logged(req, m.status, m.code);
}

/* A cached read: value, hit, etag; a list's reply also links its
 * neighbour pages (list_links.h). */
static int reply_read(struct request *req, const struct route *rt, const PGresult *r)
{
	char headers[REQUEST_HEADERS_MAX + 4608], link[4096] = "";
	const char *etag;
	int hit;

	if (PQntuples(r) < 1 || PQgetisnull(r, 0, 0))
		return fail_not_found(req, rt);
	hit = PQnfields(r) > 1 && PQgetvalue(r, 0, 1)[0] == 't';
	etag = PQnfields(r) > 2 ? PQgetvalue(r, 0, 2) : "";
	req->cache = hit ? "HIT" : "MISS";
	metrics_observe_cache(req->route, hit);
	if (rt->kind == KIND_LIST) {
		struct list_envelope env;
		if (list_envelope_read(PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0), &env) < 0 ||
		    list_link_header(req->ri->local_uri, req->ri->query_string, &env, link, sizeof link) < 0)
			link[0] = '\0'; /* no Link rather than a wrong one */
	}
	snprintf(headers, sizeof headers,
		 "%sX-Cache: %s\r\nETag: \"%s\"\r\nCache-Control: private, no-cache\r\n"
		 "Server-Timing: cache;desc=%s\r\n%s",
		 req->headers, req->cache, etag, req->cache, link);
	return request_finish(req, reply_send_conditional(req->conn, headers, etag, PQgetvalue(r, 0, 0),
							  (size_t)PQgetlength(r, 0, 0)));
}

int reply_no_connection(struct request *req, const struct route *rt, enum pool_status st)
{
	if (rt->kind == KIND_HEALTH)
		return reply_health(req, 0);
	if (st == POOL_TIMEOUT)
		return request_fail(req, 503, "pool_timeout", "no database connection became free in time; retry",
				    "Retry-After: 1\r\n");
	if (st == POOL_DOWN)
		return request_fail(req, 503, "database_unavailable", "the database is unavailable; retry shortly",
				    "Retry-After: 1\r\n");
	return request_fail(req, 503, "shutting_down", "the gateway is shutting down", "Retry-After: 1\r\n");
}

int reply_health(struct request *req, int up)
{
	static const char upb[] = "{\"status\":\"UP\",\"db\":\"CONNECTED\"}";
	static const char downb[] = "{\"status\":\"DOWN\",\"db\":\"DISCONNECTED\"}";

	if (up)
		return request_reply(req, 200, req->headers, upb, sizeof upb - 1);
	return request_reply(req, 503, req->headers, downb, sizeof downb - 1);
}

/* The header line for a result's "etag" column ("" when it has none). */
static const char *etag_line(const PGresult *r, char *out, size_t outlen)
{
	int col = PQfnumber(r, "etag");

	if (col < 0 || PQntuples(r) < 1 || PQgetisnull(r, 0, col))
		return "";
	snprintf(out, outlen, "ETag: \"%s\"\r\n", PQgetvalue(r, 0, col));
	return out;
}

/*
 * A write the function refused, by its "outcome" column: 404, or 412 with
 * the current ETag so the client can GET, merge and retry.  -1 when the
 * write was done (or the statement reports no outcome).
 */
static int reply_refused_write(struct request *req, const struct route *rt, const PGresult *r)
{
	int col = PQfnumber(r, "outcome");
	const char *outcome = col >= 0 && PQntuples(r) > 0 && !PQgetisnull(r, 0, col) ? PQgetvalue(r, 0, col) : "";
	char etag[96], msg[192];

	if (strcmp(outcome, "not_found") == 0)
		return fail_not_found(req, rt);
	if (strcmp(outcome, "precondition_failed") != 0)
		return -1;
	snprintf(msg, sizeof msg,
		 "the %s changed since the ETag in If-Match was read; nothing was written (its current ETag is in "
		 "this reply's ETag header)",
		 rt->what);
	return request_fail(req, 412, "precondition_failed", msg, etag_line(r, etag, sizeof etag));
}

/* 201 + Location (the route's template filled with the "id" column) + ETag. */
static int reply_created(struct request *req, const struct route *rt, const PGresult *r)
{
	char headers[sizeof req->headers + 384], location[256], etag[96];
	int id = PQfnumber(r, "id");

	if (id < 0 || PQgetisnull(r, 0, id) || route_expand(rt->location, PQgetvalue(r, 0, id), location, sizeof location) < 0)
		return -1;
	snprintf(headers, sizeof headers, "%sLocation: %s\r\n%s", req->headers, location,
		 etag_line(r, etag, sizeof etag));
	return request_reply(req, 201, headers, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
}

int reply_result(struct request *req, const struct route *rt, const PGresult *r)
{
	int null = PQntuples(r) < 1 || PQgetisnull(r, 0, 0);
	char headers[sizeof req->headers + 384], etag[96];
	int status;

	switch (rt->kind) {
	case KIND_READ:
	case KIND_LIST:
		return reply_read(req, rt, r);
	case KIND_HEALTH:
		return reply_health(req, 1);
	case KIND_CREATE:
		if (!null && (status = reply_created(req, rt, r)) >= 0)
			return status;
		break;
	case KIND_DELETE:
		if ((status = reply_refused_write(req, rt, r)) >= 0)
			return status;
		if (null)
			break;
		if (PQgetvalue(r, 0, 0)[0] != 't')
			return fail_not_found(req, rt);
		return request_reply(req, 204, req->headers, NULL, 0);
	case KIND_UPDATE:
		if ((status = reply_refused_write(req, rt, r)) >= 0)
			return status;
		if (null)
			return fail_not_found(req, rt);
		snprintf(headers, sizeof headers, "%s%s", req->headers, etag_line(r, etag, sizeof etag));
		return request_reply(req, 200, headers, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
	case KIND_JSON:
		if (null)
			break;
		return request_reply(req, 200, req->headers, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
	case KIND_READY:
	case KIND_EXPORT: /* export.c */
	case KIND_EVENTS: /* events.c */
		break;
	}
	log_error("request %s: %s %s returned no usable row", req->id, rt->method, rt->pattern);
	return fail_logged(req, 500, "internal");
}
