/*-------------------------------------------------------------------------
 *
 * cache.h
 *		The openrisk result cache: shared data structures and internal API.
 *
 * The cache lives in one shared-memory segment reserved at server start and
 * never grows.  It is made of five arrays, each explained where it is
 * declared below:
 *
 *   entries[]   fixed-size entry headers (hash, lengths, expiry, stamp ...)
 *   buckets[]   hash-table heads; a bucket's chain is protected by one of
 *               OR_PARTITIONS partition LWLocks (bucket index mod 16)
 *   chunk data  cache_memory bytes cut into OR_CHUNK_SIZE chunks; the key
 *               and then the value of an entry are stored in a chain of
 *               chunks, so any size fits without fragmentation
 *   slots[]     prefix generation slots: the O(1) invalidation mechanism
 *
 * Consistency rests on one 64-bit counter, the generation clock.  A fill
 * reads the clock ("its stamp") BEFORE the snapshot that computes the value
 * is taken.  A committed invalidation of a prefix raises that prefix slot's
 * generation to a fresh clock value.  An entry is valid only while every
 * prefix of its key has a generation <= its stamp and no prefix is fenced
 * by a transaction that is committing an invalidation right now.  See
 * docs/ARCHITECTURE.md for the proof sketch and the commit-order diagram.
 *
 * A request that waited for another backend's fill judges the entry it
 * then finds by the state it saw when it started (its ReadView, below)
 * rather than by the state after the wait: a value that a write committed
 * during the wait made unstorable still answers it (a "handoff").
 *
 * Copyright (c) 2026, the openrisk authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef OPENRISK_CACHE_H
#define OPENRISK_CACHE_H

#include "postgres.h"

#include "port/atomics.h"
#include "storage/lwlock.h"
#include "utils/timestamp.h"

/* Hash-table partitions, each with its own LWLock (power of two). */
#define OR_PARTITIONS		16
/* Bytes per storage chunk. */
#define OR_CHUNK_SIZE		256
/* Prefix levels tracked per key: "", each "a:", "a:b:", ..., full key. */
#define OR_MAX_PREFIXES		16
/* NOTIFY channel and the largest payload we send (PostgreSQL's limit is 8000). */
#define OR_NOTIFY_CHANNEL	"openrisk_cache"
#define OR_NOTIFY_PAYLOAD_MAX 7800
/* Longest key accepted (bytes). */
#define OR_MAX_KEY_LEN		1024
/* "No entry" / "no chunk" in index links. */
#define OR_NIL				UINT32_MAX

/*
 * Entry header.  Key and value bytes are not here but in the chunk chain
 * starting at first_chunk (key first, value right after it).  Every field
 * but 'referenced' is written only under the entry's partition lock (or
 * while the entry is privately reserved and not yet linked).
 */
typedef struct CacheEntry
{
	uint64		hash;			/* 64-bit hash of database + full key */
	Oid			dbid;			/* keys are per database */
	uint64		stamp;			/* generation clock read before the fill */
	uint64		etag;			/* hash of the value: the HTTP validator */
	TimestampTz expires_at;
	uint32		next;			/* next entry in bucket chain, or free list */
	uint32		first_chunk;
	uint32		nchunks;
	uint32		key_len;
	uint32		value_len;
	bool		in_use;			/* linked in a bucket chain */
	bool		handoff;		/* a refused fill kept for its waiters only:
								 * never served by a plain lookup, never
								 * counted in its prefixes' 'live' */
	uint8		nprefixes;
	pg_atomic_uint32 referenced;	/* CLOCK bit, set by hits without locks */
	uint32		prefix_slot[OR_MAX_PREFIXES];	/* slot index of each prefix */
} CacheEntry;

/*
 * Prefix generation slot.  Slots are addressed by hash(prefix) mod nslots,
 * without storing the prefix: two prefixes that share a slot invalidate
 * each other, which costs a spurious miss and never a stale hit.
 */
typedef struct PrefixSlot
{
	pg_atomic_uint64 gen;		/* clock value of the last committed invalidation */
	pg_atomic_uint32 fence;		/* transactions committing an invalidation now */
	pg_atomic_uint32 live;		/* entries registered under this prefix */
} PrefixSlot;

typedef struct CacheCounters
{
	pg_atomic_uint64 hits;
	pg_atomic_uint64 misses;
	pg_atomic_uint64 stores;
	pg_atomic_uint64 evictions;
	pg_atomic_uint64 expirations;
	pg_atomic_uint64 invalidations;
	pg_atomic_uint64 fills_rejected;
	pg_atomic_uint64 too_large;
	pg_atomic_uint64 stampede_waits;
	pg_atomic_uint64 bypasses;
	pg_atomic_uint64 store_failures;
	pg_atomic_uint64 handoffs;	/* waiters answered by their read view with a
								 * value the current state no longer allows */
	pg_atomic_uint64 stampede_recomputes;	/* waits that ended in computing
											 * the value anyway */
} CacheCounters;

