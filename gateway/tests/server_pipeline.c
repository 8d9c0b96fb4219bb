/*
 * server_pipeline.c -- the request pipeline end to end, minus the socket:
 * a fake civetweb connection (fake_civetweb.h) in front, the real pool
 * and the extension's functions in a throwaway database behind.  Every
 * exchange checks what a client would see -- status, headers, body --
 * and that the reply went out in exactly one write.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth_jwt.h"
#include "fake_civetweb.h"
#include "gateway.h"
#include "listener.h"
#include "metrics_listener.h"
#include "pipeline.h"
#include "server.h"
#include "statements.h"

static struct gw_config cfg;
static struct gateway gw;
static struct mg_connection conn; /* the current exchange */
static char auth[1200];
static char hdr[512]; /* the last header read with header() */

/* A token for role in tenant, signed with secret. */
static const char *token(enum role role, const char *tenant, const char *secret)
{
	static char t[1024];

	jwt_mint(secret, strlen(secret), "server-test", role, tenant, (long long)time(NULL) + 600, t, sizeof t);
	return t;
}

/*
 * Begin a request as role (ROLE_NONE: no Authorization) of the demo
 * tenant; a body is sent as application/json.  Add headers, then run().
 */
static void request(const char *method, const char *target, enum role role, const char *body)
{
	fake_request(&conn, method, target, body);
	if (role != ROLE_NONE) {
		snprintf(auth, sizeof auth, "Bearer %s", token(role, TEST_TENANT, cfg.jwt_secret));
		fake_header(&conn, "Authorization", auth);
	}
	if (body)
		fake_header(&conn, "Content-Type", "application/json");
}

/* Run the pipeline on the current request; the status the client got. */
static int run(void)
{
	int rc = pipeline_begin_request(&conn);

	CHECK_INT(conn.writes, 1); /* one write per reply, whatever the reply */
	CHECK_INT(rc, fake_status(&conn));
	return fake_status(&conn);
}

static int call(const char *method, const char *target, enum role role, const char *body)
{
	request(method, target, role, body);
	return run();
}

static const char *header(const char *name)
{
	return fake_reply_header(&conn, name, hdr, sizeof hdr);
}

/* The reply body's error.code / error.message (a static copy; "" when absent). */
static const char *error_field(const char *field)
{
	static char out[512];
	json_object *o = json_tokener_parse(fake_body(&conn)), *e, *v;

	out[0] = '\0';
	if (o && json_object_object_get_ex(o, "error", &e) && json_object_object_get_ex(e, field, &v))
		snprintf(out, sizeof out, "%s", json_object_get_string(v));
	json_object_put(o);
	return out;
}

static void health_ready_and_draining(void)
{
	char first_id[32];

	CHECK_INT(call("GET", "/health", ROLE_NONE, NULL), 200);
	CHECK_STR(fake_body(&conn), "{\"status\":\"UP\",\"db\":\"CONNECTED\"}");
	CHECK_STR(header("Content-Type"), "application/json");
	CHECK(header("X-Request-Id") && strlen(hdr) == 16);
	snprintf(first_id, sizeof first_id, "%s", hdr);
	CHECK_INT(call("GET", "/ready", ROLE_NONE, NULL), 200);
	CHECK_STR(fake_body(&conn), "{\"status\":\"READY\"}");
	CHECK(header("X-Request-Id") && strcmp(hdr, first_id) != 0); /* one id per request */

	atomic_store(&gw.draining, 1);
	CHECK_INT(call("GET", "/api/v1/stats", ROLE_VIEWER, NULL), 503);
	CHECK_STR(error_field("code"), "shutting_down");
	CHECK_STR(header("Connection"), "close");
	CHECK_STR(header("Retry-After"), "1");
	CHECK(conn.keep_alive_disabled);
	CHECK_INT(call("GET", "/ready", ROLE_NONE, NULL), 503);
	atomic_store(&gw.draining, 0);
	CHECK_INT(atomic_load(&gw.inflight), 0);
}

