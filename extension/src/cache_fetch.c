/*-------------------------------------------------------------------------
 *
 * cache_fetch.c
 *		cache_fetch(): the race-free cache-or-compute primitive.
 *
 * Every OpenRisk endpoint function, and any user's function, caches its
 * result through this one call:
 *
 *   cache_fetch(key, ttl, query, VARIADIC args "any") returns text
 *
 * On a hit the stored text is returned without running anything.  On a
 * miss it claims the key against a stampede, reads the fill stamp, and
 * only then runs the query -- through SPI, in a VOLATILE function, so in
 * READ COMMITTED the query's snapshot is taken after the stamp.  That
 * ordering is what lets or_store() refuse a value computed from a snapshot
 * older than a committed invalidation.
 *
 * A key fenced by a commit in progress is a miss like any other, except
 * that its owner waits (at most openrisk.stampede_timeout) for that commit
 * to finish before it reads its stamp: a value computed inside the commit
 * window could never be stored, so every request in it used to compute
 * its own.
 *
 * A miss takes its read view (cache.h) before it claims or waits.  A
 * request that waited for the owner's fill is judged by that view, so it
 * is answered by the owner's value even when a write that committed during
 * the wait made the value unstorable: the owner then keeps it as a
 * handoff entry for exactly those waiters.  Requests that start after the
 * write (their view sees its generation) recompute.
 *
 * Query plans are prepared once per backend per (query text, argument
 * types) and kept, so a miss costs one plan execution, not a parse.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "cache.h"
#include "cache_args.h"

#define MAX_KEPT_PLANS 512

typedef struct KeptPlan
{
	char	   *signature;		/* "argtype,argtype|query": the hash key */
	SPIPlanPtr	plan;
} KeptPlan;

static HTAB *kept_plans = NULL;

