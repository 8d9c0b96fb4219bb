-- test/pgtap/30_helpers.sql -- fixtures for the application's pgTAP files (31_..39_).
--
-- Why: every later file needs the same few tools -- a fresh tenant, every
-- read endpoint called through the cache and with the cache off, the
-- presence of each endpoint's key -- and copying them into each file would
-- let them drift.  test/suites/30-openrisk-sql.sh runs the files in name
-- order against one fresh database, so this file installs schema t first
-- and checks that the tools themselves can tell right from wrong.
--
-- The files run outside a wrapping transaction on purpose: invalidation
-- takes effect at COMMIT, so each statement commits and the next one sees
-- the post-commit state of the cache.  Tenants are random uuids, because
-- the cache is shared by every database of the cluster.

\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
CREATE SCHEMA IF NOT EXISTS t;

-- A new tenant with a random id.
CREATE OR REPLACE FUNCTION t.tenant(name text) RETURNS uuid LANGUAGE sql AS $$
    INSERT INTO openrisk.tenants (id, name) VALUES (gen_random_uuid(), name) RETURNING id
$$;

-- A small, varied data set for a tenant: risks over every impact and
-- probability, two assets, a mitigation, an installed app.  Returns the
-- first risk's id.
CREATE OR REPLACE FUNCTION t.populate(tenant uuid, risks integer DEFAULT 30) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    first uuid;
    r json;
BEGIN
    FOR i IN 1..risks LOOP
        r := openrisk.risk_create(tenant, jsonb_build_object(
                'title', format('%s risk %s', (ARRAY['Ransomware', 'Phishing', 'Outage'])[1 + i % 3], i),
                'description', 'fixture', 'impact', 1 + i % 5, 'probability', 1 + (i / 5) % 5,
                'tags', jsonb_build_array('fixture', 't' || i % 4)));
        first := coalesce(first, (r ->> 'id')::uuid);
    END LOOP;
    INSERT INTO openrisk.assets (tenant_id, name, criticality)
    VALUES (tenant, 'fixture-db', 'HIGH'), (tenant, 'fixture-web', 'MEDIUM');
    RETURN first;
END
$$;

-- The ids of a list reply's items, in order.
CREATE OR REPLACE FUNCTION t.page_ids(reply json) RETURNS uuid[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg((e ->> 'id')::uuid ORDER BY n), '{}')
      FROM json_array_elements(reply -> 'items') WITH ORDINALITY x(e, n)
$$;

-- A connector of the catalogue (created once) and an app of a tenant.
-- (Read first: writing the catalogue on every call would invalidate it.)
CREATE OR REPLACE FUNCTION t.connector() RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
    c uuid;
BEGIN
    SELECT id INTO c FROM openrisk.connectors WHERE name = 'Fixture connector' AND version = '1.0';
    IF NOT FOUND THEN
        INSERT INTO openrisk.connectors (name, version, category, rating, install_count)
        VALUES ('Fixture connector', '1.0', 'testing', 4.5, 10) RETURNING id INTO c;
    END IF;
    RETURN c;
END
$$;

CREATE OR REPLACE FUNCTION t.app(tenant uuid) RETURNS uuid LANGUAGE sql AS $$
    INSERT INTO openrisk.marketplace_apps (tenant_id, connector_id, name)
    VALUES (tenant, t.connector(), 'fixture app') RETURNING id
$$;

