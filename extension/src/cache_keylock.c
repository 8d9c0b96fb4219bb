/*-------------------------------------------------------------------------
 *
 * cache_keylock.c
 *		Stampede protection: concurrent misses on one key compute it once.
 *
 * The backend that misses a key first takes a heavyweight lock on it (an
 * advisory-type lock tag: database, 64-bit key hash, and field4 = 3, a
 * value pg_advisory_lock() never uses) in ExclusiveLock mode, without
 * waiting.  Backends that miss the same key while it is held wait for it
 * in ShareLock mode, then look the key up again: the first one has
 * stored the value by the time it releases.
 *
 * Using the lock manager rather than a private table buys three things: the
 * claim is released automatically when the owner's (sub)transaction
 * aborts, so a failing query never strands its waiters; a cycle (the owner
 * waiting for something a waiter holds) is broken by the deadlock
 * detector instead of hanging; and the wait is visible in pg_locks and
 * pg_stat_activity, where operators (and isolationtester) can see it.
 *
 * The wait is bounded (cache_fetch passes what is left of
 * openrisk.stampede_timeout): it runs inside an internal subtransaction
 * with lock_timeout set, so a timeout (or a deadlock) is caught and the
 * waiter simply computes the value itself.
 *
 * The owner asks the lock manager whether anyone is queued behind it
 * (or_key_has_waiters) to decide whether a fill the race check refused is
 * still worth keeping for them as a handoff entry.  A request that starts
 * waiting after that question simply computes for itself.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "utils/resowner.h"

#include "cache.h"

#define KEYLOCK_FIELD4 3

static void
keylock_tag(LOCKTAG *tag, uint64 key_hash)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) (key_hash >> 32),
						 (uint32) key_hash, KEYLOCK_FIELD4);
}

/*
 * Wait, at most timeout_ms, for the key lock in 'mode'; false if we gave
 * up.  Any error while waiting -- lock timeout, deadlock, cancel excepted
 * -- ends the wait; the caller then computes on its own.  A ShareLock is
 * only a way to wait for the owner and is released at once; an
 * ExclusiveLock is kept (see adopt_claim).
 */
static bool
wait_for_lock(const LOCKTAG *tag, LOCKMODE mode, int timeout_ms)
{
	volatile bool finished = true;
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	int			saved_timeout = LockTimeout;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		LockTimeout = Max(timeout_ms, 1);
		(void) LockAcquire(tag, mode, false, false);
		LockTimeout = saved_timeout;
		if (mode == ShareLock)
			LockRelease(tag, mode, false);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		LockTimeout = saved_timeout;
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		/* a query cancel or shutdown must still cancel the caller */
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
			edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
			PG_RE_THROW();
		FlushErrorState();
		FreeErrorData(edata);
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		finished = false;
	}
	PG_END_TRY();
	return finished;
}

/*
 * The internal subtransaction's commit handed the claim it waited for to
 * the enclosing (sub)transaction's resource owner; or_key_release() looks
 * for it under CurrentResourceOwner, where a claim taken without waiting
 * lives.  Take it once more there (a local count, the lock is ours) and
 * drop the inherited one.
 */
static void
adopt_claim(const LOCKTAG *tag)
{
	ResourceOwner mine = CurrentResourceOwner;

	(void) LockAcquire(tag, ExclusiveLock, false, true);
	CurrentResourceOwner = CurTransactionResourceOwner;
	LockRelease(tag, ExclusiveLock, false);
	CurrentResourceOwner = mine;
}

/*
 * Claim key_hash for computing, or wait (at most timeout_ms) for the
 * backend that has.
 */
KeyClaim
or_key_claim_or_wait(uint64 key_hash, int timeout_ms)
{
	LOCKTAG		tag;
	bool		finished;

	keylock_tag(&tag, key_hash);
	if (LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL)
		return KEY_OWNER;
	finished = wait_for_lock(&tag, ShareLock, timeout_ms);
	or_count(stampede_waits);
	return finished ? KEY_WAITED : KEY_GAVE_UP;
}

/*
 * Claim key_hash for computing, queueing (at most timeout_ms) behind the
 * backends that hold or want it: for a waiter whose owner's value turned
 * out to predate a write it must see, so that such waiters recompute one
 * after the other -- the first for all -- instead of side by side.  Not
 * counted in stampede_waits again: that counts requests that waited.
 */
KeyClaim
or_key_claim(uint64 key_hash, int timeout_ms)
{
	LOCKTAG		tag;

	keylock_tag(&tag, key_hash);
	if (LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL)
		return KEY_OWNER;
	if (!wait_for_lock(&tag, ExclusiveLock, timeout_ms))
		return KEY_GAVE_UP;
	adopt_claim(&tag);
	return KEY_OWNER;
}

/*
 * Is any request waiting for our claim on key_hash?  Only for the owner:
 * LockHasWaiters() looks at the lock we hold.
 */
bool
or_key_has_waiters(uint64 key_hash)
{
	LOCKTAG		tag;

	keylock_tag(&tag, key_hash);
	return LockHasWaiters(&tag, ExclusiveLock, false);
}

/* Release an ownership taken by or_key_claim_or_wait() or or_key_claim(). */
void
or_key_release(uint64 key_hash)
{
	LOCKTAG		tag;

	keylock_tag(&tag, key_hash);
	LockRelease(&tag, ExclusiveLock, false);
}
