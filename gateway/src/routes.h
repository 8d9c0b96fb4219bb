/*
 * routes.h -- the REST API as data: every route's method, path pattern,
 * minimum role, the one prepared statement it runs, how request parts map
 * to that statement's parameters, and what its result becomes.
 *
 * The pipeline stays generic because the differences between endpoints
 * live here, as data (reply kind, Location template, parameter sources
 * and defaults); adding an endpoint is adding a row.  No civetweb or libpq, so the table itself
 * is covered by unit tests (every route reachable, search and matrix not
 * captured by {id}, statements well-formed).
 */
#ifndef OPENRISK_ROUTES_H
#define OPENRISK_ROUTES_H

#include <stddef.h>

#include "auth_jwt.h"
#include "statements.h"

/* What the pipeline does with the statement's result. */
enum route_kind {
	KIND_READ,   /* SELECT value, hit, etag: 200 + X-Cache + ETag, or 304; NULL -> 404 */
	KIND_LIST,   /* a KIND_READ whose body is a list envelope: also Link rel=next/prev */
	KIND_CREATE, /* 201 + Location (the route's template, {id} = second column) */
	KIND_UPDATE, /* 200, NULL -> 404 */
	KIND_DELETE, /* 204, false -> 404 */
	KIND_JSON,   /* 200 with the first column */
	KIND_HEALTH, /* 200 UP, or 503 DOWN when the database does not answer */
	KIND_READY,  /* no statement: 200 once the pool reached PostgreSQL */
	KIND_EXPORT, /* the statement batch after batch, streamed (export.c) */
	KIND_EVENTS  /* no statement: a Server-Sent Events stream (events.c) */
};

/* Where one statement parameter comes from. */
enum param_source {
	PARAM_TENANT,     /* the token's tenant_id -- never the request */
	PARAM_PATH_ID,    /* the {id} path segment */
	PARAM_QUERY,      /* ?name=..., deflt when absent (NULL -> SQL NULL) */
	PARAM_BODY,       /* the request's JSON body, as text */
	PARAM_BODY_FIELD, /* one string field of the JSON body */
	PARAM_HEADER,     /* a request header's value (name), NULL when absent */
	PARAM_ACTOR,      /* the token's sub: who writes, for the audit trail */
	PARAM_REQUEST_ID, /* this request's id, recorded with the write */
	PARAM_CURSOR      /* KIND_EXPORT: NULL, then the cursor of each next batch */
};

struct route_param {
	enum param_source source;
	const char *name;  /* query parameter, body field or header name */
	const char *deflt; /* PARAM_QUERY: bound when absent */
	const char *shape; /* PARAM_BODY_FIELD: the value's shape, for the 400 message */
	int integer;       /* PARAM_QUERY: must be an integer (checked before binding: QI) */
};

#define ROUTE_MAX_PARAMS 20

struct route {
	const char *method;
	const char *pattern; /* "/api/v1/risks/{id}" */
	enum route_kind kind;
	enum role min_role;
	enum statement_id stmt; /* STMT_NONE: no database statement */
	const char *what;       /* "risk" -> "risk not found" */
	const char *location;   /* KIND_CREATE: Location template, "{id}" filled in */
	int nparams;
	struct route_param params[ROUTE_MAX_PARAMS];
};

extern const struct route routes[];
extern const int nroutes;

/* Index of r in routes[] (the metrics' route label slot). */
int route_index(const struct route *r);

/*
 * May a failed attempt of this route run again?  Only GET routes: they
 * change nothing, while a write whose connection died may have committed.
 */
/* A read the extension caches (KIND_READ, KIND_LIST): one a replica may answer. */
int route_is_cached_read(const struct route *r);

int route_is_retryable(const struct route *r);

/* Does the route read the request body (PARAM_BODY or PARAM_BODY_FIELD)? */
int route_reads_body(const struct route *r);

/*
 * Fill a "/api/v1/risks/{id}" template with id into out; the length, or -1
 * when the template has no {id} or out is too small.
 */
int route_expand(const char *tmpl, const char *id, char *out, size_t outlen);

#endif
