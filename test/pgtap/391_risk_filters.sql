-- test/pgtap/391_risk_filters.sql -- risk_list's filters (owner, tag,
-- framework, score range, heat-map cell, creation range) against a plain
-- SQL oracle: every page, walked by cursor, and the total, cached and
-- uncached; the totals read from the aggregates equal counting; each
-- filter is served by an index; every bad value is a 22023 that says
-- what is wrong; a cursor only continues the filters it came from; and
-- the CSV export selects exactly what the list does.

\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(23 + 23 + 23 + 5 + 16 + 3 + 5);

SELECT t.tenant('filters A') AS a \gset
SELECT t.tenant('filters B') AS b \gset
SELECT t.populate(:'a', 60) AS ra \gset
SELECT t.populate(:'b', 10) AS rb \gset
-- owners, frameworks, creation days and a deleted risk to filter on;
-- tenant B gets the same owner and tag, which must never show up in A
UPDATE openrisk.risks SET owner = (ARRAY['alice@x', 'bob@x', NULL])[1 + abs(hashtext(id::text)) % 3],
       frameworks = (ARRAY['{ISO27001}', '{NIST,ISO27001}', '{}'])[1 + abs(hashtext(title)) % 3]::text[],
       created_at = now() - (abs(hashtext(id::text)) % 400) * interval '1 day' - interval '1 hour'
 WHERE tenant_id = :'a';
UPDATE openrisk.risks SET owner = 'alice@x', frameworks = '{NIST}' WHERE tenant_id = :'b';
SELECT openrisk.risk_delete(:'a', :'ra') AS deleted \gset

-- The filter combinations: name and risk_list's named arguments.
CREATE OR REPLACE FUNCTION t.filter_cases()
RETURNS TABLE (name text, args jsonb) LANGUAGE sql AS $$
    SELECT n, a::jsonb FROM (VALUES ('owner', '{"owner": "alice@x"}'), ('owner unknown', '{"owner": "nobody"}'),
           ('tag', '{"tag": "t1"}'), ('tag of every risk', '{"tag": "fixture"}'),
           ('framework', '{"framework": "NIST"}'), ('min_score', '{"min_score": "9"}'),
           ('max_score', '{"max_score": "4.5"}'), ('score range', '{"min_score": "4", "max_score": "12"}'),
           ('impact', '{"impact": "3"}'), ('probability', '{"probability": "2"}'),
           ('heat-map cell', '{"impact": "2", "probability": "1"}'),
           ('created_after', '{"created_after": "' || to_char(now() - interval '100 days', 'YYYY-MM-DD') || '"}'),
           ('created_before', '{"created_before": "' || to_char(now() - interval '100 days', 'YYYY-MM-DD"T"HH24:MI:SSOF') || '"}'),
           ('creation range', '{"created_after": "' || to_char(now() - interval '300 days', 'YYYY-MM-DD') ||
                              '", "created_before": "' || to_char(now() - interval '30 days', 'YYYY-MM-DD') || '"}'),
           ('cell and creation range', '{"impact": "3", "created_after": "' || to_char(now() - interval '200 days', 'YYYY-MM-DD') || '"}'),
           ('severity and creation range', '{"severity": "low", "created_before": "' || to_char(now() - interval '50 days', 'YYYY-MM-DD') || '"}'),
           ('status and cell (counted)', '{"status": "draft", "impact": "1"}'),
           ('owner and tag', '{"owner": "bob@x", "tag": "t2"}'),
           ('tag and framework and q', '{"tag": "fixture", "framework": "ISO27001", "q": "phishing"}'),
           ('everything', '{"owner": "alice@x", "tag": "fixture", "framework": "ISO27001", "min_score": "1",
                            "max_score": "30", "created_after": "2000-01-01", "severity": "LOW"}'),
           ('sorted by title', '{"owner": "alice@x", "sort_by": "title", "sort_dir": "asc"}'),
           ('sorted by created_at', '{"tag": "t3", "sort_by": "created_at", "sort_dir": "asc"}'),
           ('sorted by impact, cell', '{"probability": "3", "sort_by": "impact", "sort_dir": "desc"}')
) v(n, a)
$$;

-- An instant as the API reads it: a bare date is midnight UTC.
CREATE OR REPLACE FUNCTION t.instant(v text) RETURNS timestamptz LANGUAGE sql AS $$
    SELECT CASE WHEN length(v) = 10 THEN (v || ' 00:00+00')::timestamptz ELSE v::timestamptz END
$$;

