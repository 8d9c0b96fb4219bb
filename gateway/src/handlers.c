/*
 * handlers.c -- the request pipeline (see handlers.h).
 *
 * Order of checks is deliberate: route first (404/405 cost nothing), then
 * the token (no parameter or body of an anonymous caller reaches the
 * database), then query parameters, then the body, and only then one
 * prepared statement.  The pooled connection is released before the reply
 * is written: the PGresult outlives it, and a slow client must not hold a
 * database connection.
 *
 * A read that fails because its connection died (PostgreSQL restarted) is
 * retried once on a fresh connection; writes are not, since the first
 * attempt may have committed.
 */
#include "handlers.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "auth_jwt.h"
#include "cache_scope.h"
#include "errors.h"
#include "http_reply.h"
#include "log.h"
#include "metrics.h"
#include "query.h"
#include "router.h"
#include "stats_poller.h"

#define QUERY_VALUE_MAX 512

static struct gateway *gw;
static unsigned int request_id_prefix;
static _Atomic unsigned int request_counter;

struct request {
	struct mg_connection *conn;
	const struct mg_request_info *ri;
	struct timespec t0;
	char id[20];
	int route; /* index in routes[], -1 when unmatched */
	const char *cache;
	int body_unread;  /* a body arrived that we did not read (yet) */
	int close_after;  /* an early reply must end the connection: see request_start */
	char headers[96]; /* X-Request-Id (+ Connection: close) */
};

static int api_request(struct mg_connection *conn);

static const char *statements[64];
static int nstatements;

int handlers_pg_stats_stmt(void)
{
	return nroutes;
}

int handlers_cache_stats_stmt(void)
{
	return nroutes + 1;
}

const char *const *handlers_statements(int *n)
{
	*n = nstatements;
	return statements;
}

void handlers_init(struct gateway *g)
{
	gw = g;
	if (getrandom(&request_id_prefix, sizeof request_id_prefix, 0) != sizeof request_id_prefix)
		request_id_prefix = (unsigned int)time(NULL);
	for (int i = 0; i < nroutes; i++)
		statements[i] = routes[i].sql;
	statements[handlers_pg_stats_stmt()] = stats_poller_pg_sql;
	statements[handlers_cache_stats_stmt()] = stats_poller_cache_sql;
	nstatements = nroutes + 2;
}

