-- test/pgtap/32_cached_equals_fresh.sql -- for every read endpoint, the
-- cached answer equals a fresh uncached computation, before and after
-- every kind of write (each write commits before the check), and a
-- transaction reads its own writes.

\set ON_ERROR_STOP 1
SET client_min_messages = warning;

-- One assertion per endpoint call (cached, i.e. second call, = computed
-- with the cache off) plus one that every second call was a hit.
CREATE OR REPLACE FUNCTION t.check_fresh(tenant uuid, risk uuid, app uuid, phase text)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    c record;
    all_hits boolean := true;
BEGIN
    FOR c IN SELECT * FROM t.cached_vs_fresh(tenant, risk, app) LOOP
        RETURN NEXT is(c.cached, c.fresh, format('%s: cached = uncached %s', c.name, phase));
        -- NULL (not found) is never cached, so only found answers must hit.
        all_hits := all_hits AND (c.second_hit OR c.cached IS NULL);
    END LOOP;
    RETURN NEXT ok(all_hits, format('every second call of a found answer was a cache hit %s', phase));
END
$$;

SELECT plan(19 * 14 + 6);

SELECT t.tenant('fresh A') AS a \gset
SELECT t.tenant('fresh B') AS b \gset
SELECT t.populate(:'a') AS r \gset
SELECT t.populate(:'b', 5) AS rb \gset
SELECT t.app(:'a') AS app \gset
SELECT id AS asset FROM openrisk.assets WHERE tenant_id = :'a' AND name = 'fixture-db' \gset

SELECT * FROM t.check_fresh(:'a', :'r', :'app', 'before any write');

SELECT openrisk.risk_create(:'a', '{"title": "Ransomware created later", "impact": 5, "probability": 5, "tags": ["new"]}') IS NOT NULL AS created \gset
SELECT * FROM t.check_fresh(:'a', :'r', :'app', 'after risk_create');

SELECT openrisk.risk_update(:'a', :'r', '{"title": "Renamed ransomware", "impact": 4, "status": "active"}') IS NOT NULL AS updated \gset
SELECT * FROM t.check_fresh(:'a', :'r', :'app', 'after risk_update');

SELECT openrisk.risk_update(:'a', :'r', format('{"asset_ids": ["%s"]}', :'asset')::jsonb) IS NOT NULL AS linked \gset
SELECT * FROM t.check_fresh(:'a', :'r', :'app', 'after linking an asset');

UPDATE openrisk.assets SET criticality = 'CRITICAL' WHERE id = :'asset';
SELECT * FROM t.check_fresh(:'a', :'r', :'app', 'after an asset criticality change');

UPDATE openrisk.assets SET name = 'renamed-db' WHERE id = :'asset';
SELECT * FROM t.check_fresh(:'a', :'r', :'app', 'after an asset rename');

INSERT INTO openrisk.mitigations (risk_id, tenant_id, title) VALUES (:'r', :'a', 'patch it');
SELECT * FROM t.check_fresh(:'a', :'r', :'app', 'after a mitigation insert');

UPDATE openrisk.mitigations SET status = 'DONE', progress = 100 WHERE risk_id = :'r';
SELECT * FROM t.check_fresh(:'a', :'r', :'app', 'after a mitigation update');

DELETE FROM openrisk.mitigations WHERE risk_id = :'r';
SELECT * FROM t.check_fresh(:'a', :'r', :'app', 'after a mitigation delete');

UPDATE openrisk.risks SET status = 'ACCEPTED' WHERE tenant_id = :'a' AND impact = 1;
SELECT * FROM t.check_fresh(:'a', :'r', :'app', 'after a plain SQL bulk update');

UPDATE openrisk.connectors SET rating = 0.5 WHERE id = t.connector();
SELECT * FROM t.check_fresh(:'a', :'r', :'app', 'after a connector update');

UPDATE openrisk.marketplace_apps SET status = 'installed', enabled = false WHERE id = :'app';
SELECT * FROM t.check_fresh(:'a', :'r', :'app', 'after an app update');

SELECT count(openrisk.risk_delete(:'a', id)) AS n_deleted FROM openrisk.risks WHERE tenant_id = :'a' AND title LIKE 'Ransomware risk%' \gset
SELECT * FROM t.check_fresh(:'a', :'r', :'app', 'after risk_delete');

SELECT openrisk.risk_delete(:'a', :'r') AS deleted \gset
SELECT * FROM t.check_fresh(:'a', :'r', :'app', 'after deleting the risk read by risk_get');

-- Read-your-writes: inside the writing transaction the endpoints read
-- around the cache for what it invalidated.
SELECT openrisk.risk_list(:'a') IS NOT NULL AS warm, openrisk.dashboard_stats(:'a', 'all') IS NOT NULL AS warm2 \gset
BEGIN;
SELECT openrisk.risk_create(:'a', '{"title": "inside a transaction", "impact": 2, "probability": 2}') IS NOT NULL AS c \gset
SELECT is(openrisk.risk_list(:'a')::text, (t.uncached(format('SELECT * FROM openrisk.risk_list_meta(%L)', :'a'))).value,
          'a transaction sees its own new risk in risk_list');
SELECT is(openrisk.dashboard_stats(:'a', 'all')::text,
          (t.uncached(format('SELECT * FROM openrisk.dashboard_stats_meta(%L, %L)', :'a', 'all'))).value,
          'and in dashboard_stats');
SELECT ok(NOT (openrisk.dashboard_stats_meta(:'a', 'all')).hit, 'by reading around the cache, not from it');
ROLLBACK;
SELECT is(openrisk.risk_list(:'a')::text, (t.uncached(format('SELECT * FROM openrisk.risk_list_meta(%L)', :'a'))).value,
          'after ROLLBACK the list is the committed one');
SELECT ok((openrisk.risk_list_meta(:'a')).hit, 'and served from the cache again');

-- Tenant B was written to by nobody: still equal, and still cached.
SELECT is(openrisk.dashboard_stats(:'b')::text,
          (t.uncached(format('SELECT * FROM openrisk.dashboard_stats_meta(%L)', :'b'))).value,
          'tenant B: dashboard_stats cached = uncached');

SELECT * FROM finish();