-- The oracle: the obvious query over the table.
CREATE OR REPLACE FUNCTION t.filter_oracle(tenant uuid, f jsonb) RETURNS uuid[] LANGUAGE plpgsql AS $$
DECLARE
    ids uuid[];
    sort_by text := coalesce(f ->> 'sort_by', 'score');
    dir text := coalesce(f ->> 'sort_dir', 'desc');
BEGIN
    EXECUTE format($q$SELECT coalesce(array_agg(id ORDER BY %1$I %2$s, id %2$s), '{}') FROM openrisk.risks
                      WHERE tenant_id = $1 AND deleted_at IS NULL
                        AND ($2 ->> 'owner' IS NULL OR owner = $2 ->> 'owner')
                        AND ($2 ->> 'tag' IS NULL OR ($2 ->> 'tag') = ANY (tags))
                        AND ($2 ->> 'framework' IS NULL OR ($2 ->> 'framework') = ANY (frameworks))
                        AND ($2 ->> 'min_score' IS NULL OR score >= ($2 ->> 'min_score')::numeric)
                        AND ($2 ->> 'max_score' IS NULL OR score <= ($2 ->> 'max_score')::numeric)
                        AND ($2 ->> 'impact' IS NULL OR impact = ($2 ->> 'impact')::int)
                        AND ($2 ->> 'probability' IS NULL OR probability = ($2 ->> 'probability')::int)
                        AND ($2 ->> 'created_after' IS NULL OR created_at >= t.instant($2 ->> 'created_after'))
                        AND ($2 ->> 'created_before' IS NULL OR created_at < t.instant($2 ->> 'created_before'))
                        AND ($2 ->> 'severity' IS NULL OR severity = upper($2 ->> 'severity'))
                        AND ($2 ->> 'status' IS NULL OR status = upper($2 ->> 'status'))
                        AND ($2 ->> 'q' IS NULL OR strpos(lower(title), lower($2 ->> 'q')) > 0)$q$, sort_by, dir)
    INTO ids USING tenant, f;
    RETURN ids;
END
$$;

-- risk_list with the case's arguments (page_size 7, after a cursor).
CREATE OR REPLACE FUNCTION t.filtered_call(tenant uuid, f jsonb, after text) RETURNS text LANGUAGE sql AS $$
    SELECT format('SELECT * FROM openrisk.risk_list_meta(%L, 1, 7, %L, %L, %L, %L, %L, %L, %L, %L, %L, %L, %L, %L, %L, %L, %L)',
                  tenant, f ->> 'severity', f ->> 'status', f ->> 'q', coalesce(f ->> 'sort_by', 'score'),
                  coalesce(f ->> 'sort_dir', 'desc'), after, f ->> 'owner', f ->> 'tag', f ->> 'framework',
                  f ->> 'min_score', f ->> 'max_score', f ->> 'impact', f ->> 'probability',
                  f ->> 'created_after', f ->> 'created_before')
$$;

-- Walk the whole list by cursor, each page read twice through the cache
-- (the second read must hit and equal the first) and once uncached.
-- Returns NULL when all is well, else what went wrong.
CREATE OR REPLACE FUNCTION t.filter_walk(tenant uuid, f jsonb, cached boolean) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    want uuid[] := t.filter_oracle(tenant, f);
    got uuid[] := '{}';
    after text;
    r openrisk.cache_fetch_result;
    again openrisk.cache_fetch_result;
BEGIN
    LOOP
        IF cached THEN
            EXECUTE t.filtered_call(tenant, f, after) INTO r;
            EXECUTE t.filtered_call(tenant, f, after) INTO again;
            IF NOT again.hit OR again.value IS DISTINCT FROM r.value THEN
                RETURN 'the second read was no cache hit, or differed';
            END IF;
            IF r.value IS DISTINCT FROM (t.uncached(t.filtered_call(tenant, f, after))).value THEN
                RETURN 'cached differs from uncached';
            END IF;
        ELSE
            r := t.uncached(t.filtered_call(tenant, f, after));
        END IF;
        IF (r.value::json ->> 'total')::int <> cardinality(want) THEN
            RETURN format('total %s, want %s', r.value::json ->> 'total', cardinality(want));
        END IF;
        got := got || t.page_ids(r.value::json);
        after := r.value::json ->> 'next';
        EXIT WHEN after IS NULL OR cardinality(got) > 500;
    END LOOP;
    RETURN CASE WHEN got = want THEN NULL ELSE format('ids %s, want %s', got, want) END;
END
$$;

SELECT is(t.filter_walk(:'a', c.args, false), NULL, format('%s: uncached pages = plain SQL', c.name))
  FROM t.filter_cases() c;