static void routing_and_auth(void)
{
	CHECK_INT(call("GET", "/api/v1/nope", ROLE_VIEWER, NULL), 404);
	CHECK_STR(error_field("code"), "not_found");
	CHECK_INT(call("PUT", "/api/v1/risks", ROLE_VIEWER, NULL), 405);
	CHECK_STR(header("Allow"), "GET, POST");
	CHECK_STR(error_field("code"), "method_not_allowed");

	CHECK_INT(call("GET", "/api/v1/stats", ROLE_NONE, NULL), 401);
	CHECK_STR(header("WWW-Authenticate"), "Bearer realm=\"openrisk\"");
	request("GET", "/api/v1/stats", ROLE_NONE, NULL);
	snprintf(auth, sizeof auth, "Bearer %s", token(ROLE_ADMIN, TEST_TENANT, "another-secret-0123456789"));
	fake_header(&conn, "Authorization", auth);
	CHECK_INT(run(), 401);
	CHECK_STR(error_field("code"), "unauthorized");

	CHECK_INT(call("DELETE", "/api/v1/risks/0b5f0e4e-8f7e-4f0b-9c3e-1d2a3b4c5d6e", ROLE_VIEWER, NULL), 403);
	CHECK_STR(error_field("message"), "role viewer may not DELETE /api/v1/risks/{id} (needs admin)");
}

static void cached_reads_and_conditional_gets(void)
{
	char etag[64], body[4096];

	CHECK_INT(call("GET", "/api/v1/stats", ROLE_VIEWER, NULL), 200);
	CHECK_INT(call("GET", "/api/v1/stats", ROLE_VIEWER, NULL), 200);
	CHECK_STR(header("X-Cache"), "HIT");
	CHECK_STR(header("Cache-Control"), "private, no-cache");
	CHECK(header("ETag") && strlen(hdr) == 18 && hdr[0] == '"' && hdr[17] == '"');
	snprintf(etag, sizeof etag, "%s", hdr);
	snprintf(body, sizeof body, "%s", fake_body(&conn));
	CHECK(body[0] == '{');

	request("GET", "/api/v1/stats", ROLE_VIEWER, NULL);
	fake_header(&conn, "If-None-Match", etag);
	CHECK_INT(run(), 304);
	CHECK_STR(fake_body(&conn), "");
	CHECK(header("Content-Type") == NULL);
	CHECK_STR(header("ETag"), etag);

	request("GET", "/api/v1/stats", ROLE_VIEWER, NULL);
	fake_header(&conn, "If-None-Match", "\"0000000000000000\"");
	CHECK_INT(run(), 200);
	CHECK_STR(fake_body(&conn), body);
	request("GET", "/api/v1/stats", ROLE_VIEWER, NULL);
	fake_header(&conn, "If-None-Match", "*");
	CHECK_INT(run(), 304);
}

static void query_parameters(void)
{
	char dflt[16384];

	CHECK_INT(call("GET", "/api/v1/risks?bogus=1", ROLE_VIEWER, NULL), 400);
	CHECK_STR(error_field("message"), "unknown query parameter \"bogus\"");
	CHECK_INT(call("GET", "/api/v1/risks?tenant_id=" OTHER_TENANT, ROLE_VIEWER, NULL), 400);
	CHECK_INT(call("GET", "/api/v1/risks?page=%zz", ROLE_VIEWER, NULL), 400);
	CHECK_STR(error_field("message"), "query parameter page is malformed or longer than 511 bytes");
	CHECK_INT(call("GET", "/api/v1/risks?page=0", ROLE_VIEWER, NULL), 400);
	CHECK_STR(error_field("code"), "bad_request");
	CHECK_STR(error_field("message"), "page must be 1 or more (got 0)"); /* the function's own sentence */

	/* absent parameters bind the same values as the explicit defaults */
	CHECK_INT(call("GET", "/api/v1/risks", ROLE_VIEWER, NULL), 200);
	snprintf(dflt, sizeof dflt, "%s", fake_body(&conn));
	CHECK_INT(call("GET", "/api/v1/risks?page=1&page_size=20&sort_by=score&sort_dir=desc", ROLE_VIEWER, NULL), 200);
	CHECK_STR(fake_body(&conn), dflt);
	CHECK_INT(call("GET", "/api/v1/risks?page_size=5", ROLE_VIEWER, NULL), 200);
	CHECK(strcmp(fake_body(&conn), dflt) != 0);
}

