/*
 * server_routing.c -- routing.c and the extension's two LSN functions
 * against the throwaway database: what can be proven without a standby
 * (test/suites/75-replica-gateway.sh has real ones).
 *
 *   - last_commit_lsn(): NULL on a fresh session, the end of the commit
 *     record after a write -- and, read inside the writing transaction,
 *     still the previous commit's (why the gateway reads it after COMMIT);
 *   - replay_wait() on a server not in recovery answers NULL at once;
 *   - writes through the pipeline carry X-Commit-LSN between the primary's
 *     insert positions before and after; reads carry X-Upstream;
 *   - a "replica" that is not in recovery (here: the primary itself) is
 *     never read from: its health checks fail and say why;
 *   - a malformed X-Min-LSN is a 400 that says what to send;
 *   - pool_exec_pair() runs the first statement alone when the second
 *     cannot be prepared, leaving the connection usable.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth_jwt.h"
#include "fake_civetweb.h"
#include "gateway.h"
#include "lsn.h"
#include "pipeline.h"
#include "server.h"
#include "statements.h"
#include "timeutil.h"
#include "upstream.h"

static struct gw_config cfg;
static struct gateway gw;
static struct mg_connection conn;
static char got[512];

/* One request as role of the demo tenant, with an optional extra header; the status. */
static int exchange(const char *method, const char *target, enum role role, const char *body, const char *name,
		    const char *value)
{
	static char auth[1200];
	char token[1024];

	fake_request(&conn, method, target, body);
	jwt_mint(cfg.jwt_secret, strlen(cfg.jwt_secret), "routing-test", role, TEST_TENANT,
		 (long long)time(NULL) + 600, token, sizeof token);
	snprintf(auth, sizeof auth, "Bearer %s", token);
	fake_header(&conn, "Authorization", auth);
	if (body)
		fake_header(&conn, "Content-Type", "application/json");
	if (name)
		fake_header(&conn, name, value);
	CHECK_INT(pipeline_begin_request(&conn), fake_status(&conn));
	return fake_status(&conn);
}

static const char *reply_header(const char *name)
{
	const char *v = fake_reply_header(&conn, name, got, sizeof got);
	return v ? v : "";
}

static uint64_t lsn_of(const char *sql)
{
	char text[64];
	uint64_t v = 0;

	return lsn_parse(db_value(sql, text, sizeof text), &v) == 0 ? v : 0;
}

static void lsn_functions(void)
{
	PGconn *c = PQconnectdb("dbname=" TEST_DB);
	uint64_t before, inside, after;
	char text[64];

	CHECK_STR(db_value("SELECT coalesce(openrisk.replay_wait('0/1', 5000)::text, 'null')", text, sizeof text),
		  "null"); /* not in recovery: no answer, and no 5 s wait */
	if (PQstatus(c) != CONNECTION_OK)
		return;
	PQclear(PQexec(c, "CREATE TABLE lsn_probe (x int)"));
	PQclear(PQexec(c, "SELECT 1"));
	before = lsn_of("SELECT pg_current_wal_insert_lsn()");
	PQclear(PQexec(c, "INSERT INTO lsn_probe VALUES (1)"));
	after = lsn_of("SELECT pg_current_wal_insert_lsn()");
	{
		PGresult *r = PQexec(c, "SELECT openrisk.last_commit_lsn()::text");
		uint64_t v = 0;
		CHECK(PQresultStatus(r) == PGRES_TUPLES_OK && lsn_parse(PQgetvalue(r, 0, 0), &v) == 0);
		CHECK(v > before && v <= after); /* the INSERT's commit record ends in between */
		PQclear(r);
		/* inside the next writing transaction it is still that commit's: before this one's record */
		PQclear(PQexec(c, "BEGIN"));
		PQclear(PQexec(c, "INSERT INTO lsn_probe VALUES (2)"));
		r = PQexec(c, "SELECT openrisk.last_commit_lsn()::text");
		inside = 0;
		CHECK(PQresultStatus(r) == PGRES_TUPLES_OK && lsn_parse(PQgetvalue(r, 0, 0), &inside) == 0);
		CHECK(inside == v);
		PQclear(r);
		PQclear(PQexec(c, "COMMIT"));
		r = PQexec(c, "SELECT openrisk.last_commit_lsn()::text");
		CHECK(PQresultStatus(r) == PGRES_TUPLES_OK && lsn_parse(PQgetvalue(r, 0, 0), &inside) == 0 && inside > v);
		PQclear(r);
	}
	PQfinish(c);
	c = PQconnectdb("dbname=" TEST_DB);
	{
		PGresult *r = PQexec(c, "SELECT openrisk.last_commit_lsn() IS NULL");
		CHECK(PQresultStatus(r) == PGRES_TUPLES_OK && PQgetvalue(r, 0, 0)[0] == 't'); /* a fresh session */
		PQclear(r);
	}
	PQfinish(c);
	db_exec("DROP TABLE lsn_probe");
}

