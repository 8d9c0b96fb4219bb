/*-------------------------------------------------------------------------
 *
 * cache_inflight.c
 *		Stampede protection: concurrent misses on one key compute it once.
 *
 * A small shared table lists the keys (by hash) that some backend is
 * computing right now.  The first backend to miss a key claims a slot and
 * computes; the others sleep on the slot's condition variable until the
 * owner releases it (having stored the value, or failed) or until
 * openrisk.stampede_timeout passes, then look the key up again and, on a
 * second miss, compute it themselves.  A bounded wait means a stuck or
 * very slow owner can delay others but never block them.
 *
 * Claims are released by the owner after the fill, and by the transaction
 * callbacks on abort, so an error in the query never leaves a slot held.
 * A slot's sequence number changes at every release, so a waiter cannot
 * mistake a new claim of the same slot for the one it waited on.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"

#include "cache.h"

#define MAX_NESTED_CLAIMS 8

static int	my_claims[MAX_NESTED_CLAIMS];
static int	n_claims = 0;

InflightClaim
or_inflight_claim_or_wait(uint64 key_hash)
{
	int			i,
				found = -1,
				free_slot = -1;
	uint32		seq;
	InflightSlot *slot;
	TimestampTz deadline;

	if (key_hash == 0)
		key_hash = 1;			/* 0 marks a free slot */

	LWLockAcquire(OR_INFLIGHT_LOCK, LW_EXCLUSIVE);
	for (i = 0; i < OR_INFLIGHT_SLOTS; i++)
	{
		if (or_inflight[i].key_hash == key_hash)
		{
			found = i;
			break;
		}
		if (or_inflight[i].key_hash == 0 && free_slot < 0)
			free_slot = i;
	}
	if (found < 0 || or_inflight[found].owner_pid == MyProcPid)
	{
		if (found >= 0 || free_slot < 0 || n_claims >= MAX_NESTED_CLAIMS)
		{
			LWLockRelease(OR_INFLIGHT_LOCK);
			return INFLIGHT_UNTRACKED;
		}
		or_inflight[free_slot].key_hash = key_hash;
		or_inflight[free_slot].owner_pid = MyProcPid;
		my_claims[n_claims++] = free_slot;
		LWLockRelease(OR_INFLIGHT_LOCK);
		return INFLIGHT_OWNER;
	}
	slot = &or_inflight[found];
	seq = slot->sequence;
	LWLockRelease(OR_INFLIGHT_LOCK);

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), or_stampede_timeout_ms);
	ConditionVariablePrepareToSleep(&slot->cv);
	for (;;)
	{
		bool		still;
		long		remaining;

		LWLockAcquire(OR_INFLIGHT_LOCK, LW_SHARED);
		still = slot->key_hash == key_hash && slot->sequence == seq;
		LWLockRelease(OR_INFLIGHT_LOCK);
		if (!still)
			break;
		remaining = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		if (remaining <= 0)
			break;
		(void) ConditionVariableTimedSleep(&slot->cv, remaining, PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
	or_count(stampede_waits);
	return INFLIGHT_WAITED;
}

/* Release this backend's most recent claim, waking its waiters. */
void
or_inflight_release(void)
{
	InflightSlot *slot;

	if (n_claims == 0 || !or_cache_available())
		return;
	slot = &or_inflight[my_claims[--n_claims]];
	LWLockAcquire(OR_INFLIGHT_LOCK, LW_EXCLUSIVE);
	slot->key_hash = 0;
	slot->owner_pid = 0;
	slot->sequence++;
	LWLockRelease(OR_INFLIGHT_LOCK);
	ConditionVariableBroadcast(&slot->cv);
}

/* At transaction end: nothing this backend claimed may stay claimed. */
void
or_inflight_release_all(void)
{
	while (n_claims > 0 && or_cache_available())
		or_inflight_release();
	n_claims = 0;
}
