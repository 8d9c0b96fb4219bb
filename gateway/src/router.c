/*
 * router.c -- segment-by-segment matching with literal-first precedence.
 *
 * A pattern's score is its number of literal segments; the best-scoring
 * patterns whose shape fits the path win.  Among them the method decides,
 * and when no method fits, Allow lists the methods that would have.  The
 * table is small (tens of rows), so a linear scan beats any trie here.
 */
#include "router.h"

#include <stdio.h>
#include <string.h>

/*
 * Does path fit pattern?  Returns the literal-segment score, or -1.  The
 * {id} segment is copied into id (bounded; an over-long id does not match).
 */
static int match_pattern(const char *pattern, const char *path, char *id, size_t idlen)
{
	int score = 0;
	const char *p = pattern, *s = path;

	for (;;) {
		const char *pe, *se;
		size_t plen, slen;

		if (*p != '/' || *s != '/')
			return (*p == '\0' && *s == '\0') ? score : -1;
		p++;
		s++;
		pe = strchr(p, '/');
		se = strchr(s, '/');
		plen = pe ? (size_t)(pe - p) : strlen(p);
		slen = se ? (size_t)(se - s) : strlen(s);
		if (slen == 0)
			return -1; /* empty segment: "//" or trailing "/" */
		if (plen == 4 && memcmp(p, "{id}", 4) == 0) {
			if (slen >= idlen)
				return -1;
			memcpy(id, s, slen);
			id[slen] = '\0';
		} else if (plen == slen && memcmp(p, s, plen) == 0)
			score++;
		else
			return -1;
		p += plen;
		s += slen;
	}
}

void router_match(const char *method, const char *path, struct route_match *m)
{
	router_match_in(routes, nroutes, method, path, m);
}

void router_match_in(const struct route *table, int n, const char *method, const char *path,
		     struct route_match *m)
{
	int best = -1;
	char id[ROUTE_ID_MAX] = "";

	m->status = MATCH_NOT_FOUND;
	m->route = NULL;
	m->id[0] = m->allow[0] = '\0';
	if (!path || !method)
		return;

	/* first pass: the best score among patterns that fit the path at all */
	for (int i = 0; i < n; i++) {
		int sc = match_pattern(table[i].pattern, path, id, sizeof id);
		if (sc > best)
			best = sc;
	}
	if (best < 0)
		return;

	/* second pass: among the best, the one with this method */
	for (int i = 0; i < n; i++) {
		if (match_pattern(table[i].pattern, path, id, sizeof id) != best)
			continue;
		if (strcmp(table[i].method, method) == 0) {
			m->status = MATCH_OK;
			m->route = &table[i];
			memcpy(m->id, id, sizeof id);
			return;
		}
		if (strlen(m->allow) + strlen(table[i].method) + 3 < sizeof m->allow) {
			if (m->allow[0])
				strcat(m->allow, ", ");
			strcat(m->allow, table[i].method);
		}
	}
	m->status = MATCH_BAD_METHOD;
}
