-- openrisk cache engine: SQL API (part 1 of the install script).
--
-- The C functions live in openrisk.so.  Everything that reads or writes
-- raw cache keys is revoked from PUBLIC: an ordinary role must not be able
-- to read another tenant's entries by key, reset the cache or fence it.
-- Only cache_stats() (numbers, no data) is public.  Endpoint functions
-- reach the engine as SECURITY DEFINER functions with a pinned search_path.

\echo Use "CREATE EXTENSION openrisk" to load this file. \quit

-- What cache_fetch_meta() and every endpoint's *_meta variant return: the
-- value plus what an HTTP layer needs to answer truthfully in one round trip.
CREATE TYPE @extschema@.cache_fetch_result AS (
    hit   boolean,   -- served from the cache (true) or computed now (false)
    etag  text,      -- strong validator of value: 16 hex digits, no quotes
    value text
);

CREATE FUNCTION @extschema@.cache_get(key text)
RETURNS text AS 'MODULE_PATHNAME', 'openrisk_cache_get'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.cache_put(key text, value text,
                                      ttl interval DEFAULT NULL,
                                      stamp bigint DEFAULT NULL)
RETURNS boolean AS 'MODULE_PATHNAME', 'openrisk_cache_put'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.cache_get_many(keys text[])
RETURNS TABLE (key text, value text) AS 'MODULE_PATHNAME', 'openrisk_cache_get_many'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.cache_put_many(entries jsonb, ttl interval DEFAULT NULL)
RETURNS integer AS 'MODULE_PATHNAME', 'openrisk_cache_put_many'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.cache_invalidate(pattern text)
RETURNS bigint AS 'MODULE_PATHNAME', 'openrisk_cache_invalidate'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.cache_ttl(key text)
RETURNS interval AS 'MODULE_PATHNAME', 'openrisk_cache_ttl'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.cache_stamp()
RETURNS bigint AS 'MODULE_PATHNAME', 'openrisk_cache_stamp'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

-- The ETag cache_fetch_meta() reports for a value (16 hex digits): public,
-- it is a hash of its argument and reads nothing.
CREATE FUNCTION @extschema@.cache_etag(value text)
RETURNS text AS 'MODULE_PATHNAME', 'openrisk_cache_etag'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.cache_reset()
RETURNS void AS 'MODULE_PATHNAME', 'openrisk_cache_reset'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.cache_stats(
    OUT available boolean, OUT enabled boolean,
    OUT hits bigint, OUT misses bigint, OUT stores bigint,
    OUT evictions bigint, OUT expirations bigint, OUT invalidations bigint,
    OUT fills_rejected bigint, OUT too_large bigint, OUT stampede_waits bigint,
    OUT bypasses bigint, OUT store_failures bigint,
    OUT handoffs bigint, OUT stampede_recomputes bigint,
    OUT entries bigint, OUT bytes_used bigint, OUT bytes_limit bigint,
    OUT max_entries bigint)
RETURNS record AS 'MODULE_PATHNAME', 'openrisk_cache_stats'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW @extschema@.cache_stats AS SELECT * FROM @extschema@.cache_stats();

-- Invalidations carried in WAL to hot standbys (docs/SCALING.md): whether
-- this server writes them, and, on a standby, what redo did with them.
-- pending = remote invalidations whose transaction has not been seen to
-- end; committed/aborted = how they ended.  Numbers only, like cache_stats.
CREATE FUNCTION @extschema@.cache_wal_stats(
    OUT writing boolean, OUT rmgr_id integer,
    OUT pending bigint, OUT overflowed boolean, OUT pending_max integer,
    OUT records_written bigint, OUT records_replayed bigint, OUT records_skipped bigint,
    OUT committed bigint, OUT aborted bigint, OUT overflows bigint)
RETURNS record AS 'MODULE_PATHNAME', 'openrisk_cache_wal_stats'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW @extschema@.cache_wal_stats AS SELECT * FROM @extschema@.cache_wal_stats();

-- Read-your-writes across hot standbys (docs/SCALING.md, src/replica_lsn.c):
-- the end of this session's last commit record (run it right after the
-- write's COMMIT, on the same connection), and a bounded wait -- at most
-- 10 s -- until this standby replayed an LSN; it returns the replay
-- position reached, or NULL on a server that is not in recovery.  Both
-- only reveal WAL positions: granted to everyone.
CREATE FUNCTION @extschema@.last_commit_lsn()
RETURNS pg_lsn AS 'MODULE_PATHNAME', 'openrisk_last_commit_lsn'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.replay_wait(target pg_lsn, timeout_ms integer)
RETURNS pg_lsn AS 'MODULE_PATHNAME', 'openrisk_replay_wait'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

-- Cache-or-compute: return the cached value of key, or run query (with
-- $1..$n bound to the variadic arguments), cache its first column of its
-- first row as text, and return it.  Closes the late-fill race (the
-- generation is read before the query's snapshot is taken) and the
-- stampede (concurrent misses on one key compute once).  A NULL result is
-- returned but never cached.
CREATE FUNCTION @extschema@.cache_fetch(key text, ttl interval, query text)
RETURNS text AS 'MODULE_PATHNAME', 'openrisk_cache_fetch'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.cache_fetch(key text, ttl interval, query text, VARIADIC args "any")
RETURNS text AS 'MODULE_PATHNAME', 'openrisk_cache_fetch'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.cache_fetch_meta(key text, ttl interval, query text)
RETURNS @extschema@.cache_fetch_result AS 'MODULE_PATHNAME', 'openrisk_cache_fetch_meta'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.cache_fetch_meta(key text, ttl interval, query text, VARIADIC args "any")
RETURNS @extschema@.cache_fetch_result AS 'MODULE_PATHNAME', 'openrisk_cache_fetch_meta'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- A C AFTER trigger queueing invalidations built from the changed row:
--   FOR EACH ROW EXECUTE FUNCTION openrisk.invalidate_trigger('ns:list:{tenant_id}:*', ...)
-- {column} is replaced by the column's text, for the old and the new row.
CREATE FUNCTION @extschema@.invalidate_trigger()
RETURNS trigger AS 'MODULE_PATHNAME', 'openrisk_invalidate_trigger'
LANGUAGE C;

REVOKE ALL ON FUNCTION
    @extschema@.cache_get(text),
    @extschema@.cache_put(text, text, interval, bigint),
    @extschema@.cache_get_many(text[]),
    @extschema@.cache_put_many(jsonb, interval),
    @extschema@.cache_invalidate(text),
    @extschema@.cache_ttl(text),
    @extschema@.cache_stamp(),
    @extschema@.cache_reset(),
    @extschema@.cache_fetch(text, interval, text),
    @extschema@.cache_fetch(text, interval, text, "any"),
    @extschema@.cache_fetch_meta(text, interval, text),
    @extschema@.cache_fetch_meta(text, interval, text, "any"),
    @extschema@.invalidate_trigger()
FROM PUBLIC;

GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;
GRANT SELECT ON @extschema@.cache_stats TO PUBLIC;
GRANT SELECT ON @extschema@.cache_wal_stats TO PUBLIC;

-- One clear warning when the library was not preloaded: everything still
-- works, computed without a cache.
DO $$
BEGIN
    IF NOT (SELECT available FROM @extschema@.cache_stats()) THEN
        RAISE WARNING 'openrisk: the shared cache is not available; functions compute without it'
            USING HINT = 'Add openrisk to shared_preload_libraries in postgresql.conf and restart PostgreSQL.';
    END IF;
END
$$;
