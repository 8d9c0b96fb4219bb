-- 21_engine_permissions.sql -- ordinary roles cannot touch raw cache keys.
--
-- Raw keys hold other tenants' data, so everything that reads, writes,
-- fences or resets them is revoked from PUBLIC; only cache_stats (numbers,
-- no data) is open.
SET client_min_messages = warning;
SELECT plan(10);
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'openrisk_test_plain') THEN
    CREATE ROLE openrisk_test_plain;
  END IF;
END $$;
SELECT openrisk.cache_put('perm:secret:1', 'tenant data');
SET ROLE openrisk_test_plain;
SELECT throws_ok($$SELECT openrisk.cache_get('perm:secret:1')$$, '42501', NULL, 'cache_get is not executable by an ordinary role');
SELECT throws_ok($$SELECT * FROM openrisk.cache_get_many(ARRAY['perm:secret:1'])$$, '42501', NULL, 'nor cache_get_many');
SELECT throws_ok($$SELECT openrisk.cache_put('perm:x', 'y')$$, '42501', NULL, 'nor cache_put');
SELECT throws_ok($$SELECT openrisk.cache_put_many('{}')$$, '42501', NULL, 'nor cache_put_many');
SELECT throws_ok($$SELECT openrisk.cache_invalidate('perm:*')$$, '42501', NULL, 'nor cache_invalidate');
SELECT throws_ok($$SELECT openrisk.cache_reset()$$, '42501', NULL, 'nor cache_reset');
SELECT throws_ok($$SELECT openrisk.cache_ttl('perm:secret:1')$$, '42501', NULL, 'nor cache_ttl');
SELECT throws_ok($$SELECT openrisk.cache_fetch('perm:secret:1', NULL, 'SELECT 1')$$, '42501', NULL, 'nor cache_fetch');
SELECT lives_ok($$SELECT * FROM openrisk.cache_stats$$, 'cache_stats is readable by everyone');
RESET ROLE;
SELECT is(openrisk.cache_get('perm:secret:1'), 'tenant data', 'the entry was untouched');
SELECT * FROM finish();
