-- test/pgtap/36_demo_data.sql -- generate_demo_data fills every table
-- through the same triggers as any write (scores, history), is
-- deterministic for a seed, and replaces its tenants' data on a re-run.
-- (Only table contents are checked: the demo tenant ids are fixed and the
-- cache is shared with the cluster's other databases.)

\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(13);

SELECT results_eq('SELECT * FROM openrisk.generate_demo_data(2, 300, 7)',
                  $$VALUES ('00000000-0000-4000-8000-000000000001'::uuid), ('00000000-0000-4000-8000-000000000002'::uuid)$$,
                  'returns the demo tenant ids, #1 first');
SELECT is((SELECT count(*)::int FROM openrisk.risks WHERE tenant_id = openrisk.demo_tenant_id(2)), 300, '300 risks per tenant');
SELECT is((SELECT count(*)::int FROM openrisk.risks r WHERE r.tenant_id = openrisk.demo_tenant_id(1)
            AND r.score <> openrisk._risk_score(r.id, r.impact, r.probability)), 0,
          'every score equals impact x probability x asset factor');
SELECT ok((SELECT count(DISTINCT risk_id) FROM openrisk.risk_assets WHERE tenant_id = openrisk.demo_tenant_id(1)) > 100,
          'most risks are linked to assets');
SELECT is((SELECT count(*)::int FROM openrisk.risks r WHERE r.tenant_id = openrisk.demo_tenant_id(1)
            AND NOT EXISTS (SELECT 1 FROM openrisk.risk_history h WHERE h.risk_id = r.id AND h.change_type = 'CREATE')), 0,
          'every risk has its CREATE history row');
SELECT ok((SELECT count(*) FROM openrisk.risk_history WHERE tenant_id = openrisk.demo_tenant_id(1) AND change_type = 'UPDATE'
            AND changed_at < now() - interval '1 hour') > 0, 'and back-dated UPDATE events (mitigated / accepted)');
SELECT ok((SELECT count(*) FROM openrisk.risks WHERE tenant_id = openrisk.demo_tenant_id(1) AND deleted_at IS NOT NULL) > 0,
          'some risks are soft-deleted');
SELECT ok((SELECT count(*) FROM openrisk.mitigations WHERE tenant_id = openrisk.demo_tenant_id(1)) > 100, 'mitigations exist');
SELECT is((SELECT count(*)::int FROM openrisk.connectors WHERE name <> 'Fixture connector'), 60, 'the connector catalogue has 60 versions');
SELECT is((SELECT count(*)::int FROM openrisk.marketplace_apps WHERE tenant_id = openrisk.demo_tenant_id(1)), 5, 'five apps per tenant');

SELECT md5(string_agg(id::text || title || score || status, ',' ORDER BY id)) AS fingerprint
  FROM openrisk.risks WHERE tenant_id = openrisk.demo_tenant_id(1) \gset
SELECT count(*) AS n FROM openrisk.generate_demo_data(2, 300, 7) \gset
SELECT is((SELECT md5(string_agg(id::text || title || score || status, ',' ORDER BY id))
             FROM openrisk.risks WHERE tenant_id = openrisk.demo_tenant_id(1)), :'fingerprint',
          'the same seed gives the same data');
SELECT is((SELECT count(*)::int FROM openrisk.risk_history WHERE tenant_id = openrisk.demo_tenant_id(1) AND change_type = 'CREATE'),
          300, 'a re-run replaces the tenant''s data and history instead of adding to it');
SELECT throws_ok('SELECT openrisk.generate_demo_data(0, 10, 1)', '22023', NULL, 'zero tenants is a bad parameter');

SELECT * FROM finish();
