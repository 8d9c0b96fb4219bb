/*
 * fuzz_json_body.c -- request bodies: the JSON acceptance rules of
 * request_body.c's request_read_json(), and the JSON error body built from
 * what the client sent.
 *
 * request_read_json() itself needs a civetweb connection, so this target applies
 * its exact acceptance rules (one complete json-c parse, nothing after it,
 * no NUL inside, an object at the top) to the fuzzed bytes.  Invariant:
 * every error body that fits is JSON that parses back with the code we put
 * in.  (Whether an invalidation pattern stays inside the caller's tenant is
 * decided in SQL, by openrisk.cache_invalidate_tenant: see
 * test/pgtap/33_bad_input.sql and test/reliability/security.py.)
 */
#include <json-c/json.h>

#include "errors.h"
#include "fuzz.h"

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
			check_error_body("bad_request", json_object_get_string(v));
		/* a body is passed to PostgreSQL as text: it must be what we parsed */
		FUZZ_ASSERT(strlen(buf) == len);
	}
	json_object_put(obj);
	json_tokener_free(tok);
	/* the raw bytes as an error message, too */
	check_error_body("bad_request", buf);
	free(buf);
	return 0;
}
