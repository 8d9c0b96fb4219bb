/*-------------------------------------------------------------------------
 *
 * replica_lsn.c
 *		The two LSNs that read-your-writes across hot standbys needs: the end
 *		of this session's last commit record, and a bounded wait for a
 *		standby's replay to reach a given LSN.
 *
 * Locking rules first: none.  Both functions read positions PostgreSQL
 * keeps for them -- XactLastCommitEnd is a backend-local variable, the
 * replay position is read under the recovery spinlock inside
 * GetXLogReplayRecPtr() -- and neither touches the cache's shared memory.
 *
 * Why last_commit_lsn() is right.  A client that must see its own write on
 * a standby needs an LSN at or past that write's commit record: once a
 * standby's replay passed the commit record, the transaction is out of
 * KnownAssignedXids (new snapshots see it) and the cache has applied its
 * invalidations (docs/ARCHITECTURE.md, "Hot standbys").  Anything read
 * inside the writing transaction (pg_current_wal_lsn() in the UPDATE's
 * statement) is before the commit record, so it is wrong.  RecordTransaction-
 * Commit() sets XactLastCommitEnd to the end of the commit record it just
 * inserted -- the very LSN a synchronous_commit = remote_apply commit
 * waits for a standby to apply -- and no later transaction of the session
 * changes it until that transaction itself commits.  So a statement run on
 * the same connection right after the write's COMMIT (its own transaction,
 * the gateway pipelines the two with a Sync between them: one round trip)
 * reads exactly the write's commit end.  If the write assigned no xid (it
 * changed nothing) the value is an earlier commit of the session, or NULL
 * on a fresh session: nothing new to wait for, which is still correct.
 * pg_current_wal_insert_lsn() read at the same moment would also be at or
 * past the commit record, but includes every other session's WAL since,
 * so readers would wait for more than they need.
 *
 * Why replay_wait() waits in the server.  The gateway sends it and the read
 * in one pipeline (one round trip): the read runs only after the wait
 * returned on the same backend, so its snapshot is taken after replay
 * reached the returned LSN.  If the wait times out the gateway discards the
 * read and asks the primary.  It polls the replay position with a short,
 * growing sleep (1 ms up to 8 ms): PostgreSQL 15 has no wake-up on replay
 * progress that an extension can wait on, and waits are bounded by the
 * caller's timeout (at most 10 s) and by the gateway's pool size.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#define REPLAY_WAIT_MAX_MS 10000
#define REPLAY_POLL_MAX_MS 8

/* last_commit_lsn(): the end of this session's last commit record, or NULL. */
PG_FUNCTION_INFO_V1(openrisk_last_commit_lsn);

Datum
openrisk_last_commit_lsn(PG_FUNCTION_ARGS)
{
	if (XactLastCommitEnd == InvalidXLogRecPtr)
		PG_RETURN_NULL();
	PG_RETURN_LSN(XactLastCommitEnd);
}

/*
 * replay_wait(target, timeout_ms): wait until this standby replayed target
 * or timeout_ms passed; returns the replay position reached (>= target
 * when it got there).  NULL on a server that is not in recovery: a primary,
 * or a promoted standby, whose own WAL positions say nothing about another
 * primary's commits.
 */
PG_FUNCTION_INFO_V1(openrisk_replay_wait);

Datum
openrisk_replay_wait(PG_FUNCTION_ARGS)
{
	XLogRecPtr	target = PG_GETARG_LSN(0);
	int			timeout_ms = Max(0, Min(PG_GETARG_INT32(1), REPLAY_WAIT_MAX_MS));
	TimestampTz end = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	long		sleep_ms = 1;

	for (;;)
	{
		XLogRecPtr	replayed;
		long		left_ms;

		if (!RecoveryInProgress())
			PG_RETURN_NULL();
		replayed = GetXLogReplayRecPtr(NULL);
		if (replayed >= target)
			PG_RETURN_LSN(replayed);
		left_ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), end);
		if (left_ms <= 0)
			PG_RETURN_LSN(replayed);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Min(sleep_ms, left_ms), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		sleep_ms = Min(sleep_ms * 2, REPLAY_POLL_MAX_MS);
	}
}
