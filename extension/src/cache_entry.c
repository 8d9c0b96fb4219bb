/*-------------------------------------------------------------------------
 *
 * cache_entry.c
 *		One entry and its storage: where its key hashes to, whether it is
 *		still valid, its chunk chain (read, write, compare), and unlinking
 *		and freeing it.
 *
 * These are the primitives under the hash table (cache_store.c), eviction
 * (cache_evict.c) and whole-cache walks (cache_walk.c); they call none of
 * those.  Locking is the caller's: a chain is read or an entry unlinked
 * under its partition lock (exclusive to unlink); freeing storage takes
 * the allocator lock, which may be taken while holding one partition lock,
 * never the other way round (cache_store.c states the full rules).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "cache.h"

uint32
or_bucket_of(uint64 hash)
{
	return (uint32) (hash >> 16) & (or_cache->nbuckets - 1);
}

uint32
or_partition_of(uint64 hash)
{
	return or_bucket_of(hash) & (OR_PARTITIONS - 1);
}

/*
 * Is something stamped 'stamp' still current for prefixes 'slots'?  Every
 * prefix generation must be <= the stamp (no invalidation committed after
 * the fill began).  With STAMP_CHECK_FENCES, no transaction may be
 * committing an invalidation of one of the prefixes (or a glob) right now.
 * With STAMP_CHECK_GLOBS, no scanning invalidation (a glob, or a reset) may
 * have committed since the stamp: globs are not tracked per prefix, so a
 * fill that overlapped one is refused whatever its key.  Stored entries
 * need no glob check -- the glob's commit scan removed the ones it matched
 * (handoff entries, which such a scan skips, are never current anyway).
 */
bool
or_stamp_is_current(int nprefixes, const uint32 *slots, uint64 stamp, int checks)
{
	int			i;

	if ((checks & STAMP_CHECK_GLOBS) && pg_atomic_read_u64(&or_cache->glob_gen) > stamp)
		return false;
	if ((checks & STAMP_CHECK_FENCES) && pg_atomic_read_u32(&or_cache->glob_fence) != 0)
		return false;
	for (i = 0; i < nprefixes; i++)
	{
		PrefixSlot *s = &or_slots[slots[i]];

		if (pg_atomic_read_u64(&s->gen) > stamp)
			return false;
		if ((checks & STAMP_CHECK_FENCES) && pg_atomic_read_u32(&s->fence) != 0)
			return false;
	}
	return true;
}

/*
 * Valid = not expired, not a handoff entry and not invalidated (fences are
 * checked separately).  This is the rule for everyone but a waiter.
 */
bool
or_entry_is_valid(const CacheEntry *e, TimestampTz now, bool *expired)
{
	*expired = e->expires_at <= now;
	if (*expired || e->handoff)
		return false;
	return or_stamp_is_current(e->nprefixes, e->prefix_slot, e->stamp, 0);
}

/* Copy len bytes starting at byte offset off of a chunk chain into dst. */
void
or_chain_read(uint32 chunk, uint32 off, char *dst, uint32 len)
{
	while (off >= OR_CHUNK_SIZE)
	{
		chunk = or_chunk_next[chunk];
		off -= OR_CHUNK_SIZE;
	}
	while (len > 0)
	{
		uint32		n = Min(len, OR_CHUNK_SIZE - off);

		memcpy(dst, or_chunk_data + (Size) chunk * OR_CHUNK_SIZE + off, n);
		dst += n;
		len -= n;
		off = 0;
		chunk = or_chunk_next[chunk];
	}
}

/* Compare the stored key with key, chunk by chunk, without copying. */
bool
or_entry_key_matches(const CacheEntry *e, const char *key, int len)
{
	uint32		chunk = e->first_chunk;
	uint32		done = 0;

	if (e->key_len != (uint32) len)
		return false;
	while (done < (uint32) len)
	{
		uint32		n = Min((uint32) len - done, OR_CHUNK_SIZE);

		if (memcmp(or_chunk_data + (Size) chunk * OR_CHUNK_SIZE, key + done, n) != 0)
			return false;
		done += n;
		chunk = or_chunk_next[chunk];
	}
	return true;
}

/* palloc'd, NUL-terminated copy of an entry's key (for scans). */
char *
or_entry_key_copy(const CacheEntry *e)
{
	char	   *k = palloc(e->key_len + 1);

	or_chain_read(e->first_chunk, 0, k, e->key_len);
	k[e->key_len] = '\0';
	return k;
}

/* Return a reserved or unlinked entry's chunks and header to the free lists. */
void
or_free_entry_storage(uint32 idx)
{
	CacheEntry *e = &or_entries[idx];
	uint32		tail = e->first_chunk;
	uint32		i;

	/* find the chain's tail outside the allocator lock */
	for (i = 1; i < e->nchunks; i++)
		tail = or_chunk_next[tail];

	LWLockAcquire(OR_ALLOC_LOCK, LW_EXCLUSIVE);
	if (e->nchunks > 0)
	{
		or_chunk_next[tail] = or_cache->free_chunk_head;
		or_cache->free_chunk_head = e->first_chunk;
		or_cache->free_chunks += e->nchunks;
	}
	e->first_chunk = OR_NIL;
	e->nchunks = 0;
	e->next = or_cache->free_entry_head;
	or_cache->free_entry_head = idx;
	or_cache->used_entries--;
	LWLockRelease(OR_ALLOC_LOCK);
}

/*
 * Unlink entry idx from partition part's chain and free it.  The caller
 * holds that partition lock exclusively.  The entry's prefixes stop
 * counting it as live, unless a prefix was invalidated after it was stored
 * (that invalidation already took the count to zero).
 */
void
or_unlink_entry(uint32 part, uint32 idx)
{
	CacheEntry *e = &or_entries[idx];
	uint32	   *link = &or_buckets[or_bucket_of(e->hash)];
	int			i;

	Assert(or_partition_of(e->hash) == part);
	while (*link != idx)
	{
		Assert(*link != OR_NIL);
		link = &or_entries[*link].next;
	}
	*link = e->next;
	e->in_use = false;

	for (i = 0; i < e->nprefixes && !e->handoff; i++)
	{
		PrefixSlot *s = &or_slots[e->prefix_slot[i]];
		uint32		live = pg_atomic_read_u32(&s->live);

		if (pg_atomic_read_u64(&s->gen) > e->stamp)
			continue;
		while (live > 0 && !pg_atomic_compare_exchange_u32(&s->live, &live, live - 1))
			;
	}
	or_free_entry_storage(idx);
}

/* Copy len bytes of src into a chunk chain at byte offset off. */
void
or_chain_write(uint32 chunk, uint32 off, const char *src, uint32 len)
{
	while (off >= OR_CHUNK_SIZE)
	{
		chunk = or_chunk_next[chunk];
		off -= OR_CHUNK_SIZE;
	}
	while (len > 0)
	{
		uint32		n = Min(len, OR_CHUNK_SIZE - off);

		memcpy(or_chunk_data + (Size) chunk * OR_CHUNK_SIZE + off, src, n);
		src += n;
		len -= n;
		off = 0;
		chunk = or_chunk_next[chunk];
	}
}
