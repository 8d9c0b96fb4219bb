/*-------------------------------------------------------------------------
 *
 * cache_store.c
 *		The hash table: lookup, store, remove; reserving storage.
 *
 * Locking rules (never broken, so no deadlock is possible):
 *   - a bucket chain and the entries linked in it are protected by the
 *     partition lock of the bucket (bucket index mod OR_PARTITIONS);
 *   - the free lists of entries and chunks are protected by the allocator
 *     lock, which may be taken while holding one partition lock, never the
 *     other way round;
 *   - a backend never holds two partition locks at once.  Making room
 *     (eviction) happens before the inserting backend takes its own
 *     partition lock, one victim partition at a time.
 *
 * Hits take their partition lock in shared mode only; counters are
 * atomics, and the CLOCK reference bit is an atomic set without the lock.
 *
 * Handoff entries (CacheEntry.handoff) hold a fill that the race check
 * refused while other requests were waiting for it.  Only a lookup with a
 * ReadView (cache.h) that admits them may serve them; every other path
 * treats them as dead, except that a plain lookup leaves them in place --
 * reclaiming them there would let a newcomer destroy the value before the
 * waiters read it.  Eviction, expiry and the key's next store remove them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"

#include "cache.h"

/* How many victims one store may evict before giving up. */
#define MAX_EVICTIONS_PER_STORE 4096

/* Is a transaction committing an invalidation of one of the key's prefixes? */
static bool
key_fenced(const KeyInfo *ki)
{
	bool		fenced = pg_atomic_read_u32(&or_cache->glob_fence) != 0;
	int			i;

	for (i = 0; i < ki->nprefixes && !fenced; i++)
		fenced = pg_atomic_read_u32(&or_slots[ki->prefix_slot[i]].fence) != 0;
	return fenced;
}

/*
 * Wait, at most timeout_ms, until no transaction is committing an
 * invalidation of the key (its fences are down); true if they are.  A
 * commit holds its fences from PRE_COMMIT until its generations are
 * raised: typically the commit record's flush.  A value computed meanwhile
 * can never be stored, and every miss in that window used to compute its
 * own; cache_fetch's owner waits it out instead, so that it computes a
 * storable value once for all the requests queued behind it.
 */
bool
or_await_unfenced(const KeyInfo *ki, int timeout_ms)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);

	while (key_fenced(ki))
	{
		if (GetCurrentTimestamp() >= deadline)
			return false;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 1L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	return true;
}

/*
 * Take the ReadView of a key (see cache.h).  All fences are read before
 * any generation, with a barrier between: a commit raises its generations
 * before it drops its fences, so a fence seen down was either never up
 * before this read (its write is not visible yet) or its generation is
 * already raised and is read below.  Either way no invalidation visible
 * when the view was taken escapes both 'fenced' and 'gen'.
 */
void
or_read_view(const KeyInfo *ki, ReadView *view)
{
	bool		fenced = key_fenced(ki);
	uint64		gen;
	int			i;

	pg_memory_barrier();
	gen = pg_atomic_read_u64(&or_cache->glob_gen);
	for (i = 0; i < ki->nprefixes; i++)
		gen = Max(gen, pg_atomic_read_u64(&or_slots[ki->prefix_slot[i]].gen));
	view->gen = gen;
	view->fenced = fenced;
}

/* Does the view admit an unexpired entry stamped 'stamp'? */
static inline bool
view_admits(const ReadView *view, uint64 stamp)
{
	return view != NULL && !view->fenced && view->gen <= stamp;
}

/* Find key in its bucket; caller holds the partition lock. */
static uint32
find_locked(const KeyInfo *ki, uint32 *prev_out)
{
	uint32		prev = OR_NIL;
	uint32		idx = or_buckets[or_bucket_of(ki->hash)];

	while (idx != OR_NIL)
	{
		CacheEntry *e = &or_entries[idx];

		if (e->hash == ki->hash && e->dbid == ki->dbid &&
			or_entry_key_matches(e, ki->key, ki->len))
			break;
		prev = idx;
		idx = e->next;
	}
	if (prev_out)
		*prev_out = prev;
	return idx;
}

