/*-------------------------------------------------------------------------
 *
 * cache_sql.c
 *		The SQL-callable cache API: get/put (single and batch), invalidate,
 *		ttl, stamp, reset, stats.
 *
 * These are thin: argument checks with proper SQLSTATEs, then the store
 * (cache_store.c), the pending set (cache_xact.c) or a walk (cache_walk.c).
 * Every read goes through or_cache_lookup_allowed() (cache_args.c), the
 * single place that decides when the cache must be bypassed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "cache.h"
#include "cache_args.h"

/* Analyse a key argument, raising the standard errors. */
static void
key_arg(text *t, KeyInfo *ki)
{
	or_key_check(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	or_key_analyze(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), ki);
}

/* A lookup that counts hits and misses and remembers the miss's stamp. */
static text *
get_one(text *key)
{
	KeyInfo		ki;
	text	   *value = NULL;

	key_arg(key, &ki);
	if (!or_cache_lookup_allowed(&ki))
		return NULL;
	if (or_lookup(&ki, NULL, &value, NULL, NULL) == LOOKUP_HIT)
	{
		or_count(hits);
		return value;
	}
	or_count(misses);
	or_remember_miss_stamp(ki.hash, or_read_stamp());
	return NULL;
}

/*
 * Store one value.  The stamp is, in order of preference: the caller's
 * (from cache_stamp() read before computing), the one remembered from this
 * transaction's cache_get miss of the same key, or now.
 */
static bool
put_one(text *key, const char *value, int vlen, int64 ttl_secs, bool have_stamp, uint64 stamp)
{
	KeyInfo		ki;

	key_arg(key, &ki);
	if (!or_cache_lookup_allowed(&ki))
		return false;
	if (!have_stamp && !or_recall_miss_stamp(ki.hash, &stamp))
		stamp = or_read_stamp();
	return or_store(&ki, value, vlen, GetCurrentTimestamp() + ttl_secs * USECS_PER_SEC,
					stamp, or_value_etag(value, vlen), false) == STORE_OK;
}

PG_FUNCTION_INFO_V1(openrisk_cache_get);
Datum
openrisk_cache_get(PG_FUNCTION_ARGS)
{
	text	   *v = get_one(PG_GETARG_TEXT_PP(0));

	if (v == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(v);
}

PG_FUNCTION_INFO_V1(openrisk_cache_put);
Datum
openrisk_cache_put(PG_FUNCTION_ARGS)
{
	text	   *key;
	text	   *value;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("cache key must not be NULL")));
	key = PG_GETARG_TEXT_PP(0);
	if (PG_ARGISNULL(1))
		PG_RETURN_BOOL(false);	/* NULL is "not found": never cached */
	value = PG_GETARG_TEXT_PP(1);
	PG_RETURN_BOOL(put_one(key, VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value),
						   or_ttl_arg(fcinfo, 2, VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key)),
						   !PG_ARGISNULL(3),
						   PG_ARGISNULL(3) ? 0 : (uint64) PG_GETARG_INT64(3)));
}

PG_FUNCTION_INFO_V1(openrisk_cache_get_many);
Datum
openrisk_cache_get_many(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ArrayType  *keys = PG_GETARG_ARRAYTYPE_P(0);
	Datum	   *elems;
	bool	   *elem_nulls;
	int			n,
				i;

	InitMaterializedSRF(fcinfo, 0);
	deconstruct_array(keys, TEXTOID, -1, false, TYPALIGN_INT, &elems, &elem_nulls, &n);
	for (i = 0; i < n; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};
		text	   *v = NULL;

		if (elem_nulls[i])
			nulls[0] = true;
		else
		{
			values[0] = elems[i];
			v = get_one(DatumGetTextPP(elems[i]));
		}
		if (v == NULL)
			nulls[1] = true;
		else
			values[1] = PointerGetDatum(v);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* The text a JSON value is cached as: strings unquoted, the rest as JSON. */
static char *
jsonb_value_text(JsonbValue *v)
{
	if (v->type == jbvString)
		return pnstrdup(v->val.string.val, v->val.string.len);
	if (v->type == jbvBinary)
		return JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
	return JsonbToCString(NULL, &JsonbValueToJsonb(v)->root, 0);
}

PG_FUNCTION_INFO_V1(openrisk_cache_put_many);
Datum
openrisk_cache_put_many(PG_FUNCTION_ARGS)
{
	Jsonb	   *entries;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	text	   *key = NULL;
	int			stored = 0;

	if (PG_ARGISNULL(0))
		PG_RETURN_INT32(0);
	entries = PG_GETARG_JSONB_P(0);
	if (!JB_ROOT_IS_OBJECT(entries))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cache_put_many expects a JSON object of \"key\": value pairs")));
	it = JsonbIteratorInit(&entries->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			key = cstring_to_text_with_len(v.val.string.val, v.val.string.len);
		else if (tok == WJB_VALUE && key != NULL)
		{
			if (v.type != jbvNull)
			{
				char	   *s = jsonb_value_text(&v);

				if (put_one(key, s, strlen(s),
							or_ttl_arg(fcinfo, 1, VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key)),
							false, 0))
					stored++;
			}
			key = NULL;
		}
	}
	PG_RETURN_INT32(stored);
}

