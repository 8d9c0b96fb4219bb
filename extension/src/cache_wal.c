/*-------------------------------------------------------------------------
 *
 * cache_wal.c
 *		Invalidations carried in WAL: the openrisk custom resource manager.
 *
 * Locking rules: the writing side takes no cache lock at all (it runs in
 * the committing backend's PRE_COMMIT callback, before the commit record,
 * and only builds and inserts one record).  Redo takes only what
 * cache_standby.c takes: the openrisk_standby LWLock, and no partition
 * lock except at the end of recovery, to empty the cache if the pending
 * table had overflowed.
 *
 * Why: a hot standby's data moves by WAL replay, which fires no trigger, so
 * its cache would never learn what a primary transaction invalidated.  So
 * a committing transaction also writes its invalidations to WAL, and the
 * standby's startup process applies them to the standby's own cache.
 *
 * The record (one per committing transaction that queued invalidations):
 *
 *   header   dbid, top-level xid, npatterns, flags
 *   body     npatterns x (uint16 length, pattern bytes), deduplicated
 *
 * Patterns travel as text, not as slot numbers, because the standby's slot
 * array has its own size (openrisk.cache_max_entries may differ).  A
 * transaction with more than OR_XL_MAX_PATTERNS patterns or
 * OR_XL_MAX_BYTES bytes of them sends the flag OR_XL_WHOLE_DB instead,
 * which the standby applies as "*" of that database.
 *
 * The record is written in PRE_COMMIT, so it precedes the commit record in
 * WAL: on the standby it opens a fence on the slots (cache_standby.c) that
 * the replay of the commit (or abort) eventually closes.  A transaction
 * that invalidated without writing anything is given an xid here, so that
 * it has a commit record to close the fence with.  Nothing is written
 * during recovery, with wal_level = minimal (no standby can exist), when
 * openrisk.wal_invalidations is off, or when the library was not
 * preloaded (the resource manager must be registered by the postmaster).
 *
 * The resource manager id is openrisk.wal_rmgr_id (postmaster-only,
 * default RM_EXPERIMENTAL_ID = 128); every server replaying this WAL must
 * preload openrisk with the same id, or its recovery stops with
 * "resource manager with ID n not registered".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/rmgr.h"
#include "access/transam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "access/xloginsert.h"
#include "access/xlogreader.h"
#include "access/xlogutils.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"

#include "cache.h"

#define XLOG_OPENRISK_INVALIDATE	0x00
#define OR_XL_WHOLE_DB				0x0001
#define OR_XL_MAX_PATTERNS			256
#define OR_XL_MAX_BYTES				32768

typedef struct xl_openrisk_invalidate
{
	Oid			dbid;
	TransactionId xid;			/* top-level; also the record's xl_xid */
	uint16		npatterns;
	uint16		flags;
	/* npatterns x { uint16 len; char bytes[len]; } follow, unaligned */
} xl_openrisk_invalidate;

#define SizeOfOpenriskInvalidate	(offsetof(xl_openrisk_invalidate, flags) + sizeof(uint16))

struct OrWalBuilder
{
	StringInfoData body;
	int			npatterns;
	bool		whole_db;
};

static bool rmgr_registered = false;

static void or_wal_redo(XLogReaderState *record);
static void or_wal_desc(StringInfo buf, XLogReaderState *record);
static const char *or_wal_identify(uint8 info);
static void or_wal_cleanup(void);

static RmgrData or_rmgr = {
	.rm_name = "openrisk",
	.rm_redo = or_wal_redo,
	.rm_desc = or_wal_desc,
	.rm_identify = or_wal_identify,
	.rm_cleanup = or_wal_cleanup,
};

/* From _PG_init, while shared_preload_libraries is being processed. */
void
or_wal_register(void)
{
	RegisterCustomRmgr((RmgrId) or_wal_rmgr_id, &or_rmgr);
	rmgr_registered = true;
}

/* Should the committing transaction write its invalidations to WAL? */
bool
or_wal_wanted(void)
{
	return rmgr_registered && or_wal_invalidations &&
		   XLogStandbyInfoActive() && !RecoveryInProgress();
}

/* ---------------------------------------------------------------- writing */

OrWalBuilder *
or_wal_begin(void)
{
	OrWalBuilder *b = palloc0(sizeof(OrWalBuilder));

	initStringInfo(&b->body);
	return b;
}

