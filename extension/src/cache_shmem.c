/*-------------------------------------------------------------------------
 *
 * cache_shmem.c
 *		Reserve, lay out and initialise the cache's shared memory.
 *
 * PostgreSQL 15 wants shared memory and LWLocks requested from a
 * shmem_request_hook and initialised from a shmem_startup_hook.  The
 * startup hook also runs after a crash restart (the postmaster throws the
 * old segment away), so a backend killed while holding cache locks leaves
 * an empty, working cache behind -- never a half-updated one.
 *
 * Layout (one ShmemInitStruct region, in this order, each MAXALIGNed):
 *   CacheShared | entries[max_entries] | buckets[nbuckets] |
 *   chunk_next[nchunks] | chunk data[nchunks * OR_CHUNK_SIZE] |
 *   slots[nslots]
 * The notify queues (cache_notify.c) and a standby's pending remote
 * invalidations (cache_standby.c) are segments of their own, reserved by
 * their files, so this one knows nothing of them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"

#include "cache.h"

CacheShared *or_cache = NULL;
CacheEntry *or_entries;
uint32	   *or_buckets;
uint32	   *or_chunk_next;
char	   *or_chunk_data;
PrefixSlot *or_slots;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

#define LOCK_TRANCHE "openrisk_cache"

static uint32
next_pow2(uint64 n)
{
	uint32		p = 1;

	while (p < n && p < (UINT32_C(1) << 31))
		p <<= 1;
	return p;
}

/* The geometry derived from the settings, computed the same way twice. */
typedef struct Geometry
{
	uint32		max_entries;
	uint32		nbuckets;
	uint32		nchunks;
	uint32		nslots;
} Geometry;

static Geometry
geometry(void)
{
	Geometry	g;

	g.max_entries = (uint32) or_cache_max_entries;
	g.nbuckets = Max(next_pow2(g.max_entries), OR_PARTITIONS);
	g.nchunks = (uint32) (((uint64) or_cache_memory_kb * 1024) / OR_CHUNK_SIZE);
	/* ~4 slots per entry keeps collisions between live prefixes rare */
	g.nslots = next_pow2((uint64) g.max_entries * 4);
	return g;
}

static Size
segment_size(void)
{
	Geometry	g = geometry();
	Size		s = MAXALIGN(sizeof(CacheShared));

	s = add_size(s, MAXALIGN(mul_size(g.max_entries, sizeof(CacheEntry))));
	s = add_size(s, MAXALIGN(mul_size(g.nbuckets, sizeof(uint32))));
	s = add_size(s, MAXALIGN(mul_size(g.nchunks, sizeof(uint32))));
	s = add_size(s, MAXALIGN(mul_size(g.nchunks, OR_CHUNK_SIZE)));
	s = add_size(s, MAXALIGN(mul_size(g.nslots, sizeof(PrefixSlot))));
	return s;
}

static void
or_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(segment_size());
	RequestNamedLWLockTranche(LOCK_TRANCHE, OR_NUM_LOCKS);
}

/* Build every free list and counter from scratch: an empty cache. */
static void
initialise_segment(const Geometry *g)
{
	uint32		i;
	CacheCounters *c = &or_cache->counters;

	pg_atomic_init_u64(&or_cache->clock, 1);
	pg_atomic_init_u64(&or_cache->glob_gen, 0);
	pg_atomic_init_u32(&or_cache->glob_fence, 0);
	pg_atomic_init_u32(&or_cache->clock_hand, 0);
	pg_atomic_init_u64(&c->hits, 0);
	pg_atomic_init_u64(&c->misses, 0);
	pg_atomic_init_u64(&c->stores, 0);
	pg_atomic_init_u64(&c->evictions, 0);
	pg_atomic_init_u64(&c->expirations, 0);
	pg_atomic_init_u64(&c->invalidations, 0);
	pg_atomic_init_u64(&c->fills_rejected, 0);
	pg_atomic_init_u64(&c->too_large, 0);
	pg_atomic_init_u64(&c->stampede_waits, 0);
	pg_atomic_init_u64(&c->bypasses, 0);
	pg_atomic_init_u64(&c->store_failures, 0);
	pg_atomic_init_u64(&c->handoffs, 0);
	pg_atomic_init_u64(&c->stampede_recomputes, 0);

	or_cache->max_entries = g->max_entries;
	or_cache->nbuckets = g->nbuckets;
	or_cache->nchunks = g->nchunks;
	or_cache->nslots = g->nslots;

	for (i = 0; i < g->max_entries; i++)
	{
		memset(&or_entries[i], 0, sizeof(CacheEntry));
		pg_atomic_init_u32(&or_entries[i].referenced, 0);
		or_entries[i].next = (i + 1 < g->max_entries) ? i + 1 : OR_NIL;
		or_entries[i].first_chunk = OR_NIL;
	}
	or_cache->free_entry_head = g->max_entries > 0 ? 0 : OR_NIL;
	or_cache->used_entries = 0;

	for (i = 0; i < g->nbuckets; i++)
		or_buckets[i] = OR_NIL;

	for (i = 0; i < g->nchunks; i++)
		or_chunk_next[i] = (i + 1 < g->nchunks) ? i + 1 : OR_NIL;
	or_cache->free_chunk_head = g->nchunks > 0 ? 0 : OR_NIL;
	or_cache->free_chunks = g->nchunks;

	for (i = 0; i < g->nslots; i++)
	{
		pg_atomic_init_u64(&or_slots[i].gen, 0);
		pg_atomic_init_u32(&or_slots[i].fence, 0);
		pg_atomic_init_u32(&or_slots[i].live, 0);
	}
}

static void
or_shmem_startup(void)
{
	bool		found;
	Geometry	g = geometry();
	char	   *p;
	LWLockPadded *locks;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	p = ShmemInitStruct("openrisk cache", segment_size(), &found);

	or_cache = (CacheShared *) p;
	p += MAXALIGN(sizeof(CacheShared));
	or_entries = (CacheEntry *) p;
	p += MAXALIGN(mul_size(g.max_entries, sizeof(CacheEntry)));
	or_buckets = (uint32 *) p;
	p += MAXALIGN(mul_size(g.nbuckets, sizeof(uint32)));
	or_chunk_next = (uint32 *) p;
	p += MAXALIGN(mul_size(g.nchunks, sizeof(uint32)));
	or_chunk_data = p;
	p += MAXALIGN(mul_size(g.nchunks, OR_CHUNK_SIZE));
	or_slots = (PrefixSlot *) p;

	if (!found)
	{
		locks = GetNamedLWLockTranche(LOCK_TRANCHE);
		or_cache->locks = locks;
		initialise_segment(&g);
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * Called from _PG_init while shared_preload_libraries is being processed.
 */
void
or_shmem_register(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = or_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = or_shmem_startup;
}

/* True when the segment exists (the library was preloaded). */
bool
or_cache_available(void)
{
	return or_cache != NULL;
}
