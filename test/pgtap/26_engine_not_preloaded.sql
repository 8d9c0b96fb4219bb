-- 26_engine_not_preloaded.sql -- without shared_preload_libraries the
-- extension still works, computing everything without a cache.
SET client_min_messages = warning;
SELECT plan(6);
SELECT is((SELECT available FROM openrisk.cache_stats), false, 'cache_stats says the cache is unavailable');
SELECT is((SELECT enabled FROM openrisk.cache_stats), false, 'and not enabled');
SELECT is(openrisk.cache_fetch('np:1', '1 min', 'SELECT $1::int + 1', 41), '42', 'cache_fetch computes');
SELECT is((SELECT hit FROM openrisk.cache_fetch_meta('np:1', '1 min', 'SELECT 1')), false, 'and never hits');
SELECT ok(NOT openrisk.cache_put('np:2', 'x'), 'cache_put stores nothing');
SELECT lives_ok($$SELECT openrisk.cache_invalidate('np:*')$$, 'cache_invalidate is harmless');
SELECT * FROM finish();
