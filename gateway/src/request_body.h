/*
 * request_body.h -- reading a request's JSON body, within its limits.
 *
 * The body is read whole (bounded by --max-body) and parsed once: the
 * database gets exactly the text that was validated here, and a body that
 * is not one complete JSON object never costs a database round trip.
 */
#ifndef OPENRISK_REQUEST_BODY_H
#define OPENRISK_REQUEST_BODY_H

#include <json-c/json.h>
#include <stddef.h>

#include "request.h"

/*
 * Read and parse the JSON body (at most max_body bytes).  Returns 0 with
 * the text in *body (caller frees) and, when parsed is non-NULL, the
 * object in *parsed (caller puts); or replies itself (415, 413, 400, 503)
 * and returns that status.
 */
int request_read_json(struct request *req, size_t max_body, char **body, json_object **parsed);

#endif
