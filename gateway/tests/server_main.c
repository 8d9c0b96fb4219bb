/*
 * server_main.c -- runs the server tests against a throwaway database;
 * prints "N passed, N failed" like every other suite, exit 1 on failure.
 */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "timeutil.h"

int unit_passed, unit_failed;

static PGconn *db;

PGconn *db_conn(void)
{
	return db;
}

int db_exec(const char *sql)
{
	PGresult *r = PQexec(db, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok)
		fprintf(stderr, "db_exec: %s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	return ok ? 0 : -1;
}

const char *db_value(const char *sql, char *out, size_t outlen)
{
	PGresult *r = PQexec(db, sql);

	snprintf(out, outlen, "%s", PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return out;
}

void server_config(struct gw_config *cfg)
{
	config_defaults(cfg);
	snprintf(cfg->dsn, sizeof cfg->dsn, "dbname=%s", TEST_DB);
	snprintf(cfg->jwt_secret, sizeof cfg->jwt_secret, "server-test-secret-0123456789");
	cfg->pool_max_open = 2;
	cfg->pool_max_idle = 2;
	cfg->pool_acquire_timeout_ms = 300;
	cfg->max_body_bytes = 4096;
}

void kill_backends(const char *app)
{
	char sql[512], n[16];

	snprintf(sql, sizeof sql,
		 "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '%s' "
		 "AND application_name = '%s'",
		 TEST_DB, app);
	db_exec(sql);
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' AND application_name = '%s'", TEST_DB,
		 app);
	for (int i = 0; i < 200 && strcmp(db_value(sql, n, sizeof n), "0") != 0; i++)
		usleep(10 * 1000);
}

int64_t ms_since(int64_t t0)
{
	return mono_ms() - t0;
}

/* Run one statement on the maintenance database; 0 when it succeeded. */
static int admin(const char *sql)
{
	PGconn *c = PQconnectdb("dbname=postgres options='-c client_min_messages=warning'");
	PGresult *r;
	int ok;

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "server tests: cannot reach PostgreSQL (PGHOST=%s PGPORT=%s): %s",
			getenv("PGHOST") ? getenv("PGHOST") : "-", getenv("PGPORT") ? getenv("PGPORT") : "-",
			PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	r = PQexec(c, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "server tests: %s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
	return ok ? 0 : -1;
}

/* A fresh TEST_DB with the extension and one demo tenant (20 risks). */
static int setup(void)
{
	if (admin("DROP DATABASE IF EXISTS " TEST_DB " WITH (FORCE)") < 0 || admin("CREATE DATABASE " TEST_DB) < 0)
		return -1;
	db = PQconnectdb("dbname=" TEST_DB " application_name=server-tests");
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "server tests: %s", PQerrorMessage(db));
		return -1;
	}
	if (db_exec("SET client_min_messages = warning") < 0 || db_exec("CREATE EXTENSION openrisk CASCADE") < 0)
		return -1;
	return db_exec("SELECT openrisk.generate_demo_data(1, 20, 42)");
}

int main(void)
{
	log_init(LOG_LEVEL_ERROR, 0); /* no access lines; errors still show */
	if (setup() < 0) {
		printf("0 passed, 1 failed\n");
		return 1;
	}
	server_pool();
	server_pipeline();
	server_defaults();
	server_routing();
	PQfinish(db);
	admin("DROP DATABASE IF EXISTS " TEST_DB " WITH (FORCE)");
	printf("%d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}
