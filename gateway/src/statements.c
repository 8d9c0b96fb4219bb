/*
 * statements.c -- the statement registry (see statements.h).
 *
 * Reads select `value` first so a benchmark ceiling that returns column 1
 * sends the same bytes; hit and etag ride along in the same round trip.
 * Route statements bind their parameters positionally, in the order of the
 * route's parameter list (routes.c), which is also the SQL function's
 * argument order: server_defaults.c checks both against the catalog.
 *
 * Writes return their outcome and the ETag of what they wrote by column
 * name ("outcome", "etag", "id"), which result_reply.c looks up.
 *
 * The poller reads the engine's cache_stats() with a statement of its own
 * so the pg_stat figures survive a missing or older extension.  Routing
 * (routing.c) has two of its own too: they run beside a route's statement
 * in one pipeline, never instead of it.
 */
#include "statements.h"

#include <stddef.h>

#define READ_META(fn, args) "SELECT value, hit, etag FROM openrisk." fn "(" args ")"

const struct statement statements[STMT_COUNT] = {
	[STMT_RISK_LIST] = {"risk_list", READ_META("risk_list_meta", "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
								     "$13, $14, $15, $16, $17, $18")},
	[STMT_RISK_SEARCH] = {"risk_search", READ_META("risk_search_meta", "$1, $2, $3, $4")},
	[STMT_RISK_MATRIX] = {"risk_matrix", READ_META("risk_matrix_meta", "$1, $2")},
	[STMT_RISK_GET] = {"risk_get", READ_META("risk_get_meta", "$1, $2")},
	[STMT_RISK_HISTORY] = {"risk_history", READ_META("risk_history_meta", "$1, $2, $3, $4")},
	[STMT_RISK_EXPORT] = {"risk_export",
			      "SELECT csv, next FROM openrisk.risk_export_page($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
			      "$12, $13, $14, $15, $16)"},
	[STMT_RISK_CREATE] = {"risk_create", "SELECT w.value, w.value::json ->> 'id' AS id, w.etag"
					     " FROM openrisk.risk_create_meta($1, $2, $3, $4) AS w"},
	[STMT_RISK_UPDATE] = {"risk_update", "SELECT value, etag, outcome FROM openrisk.risk_update_meta($1, $2, $3, $4, $5, $6)"},
	[STMT_RISK_DELETE] = {"risk_delete",
			      "SELECT outcome = 'deleted', etag, outcome FROM openrisk.risk_delete_meta($1, $2, $3, $4, $5)"},
	[STMT_DASHBOARD_STATS] = {"dashboard_stats", READ_META("dashboard_stats_meta", "$1, $2")},
	[STMT_DASHBOARD_MATRIX] = {"dashboard_matrix", READ_META("dashboard_matrix_meta", "$1")},
	[STMT_DASHBOARD_TIMELINE] = {"dashboard_timeline", READ_META("dashboard_timeline_meta", "$1, $2")},
	[STMT_CONNECTOR_LIST] = {"connector_list", READ_META("connector_list_meta", "$1, $2, $3, $4")},
	[STMT_CONNECTOR_GET] = {"connector_get", READ_META("connector_get_meta", "$1")},
	[STMT_APP_GET] = {"app_get", READ_META("app_get_meta", "$1, $2")},
	[STMT_CACHE_STATS] = {"cache_stats", "SELECT row_to_json(s)::text FROM openrisk.cache_stats() AS s"},
	[STMT_CACHE_INVALIDATE] = {"cache_invalidate",
				   "SELECT json_build_object('pattern', $2::text,"
				   " 'invalidated', openrisk.cache_invalidate_tenant($1, $2))::text"},
	[STMT_HEALTH] = {"health", "SELECT 1"},
	[STMT_POLL_PG_STATS] = {"poll_pg_stats",
				"SELECT d.xact_commit, d.xact_rollback, d.blks_hit, d.blks_read, d.deadlocks, d.numbackends,"
				" count(*) FILTER (WHERE a.state = 'active'),"
				" count(*) FILTER (WHERE a.state = 'idle'),"
				" count(*) FILTER (WHERE a.state = 'idle in transaction'),"
				" count(*) FILTER (WHERE a.state = 'idle in transaction (aborted)'),"
				" count(*) FILTER (WHERE a.state = 'fastpath function call'),"
				" count(*) FILTER (WHERE a.state = 'disabled')"
				" FROM pg_stat_database d LEFT JOIN pg_stat_activity a ON a.datid = d.datid"
				" WHERE d.datname = current_database()"
				" GROUP BY d.xact_commit, d.xact_rollback, d.blks_hit, d.blks_read, d.deadlocks, d.numbackends"},
	[STMT_POLL_CACHE_STATS] = {"poll_cache_stats",
				   "SELECT hits, misses, evictions, entries, bytes_used, bytes_limit,"
				   " fills_rejected, stampede_waits, handoffs, stampede_recomputes FROM openrisk.cache_stats()"},
	/* read-your-writes across replicas: extension/src/replica_lsn.c */
	[STMT_LAST_COMMIT_LSN] = {"last_commit_lsn", "SELECT openrisk.last_commit_lsn()::text"},
	[STMT_REPLAY_WAIT] = {"replay_wait", "SELECT openrisk.replay_wait($1::pg_lsn, $2::int)::text"},
};

const struct statement *statement_get(int id)
{
	return (id >= 0 && id < STMT_COUNT) ? &statements[id] : NULL;
}
