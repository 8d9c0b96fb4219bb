/*-------------------------------------------------------------------------
 *
 * cache_xact.c
 *		Commit-time invalidation: pending patterns, fences, NOTIFY.
 *
 * cache_invalidate() never touches shared memory by itself: it records the
 * pattern in this backend's pending set, and the transaction callbacks
 * apply the set when -- and only if -- the transaction commits:
 *
 *   PRE_COMMIT  write the pending patterns to WAL as one record, for hot
 *               standbys (cache_wal.c); raise the fence of every pending
 *               slot (or the glob fence).  From here until
 *               the fences drop, no entry under those prefixes is served
 *               and no fill under them is published.
 *   (the commit record is written and the transaction becomes visible)
 *   COMMIT      take one fresh clock value g; raise every pending slot's
 *               generation to g (entries stamped before g are dead), run
 *               glob scans, remove exact keys physically, drop the fences,
 *               and hand one NOTIFY payload to the notifier (cache_notify.c).
 *   ABORT       drop the fences if raised; forget everything.
 *
 * A reader that took its snapshot before the commit became visible read
 * the clock before g, so its fill is rejected at publish (generation > its
 * stamp) or, if it publishes between PRE_COMMIT and COMMIT, by the fence.
 * A reader that starts after the commit returned finds the generations
 * raised.  Both halves are proven by the isolation specs.
 *
 * Read-your-writes: while a transaction has pending patterns, it neither
 * reads nor fills keys they cover (checked by slot, so a false positive is
 * a harmless bypass).  Subtransactions that abort take their patterns
 * with them.  PREPARE TRANSACTION with pending patterns is refused: the
 * fences would have to outlive this backend.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "commands/async.h"
#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/memutils.h"

#include "cache.h"


typedef struct PendingPattern
{
	char	   *pattern;		/* hash key: a pointer to a NUL-terminated copy */
	int			len;
	PatternKind kind;
	uint32		slot;			/* EXACT and PREFIX */
	int			nest_level;		/* subtransaction that recorded it */
} PendingPattern;

typedef struct MissStamp
{
	uint64		key_hash;
	uint64		stamp;
} MissStamp;

static MemoryContext xact_cxt = NULL;	/* everything below lives here */
static HTAB *pending = NULL;	/* pattern -> PendingPattern */
static HTAB *pending_slots = NULL;	/* slot (uint32) set, for reads */
static bool pending_glob = false;
static int	pending_max_level = 0;
static HTAB *miss_stamps = NULL;	/* key hash -> stamp of last miss */
static bool fenced = false;
static TransactionId committing_xid = InvalidTransactionId;

static void
ensure_xact_cxt(void)
{
	if (xact_cxt == NULL)
		xact_cxt = AllocSetContextCreate(TopMemoryContext, "openrisk pending invalidations",
										 ALLOCSET_DEFAULT_SIZES);
}