static void writes_and_reads(void)
{
	char rid[64] = "", path[128], text[LSN_TEXT_MAX];
	uint64_t before, after, lsn = 0;
	json_object *o, *items, *v;

	CHECK_INT(exchange("GET", "/api/v1/risks?page_size=1", ROLE_VIEWER, NULL, NULL, NULL), 200);
	CHECK_STR(reply_header("X-Upstream"), "primary");
	CHECK_STR(reply_header("X-Commit-LSN"), ""); /* reads carry none */
	o = json_tokener_parse(fake_body(&conn));
	if (o && json_object_object_get_ex(o, "items", &items) && json_object_array_length(items) > 0 &&
	    json_object_object_get_ex(json_object_array_get_idx(items, 0), "id", &v))
		snprintf(rid, sizeof rid, "%s", json_object_get_string(v));
	json_object_put(o);
	snprintf(path, sizeof path, "/api/v1/risks/%s", rid);

	before = lsn_of("SELECT pg_current_wal_insert_lsn()");
	CHECK_INT(exchange("PATCH", path, ROLE_ANALYST, "{\"title\":\"routed\"}", NULL, NULL), 200);
	after = lsn_of("SELECT pg_current_wal_insert_lsn()");
	CHECK_STR(reply_header("X-Upstream"), "primary");
	CHECK(lsn_parse(reply_header("X-Commit-LSN"), &lsn) == 0 && lsn > before && lsn <= after);

	/* X-Min-LSN: honoured when well-formed, a clear 400 when not */
	snprintf(text, sizeof text, "%s", reply_header("X-Commit-LSN"));
	CHECK_INT(exchange("GET", path, ROLE_VIEWER, NULL, "X-Min-LSN", text), 200);
	CHECK(strstr(fake_body(&conn), "\"routed\"") != NULL);
	CHECK_INT(exchange("GET", path, ROLE_VIEWER, NULL, "X-Min-LSN", "0x16/B3"), 400);
	CHECK(strstr(fake_body(&conn), "\"bad_request\"") && strstr(fake_body(&conn), "X-Min-LSN must be an LSN"));
	CHECK_INT(exchange("POST", "/api/v1/cache/invalidate", ROLE_ADMIN,
			   "{\"pattern\":\"risk:matrix:" TEST_TENANT ":*\"}", NULL, NULL),
		  200);
	CHECK(lsn_parse(reply_header("X-Commit-LSN"), &lsn) == 0);
	CHECK_INT(exchange("DELETE", path, ROLE_ADMIN, NULL, NULL, NULL), 204);
	CHECK(lsn_parse(reply_header("X-Commit-LSN"), &lsn) == 0 && lsn > after);
}

/* The primary listed as a replica: checked, refused ("not in recovery"), never read from. */
static void not_a_replica(void)
{
	struct upstream_figures f;
	int64_t t0 = mono_ms();

	while (ms_since(t0) < 3000) {
		upstreams_figures(gw.ups, &f);
		if (f.n == 2 && f.s[1].failures > 0)
			break;
		usleep(20 * 1000);
	}
	CHECK_INT(f.n, 2);
	CHECK_STR(f.s[1].name, "replica-1");
	CHECK(f.s[1].failures > 0 && !f.s[1].up && !f.s[1].routable);
	CHECK(f.s[0].up); /* the primary's health thread runs too */
	for (int i = 0; i < 5; i++) {
		CHECK_INT(exchange("GET", "/api/v1/stats", ROLE_VIEWER, NULL, NULL, NULL), 200);
		CHECK_STR(reply_header("X-Upstream"), "primary");
	}
	CHECK_INT(exchange("GET", "/ready", ROLE_NONE, NULL, NULL, NULL), 200);
}

static void pair_without_second(void)
{
	struct pool_conn *c;
	PGresult *r1, *r2;

	if (pool_acquire(gw.pool, 1000, &c) != POOL_OK) {
		CHECK(0);
		return;
	}
	fprintf(stderr, "server_routing: (an ERROR line about statement %d is expected next)\n", STMT_COUNT);
	pool_exec_pair(gw.pool, c, STMT_HEALTH, 0, NULL, STMT_COUNT, 0, NULL, &r1, &r2);
	CHECK(PQresultStatus(r1) == PGRES_TUPLES_OK && PQresultStatus(r2) == PGRES_FATAL_ERROR);
	CHECK_INT(pool_conn_broken(c), 0);
	PQclear(r1);
	PQclear(r2);
	r1 = pool_exec(gw.pool, c, STMT_HEALTH, 0, NULL);
	CHECK(PQresultStatus(r1) == PGRES_TUPLES_OK);
	PQclear(r1);
	pool_release(gw.pool, c);
}

void server_routing(void)
{
	char err[512];

	server_config(&cfg);
	snprintf(cfg.replica_dsns, sizeof cfg.replica_dsns, "dbname=%s", TEST_DB);
	cfg.health_interval_ms = 50;
	CHECK_INT(replica_list_parse(cfg.replica_dsns, &cfg.replicas, err, sizeof err), 0);
	gw.cfg = &cfg;
	gw.pool = pool_create(&cfg, statements, STMT_COUNT);
	gw.ups = upstreams_create(&cfg, gw.pool, err, sizeof err);
	CHECK(gw.ups != NULL);
	if (!gw.ups)
		return;
	CHECK_INT(upstreams_start(gw.ups), 0);
	pipeline_init(&gw);
	lsn_functions();
	writes_and_reads();
	not_a_replica();
	pair_without_second();
	upstreams_stop(gw.ups, 1000);
	pool_close(gw.pool, 1000);
}
