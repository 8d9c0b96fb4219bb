/*
 * test_routes.c -- the route table and the statement registry as data:
 * every statement named and bounds-checked, every route's parameter count
 * equal to its statement's placeholders, the Location template of a
 * create route pointing at the route that reads the created thing, and
 * the per-route special handling (retry, body) derived as documented.
 */
#include <stdlib.h>

#include "router.h"
#include "unit.h"

/* The highest $n in sql (0 when none). */
static int max_placeholder(const char *sql)
{
	int max = 0;

	for (const char *s = sql; (s = strchr(s, '$')) != NULL; s++) {
		int n = atoi(s + 1);
		if (n > max)
			max = n;
	}
	return max;
}

static void registry_is_complete(void)
{
	for (int i = 0; i < STMT_COUNT; i++) {
		const struct statement *st = statement_get(i);
		int unique = 1;

		CHECK(st == &statements[i]);
		CHECK(st->name && st->name[0] && st->sql && strncmp(st->sql, "SELECT ", 7) == 0);
		for (int j = 0; j < i; j++)
			unique &= strcmp(statements[j].name, st->name) != 0;
		CHECK(unique);
	}
	/* out of range is NULL, never a neighbour's memory */
	CHECK(statement_get(STMT_NONE) == NULL);
	CHECK(statement_get(STMT_COUNT) == NULL);
	CHECK(statement_get(-7) == NULL);
	CHECK(statement_get(1 << 20) == NULL);
}

static void routes_match_their_statements(void)
{
	int used[STMT_COUNT] = {0};

	for (int i = 0; i < nroutes; i++) {
		const struct route *r = &routes[i];
		const struct statement *st = statement_get(r->stmt);

		CHECK(r->nparams >= 0 && r->nparams <= ROUTE_MAX_PARAMS);
		if (r->kind == KIND_READY) {
			CHECK_INT(r->stmt, STMT_NONE);
			continue;
		}
		CHECK(st != NULL);
		if (!st)
			continue;
		used[r->stmt]++;
		/* one text value bound per placeholder, in order */
		CHECK_INT(max_placeholder(st->sql), r->nparams);
	}
	for (int i = 0; i < STMT_COUNT; i++) {
		/* the poller's and routing's own statements run beside routes, never as one */
		int own = i == STMT_POLL_PG_STATS || i == STMT_POLL_CACHE_STATS || i == STMT_LAST_COMMIT_LSN ||
			  i == STMT_REPLAY_WAIT;
		CHECK_INT(used[i], own ? 0 : 1); /* no orphan, no sharing */
	}
}

static void params_are_well_formed(void)
{
	for (int i = 0; i < nroutes; i++) {
		const struct route *r = &routes[i];
		int body = 0;

		for (int j = 0; j < r->nparams; j++) {
			const struct route_param *p = &r->params[j];
			if (p->source == PARAM_QUERY || p->source == PARAM_BODY_FIELD)
				CHECK(p->name && p->name[0]);
			if (p->source == PARAM_BODY_FIELD)
				CHECK(p->shape != NULL);
			if (p->source != PARAM_QUERY)
				CHECK(p->deflt == NULL);
			if (p->source == PARAM_PATH_ID)
				CHECK(strstr(r->pattern, "{id}") != NULL);
			body |= p->source == PARAM_BODY || p->source == PARAM_BODY_FIELD;
		}
		CHECK_INT(route_reads_body(r), body);
		/* bodies only on writes: GET routes never read one */
		if (strcmp(r->method, "GET") == 0)
			CHECK_INT(body, 0);
	}
}

/* Only GET routes are retried on a fresh connection: writes may have committed. */
static void retry_only_reads(void)
{
	for (int i = 0; i < nroutes; i++)
		CHECK_INT(route_is_retryable(&routes[i]), strcmp(routes[i].method, "GET") == 0);
}

/* A create route's Location names a path the router serves with a GET read. */
static void locations_lead_to_reads(void)
{
	int creates = 0;

	for (int i = 0; i < nroutes; i++) {
		const struct route *r = &routes[i];
		struct route_match m;
		char path[256];

		if (r->kind != KIND_CREATE) {
			CHECK(r->location == NULL);
			continue;
		}
		creates++;
		CHECK(route_expand(r->location, "0b5f0e4e-8f7e-4f0b-9c3e-1d2a3b4c5d6e", path, sizeof path) > 0);
		router_match("GET", path, &m);
		CHECK(m.status == MATCH_OK && m.route->kind == KIND_READ);
		CHECK_STR(m.id, "0b5f0e4e-8f7e-4f0b-9c3e-1d2a3b4c5d6e");
	}
	CHECK(creates > 0);
}

static void expand_is_bounded(void)
{
	char out[32];

	CHECK_INT(route_expand("/a/{id}/b", "xyz", out, sizeof out), 8);
	CHECK_STR(out, "/a/xyz/b");
	CHECK_INT(route_expand("/a/b", "xyz", out, sizeof out), -1); /* no {id} */
	CHECK_INT(route_expand(NULL, "xyz", out, sizeof out), -1);   /* no template */
	CHECK_INT(route_expand("/a/{id}", "0123456789012345678901234567890", out, sizeof out), -1);
}

void test_routes(void)
{
	registry_is_complete();
	routes_match_their_statements();
	params_are_well_formed();
	retry_only_reads();
	locations_lead_to_reads();
	expand_is_bounded();
}
