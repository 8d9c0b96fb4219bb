/*
 * pipeline.c -- the request pipeline (see pipeline.h).
 *
 * Order of checks is deliberate: route first (404/405 cost nothing), then
 * the token (no parameter or body of an anonymous caller reaches the
 * database), then the body, then query parameters, and only then one
 * prepared statement.  The pooled connection is released before the reply
 * is written: the PGresult outlives it, and a slow client must not hold a
 * database connection.
 *
 * Where the statement runs is routing.c's business: writes on the
 * primary (their reply carries X-Commit-LSN), cached reads on a replica
 * when one may serve them (honouring the client's X-Min-LSN), the rest on
 * the primary.  A read that fails because its connection died (PostgreSQL
 * restarted) is retried; writes are not, since the first attempt may have
 * committed (route_is_retryable).
 */
#include "pipeline.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_jwt.h"
#include "events.h"
#include "export.h"
#include "log.h"
#include "lsn.h"
#include "query.h"
#include "request.h"
#include "request_body.h"
#include "result_reply.h"
#include "router.h"
#include "routing.h"
#include "upstream.h"

/* Longest query-string value or body field bound as a parameter. */
#define PARAM_VALUE_MAX 512

static struct gateway *gw;

/* What a request binds: one text value per statement parameter. */
struct bound {
	const char *values[ROUTE_MAX_PARAMS];
	char buf[ROUTE_MAX_PARAMS][PARAM_VALUE_MAX]; /* decoded query values, checked body fields */
};

void pipeline_init(struct gateway *g)
{
	gw = g;
	request_ids_init();
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
		return request_fail(req, 401, "unauthorized", jwt_status_message(st),
				    "WWW-Authenticate: Bearer realm=\"openrisk\"\r\n");
	if (claims->role < rt->min_role) {
		snprintf(msg, sizeof msg, "role %s may not %s %s (needs %s)", role_name(claims->role),
			 rt->method, rt->pattern, role_name(rt->min_role));
		return request_fail(req, 403, "forbidden", msg, NULL);
	}
	return 0;
}

/*
 * Bind the route's PARAM_BODY_FIELD parameters: a string field of the
 * parsed body (400 when missing or too long); what it may contain is the
 * SQL function's to judge.  0 or a replied status.
 */
static int bind_body_fields(struct request *req, const struct route *rt, json_object *obj, struct bound *b)
{
	for (int i = 0; i < rt->nparams; i++) {
		const struct route_param *p = &rt->params[i];
		json_object *v;
		char msg[200];

		if (p->source != PARAM_BODY_FIELD)
			continue;
		if (!json_object_object_get_ex(obj, p->name, &v) || !json_object_is_type(v, json_type_string)) {
			snprintf(msg, sizeof msg, "the body must be {\"%s\": %s}", p->name, p->shape);
			return request_fail_status(req, 400, msg, NULL);
		}
		if (json_object_get_string_len(v) >= (int)sizeof b->buf[i]) {
			snprintf(msg, sizeof msg, "%s is too long", p->name);
			return request_fail_status(req, 400, msg, NULL);
		}
		memcpy(b->buf[i], json_object_get_string(v), (size_t)json_object_get_string_len(v) + 1);
		b->values[i] = b->buf[i];
	}
	return 0;
}

/*
 * Read the body when the route takes one: the text for PARAM_BODY, the
 * checked fields for PARAM_BODY_FIELD.  0 or a replied status.
 */
static int read_body(struct request *req, const struct route *rt, char **body,
		     struct bound *b)
{
	json_object *obj = NULL;
	int want_fields = 0, status;

	if (!route_reads_body(rt))
		return 0;
	for (int i = 0; i < rt->nparams; i++)
		want_fields |= rt->params[i].source == PARAM_BODY_FIELD;
	status = request_read_json(req, gw->cfg->max_body_bytes, body, want_fields ? &obj : NULL);
	if (status == 0 && obj)
		status = bind_body_fields(req, rt, obj, b);
	json_object_put(obj);
	return status;
}

/* The canonical text form of a UUID (any case): what a path {id} must be. */
static int uuid_shaped(const char *s)
{
	for (int i = 0; i < 36; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return 0;
	}
	return s[36] == '\0';
}

/* An integer PostgreSQL's int4 takes, written plainly: at most 9 digits. */
static int integer_shaped(const char *s)
{
	size_t n;

	s += *s == '-';
	n = strspn(s, "0123456789");
	return n > 0 && n <= 9 && s[n] == '\0';
}

