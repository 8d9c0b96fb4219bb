/*
 * fuzz_router.c -- (method, path) -> route, on arbitrary bytes.
 *
 * Input: "<method>\0<path>".  The router copies the {id} segment into a
 * fixed buffer and builds the Allow list with strcat: exactly the code a
 * long or odd path reaches first.  Invariants: a match points into the
 * route table with the method asked for, its id fits and is a real
 * segment of the path (no '/', never empty); a 405 names an Allow list.
 */
#include "fuzz.h"
#include "router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct route_match m;
	char *method, *path;

	fuzz_split(data, len, &method, &path);
	router_match(method, path, &m);
	switch (m.status) {
	case MATCH_OK:
		FUZZ_ASSERT(m.route >= routes && m.route < routes + nroutes);
		FUZZ_ASSERT(strcmp(m.route->method, method) == 0);
		FUZZ_ASSERT(strlen(m.id) < ROUTE_ID_MAX);
		FUZZ_ASSERT(strchr(m.id, '/') == NULL);
		if (strstr(m.route->pattern, "{id}"))
			FUZZ_ASSERT(m.id[0] != '\0' && strstr(path, m.id) != NULL);
		break;
	case MATCH_BAD_METHOD:
		FUZZ_ASSERT(m.route == NULL && m.allow[0] != '\0' && strlen(m.allow) < sizeof m.allow);
		break;
	case MATCH_NOT_FOUND:
		FUZZ_ASSERT(m.route == NULL);
		break;
	}
	free(method);
	free(path);
	return 0;
}
