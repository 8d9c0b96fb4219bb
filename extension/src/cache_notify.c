/*-------------------------------------------------------------------------
 *
 * cache_notify.c
 *		NOTIFY openrisk_cache once per committed invalidating transaction,
 *		without serialising the writers' commits.
 *
 * PostgreSQL's NOTIFY holds a database-wide lock from PreCommit_Notify
 * until the commit record is flushed, so every transaction that notifies
 * commits one at a time: on this project's write benchmark that halved
 * throughput (group commit is lost).  So a committing writer does not
 * NOTIFY itself.  Right after its commit it appends the payload to a
 * per-database queue in shared memory and sets the latch of that
 * database's notifier, a dynamic background worker that sends the queued
 * payloads, in commit order, in batches -- one NOTIFY per committed
 * transaction, none for an aborted one.  Listeners receive it a moment
 * after the commit, as they would anyway.
 *
 * A notifier connects to its database, so it exits after a second idle
 * (it would otherwise block DROP DATABASE) and is started again on demand.
 * Each queue holds NOTIFY_RING payloads; when a notifier falls that far
 * behind, what does not fit is counted and announced as one payload
 * {"overflow":true,"lost":N} -- "assume everything was invalidated".
 * Without shared memory (library not preloaded) the writer falls back to
 * a plain NOTIFY before its commit.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/async.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/timestamp.h"

#include "cache.h"

#define NOTIFY_DBS			8		/* databases notifying at the same time */
#define NOTIFY_RING			256		/* queued payloads per database */
#define NOTIFY_BATCH		64		/* payloads per notifier transaction */
#define NOTIFIER_COALESCE_MS 5		/* gather a batch before sending */
#define NOTIFIER_IDLE_MS	1000	/* then the notifier exits */
#define NOTIFIER_START_MS	10000	/* a start that did not show up is retried */

typedef struct NotifyPayload
{
	uint16		len;
	char		text[OR_NOTIFY_PAYLOAD_MAX];
} NotifyPayload;

typedef struct NotifyQueue
{
	Oid			dbid;			/* InvalidOid: unused */
	int			worker_pid;		/* 0: no notifier running */
	bool		worker_starting;
	TimestampTz starting_since;
	Latch	   *worker_latch;
	bool		wakeup_pending; /* latch set, notifier not yet draining */
	uint64		head;			/* next payload written */
	uint64		tail;			/* next payload sent */
	uint64		lost;			/* dropped because the queue was full */
	NotifyPayload ring[NOTIFY_RING];
} NotifyQueue;

static NotifyQueue *queues;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static Size
queues_size(void)
{
	return mul_size(NOTIFY_DBS, sizeof(NotifyQueue));
}

static void
notify_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(queues_size());
}

/* The queues live in a segment of their own; their lock is the cache's. */
static void
notify_shmem_startup(void)
{
	bool		found;
	int			i;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	queues = ShmemInitStruct("openrisk notify queues", queues_size(), &found);
	if (!found)
	{
		for (i = 0; i < NOTIFY_DBS; i++)
		{
			queues[i].dbid = InvalidOid;
			queues[i].worker_pid = 0;
			queues[i].worker_starting = false;
			queues[i].worker_latch = NULL;
			queues[i].wakeup_pending = false;
			queues[i].head = queues[i].tail = queues[i].lost = 0;
		}
	}
	LWLockRelease(AddinShmemInitLock);
}

/* From _PG_init while preloading. */
void
or_notify_register(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = notify_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = notify_shmem_startup;
}

/* This database's queue, claiming a free or idle one; NULL if none. */
static NotifyQueue *
queue_for(Oid dbid)
{
	int			i;
	NotifyQueue *spare = NULL;

	for (i = 0; i < NOTIFY_DBS; i++)
	{
		NotifyQueue *q = &queues[i];

		if (q->dbid == dbid)
			return q;
		if (spare == NULL && (q->dbid == InvalidOid ||
							  (q->worker_pid == 0 && !q->worker_starting && q->head == q->tail)))
			spare = q;
	}
	if (spare != NULL)
	{
		spare->dbid = dbid;
		spare->head = spare->tail = spare->lost = 0;
	}
	return spare;
}

static void
start_notifier(Oid dbid)
{
	BackgroundWorker w;
	BackgroundWorkerHandle *handle;

	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(w.bgw_library_name, BGW_MAXLEN, "openrisk");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "openrisk_notifier_main");
	snprintf(w.bgw_name, BGW_MAXLEN, "openrisk notifier for database %u", dbid);
	snprintf(w.bgw_type, BGW_MAXLEN, "openrisk notifier");
	w.bgw_main_arg = ObjectIdGetDatum(dbid);
	if (!RegisterDynamicBackgroundWorker(&w, &handle))
	{
		/* no worker slot now: the next commit tries again */
		LWLockAcquire(OR_NOTIFY_LOCK, LW_EXCLUSIVE);
		queue_for(dbid)->worker_starting = false;
		LWLockRelease(OR_NOTIFY_LOCK);
		elog(LOG, "openrisk: could not start a notifier for database %u (max_worker_processes?)", dbid);
	}
}

/*
 * Queue one committed transaction's payload for this database's notifier.
 * Called from the COMMIT callback: it must not throw.
 */