/* A value for a 400 message: escaped, cut short. */
static const char *shown(const char *v, char *out, size_t outlen)
{
	log_escape(v, out, outlen);
	if (strlen(v) > 40)
		strcpy(out + 37, "...");
	return out;
}

/*
 * Bind the remaining parameters.  Query values are decoded into b->buf;
 * the tenant comes from the verified token only.  Returns 0 or a replied
 * status.
 */
static int bind_params(struct request *req, const struct route *rt, const struct jwt_claims *claims,
		       const char *id, const char *body, struct bound *b)
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
		return request_fail_status(req, 400, msg, NULL);
	}
	for (int i = 0; i < rt->nparams; i++) {
		const struct route_param *p = &rt->params[i];
		int found;

		switch (p->source) {
		case PARAM_TENANT:
			b->values[i] = claims->tenant;
			break;
		case PARAM_PATH_ID:
			/* checked here, so the database's cast never words the 400 */
			if (!uuid_shaped(id)) {
				char safe[48];
				snprintf(msg, sizeof msg, "the id in the path must be a UUID, such as "
							  "0b5f0e4e-8f7e-4f0b-9c3e-1d2a3b4c5d6e (got \"%s\")",
					 shown(id, safe, sizeof safe));
				return request_fail_status(req, 400, msg, NULL);
			}
			b->values[i] = id;
			break;
		case PARAM_BODY:
			b->values[i] = body;
			break;
		case PARAM_BODY_FIELD:
		case PARAM_CURSOR:
			break; /* bound by bind_body_fields; by the export, batch by batch */
		case PARAM_HEADER:
			b->values[i] = mg_get_header(req->conn, p->name);
			if (b->values[i] && strlen(b->values[i]) >= PARAM_VALUE_MAX) {
				snprintf(msg, sizeof msg, "the %s header is longer than %d bytes", p->name, PARAM_VALUE_MAX - 1);
				return request_fail_status(req, 400, msg, NULL);
			}
			break;
		case PARAM_ACTOR: /* a token without sub: the write is the gateway's database role's */
			b->values[i] = claims->sub[0] ? claims->sub : NULL;
			break;
		case PARAM_REQUEST_ID:
			b->values[i] = req->id;
			break;
		case PARAM_QUERY:
			found = query_get(qs, p->name, b->buf[i], PARAM_VALUE_MAX);
			if (found < 0) {
				snprintf(msg, sizeof msg, "query parameter %s is malformed or longer than %d bytes", p->name,
					 PARAM_VALUE_MAX - 1);
				return request_fail_status(req, 400, msg, NULL);
			}
			if (found && p->integer && !integer_shaped(b->buf[i])) {
				char safe[48];
				snprintf(msg, sizeof msg, "%s must be an integer (got \"%s\")", p->name,
					 shown(b->buf[i], safe, sizeof safe));
				return request_fail_status(req, 400, msg, NULL);
			}
			b->values[i] = found ? b->buf[i] : p->deflt;
			break;
		}
	}
	return 0;
}

/* One prepared statement where routing.c puts it, then the reply. */
static int execute(struct request *req, const struct route *rt, const char *const *values)
{
	const char *min = mg_get_header(req->conn, "X-Min-LSN");
	uint64_t min_lsn = 0;
	struct routed res;
	int status;

	if (min && lsn_parse(min, &min_lsn) < 0)
		return request_fail_status(req, 400, "X-Min-LSN must be an LSN like 0/16B3748, as X-Commit-LSN gave it",
					   NULL);
	routing_run(gw, rt, values, min_lsn, &res);
	routing_headers(req, &res);
	if (res.st != POOL_OK)
		return reply_no_connection(req, rt, res.st);
	/* Server-Timing: the wait for a connection, and the statement's round
	 * trip (what the database cost this request) */
	request_add_header(req, "Server-Timing: pool;dur=%.3f, db;dur=%.3f", res.wait_ms, res.db_ms);
	if (PQresultStatus(res.r) == PGRES_TUPLES_OK)
		status = reply_result(req, rt, res.r);
	else if (rt->kind == KIND_HEALTH)
		status = reply_health(req, 0);
	else
		status = reply_sql_error(req, rt, res.r, res.broken);
	PQclear(res.r);
	return status;
}

/*
 * /ready: no statement, just whether the pool reached PostgreSQL -- or,
 * with replicas, whether any server is there to answer (reads keep being
 * served by replicas while the primary is down).
 */
