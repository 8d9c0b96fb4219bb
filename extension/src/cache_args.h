/*-------------------------------------------------------------------------
 *
 * cache_args.h
 *		What the SQL-callable functions (cache_sql.c) and cache_fetch()
 *		(cache_fetch.c) share; implemented in cache_args.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OPENRISK_CACHE_ARGS_H
#define OPENRISK_CACHE_ARGS_H

#include "fmgr.h"

#include "cache.h"

/* What one cache_fetch() call produced: for cache_fetch_meta's row. */
typedef struct FetchOutcome
{
	bool		hit;
	uint64		etag;
	text	   *value;			/* NULL: the query returned no value */
} FetchOutcome;

extern bool or_cache_lookup_allowed(const KeyInfo *ki);
extern Datum or_etag_datum(uint64 etag);
extern Datum or_fetch_result_datum(FunctionCallInfo fcinfo, const FetchOutcome *out);
extern int64 or_ttl_arg(FunctionCallInfo fcinfo, int argno, const char *key, int keylen);

#endif							/* OPENRISK_CACHE_ARGS_H */
