/*
 * server_defaults.c -- the route table's query-parameter defaults against
 * the SQL functions' own DEFAULTs, read from the catalog.
 *
 * Why the defaults are stated twice at all is explained in routes.c; this
 * test is what keeps the two statements of them equal.  For every route
 * with query parameters: its statement must call one openrisk function
 * with $1..$n in order (so parameter i is argument i; arguments after the
 * n-th, if any, must have DEFAULTs and are only noted), each query
 * parameter must carry the argument's name, and its default must be what
 * the function's DEFAULT evaluates to (no DEFAULT: the route binds NULL).
 * The checker is also run on a deliberately drifted copy of a route, to
 * show that it fails when they differ.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routes.h"
#include "server.h"

/* "openrisk.fn($1, ..., $n)" in sql: fn into out, or -1 when the call is not positional $1..$n. */
static int called_function(const char *sql, int nparams, char *out, size_t outlen)
{
	const char *p = strstr(sql, "openrisk."), *paren;
	char args[256] = "";

	if (!p || !(paren = strchr(p, '(')))
		return -1;
	p += strlen("openrisk.");
	snprintf(out, outlen, "%.*s", (int)(paren - p), p);
	for (int i = 1; i <= nparams; i++) {
		size_t n = strlen(args);
		snprintf(args + n, sizeof args - n, "%s$%d", i > 1 ? ", " : "", i);
	}
	return strncmp(paren + 1, args, strlen(args)) == 0 && paren[1 + strlen(args)] == ')' ? 0 : -1;
}

/* One value of a parameterized query ("" and *isnull when NULL); -1 on error. */
static int query1(const char *sql, int n, const char *const *params, char *out, size_t outlen, int *isnull)
{
	PGresult *r = PQexecParams(db_conn(), sql, n, NULL, params, NULL, NULL, 0);
	int ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;

	if (ok) {
		*isnull = PQgetisnull(r, 0, 0);
		snprintf(out, outlen, "%s", PQgetvalue(r, 0, 0));
	} else
		fprintf(stderr, "server_defaults: %s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	return ok ? 0 : -1;
}

/*
 * Compare route rt's query parameters with its SQL function.  Returns the
 * number of mismatches, each explained on stderr (-1: cannot compare).
 */
static int check_route(const struct route *rt)
{
	const struct statement *st = statement_get(rt->stmt);
	char fn[64], oid[16], nargs[16], value[256];
	const char *params[2];
	int isnull, bad = 0;

	if (!st || called_function(st->sql, rt->nparams, fn, sizeof fn) < 0) {
		fprintf(stderr, "server_defaults: %s %s: statement is not openrisk.fn($1..$%d)\n", rt->method, rt->pattern,
			rt->nparams);
		return -1;
	}
	snprintf(nargs, sizeof nargs, "%d", rt->nparams);
	params[0] = fn;
	params[1] = nargs;
	/* callable with n positional arguments: any further ones have DEFAULTs, which SQL fills in */
	if (query1("SELECT p.oid FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
		   "WHERE n.nspname = 'openrisk' AND p.proname = $1 "
		   "AND p.pronargs - p.pronargdefaults <= $2::int AND $2::int <= p.pronargs",
		   2, params, oid, sizeof oid, &isnull) < 0)
		return -1;
	params[0] = oid;
	if (query1("SELECT pronargs - $2::int FROM pg_proc WHERE oid = $1::oid", 2, params, value, sizeof value,
		   &isnull) < 0)
		return -1;
	if (atoi(value) > 0)
		fprintf(stderr, "server_defaults: note: %s %s binds %d of %s()'s arguments; %s more take their DEFAULT\n",
			rt->method, rt->pattern, rt->nparams, fn, value);
	for (int i = 0; i < rt->nparams; i++) {
		const struct route_param *p = &rt->params[i];
		char argno[16], expr[256], sql[400];
		int expr_null;

		if (p->source != PARAM_QUERY)
			continue;
		snprintf(argno, sizeof argno, "%d", i + 1);
		params[0] = oid;
		params[1] = argno;
		if (query1("SELECT (proargnames)[$2::int] FROM pg_proc WHERE oid = $1::oid", 2, params, value, sizeof value,
			   &isnull) < 0 ||
		    query1("SELECT pg_get_function_arg_default($1::oid, $2::int)", 2, params, expr, sizeof expr,
			   &expr_null) < 0)
			return -1;
		if (strcmp(value, p->name) != 0) {
			fprintf(stderr, "server_defaults: %s %s: parameter %d is ?%s but %s() calls it %s\n", rt->method,
				rt->pattern, i + 1, p->name, fn, value);
			bad++;
			continue;
		}
		if (expr_null) { /* no DEFAULT: the argument is required, absent means NULL */
			isnull = 1;
		} else {
			snprintf(sql, sizeof sql, "SELECT (%s)::text", expr);
			if (query1(sql, 0, NULL, value, sizeof value, &isnull) < 0)
				return -1;
		}
		if (isnull != (p->deflt == NULL) || (!isnull && strcmp(value, p->deflt) != 0)) {
			fprintf(stderr, "server_defaults: %s %s: ?%s defaults to %s in routes.c but to %s in %s()\n",
				rt->method, rt->pattern, p->name, p->deflt ? p->deflt : "NULL", isnull ? "NULL" : value, fn);
			bad++;
		}
	}
	return bad;
}

void server_defaults(void)
{
	struct route drifted;
	int checked = 0;

	for (int i = 0; i < nroutes; i++) {
		int query = 0;

		for (int j = 0; j < routes[i].nparams; j++)
			query |= routes[i].params[j].source == PARAM_QUERY;
		if (!query)
			continue;
		checked++;
		CHECK_INT(check_route(&routes[i]), 0);
	}
	CHECK(checked >= 6); /* the list, search, matrix, stats, trends and connector routes */

	/* the checker itself fails on a drift: /stats with period defaulting to "week" */
	for (int i = 0; i < nroutes; i++)
		if (routes[i].stmt == STMT_DASHBOARD_STATS)
			drifted = routes[i];
	drifted.params[1].deflt = "week";
	fprintf(stderr, "server_defaults: (the next line is expected: a drift made on purpose)\n");
	CHECK_INT(check_route(&drifted), 1);
	drifted.params[1].name = "periode";
	fprintf(stderr, "server_defaults: (the next line is expected too)\n");
	CHECK_INT(check_route(&drifted), 1);
}
