-- engine_api: the cache engine's SQL API end to end, in one session.
-- Statements autocommit, so invalidations take effect between them.
SELECT openrisk.cache_reset();

-- put / get / ttl
SELECT openrisk.cache_put('t:api:1', 'one');
SELECT openrisk.cache_get('t:api:1');
SELECT openrisk.cache_ttl('t:api:1') BETWEEN interval '4 min 55 s' AND interval '5 min' AS default_ttl_5min;
SELECT openrisk.cache_put('dashboard:api:1', 'd');
SELECT openrisk.cache_ttl('dashboard:api:1') > interval '9 min' AS dashboard_ttl_10min;
SELECT openrisk.cache_get('t:api:missing') IS NULL AS miss_is_null;

-- NULL values are never cached
SELECT openrisk.cache_put('t:api:null', NULL) AS stored_null;

-- batch
SELECT openrisk.cache_put_many('{"t:b:1": "x", "t:b:2": {"n": 1}, "t:b:3": null}', '1 min');
SELECT * FROM openrisk.cache_get_many(ARRAY['t:b:1', 't:b:2', 't:b:3', NULL]);

-- invalidation: exact, O(1) prefix, scanning glob
SELECT openrisk.cache_invalidate('t:b:1') AS exact;
SELECT openrisk.cache_get('t:b:1') IS NULL AS gone, openrisk.cache_get('t:b:2') AS kept;
SELECT openrisk.cache_put('t:p:a:1', '1'), openrisk.cache_put('t:p:a:2', '2'), openrisk.cache_put('t:p:b:1', '3');
SELECT openrisk.cache_invalidate('t:p:a:*') AS prefix;
SELECT k, openrisk.cache_get(k) FROM unnest(ARRAY['t:p:a:1', 't:p:a:2', 't:p:b:1']) k;
SELECT openrisk.cache_invalidate('t:p:*:1') AS glob;
SELECT openrisk.cache_get('t:p:b:1') IS NULL AS glob_removed;

-- cache_fetch: compute once, then hit; NULL not cached
SELECT openrisk.cache_fetch('t:f:1', '1 min', 'SELECT $1::int * $2', 6, 7);
SELECT hit, value FROM openrisk.cache_fetch_meta('t:f:1', '1 min', 'SELECT $1::int * $2', 6, 7);
SELECT length(etag) AS etag_len FROM openrisk.cache_fetch_meta('t:f:1', '1 min', 'SELECT 0');
SELECT * FROM openrisk.cache_fetch_meta('t:f:none', '1 min', 'SELECT NULL::text');
SELECT hit FROM openrisk.cache_fetch_meta('t:f:none', '1 min', 'SELECT NULL::text');

-- bad input
SELECT openrisk.cache_get('');
SELECT openrisk.cache_get(repeat('k', 1025));
SELECT openrisk.cache_put('t:x', 'v', interval '0 s');
SELECT openrisk.cache_fetch(NULL, '1 min', 'SELECT 1');
SELECT openrisk.cache_fetch('t:x', '1 min', 'SELEC 1');
SELECT openrisk.cache_put_many('[1,2]');

SELECT available, enabled, bytes_used <= bytes_limit AS bounded FROM openrisk.cache_stats;
