-- test/upgrade/after_update.sql -- pgTAP checks on a database that ran the
-- 1.0 release, held data and writes made by 1.0's own functions, and was
-- then updated with ALTER EXTENSION openrisk UPDATE (test/suites/31-upgrade.sh).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(16);

SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'openrisk'), '1.1', 'the extension is at 1.1');

-- grants: the update applied them
SELECT is((SELECT array_agg(p.proname::text ORDER BY p.proname)
             FROM pg_proc p WHERE p.pronamespace = 'openrisk'::regnamespace
              AND p.proname !~ '^_' AND p.prosecdef AND has_function_privilege('public', p.oid, 'EXECUTE')),
          NULL, 'PUBLIC may execute no SECURITY DEFINER function any more');
SELECT ok(has_function_privilege('openrisk_reader', (SELECT p.oid FROM pg_proc p WHERE p.oid = 'openrisk.risk_list_meta'::regproc), 'EXECUTE')
          AND has_function_privilege('openrisk_writer', 'openrisk.risk_create(uuid, jsonb)', 'EXECUTE')
          AND has_function_privilege('openrisk_admin', 'openrisk.cache_invalidate_tenant(uuid, text)', 'EXECUTE'),
          'the group roles hold their functions');
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'openrisk_test_upgrade_outsider') THEN
        CREATE ROLE openrisk_test_upgrade_outsider NOLOGIN;
    END IF;
END $$;
SET ROLE openrisk_test_upgrade_outsider;
SELECT throws_ok($$SELECT openrisk.risk_list('00000000-0000-4000-8000-000000000001')$$, '42501', NULL,
                 'a role outside the groups cannot read any more');
SELECT throws_ok($$SELECT openrisk.risk_delete('00000000-0000-4000-8000-000000000001', gen_random_uuid())$$, '42501', NULL,
                 'nor write');
RESET ROLE;

-- the data and what was derived from it
SELECT is((SELECT count(*)::int FROM openrisk.risks r
             LEFT JOIN (SELECT m.risk_id, count(*) AS total, count(*) FILTER (WHERE m.status = 'DONE') AS done
                          FROM openrisk.mitigations m GROUP BY m.risk_id) c ON c.risk_id = r.id
            WHERE (r.mitigations_total, r.mitigations_done) IS DISTINCT FROM (coalesce(c.total, 0), coalesce(c.done, 0))),
          0, 'every risk''s mitigation counters were back-filled');
SELECT is((SELECT count(*)::int FROM openrisk.tenants t, openrisk.aggregates_verify(t.id) v), 0,
          'aggregates_verify finds the aggregates right for every tenant');
SELECT cmp_ok((SELECT count(*)::int FROM openrisk.agg), '>', 0, '(and there are aggregates)');
SELECT is((SELECT count(*)::int FROM openrisk.risks WHERE title = 'written by 1.0'), 1, 'the rows written by 1.0 are there');

-- endpoints: equal to the from-scratch oracles and to the rows
SELECT is(openrisk.dashboard_stats(t.id, 'all')::text, openrisk._dashboard_stats_scan(t.id, 'all')::text,
          'dashboard_stats equals its oracle') FROM openrisk.tenants t ORDER BY t.id LIMIT 1;
SELECT is(openrisk.dashboard_timeline(t.id, 30)::text, openrisk._dashboard_timeline_scan(t.id, 30)::text,
          'dashboard_timeline equals its oracle') FROM openrisk.tenants t ORDER BY t.id LIMIT 1;
SELECT is((openrisk.risk_list(t.id) ->> 'total')::int,
          (SELECT count(*)::int FROM openrisk.risks r WHERE r.tenant_id = t.id AND r.deleted_at IS NULL),
          'risk_list counts the live risks') FROM openrisk.tenants t ORDER BY t.id LIMIT 1;
SELECT ok(openrisk.risk_list(t.id, 1, 5, NULL, NULL, NULL, 'title', 'asc') ->> 'next' IS NOT NULL,
          'and hands out a cursor (the new secrets table)') FROM openrisk.tenants t ORDER BY t.id LIMIT 1;
SELECT is(json_typeof(openrisk.connector_list() -> 'items'), 'array', 'connector_list has the one list envelope');

-- writes after the update keep the aggregates and the cache right
SELECT openrisk.risk_create(t.id, '{"title": "written by 1.1", "impact": 5, "probability": 5}') IS NOT NULL AS created
  FROM openrisk.tenants t ORDER BY t.id LIMIT 1 \gset
SELECT is((SELECT count(*)::int FROM openrisk.tenants t, openrisk.aggregates_verify(t.id) v), 0,
          'after a 1.1 write the aggregates are still right');
SELECT is(openrisk.dashboard_stats(t.id, 'all')::text, openrisk._dashboard_stats_scan(t.id, 'all')::text,
          'and the cached dashboard follows it') FROM openrisk.tenants t ORDER BY t.id LIMIT 1;
SELECT * FROM finish();