static double elapsed(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * A body nobody read (an error replied before read_body) is left to
 * civetweb, which reads and discards it after the reply and keeps the
 * connection.  That is bounded (by max_body) only when the length is
 * declared and within the limit.  Any other unread body -- declared too
 * large, chunked (length unknown), or held back by "Expect: 100-continue"
 * -- ends the connection instead (close_after): fail() then says
 * "Connection: close" AND makes civetweb honour it, since the header alone
 * does not: civetweb would discard the body and serve what follows it.
 */
static void request_start(struct request *req, struct mg_connection *conn)
{
	const int chunked = mg_get_header(conn, "Transfer-Encoding") != NULL;
	long long cl;

	req->conn = conn;
	req->ri = mg_get_request_info(conn);
	cl = req->ri->content_length;
	clock_gettime(CLOCK_MONOTONIC, &req->t0);
	snprintf(req->id, sizeof req->id, "%08x%08x", request_id_prefix,
		 atomic_fetch_add_explicit(&request_counter, 1, memory_order_relaxed));
	req->route = -1;
	req->cache = NULL;
	req->body_unread = cl > 0 || chunked;
	req->close_after = chunked || cl > (long long)gw->cfg->max_body_bytes ||
			   (req->body_unread && mg_get_header(conn, "Expect") != NULL);
	snprintf(req->headers, sizeof req->headers, "X-Request-Id: %s\r\n", req->id);
}

/* Metrics and the access line; returns status for civetweb's bookkeeping. */
static int finish(struct request *req, int status)
{
	double d = elapsed(&req->t0);

	metrics_observe_request(req->route, req->ri->request_method, status, d);
	log_access(req->ri->request_method, req->ri->local_uri, status, d, req->cache, req->id);
	return status;
}

static int fail(struct request *req, int status, const char *code, const char *message, const char *extra)
{
	char headers[512];

	snprintf(headers, sizeof headers, "%s%s%s", req->headers, req->close_after ? "Connection: close\r\n" : "",
		 extra ? extra : "");
	if (req->close_after)
		mg_disable_connection_keep_alive(req->conn);
	reply_error(req->conn, status, code, message, headers);
	return finish(req, status);
}

static int fail_status(struct request *req, int status, const char *message, const char *extra)
{
	return fail(req, status, http_status_code(status), message, extra);
}

/* "application/json", optionally with parameters such as charset. */
static int is_json_content_type(const char *ct)
{
	static const char json[] = "application/json";

	if (!ct || strncasecmp(ct, json, sizeof json - 1) != 0)
		return 0;
	ct += sizeof json - 1;
	return *ct == '\0' || *ct == ';' || *ct == ' ';
}

/*
 * Read and parse the JSON body (bounded by max_body).  Returns 0 with the
 * text in *body (caller frees) and, when want is non-NULL, the parsed
 * object in *want; or replies itself and returns the HTTP status.
 */
static int read_body(struct request *req, char **body, json_object **parsed)
{
	size_t max = gw->cfg->max_body_bytes, len = 0;
	long long cl = req->ri->content_length;
	json_tokener *tok;
	json_object *obj;
	char *buf;
	int n;

	*body = NULL;
	if (!is_json_content_type(mg_get_header(req->conn, "Content-Type")))
		return fail_status(req, 415, "the request body must be JSON (Content-Type: application/json)", NULL);
	if (cl > (long long)max) {
		char msg[96];
		snprintf(msg, sizeof msg, "the request body is larger than %zu bytes", max);
		return fail_status(req, 413, msg, NULL);
	}
	if (!req->body_unread)
		return fail_status(req, 400, "a JSON request body is required", NULL);
	buf = malloc(max + 2);
	if (!buf)
		return fail_status(req, 503, "out of memory; retry", "Retry-After: 1\r\n");
	while ((n = mg_read(req->conn, buf + len, max + 1 - len)) > 0) {
		len += (size_t)n;
		if (len > max) {
			free(buf);
			return fail_status(req, 413, "the request body is too large", NULL);
		}
	}
	buf[len] = '\0';
	req->body_unread = req->close_after = 0;

	tok = json_tokener_new();
	obj = tok ? json_tokener_parse_ex(tok, buf, (int)len) : NULL;
	if (!tok || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len || strlen(buf) != len) {
		char msg[160];
		snprintf(msg, sizeof msg, "the request body is not valid JSON: %s",
			 tok ? json_tokener_error_desc(json_tokener_get_error(tok)) : "parser unavailable");
		if (tok && json_tokener_get_error(tok) == json_tokener_success)
			snprintf(msg, sizeof msg, "the request body is not valid JSON: trailing data");
		json_object_put(obj);
		json_tokener_free(tok);
		free(buf);
		return fail_status(req, 400, msg, NULL);
	}
	json_tokener_free(tok);
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		free(buf);
		return fail_status(req, 400, "the request body must be a JSON object", NULL);
	}
	*body = buf;
	if (parsed)
		*parsed = obj;
	else
		json_object_put(obj);
	return 0;
}

/* Authenticate and authorize; 0 or the status already replied. */
static int authorize(struct request *req, const struct route *rt, struct jwt_claims *claims)
{
	const char *token;
	enum jwt_status st;
	char msg[128];

	if (rt->min_role == ROLE_NONE)
		return 0;
	token = jwt_from_authorization(mg_get_header(req->conn, "Authorization"));
	st = jwt_verify_cached(gw->cfg->jwt_secret, strlen(gw->cfg->jwt_secret), token, time(NULL), claims);
	if (st != JWT_OK)
		return fail(req, 401, "unauthorized", jwt_status_message(st),
			    "WWW-Authenticate: Bearer realm=\"openrisk\"\r\n");
	if (claims->role < rt->min_role) {
		snprintf(msg, sizeof msg, "role %s may not %s %s (needs %s)", role_name(claims->role),
			 rt->method, rt->pattern, role_name(rt->min_role));
		return fail(req, 403, "forbidden", msg, NULL);
	}
	return 0;
}

/* Does If-None-Match name this etag (or "*")? */
static int etag_matches(const char *inm, const char *etag)
{
	char quoted[80];

	if (!inm || !etag || !*etag)
		return 0;
	if (strcmp(inm, "*") == 0)
		return 1;
	snprintf(quoted, sizeof quoted, "\"%s\"", etag);
	return strstr(inm, quoted) != NULL;
}

