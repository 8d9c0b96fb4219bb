/*
 * export.c -- the CSV export, batch by batch (see export.h for why a
 * batch borrows a connection for one call only).
 *
 * Each batch is a read, so a batch whose connection died is run again on
 * a fresh one (pool_run's retry), whichever batch it is: the cursor makes
 * it idempotent.  Draining cuts a running export rather than holding the
 * shutdown for as long as a slow client reads.
 */
#include "export.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_stream.h"
#include "log.h"
#include "result_reply.h"

static atomic_int running;

/* Cut a started export short: no final chunk, the connection closed. */
static int cut(struct request *req, struct http_stream *s, const char *why, size_t sent)
{
	log_error("request %s: export cut after %zu bytes: %s", req->id, sent, why);
	http_stream_abort(s);
	return request_finish(req, 200);
}

/* The batches, the first one deciding the status; values[cursor] moves on. */
static int stream_batches(struct gateway *gw, struct request *req, const struct route *rt, const char **values,
			  int cursor)
{
	static const char headers_fmt[] = "%sContent-Disposition: attachment; filename=\"risks.csv\"\r\n"
					  "Cache-Control: no-store\r\n";
	struct http_stream s = {0};
	char headers[sizeof req->headers + 256], *next = NULL; /* grows with what every reply carries */
	size_t sent = 0;
	int status = 0;

	for (;;) {
		enum pool_status st;
		int broken;
		PGresult *r = pool_run(gw->pool, gw->cfg->pool_acquire_timeout_ms, rt->stmt, rt->nparams, values, 1,
				       &st, &broken, NULL);
		int ok = r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && PQnfields(r) == 2;

		if (!s.conn && !ok) { /* nothing sent yet: a normal error reply */
			status = !r ? reply_no_connection(req, rt, st) : reply_sql_error(req, rt, r, broken);
		} else if (!ok) {
			status = cut(req, &s, r ? PQresultErrorMessage(r) : "no database connection", sent);
		} else {
			if (!s.conn) {
				snprintf(headers, sizeof headers, headers_fmt, req->headers);
				http_stream_begin(&s, req->conn, "text/csv; charset=utf-8", headers);
			}
			http_stream_write(&s, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
			sent += (size_t)PQgetlength(r, 0, 0);
			if (s.failed)
				status = request_finish(req, 200); /* the client went away */
			else if (PQgetisnull(r, 0, 1)) {
				http_stream_end(&s); /* complete; a client gone now missed only the last bytes */
				status = request_finish(req, 200);
			} else if (atomic_load(&gw->draining))
				status = cut(req, &s, "the gateway is draining", sent);
			else {
				free(next);
				next = strdup(PQgetvalue(r, 0, 1));
				values[cursor] = next;
				if (!next)
					status = cut(req, &s, "out of memory", sent);
			}
		}
		PQclear(r);
		if (status)
			break;
	}
	free(next);
	return status;
}

int export_csv(struct gateway *gw, struct request *req, const struct route *rt, const char **values)
{
	int cursor = -1, status;

	for (int i = 0; i < rt->nparams; i++)
		if (rt->params[i].source == PARAM_CURSOR)
			cursor = i;
	if (cursor < 0) {
		log_error("request %s: %s %s has no cursor parameter", req->id, rt->method, rt->pattern);
		return request_fail(req, 500, "internal", "internal error", NULL);
	}
	if (atomic_fetch_add(&running, 1) >= gw->cfg->max_exports) {
		atomic_fetch_sub(&running, 1);
		return request_fail(req, 503, "too_many_exports", "too many exports are running; retry shortly",
				    "Retry-After: 5\r\n");
	}
	status = stream_batches(gw, req, rt, values, cursor);
	atomic_fetch_sub(&running, 1);
	return status;
}