/* Hand an entry's value, validator and expiry to a lookup's caller. */
static void
copy_out(CacheEntry *e, text **value, uint64 *etag, TimestampTz *expires_at)
{
	if (value)
	{
		*value = (text *) palloc(VARHDRSZ + e->value_len);
		SET_VARSIZE(*value, VARHDRSZ + e->value_len);
		or_chain_read(e->first_chunk, e->key_len, VARDATA(*value), e->value_len);
	}
	if (etag)
		*etag = e->etag;
	if (expires_at)
		*expires_at = e->expires_at;
	if (pg_atomic_read_u32(&e->referenced) == 0)
		pg_atomic_write_u32(&e->referenced, 1);
}

/* May a lookup free this entry?  Dead, and not a handoff still of use. */
static bool
reclaimable(const CacheEntry *e, TimestampTz now, bool *expired)
{
	return !or_entry_is_valid(e, now, expired) && (!e->handoff || *expired);
}

/*
 * Look a key up.  On a hit the value is copied into a palloc'd text (in
 * the caller's memory context) and its validator and expiry returned.
 *
 * With view NULL the entry must be valid now and unfenced.  A waiter
 * passes the ReadView it took before waiting; an unexpired entry that
 * view admits is then served even when the current state refuses it (a
 * handoff entry, or a stored value invalidated during the wait) and is
 * counted in 'handoffs'; any other entry found is LOOKUP_STALE for it.
 * An entry found dead is removed on the way out, unless it is a handoff
 * entry that has not expired: see the file header.
 */
LookupResult
or_lookup(const KeyInfo *ki, const ReadView *view, text **value, uint64 *etag,
		  TimestampTz *expires_at)
{
	uint32		part = or_partition_of(ki->hash);
	LWLock	   *lock = OR_PARTITION_LOCK(part);
	TimestampTz now = GetCurrentTimestamp();
	uint32		idx;
	bool		expired = false;
	bool		dead = false;
	LookupResult result = LOOKUP_MISS;

	LWLockAcquire(lock, LW_SHARED);
	idx = find_locked(ki, NULL);
	if (idx != OR_NIL)
	{
		CacheEntry *e = &or_entries[idx];
		bool		valid = or_entry_is_valid(e, now, &expired);

		if (valid && or_stamp_is_current(e->nprefixes, e->prefix_slot, e->stamp,
										 STAMP_CHECK_FENCES))
			result = LOOKUP_HIT;
		else if (!expired && view_admits(view, e->stamp))
		{
			result = LOOKUP_HIT;
			or_count(handoffs);
		}
		else
		{
			if (valid)
				result = LOOKUP_FENCED;
			else
				dead = !e->handoff || expired;
			if (view != NULL)
				result = LOOKUP_STALE;
		}
		if (result == LOOKUP_HIT)
			copy_out(e, value, etag, expires_at);
	}
	LWLockRelease(lock);

	if (dead)
	{
		/* reclaim now rather than waiting for the clock hand */
		LWLockAcquire(lock, LW_EXCLUSIVE);
		idx = find_locked(ki, NULL);
		if (idx != OR_NIL && reclaimable(&or_entries[idx], now, &expired))
		{
			or_unlink_entry(part, idx);
			if (expired)
				or_count(expirations);
		}
		LWLockRelease(lock);
	}
	return result;
}

/*
 * Take an entry header and n chunks from the free lists, evicting as
 * needed.  Returns false when nothing more could be evicted.
 */
static bool
reserve(uint32 nchunks, uint32 *entry_out, uint32 *chunk_out)
{
	int			tries;

	for (tries = 0; tries < MAX_EVICTIONS_PER_STORE; tries++)
	{
		LWLockAcquire(OR_ALLOC_LOCK, LW_EXCLUSIVE);
		if (or_cache->free_entry_head != OR_NIL && or_cache->free_chunks >= nchunks)
		{
			uint32		head = or_cache->free_chunk_head;
			uint32		last = head;
			uint32		i;

			*entry_out = or_cache->free_entry_head;
			or_cache->free_entry_head = or_entries[*entry_out].next;
			or_cache->used_entries++;
			for (i = 1; i < nchunks; i++)
				last = or_chunk_next[last];
			or_cache->free_chunk_head = or_chunk_next[last];
			or_chunk_next[last] = OR_NIL;
			or_cache->free_chunks -= nchunks;
			LWLockRelease(OR_ALLOC_LOCK);
			*chunk_out = head;
			return true;
		}
		LWLockRelease(OR_ALLOC_LOCK);
		if (!or_evict_one())
			break;
	}
	return false;
}

