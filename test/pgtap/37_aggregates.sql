-- test/pgtap/37_aggregates.sql -- the aggregates kept at commit
-- (sql/25_aggregates.sql) equal the from-scratch computation after every
-- kind of write, rollback and savepoint; the dashboards read from them
-- equal the oracles (sql/55_dashboard_oracles.sql); aggregates_verify
-- finds a damaged aggregate and aggregates_rebuild repairs it.
--
-- Every check uses t.agg_problems(tenant): aggregates_verify's rows plus
-- every dashboard / matrix / timeline whose aggregate answer differs from
-- its oracle.  Empty = right.  The randomized version of this file is
-- test/sql/aggregates_property.py.

\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(26);

-- Everything that can be wrong with a tenant's aggregates, as text.
CREATE OR REPLACE FUNCTION t.agg_problems(tenant uuid) RETURNS text[] LANGUAGE sql AS $$
    SELECT ARRAY(
        SELECT format('verify %s %s %s', v.family, v.grain, v.bucket) FROM openrisk.aggregates_verify(tenant) v
        UNION ALL
        SELECT 'dashboard_stats ' || p.name FROM openrisk._periods() p
         WHERE openrisk._dashboard_stats_compute(tenant, p.name)::jsonb <> openrisk._dashboard_stats_scan(tenant, p.name)::jsonb
        UNION ALL
        SELECT 'risk_matrix ' || p.name FROM openrisk._periods() p
         WHERE openrisk._risk_matrix_compute(tenant, p.name)::jsonb <> openrisk._risk_matrix_scan(tenant, p.name)::jsonb
        UNION ALL
        SELECT 'dashboard_matrix' WHERE openrisk._dashboard_matrix_compute(tenant)::jsonb <> openrisk._dashboard_matrix_scan(tenant)::jsonb
        UNION ALL
        SELECT 'dashboard_timeline ' || d FROM unnest(ARRAY[1, 7, 30, 90, 365]) d
         WHERE openrisk._dashboard_timeline_compute(tenant, d)::jsonb <> openrisk._dashboard_timeline_scan(tenant, d)::jsonb)
$$;

SELECT t.tenant('aggregates A') AS a \gset
SELECT t.tenant('aggregates B') AS b \gset
SELECT t.populate(:'a', 40) AS ra \gset
SELECT t.populate(:'b', 10) AS rb \gset
SELECT id AS ra2 FROM openrisk.risks WHERE tenant_id = :'a' AND id <> :'ra' ORDER BY id LIMIT 1 \gset
SELECT id AS asset FROM openrisk.assets WHERE tenant_id = :'a' AND name = 'fixture-db' \gset
-- risks on both sides of every period boundary, including the boundary
-- days themselves (the partial day is counted from the rows)
INSERT INTO openrisk.risks (tenant_id, title, impact, probability, status, created_at, updated_at)
SELECT :'a', 'edge ' || p.name || ' ' || o, 1 + abs(o) % 5, 1 + abs(o * 3) % 5, 'ACTIVE',
       now() - p.length + o * interval '1 hour', now()
  FROM openrisk._periods() p, unnest(ARRAY[-25, -1, 1, 25]) o
 WHERE p.length IS NOT NULL;
INSERT INTO openrisk.risks (tenant_id, title, impact, probability, created_at, updated_at)
VALUES (:'a', 'future-dated', 5, 5, now() + interval '3 days', now() + interval '3 days');

SELECT is(t.agg_problems(:'a'), '{}', 'after creates (incl. period edges and a future date): aggregates and dashboards right');

SELECT openrisk.risk_update(:'a', :'ra', '{"impact": 5, "probability": 4}') IS NOT NULL AS x \gset
SELECT is(t.agg_problems(:'a'), '{}', 'after an impact/probability PATCH');
SELECT openrisk.risk_update(:'a', :'ra', '{"status": "MITIGATED"}') IS NOT NULL AS x \gset
SELECT is(t.agg_problems(:'a'), '{}', 'after a status PATCH');
SELECT openrisk.risk_update(:'a', :'ra2', '{"title": "t", "description": "d", "tags": ["x"], "owner": "o"}') IS NOT NULL AS x \gset
SELECT is(t.agg_problems(:'a'), '{}', 'after a PATCH of fields no figure depends on');
UPDATE openrisk.risks SET created_at = created_at - interval '200 days' WHERE id = :'ra2';
SELECT is(t.agg_problems(:'a'), '{}', 'after moving created_at (the risk changes day and windows)');

INSERT INTO openrisk.mitigations (risk_id, tenant_id, title, status)
VALUES (:'ra', :'a', 'm1', 'PLANNED'), (:'ra', :'a', 'm2', 'DONE'), (:'ra2', :'a', 'm3', 'IN_PROGRESS');
SELECT is(t.agg_problems(:'a'), '{}', 'after adding mitigations');
UPDATE openrisk.mitigations SET status = 'DONE' WHERE risk_id = :'ra2';
SELECT is(t.agg_problems(:'a'), '{}', 'after completing a mitigation');
DELETE FROM openrisk.mitigations WHERE title = 'm1' AND tenant_id = :'a';
SELECT is(t.agg_problems(:'a'), '{}', 'after deleting a mitigation');

