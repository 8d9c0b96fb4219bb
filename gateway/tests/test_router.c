/*
 * test_router.c -- routing: every table row reachable, literal segments
 * beat {id} (OpenRisk's /risks/search bug), 404 vs 405 with Allow, and
 * hostile paths never match.
 */
#include "router.h"
#include "unit.h"

static const struct route *match(const char *method, const char *path, struct route_match *m)
{
	router_match(method, path, m);
	return m->status == MATCH_OK ? m->route : NULL;
}

static void every_route_reachable(void)
{
	struct route_match m;

	for (int i = 0; i < nroutes; i++) {
		char path[256];
		const char *p = routes[i].pattern, *brace = strstr(p, "{id}");
		if (brace)
			snprintf(path, sizeof path, "%.*s%s%s", (int)(brace - p), p, "0b5f0e4e-8f7e-4f0b-9c3e-1d2a3b4c5d6e", brace + 4);
		else
			snprintf(path, sizeof path, "%s", p);
		CHECK(match(routes[i].method, path, &m) == &routes[i]);
		CHECK_INT(route_index(&routes[i]), i);
	}
}

static void literals_beat_ids(void)
{
	struct route_match m;

	CHECK_STR(match("GET", "/api/v1/risks/search", &m)->pattern, "/api/v1/risks/search");
	CHECK_STR(match("GET", "/api/v1/risks/matrix", &m)->pattern, "/api/v1/risks/matrix");
	CHECK_STR(match("GET", "/api/v1/risks/abc", &m)->pattern, "/api/v1/risks/{id}");
	CHECK_STR(m.id, "abc");
	CHECK_STR(match("GET", "/api/v1/stats/risk-matrix", &m)->pattern, "/api/v1/stats/risk-matrix");
	CHECK_STR(match("GET", "/api/v1/risks/export.csv", &m)->pattern, "/api/v1/risks/export.csv");
	CHECK_STR(match("GET", "/api/v1/risks/abc/history", &m)->pattern, "/api/v1/risks/{id}/history");
	CHECK_STR(m.id, "abc");
	/* a risk's history is read-only, and export.csv is no risk id to PATCH */
	router_match("PATCH", "/api/v1/risks/abc/history", &m);
	CHECK_INT(m.status, MATCH_BAD_METHOD);
	router_match("DELETE", "/api/v1/risks/export.csv", &m);
	CHECK_INT(m.status, MATCH_BAD_METHOD);
	/* PATCH on a literal path is 405, not a PATCH of a risk called "search" */
	router_match("PATCH", "/api/v1/risks/search", &m);
	CHECK_INT(m.status, MATCH_BAD_METHOD);
	CHECK_STR(m.allow, "GET");
}

/* The same precedence with the table reversed: order must not matter. */
static void precedence_is_order_independent(void)
{
	struct route reversed[64];
	struct route_match m;

	for (int i = 0; i < nroutes; i++)
		reversed[i] = routes[nroutes - 1 - i];
	router_match_in(reversed, nroutes, "GET", "/api/v1/risks/search", &m);
	CHECK(m.status == MATCH_OK && strcmp(m.route->pattern, "/api/v1/risks/search") == 0);
	router_match_in(reversed, nroutes, "GET", "/api/v1/risks/matrix", &m);
	CHECK(m.status == MATCH_OK && strcmp(m.route->pattern, "/api/v1/risks/matrix") == 0);
	router_match_in(reversed, nroutes, "GET", "/api/v1/risks/0b5f0e4e", &m);
	CHECK(m.status == MATCH_OK && strcmp(m.route->pattern, "/api/v1/risks/{id}") == 0);
	router_match_in(reversed, nroutes, "DELETE", "/api/v1/risks/search", &m);
	CHECK_INT(m.status, MATCH_BAD_METHOD);
}

static void not_found_and_bad_method(void)
{
	struct route_match m;
	static const char *const missing[] = {"/", "/api", "/api/v1", "/api/v1/risks/", "/api/v1//risks",
					      "/api/v1/risks/a/b", "/api/v2/risks", "/API/v1/risks",
					      "/api/v1/riskss", "/health/", "", "api/v1/risks"};

	for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
		router_match("GET", missing[i], &m);
		CHECK_INT(m.status, MATCH_NOT_FOUND);
	}
	router_match("PUT", "/api/v1/risks", &m);
	CHECK_INT(m.status, MATCH_BAD_METHOD);
	CHECK_STR(m.allow, "GET, POST");
	router_match("POST", "/api/v1/risks/x", &m);
	CHECK_INT(m.status, MATCH_BAD_METHOD);
	CHECK_STR(m.allow, "GET, PATCH, DELETE");
	router_match("GET", "/api/v1/cache/invalidate", &m);
	CHECK_STR(m.allow, "POST");
	router_match("GET", NULL, &m);
	CHECK_INT(m.status, MATCH_NOT_FOUND);
}

static void id_bounds(void)
{
	struct route_match m;
	char path[400];

	memset(path, 0, sizeof path);
	strcpy(path, "/api/v1/risks/");
	memset(path + strlen(path), 'a', ROUTE_ID_MAX); /* one longer than fits */
	router_match("GET", path, &m);
	CHECK_INT(m.status, MATCH_NOT_FOUND);
}

static void table_is_sane(void)
{
	for (int i = 0; i < nroutes; i++) {
		const struct route *r = &routes[i];
		const struct statement *st = statement_get(r->stmt);
		/* tenant-scoped reads take the tenant from the token, first */
		if ((r->kind == KIND_READ || r->kind == KIND_LIST) && strstr(r->pattern, "connectors") == NULL)
			CHECK_INT(r->params[0].source, PARAM_TENANT);
		if (r->kind == KIND_READ || r->kind == KIND_LIST)
			CHECK(st && strncmp(st->sql, "SELECT value, hit, etag FROM openrisk.", 38) == 0);
		CHECK(r->min_role != ROLE_NONE || r->kind == KIND_HEALTH || r->kind == KIND_READY);
	}
}

void test_router(void)
{
	every_route_reachable();
	literals_beat_ids();
	precedence_is_order_independent();
	not_found_and_bad_method();
	id_bounds();
	table_is_sane();
}
