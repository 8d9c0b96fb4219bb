/*
 * fuzz_json_body.c -- request bodies: the JSON acceptance rules of
 * request_body.c's request_read_json(), then POST /cache/invalidate's pattern
 * confinement (cache_scope_check) and the JSON error body built from what
 * the client sent.
 *
 * request_read_json() itself needs a civetweb connection, so this target applies
 * its exact acceptance rules (one complete json-c parse, nothing after it,
 * no NUL inside, an object at the top) to the fuzzed bytes.  Invariants:
 * an accepted pattern names exactly the caller's tenant as its third
 * segment and keeps a tenant-scoped namespace; every error body that fits is JSON
 * that parses back with the code we put in.
 */
#include <json-c/json.h>

#include "cache_scope.h"
#include "errors.h"
#include "fuzz.h"

static const char tenant[] = "00000000-0000-4000-8000-000000000001";

static void check_error_body(const char *code, const char *message)
{
	char out[1024];
	int n = error_body(code, message, out, sizeof out);
	json_object *o, *e, *c;

	/* -1: the escaped message does not fit; reply_error() then sends a fixed body */
	if (n < 0)
		return;
	FUZZ_ASSERT((size_t)n == strlen(out));
	o = json_tokener_parse(out);
	FUZZ_ASSERT(o && json_object_object_get_ex(o, "error", &e) && json_object_object_get_ex(e, "code", &c));
	FUZZ_ASSERT(strcmp(json_object_get_string(c), code) == 0);
	json_object_put(o);
}

static void check_pattern(const char *pattern)
{
	char out[512], err[200];
	static const char *const ns[] = {"risk:", "dashboard:", "app:", "report:", NULL};
	const char *third;
	int known = 0;

	if (cache_scope_check(pattern, tenant, out, sizeof out, err, sizeof err) < 0) {
		FUZZ_ASSERT(strlen(err) < sizeof err && err[0]);
		check_error_body("forbidden", err);
		return;
	}
	for (int i = 0; ns[i]; i++)
		known |= strncmp(out, ns[i], strlen(ns[i])) == 0;
	FUZZ_ASSERT(known);
	third = strchr(strchr(out, ':') + 1, ':');
	FUZZ_ASSERT(third && strncmp(third + 1, tenant, sizeof tenant - 1) == 0);
	FUZZ_ASSERT(third[sizeof tenant] == '\0' || third[sizeof tenant] == ':');
	FUZZ_ASSERT(strlen(out) == strlen(pattern));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *buf = fuzz_cstr(data, len);
	json_tokener *tok = json_tokener_new();
	json_object *obj = json_tokener_parse_ex(tok, buf, (int)len), *v;

	if (json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) != len ||
	    strlen(buf) != len) {
		check_error_body("bad_request", json_tokener_error_desc(json_tokener_get_error(tok)));
	} else if (json_object_is_type(obj, json_type_object)) {
		if (json_object_object_get_ex(obj, "pattern", &v) && json_object_is_type(v, json_type_string))
			check_pattern(json_object_get_string(v));
		/* a body is passed to PostgreSQL as text: it must be what we parsed */
		FUZZ_ASSERT(strlen(buf) == len);
	}
	json_object_put(obj);
	json_tokener_free(tok);
	/* the raw bytes as a pattern and as an error message, too */
	check_pattern(buf);
	check_error_body("bad_request", buf);
	free(buf);
	return 0;
}
