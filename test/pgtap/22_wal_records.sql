-- 22_wal_records.sql -- what a primary writes to WAL for its standbys.
--
-- Read back with pg_walinspect: a committing transaction that queued
-- invalidations writes exactly ONE record of the custom resource manager
-- 'openrisk', deduplicated, carrying its xid, BEFORE its commit record;
-- nothing for a rollback, for a transaction without invalidations, or with
-- openrisk.wal_invalidations off.  psql runs each statement in its own
-- transaction unless BEGIN says otherwise; LSNs are kept in psql variables.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_walinspect;
CREATE TABLE walt (k int PRIMARY KEY, v int);
INSERT INTO walt VALUES (1, 1), (2, 2);
CREATE FUNCTION pg_temp.records(a pg_lsn, b pg_lsn, rm text)
RETURNS TABLE (start_lsn pg_lsn, xid xid, record_type text, record_length int4, description text)
LANGUAGE sql AS $$
  SELECT start_lsn, xid, record_type, record_length, description
    FROM pg_get_wal_records_info(a, b) WHERE resource_manager = rm
$$;
SELECT plan(22);

SELECT is(writing, true, 'this primary writes invalidation records') FROM openrisk.cache_wal_stats;
SELECT is(rmgr_id, 128, 'with the default resource manager id, RM_EXPERIMENTAL_ID') FROM openrisk.cache_wal_stats;
SELECT records_written AS written0 FROM openrisk.cache_wal_stats \gset

-- 1. a writing transaction: one record, deduplicated, before its commit
SELECT pg_current_wal_insert_lsn() AS a \gset
BEGIN;
UPDATE walt SET v = v + 1 WHERE k = 1;
SELECT openrisk.cache_invalidate('w:list:1:*');
SELECT openrisk.cache_invalidate('w:id:1:1');
SELECT openrisk.cache_invalidate('w:list:1:*');
SELECT txid_current()::text::xid AS x1 \gset
COMMIT;
SELECT pg_current_wal_flush_lsn() AS b \gset
SELECT is(count(*), 1::bigint, 'a committing transaction writes one openrisk record')
  FROM pg_temp.records(:'a', :'b', 'openrisk');
SELECT is(record_type, 'INVALIDATE', 'of type INVALIDATE') FROM pg_temp.records(:'a', :'b', 'openrisk');
SELECT is(xid, :'x1'::xid, 'carrying the transaction''s xid') FROM pg_temp.records(:'a', :'b', 'openrisk');
SELECT ok(description LIKE '%2 patterns:%' AND description LIKE '%w:list:1:*%' AND description LIKE '%w:id:1:1%',
          'its patterns, each once: ' || description) FROM pg_temp.records(:'a', :'b', 'openrisk');
SELECT ok(o.start_lsn < c.start_lsn, 'written before the commit record')
  FROM pg_temp.records(:'a', :'b', 'openrisk') o, pg_temp.records(:'a', :'b', 'Transaction') c
 WHERE c.xid = :'x1'::xid AND c.record_type = 'COMMIT';
SELECT cmp_ok(records_written - :written0, '>=', 1::bigint, 'and counted in cache_wal_stats') FROM openrisk.cache_wal_stats;

-- 2. rollback, savepoints, no invalidation: nothing
SELECT pg_current_wal_insert_lsn() AS a \gset
BEGIN;
UPDATE walt SET v = v + 1 WHERE k = 1;
SELECT openrisk.cache_invalidate('w:rolled:*');
ROLLBACK;
UPDATE walt SET v = v + 1 WHERE k = 2;
SELECT pg_current_wal_flush_lsn() AS b \gset
SELECT is(count(*), 0::bigint, 'a rollback and a write without invalidations write none')
  FROM pg_temp.records(:'a', :'b', 'openrisk');

