/*
 * routes.c -- the route table (see routes.h for why it is data).
 *
 * Query parameter defaults: one prepared statement per route binds every
 * argument of its SQL function, so an absent parameter cannot fall back on
 * the function's own DEFAULT -- binding NULL would pass NULL.  Omitting
 * the argument instead would take a statement per subset of present
 * parameters (2^6 for the risk list) prepared on every connection, and
 * COALESCE-ing NULLs inside the functions would change what an explicit
 * NULL means to SQL callers.  So the defaults are stated here, once for the
 * gateway, and the server tests (tests/server_defaults.c) read every
 * function's DEFAULTs from the catalog and fail when the two drift apart.
 */
#include "routes.h"

#include <stdio.h>
#include <string.h>

/* The table is laid out by hand, one route per row (clang-format would
 * turn the shorthands into blocks and join each row into one line). */
/* clang-format off */
#define T {PARAM_TENANT, NULL, NULL, NULL, 0}
#define ID {PARAM_PATH_ID, NULL, NULL, NULL, 0}
#define Q(name, deflt) {PARAM_QUERY, name, deflt, NULL, 0}
#define QI(name, deflt) {PARAM_QUERY, name, deflt, NULL, 1} /* an integer: checked before binding */
#define BODY {PARAM_BODY, NULL, NULL, NULL, 0}
#define FIELD(name, shape) {PARAM_BODY_FIELD, name, NULL, shape, 0}
#define HEADER(name) {PARAM_HEADER, name, NULL, NULL, 0}
#define ACTOR {PARAM_ACTOR, NULL, NULL, NULL, 0}
#define REQUEST_ID {PARAM_REQUEST_ID, NULL, NULL, NULL, 0}
#define CURSOR {PARAM_CURSOR, NULL, NULL, NULL, 0}
#define NO_PARAMS {{0}}
/* What selects risks, the same for the list and its CSV export (sql/40_, 44_). */
#define RISK_SELECTION Q("severity", NULL), Q("status", NULL), Q("q", NULL), Q("sort_by", "score"), \
	Q("sort_dir", "desc")
#define RISK_FILTERS Q("owner", NULL), Q("tag", NULL), Q("framework", NULL), Q("min_score", NULL), \
	Q("max_score", NULL), Q("impact", NULL), Q("probability", NULL), Q("created_after", NULL), \
	Q("created_before", NULL)