/* The fixed-size head of the segment. */
typedef struct CacheShared
{
	pg_atomic_uint64 clock;		/* the generation clock, starts at 1 */
	pg_atomic_uint64 glob_gen;	/* clock value of last committed scan-invalidation */
	pg_atomic_uint32 glob_fence;	/* scan-invalidations committing now */
	pg_atomic_uint32 clock_hand;	/* CLOCK eviction hand over entries[] */
	CacheCounters counters;

	/* allocator state, protected by alloc_lock */
	uint32		free_entry_head;
	uint32		free_chunk_head;
	uint32		free_chunks;
	uint32		used_entries;

	/* geometry, fixed at startup */
	uint32		max_entries;
	uint32		nbuckets;		/* power of two */
	uint32		nchunks;
	uint32		nslots;			/* power of two */

	/* OR_PARTITIONS partition locks, then the allocator's */
	LWLockPadded *locks;
} CacheShared;

#define OR_PARTITION_LOCK(p)	(&or_cache->locks[(p)].lock)
#define OR_ALLOC_LOCK			(&or_cache->locks[OR_PARTITIONS].lock)
#define OR_NOTIFY_LOCK			(&or_cache->locks[OR_PARTITIONS + 1].lock)
#define OR_NUM_LOCKS			(OR_PARTITIONS + 2)

/* Pointers into the segment, valid in every backend (set at startup). */
extern CacheShared *or_cache;
extern CacheEntry *or_entries;
extern uint32 *or_buckets;
extern uint32 *or_chunk_next;
extern char *or_chunk_data;
extern PrefixSlot *or_slots;

#define or_count(field) pg_atomic_fetch_add_u64(&or_cache->counters.field, 1)

/* Raise *ptr to at least val (generations only ever move forward). */
static inline void
or_atomic_max_u64(volatile pg_atomic_uint64 *ptr, uint64 val)
{
	uint64		cur = pg_atomic_read_u64(ptr);

	while (cur < val && !pg_atomic_compare_exchange_u64(ptr, &cur, val))
		;
}

/* ---- guc.c ---- */
extern int	or_cache_memory_kb;
extern int	or_cache_max_entries;
extern bool or_cache_enabled;
extern int	or_max_entry_size;
extern int	or_stampede_timeout_ms;
extern bool or_notify;
extern int	or_wal_rmgr_id;
extern bool or_wal_invalidations;
extern bool or_standby_cache;
extern int	or_standby_pending_max;
extern void or_define_gucs(void);
extern int	or_default_ttl_for_key(const char *key, int len);

/* ---- cache_shmem.c ---- */
extern void or_shmem_register(void);
extern bool or_cache_available(void);

/* ---- cache_keys.c ---- */

/* A key analysed once: its hash and the slots of all its prefixes. */
typedef struct KeyInfo
{
	const char *key;
	int			len;
	Oid			dbid;
	uint64		hash;
	int			nprefixes;
	uint32		prefix_slot[OR_MAX_PREFIXES];
} KeyInfo;

typedef enum PatternKind
{
	PATTERN_EXACT,				/* no wildcard: one key */
	PATTERN_PREFIX,				/* "a:b:*" or "*": one generation slot */
	PATTERN_GLOB				/* anything else: a scan at commit */
} PatternKind;

extern void or_key_analyze(const char *key, int len, KeyInfo *ki);
extern void or_key_check(const char *key, int len);
extern PatternKind or_pattern_classify(const char *pattern, int len, uint32 *slot);
/* the same for another database than MyDatabaseId (WAL redo has none) */
extern PatternKind or_pattern_classify_db(Oid dbid, const char *pattern, int len,
										  uint32 *slot);
extern uint32 or_root_slot(Oid dbid);	/* the slot of "*": every key of dbid */
extern bool or_glob_match(const char *pattern, int plen, const char *s, int slen);
extern uint64 or_value_etag(const char *value, int len);
extern uint32 or_cstring_ptr_hash(const void *key, Size keysize);
extern int	or_cstring_ptr_match(const void *a, const void *b, Size keysize);

/* ---- cache_store.c ---- */
typedef enum LookupResult
{
	LOOKUP_HIT,
	LOOKUP_MISS,
	LOOKUP_FENCED,				/* an invalidation is committing: bypass */
	LOOKUP_STALE				/* with a view only: an entry is there, but
								 * neither the view nor the current state
								 * admits it */
} LookupResult;

/*
 * What a request saw of its key when it started: the highest generation
 * over the key's prefix slots and the glob generation, and whether any of
 * them (or the glob fence) was fenced.  An entry is admitted by the view
 * iff !fenced && gen <= entry stamp (and it has not expired): every
 * invalidation the entry's value misses then became visible after the
 * view was taken, i.e. it overlapped the request, which may therefore be
 * answered with either state.  Taken only by cache_fetch() before it
 * waits for another backend's fill; plain lookups use the current state.
 */
