-- test/pgtap/34_invalidation_matrix.sql -- the invalidation matrix, row
-- by row (docs/CACHING.md): after each committed write, exactly the
-- expected keys of tenant A are gone -- no fewer (stale answers) and no
-- more (wasted misses) -- and every key of tenant B is still cached.  A
-- rolled-back write drops nothing.
--
-- Keys checked per tenant (t.keys): risk_list, risk_list_tag (filtered
-- by a tag), risk_get (the written risk), risk_get_other (another risk),
-- risk_history and risk_history_other (their histories), risk_search
-- ('fixture': every fixture risk matches), risk_search_outage (no written
-- risk matches), risk_search_or (unanchored), risk_matrix (all),
-- risk_matrix_month, dashboard_stats (month), dashboard_stats_all,
-- dashboard_matrix, dashboard_timeline (30 days), connector_list,
-- connector_get, app_get, report (planted: no endpoint produces it).

\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(36);

SELECT t.tenant('matrix A') AS a \gset
SELECT t.tenant('matrix B') AS b \gset
SELECT t.populate(:'a', 6) AS ra \gset
SELECT t.populate(:'b', 6) AS rb \gset
SELECT id AS ra2 FROM openrisk.risks WHERE tenant_id = :'a' AND id <> :'ra' AND title LIKE 'Ransomware%' LIMIT 1 \gset
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

-- insert risk -> lists and searches; every dashboard / matrix window
-- containing today (through the aggregates); the timeline (a CREATE event)
SELECT openrisk.risk_create(:'a', '{"title": "new one", "impact": 1, "probability": 1}') IS NOT NULL AS x \gset
SELECT is(:gone_a, ARRAY['dashboard_matrix', 'dashboard_stats', 'dashboard_stats_all', 'dashboard_timeline',
                         'risk_list', 'risk_list_tag', 'risk_matrix', 'risk_matrix_month', 'risk_search_or'],
          'insert risk: A loses its lists, unanchored searches, matrices and dashboards, nothing else');
SELECT is(:gone_b, '{}', 'insert risk: tenant B untouched');

-- a change no figure depends on (title) -> lists, search and the risk only
:warm \gset
SELECT openrisk.risk_update(:'a', :'ra', '{"title": "updated"}') IS NOT NULL AS x \gset
SELECT is(:gone_a, ARRAY['risk_get', 'risk_history', 'risk_list', 'risk_list_tag', 'risk_search', 'risk_search_or'],
          'title update: lists, search, its own key and history; no dashboard or matrix, no other risk');
SELECT is(:gone_b, '{}', 'update risk: tenant B untouched');

-- description-only PATCH -> the same, still no dashboard
:warm \gset
SELECT openrisk.risk_update(:'a', :'ra', '{"description": "only this"}') IS NOT NULL AS x \gset
SELECT is(:gone_a, ARRAY['risk_get', 'risk_history', 'risk_list', 'risk_list_tag', 'risk_search', 'risk_search_or'],
          'description-only PATCH: no matrix, no dashboard counter, no timeline');

-- status change to MITIGATED -> stats windows and the timeline (one more
-- mitigated, one less open), not the matrices (cells unchanged)
:warm \gset
SELECT openrisk.risk_update(:'a', :'ra', '{"status": "MITIGATED"}') IS NOT NULL AS x \gset
SELECT is(:gone_a, ARRAY['dashboard_stats', 'dashboard_stats_all', 'dashboard_timeline', 'risk_get', 'risk_history',
                         'risk_list', 'risk_list_tag', 'risk_search', 'risk_search_or'],
          'status change: stats and timeline, lists, its key and history; matrices kept');

-- mitigation insert -> the risk it belongs to and the stats of its windows
-- (mitigation counts); no list (nothing listed changed), no matrix
:warm \gset
INSERT INTO openrisk.mitigations (risk_id, tenant_id, title) VALUES (:'ra', :'a', 'fix');
SELECT is(:gone_a, ARRAY['dashboard_stats', 'dashboard_stats_all', 'risk_get'],
          'mitigation insert: the risk it belongs to and the stats');
