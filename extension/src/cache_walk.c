/*-------------------------------------------------------------------------
 *
 * cache_walk.c
 *		Whole-cache walks: match a glob against every key, and reset.
 *
 * Locking: a walk takes each partition lock in turn (shared to count,
 * exclusive to remove), never two at once, so it cannot deadlock with
 * stores or evictions and holds up one partition at a time.  A walk is
 * O(entries): the invalidations writes queue are exact keys and prefixes
 * (O(1) through the prefix slots); walks serve only arbitrary globs given
 * to cache_invalidate(), and cache_reset().
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"

#include "cache.h"

/*
 * Visit every valid entry of this database whose key matches pattern (a
 * '*' glob); count them and, with remove, unlink them.  O(entries): used for arbitrary
 * globs only, never for the prefixes the project invalidates on writes.
 */
uint64
or_scan(const char *pattern, int plen, bool remove)
{
	TimestampTz now = GetCurrentTimestamp();
	uint64		matched = 0;
	uint32		part;

	for (part = 0; part < OR_PARTITIONS; part++)
	{
		LWLock	   *lock = OR_PARTITION_LOCK(part);
		uint32		b;

		LWLockAcquire(lock, remove ? LW_EXCLUSIVE : LW_SHARED);
		for (b = part; b < or_cache->nbuckets; b += OR_PARTITIONS)
		{
			uint32		idx = or_buckets[b];

			while (idx != OR_NIL)
			{
				CacheEntry *e = &or_entries[idx];
				uint32		next = e->next;
				bool		expired;
				char	   *key;

				if (e->dbid == MyDatabaseId && or_entry_is_valid(e, now, &expired))
				{
					key = or_entry_key_copy(e);
					if (or_glob_match(pattern, plen, key, e->key_len))
					{
						matched++;
						if (remove)
							or_unlink_entry(part, idx);
					}
					pfree(key);
				}
				idx = next;
			}
		}
		LWLockRelease(lock);
		CHECK_FOR_INTERRUPTS();
	}
	return matched;
}

/*
 * Empty the cache now (not transactional).  Fills already under way are
 * rejected at publish because the scan-invalidation generation moves past
 * their stamps first.
 */
void
or_reset_all(void)
{
	uint32		part;

	or_atomic_max_u64(&or_cache->glob_gen, pg_atomic_fetch_add_u64(&or_cache->clock, 1) + 1);
	for (part = 0; part < OR_PARTITIONS; part++)
	{
		uint32		b;

		LWLockAcquire(OR_PARTITION_LOCK(part), LW_EXCLUSIVE);
		for (b = part; b < or_cache->nbuckets; b += OR_PARTITIONS)
		{
			while (or_buckets[b] != OR_NIL)
				or_unlink_entry(part, or_buckets[b]);
		}
		LWLockRelease(OR_PARTITION_LOCK(part));
	}
}
