/*
 * cors.c -- the CORS policy (see cors.h).
 */
#include "cors.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* scheme://host[:port], no path, no trailing slash, printable ASCII. */
static int origin_shaped(const char *text, size_t n)
{
	char o[sizeof((struct cors_policy *)0)->origins[0]];
	const char *sep;

	if (n == 0 || n >= sizeof o)
		return 0;
	memcpy(o, text, n);
	o[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (!isgraph((unsigned char)o[i]) || o[i] == ',' || o[i] == '*')
			return 0;
	sep = strstr(o, "://");
	return sep && sep != o && sep[3] != '\0' && strchr(sep + 3, '/') == NULL;
}

int cors_parse(const char *list, int credentials, int max_age_s, struct cors_policy *p, char *err,
	       size_t errlen)
{
	const char *s = list ? list : "";

	memset(p, 0, sizeof *p);
	p->credentials = credentials;
	p->max_age_s = max_age_s;
	while (*s) {
		const char *e;
		size_t n;

		while (*s == ' ' || *s == ',')
			s++;
		if (!*s)
			break;
		e = s;
		while (*e && *e != ',' && *e != ' ')
			e++;
		n = (size_t)(e - s);
		if (n == 1 && *s == '*')
			p->any = 1;
		else if (!origin_shaped(s, n)) {
			snprintf(err, errlen, "--cors-origins: \"%.*s\" is not an origin like https://app.example.com",
				 (int)(n > 80 ? 80 : n), s);
			return -1;
		} else if (p->norigins == CORS_MAX_ORIGINS) {
			snprintf(err, errlen, "--cors-origins: at most %d origins", CORS_MAX_ORIGINS);
			return -1;
		} else {
			memcpy(p->origins[p->norigins], s, n);
			p->origins[p->norigins++][n] = '\0';
		}
		s = e;
	}
	p->enabled = p->any || p->norigins > 0;
	if (p->any && credentials) {
		snprintf(err, errlen, "--cors-origins \"*\" cannot be combined with --cors-credentials on: "
				      "name the origins that may send credentials");
		return -1;
	}
	return 0;
}

int cors_origin_allowed(const struct cors_policy *p, const char *origin)
{
	if (!p->enabled || !origin || !*origin)
		return 0;
	if (p->any)
		return 1;
	for (int i = 0; i < p->norigins; i++)
		if (strcasecmp(p->origins[i], origin) == 0)
			return 1;
	return 0;
}

/* Access-Control-Allow-Origin (+ Credentials) for an allowed origin. */
static int allow_lines(const struct cors_policy *p, const char *origin, char *out, size_t outlen)
{
	char safe[128];
	size_t n = 0;

	/* an allowed origin is one of ours (or any, when "*"): echo it only
	 * when it is header-safe, otherwise answer "*" */
	for (const char *c = origin; *c && n + 1 < sizeof safe; c++)
		if (isgraph((unsigned char)*c))
			safe[n++] = *c;
	safe[n] = '\0';
	if (p->any)
		return snprintf(out, outlen, "Access-Control-Allow-Origin: *\r\n");
	return snprintf(out, outlen, "Access-Control-Allow-Origin: %s\r\n%s", safe,
			p->credentials ? "Access-Control-Allow-Credentials: true\r\n" : "");
}

int cors_reply_headers(const struct cors_policy *p, const char *origin, char *out, size_t outlen)
{
	char allow[256] = "";
	int n;

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (!p->enabled)
		return 0;
	if (cors_origin_allowed(p, origin) && allow_lines(p, origin, allow, sizeof allow) < 0)
		return -1;
	n = snprintf(out, outlen, "Vary: Origin\r\n%s%s", allow,
		     allow[0] ? "Access-Control-Expose-Headers: " CORS_EXPOSE_HEADERS "\r\n" : "");
	return (n < 0 || (size_t)n >= outlen) ? -1 : n;
}

/* Is method one of the comma-separated list? */
static int method_listed(const char *allow, const char *method)
{
	size_t ml = strlen(method);

	for (const char *s = allow; s && *s;) {
		const char *e = strchr(s, ',');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n == ml && strncmp(s, method, n) == 0)
			return 1;
		s = e ? e + 1 : NULL;
		while (s && *s == ' ')
			s++;
	}
	return 0;
}

int cors_preflight(const struct cors_policy *p, const char *origin, const char *method, const char *allow,
		   char *out, size_t outlen)
{
	char lines[256];
	int n;

	if (!cors_origin_allowed(p, origin) || !method || !method_listed(allow, method))
		return 0;
	if (allow_lines(p, origin, lines, sizeof lines) < 0)
		return 0;
	n = snprintf(out, outlen,
		     "Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers\r\n%s"
		     "Access-Control-Allow-Methods: %s\r\n"
		     "Access-Control-Allow-Headers: " CORS_ALLOW_HEADERS "\r\n"
		     "Access-Control-Max-Age: %d\r\n",
		     lines, allow, p->max_age_s);
	return (n > 0 && (size_t)n < outlen) ? 1 : 0;
}
