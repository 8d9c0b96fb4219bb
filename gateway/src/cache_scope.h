/*
 * cache_scope.h -- confine an admin's cache invalidation to their tenant.
 *
 * POST /cache/invalidate takes a pattern from the client, and the engine's
 * cache_invalidate() is a superuser-grade tool: it would happily drop every
 * tenant's entries.  The gateway therefore accepts only patterns inside a
 * tenant-scoped namespace whose tenant segment is the caller's own tenant.
 * Pure string code, unit-tested.
 */
#ifndef OPENRISK_CACHE_SCOPE_H
#define OPENRISK_CACHE_SCOPE_H

#include <stddef.h>

/*
 * Accept `pattern` for tenant, or explain why not.  Accepted forms:
 *   <ns>:<kind>:<tenant>            an exact key family member
 *   <ns>:<kind>:<tenant>:<rest>     <rest> may hold globs ('*')
 * where <ns> is a tenant-scoped namespace (risk, dashboard, app, report),
 * <kind> a plain word and <tenant> exactly the caller's tenant.  The fixed
 * literal prefix is what confines any glob to the caller's keys.
 * Returns 0 with the normalized pattern (lower-case tenant) in out, or -1
 * with a sentence for the client in err.
 */
int cache_scope_check(const char *pattern, const char *tenant, char *out, size_t outlen, char *err,
		      size_t errlen);

#endif