-- The meta call of every read endpoint for one tenant, by name.
CREATE OR REPLACE FUNCTION t.endpoint_calls(tenant uuid, risk uuid, app uuid)
RETURNS TABLE (name text, call text) LANGUAGE sql STABLE AS $$
    VALUES
    ('risk_list', format('SELECT * FROM openrisk.risk_list_meta(%L)', tenant)),
    ('risk_list_filtered', format('SELECT * FROM openrisk.risk_list_meta(%L, 1, 5, %L, %L, %L, %L, %L)',
                                  tenant, 'low', 'draft', 'RISK', 'title', 'ASC')),
    ('risk_list_page2', format('SELECT * FROM openrisk.risk_list_meta(%L, 2, 7, NULL, NULL, NULL, %L, %L)',
                               tenant, 'created_at', 'asc')),
    ('risk_list_tag_score', format('SELECT * FROM openrisk.risk_list_meta(%L, tag => %L, min_score => %L)',
                                   tenant, 'fixture', '4')),
    ('risk_list_cell_created', format('SELECT * FROM openrisk.risk_list_meta(%L, impact => %L, probability => %L, '
                                      'created_after => %L)', tenant, '2', '1', '2000-01-01')),
    ('risk_get', format('SELECT * FROM openrisk.risk_get_meta(%L, %L)', tenant, risk)),
    ('risk_history', format('SELECT * FROM openrisk.risk_history_meta(%L, %L)', tenant, risk)),
    ('risk_search', format('SELECT * FROM openrisk.risk_search_meta(%L, %L)', tenant, 'ransomware')),
    ('risk_matrix', format('SELECT * FROM openrisk.risk_matrix_meta(%L)', tenant)),
    ('risk_matrix_week', format('SELECT * FROM openrisk.risk_matrix_meta(%L, %L)', tenant, 'week')),
    ('dashboard_stats', format('SELECT * FROM openrisk.dashboard_stats_meta(%L)', tenant)),
    ('dashboard_stats_all', format('SELECT * FROM openrisk.dashboard_stats_meta(%L, %L)', tenant, 'all')),
    ('dashboard_matrix', format('SELECT * FROM openrisk.dashboard_matrix_meta(%L)', tenant)),
    ('dashboard_timeline', format('SELECT * FROM openrisk.dashboard_timeline_meta(%L)', tenant)),
    ('connector_list', 'SELECT * FROM openrisk.connector_list_meta()'),
    ('connector_list_testing', format('SELECT * FROM openrisk.connector_list_meta(%L, %L)', 'Testing', 'active')),
    ('connector_get', format('SELECT * FROM openrisk.connector_get_meta(%L)', t.connector())),
    ('app_get', format('SELECT * FROM openrisk.app_get_meta(%L, %L)', tenant, app))
$$;

-- Run a meta call with the cache switched off for this statement: the
-- fresh, uncached answer.
CREATE OR REPLACE FUNCTION t.uncached(call text) RETURNS openrisk.cache_fetch_result
LANGUAGE plpgsql AS $$
DECLARE
    was text := current_setting('openrisk.cache_enabled');
    result openrisk.cache_fetch_result;
BEGIN
    PERFORM set_config('openrisk.cache_enabled', 'off', true);
    EXECUTE call INTO result;
    PERFORM set_config('openrisk.cache_enabled', was, true);
    RETURN result;
END
$$;

-- Every endpoint called twice through the cache (the second call must be
-- a hit) and once with the cache off; one row per endpoint.
CREATE OR REPLACE FUNCTION t.cached_vs_fresh(tenant uuid, risk uuid, app uuid)
RETURNS TABLE (name text, cached text, fresh text, second_hit boolean)
LANGUAGE plpgsql AS $$
DECLARE
    c record;
    first openrisk.cache_fetch_result;
    second openrisk.cache_fetch_result;
BEGIN
    FOR c IN SELECT * FROM t.endpoint_calls(tenant, risk, app) LOOP
        EXECUTE c.call INTO first;
        EXECUTE c.call INTO second;
        name := c.name;
        cached := second.value;
        fresh := (t.uncached(c.call)).value;
        second_hit := second.hit;
        RETURN NEXT;
    END LOOP;
END
$$;

-- The cache key of each endpoint (default arguments), by name, plus a
-- report key the write triggers must drop on deletes.  Built with the
-- extension's own key builders (sql/16_keys.sql), which every endpoint
-- uses: the matrix tests check the invalidation rules, and
-- 32_cached_equals_fresh that the endpoints hit these keys.
CREATE OR REPLACE FUNCTION t.keys(tenant uuid, risk uuid, other_risk uuid, app uuid)
RETURNS TABLE (name text, key text) LANGUAGE sql STABLE AS $$
    VALUES
    ('risk_list', openrisk._key_risk_list(tenant, 'score', 'desc', NULL, NULL, NULL, 1, 20, NULL)),
    ('risk_list_tag', openrisk._key_risk_list(tenant, 'score', 'desc', NULL, NULL, NULL, 1, 20, NULL,
        openrisk._risk_filter_text(openrisk._risk_filter_arg(NULL, 'fixture', NULL, NULL, NULL, NULL, NULL, NULL, NULL)))),
    ('risk_get', openrisk._key_risk_id(tenant, risk)),
    ('risk_get_other', openrisk._key_risk_id(tenant, other_risk)),
    ('risk_history', openrisk._key_risk_history(tenant, risk, 1, 20)),
    ('risk_history_other', openrisk._key_risk_history(tenant, other_risk, 1, 20)),
    -- searches anchored on a lexeme every fixture risk has ('fixture'),
    -- on one the written risks never have ('outage'), and unanchored (OR)
    ('risk_search', openrisk._key_risk_search(tenant, 'fixture', 1, 20)),
    ('risk_search_outage', openrisk._key_risk_search(tenant, 'outage', 1, 20)),
    ('risk_search_or', openrisk._key_risk_search(tenant, 'ransomware or nothing', 1, 20)),
    ('risk_matrix', openrisk._key_risk_matrix(tenant, 'all')),
    ('risk_matrix_month', openrisk._key_risk_matrix(tenant, 'month')),
    ('dashboard_stats', openrisk._key_dashboard_stats(tenant, 'month')),
    ('dashboard_stats_all', openrisk._key_dashboard_stats(tenant, 'all')),
    ('dashboard_matrix', openrisk._key_dashboard_matrix(tenant)),
    ('dashboard_timeline', openrisk._key_dashboard_timeline(tenant, 30)),
    ('connector_list', openrisk._key_connector_list(NULL, NULL, 1, 20)),
    ('connector_get', openrisk._key_connector_id(t.connector())),
    ('app_get', openrisk._key_app_id(tenant, app)),
    ('report', openrisk._kp_report(tenant) || 'summary')
