/*-------------------------------------------------------------------------
 *
 * cache_args.c
 *		What every SQL-callable cache function shares: whether the cache may
 *		be read at all, the TTL argument, and the (hit, etag, value) row.
 *
 * cache_sql.c (get/put/invalidate/...) and cache_fetch.c (cache_fetch and
 * cache_fetch_meta) both build on these and on nothing of each other's,
 * so the decision "may this call use the cache" and the TTL rule are
 * written once.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "cache.h"
#include "cache_args.h"

/*
 * The single place that decides whether a read may use the cache: not when
 * it is disabled, not preloaded, in REPEATABLE READ or SERIALIZABLE, on a
 * standby with openrisk.standby_cache off, or for a key this transaction
 * invalidated (its own writes must be visible to it).  On a standby it
 * first applies the remote invalidations that have become final
 * (cache_standby.c).
 */
bool
or_cache_lookup_allowed(const KeyInfo *ki)
{
	if (!or_read_path_usable())
		return false;
	if (or_pending_covers(ki))
	{
		or_count(bypasses);
		return false;
	}
	or_standby_precheck(ki);
	return true;
}

/* A value's ETag as SQL text: 16 hex digits, the one format everywhere. */
Datum
or_etag_datum(uint64 etag)
{
	return CStringGetTextDatum(psprintf("%016" INT64_MODIFIER "x", etag));
}

/* cache_fetch_meta's row: (hit, etag as 16 hex digits, value). */
Datum
or_fetch_result_datum(FunctionCallInfo fcinfo, const FetchOutcome *out)
{
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "openrisk: return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = BoolGetDatum(out->hit);
	if (out->value != NULL)
	{
		values[1] = or_etag_datum(out->etag);
		values[2] = PointerGetDatum(out->value);
	}
	else
		nulls[1] = nulls[2] = true;
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}

/* An interval as whole seconds, the way TTLs are stored. */
static int64
interval_seconds(Interval *iv)
{
	int64		secs = iv->time / USECS_PER_SEC;

	secs += (int64) iv->day * SECS_PER_DAY;
	secs += (int64) iv->month * DAYS_PER_MONTH * SECS_PER_DAY;
	return secs;
}

/* The TTL argument, or the key's namespace default; errors on <= 0. */
int64
or_ttl_arg(FunctionCallInfo fcinfo, int argno, const char *key, int keylen)
{
	int64		secs;

	if (PG_ARGISNULL(argno))
		return or_default_ttl_for_key(key, keylen);
	secs = interval_seconds(PG_GETARG_INTERVAL_P(argno));
	if (secs <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cache TTL must be at least one second")));
	return secs;
}
