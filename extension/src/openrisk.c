/*-------------------------------------------------------------------------
 *
 * openrisk.c
 *		Module entry point: GUCs, shared-memory hooks, transaction callbacks.
 *
 * The cache only exists when the library is loaded through
 * shared_preload_libraries, because its memory must be reserved by the
 * postmaster.  Loaded any other way (CREATE EXTENSION without preloading)
 * the module still defines its settings and transaction callbacks, so
 * every function works -- it just computes without a cache, and
 * cache_stats() reports available = false.  Preloading also registers the
 * custom WAL resource manager (cache_wal.c) that carries invalidations to
 * hot standbys; PostgreSQL only accepts it from the postmaster.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "cache.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	or_define_gucs();
	or_xact_register();

	if (process_shared_preload_libraries_in_progress)
	{
		or_shmem_register();
		or_notify_register();
		or_standby_register();
		or_wal_register();
	}
}
