/*
 * fuzz_query.c -- query strings: percent-decoding, parameter lookup and
 * the unknown-parameter check, on arbitrary bytes.
 *
 * Input: "<query string>\0<parameter name>".  Every route's parameter list
 * is used as the "known" list, as pipeline.c does.  Invariants: decoded
 * values are NUL-terminated, fit their buffer, contain no NUL and are never
 * longer than their encoding; a rejected name is reported NUL-terminated
 * inside its buffer.
 */
#include "fuzz.h"
#include "query.h"
#include "routes.h"

#define VALUE_MAX 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *qs, *name, out[VALUE_MAX], small[8], bad[64];
	int n;

	fuzz_split(data, len, &qs, &name);

	n = url_decode(qs, strlen(qs), out, sizeof out);
	if (n >= 0)
		FUZZ_ASSERT((size_t)n == strlen(out) && (size_t)n <= strlen(qs) && (size_t)n < sizeof out);
	n = url_decode(qs, strlen(qs), small, sizeof small);
	if (n >= 0)
		FUZZ_ASSERT((size_t)n == strlen(small) && (size_t)n < sizeof small);

	n = query_get(qs, name, out, sizeof out);
	FUZZ_ASSERT(n >= -1 && n <= 1);
	if (n == 1)
		FUZZ_ASSERT(strlen(out) < sizeof out);
	for (int r = 0; r < nroutes; r++) {
		const char *known[ROUTE_MAX_PARAMS + 1];
		int k = 0;

		for (int i = 0; i < routes[r].nparams; i++)
			if (routes[r].params[i].source == PARAM_QUERY) {
				known[k++] = routes[r].params[i].name;
				if (query_get(qs, routes[r].params[i].name, out, sizeof out) == 1)
					FUZZ_ASSERT(strlen(out) < sizeof out);
			}
		known[k] = NULL;
		memset(bad, 'x', sizeof bad);
		if (query_check_names(qs, known, bad, sizeof bad) < 0)
			FUZZ_ASSERT(memchr(bad, '\0', sizeof bad) != NULL);
	}
	free(qs);
	free(name);
	return 0;
}