/* Reply for a statement that ended in an error. */
static int reply_sql_error(struct request *req, const struct route *rt, const PGresult *r, int broken)
{
	const char *sqlstate = broken ? NULL : PQresultErrorField(r, PG_DIAG_SQLSTATE);
	const char *primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	struct sql_error_map m;
	char msg[160];

	sqlstate_map(sqlstate, &m);
	if (m.show_db_message && primary)
		return fail(req, m.status, m.code, primary, NULL);
	if (m.status == 503)
		return fail(req, 503, m.code, "the database is unavailable or busy; retry shortly", "Retry-After: 1\r\n");
	log_error("request %s: %s %s failed: SQLSTATE %s: %s", req->id, rt->method, rt->pattern,
		  sqlstate ? sqlstate : "-", primary ? primary : PQresultErrorMessage(r));
	snprintf(msg, sizeof msg, "internal error; quote request id %s", req->id);
	return fail(req, m.status, m.code, msg, NULL);
}

static int reply_read(struct request *req, const struct route *rt, const PGresult *r)
{
	char headers[384], msg[96];
	const char *value, *etag;
	int hit;

	if (PQntuples(r) < 1 || PQgetisnull(r, 0, 0)) {
		snprintf(msg, sizeof msg, "%s not found", rt->what);
		return fail(req, 404, "not_found", msg, NULL);
	}
	value = PQgetvalue(r, 0, 0);
	hit = PQnfields(r) > 1 && PQgetvalue(r, 0, 1)[0] == 't';
	etag = PQnfields(r) > 2 ? PQgetvalue(r, 0, 2) : "";
	req->cache = hit ? "HIT" : "MISS";
	metrics_observe_cache(req->route, hit);
	snprintf(headers, sizeof headers, "%sX-Cache: %s\r\nETag: \"%s\"\r\nCache-Control: private, no-cache\r\n",
		 req->headers, req->cache, etag);
	if (etag_matches(mg_get_header(req->conn, "If-None-Match"), etag)) {
		reply_send(req->conn, 304, headers, NULL, 0);
		return finish(req, 304);
	}
	reply_send(req->conn, 200, headers, value, (size_t)PQgetlength(r, 0, 0));
	return finish(req, 200);
}

static int reply_health(struct request *req, int up)
{
	static const char upb[] = "{\"status\":\"UP\",\"db\":\"CONNECTED\"}";
	static const char downb[] = "{\"status\":\"DOWN\",\"db\":\"DISCONNECTED\"}";

	if (up)
		reply_send(req->conn, 200, req->headers, upb, sizeof upb - 1);
	else
		reply_send(req->conn, 503, req->headers, downb, sizeof downb - 1);
	return finish(req, up ? 200 : 503);
}