const struct route routes[] = {
	{"GET", "/api/v1/risks", KIND_LIST, ROLE_VIEWER, STMT_RISK_LIST, "risk list", NULL, 18,
	 {T, QI("page", "1"), QI("page_size", "20"), RISK_SELECTION, Q("after", NULL), RISK_FILTERS}},
	{"GET", "/api/v1/risks/export.csv", KIND_EXPORT, ROLE_VIEWER, STMT_RISK_EXPORT, "risk export", NULL, 16,
	 {T, RISK_SELECTION, RISK_FILTERS, CURSOR}},
	{"GET", "/api/v1/risks/search", KIND_LIST, ROLE_VIEWER, STMT_RISK_SEARCH, "search", NULL, 4,
	 {T, Q("q", NULL), QI("page", "1"), QI("page_size", "20")}},
	{"GET", "/api/v1/risks/matrix", KIND_READ, ROLE_VIEWER, STMT_RISK_MATRIX, "risk matrix", NULL, 2,
	 {T, Q("period", "all")}},
	{"GET", "/api/v1/risks/{id}", KIND_READ, ROLE_VIEWER, STMT_RISK_GET, "risk", NULL, 2, {T, ID}},
	{"GET", "/api/v1/risks/{id}/history", KIND_LIST, ROLE_VIEWER, STMT_RISK_HISTORY, "risk", NULL, 4,
	 {T, ID, QI("page", "1"), QI("page_size", "20")}},
	/* writes: If-Match, and who writes for which request (the audit trail) */
	{"POST", "/api/v1/risks", KIND_CREATE, ROLE_ANALYST, STMT_RISK_CREATE, "risk", "/api/v1/risks/{id}", 4,
	 {T, BODY, ACTOR, REQUEST_ID}},
	{"PATCH", "/api/v1/risks/{id}", KIND_UPDATE, ROLE_ANALYST, STMT_RISK_UPDATE, "risk", NULL, 6,
	 {T, ID, BODY, HEADER("If-Match"), ACTOR, REQUEST_ID}},
	{"DELETE", "/api/v1/risks/{id}", KIND_DELETE, ROLE_ADMIN, STMT_RISK_DELETE, "risk", NULL, 5,
	 {T, ID, HEADER("If-Match"), ACTOR, REQUEST_ID}},
	{"GET", "/api/v1/stats", KIND_READ, ROLE_VIEWER, STMT_DASHBOARD_STATS, "stats", NULL, 2,
	 {T, Q("period", "month")}},
	{"GET", "/api/v1/stats/risk-matrix", KIND_READ, ROLE_VIEWER, STMT_DASHBOARD_MATRIX, "risk matrix", NULL, 1,
	 {T}},
	{"GET", "/api/v1/stats/trends", KIND_READ, ROLE_VIEWER, STMT_DASHBOARD_TIMELINE, "trends", NULL, 2,
	 {T, QI("days", "30")}},
	{"GET", "/api/v1/marketplace/connectors", KIND_LIST, ROLE_VIEWER, STMT_CONNECTOR_LIST, "connector list", NULL, 4,
	 {Q("category", NULL), Q("status", NULL), QI("page", "1"), QI("page_size", "20")}},
	{"GET", "/api/v1/marketplace/connectors/{id}", KIND_READ, ROLE_VIEWER, STMT_CONNECTOR_GET, "connector", NULL, 1,
	 {ID}},
	{"GET", "/api/v1/marketplace/apps/{id}", KIND_READ, ROLE_VIEWER, STMT_APP_GET, "app", NULL, 2, {T, ID}},
	{"GET", "/api/v1/cache/stats", KIND_JSON, ROLE_ADMIN, STMT_CACHE_STATS, "cache stats", NULL, 0, NO_PARAMS},
	/* openrisk.cache_invalidate_tenant confines the pattern to the caller's tenant */
	{"POST", "/api/v1/cache/invalidate", KIND_JSON, ROLE_ADMIN, STMT_CACHE_INVALIDATE, "cache", NULL, 2,
	 {T, FIELD("pattern", "\"<namespace>:<kind>:<tenant>[:...]\"")}},
	{"GET", "/api/v1/events", KIND_EVENTS, ROLE_VIEWER, STMT_NONE, "events", NULL, 0, NO_PARAMS},
	{"GET", "/health", KIND_HEALTH, ROLE_NONE, STMT_HEALTH, "health", NULL, 0, NO_PARAMS},
	{"GET", "/ready", KIND_READY, ROLE_NONE, STMT_NONE, "ready", NULL, 0, NO_PARAMS},
};
/* clang-format on */

const int nroutes = (int)(sizeof routes / sizeof routes[0]);

int route_index(const struct route *r)
{
	return (int)(r - routes);
}

int route_is_cached_read(const struct route *r)
{
	return r->kind == KIND_READ || r->kind == KIND_LIST;
}

int route_is_retryable(const struct route *r)
{
	return strcmp(r->method, "GET") == 0;
}

int route_reads_body(const struct route *r)
{
	for (int i = 0; i < r->nparams; i++)
		if (r->params[i].source == PARAM_BODY || r->params[i].source == PARAM_BODY_FIELD)
			return 1;
	return 0;
}

int route_expand(const char *tmpl, const char *id, char *out, size_t outlen)
{
	const char *brace = tmpl ? strstr(tmpl, "{id}") : NULL;
	int n;

	if (!brace)
		return -1;
	n = snprintf(out, outlen, "%.*s%s%s", (int)(brace - tmpl), tmpl, id, brace + 4);
	return (n < 0 || (size_t)n >= outlen) ? -1 : n;
}