/*
 * Queue an invalidation for commit and return how many entries it covers
 * now: exact and prefix counts are O(1); a glob counts by scanning.
 */
PG_FUNCTION_INFO_V1(openrisk_cache_invalidate);
Datum
openrisk_cache_invalidate(PG_FUNCTION_ARGS)
{
	text	   *pt = PG_GETARG_TEXT_PP(0);
	const char *pattern = VARDATA_ANY(pt);
	int			len = VARSIZE_ANY_EXHDR(pt);
	uint32		slot = 0;
	PatternKind kind;
	int64		covered = 0;

	kind = or_queue_invalidation(pattern, len);
	if (kind == PATTERN_PREFIX)
		(void) or_pattern_classify(pattern, len, &slot);
	if (!or_cache_available())
		PG_RETURN_INT64(0);
	if (kind == PATTERN_EXACT)
	{
		KeyInfo		ki;

		or_key_analyze(pattern, len, &ki);
		covered = or_lookup(&ki, NULL, NULL, NULL, NULL) != LOOKUP_MISS ? 1 : 0;
	}
	else if (kind == PATTERN_PREFIX)
		covered = pg_atomic_read_u32(&or_slots[slot].live);
	else
		covered = (int64) or_scan(pattern, len, false);
	PG_RETURN_INT64(covered);
}

PG_FUNCTION_INFO_V1(openrisk_cache_ttl);
Datum
openrisk_cache_ttl(PG_FUNCTION_ARGS)
{
	KeyInfo		ki;
	TimestampTz expires_at;
	Interval   *left;
	int64		usecs;

	key_arg(PG_GETARG_TEXT_PP(0), &ki);
	if (!or_cache_available() ||
		or_lookup(&ki, NULL, NULL, NULL, &expires_at) != LOOKUP_HIT)
		PG_RETURN_NULL();
	usecs = expires_at - GetCurrentTimestamp();
	left = (Interval *) palloc0(sizeof(Interval));
	left->time = Max(usecs, 0);
	PG_RETURN_INTERVAL_P(left);
}

PG_FUNCTION_INFO_V1(openrisk_cache_stamp);
Datum
openrisk_cache_stamp(PG_FUNCTION_ARGS)
{
	if (!or_cache_available())
		PG_RETURN_NULL();
	PG_RETURN_INT64((int64) or_read_stamp());
}

/*
 * cache_etag(value): the validator cache_fetch_meta() reports for value.
 * A caller that computes a value itself -- a write returning the new
 * representation of what it changed -- hands out the very ETag a later
 * cached read of that value carries, and can compare an If-Match with it.
 */
PG_FUNCTION_INFO_V1(openrisk_cache_etag);
Datum
openrisk_cache_etag(PG_FUNCTION_ARGS)
{
	text	   *v = PG_GETARG_TEXT_PP(0);

	PG_RETURN_DATUM(or_etag_datum(or_value_etag(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v))));
}

PG_FUNCTION_INFO_V1(openrisk_cache_reset);
Datum
openrisk_cache_reset(PG_FUNCTION_ARGS)
{
	if (or_cache_available())
		or_reset_all();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(openrisk_cache_stats);
Datum
openrisk_cache_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[19];
	bool		nulls[19];
	int			i = 0;
	bool		avail = or_cache_available();

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "openrisk: return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	memset(nulls, 0, sizeof(nulls));

	values[i++] = BoolGetDatum(avail);
	values[i++] = BoolGetDatum(avail && or_cache_enabled);
	if (!avail)
	{
		for (; i < 19; i++)
			values[i] = Int64GetDatum(0);
	}
	else
	{
		CacheCounters *c = &or_cache->counters;

#define C(f) values[i++] = Int64GetDatum((int64) pg_atomic_read_u64(&c->f))
		C(hits);
		C(misses);
		C(stores);
		C(evictions);
		C(expirations);
		C(invalidations);
		C(fills_rejected);
		C(too_large);
		C(stampede_waits);
		C(bypasses);
		C(store_failures);
		C(handoffs);
		C(stampede_recomputes);
#undef C
		LWLockAcquire(OR_ALLOC_LOCK, LW_SHARED);
		values[i++] = Int64GetDatum(or_cache->used_entries);
		values[i++] = Int64GetDatum((int64) (or_cache->nchunks - or_cache->free_chunks) * OR_CHUNK_SIZE);
		LWLockRelease(OR_ALLOC_LOCK);
		values[i++] = Int64GetDatum((int64) or_cache->nchunks * OR_CHUNK_SIZE);
		values[i++] = Int64GetDatum(or_cache->max_entries);
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