static HTAB *
create_slot_set(void)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(uint32);
	ctl.entrysize = sizeof(uint32);
	ctl.hcxt = xact_cxt;
	return hash_create("openrisk pending slots", 64, &ctl,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

static void
create_pending_tables(void)
{
	HASHCTL		ctl;

	ensure_xact_cxt();
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(char *);
	ctl.entrysize = sizeof(PendingPattern);
	ctl.hash = or_cstring_ptr_hash;
	ctl.match = or_cstring_ptr_match;
	ctl.hcxt = xact_cxt;
	pending = hash_create("openrisk pending patterns", 64, &ctl,
						  HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
	pending_slots = create_slot_set();
}

/* Record a pattern for this transaction (deduplicated). */
static void
pending_add(const char *pattern, int len, PatternKind kind, uint32 slot)
{
	PendingPattern *p;
	char	   *copy;
	bool		found;
	int			level = GetCurrentTransactionNestLevel();

	if (pending == NULL)
		create_pending_tables();
	copy = MemoryContextAlloc(xact_cxt, len + 1);
	memcpy(copy, pattern, len);
	copy[len] = '\0';
	p = hash_search(pending, &copy, HASH_ENTER, &found);
	if (found)
	{
		pfree(copy);
		return;					/* keep the outermost level it was seen at */
	}
	p->len = len;
	p->kind = kind;
	p->slot = slot;
	p->nest_level = level;
	pending_max_level = Max(pending_max_level, level);
	if (kind == PATTERN_GLOB)
		pending_glob = true;
	else
		hash_search(pending_slots, &slot, HASH_ENTER, NULL);
}

/* Does this transaction's pending set cover the key?  (read-your-writes) */
bool
or_pending_covers(const KeyInfo *ki)
{
	int			i;

	if (pending == NULL)
		return false;
	if (pending_glob)
		return true;
	for (i = 0; i < ki->nprefixes; i++)
		if (hash_search(pending_slots, &ki->prefix_slot[i], HASH_FIND, NULL))
			return true;
	return false;
}

/* Rebuild the slot set and glob flag after a subtransaction dropped patterns. */
static void
rebuild_pending_index(void)
{
	HASH_SEQ_STATUS seq;
	PendingPattern *p;

	hash_destroy(pending_slots);
	pending_slots = create_slot_set();
	pending_glob = false;
	hash_seq_init(&seq, pending);
	while ((p = hash_seq_search(&seq)) != NULL)
	{
		if (p->kind == PATTERN_GLOB)
			pending_glob = true;
		else
			hash_search(pending_slots, &p->slot, HASH_ENTER, NULL);
	}
}

static void
forget_everything(void)
{
	pending = NULL;
	pending_slots = NULL;
	miss_stamps = NULL;
	pending_glob = false;
	pending_max_level = 0;
	fenced = false;
	if (xact_cxt)
		MemoryContextReset(xact_cxt);
}

static void
set_fences(int delta)
{
	HASH_SEQ_STATUS seq;
	PendingPattern *p;

	hash_seq_init(&seq, pending);
	while ((p = hash_seq_search(&seq)) != NULL)
	{
		if (p->kind == PATTERN_GLOB)
			pg_atomic_fetch_add_u32(&or_cache->glob_fence, delta);
		else
			pg_atomic_fetch_add_u32(&or_slots[p->slot].fence, delta);
	}
}

/*
 * The transaction's one NOTIFY payload: every distinct pattern while they
 * fit under OR_NOTIFY_PAYLOAD_MAX, the total count, whether the list was
 * cut short, and who committed.  palloc'd.
 */
static char *
notify_payload(void)
{
	StringInfoData buf;
	HASH_SEQ_STATUS seq;
	PendingPattern *p;
	long		count = hash_get_num_entries(pending);
	long		listed = 0;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"patterns\":[");
	hash_seq_init(&seq, pending);
	while ((p = hash_seq_search(&seq)) != NULL)
	{
		if (buf.len + p->len * 2 + 96 > OR_NOTIFY_PAYLOAD_MAX)
		{
			hash_seq_term(&seq);
			break;
		}
		if (listed++ > 0)
			appendStringInfoChar(&buf, ',');
		escape_json(&buf, p->pattern);
	}
	appendStringInfo(&buf, "],\"count\":%ld,\"truncated\":%s,\"xid\":%u,\"pid\":%d}",
					 count, listed < count ? "true" : "false", committing_xid, MyProcPid);
	return buf.data;
}

/* The pending set, deduplicated, as one WAL record (before the commit record). */
static void
log_pending_to_wal(void)
{
	HASH_SEQ_STATUS seq;
	PendingPattern *p;
	OrWalBuilder *b;

	if (!or_wal_wanted())
		return;
	b = or_wal_begin();
	hash_seq_init(&seq, pending);
	while ((p = hash_seq_search(&seq)) != NULL)
		or_wal_add(b, p->pattern, p->len);
	or_wal_finish(b);
}

/*
 * The commit half: one clock tick for the whole transaction, generations
 * raised, counts taken, exact keys and globs removed, then fences dropped.
 * Runs after the commit is visible and must not throw.
 */
static void
apply_at_commit(void)
{
	uint64		g = pg_atomic_fetch_add_u64(&or_cache->clock, 1) + 1;
	HASH_SEQ_STATUS seq;
	PendingPattern *p;
	uint64		invalidated = 0;

	hash_seq_init(&seq, pending);
	while ((p = hash_seq_search(&seq)) != NULL)
	{
		if (p->kind == PATTERN_GLOB)
		{
			or_atomic_max_u64(&or_cache->glob_gen, g);
			invalidated += or_scan(p->pattern, p->len, true);
			continue;
		}
		or_atomic_max_u64(&or_slots[p->slot].gen, g);
		invalidated += pg_atomic_exchange_u32(&or_slots[p->slot].live, 0);
		if (p->kind == PATTERN_EXACT)
		{
			KeyInfo		ki;

			or_key_analyze(p->pattern, p->len, &ki);
			or_remove_key(&ki);
		}
	}
	pg_atomic_fetch_add_u64(&or_cache->counters.invalidations, invalidated);
	set_fences(-1);
	fenced = false;

	/* a hot standby cannot NOTIFY; its listeners listen on the primary */
	if (or_notify && !RecoveryInProgress())
	{
		char	   *payload = notify_payload();

		or_notify_enqueue(payload, strlen(payload));
		pfree(payload);
	}
}

static void
xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			if (pending == NULL || hash_get_num_entries(pending) == 0)
				break;
			log_pending_to_wal();	/* may assign the xid */
			committing_xid = GetTopTransactionIdIfAny();
			if (or_cache_available())
			{
				/* NOTIFY is queued for the notifier at COMMIT */
				set_fences(+1);
				fenced = true;
			}
			else if (or_notify)
				Async_Notify(OR_NOTIFY_CHANNEL, notify_payload());
			break;
		case XACT_EVENT_COMMIT:
			if (fenced)
				apply_at_commit();
			forget_everything();
			break;
		case XACT_EVENT_PRE_PREPARE:
			if (pending != NULL && hash_get_num_entries(pending) > 0)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot PREPARE a transaction that invalidated openrisk cache entries"),
						 errdetail("Cache invalidation takes effect at commit in the same backend.")));
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			if (fenced)
				set_fences(-1);
			forget_everything();
			break;
		default:
			break;
	}
}