/* The kept plan for query with these argument types, preparing it once. */
static SPIPlanPtr
plan_for(const char *query, int nargs, Oid *types)
{
	StringInfoData sig;
	KeptPlan   *kp;
	bool		found;
	SPIPlanPtr	plan;
	int			i;

	if (kept_plans == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(char *);
		ctl.entrysize = sizeof(KeptPlan);
		ctl.hash = or_cstring_ptr_hash;
		ctl.match = or_cstring_ptr_match;
		ctl.hcxt = CacheMemoryContext;
		kept_plans = hash_create("openrisk kept plans", 64, &ctl,
								 HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
	}
	initStringInfo(&sig);
	for (i = 0; i < nargs; i++)
		appendStringInfo(&sig, "%u,", types[i]);
	appendStringInfo(&sig, "|%s", query);

	kp = hash_search(kept_plans, &sig.data, HASH_FIND, NULL);
	if (kp != NULL)
		return kp->plan;

	plan = SPI_prepare(query, nargs, types);
	if (plan == NULL)
		elog(ERROR, "openrisk: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	if (hash_get_num_entries(kept_plans) >= MAX_KEPT_PLANS)
		return plan;			/* dynamic queries: used once, freed with SPI */
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "openrisk: SPI_keepplan failed");
	{
		char	   *copy = MemoryContextStrdup(CacheMemoryContext, sig.data);

		kp = hash_search(kept_plans, &copy, HASH_ENTER, &found);
		kp->plan = plan;
	}
	return plan;
}

/*
 * Run query with args; return the first column of the first row as text
 * in the caller's memory context, or NULL (no row, or a NULL value).
 */
static text *
run_query(const char *query, int nargs, Datum *values, Oid *types, bool *nulls)
{
	MemoryContext caller = CurrentMemoryContext;
	char	   *nullmap = nargs > 0 ? palloc(nargs) : NULL;
	text	   *result = NULL;
	SPIPlanPtr	plan;
	int			rc;
	int			i;

	for (i = 0; i < nargs; i++)
		nullmap[i] = nulls[i] ? 'n' : ' ';

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "openrisk: SPI_connect failed");
	plan = plan_for(query, nargs, types);
	rc = SPI_execute_plan(plan, values, nullmap, false, 1);
	if (rc < 0)
		elog(ERROR, "openrisk: query failed: %s", SPI_result_code_string(rc));
	if (SPI_tuptable == NULL || SPI_tuptable->tupdesc->natts < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cache_fetch query must return at least one column")));
	if (SPI_processed > 0)
	{
		char	   *s = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		if (s != NULL)
		{
			MemoryContext spi = MemoryContextSwitchTo(caller);

			result = cstring_to_text(s);
			MemoryContextSwitchTo(spi);
		}
	}
	SPI_finish();
	return result;
}

/*
 * Publish a computed value.  When the race check refuses it and requests
 * are queued on our claim, keep it for them as a handoff entry: each of
 * them took its read view before waiting, and that view admits the value
 * only if the write that made it unstorable overlapped the request.
 */
static void
publish(const KeyInfo *ki, const text *value, uint64 etag, int64 ttl,
		uint64 stamp, bool owner)
{
	const char *v = VARDATA_ANY(value);
	int			len = VARSIZE_ANY_EXHDR(value);
	TimestampTz expires_at = GetCurrentTimestamp() + ttl * USECS_PER_SEC;

	if (or_store(ki, v, len, expires_at, stamp, etag, false) == STORE_RACE &&
		owner && or_key_has_waiters(ki->hash))
		(void) or_store(ki, v, len, expires_at, stamp, etag, true);
}

/* What is left of openrisk.stampede_timeout since 'start', in ms. */
static int
timeout_left(TimestampTz start)
{
	int64		spent = (GetCurrentTimestamp() - start) / 1000;

	return (int) Max(or_stampede_timeout_ms - spent, 0);
}

/*
 * After a plain lookup missed: claim the key, or wait for the backend that
 * has it and look again through our read view (taken here, before any
 * wait).  A waiter that finds the owner's value but may not use it -- it
 * predates a write this request must see -- then queues to own the key
 * rather than computing beside every other such waiter, so that the first
 * of them computes for all.  An owner first waits out a commit in progress
 * that invalidates the key, so that what it computes can be stored.  All
 * of it within openrisk.stampede_timeout.  Returns whether *out holds a
 * value found in the cache; *owner says whether we hold the key.
 */
static bool
claim_or_find(const KeyInfo *ki, FetchOutcome *out, bool *owner)
{
	TimestampTz start = GetCurrentTimestamp();
	ReadView	view;
	KeyClaim	first;
	KeyClaim	claim;
	LookupResult r = LOOKUP_MISS;

	or_read_view(ki, &view);
	claim = first = or_key_claim_or_wait(ki->hash, or_stampede_timeout_ms);
	if (claim == KEY_WAITED)
	{
		r = or_lookup(ki, &view, &out->value, &out->etag, NULL);
		if (r == LOOKUP_STALE)
			claim = or_key_claim(ki->hash, timeout_left(start));
	}
	*owner = claim == KEY_OWNER;
	if (*owner)
	{
		(void) or_await_unfenced(ki, timeout_left(start));
		r = or_lookup(ki, &view, &out->value, &out->etag, NULL);
		if (r == LOOKUP_HIT)
		{
			or_key_release(ki->hash);
			*owner = false;
		}
	}
	if (r != LOOKUP_HIT && first != KEY_OWNER)
		or_count(stampede_recomputes);
	return r == LOOKUP_HIT;
}

/*
 * The whole cache-or-compute protocol; see the file header.  Fills *out.
 */
static void
fetch(FunctionCallInfo fcinfo, FetchOutcome *out)
{
	text	   *key_t;
	char	   *query;
	KeyInfo		ki;
	int64		ttl;
	bool		usable;
	bool		owner = false;
	uint64		stamp = 0;
	Datum	   *args = NULL;
	Oid		   *types = NULL;
	bool	   *nulls = NULL;
	int			nargs = 0;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("cache_fetch: key and query must not be NULL")));
	key_t = PG_GETARG_TEXT_PP(0);
	or_key_check(VARDATA_ANY(key_t), VARSIZE_ANY_EXHDR(key_t));
	ttl = or_ttl_arg(fcinfo, 1, VARDATA_ANY(key_t), VARSIZE_ANY_EXHDR(key_t));
	query = text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (PG_NARGS() > 3)
	{
		nargs = extract_variadic_args(fcinfo, 3, true, &args, &types, &nulls);
		if (nargs < 0)
			nargs = 0;
	}

	memset(out, 0, sizeof(*out));
	or_key_analyze(VARDATA_ANY(key_t), VARSIZE_ANY_EXHDR(key_t), &ki);
	usable = or_cache_lookup_allowed(&ki);
	if (usable)
	{
		/*
		 * On a miss, the previous owner may have stored the value between
		 * our miss and our claim, or while we waited -- or kept it for us as
		 * a handoff entry because a write committed meanwhile.  A fenced key
		 * (a commit invalidating it is in progress) is a miss like any other.
		 */
		if (or_lookup(&ki, NULL, &out->value, &out->etag, NULL) == LOOKUP_HIT ||
			claim_or_find(&ki, out, &owner))
		{
			or_count(hits);
			out->hit = true;
			return;
		}
		or_count(misses);
		stamp = or_read_stamp();
	}

	out->value = run_query(query, nargs, args, types, nulls);

	if (out->value != NULL)
	{
		out->etag = or_value_etag(VARDATA_ANY(out->value), VARSIZE_ANY_EXHDR(out->value));
		if (usable)
			publish(&ki, out->value, out->etag, ttl, stamp, owner);
	}
	/*
	 * Released after the store, so waiters wake up to a hit.  If the query
	 * failed, the (sub)transaction abort released the lock instead.
	 */
	if (owner)
		or_key_release(ki.hash);
}

PG_FUNCTION_INFO_V1(openrisk_cache_fetch);
Datum
openrisk_cache_fetch(PG_FUNCTION_ARGS)
{
	FetchOutcome out;

	fetch(fcinfo, &out);
	if (out.value == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(out.value);
}

PG_FUNCTION_INFO_V1(openrisk_cache_fetch_meta);
Datum
openrisk_cache_fetch_meta(PG_FUNCTION_ARGS)
{
	FetchOutcome out;

	fetch(fcinfo, &out);
	return or_fetch_result_datum(fcinfo, &out);
}
