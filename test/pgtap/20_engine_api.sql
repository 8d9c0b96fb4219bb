-- 20_engine_api.sql -- pgTAP tests of the cache engine's SQL API.
--
-- Runs in autocommit mode on purpose: invalidation takes effect at commit,
-- so each statement is its own transaction and the next one sees the
-- committed effect.  Counters are cluster-wide, so they are compared as
-- deltas against a baseline kept in a temp table.
SET client_min_messages = warning;
SELECT plan(45);

DO $$ BEGIN PERFORM openrisk.cache_reset(); END $$;
CREATE TEMP TABLE base AS SELECT * FROM openrisk.cache_stats;
CREATE FUNCTION pg_temp.delta(col text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE now_v bigint; base_v bigint;
BEGIN
  EXECUTE format('SELECT %I FROM openrisk.cache_stats', col) INTO now_v;
  EXECUTE format('SELECT %I FROM base', col) INTO base_v;
  RETURN now_v - base_v;
END $$;

-- get / put / counters
SELECT ok(openrisk.cache_put('e:1', 'v1'), 'cache_put stores a value');
SELECT is(openrisk.cache_get('e:1'), 'v1', 'cache_get returns it');
SELECT is(openrisk.cache_get('e:absent'), NULL, 'a miss is NULL');
SELECT is(pg_temp.delta('stores'), 1::bigint, 'stores counted');
SELECT is(pg_temp.delta('hits'), 1::bigint, 'hits counted');
SELECT is(pg_temp.delta('misses'), 1::bigint, 'misses counted');
SELECT ok(openrisk.cache_put('e:1', 'v2'), 'a put replaces');
SELECT is(openrisk.cache_get('e:1'), 'v2', 'the replaced value is served');

-- TTL: explicit, namespace defaults, expiry
SELECT ok(openrisk.cache_ttl('e:1') BETWEEN interval '299 s' AND interval '300 s', 'unknown namespace: ttl_default (5 min)');
SELECT ok(openrisk.cache_put('risk:t:1', 'r') AND openrisk.cache_ttl('risk:t:1') > interval '299 s', 'risk:* defaults to ttl_risk (5 min)');
SELECT ok(openrisk.cache_put('connector:t:1', 'c') AND openrisk.cache_ttl('connector:t:1') > interval '899 s', 'connector:* defaults to 15 min');
SELECT ok(openrisk.cache_put('app:t:1', 'a') AND openrisk.cache_ttl('app:t:1') > interval '1199 s', 'app:* defaults to 20 min');
SELECT ok(openrisk.cache_put('e:ttl', 'x', interval '1 second'), 'a one-second entry');
SELECT ok(openrisk.cache_ttl('e:ttl') <= interval '1 second', 'its ttl is at most a second');
SELECT pg_sleep(1.2);
SELECT is(openrisk.cache_get('e:ttl'), NULL, 'an expired entry is never returned');
SELECT is(openrisk.cache_ttl('e:ttl'), NULL, 'cache_ttl is NULL for an expired entry');
SELECT ok(pg_temp.delta('expirations') >= 1, 'expirations counted');

-- stamps: a fill that started before a committed invalidation is refused
CREATE TEMP TABLE stamp AS SELECT openrisk.cache_stamp() AS s;
SELECT openrisk.cache_invalidate('e:st:*');
SELECT ok(NOT openrisk.cache_put('e:st:1', 'stale', NULL, (SELECT s FROM stamp)), 'a put stamped before an invalidation is refused');
SELECT ok(pg_temp.delta('fills_rejected') >= 1, 'and counted as fills_rejected');
SELECT ok(openrisk.cache_put('e:st:1', 'fresh'), 'a fresh put under the same prefix is stored');

-- tenant isolation of prefix invalidation
SELECT ok(openrisk.cache_put('risk:list:tenantA:1', 'a') AND openrisk.cache_put('risk:list:tenantB:1', 'b'), 'two tenants cached');
SELECT is(openrisk.cache_invalidate('risk:list:tenantA:*'), 1::bigint, 'the prefix covers only tenant A');
SELECT is(openrisk.cache_get('risk:list:tenantA:1'), NULL, 'tenant A invalidated');
SELECT is(openrisk.cache_get('risk:list:tenantB:1'), 'b', 'tenant B untouched');

-- disabled mode: pure passthrough, invalidations still apply
SET openrisk.cache_enabled = off;
SELECT ok(NOT openrisk.cache_put('e:off', 'x'), 'disabled: nothing stored');
SELECT is(openrisk.cache_get('e:1'), NULL, 'disabled: nothing read');
SELECT is((SELECT hit FROM openrisk.cache_fetch_meta('e:off:f', '1 min', 'SELECT 42')), false, 'disabled: cache_fetch computes');
SELECT is(openrisk.cache_fetch('e:off:f', '1 min', 'SELECT 43'), '43', 'disabled: computed again, not from cache');
SELECT openrisk.cache_invalidate('e:1');
SELECT is((SELECT enabled FROM openrisk.cache_stats), false, 'cache_stats says disabled');
RESET openrisk.cache_enabled;
SELECT is(openrisk.cache_get('e:1'), NULL, 'an invalidation made while disabled still applied');

-- values over max_entry_size: computed and returned, not stored
SET openrisk.max_entry_size = '1kB';
SELECT ok(NOT openrisk.cache_put('e:big', repeat('x', 2000)), 'too large: not stored');
SELECT is(length(openrisk.cache_fetch('e:big:f', '1 min', 'SELECT repeat(''y'', 3000)')), 3000, 'too large: cache_fetch still returns it');
SELECT is((SELECT hit FROM openrisk.cache_fetch_meta('e:big:f', '1 min', 'SELECT repeat(''y'', 3000)')), false, 'too large: never a hit');
SELECT ok(pg_temp.delta('too_large') >= 3, 'too_large counted');
RESET openrisk.max_entry_size;

-- REPEATABLE READ reads around the cache
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT is(openrisk.cache_get('risk:list:tenantB:1'), NULL, 'REPEATABLE READ does not read the cache');
SELECT ok(NOT openrisk.cache_put('e:rr', 'x'), 'REPEATABLE READ does not fill it');
COMMIT;

-- invalidate_trigger: patterns built from the changed rows
CREATE TABLE trg_items (id int PRIMARY KEY, tenant text);
CREATE TRIGGER trg_items_inv AFTER INSERT OR UPDATE OR DELETE ON trg_items
  FOR EACH ROW EXECUTE FUNCTION openrisk.invalidate_trigger('trg:list:{tenant}:*', 'trg:id:{tenant}:{id}');
INSERT INTO trg_items VALUES (1, 'A'), (2, 'B'), (3, NULL);
SELECT openrisk.cache_put('trg:list:A:p1', 'a'), openrisk.cache_put('trg:list:B:p1', 'b'),
       openrisk.cache_put('trg:id:A:1', 'one');
UPDATE trg_items SET tenant = 'A' WHERE id = 3;
SELECT is(openrisk.cache_get('trg:list:A:p1'), NULL, 'invalidate_trigger: the new row''s tenant list is invalidated');
SELECT is(openrisk.cache_get('trg:list:B:p1'), 'b', 'invalidate_trigger: another tenant is untouched');
SELECT is(openrisk.cache_get('trg:id:A:1'), 'one', 'invalidate_trigger: other ids are untouched');
UPDATE trg_items SET tenant = 'B' WHERE id = 1;
SELECT ok(openrisk.cache_get('trg:id:A:1') IS NULL AND openrisk.cache_get('trg:list:B:p1') IS NULL,
          'invalidate_trigger: moving a row invalidates both the old and the new row''s keys');
SELECT throws_ok($$CREATE TRIGGER trg_bad AFTER UPDATE ON trg_items FOR EACH STATEMENT
                   EXECUTE FUNCTION openrisk.invalidate_trigger('trg:{tenant}:*');
                   UPDATE trg_items SET id = id WHERE false$$,
                 '22023', NULL, 'invalidate_trigger: a statement trigger refuses row references');
SELECT throws_ok($$CREATE TRIGGER trg_bad2 AFTER UPDATE ON trg_items FOR EACH ROW
                   EXECUTE FUNCTION openrisk.invalidate_trigger('trg:{nope}:*');
                   UPDATE trg_items SET id = id WHERE id = 2$$,
                 '42703', NULL, 'invalidate_trigger: an unknown column is a clear error');
SELECT throws_ok($$SELECT openrisk.invalidate_trigger()$$, '39P01', NULL,
                 'invalidate_trigger cannot be called directly');
DROP TABLE trg_items;

-- reset
DO $$ BEGIN PERFORM openrisk.cache_reset(); END $$;
SELECT is(openrisk.cache_get('risk:list:tenantB:1'), NULL, 'cache_reset empties the cache');
SELECT ok((SELECT bytes_used <= bytes_limit AND entries >= 0 FROM openrisk.cache_stats), 'memory stays within its limit');

SELECT * FROM finish();
