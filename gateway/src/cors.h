/*
 * cors.h -- Cross-Origin Resource Sharing: which browser origins may call
 * the API, and the headers that say so.
 *
 * None by default: without --cors-origins the gateway sends no CORS header
 * at all and a browser on another origin cannot read a reply.  With it:
 *
 *   - a request whose Origin is allowed gets Access-Control-Allow-Origin
 *     naming that origin (or "*" when every origin is allowed and
 *     credentials are not), Access-Control-Expose-Headers, and, when
 *     --cors-credentials is on, Access-Control-Allow-Credentials: true --
 *     never together with "*" (browsers refuse it, and "any site with the
 *     user's cookies" is never what an operator means: the configuration
 *     is refused at start-up);
 *   - every reply says Vary: Origin, so a shared cache never serves one
 *     origin's reply to another;
 *   - a preflight (OPTIONS with Origin and Access-Control-Request-Method)
 *     of an allowed origin and method is 204 with the Allow-* headers and
 *     Max-Age; of another origin or method it is 403 origin_not_allowed.
 *
 * Pure string code (no civetweb): unit-tested and fuzzable.
 */
#ifndef OPENRISK_CORS_H
#define OPENRISK_CORS_H

#include <stddef.h>

#define CORS_MAX_ORIGINS 16

struct cors_policy {
	int enabled;     /* any origin configured */
	int any;         /* "*" */
	int credentials; /* Access-Control-Allow-Credentials: true */
	int max_age_s;   /* preflight cache */
	int norigins;
	char origins[CORS_MAX_ORIGINS][128]; /* "https://app.example.com", exact */
};

/*
 * Parse "https://a.example, https://b.example" or "*" (empty: disabled).
 * Returns 0, or -1 with a sentence in err (an origin that is not
 * scheme://host[:port], too many, "*" with credentials).
 */
int cors_parse(const char *list, int credentials, int max_age_s, struct cors_policy *p, char *err,
	       size_t errlen);

/* Is this Origin header value allowed? */
int cors_origin_allowed(const struct cors_policy *p, const char *origin);

/*
 * The header lines for a reply to a request with this Origin (NULL: none):
 * "" when CORS is disabled.  Returns the length, or -1 when out is too
 * small.
 */
int cors_reply_headers(const struct cors_policy *p, const char *origin, char *out, size_t outlen);

/*
 * A preflight: 1 and its header lines in out when origin and the requested
 * method (one of allow, e.g. "GET, POST") are allowed, else 0.
 */
int cors_preflight(const struct cors_policy *p, const char *origin, const char *method, const char *allow,
		   char *out, size_t outlen);

/* The request headers a browser may send (Access-Control-Allow-Headers). */
#define CORS_ALLOW_HEADERS "Authorization, Content-Type, If-None-Match, If-Match, Last-Event-ID"
/* The reply headers a browser's script may read. */
#define CORS_EXPOSE_HEADERS "X-Request-Id, X-Cache, ETag, Location, Retry-After, Link, Server-Timing, Content-Disposition"

#endif