void
or_wal_add(OrWalBuilder *b, const char *pattern, int len)
{
	uint16		l = (uint16) len;

	if (b->whole_db)
		return;
	if (b->npatterns >= OR_XL_MAX_PATTERNS ||
		b->body.len + (int) sizeof(uint16) + len > OR_XL_MAX_BYTES)
	{
		b->whole_db = true;
		return;
	}
	Assert(len <= OR_MAX_KEY_LEN);
	appendBinaryStringInfo(&b->body, (char *) &l, sizeof(uint16));
	appendBinaryStringInfo(&b->body, pattern, len);
	b->npatterns++;
}

/*
 * Insert the record (before the commit record: we are in PRE_COMMIT).
 * Assigns an xid when the transaction had none, unless a parallel
 * operation forbids it (then nothing is written: a transaction without an
 * xid changed no data a standby could show).
 */
void
or_wal_finish(OrWalBuilder *b)
{
	xl_openrisk_invalidate xlrec;

	if (b->npatterns == 0 && !b->whole_db)
		return;
	if (!TransactionIdIsValid(GetTopTransactionIdIfAny()) && IsInParallelMode())
		return;
	xlrec.xid = GetTopTransactionId();
	xlrec.dbid = MyDatabaseId;
	xlrec.npatterns = b->whole_db ? 0 : (uint16) b->npatterns;
	xlrec.flags = b->whole_db ? OR_XL_WHOLE_DB : 0;

	XLogBeginInsert();
	XLogRegisterData((char *) &xlrec, SizeOfOpenriskInvalidate);
	if (!b->whole_db && b->body.len > 0)
		XLogRegisterData(b->body.data, b->body.len);
	(void) XLogInsert((RmgrId) or_wal_rmgr_id, XLOG_OPENRISK_INVALIDATE);
	or_standby_count_written();
}

/* ------------------------------------------------------------------ reading */

/* Check and copy the header; PANIC on a record we cannot have written. */
static void
read_header(XLogReaderState *record, xl_openrisk_invalidate *xlrec)
{
	uint8		info = XLogRecGetInfo(record) & ~XLR_INFO_MASK;

	if (info != XLOG_OPENRISK_INVALIDATE)
		ereport(PANIC,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("openrisk redo: unknown op code %u", info)));
	if (XLogRecGetDataLen(record) < SizeOfOpenriskInvalidate)
		ereport(PANIC,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("openrisk redo: record of %u bytes is too short",
						XLogRecGetDataLen(record))));
	memcpy(xlrec, XLogRecGetData(record), SizeOfOpenriskInvalidate);
}

/*
 * Walk the patterns of a record: returns false at the end.  *pos is the
 * byte offset in the record's data, starting after the header.
 */
static bool
next_pattern(XLogReaderState *record, uint32 *pos, const char **pattern, uint16 *len)
{
	const char *data = XLogRecGetData(record);
	uint32		total = XLogRecGetDataLen(record);

	if (*pos >= total)
		return false;
	if (*pos + sizeof(uint16) > total)
		ereport(PANIC,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("openrisk redo: truncated pattern length at offset %u", *pos)));
	memcpy(len, data + *pos, sizeof(uint16));
	*pos += sizeof(uint16);
	if (*len == 0 || *len > OR_MAX_KEY_LEN || *pos + *len > total)
		ereport(PANIC,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("openrisk redo: bad pattern length %u at offset %u", *len, *pos)));
	*pattern = data + *pos;
	*pos += *len;
	return true;
}

/*
 * The slots a record fences on this server: one per distinct prefix or
 * exact pattern; a glob, the whole-database flag or more than
 * OR_REMOTE_SLOTS distinct slots become the database's root slot ("*"),
 * a conservative full-database invalidation instead of a scan.
 */
static int
record_slots(XLogReaderState *record, const xl_openrisk_invalidate *xlrec, uint32 *slots)
{
	uint32		pos = SizeOfOpenriskInvalidate;
	const char *pattern;
	uint16		len;
	int			n = 0;
	bool		whole = (xlrec->flags & OR_XL_WHOLE_DB) != 0;

	while (!whole && next_pattern(record, &pos, &pattern, &len))
	{
		uint32		slot = 0;
		int			i;

		if (or_pattern_classify_db(xlrec->dbid, pattern, len, &slot) == PATTERN_GLOB)
			whole = true;
		for (i = 0; i < n && slots[i] != slot; i++)
			;
		if (i < n)
			continue;
		if (n == OR_REMOTE_SLOTS)
			whole = true;
		else
			slots[n++] = slot;
	}
	if (whole)
	{
		slots[0] = or_root_slot(xlrec->dbid);
		n = 1;
	}
	return n;
}