/* Patterns recorded by an aborted subtransaction are forgotten. */
static void
subxact_callback(SubXactEvent event, SubTransactionId mySubid,
				 SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();
	HASH_SEQ_STATUS seq;
	PendingPattern *p;
	bool		dropped = false;

	if (pending == NULL || pending_max_level < level)
		return;
	if (event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB)
		return;
	hash_seq_init(&seq, pending);
	while ((p = hash_seq_search(&seq)) != NULL)
	{
		if (p->nest_level < level)
			continue;
		if (event == SUBXACT_EVENT_COMMIT_SUB)
			p->nest_level = level - 1;
		else
		{
			hash_search(pending, &p->pattern, HASH_REMOVE, NULL);
			dropped = true;
		}
	}
	pending_max_level = level - 1;
	if (dropped)
		rebuild_pending_index();
}

void
or_xact_register(void)
{
	RegisterXactCallback(xact_callback, NULL);
	RegisterSubXactCallback(subxact_callback, NULL);
}

/*
 * The fill stamp: read the generation clock with a full barrier, so that
 * any snapshot taken afterwards is ordered after the read.
 */
uint64
or_read_stamp(void)
{
	return pg_atomic_fetch_add_u64(&or_cache->clock, 0);
}

/*
 * May this transaction read from and fill the cache at all?  REPEATABLE
 * READ and SERIALIZABLE transactions keep one old snapshot, so a value
 * from the cache could be newer than what they must see (and what they
 * compute could be older than the cache's stamp rules assume): they go
 * around the cache.  A hot standby uses its cache, kept consistent by the
 * primary's WAL records (cache_wal.c, cache_standby.c), unless
 * openrisk.standby_cache is off.
 */
bool
or_read_path_usable(void)
{
	if (!or_cache_available() || !or_cache_enabled)
		return false;
	if (IsolationUsesXactSnapshot() || (!or_standby_cache && RecoveryInProgress()))
	{
		or_count(bypasses);
		return false;
	}
	return true;
}

/* cache_get remembers when a miss happened, so cache_put can use it. */
void
or_remember_miss_stamp(uint64 key_hash, uint64 stamp)
{
	MissStamp  *m;

	if (miss_stamps == NULL)
	{
		HASHCTL		ctl;

		ensure_xact_cxt();
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(uint64);
		ctl.entrysize = sizeof(MissStamp);
		ctl.hcxt = xact_cxt;
		miss_stamps = hash_create("openrisk miss stamps", 16, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	m = hash_search(miss_stamps, &key_hash, HASH_ENTER, NULL);
	m->stamp = stamp;
}

bool
or_recall_miss_stamp(uint64 key_hash, uint64 *stamp)
{
	MissStamp  *m;

	if (miss_stamps == NULL)
		return false;
	m = hash_search(miss_stamps, &key_hash, HASH_FIND, NULL);
	if (m == NULL)
		return false;
	*stamp = m->stamp;
	return true;
}

/* Check a pattern and add it to this transaction's pending set. */
PatternKind
or_queue_invalidation(const char *pattern, int len)
{
	uint32		slot = 0;
	PatternKind kind;

	or_key_check(pattern, len);
	kind = or_pattern_classify(pattern, len, &slot);
	pending_add(pattern, len, kind, slot);
	return kind;
}