$$;

-- Fill every key of t.keys by calling the endpoints (and putting the
-- report key, which no endpoint produces yet).
CREATE OR REPLACE FUNCTION t.warm(tenant uuid, risk uuid, other_risk uuid, app uuid)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM openrisk.risk_list(tenant), openrisk.risk_get(tenant, risk),
            openrisk.risk_list(tenant, tag => 'fixture'),
            openrisk.risk_history(tenant, risk), openrisk.risk_history(tenant, other_risk),
            openrisk.risk_get(tenant, other_risk), openrisk.risk_search(tenant, 'fixture'),
            openrisk.risk_search(tenant, 'outage'), openrisk.risk_search(tenant, 'ransomware or nothing'),
            openrisk.risk_matrix(tenant), openrisk.risk_matrix(tenant, 'month'),
            openrisk.dashboard_stats(tenant), openrisk.dashboard_stats(tenant, 'all'),
            openrisk.dashboard_matrix(tenant), openrisk.dashboard_timeline(tenant),
            openrisk.connector_list(), openrisk.connector_get(t.connector()),
            openrisk.app_get(tenant, app),
            openrisk.cache_put(openrisk._kp_report(tenant) || 'summary', '{}', '1 hour');
END
$$;

-- Names of the keys of t.keys that are no longer cached, sorted.
CREATE OR REPLACE FUNCTION t.gone(tenant uuid, risk uuid, other_risk uuid, app uuid)
RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(name ORDER BY name), '{}')
      FROM t.keys(tenant, risk, other_risk, app)
     WHERE openrisk.cache_ttl(key) IS NULL
$$;

-- Notifications received so far on a dblink connection that LISTENs,
-- waiting up to `seconds` for at least `at_least` of them.
CREATE OR REPLACE FUNCTION t.notifications(conn text, at_least integer, seconds numeric)
RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    got text[] := '{}';
    deadline timestamptz := clock_timestamp() + seconds * interval '1 second';
BEGIN
    LOOP
        got := got || ARRAY(SELECT extra FROM dblink_get_notify(conn) WHERE notify_name = 'openrisk_cache');
        EXIT WHEN cardinality(got) >= at_least OR clock_timestamp() > deadline;
        PERFORM pg_sleep(0.05);
    END LOOP;
    RETURN got;
END
$$;

SELECT plan(8);

SELECT is(current_setting('openrisk.cache_enabled'), 'on', 'the cache is enabled for the tests');
SELECT ok((SELECT available FROM openrisk.cache_stats), 'the shared cache is available (library preloaded)');

-- The tools can fail: a value put under a key is seen by t.gone, and the
-- uncached path does not read a planted wrong value.
SELECT t.tenant('helpers') AS h \gset
SELECT ok(openrisk.cache_put(openrisk._key_dashboard_stats(:'h', 'month'), '{"planted": true}'), 'a value can be planted under an endpoint key');
SELECT is((openrisk.dashboard_stats_meta(:'h')).value, '{"planted": true}',
          'a planted entry is served by the cached path (so a stale entry would be seen)');
SELECT isnt((t.uncached(format('SELECT * FROM openrisk.dashboard_stats_meta(%L)', :'h'))).value, '{"planted": true}',
            't.uncached computes instead of reading the cache');
SELECT ok('dashboard_stats' <> ALL (t.gone(:'h', gen_random_uuid(), gen_random_uuid(), gen_random_uuid())),
          't.gone does not list a key that is cached');
SELECT ok('dashboard_matrix' = ANY (t.gone(:'h', gen_random_uuid(), gen_random_uuid(), gen_random_uuid())),
          't.gone lists a key that is not cached');
SELECT ok(openrisk.cache_invalidate(openrisk._family(openrisk._kp_dashboard_stats(:'h'))) >= 0, 'the planted value is dropped again');

SELECT * FROM finish();