SELECT is(:gone_b, '{}', 'mitigation insert: tenant B untouched');

-- mitigation completed -> the same
:warm \gset
UPDATE openrisk.mitigations SET status = 'DONE' WHERE risk_id = :'ra';
SELECT is(:gone_a, ARRAY['dashboard_stats', 'dashboard_stats_all', 'risk_get'],
          'mitigation done: the risk and the stats (completion)');

-- asset rename (no score change) -> the risks that show it
:warm \gset
UPDATE openrisk.assets SET name = 'fixture-db-renamed' WHERE id = :'asset_high';
SELECT is(:gone_a, ARRAY['risk_get'], 'asset rename: only the risks linked to it');
SELECT is(:gone_b, '{}', 'asset rename: tenant B untouched');

-- asset criticality change -> score changes: lists, the stats, the heat
-- map's average scores, the timeline; the count matrices keep their counts
:warm \gset
UPDATE openrisk.assets SET criticality = 'LOW' WHERE id = :'asset_high';
SELECT is(:gone_a, ARRAY['dashboard_matrix', 'dashboard_stats', 'dashboard_stats_all', 'dashboard_timeline',
                         'risk_get', 'risk_history', 'risk_list', 'risk_list_tag', 'risk_search', 'risk_search_or'],
          'asset criticality change: the re-scored risk (and its history), lists, search, scores; counts kept');
SELECT is(:gone_b, '{}', 'asset criticality change: tenant B untouched');

-- risk_asset link without score change (MEDIUM = factor 1 on an unlinked risk)
:warm \gset
INSERT INTO openrisk.risk_assets (risk_id, asset_id, tenant_id) VALUES (:'ra2', :'asset_medium', :'a');
SELECT is(:gone_a, ARRAY['risk_get_other'],
          'link of a factor-1 asset: only that risk (score unchanged)');
SELECT is(:gone_b, '{}', 'risk_asset link: tenant B untouched');

-- a change to a risk created long before every recent window: the 'all'
-- figures only, not the month's
INSERT INTO openrisk.risks (tenant_id, title, impact, probability, created_at, updated_at)
VALUES (:'a', 'old risk', 2, 2, now() - interval '400 days', now() - interval '400 days') RETURNING id AS old_risk \gset
:warm \gset
UPDATE openrisk.risks SET impact = 4 WHERE id = :'old_risk';
SELECT is(:gone_a, ARRAY['dashboard_matrix', 'dashboard_stats_all', 'dashboard_timeline', 'risk_list', 'risk_list_tag',
                         'risk_matrix', 'risk_search_or'],
          'update of a risk created 400 days ago: the all-time figures, not the month''s');

-- soft delete -> also report:* of the tenant
:warm \gset
SELECT openrisk.risk_delete(:'a', :'ra') AS x \gset
SELECT is(:gone_a, ARRAY['dashboard_matrix', 'dashboard_stats', 'dashboard_stats_all', 'dashboard_timeline', 'report',
                         'risk_get', 'risk_history', 'risk_list', 'risk_list_tag', 'risk_matrix', 'risk_matrix_month',
                         'risk_search', 'risk_search_or'],
          'soft delete: everything it was counted in, its history, and the tenant''s reports');
SELECT is(:gone_b, '{}', 'soft delete: tenant B untouched');

-- hard delete (plain SQL) -> same as soft delete
SELECT t.warm(:'a', :'ra2', :'ra2', :'appa') AS warmed_a, t.warm(:'b', :'rb', :'rb2', :'appb') AS warmed_b \gset
DELETE FROM openrisk.risks WHERE id = :'ra2';
SELECT is(t.gone(:'a', :'ra2', :'ra2', :'appa'),
          ARRAY['dashboard_matrix', 'dashboard_stats', 'dashboard_stats_all', 'dashboard_timeline', 'report',
                'risk_get', 'risk_get_other', 'risk_history', 'risk_history_other', 'risk_list', 'risk_list_tag',
                'risk_matrix', 'risk_matrix_month', 'risk_search', 'risk_search_or'],
          'hard delete: the risk, its history, lists, search, matrices, dashboards, reports');
