/*
 * query.h -- query-string access: find one parameter, URL-decoded, and
 * check that a query names only parameters a route knows.
 *
 * Pure string code (no civetweb) because it runs on attacker-controlled
 * bytes and is a natural fuzzing target.
 */
#ifndef OPENRISK_QUERY_H
#define OPENRISK_QUERY_H

#include <stddef.h>

/*
 * Copy the decoded value of the first `name` parameter of qs into out.
 * Returns 1 when found, 0 when absent, -1 when the value is malformed
 * (bad %-escape, NUL byte) or longer than outlen - 1.
 */
int query_get(const char *qs, const char *name, char *out, size_t outlen);

/*
 * Check every parameter name of qs against the NULL-terminated list
 * `known`.  Returns 0, or -1 with the offending (decoded, truncated) name
 * copied into bad.
 */
int query_check_names(const char *qs, const char *const *known, char *bad, size_t badlen);

/* Decode %XX and '+' from in[0..len) into out; -1 when malformed or too long. */
int url_decode(const char *in, size_t len, char *out, size_t outlen);

#endif