SELECT is(t.filter_walk(:'a', c.args, true), NULL, format('%s: cached pages = uncached = plain SQL', c.name))
  FROM t.filter_cases() c;
-- the export selects the same rows in the same order
CREATE OR REPLACE FUNCTION t.export_ids(tenant uuid, f jsonb) RETURNS uuid[] LANGUAGE plpgsql AS $$
DECLARE
    got uuid[] := '{}';
    batch record;
    after text;
BEGIN
    LOOP
        SELECT * INTO batch FROM openrisk.risk_export_page(tenant, f ->> 'severity', f ->> 'status', f ->> 'q',
            coalesce(f ->> 'sort_by', 'score'), coalesce(f ->> 'sort_dir', 'desc'), f ->> 'owner', f ->> 'tag',
            f ->> 'framework', f ->> 'min_score', f ->> 'max_score', f ->> 'impact', f ->> 'probability',
            f ->> 'created_after', f ->> 'created_before', after, 5);
        got := got || ARRAY(SELECT substr(l, 2, 36)::uuid FROM regexp_split_to_table(batch.csv, E'\r\n') l
                             WHERE l LIKE '"%');
        after := batch.next;
        EXIT WHEN after IS NULL OR cardinality(got) > 500;
    END LOOP;
    RETURN got;
END
$$;
SELECT is(t.export_ids(:'a', c.args), t.filter_oracle(:'a', c.args), format('%s: the export = plain SQL', c.name))
  FROM t.filter_cases() c;

-- Totals from the aggregates equal counting.
SELECT is((openrisk._risk_list_total(:'a', NULL, NULL, NULL, openrisk._risk_filter_arg(NULL, NULL, NULL, NULL, NULL, '2', '1', NULL, NULL))).total,
          (SELECT count(*) FROM openrisk.risks WHERE tenant_id = :'a' AND deleted_at IS NULL AND impact = 2 AND probability = 1),
          'a heat-map cell is totalled from the aggregates, exactly');
SELECT is((openrisk._risk_list_total(:'a', 'LOW', NULL, NULL,
              openrisk._risk_filter_arg(NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                                        (current_date - 250)::text, (current_date - 20)::text || 'T06:30:00Z'))).total,
          (SELECT count(*) FROM openrisk.risks WHERE tenant_id = :'a' AND deleted_at IS NULL AND severity = 'LOW'
              AND created_at >= t.instant((current_date - 250)::text)
              AND created_at < t.instant((current_date - 20)::text || 'T06:30:00Z')),
          'severity with a creation range: aggregates window difference, exactly');
-- and the tool can tell: a planted aggregate delta makes it differ (rolled back)
BEGIN;
INSERT INTO openrisk.agg_delta (tenant_id, family, day, v)
VALUES (:'a', 'r', current_date, openrisk._vec(openrisk._rv_len(), ARRAY[21 + 5 * (2 - 1) + 1 - 1], ARRAY[5::bigint]));
SELECT isnt((openrisk._risk_list_total(:'a', NULL, NULL, NULL, openrisk._risk_filter_arg(NULL, NULL, NULL, NULL, NULL, '2', '1', NULL, NULL))).total,
            (SELECT count(*) FROM openrisk.risks WHERE tenant_id = :'a' AND deleted_at IS NULL AND impact = 2 AND probability = 1),
            'a planted aggregate delta shows in that total (it does read the aggregates)');
ROLLBACK;
SELECT is((openrisk.risk_list(:'b', owner => 'alice@x') ->> 'total')::int, 10, 'tenant B: its own alice@x risks');
SELECT ok(NOT (SELECT bool_or((e ->> 'tenant_id')::uuid <> :'b') FROM json_array_elements(
              openrisk.risk_list(:'b', 1, 200, owner => 'alice@x', framework => 'NIST') -> 'items') e),
          'and only its own, though tenant A has alice@x risks too');

