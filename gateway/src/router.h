/*
 * router.h -- map (method, path) to a route of routes.c.
 *
 * Literal segments beat {id} segments, whatever the table order: OpenRisk's
 * own router let /risks/{id} swallow /risks/search, and a router whose
 * correctness depends on row order would let the next added row do it
 * again.  A path known under another method is 405 with Allow, not 404.
 */
#ifndef OPENRISK_ROUTER_H
#define OPENRISK_ROUTER_H

#include "routes.h"

enum match_status {
	MATCH_OK,
	MATCH_NOT_FOUND,
	MATCH_BAD_METHOD
};

#define ROUTE_ID_MAX 128

struct route_match {
	enum match_status status;
	const struct route *route;
	char id[ROUTE_ID_MAX]; /* the {id} segment, when the pattern has one */
	char allow[64];        /* for MATCH_BAD_METHOD: "GET, PATCH, DELETE" */
};

void router_match(const char *method, const char *path, struct route_match *m);

/* The same against any table (tests prove precedence is order-independent). */
void router_match_in(const struct route *table, int n, const char *method, const char *path,
		     struct route_match *m);

#endif
