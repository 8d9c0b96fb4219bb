/*
 * replica_list.c -- parsing and redacting the replica list (see
 * replica_list.h).
 *
 * Every message names the entry by position and shows it redacted: a
 * connection string can carry a password, and configuration errors end
 * up in logs and terminals.
 */
#include "replica_list.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static int is_uri(const char *s, size_t len)
{
	return (len >= 13 && strncmp(s, "postgresql://", 13) == 0) || (len >= 11 && strncmp(s, "postgres://", 11) == 0);
}

void dsn_redact(const char *dsn, char *out, size_t outlen)
{
	size_t o = 0;
	const char *p = dsn, *scheme = strstr(dsn, "://");
	const char *at = NULL, *colon = NULL;

	if (outlen == 0)
		return;
	if (scheme && is_uri(dsn, strlen(dsn))) {
		/* userinfo: between "://" and the last '@' before the host part ends */
		const char *auth = scheme + 3, *end = auth + strcspn(auth, "/?");
		for (const char *q = auth; q < end; q++)
			if (*q == '@')
				at = q;
		if (at)
			colon = memchr(auth, ':', (size_t)(at - auth));
	}
	while (*p && o + 1 < outlen) {
		if (colon && p == colon + 1) {
			o += (size_t)snprintf(out + o, outlen - o, "***");
			p = at;
			continue;
		}
		if (strncmp(p, "password=", 9) == 0 && (p == dsn || strchr("?& \t\n", p[-1]))) {
			char quote = p[9] == '\'' ? '\'' : 0;
			o += (size_t)snprintf(out + o, outlen - o, "password=***");
			p += 9 + (quote ? 1 : 0);
			while (*p && (quote ? *p != quote : !strchr("& \t\n", *p)))
				p += (*p == '\\' && p[1]) ? 2 : 1;
			if (quote && *p)
				p++;
			continue;
		}
		out[o++] = *p++;
	}
	out[o < outlen ? o : outlen - 1] = '\0';
}

/* Does the key=value string s name any keyword twice? The keyword into dup. */
static int repeated_keyword(const char *s, char *dup, size_t duplen)
{
	char seen[32][64];
	int nseen = 0;

	while (*s) {
		size_t klen;

		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		klen = strcspn(s, "= \t");
		for (int i = 0; i < nseen; i++)
			if (strlen(seen[i]) == klen && strncmp(seen[i], s, klen) == 0) {
				snprintf(dup, duplen, "%.*s", (int)klen, s);
				return 1;
			}
		if (nseen < 32 && klen < 64)
			snprintf(seen[nseen++], 64, "%.*s", (int)klen, s);
		s += klen;
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '=')
			s++;
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\'') { /* a quoted value: up to the closing quote */
			for (s++; *s && *s != '\''; s++)
				if (*s == '\\' && s[1])
					s++;
			if (*s)
				s++;
		} else
			while (*s && !isspace((unsigned char)*s))
				s++;
	}
	return 0;
}

/* Append one entry (len bytes at s); 0 or -1 with err. */
static int add_entry(struct replica_list *out, const char *s, size_t len, char *err, size_t errlen)
{
	char shown[REPLICA_DSN_MAX], dup[64];

	if (out->n == REPLICAS_MAX) {
		snprintf(err, errlen, "more than %d replicas listed", REPLICAS_MAX);
		return -1;
	}
	if (len >= REPLICA_DSN_MAX) {
		snprintf(err, errlen, "replica %d is longer than %d characters", out->n + 1, REPLICA_DSN_MAX - 1);
		return -1;
	}
	memcpy(out->dsn[out->n], s, len);
	out->dsn[out->n][len] = '\0';
	dsn_redact(out->dsn[out->n], shown, sizeof shown);
	if (!is_uri(s, len) && !memchr(s, '=', len)) {
		snprintf(err, errlen,
			 "replica %d \"%s\" is neither a postgresql:// URI nor a key=value connection string", out->n + 1,
			 shown);
		return -1;
	}
	if (!is_uri(s, len) && repeated_keyword(out->dsn[out->n], dup, sizeof dup)) {
		snprintf(err, errlen,
			 "replica %d \"%s\" names \"%s\" twice: put each key=value connection string on a line of its own, "
			 "or list postgresql:// URIs separated by blanks",
			 out->n + 1, shown, dup);
		return -1;
	}
	for (int i = 0; i < out->n; i++)
		if (strcmp(out->dsn[i], out->dsn[out->n]) == 0) {
			snprintf(err, errlen, "replica %d \"%s\" is listed twice (also replica %d)", out->n + 1, shown, i + 1);
			return -1;
		}
	out->n++;
	return 0;
}

int replica_list_parse(const char *text, struct replica_list *out, char *err, size_t errlen)
{
	const char *line = text;

	out->n = 0;
	while (line && *line) {
		size_t len = strcspn(line, "\n");
		const char *end = line + len, *s = line;

		while (s < end && isspace((unsigned char)*s))
			s++;
		while (end > s && isspace((unsigned char)end[-1]))
			end--;
		if (s < end && is_uri(s, (size_t)(end - s))) {
			/* blank-separated URIs */
			while (s < end) {
				const char *w = s;
				while (w < end && !isspace((unsigned char)*w))
					w++;
				if (!is_uri(s, (size_t)(w - s))) {
					char raw[REPLICA_DSN_MAX], shown[REPLICA_DSN_MAX];
					snprintf(raw, sizeof raw, "%.*s", (int)(w - s), s);
					dsn_redact(raw, shown, sizeof shown);
					snprintf(err, errlen,
						 "replica %d \"%s\" follows a URI on the same line but is not one: list URIs "
						 "separated by blanks, or one key=value connection string per line",
						 out->n + 1, shown);
					return -1;
				}
				if (add_entry(out, s, (size_t)(w - s), err, errlen) < 0)
					return -1;
				for (s = w; s < end && isspace((unsigned char)*s); s++)
					;
			}
		} else if (s < end && add_entry(out, s, (size_t)(end - s), err, errlen) < 0)
			return -1;
		line = line[len] ? line + len + 1 : NULL;
	}
	return 0;
}
