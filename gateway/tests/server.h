/*
 * server.h -- shared helpers of the server tests (tests/server_*.c): the
 * pool, the pipeline and the parameter defaults, run against a real
 * throwaway database and a fake civetweb connection (fake_civetweb.h).
 *
 * The database is created by server_main.c with the openrisk extension
 * and a little demo data, in the cluster the libpq environment points at
 * (PGHOST, PGPORT, PGUSER: `eval "$(make -s env)"`), and dropped at the
 * end.  Nothing else of the cluster is touched.
 */
#ifndef OPENRISK_SERVER_TEST_H
#define OPENRISK_SERVER_TEST_H

#include <libpq-fe.h>
#include <stdint.h>

#include "config.h"
#include "unit.h"

#define TEST_DB "openrisk_gateway_test"
#define TEST_TENANT "00000000-0000-4000-8000-000000000001"
#define OTHER_TENANT "00000000-0000-4000-8000-0000000000ff"

/* The tests' own connection to TEST_DB (not through any pool). */
PGconn *db_conn(void);

/* Run sql on db_conn(); 0 when it succeeded (else prints the error). */
int db_exec(const char *sql);

/* The first column of the first row of sql as text into out ("" on error). */
const char *db_value(const char *sql, char *out, size_t outlen);

/* Gateway settings for a pool on TEST_DB: small, quick timeouts. */
void server_config(struct gw_config *cfg);

/* Terminate the backends of application_name app in TEST_DB and wait until they are gone. */
void kill_backends(const char *app);

/* Milliseconds since t0 (CLOCK_MONOTONIC). */
int64_t ms_since(int64_t t0);

void server_pool(void);
void server_pipeline(void);
void server_defaults(void);
void server_routing(void);

#endif
