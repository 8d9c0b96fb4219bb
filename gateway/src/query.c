/*
 * query.c -- query-string parsing (see query.h).
 *
 * "+" is a space and "%XX" a byte, as browsers and curl --data-urlencode
 * produce them.  Decoded NUL bytes are refused: they would silently
 * truncate a C string on its way to PostgreSQL, which refuses them anyway.
 */
#include "query.h"

#include <ctype.h>
#include <string.h>

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int url_decode(const char *in, size_t len, char *out, size_t outlen)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)in[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= len)
				return -1;
			hi = hexval((unsigned char)in[i + 1]);
			lo = hexval((unsigned char)in[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		} else if (c == '+')
			c = ' ';
		if (c == 0 || n + 1 >= outlen)
			return -1;
		out[n++] = (char)c;
	}
	if (outlen == 0)
		return -1;
	out[n] = '\0';
	return (int)n;
}

/* Walk qs's "name=value" pairs; calls fn until it returns non-zero. */
typedef int (*pair_fn)(const char *name, size_t nlen, const char *value, size_t vlen, void *arg);

static int each_pair(const char *qs, pair_fn fn, void *arg)
{
	const char *p = qs;

	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		size_t nlen = eq ? (size_t)(eq - p) : len;
		int rc;

		if (len > 0) {
			rc = fn(p, nlen, eq ? eq + 1 : p + len, eq ? len - nlen - 1 : 0, arg);
			if (rc)
				return rc;
		}
		p = amp ? amp + 1 : NULL;
	}
	return 0;
}

struct get_state {
	const char *name;
	char *out;
	size_t outlen;
};

static int get_pair(const char *name, size_t nlen, const char *value, size_t vlen, void *arg)
{
	struct get_state *st = arg;
	char decoded[64];

	if (url_decode(name, nlen, decoded, sizeof decoded) < 0 || strcmp(decoded, st->name) != 0)
		return 0;
	return url_decode(value, vlen, st->out, st->outlen) < 0 ? -1 : 1;
}

int query_get(const char *qs, const char *name, char *out, size_t outlen)
{
	struct get_state st = {name, out, outlen};

	if (!qs)
		return 0;
	return each_pair(qs, get_pair, &st);
}

struct check_state {
	const char *const *known;
	char *bad;
	size_t badlen;
};

static int check_pair(const char *name, size_t nlen, const char *value, size_t vlen, void *arg)
{
	struct check_state *st = arg;
	char decoded[64];

	(void)value;
	(void)vlen;
	if (url_decode(name, nlen, decoded, sizeof decoded) >= 0)
		for (const char *const *k = st->known; *k; k++)
			if (strcmp(*k, decoded) == 0)
				return 0;
	if (st->badlen > 0) {
		size_t n = nlen < st->badlen - 1 ? nlen : st->badlen - 1;
		memcpy(st->bad, name, n);
		st->bad[n] = '\0';
	}
	return -1;
}

int query_check_names(const char *qs, const char *const *known, char *bad, size_t badlen)
{
	struct check_state st = {known, bad, badlen};

	if (!qs)
		return 0;
	return each_pair(qs, check_pair, &st);
}