void
or_notify_enqueue(const char *payload, int len)
{
	NotifyQueue *q;
	bool		need_start = false;
	Latch	   *latch = NULL;
	TimestampTz now = GetCurrentTimestamp();

	len = Min(len, OR_NOTIFY_PAYLOAD_MAX);
	LWLockAcquire(OR_NOTIFY_LOCK, LW_EXCLUSIVE);
	q = queue_for(MyDatabaseId);
	if (q == NULL)
	{
		LWLockRelease(OR_NOTIFY_LOCK);
		elog(LOG, "openrisk: more than %d databases notifying at once; notification dropped", NOTIFY_DBS);
		return;
	}
	if (q->head - q->tail >= NOTIFY_RING)
		q->lost++;
	else
	{
		NotifyPayload *p = &q->ring[q->head % NOTIFY_RING];

		memcpy(p->text, payload, len);
		p->len = (uint16) len;
		q->head++;
	}
	if (q->worker_pid == 0 &&
		(!q->worker_starting ||
		 TimestampDifferenceExceeds(q->starting_since, now, NOTIFIER_START_MS)))
	{
		q->worker_starting = true;
		q->starting_since = now;
		need_start = true;
	}
	/* one wake-up per batch, not one per commit */
	if (!q->wakeup_pending)
	{
		latch = q->worker_latch;
		q->wakeup_pending = latch != NULL;
	}
	LWLockRelease(OR_NOTIFY_LOCK);

	if (latch != NULL)
		SetLatch(latch);
	if (need_start)
		start_notifier(MyDatabaseId);
}

static NotifyQueue *my_queue = NULL;

static void
notifier_detach(int code, Datum arg)
{
	LWLockAcquire(OR_NOTIFY_LOCK, LW_EXCLUSIVE);
	if (my_queue != NULL && my_queue->worker_pid == MyProcPid)
	{
		my_queue->worker_pid = 0;
		my_queue->worker_latch = NULL;
	}
	LWLockRelease(OR_NOTIFY_LOCK);
}

/* Send what is queued, a batch per transaction.  Returns payloads sent. */
static int
drain(void)
{
	static char batch[NOTIFY_BATCH][OR_NOTIFY_PAYLOAD_MAX + 1];	/* 500 kB, not stack */
	int			sent = 0;

	for (;;)
	{
		int			n = 0;
		uint64		lost;
		int			i;

		LWLockAcquire(OR_NOTIFY_LOCK, LW_EXCLUSIVE);
		my_queue->wakeup_pending = false;
		while (n < NOTIFY_BATCH && my_queue->tail < my_queue->head)
		{
			NotifyPayload *p = &my_queue->ring[my_queue->tail % NOTIFY_RING];

			memcpy(batch[n], p->text, p->len);
			batch[n][p->len] = '\0';
			n++;
			my_queue->tail++;
		}
		lost = my_queue->lost;
		my_queue->lost = 0;
		LWLockRelease(OR_NOTIFY_LOCK);
		if (n == 0 && lost == 0)
			return sent;

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		for (i = 0; i < n; i++)
			Async_Notify(OR_NOTIFY_CHANNEL, batch[i]);
		if (lost > 0)
			Async_Notify(OR_NOTIFY_CHANNEL,
						 psprintf("{\"overflow\":true,\"lost\":" UINT64_FORMAT "}", lost));
		CommitTransactionCommand();
		sent += n;
	}
}

/*
 * The notifier: one per database with pending payloads, for as long as
 * there are any (plus a second).
 */
PGDLLEXPORT void openrisk_notifier_main(Datum arg);

void
openrisk_notifier_main(Datum arg)
{
	Oid			dbid = DatumGetObjectId(arg);
	TimestampTz last_work = GetCurrentTimestamp();

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dbid, InvalidOid, 0);
	pgstat_report_appname("openrisk notifier");

	LWLockAcquire(OR_NOTIFY_LOCK, LW_EXCLUSIVE);
	my_queue = queue_for(dbid);
	if (my_queue == NULL || my_queue->worker_pid != 0)
	{
		LWLockRelease(OR_NOTIFY_LOCK);
		proc_exit(0);			/* another notifier already serves it */
	}
	my_queue->worker_pid = MyProcPid;
	my_queue->worker_starting = false;
	my_queue->worker_latch = MyLatch;
	LWLockRelease(OR_NOTIFY_LOCK);
	before_shmem_exit(notifier_detach, (Datum) 0);

	for (;;)
	{
		TimestampTz now;

		if (drain() > 0)
			last_work = GetCurrentTimestamp();
		now = GetCurrentTimestamp();
		if (TimestampDifferenceExceeds(last_work, now, NOTIFIER_IDLE_MS))
		{
			bool		idle;

			/* leave only if nothing arrived since the last drain */
			LWLockAcquire(OR_NOTIFY_LOCK, LW_EXCLUSIVE);
			idle = my_queue->head == my_queue->tail && my_queue->lost == 0;
			if (idle)
			{
				my_queue->worker_pid = 0;
				my_queue->worker_latch = NULL;
			}
			LWLockRelease(OR_NOTIFY_LOCK);
			if (idle)
				proc_exit(0);
		}
		if (WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 200, PG_WAIT_EXTENSION) & WL_LATCH_SET)
		{
			/*
			 * Woken by a commit: let a few more arrive so they share one
			 * transaction (under a write burst this is what keeps the
			 * notifier's cost per commit small).
			 */
			ResetLatch(MyLatch);
			pg_usleep(NOTIFIER_COALESCE_MS * 1000L);
		}
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}
