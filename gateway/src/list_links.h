/*
 * list_links.h -- the Link header of a list reply (RFC 8288): rel="next"
 * and rel="prev" built from the reply's own envelope.
 *
 * Every collection has one envelope (sql/40_risk_list.sql):
 *   {"total" : n, "page" : n|null, "page_size" : n, "next" : "cursor"|null, ..., "items" : [...]}
 * with its scalars before "items", so the head of the text is read here --
 * never the items (a page of 200 risks is ~100 kB; this reads ~100 bytes).
 *
 *   next: the `next` cursor when there is one: the same request with
 *         after=<cursor> instead of page/after; on numbered pages without
 *         a cursor, page+1 while page * page_size < total;
 *   prev: numbered pages only (page > 1): page-1.  A cursor page has no
 *         known previous page.
 * Every other query parameter is kept as the client sent it.  Targets are
 * path-absolute references ("/api/v1/risks?..."), resolved against the
 * request URL.  Pure string code: unit-tested and fuzzed.
 */
#ifndef OPENRISK_LIST_LINKS_H
#define OPENRISK_LIST_LINKS_H

#include <stddef.h>

struct list_envelope {
	long long total;     /* -1: absent */
	long long page;      /* -1: null or absent (a cursor page) */
	long long page_size; /* -1: absent */
	char next[1500];     /* "" when null or absent */
};

/* Read the envelope's leading scalars from a list body; 0, or -1 when the
 * body does not start like an envelope. */
int list_envelope_read(const char *body, size_t len, struct list_envelope *env);

/*
 * Write "Link: <...>; rel=\"next\", <...>; rel=\"prev\"\r\n" (or "" when
 * neither applies) for a request of path?query whose reply has env.
 * Returns the length written, or -1 when out is too small.
 */
int list_link_header(const char *path, const char *query, const struct list_envelope *env, char *out,
		     size_t outlen);

#endif
