/*
 * errors.h -- what the client is told when something goes wrong.
 *
 * Two decisions live here, away from the HTTP plumbing so they can be unit
 * tested: how a PostgreSQL SQLSTATE maps to an HTTP status and error code
 * (and whether the database's message may be shown), and how the JSON error
 * body {"error":{"code","message"}} is built.  Nothing in here ever emits
 * SQL text or a stack: only messages the endpoint functions wrote for users.
 */
#ifndef OPENRISK_ERRORS_H
#define OPENRISK_ERRORS_H

#include <stddef.h>

struct sql_error_map {
	int status;          /* HTTP status */
	const char *code;    /* machine-readable error code: one per kind of failure */
	int show_db_message; /* 1: the endpoint's own sentence may be passed on */
	int retryable;       /* 1: add Retry-After */
	const char *message; /* the client's sentence when the database's is not shown */
};

/*
 * Map a five-character SQLSTATE (NULL: connection lost) to a reply.
 * from_our_code says the error was raised by the extension's own code
 * (a PL/pgSQL RAISE or its tenant check), whose messages are sentences
 * written for users; anything else PostgreSQL said itself ("invalid input
 * syntax for type uuid: ...", "permission denied for function ...") is
 * database text and is replaced by map->message.
 */
void sqlstate_map(const char *sqlstate, int from_our_code, struct sql_error_map *out);

/*
 * Was an error raised by the extension's own code?  source_function is
 * the error's PG_DIAG_SOURCE_FUNCTION field (may be NULL).
 */
int sql_error_is_ours(const char *source_function);

/* The reason phrase for a status line ("Not Found"). */
const char *http_status_text(int status);

/* The generic machine code for a status ("not_found"). */
const char *http_status_code(int status);

/*
 * Write {"error":{"code":code,"message":message}} (JSON-escaped, the
 * message cut at a sane length) into out; returns the length or -1.
 */
int error_body(const char *code, const char *message, char *out, size_t outlen);

#endif