/*
 * Redo, in the startup process.  Without hot standby (crash recovery, or
 * hot_standby = off) no backend can read the cache until recovery ends,
 * and the cache is empty then: nothing to fence.
 */
static void
or_wal_redo(XLogReaderState *record)
{
	xl_openrisk_invalidate xlrec;
	uint32		slots[OR_REMOTE_SLOTS];
	int			n;
	TransactionId xid = XLogRecGetXid(record);

	read_header(record, &xlrec);
	if (standbyState == STANDBY_DISABLED || !or_cache_available())
	{
		or_standby_count_skipped();
		return;
	}
	if (!TransactionIdIsNormal(xid) || xid != xlrec.xid)
		ereport(PANIC,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("openrisk redo: record xid %u does not match its header's %u",
						xid, xlrec.xid)));
	n = record_slots(record, &xlrec, slots);
	or_standby_add(xid, xlrec.dbid, slots, n);
}

static void
or_wal_desc(StringInfo buf, XLogReaderState *record)
{
	xl_openrisk_invalidate xlrec;
	uint32		pos = SizeOfOpenriskInvalidate;
	const char *pattern;
	uint16		len;
	int			i = 0;

	if ((XLogRecGetInfo(record) & ~XLR_INFO_MASK) != XLOG_OPENRISK_INVALIDATE ||
		XLogRecGetDataLen(record) < SizeOfOpenriskInvalidate)
		return;
	memcpy(&xlrec, XLogRecGetData(record), SizeOfOpenriskInvalidate);
	appendStringInfo(buf, "db %u xid %u", xlrec.dbid, xlrec.xid);
	if (xlrec.flags & OR_XL_WHOLE_DB)
	{
		appendStringInfoString(buf, "; whole database");
		return;
	}
	appendStringInfo(buf, "; %u patterns:", xlrec.npatterns);
	while (pos + sizeof(uint16) <= XLogRecGetDataLen(record))
	{
		memcpy(&len, XLogRecGetData(record) + pos, sizeof(uint16));
		pos += sizeof(uint16);
		if (pos + len > XLogRecGetDataLen(record))
			break;
		pattern = XLogRecGetData(record) + pos;
		pos += len;
		appendStringInfo(buf, "%s %.*s", i++ ? "," : "", (int) len, pattern);
	}
}

static const char *
or_wal_identify(uint8 info)
{
	if ((info & ~XLR_INFO_MASK) == XLOG_OPENRISK_INVALIDATE)
		return "INVALIDATE";
	return NULL;
}

/* End of recovery (promotion, or end of crash recovery). */
static void
or_wal_cleanup(void)
{
	if (or_cache_available())
		or_standby_end_of_recovery();
}

/* ------------------------------------------------------------------ SQL */

/* Columns of cache_wal_stats() (sql/engine.sql), in order. */
#define WAL_STATS_COLS 11

/* cache_wal_stats(): the WAL side in numbers (no keys, no data). */
PG_FUNCTION_INFO_V1(openrisk_cache_wal_stats);
Datum
openrisk_cache_wal_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[WAL_STATS_COLS];
	bool		nulls[WAL_STATS_COLS];
	OrStandbyStats s;
	int			i = 0;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "openrisk: return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	memset(nulls, 0, sizeof(nulls));
	values[i++] = BoolGetDatum(or_wal_wanted());
	values[i++] = Int32GetDatum(or_wal_rmgr_id);
	if (!or_standby_stats(&s))
	{
		for (; i < WAL_STATS_COLS; i++)
			nulls[i] = true;
	}
	else
	{
		values[i++] = Int64GetDatum(s.pending);
		values[i++] = BoolGetDatum(s.overflowed);
		values[i++] = Int32GetDatum(s.capacity);
		values[i++] = Int64GetDatum((int64) s.written);
		values[i++] = Int64GetDatum((int64) s.replayed);
		values[i++] = Int64GetDatum((int64) s.skipped);
		values[i++] = Int64GetDatum((int64) s.committed);
		values[i++] = Int64GetDatum((int64) s.aborted);
		values[i++] = Int64GetDatum((int64) s.overflows);
	}
	Assert(i == WAL_STATS_COLS);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