-- Bad values: 22023, saying what is wrong.
SELECT throws_ok(format('SELECT openrisk.risk_list(%L, %s => %L)', :'a', c.arg, c.val), '22023', c.msg,
                 format('%s = %s is a 22023', c.arg, c.val))
  FROM (VALUES ('min_score', 'abc', 'min_score must be a number between 0 and 100 (got ''abc'')'),
               ('max_score', '1e3', 'max_score must be a number between 0 and 100 (got ''1e3'')'),
               ('min_score', '-1', 'min_score must be a number between 0 and 100 (got ''-1'')'),
               ('max_score', 'NaN', 'max_score must be a number between 0 and 100 (got ''NaN'')'),
               ('impact', '0', 'impact must be an integer between 1 and 5 (got ''0'')'),
               ('impact', '2.5', 'impact must be an integer between 1 and 5 (got ''2.5'')'),
               ('probability', '6', 'probability must be an integer between 1 and 5 (got ''6'')'),
               ('probability', 'three', 'probability must be an integer between 1 and 5 (got ''three'')'),
               ('created_after', 'yesterday', NULL), ('created_after', '2026-02-30', NULL),
               ('created_before', '01/02/2026', NULL), ('created_before', '2026-01-01T25:00:00Z', NULL),
               ('owner', repeat('x', 256), 'owner must be at most 255 characters (got 256)'),
               ('tag', repeat('t', 201), 'tag must be at most 200 characters (got 201)'),
               ('framework', repeat('f', 201), 'framework must be at most 200 characters (got 201)'),
               ('created_after', 'infinity', NULL)) c(arg, val, msg);
SELECT throws_ok(format('SELECT openrisk.risk_list(%L, min_score => %L, max_score => %L)', :'a', '10', '5'), '22023',
                 'min_score (10) must not be greater than max_score (5)', 'an inverted score range is a 22023');
SELECT throws_ok(format('SELECT openrisk.risk_list(%L, created_after => %L, created_before => %L)', :'a', '2026-02-01', '2026-01-01'),
                 '22023', 'created_after must not be later than created_before', 'an inverted creation range is a 22023');
SELECT throws_ok(format('SELECT openrisk.risk_list(%L, 1, 3, tag => %L, after => %L)', :'a', 't2',
                        openrisk.risk_list(:'a', 1, 3, tag => 't1') ->> 'next'),
                 '22023', 'after does not belong to this list', 'a cursor of another filter is refused');

-- Every filter can be read from its index: in a tenant of 5000 risks of
-- which a few match each filter, counting them reads that index (with
-- sequential scans off: this table is small enough to be read whole).
SELECT t.tenant('filters big') AS big \gset
INSERT INTO openrisk.risks (tenant_id, title, impact, probability, owner, tags, frameworks, created_at)
SELECT :'big', 'bulk ' || g, 1 + g % 5, 1 + g % 3,
       CASE WHEN g % 500 = 0 THEN 'rare@x' ELSE 'common@x' END,
       CASE WHEN g % 500 = 0 THEN '{rare,bulk}' ELSE '{bulk}' END::text[],
       CASE WHEN g % 500 = 0 THEN '{RARE}' ELSE '{ISO27001}' END::text[],
       now() - (g % 1000) * interval '1 day' - interval '1 hour'
  FROM generate_series(1, 5000) g;
-- VACUUM too: GIN cost estimates read the index metapage statistics that
-- only VACUUM refreshes, so without it the plans below depend on whether
-- autovacuum happened to run.
VACUUM ANALYZE openrisk.risks;
CREATE OR REPLACE FUNCTION t.count_plan(tenant uuid, f openrisk.risk_filter) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    plan text;
BEGIN
    SET LOCAL enable_seqscan = off;
    EXECUTE 'EXPLAIN (FORMAT JSON) SELECT count(*) FROM openrisk.risks r WHERE r.tenant_id = $1 AND r.deleted_at IS NULL'
            || openrisk._risk_list_conditions(false, false, NULL, f)
    INTO plan USING tenant, NULL::text, NULL::text, NULL::text, NULL::text, NULL::uuid, NULL::integer,
                    NULL::bigint, f.owner, f.tag, f.framework, f.min_score, f.max_score, f.impact, f.probability,
                    f.created_after, f.created_before;
    RETURN plan;
END
$$;
SELECT ok(t.count_plan(:'big', openrisk._risk_filter_arg(c.o, c.t, c.f, c.mn, NULL, NULL, NULL, c.ca, NULL))
          LIKE '%"Index Name": "' || c.idx || '"%', format('%s is read through %s', c.name, c.idx))
  FROM (VALUES ('owner', 'rare@x', NULL, NULL, NULL, NULL, 'risks_filter_members'),
               ('tag', NULL, 'rare', NULL, NULL, NULL, 'risks_filter_members'),
               ('framework', NULL, NULL, 'RARE', NULL, NULL, 'risks_filter_members'),
               ('min_score', NULL, NULL, NULL, '15', NULL, 'risks_list_score'),
               ('created_after', NULL, NULL, NULL, NULL, (current_date - 5)::text, 'risks_list_created_at'))
       c(name, o, t, f, mn, ca, idx);

SELECT * FROM finish();