static void not_found_and_bad_ids(void)
{
	CHECK_INT(call("GET", "/api/v1/risks/0b5f0e4e-8f7e-4f0b-9c3e-1d2a3b4c5d6e", ROLE_VIEWER, NULL), 404);
	CHECK_STR(error_field("message"), "risk not found");
	CHECK_INT(call("GET", "/api/v1/risks/not-a-uuid", ROLE_VIEWER, NULL), 400);
	CHECK_STR(error_field("code"), "bad_request");
}

static void write_cycle(void)
{
	char location[512], path[256], id[64] = "";
	json_object *o, *v;

	CHECK_INT(call("POST", "/api/v1/risks", ROLE_ANALYST, "{\"title\":\"server test risk\",\"impact\":3,\"probability\":2}"),
		  201);
	o = json_tokener_parse(fake_body(&conn));
	if (o && json_object_object_get_ex(o, "id", &v))
		snprintf(id, sizeof id, "%s", json_object_get_string(v));
	json_object_put(o);
	snprintf(path, sizeof path, "/api/v1/risks/%s", id);
	CHECK(id[0] && header("Location"));
	CHECK_STR(hdr, path); /* the route's template, filled with the new id */
	snprintf(location, sizeof location, "%s", hdr);

	CHECK_INT(call("GET", location, ROLE_VIEWER, NULL), 200);
	CHECK(strstr(fake_body(&conn), "server test risk") != NULL);
	CHECK_INT(call("PATCH", location, ROLE_ANALYST, "{\"title\":\"renamed by the server test\"}"), 200);
	CHECK(strstr(fake_body(&conn), "renamed by the server test") != NULL);
	CHECK_INT(call("DELETE", location, ROLE_ADMIN, NULL), 204);
	CHECK_STR(fake_body(&conn), "");
	CHECK(header("Content-Type") == NULL);
	CHECK_INT(call("DELETE", location, ROLE_ADMIN, NULL), 404);
	CHECK_STR(error_field("message"), "risk not found");
	CHECK_INT(call("PATCH", location, ROLE_ANALYST, "{\"title\":\"x\"}"), 404);

	CHECK_INT(call("POST", "/api/v1/risks", ROLE_ANALYST, "{\"impact\":3}"), 400);
	CHECK_STR(error_field("code"), "bad_request"); /* one code for every invalid request */
	CHECK_STR(error_field("message"), "title is required");
	/* PostgreSQL's own words never reach the client: a jsonb \u0000 */
	CHECK_INT(call("POST", "/api/v1/risks", ROLE_ANALYST, "{\"title\":\"a\\u0000b\",\"impact\":1,\"probability\":1}"), 400);
	CHECK_STR(error_field("code"), "bad_request");
	CHECK(strstr(error_field("message"), "Unicode escape") == NULL);
	CHECK_INT(call("GET", "/api/v1/risks/nope", ROLE_VIEWER, NULL), 400);
	CHECK(strstr(error_field("message"), "invalid input syntax") == NULL);
	CHECK(strstr(error_field("message"), "must be a UUID") != NULL);
	CHECK_INT(call("GET", "/api/v1/risks?page=abc", ROLE_VIEWER, NULL), 400);
	CHECK_STR(error_field("message"), "page must be an integer (got \"abc\")");
}

