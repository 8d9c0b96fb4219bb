-- 25_engine_small_cache.sql -- bounded memory and eviction.
--
-- Runs on a throwaway cluster started with cache_memory = 1MB and
-- cache_max_entries = 128 (test/suites/20-engine.sh), so filling it many
-- times over is quick.
SET client_min_messages = warning;
SELECT plan(8);
DO $$ BEGIN PERFORM openrisk.cache_reset(); END $$;
CREATE TEMP TABLE base AS SELECT * FROM openrisk.cache_stats;

SELECT is((SELECT bytes_limit FROM openrisk.cache_stats), 1048576::bigint, 'the segment has exactly cache_memory bytes for data');
-- 1000 x 2 kB = about 2x the memory and 8x the entry limit
SELECT is((SELECT count(*) FILTER (WHERE openrisk.cache_put('fill:' || g, repeat('v', 2048)))
           FROM generate_series(1, 1000) g), 1000::bigint, 'every put succeeds: inserts evict instead of failing');
SELECT ok((SELECT entries <= 128 FROM openrisk.cache_stats), 'entries stay within cache_max_entries');
SELECT ok((SELECT bytes_used <= bytes_limit FROM openrisk.cache_stats), 'bytes stay within cache_memory');
SELECT ok((SELECT evictions - (SELECT evictions FROM base) >= 800 FROM openrisk.cache_stats), 'evictions are counted');
SELECT is((SELECT store_failures - (SELECT store_failures FROM base) FROM openrisk.cache_stats), 0::bigint, 'no store failed');

-- CLOCK gives a recently used entry a second chance: a key read between
-- inserts survives a full turnover of the cache
SELECT openrisk.cache_put('hot', 'still here');
SELECT is((SELECT count(*) FILTER (WHERE openrisk.cache_get('hot') IS NOT NULL
                                   AND openrisk.cache_put('churn:' || g, repeat('c', 2048)))
           FROM generate_series(1, 600) g), 600::bigint, 'a hot key stays cached while 600 others churn through');
SELECT ok(openrisk.cache_get('churn:1') IS NULL, 'while the cold keys were evicted');
SELECT * FROM finish();
