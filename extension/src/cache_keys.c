/*-------------------------------------------------------------------------
 *
 * cache_keys.c
 *		Key hashing, prefix slots, invalidation patterns, value validators.
 *
 * Keys are ':'-separated paths such as "risk:list:<tenant>:1:20:...".  The
 * prefixes of a key are the empty prefix (what "*" invalidates), every
 * prefix ending just after a ':' ("risk:", "risk:list:", ...) and the
 * full key itself (exact invalidation).  One left-to-right FNV-1a pass
 * yields the hash of every prefix, so analysing a key costs O(length)
 * whatever its depth.  Hashes are finished with a 64-bit avalanche mix so
 * that slot and bucket indices use well-distributed low bits.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "miscadmin.h"

#include "cache.h"

#define FNV_OFFSET UINT64CONST(0xcbf29ce484222325)
#define FNV_PRIME  UINT64CONST(0x100000001b3)
/* Distinguishes "the key a:" from "the prefix a:" in slot space. */
#define EXACT_SALT UINT64CONST(0x9e3779b97f4a7c15)

static inline uint64
mix64(uint64 h)
{
	h ^= h >> 33;
	h *= UINT64CONST(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64CONST(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return h;
}

static inline uint32
slot_of(uint64 h)
{
	return (uint32) (mix64(h) & (or_cache ? or_cache->nslots - 1 : 0));
}

/*
 * Keys are per database: the database OID seeds every hash, so the same
 * key text in two databases lands in different slots and buckets, and
 * entries also compare their dbid.
 */
static inline uint64
db_seed_of(Oid dbid)
{
	return (FNV_OFFSET ^ (uint64) dbid) * FNV_PRIME;
}

static inline uint64
db_seed(void)
{
	return db_seed_of(MyDatabaseId);
}

/*
 * The slot of the empty prefix of dbid: every key of that database has it
 * as its first prefix, so raising it invalidates the whole database.
 */
uint32
or_root_slot(Oid dbid)
{
	return slot_of(db_seed_of(dbid));
}

/* Raise a clean error for keys we refuse to store. */
void
or_key_check(const char *key, int len)
{
	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cache key must not be empty")));
	if (len > OR_MAX_KEY_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cache key is %d bytes long, the limit is %d", len, OR_MAX_KEY_LEN)));
}

/*
 * Compute the key's hash and the slot of each of its prefixes.  Keys deeper
 * than OR_MAX_PREFIXES - 2 levels have their deepest prefixes untracked;
 * or_pattern_classify() sends patterns at those depths to the scan path.
 */
void
or_key_analyze(const char *key, int len, KeyInfo *ki)
{
	uint64		h = db_seed();
	int			n = 0;
	int			i;

	ki->key = key;
	ki->len = len;
	ki->dbid = MyDatabaseId;
	ki->prefix_slot[n++] = slot_of(h);	/* the empty prefix */
	for (i = 0; i < len; i++)
	{
		h ^= (unsigned char) key[i];
		h *= FNV_PRIME;
		if (key[i] == ':' && n < OR_MAX_PREFIXES - 1)
			ki->prefix_slot[n++] = slot_of(h);
	}
	ki->prefix_slot[n++] = slot_of(h ^ EXACT_SALT);
	ki->nprefixes = n;
	ki->hash = mix64(h);
}

/*
 * Classify an invalidation pattern.  '*' is the only wildcard.  A single
 * trailing '*' right after a ':' (or alone) is a prefix, handled in O(1)
 * through its slot; a pattern without '*' is an exact key (also one slot,
 * plus the physical removal of the entry); anything else is a glob that
 * is matched against every entry at commit.
 */
PatternKind
or_pattern_classify(const char *pattern, int len, uint32 *slot)
{
	return or_pattern_classify_db(MyDatabaseId, pattern, len, slot);
}

/*
 * The same for database dbid: WAL redo of a primary's invalidations runs
 * in the startup process, which belongs to no database.
 */
PatternKind
or_pattern_classify_db(Oid dbid, const char *pattern, int len, uint32 *slot)
{
	const char *star = memchr(pattern, '*', len);
	uint64		h = db_seed_of(dbid);
	int			depth = 0;
	int			i;

	if (star == NULL)
	{
		for (i = 0; i < len; i++)
		{
			h ^= (unsigned char) pattern[i];
			h *= FNV_PRIME;
		}
		*slot = slot_of(h ^ EXACT_SALT);
		return PATTERN_EXACT;
	}
	if (star != pattern + len - 1 || (len > 1 && pattern[len - 2] != ':'))
		return PATTERN_GLOB;
	for (i = 0; i < len - 1; i++)
	{
		h ^= (unsigned char) pattern[i];
		h *= FNV_PRIME;
		if (pattern[i] == ':')
			depth++;
	}
	if (depth > OR_MAX_PREFIXES - 2)
		return PATTERN_GLOB;
	*slot = slot_of(h);
	return PATTERN_PREFIX;
}

/*
 * Does s match pattern, where '*' matches any run of bytes?  Iterative
 * with single backtracking point, so no pattern can make it exponential.
 */
bool
or_glob_match(const char *p, int plen, const char *s, int slen)
{
	int			pi = 0,
				si = 0,
				star = -1,
				mark = 0;

	while (si < slen)
	{
		if (pi < plen && p[pi] == '*')
		{
			star = pi++;
			mark = si;
		}
		else if (pi < plen && p[pi] == s[si])
		{
			pi++;
			si++;
		}
		else if (star >= 0)
		{
			pi = star + 1;
			si = ++mark;
		}
		else
			return false;
	}
	while (pi < plen && p[pi] == '*')
		pi++;
	return pi == plen;
}

/* The strong validator of a value, used as the HTTP ETag. */
uint64
or_value_etag(const char *value, int len)
{
	return hash_bytes_extended((const unsigned char *) value, len, 0);
}

/*
 * dynahash support for tables keyed by a C string pointer (the key field
 * holds a char * to a NUL-terminated copy the caller owns): the pending
 * patterns of a transaction and the kept query plans.
 */
uint32
or_cstring_ptr_hash(const void *key, Size keysize)
{
	const char *s = *(char *const *) key;

	return hash_bytes((const unsigned char *) s, strlen(s));
}

int
or_cstring_ptr_match(const void *a, const void *b, Size keysize)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}
