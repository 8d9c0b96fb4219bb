/*-------------------------------------------------------------------------
 *
 * cache_evict.c
 *		Making room: CLOCK eviction.
 *
 * Eviction is CLOCK, the approximation of LRU that PostgreSQL's own buffer
 * manager uses: a hand sweeps entries[]; a hit sets an entry's reference
 * bit without any lock; the hand clears set bits (a second chance) and
 * evicts the first entry whose bit is clear.  Entries that are expired or
 * invalidated are taken at once, whatever their bit, so dead entries are
 * reclaimed before live ones are evicted.  The hand is an atomic counter,
 * so concurrent evictors sweep different entries.
 *
 * Reads of an entry's fields before its partition lock is taken are hints
 * only; everything is re-checked under the lock.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"

#include "cache.h"

/*
 * Evict (or reclaim) one entry.  Returns false when a full sweep found
 * nothing to take, which only happens when every entry is being stored
 * or removed concurrently.
 */
bool
or_evict_one(void)
{
	uint32		max = or_cache->max_entries;
	TimestampTz now = GetCurrentTimestamp();
	uint64		steps;

	for (steps = 0; steps < (uint64) max * 2 + 1; steps++)
	{
		uint32		idx = pg_atomic_fetch_add_u32(&or_cache->clock_hand, 1) % max;
		CacheEntry *e = &or_entries[idx];
		uint32		part;
		bool		expired;
		bool		valid;

		if (!e->in_use)
			continue;
		valid = or_entry_is_valid(e, now, &expired);
		if (valid && pg_atomic_exchange_u32(&e->referenced, 0) != 0)
			continue;

		part = or_partition_of(e->hash);
		LWLockAcquire(OR_PARTITION_LOCK(part), LW_EXCLUSIVE);
		if (e->in_use && or_partition_of(e->hash) == part)
		{
			valid = or_entry_is_valid(e, now, &expired);
			or_unlink_entry(part, idx);
			LWLockRelease(OR_PARTITION_LOCK(part));
			if (expired)
				or_count(expirations);
			else if (valid)
				or_count(evictions);
			return true;
		}
		LWLockRelease(OR_PARTITION_LOCK(part));
	}
	return false;
}
