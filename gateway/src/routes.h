/*
 * routes.h -- the REST API as data: every route's method, path pattern,
 * minimum role, the one SQL statement it runs and how request parts map to
 * that statement's parameters.
 *
 * Handlers stay generic because the differences between endpoints live
 * here; adding an endpoint is adding a row.  No civetweb or libpq, so the
 * table itself is covered by unit tests (every route reachable, search and
 * matrix not captured by {id}, statements well-formed).
 */
#ifndef OPENRISK_ROUTES_H
#define OPENRISK_ROUTES_H

#include "auth_jwt.h"

/* What the generic handler does with the statement's result. */
enum route_kind {
	KIND_READ,       /* SELECT value, hit, etag FROM openrisk.<fn>_meta(...) */
	KIND_CREATE,     /* 201 + Location from the second column */
	KIND_UPDATE,     /* 200, NULL -> 404 */
	KIND_DELETE,     /* 204, false -> 404 */
	KIND_ADMIN_JSON, /* 200 with the first column */
	KIND_INVALIDATE, /* POST /cache/invalidate */
	KIND_HEALTH,
	KIND_READY
};

/* Where one statement parameter comes from. */
enum param_source {
	PARAM_TENANT, /* the token's tenant_id -- never the request */
	PARAM_PATH_ID,
	PARAM_QUERY,  /* ?name=..., deflt when absent (NULL -> SQL NULL) */
	PARAM_BODY,   /* the request's JSON body */
	PARAM_PATTERN /* the tenant-confined invalidation pattern */
};

struct route_param {
	enum param_source source;
	const char *name; /* query parameter name */
	const char *deflt;
};

#define ROUTE_MAX_PARAMS 8

struct route {
	const char *method;
	const char *pattern; /* "/api/v1/risks/{id}" */
	enum route_kind kind;
	enum role min_role;
	const char *sql; /* NULL: no database statement */
	const char *what; /* "risk" -> "risk not found" */
	int nparams;
	struct route_param params[ROUTE_MAX_PARAMS];
};

extern const struct route routes[];
extern const int nroutes;

/* Index of r in routes[] (also its prepared statement number). */
int route_index(const struct route *r);

#endif
