/*
 * test_routes.c -- the route table and the statement registry as data:
 * every statement named and bounds-checked, every route's parameter count
 * equal to its statement's placeholders, the Location template of a
 * create route pointing at the route that reads the created thing, and
 * the per-route special handling (retry, body) derived as documented;
 * every write carries who writes and the request (the audit trail) and,
 * for an existing risk, If-Match; the export selects what the list does.
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
		if (r->kind == KIND_READY || r->kind == KIND_EVENTS) {
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
			if (p->source == PARAM_QUERY || p->source == PARAM_BODY_FIELD || p->source == PARAM_HEADER)
				CHECK(p->name && p->name[0]);
			/* the export's cursor is its own business, never a client's */
			if (p->source == PARAM_CURSOR)
				CHECK_INT(r->kind, KIND_EXPORT);
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

/*
 * Replicas may answer exactly the cached GETs: every list and single read
 * (so /api/v1/risks is routed like /api/v1/stats), never a write, the
 * export, the event stream or the cache admin calls.
 */
static void replicas_answer_cached_reads(void)
{
	int lists = 0;

	for (int i = 0; i < nroutes; i++) {
		const struct route *r = &routes[i];
		int cached = route_is_cached_read(r);

		CHECK(!cached || strcmp(r->method, "GET") == 0);
		CHECK_INT(cached, r->kind == KIND_READ || r->kind == KIND_LIST);
		lists += cached && r->kind == KIND_LIST;
	}
	CHECK(lists >= 3); /* risks, search, connectors (and history) */
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

/* How many of route r's parameters come from source (and are named name, when given). */
static int count_params(const struct route *r, enum param_source source, const char *name)
{
	int n = 0;

	for (int j = 0; j < r->nparams; j++)
		n += r->params[j].source == source && (!name || strcmp(r->params[j].name, name) == 0);
	return n;
}

/* Every risk write records who and which request; writes to an existing risk honour If-Match. */
static void writes_carry_actor_and_if_match(void)
{
	int writes = 0;

	for (int i = 0; i < nroutes; i++) {
		const struct route *r = &routes[i];

		if (r->kind != KIND_CREATE && r->kind != KIND_UPDATE && r->kind != KIND_DELETE)
			continue;
		writes++;
		CHECK_INT(count_params(r, PARAM_ACTOR, NULL), 1);
		CHECK_INT(count_params(r, PARAM_REQUEST_ID, NULL), 1);
		CHECK_INT(count_params(r, PARAM_HEADER, "If-Match"), r->kind != KIND_CREATE);
	}
	CHECK_INT(writes, 3);
}

/* The export takes exactly the list's selection (same names and defaults) plus its cursor. */
static void export_selects_like_the_list(void)
{
	struct route_match list, exp;

	router_match("GET", "/api/v1/risks", &list);
	router_match("GET", "/api/v1/risks/export.csv", &exp);
	CHECK(list.status == MATCH_OK && exp.status == MATCH_OK);
	if (list.status != MATCH_OK || exp.status != MATCH_OK)
		return;
	CHECK_INT(exp.route->kind, KIND_EXPORT);
	CHECK_INT(count_params(exp.route, PARAM_CURSOR, NULL), 1);
	for (int j = 0; j < exp.route->nparams; j++) {
		const struct route_param *p = &exp.route->params[j];
		int same = 0;

		if (p->source != PARAM_QUERY)
			continue;
		for (int k = 0; k < list.route->nparams; k++) {
			const struct route_param *q = &list.route->params[k];
			same |= q->source == PARAM_QUERY && strcmp(q->name, p->name) == 0 &&
				((!q->deflt && !p->deflt) || (q->deflt && p->deflt && strcmp(q->deflt, p->deflt) == 0));
		}
		CHECK(same);
	}
	/* and every list parameter but the page's */
	CHECK_INT(count_params(exp.route, PARAM_QUERY, NULL), count_params(list.route, PARAM_QUERY, NULL) - 3);
}

void test_routes(void)
{
	registry_is_complete();
	routes_match_their_statements();
	params_are_well_formed();
	retry_only_reads();
	replicas_answer_cached_reads();
	locations_lead_to_reads();
	expand_is_bounded();
	writes_carry_actor_and_if_match();
	export_selects_like_the_list();
}