static void request_bodies(void)
{
	static char big[6000];

	request("POST", "/api/v1/risks", ROLE_ANALYST, NULL);
	conn.body = "{}", conn.body_len = 2, conn.ri.content_length = 2; /* a body without Content-Type */
	CHECK_INT(run(), 415);
	CHECK(header("Connection") == NULL); /* a small declared body: civetweb discards it, keeps the connection */
	CHECK(!conn.keep_alive_disabled);
	CHECK_INT(call("POST", "/api/v1/risks", ROLE_ANALYST, "{"), 400);
	CHECK(strncmp(error_field("message"), "the request body is not valid JSON: ", 36) == 0);
	CHECK_INT(call("POST", "/api/v1/risks", ROLE_ANALYST, "{} x"), 400);
	CHECK_STR(error_field("message"), "the request body is not valid JSON: there is more after the value (byte 4)");
	CHECK_INT(call("POST", "/api/v1/risks", ROLE_ANALYST, "{\"a\":"), 400);
	CHECK_STR(error_field("message"), "the request body is not valid JSON: it ends before the value does");
	CHECK_INT(call("POST", "/api/v1/risks", ROLE_ANALYST, "[1]"), 400);
	CHECK_STR(error_field("message"), "the request body must be a JSON object");
	request("POST", "/api/v1/risks", ROLE_ANALYST, NULL);
	fake_header(&conn, "Content-Type", "application/json; charset=utf-8");
	CHECK_INT(run(), 400);
	CHECK_STR(error_field("message"), "a JSON request body is required");

	/* over --max-body: 413, and the unread rest ends the connection */
	memset(big, ' ', sizeof big - 1);
	big[0] = '{', big[sizeof big - 2] = '}';
	CHECK_INT(call("POST", "/api/v1/risks", ROLE_ANALYST, big), 413);
	CHECK_STR(header("Connection"), "close");
	CHECK(conn.keep_alive_disabled);
	request("POST", "/api/v1/risks", ROLE_ANALYST, big);
	conn.ri.content_length = -1; /* chunked: the size shows only while reading */
	fake_header(&conn, "Transfer-Encoding", "chunked");
	CHECK_INT(run(), 413);
	CHECK_STR(error_field("message"), "the request body is too large");
	CHECK_STR(header("Connection"), "close");

	/* refused before the body was read: Expect: 100-continue means the client still holds it */
	request("POST", "/api/v1/risks", ROLE_VIEWER, "{\"title\":\"x\"}");
	fake_header(&conn, "Expect", "100-continue");
	CHECK_INT(run(), 403);
	CHECK_STR(header("Connection"), "close");
	CHECK(conn.keep_alive_disabled);
}

static void cache_invalidation(void)
{
	char body[512], upper[] = TEST_TENANT;

	CHECK_INT(call("GET", "/api/v1/risks", ROLE_VIEWER, NULL), 200);
	CHECK_INT(call("GET", "/api/v1/risks", ROLE_VIEWER, NULL), 200);
	CHECK_STR(header("X-Cache"), "HIT");

	CHECK_INT(call("POST", "/api/v1/cache/invalidate", ROLE_ADMIN, "{\"pattern\":\"risk:list:" OTHER_TENANT ":*\"}"), 403);
	CHECK_STR(error_field("message"), "pattern may only name your own tenant's keys");
	CHECK_INT(call("POST", "/api/v1/cache/invalidate", ROLE_ADMIN, "{}"), 400);
	CHECK_STR(error_field("message"), "the body must be {\"pattern\": \"<namespace>:<kind>:<tenant>[:...]\"}");
	CHECK_INT(call("POST", "/api/v1/cache/invalidate", ROLE_ADMIN, "{\"pattern\":5}"), 400);
	CHECK_INT(call("POST", "/api/v1/cache/invalidate", ROLE_ANALYST, "{\"pattern\":\"risk:list:" TEST_TENANT ":*\"}"),
		  403);

	for (char *s = upper; *s; s++)
		*s = (char)(*s >= 'a' && *s <= 'f' ? *s - 32 : *s);
	snprintf(body, sizeof body, "{\"pattern\":\"risk:list:%s:*\"}", upper);
	CHECK_INT(call("POST", "/api/v1/cache/invalidate", ROLE_ADMIN, body), 200);
	/* the tenant segment normalized to the token's lower-case form */
	CHECK(strstr(fake_body(&conn), "\"pattern\" : \"risk:list:" TEST_TENANT ":*\"") != NULL);
	CHECK(strstr(fake_body(&conn), "\"invalidated\"") != NULL);
	CHECK_INT(call("GET", "/api/v1/risks", ROLE_VIEWER, NULL), 200);
	CHECK_STR(header("X-Cache"), "MISS");
}

static void pool_exhausted(void)
{
	struct pool_conn *a, *b;

	CHECK_INT(pool_acquire(gw.pool, 1000, &a), POOL_OK);
	CHECK_INT(pool_acquire(gw.pool, 1000, &b), POOL_OK);
	CHECK_INT(call("GET", "/api/v1/stats", ROLE_VIEWER, NULL), 503);
	CHECK_STR(error_field("code"), "pool_timeout");
	CHECK_STR(header("Retry-After"), "1");
	CHECK_INT(call("GET", "/health", ROLE_NONE, NULL), 503);
	CHECK_STR(fake_body(&conn), "{\"status\":\"DOWN\",\"db\":\"DISCONNECTED\"}");
	pool_release(gw.pool, a);
	pool_release(gw.pool, b);
	CHECK_INT(call("GET", "/health", ROLE_NONE, NULL), 200);
}

