/*
 * fake_civetweb.h -- a civetweb connection made of memory, for the server
 * tests.
 *
 * civetweb keeps struct mg_connection opaque, so a test binary that links
 * this file instead of -lcivetweb can define it: the request is a method,
 * a target, headers and a body set by the test; everything the gateway
 * writes lands in `out`, and the test reads the reply back (status,
 * headers, body) and how many writes it took (the gateway promises one).
 * Only the calls the gateway's request path makes are implemented.
 */
#ifndef OPENRISK_FAKE_CIVETWEB_H
#define OPENRISK_FAKE_CIVETWEB_H

#include <civetweb.h>
#include <stddef.h>

#define FAKE_MAX_HEADERS 16

struct mg_connection {
	struct mg_request_info ri;
	char method[16], path[512], query[512];
	const char *names[FAKE_MAX_HEADERS], *values[FAKE_MAX_HEADERS];
	int nheaders;
	const char *body; /* the request body (not copied) */
	size_t body_len, body_read;
	char out[1 << 16]; /* everything written, NUL-terminated */
	size_t out_len;
	int writes;
	int keep_alive_disabled;
};

/*
 * A new request: "GET", "/api/v1/risks?page=2"; body NULL for none (its
 * Content-Length is then absent, -1).  Headers are added with fake_header.
 */
void fake_request(struct mg_connection *c, const char *method, const char *target, const char *body);

/* Add a request header (the strings are not copied). */
void fake_header(struct mg_connection *c, const char *name, const char *value);

/* The reply's status code, or -1 when nothing well-formed was written. */
int fake_status(const struct mg_connection *c);

/* A reply header's value copied into out, or NULL when absent. */
const char *fake_reply_header(const struct mg_connection *c, const char *name, char *out, size_t outlen);

/* The reply body (after the blank line); "" when there is none. */
const char *fake_body(const struct mg_connection *c);

#endif