SELECT openrisk.risk_update(:'a', :'ra2', format('{"asset_ids": ["%s"]}', :'asset')::jsonb) IS NOT NULL AS x \gset
SELECT is(t.agg_problems(:'a'), '{}', 'after linking an asset (re-score)');
UPDATE openrisk.assets SET criticality = 'CRITICAL' WHERE id = :'asset';
SELECT is(t.agg_problems(:'a'), '{}', 'after an asset criticality change (re-score of linked risks)');

SELECT openrisk.risk_delete(:'a', :'ra') AS x \gset
SELECT is(t.agg_problems(:'a'), '{}', 'after a soft delete (its mitigations leave the figures too)');
UPDATE openrisk.risks SET deleted_at = NULL WHERE id = :'ra';
SELECT is(t.agg_problems(:'a'), '{}', 'after an undelete');
DELETE FROM openrisk.risks WHERE id = :'ra2';
SELECT is(t.agg_problems(:'a'), '{}', 'after a hard delete (cascading to its mitigations and links)');
UPDATE openrisk.risks SET impact = 1 + (impact % 5), status = 'ACCEPTED' WHERE tenant_id IN (:'a', :'b') AND probability = 3;
SELECT is(t.agg_problems(:'a') || t.agg_problems(:'b'), '{}', 'after a bulk UPDATE over two tenants');

-- rollback and savepoints: PostgreSQL's own transactions
BEGIN;
SELECT openrisk.risk_create(:'a', '{"title": "rolled back", "impact": 5, "probability": 5}') IS NOT NULL AS x \gset
UPDATE openrisk.risks SET status = 'DRAFT' WHERE tenant_id = :'a';
ROLLBACK;
SELECT is(t.agg_problems(:'a'), '{}', 'after a rolled-back transaction');
BEGIN;
SELECT openrisk.risk_create(:'a', '{"title": "kept", "impact": 4, "probability": 2}') IS NOT NULL AS x \gset
SAVEPOINT s;
UPDATE openrisk.risks SET impact = 5 WHERE tenant_id = :'a';
INSERT INTO openrisk.mitigations (risk_id, tenant_id, title) SELECT id, tenant_id, 'sp' FROM openrisk.risks WHERE tenant_id = :'a';
ROLLBACK TO SAVEPOINT s;
SELECT openrisk.risk_update(:'a', :'ra', '{"probability": 1}') IS NOT NULL AS x \gset
COMMIT;
SELECT is(t.agg_problems(:'a'), '{}', 'after a transaction with a rolled-back savepoint');
SELECT is((SELECT count(*)::int FROM openrisk.risks WHERE tenant_id = :'a' AND title = 'kept'), 1,
          '(the transaction committed its work outside the savepoint)');

-- Read-your-writes: inside the writing transaction the aggregates (and
-- the dashboards read from them) already show the write.
BEGIN;
SELECT openrisk.risk_create(:'a', '{"title": "mine", "impact": 5, "probability": 5}') IS NOT NULL AS x \gset
SELECT is(t.agg_problems(:'a'), '{}', 'inside the writing transaction, before commit');
ROLLBACK;

-- Folding: deltas move into the base, nothing changes.
SELECT openrisk._aggregates_fold(:'a') AS folded \gset
SELECT is((SELECT count(*)::int FROM openrisk.agg_delta WHERE tenant_id = :'a'), 0, 'a fold leaves no delta of the tenant');
SELECT is(t.agg_problems(:'a'), '{}', 'after a fold');

-- The counters of a risk change alone.
SELECT throws_ok(format($$UPDATE openrisk.risks SET mitigations_total = mitigations_total + 1, title = 'x' WHERE id = %L$$, :'ra'),
                 '22023', 'the mitigation counters of a risk are kept by the database and change alone',
                 'an UPDATE of the mitigation counters together with other columns is refused');

-- verify finds damage, rebuild repairs it.
UPDATE openrisk.agg SET v = openrisk._vec_add(v, openrisk._vec(cardinality(v), '{1}', '{7}'))
 WHERE tenant_id = :'a' AND family = 'r' AND grain = 't';
INSERT INTO openrisk.agg_delta (tenant_id, family, day, v)
VALUES (:'a', 'h', current_date - 3, openrisk._vec(openrisk._hv_len(), '{5}', '{2}'));
SELECT ok(cardinality(t.agg_problems(:'a')) >= 3, 'aggregates_verify reports a damaged total and a bogus delta');
SELECT ok((SELECT count(*) FROM openrisk.aggregates_verify(:'a') WHERE family = 'r' AND grain = 't'
                                                               AND stored[1] = computed[1] + 7) = 1,
          'the reported row shows the stored and the computed vector');
SELECT ok(openrisk.aggregates_rebuild(:'a') > 0, 'aggregates_rebuild writes the base');
SELECT is(t.agg_problems(:'a'), '{}', 'after aggregates_rebuild everything is right again');
SELECT is(t.agg_problems(:'b'), '{}', 'tenant B was never touched by A''s damage or repair');

SELECT * FROM finish();
