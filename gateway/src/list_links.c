/*
 * list_links.c -- the Link header of list replies (see list_links.h).
 */
#include "list_links.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
		p++;
	return p;
}

/* A JSON string at p (after its opening quote): its end (the closing
 * quote), or NULL.  Escapes are skipped, not decoded. */
static const char *string_end(const char *p, const char *end)
{
	while (p < end && *p != '"') {
		if (*p == '\\')
			p++;
		p++;
	}
	return p < end ? p : NULL;
}

int list_envelope_read(const char *body, size_t len, struct list_envelope *env)
{
	const char *p = body, *end = body + len;

	env->total = env->page = env->page_size = -1;
	env->next[0] = '\0';
	p = skip_ws(p, end);
	if (p >= end || *p != '{')
		return -1;
	p++;
	for (;;) {
		const char *k, *ke, *v;
		size_t kl;

		p = skip_ws(p, end);
		if (p >= end || *p != '"')
			return -1;
		k = p + 1;
		if (!(ke = string_end(k, end)))
			return -1;
		kl = (size_t)(ke - k);
		p = skip_ws(ke + 1, end);
		if (p >= end || *p != ':')
			return -1;
		p = skip_ws(p + 1, end);
		if (p >= end)
			return -1;
		if (*p == '[' || *p == '{')
			return 0; /* the items: everything we read is before them */
		v = p;
		if (*p == '"') {
			const char *ve = string_end(p + 1, end);
			if (!ve)
				return -1;
			if (kl == 4 && memcmp(k, "next", 4) == 0) {
				size_t vl = (size_t)(ve - v - 1);
				/* a cursor is base64url: anything else is not ours to link */
				if (vl < sizeof env->next && strspn(v + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
									   "0123456789-_") >= vl) {
					memcpy(env->next, v + 1, vl);
					env->next[vl] = '\0';
				}
			}
			p = ve + 1;
		} else {
			char *num_end;
			long long n = strtoll(p, &num_end, 10);

			if (num_end > p && num_end <= end) {
				if (kl == 5 && memcmp(k, "total", 5) == 0)
					env->total = n;
				else if (kl == 4 && memcmp(k, "page", 4) == 0)
					env->page = n;
				else if (kl == 9 && memcmp(k, "page_size", 9) == 0)
					env->page_size = n;
			}
			while (p < end && *p != ',' && *p != '}')
				p++; /* null, true, false, or the rest of a number */
		}
		p = skip_ws(p, end);
		if (p >= end)
			return -1;
		if (*p == '}')
			return 0;
		if (*p != ',')
			return -1;
		p++;
	}
}

/* The query without its page and after parameters (names compared
 * decoded), then "&" if anything is left. */
static int kept_query(const char *query, char *out, size_t outlen)
{
	size_t n = 0;

	out[0] = '\0';
	for (const char *p = query; p && *p;) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		size_t nlen = eq ? (size_t)(eq - p) : len;
		char name[32];

		if (len > 0 && !(url_decode(p, nlen, name, sizeof name) >= 0 &&
				 (strcmp(name, "page") == 0 || strcmp(name, "after") == 0))) {
			if (n + len + 2 > outlen)
				return -1;
			memcpy(out + n, p, len);
			n += len;
			out[n++] = '&';
			out[n] = '\0';
		}
		p = amp ? amp + 1 : NULL;
	}
	return (int)n;
}

int list_link_header(const char *path, const char *query, const struct list_envelope *env, char *out,
		     size_t outlen)
{
	char kept[2048];
	int n = 0, w;

	if (outlen == 0 || kept_query(query, kept, sizeof kept) < 0)
		return -1;
	out[0] = '\0';
	if (env->next[0])
		w = snprintf(out, outlen, "Link: <%s?%safter=%s>; rel=\"next\"", path, kept, env->next);
	else if (env->page >= 1 && env->page_size >= 1 && env->total >= 0 && env->page * env->page_size < env->total)
		w = snprintf(out, outlen, "Link: <%s?%spage=%lld>; rel=\"next\"", path, kept, env->page + 1);
	else
		w = 0;
	if (w < 0 || (size_t)w >= outlen)
		return -1;
	n = w;
	if (env->page > 1) {
		w = snprintf(out + n, outlen - n, "%s<%s?%spage=%lld>; rel=\"prev\"", n ? ", " : "Link: ", path, kept,
			     env->page - 1);
		if (w < 0 || (size_t)w >= outlen - n)
			return -1;
		n += w;
	}
	if (n) {
		if ((size_t)n + 3 > outlen)
			return -1;
		memcpy(out + n, "\r\n", 3);
		n += 2;
	}
	return n;
}
