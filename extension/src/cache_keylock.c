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
 * The wait is bounded by openrisk.stampede_timeout: it runs inside an
 * internal subtransaction with lock_timeout set, so a timeout (or a
 * deadlock) is caught and the waiter simply computes the value itself.
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
 * Wait (bounded) for the current owner of key_hash to finish.  Any error
 * while waiting -- lock timeout, deadlock, cancel excepted -- ends the
 * wait; the caller then computes on its own.
 */
static void
wait_for_owner(const LOCKTAG *tag)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	int			saved_timeout = LockTimeout;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		LockTimeout = or_stampede_timeout_ms > 0 ? or_stampede_timeout_ms : 1;
		(void) LockAcquire(tag, ShareLock, false, false);
		LockTimeout = saved_timeout;
		LockRelease(tag, ShareLock, false);
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
	}
	PG_END_TRY();
}

/*
 * Claim key_hash for computing, or wait for the backend that has.
 */
KeyClaim
or_key_claim_or_wait(uint64 key_hash)
{
	LOCKTAG		tag;

	keylock_tag(&tag, key_hash);
	if (LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL)
		return KEY_OWNER;
	wait_for_owner(&tag);
	or_count(stampede_waits);
	return KEY_WAITED;
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

/* Release an ownership taken by or_key_claim_or_wait(). */
void
or_key_release(uint64 key_hash)
{
	LOCKTAG		tag;

	keylock_tag(&tag, key_hash);
	LockRelease(&tag, ExclusiveLock, false);
}