/* Killed backends: a read is retried on a fresh connection, a write is not. */
static void reconnect_and_retry(void)
{
	struct pool_stats before, after;

	CHECK_INT(call("GET", "/api/v1/stats", ROLE_VIEWER, NULL), 200);
	pool_snapshot(gw.pool, &before);
	kill_backends("openrisk-gateway");
	CHECK_INT(call("GET", "/api/v1/stats", ROLE_VIEWER, NULL), 200);
	pool_snapshot(gw.pool, &after);
	CHECK(after.closed_broken > before.closed_broken);

	kill_backends("openrisk-gateway");
	CHECK_INT(call("POST", "/api/v1/risks", ROLE_ANALYST, "{\"title\":\"never twice\"}"), 503);
	CHECK_STR(error_field("code"), "database_unavailable");
	CHECK_STR(header("Retry-After"), "1");
	CHECK_INT(call("GET", "/health", ROLE_NONE, NULL), 200); /* and service goes on */
}

/* An unexpected SQLSTATE is a 500 that quotes the request id, never the SQL error. */
static void internal_error_quotes_request_id(void)
{
	char msg[128];

	db_exec("ALTER FUNCTION openrisk.dashboard_matrix_meta(uuid) RENAME TO dashboard_matrix_meta_away");
	kill_backends("openrisk-gateway"); /* so the statement is prepared again */
	fprintf(stderr, "server_pipeline: (an ERROR line about dashboard_matrix_meta is expected next)\n");
	CHECK_INT(call("GET", "/api/v1/stats/risk-matrix", ROLE_VIEWER, NULL), 500);
	CHECK_STR(error_field("code"), "internal");
	snprintf(msg, sizeof msg, "internal error; quote request id %s", header("X-Request-Id") ? hdr : "?");
	CHECK_STR(error_field("message"), msg);
	db_exec("ALTER FUNCTION openrisk.dashboard_matrix_meta_away(uuid) RENAME TO dashboard_matrix_meta");
	CHECK_INT(call("GET", "/api/v1/stats/risk-matrix", ROLE_VIEWER, NULL), 200);
}

static void metrics_and_civetweb_errors(void)
{
	fake_request(&conn, "GET", "/metrics", NULL);
	CHECK_INT(metrics_begin_request(&conn), 200);
	CHECK_INT(fake_status(&conn), 200);
	CHECK_STR(header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
	CHECK(strstr(fake_body(&conn), "openrisk_http_requests_total{route=\"/stats\",method=\"GET\",code=\"200\"} ") != NULL);
	CHECK(strstr(fake_body(&conn), "openrisk_pool_connections_max 2\n") != NULL);
	fake_request(&conn, "GET", "/api/v1/stats", NULL);
	CHECK_INT(metrics_begin_request(&conn), 404);
	fake_request(&conn, "POST", "/metrics", NULL);
	CHECK_INT(metrics_begin_request(&conn), 405);
	CHECK_STR(header("Allow"), "GET");

	fake_request(&conn, "GET", "/", NULL);
	listener_http_error(&conn, 400, "garbled request line");
	CHECK_INT(fake_status(&conn), 400);
	CHECK_INT(conn.writes, 1);
	CHECK_STR(fake_body(&conn), "{\"error\":{\"code\":\"bad_request\",\"message\":\"Bad Request\"}}");
	CHECK_STR(header("Connection"), "close");
	CHECK(conn.keep_alive_disabled);
}

void server_pipeline(void)
{
	server_config(&cfg);
	gw.cfg = &cfg;
	gw.pool = pool_create(&cfg, statements, STMT_COUNT);
	pipeline_init(&gw);
	metrics_listener_init(&gw);

	health_ready_and_draining();
	routing_and_auth();
	cached_reads_and_conditional_gets();
	query_parameters();
	not_found_and_bad_ids();
	write_cycle();
	request_bodies();
	cache_invalidation();
	pool_exhausted();
	reconnect_and_retry();
	internal_error_quotes_request_id();
	metrics_and_civetweb_errors();
	pool_close(gw.pool, 1000);
}
