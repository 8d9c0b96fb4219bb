/*-------------------------------------------------------------------------
 *
 * guc.c
 *		The openrisk.* settings, and the namespace -> default TTL rule.
 *
 * The TTL settings are derived from the namespace table (namespaces.h):
 * one openrisk.ttl_<namespace> per row, plus openrisk.ttl_default.
 *
 * Sizes are postmaster-only because the segment is reserved once.  The
 * on/off switch is superuser-settable at runtime (ALTER SYSTEM + reload is
 * how caching is switched off without a deploy).  TTLs are reloadable.
 * Every setting is documented in docs/CACHING.md.
 *
 * openrisk.actor and openrisk.request_id are not the cache's: they carry
 * who writes (and for which API request) to the history triggers of
 * sql/20_scoring.sql.  They are defined here because the prefix is
 * reserved, so an undefined openrisk.* name cannot be SET at all.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/rmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "cache.h"
#include "namespaces.h"

int			or_cache_memory_kb = 64 * 1024;
int			or_cache_max_entries = 131072;
bool		or_cache_enabled = true;
int			or_max_entry_size = 1024 * 1024;
int			or_stampede_timeout_ms = 2000;
bool		or_notify = true;
int			or_wal_rmgr_id = RM_EXPERIMENTAL_ID;
bool		or_wal_invalidations = true;
bool		or_standby_cache = true;
int			or_standby_pending_max = 0;
static char *or_actor = NULL;
static char *or_request_id = NULL;

/* One namespace's TTL setting: built from a row of OR_NAMESPACES. */
typedef struct NamespaceTtl
{
	const char *name;			/* the key's first segment */
	const char *setting;		/* openrisk.ttl_<name> */
	const char *description;
	int			seconds;		/* the setting's value */
	int			default_seconds;
} NamespaceTtl;

#define OR_NAMESPACE_ROW(ns, secs) \
	{#ns, "openrisk.ttl_" #ns, "Default TTL of " #ns ":* keys.", secs, secs},
static NamespaceTtl namespace_ttls[] = {OR_NAMESPACES(OR_NAMESPACE_ROW)};
#undef OR_NAMESPACE_ROW

static int	ttl_default = OR_DEFAULT_TTL;

static void
define_ttl(const char *name, const char *desc, int *var, int def)
{
	DefineCustomIntVariable(name, desc,
							"Used when a cache_put/cache_fetch call passes no TTL.",
							var, def, 1, INT_MAX / 1000,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
}

/* The settings that size the shared segment: postmaster-only. */
static void
define_size_gucs(void)
{
	DefineCustomIntVariable("openrisk.cache_memory",
							"Shared memory reserved for cached keys and values.",
							"Reserved at server start; the cache evicts instead of growing.",
							&or_cache_memory_kb, 64 * 1024, 1024, INT_MAX / 2,
							PGC_POSTMASTER, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("openrisk.cache_max_entries",
							"Maximum number of cached entries.",
							"Each entry costs a fixed header of about 130 bytes outside cache_memory.",
							&or_cache_max_entries, 131072, 128, 16 * 1024 * 1024,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("openrisk.wal_rmgr_id",
							"Custom WAL resource manager id of openrisk's invalidation records.",
							"Must be the same on a primary and all its standbys; "
							"see https://wiki.postgresql.org/wiki/CustomWALResourceManagers.",
							&or_wal_rmgr_id, RM_EXPERIMENTAL_ID, RM_MIN_CUSTOM_ID, RM_MAX_CUSTOM_ID,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("openrisk.standby_pending_max",
							"Remote invalidations a standby can hold pending at once (0: 2 x max_connections + 64).",
							"Beyond it the standby bypasses its cache until the overflowing transactions end.",
							&or_standby_pending_max, 0, 0, 1024 * 1024,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
}

void
or_define_gucs(void)
{
	/*
	 * Postmaster-level settings can only be defined while preloading; loaded
	 * later, there is no segment to size anyway.
	 */
	if (process_shared_preload_libraries_in_progress)
		define_size_gucs();
	DefineCustomBoolVariable("openrisk.cache_enabled",
							 "Serve and fill the result cache.",
							 "Off makes every cached function a pure passthrough; invalidations still apply.",
							 &or_cache_enabled, true,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("openrisk.max_entry_size",
							"Largest key plus value stored in the cache.",
							"Larger results are computed and returned but not stored, and counted as too_large.",
							&or_max_entry_size, 1024 * 1024, 64, INT_MAX / 2,
							PGC_SUSET, GUC_UNIT_BYTE, NULL, NULL, NULL);
	for (int i = 0; i < lengthof(namespace_ttls); i++)
		define_ttl(namespace_ttls[i].setting, namespace_ttls[i].description,
				   &namespace_ttls[i].seconds, namespace_ttls[i].default_seconds);
	define_ttl("openrisk.ttl_default", "Default TTL of keys in any other namespace.", &ttl_default,
			   OR_DEFAULT_TTL);
	DefineCustomIntVariable("openrisk.stampede_timeout",
							"How long a miss waits for another backend computing the same key.",
							"After this the waiter computes the value itself.",
							&or_stampede_timeout_ms, 2000, 0, 600000,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomBoolVariable("openrisk.notify",
							 "Send one NOTIFY on channel openrisk_cache per transaction that invalidated keys.",
							 NULL, &or_notify, true,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("openrisk.wal_invalidations",
							 "Write each committing transaction's invalidations to WAL for hot standbys.",
							 "Off is for measuring its cost only: standbys then serve stale entries.",
							 &or_wal_invalidations, true,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("openrisk.standby_cache",
							 "Let a hot standby read and fill its own cache.",
							 "Safe only while its primary writes invalidation records (openrisk.wal_invalidations).",
							 &or_standby_cache, true,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("openrisk.actor",
							   "Who the current writes are attributed to in risk_history.",
							   "The API's write functions set it from their actor argument; "
							   "a write without it records current_user.",
							   &or_actor, "",
							   PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("openrisk.request_id",
							   "The API request the current writes belong to, recorded in risk_history.",
							   NULL, &or_request_id, "",
							   PGC_USERSET, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("openrisk");
}

/*
 * The namespace of a key is its first ':'-separated segment; it picks the
 * default TTL (namespaces.h).  A linear search: there are a handful of
 * namespaces, and this runs only when a call passes no TTL.
 */
int
or_default_ttl_for_key(const char *key, int len)
{
	int			n = 0;

	while (n < len && key[n] != ':')
		n++;
	for (int i = 0; i < lengthof(namespace_ttls); i++)
	{
		if (strlen(namespace_ttls[i].name) == (size_t) n &&
			memcmp(key, namespace_ttls[i].name, n) == 0)
			return namespace_ttls[i].seconds;
	}
	return ttl_default;
}
