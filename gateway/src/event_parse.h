/*
 * event_parse.h -- an openrisk_cache notification, turned into what each
 * tenant's event stream may be told.
 *
 * The extension sends one NOTIFY per committed invalidating transaction,
 * its payload a JSON object listing the invalidated patterns
 * ({"patterns": [...], "truncated": bool, ...}) or {"overflow": true}
 * when notifications were lost (docs/CACHING.md).  A tenant's key is
 * <namespace>:<kind>:<tenant>:..., so a pattern whose third segment is a
 * tenant id concerns that tenant only; one without (the global connector
 * catalogue, or every tenant's keys of a family after a TRUNCATE)
 * concerns everyone.  A stream learns which namespaces and kinds changed
 * ("risk", "risk:list") -- never another tenant's id or any key's
 * parameters.
 *
 * Whatever cannot be attributed safely becomes a resync ("assume
 * everything changed"): an overflow, a truncated list, a "*" pattern, a
 * segment that is not a plain lower-case name (so nothing a user typed,
 * e.g. an app's custom key, can reach another tenant), too many tenants
 * or kinds in one payload.  Pure code (json-c only): unit-tested and
 * fuzzed, since the payload crosses a process boundary.
 */
#ifndef OPENRISK_EVENT_PARSE_H
#define OPENRISK_EVENT_PARSE_H

#include <stddef.h>

#define EVENT_MAX_GROUPS 64 /* tenants (and "everyone") in one notification */
#define EVENT_MAX_KINDS 16  /* distinct kinds per tenant in one notification */
#define EVENT_NAME_MAX 32   /* a namespace or kind segment */

/* What one notification means for one tenant ("" = every tenant). */
struct event_group {
	char tenant[37];
	int resync;         /* assume everything changed; kinds are not listed */
	const char *reason; /* why, when resync: a constant string */
	int nkinds;
	char kinds[EVENT_MAX_KINDS][2 * EVENT_NAME_MAX + 2]; /* "risk:list", or "risk:*" */
};

/*
 * Parse payload into at most max groups, one per tenant concerned.
 * Returns the number of groups (0: nothing to tell anyone).  Never fails:
 * an unreadable payload is one resync group for every tenant.
 */
int event_parse(const char *payload, struct event_group *out, int max);

/*
 * The event a group becomes on the wire, without its id: the "event:" and
 * "data:" lines and the blank line that ends it.  Returns its length, or
 * -1 when out is too small.
 *   event: change   data: {"namespaces":["risk"],"kinds":["risk:list","risk:id"]}
 *   event: resync   data: {"reason":"notifications_lost"}
 */
int event_format(const struct event_group *g, char *out, size_t outlen);

#endif