SELECT is(:gone_b, '{}', 'hard delete: tenant B untouched');

-- connector change -> connector:* (global), nothing tenant-scoped
SELECT openrisk.risk_create(:'a', '{"title": "another", "impact": 2, "probability": 2}') ->> 'id' AS ra \gset
SELECT id AS ra2 FROM openrisk.risks WHERE tenant_id = :'a' AND id <> :'ra' AND deleted_at IS NULL
   AND title LIKE 'Ransomware%' LIMIT 1 \gset
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

-- a risk that matches 'outage': the searches anchored on its lexemes go
-- too (the search of another lexeme, 'fixture', is one of them)
:warm \gset
UPDATE openrisk.risks SET description = 'fixture, reworded'
 WHERE id = (SELECT id FROM openrisk.risks WHERE tenant_id = :'a' AND title LIKE 'Outage%' AND deleted_at IS NULL LIMIT 1);
SELECT is(:gone_a, ARRAY['risk_list', 'risk_list_tag', 'risk_search', 'risk_search_or', 'risk_search_outage'],
          'update of a risk matching outage: its searches, lists; not the written risks'' keys');

-- search anchors (sql/16_keys.sql): the longest lexeme of a query with
-- no OR and no NOT; none otherwise
SELECT is(ARRAY[openrisk._search_anchor('Phishing vendor'), openrisk._search_anchor('"data leak" via vendors'),
                openrisk._search_anchor('it''s')],
          ARRAY['phishing', 'vendors', 'it'], 'search anchor: the longest required lexeme');
SELECT is(ARRAY[openrisk._search_anchor('phishing or malware'), openrisk._search_anchor('phishing -malware'),
                openrisk._search_anchor('!!!')],
          ARRAY[NULL, NULL, NULL]::text[], 'search anchor: none for OR, NOT or no lexeme');
SELECT is(openrisk._search_patterns(:'a', NULL), ARRAY[openrisk._family(openrisk._kp_risk_search(:'a'))],
          'search patterns: unknown lexemes drop the whole family');
SELECT is(openrisk._search_lexemes(ARRAY[to_tsvector('simple', (SELECT string_agg('w' || i, ' ')
                                                                FROM generate_series(1, openrisk._max_search_anchors() + 1) i))]),
          NULL, 'search lexemes: too many to name one by one is NULL (the family)');

-- a bulk statement touching both tenants drops both, once per tenant
:warm \gset
UPDATE openrisk.risks SET status = 'ACTIVE' WHERE tenant_id IN (:'a', :'b') AND impact = 2;
SELECT ok(ARRAY['risk_list', 'dashboard_stats'] <@ :gone_a, 'bulk update over two tenants: A''s lists and dashboards dropped');
SELECT ok(ARRAY['risk_list', 'dashboard_stats'] <@ :gone_b, 'bulk update over two tenants: B''s lists and dashboards dropped');

-- Every namespace a key family of sql/16_keys.sql lives in has its TTL
-- setting, i.e. a row in extension/src/namespaces.h (otherwise its keys
-- would silently get openrisk.ttl_default).
CREATE OR REPLACE FUNCTION t.key_namespaces() RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    f record;
    prefix text;
BEGIN
    FOR f IN SELECT p.proname,
                    (SELECT string_agg(format('%L::%s', '00000000-0000-4000-8000-000000000000', t::regtype), ', ' ORDER BY i)
                       FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY a(t, i)) AS nulls
               FROM pg_proc p
              WHERE p.pronamespace = 'openrisk'::regnamespace AND p.proname LIKE '\_kp\_%' LOOP
        EXECUTE format('SELECT openrisk.%I(%s)', f.proname, coalesce(f.nulls, '')) INTO prefix;
        RETURN NEXT split_part(prefix, ':', 1);
    END LOOP;
END
$$;
SELECT is(array_agg(DISTINCT ns) FILTER (WHERE current_setting('openrisk.ttl_' || ns, true) IS NULL),
          NULL, 'every key namespace of sql/16_keys.sql has its openrisk.ttl_<namespace> setting')
  FROM t.key_namespaces() ns;

SELECT * FROM finish();
