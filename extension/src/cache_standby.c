/*-------------------------------------------------------------------------
 *
 * cache_standby.c
 *		Remote invalidations pending on a hot standby: the standby's fences.
 *
 * Locking rules first.  One LWLock (tranche openrisk_standby) protects the
 * pending table below.  It is taken by the startup process (redo), by
 * backends whose key is fenced (resolution), and at the end of recovery.
 * While holding it, a process may raise slot generations and lower fences
 * (atomics, no lock), read KnownAssignedXids / pg_xact (ProcArrayLock and
 * the SLRU locks, taken and released inside), and, only to end an
 * overflow, empty the cache (partition locks, one at a time).  Nobody
 * takes this lock while holding a partition lock, so no cycle exists.
 *
 * What it does.  On the primary a committing transaction raises fences on
 * the slots it invalidates at PRE_COMMIT and raises their generations at
 * COMMIT (cache_xact.c).  A standby sees the same transaction as three
 * moments of its own WAL replay: our record (written at PRE_COMMIT), then
 * the commit or abort record, and only in that order.  So:
 *
 *   redo of our record   fence++ on the record's slots and remember
 *                        (xid, slots) here: from now on no entry under
 *                        them is served and no fill under them published;
 *   replay of the commit the standby's own machinery makes xid committed
 *                        in pg_xact, then removes it from KnownAssignedXids
 *                        (new snapshots see its changes);
 *   resolution           once xid is seen no longer in progress:
 *                        committed -> generations raised to a fresh clock
 *                        value g, then fence--; aborted -> fence--.
 *
 * Resolution is done by whoever needs it: the startup process at its next
 * record (by pg_xact only, which is final), a backend whose key has a
 * fence up (by TransactionIdIsInProgress -- KnownAssignedXids on a standby
 * -- then pg_xact, the order PostgreSQL's own visibility checks use), and
 * the end of recovery (pg_xact: anything not committed then never will be).
 * A fill that read its stamp s before a snapshot that did not see xid has
 * s < g, because g is drawn after xid left KnownAssignedXids, and that
 * snapshot was taken while it was still there: refused at publish by the
 * fence or by the generation, exactly as on the primary.  The argument in
 * full is in docs/ARCHITECTURE.md ("Hot standbys").
 *
 * The table is bounded (openrisk.standby_pending_max, by default 2 x
 * max_connections + 64: a primary commits at most one transaction per
 * backend at a time, and the standby's max_connections is at least the
 * primary's).  Should it still fill up (a primary that crashed repeatedly
 * while nobody read the standby), the record that does not fit raises the
 * global glob fence: the whole standby cache is bypassed until every
 * transaction that overflowed has ended, and then emptied.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "utils/snapmgr.h"

#include "cache.h"

#define STANDBY_TRANCHE "openrisk_standby"

typedef struct RemotePending
{
	TransactionId xid;			/* InvalidTransactionId: a free entry */
	Oid			dbid;
	uint16		nslots;
	uint32		slots[OR_REMOTE_SLOTS];
} RemotePending;

typedef struct StandbyShared
{
	LWLock	   *lock;
	/* pending entries + 1 while overflowed: the readers' lock-free fast path */
	pg_atomic_uint32 active;
	/* protected by lock */
	int			capacity;
	int			npending;
	bool		overflow;
	TransactionId overflow_xmax;	/* newest xid whose record did not fit */
	/* counters (atomics) */
	pg_atomic_uint64 written;
	pg_atomic_uint64 replayed;
	pg_atomic_uint64 skipped;
	pg_atomic_uint64 committed;
	pg_atomic_uint64 aborted;
	pg_atomic_uint64 overflows;
	RemotePending entries[FLEXIBLE_ARRAY_MEMBER];
} StandbyShared;

typedef enum Resolver
{
	BY_STARTUP,					/* during redo: pg_xact only */
	BY_BACKEND,					/* a reader: KnownAssignedXids, then pg_xact */
	BY_END_OF_RECOVERY			/* not committed now: never will be */
} Resolver;

typedef enum XidFate
{
	XID_RUNNING,				/* or not known yet to be over */
	XID_COMMITTED,
	XID_ABORTED
} XidFate;

static StandbyShared *standby = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static int
capacity(void)
{
	return or_standby_pending_max > 0 ? or_standby_pending_max : 2 * MaxBackends + 64;
}

static Size
standby_size(void)
{
	return add_size(offsetof(StandbyShared, entries),
					mul_size(capacity(), sizeof(RemotePending)));
}

static void
standby_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(standby_size());
	RequestNamedLWLockTranche(STANDBY_TRANCHE, 1);
}

