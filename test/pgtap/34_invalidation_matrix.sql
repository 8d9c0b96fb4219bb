-- test/pgtap/34_invalidation_matrix.sql -- the invalidation matrix of
-- issue 3, row by row: after each committed write, exactly the expected
-- keys of tenant A are gone, and every key of tenant B is still cached.
-- A rolled-back write drops nothing.
--
-- Keys checked per tenant (t.keys): risk_list, risk_get (the written
-- risk), risk_get_other (another risk), risk_search, risk_matrix,
-- dashboard_stats / _matrix / _timeline, connector_list, connector_get,
-- app_get, report (planted: no endpoint of this issue produces it).

\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(2 * 12 + 2);

SELECT t.tenant('matrix A') AS a \gset
SELECT t.tenant('matrix B') AS b \gset
SELECT t.populate(:'a', 6) AS ra \gset
SELECT t.populate(:'b', 6) AS rb \gset
SELECT id AS ra2 FROM openrisk.risks WHERE tenant_id = :'a' AND id <> :'ra' LIMIT 1 \gset
SELECT id AS rb2 FROM openrisk.risks WHERE tenant_id = :'b' AND id <> :'rb' LIMIT 1 \gset
SELECT t.app(:'a') AS appa \gset
SELECT t.app(:'b') AS appb \gset
SELECT id AS asset_medium FROM openrisk.assets WHERE tenant_id = :'a' AND name = 'fixture-web' \gset
SELECT id AS asset_high FROM openrisk.assets WHERE tenant_id = :'a' AND name = 'fixture-db' \gset
-- The asset rows below are linked to ra before the matrix starts.
SELECT openrisk.risk_update(:'a', :'ra', format('{"asset_ids": ["%s"]}', :'asset_high')::jsonb) IS NOT NULL AS linked \gset

-- warm both tenants, write (committed by its own statement), compare.
\set warm 'SELECT t.warm(:''a'', :''ra'', :''ra2'', :''appa'') AS warmed_a, t.warm(:''b'', :''rb'', :''rb2'', :''appb'') AS warmed_b'
\set gone_a 't.gone(:''a'', :''ra'', :''ra2'', :''appa'')'
\set gone_b 't.gone(:''b'', :''rb'', :''rb2'', :''appb'')'

:warm \gset
SELECT is(:gone_a, '{}', 'warm-up: every key of tenant A is cached');
SELECT is(:gone_b, '{}', 'warm-up: every key of tenant B is cached');

-- insert risk -> the tenant's risk:list, risk:search, risk:matrix, dashboard:*
SELECT openrisk.risk_create(:'a', '{"title": "new one", "impact": 1, "probability": 1}') IS NOT NULL AS x \gset
SELECT is(:gone_a, ARRAY['dashboard_matrix', 'dashboard_stats', 'dashboard_timeline', 'risk_list', 'risk_matrix', 'risk_search'],
          'insert risk: A loses its lists, search, matrix and dashboards, nothing else');
SELECT is(:gone_b, '{}', 'insert risk: tenant B untouched');

-- update risk -> also risk:id:<tenant>:<id>
:warm \gset
SELECT openrisk.risk_update(:'a', :'ra', '{"title": "updated"}') IS NOT NULL AS x \gset
SELECT is(:gone_a, ARRAY['dashboard_matrix', 'dashboard_stats', 'dashboard_timeline', 'risk_get', 'risk_list', 'risk_matrix', 'risk_search'],
          'update risk: also its own risk:id key, not another risk''s');
SELECT is(:gone_b, '{}', 'update risk: tenant B untouched');

-- mitigation change -> the risk it touches and the tenant's dashboards
:warm \gset
INSERT INTO openrisk.mitigations (risk_id, tenant_id, title) VALUES (:'ra', :'a', 'fix');
SELECT is(:gone_a, ARRAY['dashboard_matrix', 'dashboard_stats', 'dashboard_timeline', 'risk_get'],
          'mitigation insert: the risk it belongs to and the dashboards');
SELECT is(:gone_b, '{}', 'mitigation insert: tenant B untouched');

-- asset rename (no score change) -> linked risks and dashboards
:warm \gset
UPDATE openrisk.assets SET name = 'fixture-db-renamed' WHERE id = :'asset_high';
SELECT is(:gone_a, ARRAY['dashboard_matrix', 'dashboard_stats', 'dashboard_timeline', 'risk_get'],
          'asset rename: the risks linked to it and the dashboards');
SELECT is(:gone_b, '{}', 'asset rename: tenant B untouched');