/* Turn a successful result into the route's reply. */
static int reply_result(struct request *req, const struct route *rt, const PGresult *r)
{
	char headers[384], msg[96];
	int null = PQntuples(r) < 1 || PQgetisnull(r, 0, 0);

	snprintf(msg, sizeof msg, "%s not found", rt->what);
	switch (rt->kind) {
	case KIND_READ:
		return reply_read(req, rt, r);
	case KIND_HEALTH:
		return reply_health(req, 1);
	case KIND_CREATE:
		if (null || PQnfields(r) < 2 || PQgetisnull(r, 0, 1))
			break;
		snprintf(headers, sizeof headers, "%sLocation: /api/v1/risks/%s\r\n", req->headers, PQgetvalue(r, 0, 1));
		reply_send(req->conn, 201, headers, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
		return finish(req, 201);
	case KIND_DELETE:
		if (null)
			break;
		if (PQgetvalue(r, 0, 0)[0] != 't')
			return fail(req, 404, "not_found", msg, NULL);
		reply_send(req->conn, 204, req->headers, NULL, 0);
		return finish(req, 204);
	case KIND_UPDATE:
		if (null)
			return fail(req, 404, "not_found", msg, NULL);
		/* fall through */
	case KIND_ADMIN_JSON:
	case KIND_INVALIDATE:
		if (null)
			break;
		reply_send(req->conn, 200, req->headers, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
		return finish(req, 200);
	case KIND_READY:
		break;
	}
	log_error("request %s: %s %s returned no usable row", req->id, rt->method, rt->pattern);
	snprintf(msg, sizeof msg, "internal error; quote request id %s", req->id);
	return fail(req, 500, "internal", msg, NULL);
}

/* One prepared statement on a pooled connection, then the reply. */
static int execute(struct request *req, const struct route *rt, const char *const *values)
{
	int read_only = rt->kind == KIND_READ || rt->kind == KIND_HEALTH || rt->kind == KIND_ADMIN_JSON;

	for (int attempt = 0;; attempt++) {
		struct pool_conn *c;
		enum pool_status st = pool_acquire(gw->pool, gw->cfg->pool_acquire_timeout_ms, &c);
		PGresult *r;
		int broken, status;

		if (st != POOL_OK) {
			if (rt->kind == KIND_HEALTH)
				return reply_health(req, 0);
			if (st == POOL_TIMEOUT)
				return fail(req, 503, "pool_timeout", "no database connection became free in time; retry",
					    "Retry-After: 1\r\n");
			if (st == POOL_DOWN)
				return fail(req, 503, "database_unavailable", "the database is unavailable; retry shortly",
					    "Retry-After: 1\r\n");
			return fail(req, 503, "shutting_down", "the gateway is shutting down", "Retry-After: 1\r\n");
		}
		r = pool_exec(gw->pool, c, route_index(rt), rt->nparams, values);
		broken = pool_conn_broken(c);
		pool_release(gw->pool, c);
		if (broken && read_only && attempt == 0) {
			PQclear(r);
			continue;
		}
		if (PQresultStatus(r) == PGRES_TUPLES_OK)
			status = reply_result(req, rt, r);
		else if (rt->kind == KIND_HEALTH)
			status = reply_health(req, 0);
		else
			status = reply_sql_error(req, rt, r, broken);
		PQclear(r);
		return status;
	}
}

/*
 * Bind the route's parameters.  Query values are decoded into qbuf; the
 * tenant comes from the verified token only.  Returns 0 or a replied status.
 */
static int bind_params(struct request *req, const struct route *rt, const struct jwt_claims *claims,
		       const char *id, const char *body, const char *pattern, const char **values,
		       char qbuf[][QUERY_VALUE_MAX])
{
	const char *known[ROUTE_MAX_PARAMS + 1];
	const char *qs = req->ri->query_string;
	char bad[64], msg[160];
	int nknown = 0;

	for (int i = 0; i < rt->nparams; i++)
		if (rt->params[i].source == PARAM_QUERY)
			known[nknown++] = rt->params[i].name;
	known[nknown] = NULL;
	if (query_check_names(qs, known, bad, sizeof bad) < 0) {
		char safe[80];
		log_escape(bad, safe, sizeof safe);
		snprintf(msg, sizeof msg, "unknown query parameter \"%s\"", safe);
		return fail_status(req, 400, msg, NULL);
	}
	for (int i = 0; i < rt->nparams; i++) {
		const struct route_param *p = &rt->params[i];
		int found;

		switch (p->source) {
		case PARAM_TENANT:
			values[i] = claims->tenant;
			break;
		case PARAM_PATH_ID:
			values[i] = id;
			break;
		case PARAM_BODY:
			values[i] = body;
			break;
		case PARAM_PATTERN:
			values[i] = pattern;
			break;
		case PARAM_QUERY:
			found = query_get(qs, p->name, qbuf[i], QUERY_VALUE_MAX);
			if (found < 0) {
				snprintf(msg, sizeof msg, "query parameter %s is malformed or longer than %d bytes", p->name,
					 QUERY_VALUE_MAX - 1);
				return fail_status(req, 400, msg, NULL);
			}
			values[i] = found ? qbuf[i] : p->deflt;
			break;
		}
	}
	return 0;
}

/* POST /cache/invalidate: the pattern, confined to the caller's tenant. */
static int invalidation_pattern(struct request *req, json_object *obj, const char *tenant, char *out,
				size_t outlen)
{
	json_object *v;
	char err[200];

	if (!json_object_object_get_ex(obj, "pattern", &v) || !json_object_is_type(v, json_type_string))
		return fail_status(req, 400, "the body must be {\"pattern\": \"<namespace>:<kind>:<tenant>[:...]\"}", NULL);
	if (cache_scope_check(json_object_get_string(v), tenant, out, outlen, err, sizeof err) < 0)
		return fail(req, 403, "forbidden", err, NULL);
	return 0;
}

/*
 * Drain support.  civetweb refuses every write once mg_stop() has begun, so
 * in-flight requests must finish BEFORE it is called: main() raises
 * `draining`, waits for `inflight` to reach zero, and only then stops
 * civetweb.  Requests that arrive meanwhile (keep-alive clients, or new
 * connections civetweb still accepts) get a quick 503 with Connection:
 * close so their clients go elsewhere.
 */
int api_begin_request(struct mg_connection *conn)
{
	int status;

	atomic_fetch_add(&gw->inflight, 1);
	status = api_request(conn);
	atomic_fetch_sub(&gw->inflight, 1);
	return status;
}

static int api_request(struct mg_connection *conn)
{
	struct request req;
	struct route_match m;
	struct jwt_claims claims;
	const struct route *rt;
	const char *values[ROUTE_MAX_PARAMS] = {0};
	char qbuf[ROUTE_MAX_PARAMS][QUERY_VALUE_MAX], pattern[512];
	char *body = NULL;
	int status, wants_body = 0;

	request_start(&req, conn);
	if (atomic_load(&gw->draining)) {
		req.close_after = 1; /* its client should go elsewhere */
		return fail(&req, 503, "shutting_down", "the gateway is shutting down; retry", "Retry-After: 1\r\n");
	}
	router_match(req.ri->request_method, req.ri->local_uri, &m);
	if (m.status == MATCH_NOT_FOUND)
		return fail_status(&req, 404, "no such route", NULL);
	if (m.status == MATCH_BAD_METHOD) {
		char allow[96], msg[128];
		snprintf(allow, sizeof allow, "Allow: %s\r\n", m.allow);
		snprintf(msg, sizeof msg, "method not allowed here; allowed: %s", m.allow);
		return fail(&req, 405, "method_not_allowed", msg, allow);
	}
	rt = m.route;
	req.route = route_index(rt);
	if (rt->kind == KIND_READY) {
		static const char ok[] = "{\"status\":\"READY\"}", no[] = "{\"status\":\"NOT_READY\"}";
		int ready = pool_ready(gw->pool) && !atomic_load(&gw->draining);
		reply_send(conn, ready ? 200 : 503, req.headers, ready ? ok : no, ready ? sizeof ok - 1 : sizeof no - 1);
		return finish(&req, ready ? 200 : 503);
	}
	if ((status = authorize(&req, rt, &claims)) != 0)
		return status;
	for (int i = 0; i < rt->nparams; i++)
		wants_body |= rt->params[i].source == PARAM_BODY || rt->params[i].source == PARAM_PATTERN;
	if (wants_body) {
		json_object *obj = NULL;
		if ((status = read_body(&req, &body, rt->kind == KIND_INVALIDATE ? &obj : NULL)) != 0)
			return status;
		if (obj) {
			status = invalidation_pattern(&req, obj, claims.tenant, pattern, sizeof pattern);
			json_object_put(obj);
			if (status) {
				free(body);
				return status;
			}
		}
	}
	status = bind_params(&req, rt, &claims, m.id, body, pattern, values, qbuf);
	if (status == 0)
		status = execute(&req, rt, values);
	free(body);
	return status;
}

int metrics_begin_request(struct mg_connection *conn)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	struct pool_stats ps;
	struct pg_stats pg;
	size_t len;
	char *text;

	if (strcmp(ri->local_uri, "/metrics") != 0) {
		reply_error(conn, 404, "not_found", "only /metrics is served here", NULL);
		return 404;
	}
	if (strcmp(ri->request_method, "GET") != 0) {
		reply_error(conn, 405, "method_not_allowed", "use GET", "Allow: GET\r\n");
		return 405;
	}
	pool_snapshot(gw->pool, &ps);
	stats_poller_snapshot(&pg);
	text = metrics_render(&ps, &pg, &len);
	if (!text) {
		reply_error(conn, 500, "internal", "out of memory", NULL);
		return 500;
	}
	reply_send_as(conn, 200, "text/plain; version=0.0.4; charset=utf-8", "", text, len);
	free(text);
	return 200;
}

/*
 * civetweb's own errors (malformed request line, headers too large, ...):
 * answered in our JSON shape instead of civetweb's page, which echoes parts
 * of the garbled request back.
 */
int http_error_reply(struct mg_connection *conn, int status, const char *errmsg)
{
	(void)errmsg;
	mg_disable_connection_keep_alive(conn); /* as the reply says */
	reply_error(conn, status, http_status_code(status), http_status_text(status), "Connection: close\r\n");
	metrics_observe_request(-1, "OTHER", status, 0);
	log_access("-", "-", status, 0, NULL, "-");
	return 0;
}

int civetweb_log_message(const struct mg_connection *conn, const char *message)
{
	(void)conn;
	log_debug("civetweb: %s", message);
	return 1;
}