static void
standby_shmem_startup(void)
{
	bool		found;
	int			i;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	standby = ShmemInitStruct("openrisk standby pending", standby_size(), &found);
	if (!found)
	{
		standby->lock = &GetNamedLWLockTranche(STANDBY_TRANCHE)->lock;
		pg_atomic_init_u32(&standby->active, 0);
		standby->capacity = capacity();
		standby->npending = 0;
		standby->overflow = false;
		standby->overflow_xmax = InvalidTransactionId;
		pg_atomic_init_u64(&standby->written, 0);
		pg_atomic_init_u64(&standby->replayed, 0);
		pg_atomic_init_u64(&standby->skipped, 0);
		pg_atomic_init_u64(&standby->committed, 0);
		pg_atomic_init_u64(&standby->aborted, 0);
		pg_atomic_init_u64(&standby->overflows, 0);
		for (i = 0; i < standby->capacity; i++)
			standby->entries[i].xid = InvalidTransactionId;
	}
	LWLockRelease(AddinShmemInitLock);
}

/* From _PG_init while preloading. */
void
or_standby_register(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = standby_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = standby_shmem_startup;
}

void
or_standby_count_written(void)
{
	if (standby)
		pg_atomic_fetch_add_u64(&standby->written, 1);
}

void
or_standby_count_skipped(void)
{
	if (standby)
		pg_atomic_fetch_add_u64(&standby->skipped, 1);
}

/*
 * What became of xid, as far as this resolver may tell.  A backend asks
 * TransactionIdIsInProgress first and pg_xact second: pg_xact is set before
 * the xid leaves KnownAssignedXids, so "not running and not committed" is
 * final (aborted, or lost in a crash of the primary).  The startup process
 * maintains KnownAssignedXids itself and trusts only pg_xact.
 */
static XidFate
xid_fate(TransactionId xid, Resolver who)
{
	if (who == BY_BACKEND && TransactionIdIsInProgress(xid))
		return XID_RUNNING;
	if (TransactionIdDidCommit(xid))
		return XID_COMMITTED;
	if (who == BY_STARTUP && !TransactionIdDidAbort(xid))
		return XID_RUNNING;
	return XID_ABORTED;
}

/*
 * May the overflow end?  Only once no transaction whose record did not fit
 * can still commit: at the end of recovery, or when the backend's snapshot
 * has a horizon past overflow_xmax (such a snapshot saw every one of them
 * end; one that had not yet been replayed when it was taken is newer than
 * its xmin).  The startup process leaves it to those two.
 */
static bool
overflow_may_end(Resolver who)
{
	if (who == BY_END_OF_RECOVERY)
		return true;
	if (who == BY_STARTUP || !ActiveSnapshotSet())
		return false;
	return TransactionIdPrecedes(standby->overflow_xmax, GetActiveSnapshot()->xmin);
}

/* Lower the fences an entry raised: every slot, once. */
static void
lower_fences(const RemotePending *e)
{
	int			i;

	for (i = 0; i < e->nslots; i++)
		pg_atomic_fetch_sub_u32(&or_slots[e->slots[i]].fence, 1);
}

/*
 * Resolve every entry whose transaction is over; end the overflow if it
 * may.  Caller holds the lock exclusively.  Generations are raised before
 * the fences drop and before the entry disappears, so a reader that finds
 * no fence (or no entry) is guaranteed to find the generations raised.
 */
static void
resolve_locked(Resolver who)
{
	int			i;

	for (i = 0; i < standby->capacity && standby->npending > 0; i++)
	{
		RemotePending *e = &standby->entries[i];
		XidFate		fate;

		if (!TransactionIdIsValid(e->xid))
			continue;
		fate = xid_fate(e->xid, who);
		if (fate == XID_RUNNING)
			continue;
		if (fate == XID_COMMITTED)
		{
			uint64		g = pg_atomic_fetch_add_u64(&or_cache->clock, 1) + 1;
			uint64		invalidated = 0;
			int			s;

			for (s = 0; s < e->nslots; s++)
			{
				or_atomic_max_u64(&or_slots[e->slots[s]].gen, g);
				invalidated += pg_atomic_exchange_u32(&or_slots[e->slots[s]].live, 0);
			}
			pg_atomic_fetch_add_u64(&or_cache->counters.invalidations, invalidated);
			pg_atomic_fetch_add_u64(&standby->committed, 1);
		}
		else
			pg_atomic_fetch_add_u64(&standby->aborted, 1);
		lower_fences(e);
		e->xid = InvalidTransactionId;
		standby->npending--;
		pg_atomic_fetch_sub_u32(&standby->active, 1);
	}
	if (standby->overflow && overflow_may_end(who))
	{
		/* what the lost records invalidated is unknown: empty everything */
		or_reset_all();
		pg_atomic_fetch_sub_u32(&or_cache->glob_fence, 1);
		standby->overflow = false;
		standby->overflow_xmax = InvalidTransactionId;
		pg_atomic_fetch_sub_u32(&standby->active, 1);
	}
}