-- asset criticality change -> score changes -> like an update of the risk
:warm \gset
UPDATE openrisk.assets SET criticality = 'LOW' WHERE id = :'asset_high';
SELECT is(:gone_a, ARRAY['dashboard_matrix', 'dashboard_stats', 'dashboard_timeline', 'risk_get', 'risk_list', 'risk_matrix', 'risk_search'],
          'asset criticality change: the re-scored risk, lists, search, matrix, dashboards');
SELECT is(:gone_b, '{}', 'asset criticality change: tenant B untouched');

-- risk_asset link without score change (MEDIUM = factor 1 on an unlinked risk)
:warm \gset
INSERT INTO openrisk.risk_assets (risk_id, asset_id, tenant_id) VALUES (:'ra2', :'asset_medium', :'a');
SELECT is(:gone_a, ARRAY['dashboard_matrix', 'dashboard_stats', 'dashboard_timeline', 'risk_get_other'],
          'link of a factor-1 asset: that risk and the dashboards (score unchanged, lists kept)');
SELECT is(:gone_b, '{}', 'risk_asset link: tenant B untouched');

-- soft delete -> also report:* of the tenant
:warm \gset
SELECT openrisk.risk_delete(:'a', :'ra') AS x \gset
SELECT is(:gone_a, ARRAY['dashboard_matrix', 'dashboard_stats', 'dashboard_timeline', 'report', 'risk_get', 'risk_list', 'risk_matrix', 'risk_search'],
          'soft delete: also the tenant''s reports');
SELECT is(:gone_b, '{}', 'soft delete: tenant B untouched');

-- hard delete (plain SQL) -> same as soft delete
SELECT t.warm(:'a', :'ra2', :'ra2', :'appa') AS warmed_a, t.warm(:'b', :'rb', :'rb2', :'appb') AS warmed_b \gset
DELETE FROM openrisk.risks WHERE id = :'ra2';
SELECT is(t.gone(:'a', :'ra2', :'ra2', :'appa'),
          ARRAY['dashboard_matrix', 'dashboard_stats', 'dashboard_timeline', 'report', 'risk_get', 'risk_get_other', 'risk_list', 'risk_matrix', 'risk_search'],
          'hard delete: the risk, lists, search, matrix, dashboards, reports');
SELECT is(:gone_b, '{}', 'hard delete: tenant B untouched');

-- connector change -> connector:* (global), nothing tenant-scoped
SELECT openrisk.risk_create(:'a', '{"title": "another", "impact": 2, "probability": 2}') ->> 'id' AS ra \gset
SELECT id AS ra2 FROM openrisk.risks WHERE tenant_id = :'a' AND id <> :'ra' AND deleted_at IS NULL LIMIT 1 \gset
:warm \gset
UPDATE openrisk.connectors SET install_count = install_count + 1 WHERE id = t.connector();
SELECT is(:gone_a, ARRAY['connector_get', 'connector_list'], 'connector change: every connector key, nothing of tenant A');
SELECT is(array_remove(array_remove(:gone_b, 'connector_get'), 'connector_list'), '{}',
          'connector change: nothing tenant-scoped of tenant B');

-- app change -> app:id:<tenant>:<id> only
:warm \gset
UPDATE openrisk.marketplace_apps SET status = 'disabled' WHERE id = :'appa';
SELECT is(:gone_a, ARRAY['app_get'], 'app change: only that app''s key');
SELECT is(:gone_b, '{}', 'app change: tenant B untouched (its app too)');

-- a rolled-back write drops nothing
:warm \gset
BEGIN;
SELECT openrisk.risk_update(:'a', :'ra', '{"title": "never"}') IS NOT NULL AS x \gset
DELETE FROM openrisk.mitigations WHERE tenant_id = :'a';
UPDATE openrisk.connectors SET rating = 1 WHERE id = t.connector();
ROLLBACK;
SELECT is(:gone_a, '{}', 'rollback: every key of tenant A is still cached');
SELECT is(:gone_b, '{}', 'rollback: tenant B untouched');

-- a bulk statement touching both tenants drops both, once per tenant
:warm \gset
UPDATE openrisk.risks SET status = 'ACTIVE' WHERE tenant_id IN (:'a', :'b') AND impact = 2;
SELECT ok(ARRAY['risk_list', 'dashboard_stats'] <@ :gone_a, 'bulk update over two tenants: A''s lists and dashboards dropped');
SELECT ok(ARRAY['risk_list', 'dashboard_stats'] <@ :gone_b, 'bulk update over two tenants: B''s lists and dashboards dropped');

SELECT * FROM finish();
