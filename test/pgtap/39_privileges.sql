-- 39_privileges.sql -- least privilege and tenant-bound SQL callers
-- (sql/80_privileges.sql, src/tenant_acl.c; docs/SECURITY.md).
--
-- * PUBLIC may execute no endpoint function; the group roles hold EXECUTE
--   on exactly theirs; a role outside the groups gets 42501 from every
--   endpoint function, reads and writes.
-- * A role bound to a tenant (grant_tenant) gets 42501 for any other
--   tenant from every tenant-taking endpoint function, and its own
--   tenant's answers -- the same as the superuser's -- otherwise; a member
--   of a bound role is bound too; a binding made or removed takes effect
--   in a session that already called (the per-session memo is dropped).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(31);

DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['openrisk_test_outsider', 'openrisk_test_bound', 'openrisk_test_member',
                             'openrisk_test_free'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END $$;
GRANT openrisk_reader, openrisk_writer, openrisk_admin TO openrisk_test_bound, openrisk_test_free;
GRANT openrisk_test_bound TO openrisk_test_member;
DELETE FROM openrisk.tenant_bindings WHERE role::text LIKE 'openrisk_test_%';

SELECT t.tenant('priv A') AS a, t.tenant('priv B') AS b \gset
SELECT t.populate(:'a', 6) AS risk_a, t.populate(:'b', 6) AS risk_b \gset
SELECT t.app(:'a') AS app_a, t.app(:'b') AS app_b \gset
SELECT id AS risk_a2 FROM openrisk.risks WHERE tenant_id = :'a' AND id <> :'risk_a' ORDER BY id LIMIT 1 \gset
\set body '{"title": "x", "impact": 2, "probability": 2}' 

-- Every endpoint function: whatever any group role may execute.
CREATE OR REPLACE FUNCTION t.endpoint_functions()
RETURNS TABLE (fn regprocedure, name text, group_role text) LANGUAGE sql STABLE AS $$
    SELECT p.oid::regprocedure, p.proname::text, g.r
      FROM pg_proc p CROSS JOIN unnest(ARRAY['openrisk_reader', 'openrisk_writer', 'openrisk_admin']) g(r)
     WHERE p.pronamespace = 'openrisk'::regnamespace AND has_function_privilege(g.r, p.oid, 'EXECUTE')
       AND NOT has_function_privilege('public', p.oid, 'EXECUTE')
$$;

-- A call of fn with arguments of its types: tenant for the first uuid,
-- then the given id; 1 for integers; the body for jsonb; text by the
-- argument's name (a value the function accepts, NULL for filters).
CREATE OR REPLACE FUNCTION t.call_of(fn regprocedure, tenant uuid, id uuid, body jsonb DEFAULT '{}')
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT format('SELECT openrisk.%I(%s)::text', p.proname,
                  string_agg(CASE WHEN a.typ = 'uuid'::regtype AND a.n = 1 THEN quote_literal(tenant) || '::uuid'
                                  WHEN a.typ = 'uuid'::regtype THEN quote_literal(id) || '::uuid'
                                  WHEN a.typ = 'integer'::regtype THEN '1'
                                  WHEN a.typ = 'jsonb'::regtype THEN quote_literal(body) || '::jsonb'
                                  ELSE coalesce(quote_literal(CASE p.proargnames[a.n]
                                                    WHEN 'q' THEN 'risk' WHEN 'period' THEN 'all'
                                                    WHEN 'sort_by' THEN 'score' WHEN 'sort_dir' THEN 'desc'
                                                    WHEN 'pattern' THEN 'risk:list:' || tenant || ':*' END),
                                                'NULL') || '::text' END, ', ' ORDER BY a.n))
      FROM pg_proc p, unnest(p.proargtypes::regtype[]) WITH ORDINALITY a(typ, n)
     WHERE p.oid = fn
     GROUP BY p.proname
$$;

-- Run each call; the SQLSTATEs it raised ('ok' when none), one per call.
CREATE OR REPLACE FUNCTION t.outcomes(calls text[]) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE c text; out text[] := '{}';
BEGIN
    FOREACH c IN ARRAY calls LOOP
        BEGIN
            EXECUTE c;
            out := out || 'ok'::text;
        EXCEPTION WHEN OTHERS THEN
            out := out || SQLSTATE::text;
        END;
    END LOOP;
    RETURN out;
END $$;
GRANT USAGE ON SCHEMA t TO PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA t TO PUBLIC;

-- ---- grants ------------------------------------------------------------
SELECT cmp_ok((SELECT count(DISTINCT fn) FROM t.endpoint_functions())::int, '>=', 24,
              'the group roles hold EXECUTE on the endpoint functions (24+)');
SELECT is((SELECT array_agg(DISTINCT name ORDER BY name) FROM t.endpoint_functions() WHERE group_role = 'openrisk_writer'),
          ARRAY['risk_create', 'risk_create_meta', 'risk_delete', 'risk_delete_meta', 'risk_update', 'risk_update_meta'],
          'openrisk_writer: exactly the writes');
SELECT is((SELECT array_agg(DISTINCT name ORDER BY name) FROM t.endpoint_functions() WHERE group_role = 'openrisk_admin'),
          ARRAY['cache_invalidate_tenant'], 'openrisk_admin: exactly cache_invalidate_tenant');
SELECT is((SELECT array_agg(DISTINCT name ORDER BY name) FROM t.endpoint_functions() WHERE group_role = 'openrisk_reader'),
          ARRAY['app_get', 'app_get_meta', 'connector_get', 'connector_get_meta', 'connector_list',
                'connector_list_meta', 'dashboard_matrix', 'dashboard_matrix_meta', 'dashboard_stats',
                'dashboard_stats_meta', 'dashboard_timeline', 'dashboard_timeline_meta',
                'risk_export_page', 'risk_get', 'risk_get_meta', 'risk_history', 'risk_history_meta', 'risk_list',
                'risk_list_meta', 'risk_matrix', 'risk_matrix_meta', 'risk_search', 'risk_search_meta'],
          'openrisk_reader: exactly the reads');
SELECT is((SELECT array_agg(p.proname::text ORDER BY p.proname)
             FROM pg_proc p WHERE p.pronamespace = 'openrisk'::regnamespace
              AND p.proname !~ '^_' AND p.prosecdef AND has_function_privilege('public', p.oid, 'EXECUTE')),
          NULL, 'PUBLIC may execute no SECURITY DEFINER function of the API');
SELECT ok(NOT has_function_privilege('openrisk_reader', 'openrisk.grant_tenant(regrole, uuid)', 'EXECUTE')
          AND NOT has_function_privilege('openrisk_admin', 'openrisk.grant_tenant(regrole, uuid)', 'EXECUTE'),
          'binding is for the owner only');
SELECT is((SELECT count(*)::int FROM pg_roles WHERE rolname IN ('openrisk_reader', 'openrisk_writer', 'openrisk_admin')
            AND NOT rolcanlogin), 3, 'the three group roles exist and cannot log in');

-- ---- a role outside the groups: 42501 from every endpoint function -------
SELECT array_agg(t.call_of(fn, :'a', :'risk_a', :'body') ORDER BY fn::text) AS calls
  FROM (SELECT DISTINCT fn FROM t.endpoint_functions()) f \gset
SET ROLE openrisk_test_outsider;
SELECT is((SELECT array_agg(DISTINCT o) FROM unnest(t.outcomes(:'calls')) o), ARRAY['42501'],
          'a role outside the group roles: 42501 from every endpoint function, reads and writes');
RESET ROLE;
SELECT is(cardinality(:'calls'::text[]), (SELECT count(DISTINCT fn)::int FROM t.endpoint_functions()),
          '(every endpoint function was called)');
SET ROLE openrisk_test_free;
SELECT is((SELECT array_agg(DISTINCT o) FROM unnest(t.outcomes(:'calls')) o), ARRAY['ok'],
          'the positive twin: a member of the groups, unbound, is served by every one');
RESET ROLE;

-- ---- a bound role --------------------------------------------------------
-- a session that already called as the role, unbound: the memo must go
SET ROLE openrisk_test_bound;
SELECT lives_ok(format($$SELECT openrisk.risk_list(%L)$$, :'b'), 'unbound, the role reads tenant B');
RESET ROLE;
SELECT ok(openrisk.grant_tenant('openrisk_test_bound', :'a'), 'grant_tenant binds the role to A');
SELECT ok(NOT openrisk.grant_tenant('openrisk_test_bound', :'a'), 'and is idempotent');
SELECT throws_ok(format($$SELECT openrisk.grant_tenant('openrisk_test_bound', %L)$$, gen_random_uuid()),
                 '23503', 'the tenant does not exist', 'an unknown tenant cannot be bound');

-- every tenant-taking endpoint function, tenant B: 42501; tenant A: served
SELECT array_agg(t.call_of(fn, :'b', :'risk_b', :'body') ORDER BY fn::text) AS calls_b,
       array_agg(t.call_of(fn, :'a', :'risk_a', :'body') ORDER BY fn::text) AS calls_a
  FROM (SELECT DISTINCT fn FROM t.endpoint_functions() WHERE name !~ '^connector_') f \gset
SET ROLE openrisk_test_bound;
SELECT is((SELECT array_agg(DISTINCT o) FROM unnest(t.outcomes(:'calls_b')) o), ARRAY['42501'],
          'bound to A: 42501 for tenant B from every tenant-taking endpoint function');
SELECT is((SELECT array_agg(DISTINCT o) FROM unnest(t.outcomes(:'calls_a')) o), ARRAY['ok'],
          'and tenant A is served by every one');
SELECT throws_ok(format($$SELECT openrisk.risk_get(%L, %L)$$, :'b', :'risk_b'), '42501',
                 'role "openrisk_test_bound" may not access this tenant', 'the message names the role, not the data');
SELECT throws_ok(format($$SELECT openrisk.risk_create(%L, '{"title": "intruder", "impact": 1, "probability": 1}')$$, :'b'),
                 '42501', NULL, 'a write to B is refused');
SELECT lives_ok($$SELECT openrisk.connector_list()$$, 'the global catalogue stays readable');
SELECT throws_ok(format($$SELECT openrisk.dashboard_stats(NULL)$$), '22023', 'tenant is required',
                 'a NULL tenant is a bad parameter, as before');
SELECT risk_get::text AS bound_get, risk_list::text AS bound_list, dashboard_stats::text AS bound_stats
  FROM openrisk.risk_get(:'a', :'risk_a2'), openrisk.risk_list(:'a'), openrisk.dashboard_stats(:'a', 'all') \gset
RESET ROLE;
SELECT is(:'bound_get', openrisk.risk_get(:'a', :'risk_a2')::text, 'its risk_get answer is the superuser''s');
SELECT is(:'bound_list', openrisk.risk_list(:'a')::text, 'so is its risk_list');
SELECT is(:'bound_stats', openrisk.dashboard_stats(:'a', 'all')::text, 'and its dashboard_stats');
SELECT is((SELECT count(*)::int FROM openrisk.risks WHERE tenant_id = :'b' AND title = 'intruder'), 0,
          'nothing was written to B');

-- a member of a bound role is bound too (through membership)
SET ROLE openrisk_test_member;
SELECT throws_ok(format($$SELECT openrisk.risk_list(%L)$$, :'b'), '42501', NULL,
                 'a member of a bound role is refused tenant B');
SELECT lives_ok(format($$SELECT openrisk.risk_list(%L)$$, :'a'), 'and served tenant A');
RESET ROLE;

-- a second binding widens; revoking the last one lifts the restriction
SELECT ok(openrisk.grant_tenant('openrisk_test_bound', :'b'), 'bind the role to B as well');
SET ROLE openrisk_test_bound;
SELECT lives_ok(format($$SELECT openrisk.risk_list(%L)$$, :'b'), 'bound to A and B: B is served');
RESET ROLE;
SELECT ok(openrisk.revoke_tenant('openrisk_test_bound', :'a') AND openrisk.revoke_tenant('openrisk_test_bound', :'b'),
          'revoke_tenant removes the bindings');
SET ROLE openrisk_test_bound;
SELECT lives_ok(format($$SELECT openrisk.risk_list(%L)$$, gen_random_uuid()), 'unbound again: any tenant');
RESET ROLE;

-- superusers are never restricted, even when a binding names them
SELECT lives_ok(format($$SELECT openrisk.risk_list(%L)$$, :'b'), 'the superuser reads B');

DELETE FROM openrisk.tenant_bindings WHERE role::text LIKE 'openrisk_test_%';
REVOKE openrisk_test_bound FROM openrisk_test_member;
SELECT * FROM finish();