typedef struct ReadView
{
	uint64		gen;
	bool		fenced;
} ReadView;

typedef enum StoreResult
{
	STORE_OK,
	STORE_TOO_LARGE,
	STORE_RACE,					/* invalidated since the stamp: not stored */
	STORE_NO_SPACE
} StoreResult;

extern void or_read_view(const KeyInfo *ki, ReadView *view);
extern bool or_await_unfenced(const KeyInfo *ki, int timeout_ms);
extern LookupResult or_lookup(const KeyInfo *ki, const ReadView *view, text **value,
							  uint64 *etag, TimestampTz *expires_at);
extern StoreResult or_store(const KeyInfo *ki, const char *value, int vlen,
							TimestampTz expires_at, uint64 stamp, uint64 etag,
							bool handoff);
extern bool or_remove_key(const KeyInfo *ki);

/* ---- cache_entry.c ---- */
extern uint32 or_bucket_of(uint64 hash);
extern uint32 or_partition_of(uint64 hash);
#define STAMP_CHECK_FENCES	0x01	/* refuse while an invalidation commits */
#define STAMP_CHECK_GLOBS	0x02	/* refuse if any glob committed since */
extern bool or_stamp_is_current(int nprefixes, const uint32 *slots, uint64 stamp,
								int checks);
extern bool or_entry_is_valid(const CacheEntry *e, TimestampTz now, bool *expired);
extern void or_chain_read(uint32 chunk, uint32 off, char *dst, uint32 len);
extern void or_chain_write(uint32 chunk, uint32 off, const char *src, uint32 len);
extern bool or_entry_key_matches(const CacheEntry *e, const char *key, int len);
extern char *or_entry_key_copy(const CacheEntry *e);
extern void or_free_entry_storage(uint32 idx);
extern void or_unlink_entry(uint32 part, uint32 idx);

/* ---- cache_evict.c ---- */
extern bool or_evict_one(void);

/* ---- cache_walk.c ---- */
extern uint64 or_scan(const char *pattern, int plen, bool remove);
extern void or_reset_all(void);

/* ---- cache_xact.c ---- */
extern void or_xact_register(void);
extern PatternKind or_queue_invalidation(const char *pattern, int len);
extern bool or_pending_covers(const KeyInfo *ki);
extern uint64 or_read_stamp(void);
extern bool or_read_path_usable(void);
extern void or_remember_miss_stamp(uint64 key_hash, uint64 stamp);
extern bool or_recall_miss_stamp(uint64 key_hash, uint64 *stamp);

/* ---- cache_wal.c: the custom WAL resource manager ---- */
extern void or_wal_register(void);
extern bool or_wal_wanted(void);
typedef struct OrWalBuilder OrWalBuilder;
extern OrWalBuilder *or_wal_begin(void);
extern void or_wal_add(OrWalBuilder *b, const char *pattern, int len);
extern void or_wal_finish(OrWalBuilder *b);

/* ---- cache_standby.c: remote invalidations pending on a standby ---- */
/* Distinct slots one pending entry holds; more become the database's root. */
#define OR_REMOTE_SLOTS		32
extern void or_standby_register(void);
extern void or_standby_add(TransactionId xid, Oid dbid, const uint32 *slots, int nslots);
extern void or_standby_precheck(const KeyInfo *ki);
extern void or_standby_end_of_recovery(void);
extern void or_standby_count_written(void);
extern void or_standby_count_skipped(void);
typedef struct OrStandbyStats
{
	int64		pending;		/* transactions pending now */
	bool		overflowed;
	int			capacity;
	uint64		written;		/* records written (primary) */
	uint64		replayed;		/* records replayed (standby) */
	uint64		skipped;
	uint64		committed;
	uint64		aborted;
	uint64		overflows;
} OrStandbyStats;
extern bool or_standby_stats(OrStandbyStats *out);

/* ---- cache_notify.c ---- */
extern void or_notify_register(void);
extern void or_notify_enqueue(const char *payload, int len);

/* ---- cache_keylock.c ---- */
typedef enum KeyClaim
{
	KEY_OWNER,					/* we compute; or_key_release() when done */
	KEY_WAITED,					/* another backend finished computing */
	KEY_GAVE_UP					/* the wait timed out or deadlocked */
} KeyClaim;

extern KeyClaim or_key_claim_or_wait(uint64 key_hash, int timeout_ms);
extern KeyClaim or_key_claim(uint64 key_hash, int timeout_ms);
extern bool or_key_has_waiters(uint64 key_hash);
extern void or_key_release(uint64 key_hash);

#endif							/* OPENRISK_CACHE_H */