/*
 * Redo of one record (startup process): make room by resolving what pg_xact
 * already decided, then fence the slots and remember them.
 */
void
or_standby_add(TransactionId xid, Oid dbid, const uint32 *slots, int nslots)
{
	int			i;

	Assert(nslots > 0 && nslots <= OR_REMOTE_SLOTS);
	pg_atomic_fetch_add_u64(&standby->replayed, 1);
	LWLockAcquire(standby->lock, LW_EXCLUSIVE);
	if (standby->npending > 0)
		resolve_locked(BY_STARTUP);
	if (standby->npending < standby->capacity)
	{
		RemotePending *e = standby->entries;

		while (TransactionIdIsValid(e->xid))
			e++;
		e->dbid = dbid;
		e->nslots = (uint16) nslots;
		memcpy(e->slots, slots, sizeof(uint32) * nslots);
		for (i = 0; i < nslots; i++)
			pg_atomic_fetch_add_u32(&or_slots[slots[i]].fence, 1);
		e->xid = xid;
		standby->npending++;
		pg_atomic_fetch_add_u32(&standby->active, 1);
	}
	else
	{
		if (!standby->overflow)
		{
			pg_atomic_fetch_add_u32(&or_cache->glob_fence, 1);
			standby->overflow = true;
			standby->overflow_xmax = xid;
			pg_atomic_fetch_add_u32(&standby->active, 1);
			ereport(WARNING,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("openrisk: %d remote invalidations are pending, the standby cache is bypassed until they end",
							standby->capacity),
					 errhint("Raise openrisk.standby_pending_max.")));
		}
		else if (TransactionIdFollows(xid, standby->overflow_xmax))
			standby->overflow_xmax = xid;
		pg_atomic_fetch_add_u64(&standby->overflows, 1);
	}
	LWLockRelease(standby->lock);
}

/*
 * Before a backend looks a key up (or publishes a fill): if a fence is up
 * on one of its slots and remote invalidations are pending, resolve those
 * whose transactions are over.  A committed transaction's invalidation is
 * then applied before this backend reads generations; one still running
 * keeps its fence, and the lookup bypasses.  The lock is taken in shared
 * mode to look, exclusively only to change something; either way a
 * resolution under way elsewhere is waited for.
 */
void
or_standby_precheck(const KeyInfo *ki)
{
	bool		fenced = false;
	bool		work = false;
	int			i;

	if (standby == NULL || pg_atomic_read_u32(&standby->active) == 0)
		return;
	fenced = pg_atomic_read_u32(&or_cache->glob_fence) != 0;
	for (i = 0; i < ki->nprefixes && !fenced; i++)
		fenced = pg_atomic_read_u32(&or_slots[ki->prefix_slot[i]].fence) != 0;
	if (!fenced)
		return;

	LWLockAcquire(standby->lock, LW_SHARED);
	for (i = 0; i < standby->capacity && !work; i++)
	{
		TransactionId xid = standby->entries[i].xid;

		work = TransactionIdIsValid(xid) && xid_fate(xid, BY_BACKEND) != XID_RUNNING;
	}
	work = work || (standby->overflow && overflow_may_end(BY_BACKEND));
	LWLockRelease(standby->lock);
	if (!work)
		return;
	LWLockAcquire(standby->lock, LW_EXCLUSIVE);
	resolve_locked(BY_BACKEND);
	LWLockRelease(standby->lock);
}

/*
 * rm_cleanup, in the startup process once redo is over (promotion, end of
 * crash recovery): a transaction not committed by now never will be.
 */
void
or_standby_end_of_recovery(void)
{
	if (standby == NULL)
		return;
	LWLockAcquire(standby->lock, LW_EXCLUSIVE);
	resolve_locked(BY_END_OF_RECOVERY);
	LWLockRelease(standby->lock);
}

/*
 * The pending set and its counters, for cache_wal_stats() (cache_wal.c);
 * false when there is no pending set (the library was not preloaded).
 */
bool
or_standby_stats(OrStandbyStats *out)
{
	if (standby == NULL)
		return false;
	LWLockAcquire(standby->lock, LW_SHARED);
	out->pending = standby->npending;
	out->overflowed = standby->overflow;
	out->capacity = standby->capacity;
	LWLockRelease(standby->lock);
	out->written = pg_atomic_read_u64(&standby->written);
	out->replayed = pg_atomic_read_u64(&standby->replayed);
	out->skipped = pg_atomic_read_u64(&standby->skipped);
	out->committed = pg_atomic_read_u64(&standby->committed);
	out->aborted = pg_atomic_read_u64(&standby->aborted);
	out->overflows = pg_atomic_read_u64(&standby->overflows);
	return true;
}
