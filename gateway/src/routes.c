/*
 * routes.c -- the route table (see routes.h for why it is data).
 *
 * Reads select `value` first so a benchmark ceiling that returns column 1
 * sends the same bytes; hit and etag ride along in the same round trip.
 * Query parameter defaults repeat the SQL functions' defaults because one
 * prepared statement per route always binds every argument.
 */
#include "routes.h"

#define T {PARAM_TENANT, NULL, NULL}
#define ID {PARAM_PATH_ID, NULL, NULL}
#define Q(name, deflt) {PARAM_QUERY, name, deflt}
#define BODY {PARAM_BODY, NULL, NULL}

const struct route routes[] = {
	{"GET", "/api/v1/risks", KIND_READ, ROLE_VIEWER,
	 "SELECT value, hit, etag FROM openrisk.risk_list_meta($1, $2, $3, $4, $5, $6, $7, $8)", "risk list", 8,
	 {T, Q("page", "1"), Q("page_size", "20"), Q("severity", NULL), Q("status", NULL), Q("q", NULL),
	  Q("sort_by", "score"), Q("sort_dir", "desc")}},
	{"GET", "/api/v1/risks/search", KIND_READ, ROLE_VIEWER,
	 "SELECT value, hit, etag FROM openrisk.risk_search_meta($1, $2, $3, $4)", "search", 4,
	 {T, Q("q", NULL), Q("page", "1"), Q("page_size", "20")}},
	{"GET", "/api/v1/risks/matrix", KIND_READ, ROLE_VIEWER,
	 "SELECT value, hit, etag FROM openrisk.risk_matrix_meta($1, $2)", "risk matrix", 2,
	 {T, Q("period", "all")}},
	{"GET", "/api/v1/risks/{id}", KIND_READ, ROLE_VIEWER,
	 "SELECT value, hit, etag FROM openrisk.risk_get_meta($1, $2)", "risk", 2, {T, ID}},
	{"POST", "/api/v1/risks", KIND_CREATE, ROLE_ANALYST,
	 "SELECT r::text, r->>'id' FROM openrisk.risk_create($1, $2) AS r", "risk", 2, {T, BODY}},
	{"PATCH", "/api/v1/risks/{id}", KIND_UPDATE, ROLE_ANALYST,
	 "SELECT openrisk.risk_update($1, $2, $3)::text", "risk", 3, {T, ID, BODY}},
	{"DELETE", "/api/v1/risks/{id}", KIND_DELETE, ROLE_ADMIN,
	 "SELECT openrisk.risk_delete($1, $2)", "risk", 2, {T, ID}},
	{"GET", "/api/v1/stats", KIND_READ, ROLE_VIEWER,
	 "SELECT value, hit, etag FROM openrisk.dashboard_stats_meta($1, $2)", "stats", 2,
	 {T, Q("period", "month")}},
	{"GET", "/api/v1/stats/risk-matrix", KIND_READ, ROLE_VIEWER,
	 "SELECT value, hit, etag FROM openrisk.dashboard_matrix_meta($1)", "risk matrix", 1, {T}},
	{"GET", "/api/v1/stats/trends", KIND_READ, ROLE_VIEWER,
	 "SELECT value, hit, etag FROM openrisk.dashboard_timeline_meta($1, $2)", "trends", 2,
	 {T, Q("days", "30")}},
	{"GET", "/api/v1/marketplace/connectors", KIND_READ, ROLE_VIEWER,
	 "SELECT value, hit, etag FROM openrisk.connector_list_meta($1, $2, $3, $4)", "connector list", 4,
	 {Q("category", NULL), Q("status", NULL), Q("page", "1"), Q("page_size", "20")}},
	{"GET", "/api/v1/marketplace/connectors/{id}", KIND_READ, ROLE_VIEWER,
	 "SELECT value, hit, etag FROM openrisk.connector_get_meta($1)", "connector", 1, {ID}},
	{"GET", "/api/v1/marketplace/apps/{id}", KIND_READ, ROLE_VIEWER,
	 "SELECT value, hit, etag FROM openrisk.app_get_meta($1, $2)", "app", 2, {T, ID}},
	{"GET", "/api/v1/cache/stats", KIND_ADMIN_JSON, ROLE_ADMIN,
	 "SELECT row_to_json(s)::text FROM openrisk.cache_stats() AS s", "cache stats", 0, {{0, 0, 0}}},
	{"POST", "/api/v1/cache/invalidate", KIND_INVALIDATE, ROLE_ADMIN,
	 "SELECT json_build_object('pattern', $1::text, 'invalidated', openrisk.cache_invalidate($1))::text",
	 "cache", 1, {{PARAM_PATTERN, NULL, NULL}}},
	{"GET", "/health", KIND_HEALTH, ROLE_NONE, "SELECT 1", "health", 0, {{0, 0, 0}}},
	{"GET", "/ready", KIND_READY, ROLE_NONE, NULL, "ready", 0, {{0, 0, 0}}},
};

const int nroutes = (int)(sizeof routes / sizeof routes[0]);

int route_index(const struct route *r)
{
	return (int)(r - routes);
}
