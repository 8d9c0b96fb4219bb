-- test/pgtap/393_sql_functions.sql -- every LANGUAGE sql function of the
-- extension is inlined by the planner where it is called, except the few
-- named below.
--
-- Why: PostgreSQL runs an SQL function it cannot inline through the SQL
-- function executor, which parses and plans the body on EVERY call (no
-- plan is kept across calls).  A key builder declared IMMUTABLE whose
-- body uses a STABLE operator (concat_ws, text || uuid) is never inlined,
-- and under the peak mix such calls were 15 % of PostgreSQL's CPU.  Hot
-- helpers are therefore either inlinable SQL or PL/pgSQL (plans kept per
-- session); this test catches a new one that is neither.
--
-- How: each function is called on the columns of a materialised CTE (so
-- its arguments are not constants to fold) under EXPLAIN VERBOSE; an
-- inlined call no longer appears in the plan.

\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(1);

CREATE OR REPLACE FUNCTION t.inlined(f regprocedure) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    cols text;
    args text;
    plan text := '';
    line text;
BEGIN
    SELECT string_agg(format('NULL::%s AS a%s', format_type(a.t, NULL), a.i), ', ' ORDER BY a.i),
           string_agg(format('x.a%s', a.i), ', ' ORDER BY a.i)
      INTO cols, args
      FROM unnest((SELECT proargtypes::oid[] FROM pg_proc WHERE oid = f)) WITH ORDINALITY a(t, i);
    FOR line IN EXECUTE format('EXPLAIN (VERBOSE, COSTS OFF) WITH x AS MATERIALIZED (SELECT %s) SELECT %s(%s) FROM x',
                               coalesce(cols, '1 AS a0'), f::regproc, coalesce(args, '')) LOOP
        plan := plan || line;
    END LOOP;
    RETURN strpos(plan, (SELECT proname FROM pg_proc WHERE oid = f) || '(') = 0;
END
$$;

SELECT is(ARRAY(SELECT f::text FROM (SELECT p.oid::regprocedure AS f
                                       FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
                                      WHERE p.pronamespace = 'openrisk'::regnamespace AND l.lanname = 'sql'
                                        AND NOT p.proretset OFFSET 0) x
                 WHERE NOT t.inlined(f) ORDER BY 1),
          -- not inlinable, and never on a request's path: the from-scratch
          -- oracles (tests, aggregates_verify), a helper that writes
          -- (asset links), the demo catalogue, an administrator's call
          ARRAY['openrisk._dashboard_matrix_scan(uuid)', 'openrisk._dashboard_stats_scan(uuid,text)',
                'openrisk._dashboard_timeline_scan(uuid,integer)', 'openrisk._demo_connectors()',
                'openrisk._risk_matrix_scan(uuid,text)', 'openrisk._set_risk_assets(uuid,uuid,uuid[])',
                'openrisk.revoke_tenant(regrole,uuid)'],
          'every SQL function is inlined where it is called, except the oracles and the admin/demo helpers');

SELECT * FROM finish();