SELECT pg_current_wal_insert_lsn() AS a \gset
BEGIN;
UPDATE walt SET v = v + 1 WHERE k = 1;
SELECT openrisk.cache_invalidate('w:kept:*');
SAVEPOINT s;
SELECT openrisk.cache_invalidate('w:dropped:*');
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT pg_current_wal_flush_lsn() AS b \gset
SELECT ok(description LIKE '%1 patterns: w:kept:*', 'a rolled-back savepoint''s patterns are not sent: ' || description)
  FROM pg_temp.records(:'a', :'b', 'openrisk');

-- 3. invalidating without writing: an xid is assigned so a commit record closes the fence
SELECT pg_current_wal_insert_lsn() AS a \gset
SELECT openrisk.cache_invalidate('w:only:*');
SELECT pg_current_wal_flush_lsn() AS b \gset
SELECT is(count(*), 1::bigint, 'an invalidation-only transaction writes its record')
  FROM pg_temp.records(:'a', :'b', 'openrisk');
SELECT is(count(*), 1::bigint, 'and, given an xid, a commit record for the same xid')
  FROM pg_temp.records(:'a', :'b', 'Transaction') c, pg_temp.records(:'a', :'b', 'openrisk') o
 WHERE c.xid = o.xid AND c.record_type = 'COMMIT' AND c.start_lsn > o.start_lsn;

-- 4. globs and huge sets travel as they are, or as "whole database"
SELECT pg_current_wal_insert_lsn() AS a \gset
BEGIN;
SELECT openrisk.cache_invalidate('w:*:1');
UPDATE walt SET v = v + 1 WHERE k = 1;
COMMIT;
SELECT pg_current_wal_flush_lsn() AS b \gset
SELECT ok(description LIKE '%1 patterns: w:*:1', 'a glob is sent as written: ' || description)
  FROM pg_temp.records(:'a', :'b', 'openrisk');
SELECT pg_current_wal_insert_lsn() AS a \gset
BEGIN;
SELECT count(openrisk.cache_invalidate('w:many:' || g)) FROM generate_series(1, 300) g;
UPDATE walt SET v = v + 1 WHERE k = 1;
COMMIT;
SELECT pg_current_wal_flush_lsn() AS b \gset
SELECT ok(description LIKE '%whole database', 'more than 256 patterns are sent as the whole database')
  FROM pg_temp.records(:'a', :'b', 'openrisk');
SELECT cmp_ok(record_length, '<', 200, 'in a record of a few bytes') FROM pg_temp.records(:'a', :'b', 'openrisk');

-- 5. the off switch: superuser only, nothing written, the primary's cache still invalidated
SELECT openrisk.cache_put('w:id:1:9', 'old');
SET openrisk.wal_invalidations = off;
SELECT is(writing, false, 'openrisk.wal_invalidations = off: this session writes no records') FROM openrisk.cache_wal_stats;
SELECT pg_current_wal_insert_lsn() AS a \gset
BEGIN;
UPDATE walt SET v = v + 1 WHERE k = 1;
SELECT openrisk.cache_invalidate('w:id:1:9');
COMMIT;
SELECT pg_current_wal_flush_lsn() AS b \gset
SELECT is(count(*), 0::bigint, 'and indeed none') FROM pg_temp.records(:'a', :'b', 'openrisk');
SELECT is(openrisk.cache_get('w:id:1:9'), NULL, 'while the local invalidation still happened');
RESET openrisk.wal_invalidations;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'openrisk_test_plain') THEN
    CREATE ROLE openrisk_test_plain;
  END IF;
END $$;
SET ROLE openrisk_test_plain;
SELECT throws_ok($$SET openrisk.wal_invalidations = off$$, '42501', NULL, 'an ordinary role cannot switch it off');
SELECT throws_ok($$SET openrisk.wal_rmgr_id = 129$$, '55P02', NULL, 'the resource manager id is fixed at server start');
SELECT lives_ok($$SELECT * FROM openrisk.cache_wal_stats$$, 'cache_wal_stats is readable by everyone');
RESET ROLE;
SELECT is(pending, 0::bigint, 'a primary has no remote invalidations pending') FROM openrisk.cache_wal_stats;

SELECT * FROM finish();
