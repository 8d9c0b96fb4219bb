-- test/pgtap/35_notify.sql -- one NOTIFY on openrisk_cache per committing
-- write transaction, naming the tenant's patterns and no other tenant's;
-- none for a rolled-back one.  A second session (dblink) LISTENs; each
-- write below commits on its own (or rolls back) in this session.

\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(10);

SELECT t.tenant('notify A') AS a \gset
SELECT t.tenant('notify B') AS b \gset
SELECT t.populate(:'a', 3) AS ra \gset
SELECT t.populate(:'b', 3) AS rb \gset

SELECT dblink_connect('listener', format('dbname=%s port=%s host=%s user=%s', current_database(),
           current_setting('port'), split_part(current_setting('unix_socket_directories'), ',', 1),
           current_user)) AS connected \gset
SELECT dblink_exec('listener', 'LISTEN openrisk_cache') AS listening \gset
SELECT cardinality(t.notifications('listener', 1000, 0.3)) AS drained \gset

SELECT openrisk.risk_update(:'a', :'ra', '{"title": "notify me"}') IS NOT NULL AS x \gset
SELECT t.notifications('listener', 1, 5) AS got \gset
SELECT is(cardinality(:'got'::text[]), 1, 'a committed risk_update sends exactly one notification');
SELECT ok((:'got'::text[])[1]::jsonb -> 'patterns' ? ('risk:list:' || :'a' || ':*'), 'naming the tenant''s list prefix');
SELECT ok((:'got'::text[])[1]::jsonb -> 'patterns' ? ('risk:id:' || :'a' || ':' || :'ra'), 'and the risk''s own key');
SELECT ok(strpos((:'got'::text[])[1], :'b') = 0, 'and nothing of tenant B');

-- Several writes in one transaction: still one notification, deduplicated.
BEGIN;
SELECT openrisk.risk_update(:'a', :'ra', '{"impact": 4}') IS NOT NULL AS x \gset
SELECT openrisk.risk_update(:'a', :'ra', '{"impact": 5}') IS NOT NULL AS x \gset
INSERT INTO openrisk.mitigations (risk_id, tenant_id, title) VALUES (:'ra', :'a', 'm');
COMMIT;
SELECT t.notifications('listener', 1, 5) || t.notifications('listener', 2, 0.3) AS got \gset
SELECT is(cardinality(:'got'::text[]), 1, 'three writes in one transaction send one notification');
SELECT is((SELECT count(*)::int FROM jsonb_array_elements_text((:'got'::text[])[1]::jsonb -> 'patterns') p
            WHERE p = 'risk:list:' || :'a' || ':*'), 1, 'in which each pattern appears once');

-- Rollback: nothing.
BEGIN;
SELECT openrisk.risk_update(:'a', :'ra', '{"title": "rolled back"}') IS NOT NULL AS x \gset
SELECT openrisk.risk_delete(:'b', :'rb') AS x \gset
ROLLBACK;
SELECT is(cardinality(t.notifications('listener', 1, 1)), 0, 'a rolled-back write transaction sends no notification');

-- A read-only transaction: nothing.
SELECT openrisk.dashboard_stats(:'a') IS NOT NULL AS x \gset
SELECT is(cardinality(t.notifications('listener', 1, 0.5)), 0, 'reads send no notification');

-- A connector change names both connector families.
UPDATE openrisk.connectors SET rating = 2 WHERE id = t.connector();
SELECT t.notifications('listener', 1, 5) AS got \gset
SELECT is(cardinality(:'got'::text[]), 1, 'a catalogue change sends one notification');
SELECT ok((:'got'::text[])[1]::jsonb -> 'patterns' ?& ARRAY['connector:list:*', 'connector:id:*'],
          'naming connector:list:* and connector:id:*');

SELECT dblink_disconnect('listener') AS disconnected \gset
SELECT * FROM finish();