static int reply_ready(struct request *req)
{
	static const char ok[] = "{\"status\":\"READY\"}", no[] = "{\"status\":\"NOT_READY\"}";

	if ((pool_ready(gw->pool) || (gw->ups && upstreams_ready(gw->ups))) && !atomic_load(&gw->draining))
		return request_reply(req, 200, req->headers, ok, sizeof ok - 1);
	return request_reply(req, 503, req->headers, no, sizeof no - 1);
}

/*
 * OPTIONS on a known path: a CORS preflight (Origin and
 * Access-Control-Request-Method) is 204 with the Allow-* headers when the
 * origin and method are allowed, 403 origin_not_allowed otherwise; a plain
 * OPTIONS is 204 with Allow.  No token: browsers send preflights without
 * credentials.  allow: the path's methods ("GET, POST").
 */
static int reply_options(struct request *req, const char *allow)
{
	const char *origin = mg_get_header(req->conn, "Origin");
	const char *method = mg_get_header(req->conn, "Access-Control-Request-Method");
	char lines[1024];

	if (origin && method) {
		if (!cors_preflight(&gw->cfg->cors, origin, method, allow, lines, sizeof lines)) {
			request_reset_headers(req); /* a refused preflight allows nothing */
			if (gw->cfg->cors.enabled)
				request_add_header(req, "Vary: Origin");
			return request_fail(req, 403, "origin_not_allowed",
					    "this origin may not call the API from a browser, or not with this method", NULL);
		}
		request_reset_headers(req); /* the preflight's own CORS lines replace the reply's */
		request_add_header(req, "%.*s", (int)strlen(lines) - 2, lines);
		return request_reply(req, 204, req->headers, NULL, 0);
	}
	request_add_header(req, "Allow: %s, OPTIONS", allow);
	return request_reply(req, 204, req->headers, NULL, 0);
}

/* The pipeline itself; every step either passes or has already replied. */
static int api_request(struct mg_connection *conn)
{
	struct request req;
	struct route_match m;
	struct jwt_claims claims;
	const struct route *rt;
	struct bound b; /* values zeroed below; buf is written before it is read */
	char *body = NULL;
	int status;

	memset(b.values, 0, sizeof b.values);
	request_start(&req, conn, gw->cfg->max_body_bytes, &gw->cfg->cors);
	if (atomic_load(&gw->draining)) {
		req.close_after = 1; /* its client should go elsewhere */
		return request_fail(&req, 503, "shutting_down", "the gateway is shutting down; retry",
				    "Retry-After: 1\r\n");
	}
	router_match(req.ri->request_method, req.ri->local_uri, &m);
	if (m.status == MATCH_NOT_FOUND)
		return request_fail_status(&req, 404, "no such route", NULL);
	if (m.status == MATCH_BAD_METHOD && strcmp(req.ri->request_method, "OPTIONS") == 0)
		return reply_options(&req, m.allow);
	if (m.status == MATCH_BAD_METHOD) {
		char allow[96], msg[128];
		snprintf(allow, sizeof allow, "Allow: %s\r\n", m.allow);
		snprintf(msg, sizeof msg, "method not allowed here; allowed: %s", m.allow);
		return request_fail(&req, 405, "method_not_allowed", msg, allow);
	}
	rt = m.route;
	req.route = route_index(rt);
	if (rt->kind == KIND_READY)
		return reply_ready(&req);
	if ((status = authorize(&req, rt, &claims)) != 0)
		return status;
	if (rt->kind == KIND_EVENTS)
		return events_serve(&req, &claims);
	status = read_body(&req, rt, &body, &b);
	if (status == 0)
		status = bind_params(&req, rt, &claims, m.id, body, &b);
	if (status == 0)
		status = rt->kind == KIND_EXPORT ? export_csv(gw, &req, rt, b.values) : execute(&req, rt, b.values);
	free(body);
	return status;
}

/*
 * Drain support.  civetweb refuses every write once mg_stop() has begun, so
 * in-flight requests must finish BEFORE it is called: main() raises
 * `draining`, waits for `inflight` to reach zero, and only then stops
 * civetweb.  Requests that arrive meanwhile (keep-alive clients, or new
 * connections civetweb still accepts) get a quick 503 with Connection:
 * close so their clients go elsewhere.
 */
int pipeline_begin_request(struct mg_connection *conn)
{
	int status;

	atomic_fetch_add(&gw->inflight, 1);
	status = api_request(conn);
	atomic_fetch_sub(&gw->inflight, 1);
	return status;
}
