/*
 * statements.h -- every SQL statement the gateway prepares, by name.
 *
 * One registry instead of numbers shared between files: a route names its
 * statement (STMT_RISK_LIST), the stats poller names its own, and the pool
 * prepares the whole list under those names on every connection.  An id
 * is an index into a fixed table whose size the compiler knows, and every
 * lookup is bounds-checked, so no caller can run "statement 64 of 64".
 *
 * Pure data (no libpq), so the table is unit-tested: every entry has a
 * name and SQL, names are unique, routes only name entries that exist.
 */
#ifndef OPENRISK_STATEMENTS_H
#define OPENRISK_STATEMENTS_H

enum statement_id {
	STMT_NONE = -1, /* a route that runs no statement (/ready) */
	STMT_RISK_LIST,
	STMT_RISK_SEARCH,
	STMT_RISK_MATRIX,
	STMT_RISK_GET,
	STMT_RISK_HISTORY,
	STMT_RISK_EXPORT,
	STMT_RISK_CREATE,
	STMT_RISK_UPDATE,
	STMT_RISK_DELETE,
	STMT_DASHBOARD_STATS,
	STMT_DASHBOARD_MATRIX,
	STMT_DASHBOARD_TIMELINE,
	STMT_CONNECTOR_LIST,
	STMT_CONNECTOR_GET,
	STMT_APP_GET,
	STMT_CACHE_STATS,
	STMT_CACHE_INVALIDATE,
	STMT_HEALTH,
	STMT_POLL_PG_STATS,    /* the stats poller: pg_stat_database + activity */
	STMT_POLL_CACHE_STATS, /* the stats poller: the engine's cache_stats() */
	STMT_LAST_COMMIT_LSN,  /* routing.c: right after a write, the end of its commit record */
	STMT_REPLAY_WAIT,      /* routing.c: a replica waits for a read's X-Min-LSN */
	STMT_COUNT
};

/* A statement: its prepared-statement name and its text. */
struct statement {
	const char *name;
	const char *sql;
};

/* The whole registry, STMT_COUNT entries indexed by enum statement_id. */
extern const struct statement statements[STMT_COUNT];

/* The entry for id, or NULL when id is STMT_NONE or out of range. */
const struct statement *statement_get(int id);

#endif