/*
 * Publish a value computed by a fill that started at 'stamp'.  The value is
 * copied into reserved chunks before any partition lock is taken; the
 * publish itself re-checks, under the partition lock, that no invalidation
 * of the key's prefixes committed or is committing since the stamp.  This
 * is what makes a late fill impossible.
 *
 * With handoff, that check has already refused the fill and the caller --
 * the owner of the key's claim, with requests queued behind it -- keeps
 * the value for them (see cache.h, ReadView): there is no race check (the
 * waiters' views do it), the entry is flagged, and it is not counted
 * live.  It replaces a dead entry or an older handoff, never an entry
 * that is valid now: the waiters are served that one anyway.
 */
StoreResult
or_store(const KeyInfo *ki, const char *value, int vlen, TimestampTz expires_at,
		 uint64 stamp, uint64 etag, bool handoff)
{
	uint64		total = (uint64) ki->len + vlen;
	uint32		nchunks = (uint32) ((total + OR_CHUNK_SIZE - 1) / OR_CHUNK_SIZE);
	uint32		part = or_partition_of(ki->hash);
	LWLock	   *lock = OR_PARTITION_LOCK(part);
	uint32		idx,
				chunk,
				old,
				prev;
	CacheEntry *e;
	bool		refused;
	bool		expired;
	int			i;

	if (total > (uint64) or_max_entry_size || nchunks > or_cache->nchunks / 2)
	{
		or_count(too_large);
		return STORE_TOO_LARGE;
	}
	/* cheap early exit before copying anything */
	if (!handoff && !or_stamp_is_current(ki->nprefixes, ki->prefix_slot, stamp,
										 STAMP_CHECK_FENCES | STAMP_CHECK_GLOBS))
	{
		or_count(fills_rejected);
		return STORE_RACE;
	}
	if (!reserve(nchunks, &idx, &chunk))
	{
		or_count(store_failures);
		return STORE_NO_SPACE;
	}

	e = &or_entries[idx];
	e->first_chunk = chunk;
	e->nchunks = nchunks;
	e->key_len = ki->len;
	e->value_len = vlen;
	or_chain_write(chunk, 0, ki->key, ki->len);
	or_chain_write(chunk, ki->len, value, vlen);

	LWLockAcquire(lock, LW_EXCLUSIVE);
	old = find_locked(ki, &prev);
	if (handoff)
		refused = old != OR_NIL &&
				  or_entry_is_valid(&or_entries[old], GetCurrentTimestamp(), &expired);
	else
		refused = !or_stamp_is_current(ki->nprefixes, ki->prefix_slot, stamp,
									   STAMP_CHECK_FENCES | STAMP_CHECK_GLOBS);
	if (refused)
	{
		LWLockRelease(lock);
		or_free_entry_storage(idx);
		if (!handoff)
			or_count(fills_rejected);
		return STORE_RACE;
	}
	if (old != OR_NIL)
		or_unlink_entry(part, old);

	e->hash = ki->hash;
	e->dbid = ki->dbid;
	e->stamp = stamp;
	e->etag = etag;
	e->expires_at = expires_at;
	e->nprefixes = (uint8) ki->nprefixes;
	memcpy(e->prefix_slot, ki->prefix_slot, sizeof(uint32) * ki->nprefixes);
	pg_atomic_write_u32(&e->referenced, 0);
	e->next = or_buckets[or_bucket_of(ki->hash)];
	or_buckets[or_bucket_of(ki->hash)] = idx;
	e->in_use = true;
	e->handoff = handoff;
	for (i = 0; i < ki->nprefixes && !handoff; i++)
		pg_atomic_fetch_add_u32(&or_slots[ki->prefix_slot[i]].live, 1);
	LWLockRelease(lock);

	if (!handoff)
		or_count(stores);
	return STORE_OK;
}

/* Physically remove a key (exact invalidation at commit, or reset). */
bool
or_remove_key(const KeyInfo *ki)
{
	uint32		part = or_partition_of(ki->hash);
	uint32		idx;

	LWLockAcquire(OR_PARTITION_LOCK(part), LW_EXCLUSIVE);
	idx = find_locked(ki, NULL);
	if (idx != OR_NIL)
		or_unlink_entry(part, idx);
	LWLockRelease(OR_PARTITION_LOCK(part));
	return idx != OR_NIL;
}
