-- test/pgtap/38_risk_list.sql -- risk_list against a plain SQL oracle for
-- every whitelisted sort, direction and filter: numbered pages, cursor
-- pages and totals; an index serves every order without sorting; bad
-- cursors are refused with 22023 and never followed.
--
-- The oracle is the obvious query: the tenant's live risks with the
-- filters, ORDER BY <column> <dir>, id <dir> (ties broken by id in the
-- same direction, as docs/CACHING.md says).

\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(7 * 2 * 4 + 7 * 2 * 4 + 6 + 8 + 4);

SELECT t.tenant('list A') AS a \gset
SELECT t.tenant('list B') AS b \gset
SELECT t.populate(:'a', 45) AS ra \gset
SELECT t.populate(:'b', 5) AS rb \gset
-- ties and spread: equal scores exist already; vary statuses, titles with
-- LIKE metacharacters, and timestamps (some equal)
UPDATE openrisk.risks SET status = (ARRAY['DRAFT', 'ACTIVE', 'MITIGATED', 'ACCEPTED'])[1 + abs(hashtext(id::text)) % 4]
 WHERE tenant_id = :'a';
UPDATE openrisk.risks SET title = title || ' 100% sure_thing' WHERE tenant_id = :'a' AND impact = 3;
UPDATE openrisk.risks SET created_at = '2026-01-01', updated_at = '2026-01-02' WHERE tenant_id = :'a' AND probability = 2;
SELECT openrisk.risk_delete(:'a', :'ra') AS deleted \gset

-- The oracle: every id of the list, in order.
CREATE OR REPLACE FUNCTION t.list_oracle(tenant uuid, sort_by text, dir text, sev text, st text, q text)
RETURNS uuid[] LANGUAGE plpgsql AS $$
DECLARE
    ids uuid[];
BEGIN
    EXECUTE format('SELECT array_agg(id ORDER BY %1$I %2$s, id %2$s) FROM openrisk.risks
                     WHERE tenant_id = $1 AND deleted_at IS NULL
                       AND ($2 IS NULL OR severity = $2) AND ($3 IS NULL OR status = $3)
                       AND ($4 IS NULL OR strpos(lower(title), lower($4)) > 0)', sort_by, dir)
    INTO ids USING tenant, sev, st, q;
    RETURN coalesce(ids, '{}');
END
$$;

-- Numbered pages 1..3 of size 7 and the total, against the oracle.
CREATE OR REPLACE FUNCTION t.pages_match(tenant uuid, sort_by text, dir text, sev text, st text, q text)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    want uuid[] := t.list_oracle(tenant, sort_by, dir, sev, st, q);
    reply json;
BEGIN
    FOR p IN 1..3 LOOP
        reply := openrisk.risk_list(tenant, p, 7, sev, st, q, sort_by, dir);
        IF t.page_ids(reply) IS DISTINCT FROM coalesce(want[(p - 1) * 7 + 1:p * 7], '{}')
           OR (reply ->> 'total')::int <> cardinality(want) THEN
            RAISE WARNING 'page % of % % % % %: % vs %', p, sort_by, dir, sev, st, q, t.page_ids(reply), want;
            RETURN false;
        END IF;
    END LOOP;
    RETURN true;
END
$$;

-- The whole list walked with `next` cursors, page size 4.
CREATE OR REPLACE FUNCTION t.cursor_walk_matches(tenant uuid, sort_by text, dir text, sev text, st text, q text)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    want uuid[] := t.list_oracle(tenant, sort_by, dir, sev, st, q);
    got uuid[] := '{}';
    reply json := openrisk.risk_list(tenant, 1, 4, sev, st, q, sort_by, dir);
BEGIN
    LOOP
        got := got || t.page_ids(reply);
        EXIT WHEN reply ->> 'next' IS NULL OR cardinality(got) > 500;
        reply := openrisk.risk_list(tenant, 1, 4, sev, st, q, sort_by, dir, reply ->> 'next');
        IF reply ->> 'page' IS NOT NULL THEN
            RETURN false;               -- cursor pages carry no page number
        END IF;
    END LOOP;
    RETURN got = want;
END
$$;

-- Numbered pages for every sort x direction x filter combination.
SELECT ok(t.pages_match(:'a', c.name, d, f.sev, f.st, NULL),
          format('pages 1-3 and total: sort %s %s, severity %s, status %s', c.name, d, f.sev, f.st))
  FROM openrisk._risk_sort_columns() c, unnest(ARRAY['asc', 'desc']) d,
       (VALUES (NULL, NULL), ('LOW', NULL), (NULL, 'ACTIVE'), ('LOW', 'DRAFT')) f(sev, st)
 ORDER BY c.name, d, f.sev NULLS FIRST, f.st NULLS FIRST;

-- The same lists walked by cursor.
SELECT ok(t.cursor_walk_matches(:'a', c.name, d, f.sev, f.st, NULL),
          format('cursor walk: sort %s %s, severity %s, status %s', c.name, d, f.sev, f.st))
  FROM openrisk._risk_sort_columns() c, unnest(ARRAY['asc', 'desc']) d,
       (VALUES (NULL, NULL), ('LOW', NULL), (NULL, 'ACTIVE'), ('LOW', 'DRAFT')) f(sev, st)
 ORDER BY c.name, d, f.sev NULLS FIRST, f.st NULLS FIRST;

-- q: a substring of the title, case-insensitive, LIKE metacharacters literal.
SELECT ok(t.pages_match(:'a', 'score', 'desc', NULL, NULL, '100%'), 'q with a literal % matches only titles containing it');
SELECT ok(t.pages_match(:'a', 'title', 'asc', NULL, NULL, 'SURE_thing'), 'q with a literal _ , any case');
SELECT ok(t.pages_match(:'a', 'score', 'desc', NULL, NULL, 'risk'), 'q matching most rows (page read along the sort index)');
SELECT ok(t.cursor_walk_matches(:'a', 'created_at', 'asc', NULL, 'ACTIVE', 'phishing'), 'q with a filter, walked by cursor');
SELECT is((openrisk.risk_list(:'a', 1, 5, NULL, NULL, '_') ->> 'total')::int,
          (SELECT count(*)::int FROM openrisk.risks WHERE tenant_id = :'a' AND deleted_at IS NULL AND title LIKE '%\_%'),
          'q "_" counts titles with an underscore, not every title');
SELECT is(openrisk.risk_list(:'a', 1, 5, NULL, NULL, 'risk') ->> 'total_exact', 'true',
          'a count under the match limit is exact');

-- More matches than _match_limit(): the count stops there and says so;
-- the pages are still the oracle's (the page plan does not depend on the
-- count being exact).
SELECT t.tenant('list C') AS c \gset
INSERT INTO openrisk.risks (tenant_id, title, impact, probability)
SELECT :'c', 'common term ' || i, 1 + i % 5, 1 + (i / 5) % 5
  FROM generate_series(1, openrisk._match_limit() + 5) i;
SELECT is(openrisk.risk_list(:'c', 1, 5, NULL, NULL, 'COMMON') ->> 'total', openrisk._match_limit()::text,
          'past the match limit, total is the limit');
SELECT is(openrisk.risk_list(:'c', 1, 5, NULL, NULL, 'common') ->> 'total_exact', 'false',
          'past the match limit, total_exact is false');
SELECT is(t.page_ids(openrisk.risk_list(:'c', 3, 7, NULL, NULL, 'common', 'title', 'desc')),
          (t.list_oracle(:'c', 'title', 'desc', NULL, NULL, 'common'))[15:21],
          'past the match limit, a numbered page is still the oracle''s');

-- Every order (and filter) is an index range: with sorting disabled, no
-- plan of a page query needs a Sort node (one would mean no index yields
-- the order).
CREATE OR REPLACE FUNCTION t.page_plan_sorts(sort_by text, dir text, sev boolean, st boolean, after boolean)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    plan json;
BEGIN
    SET LOCAL enable_sort = off;
    EXECUTE 'PREPARE t_page(uuid, text, text, text, text, uuid, integer, bigint) AS '
            || openrisk._risk_list_page_sql(sort_by, dir, sev, st, NULL::text, after);
    EXECUTE format('EXPLAIN (FORMAT JSON) EXECUTE t_page(%L, %L, %L, NULL, %L, %L, 20, 0)',
                   gen_random_uuid(), 'LOW', 'DRAFT',
                   CASE sort_by WHEN 'title' THEN 'm' WHEN 'status' THEN 'DRAFT'
                                WHEN 'created_at' THEN '2026-01-01' WHEN 'updated_at' THEN '2026-01-01'
                                ELSE '3' END, gen_random_uuid()) INTO plan;
    DEALLOCATE t_page;
    RETURN plan::text LIKE '%"Node Type": "Sort"%';
END
$$;
SELECT is(array_agg(format('%s %s sev=%s st=%s after=%s', c.name, d, sev, st, after)) FILTER (
              WHERE t.page_plan_sorts(c.name, d, sev, st, after)), NULL,
          'no page query of any sort, direction, filter or cursor needs a Sort')
  FROM openrisk._risk_sort_columns() c, unnest(ARRAY['asc', 'desc']) d,
       unnest(ARRAY[false, true]) sev, unnest(ARRAY[false, true]) st, unnest(ARRAY[false, true]) after;

-- Bad cursors: 22023 with a clear message, never another list's rows.
SELECT openrisk.risk_list(:'a', 1, 3) ->> 'next' AS cur_a \gset
SELECT openrisk.risk_list(:'b', 1, 3) ->> 'next' AS cur_b \gset
SELECT throws_ok(format('SELECT openrisk.risk_list(%L, 1, 3, NULL, NULL, NULL, %L, %L, %L)', :'a', 'score', 'desc', 'not a cursor!'),
                 '22023', 'after is not a valid cursor', 'garbage after: 22023');
SELECT throws_ok(format('SELECT openrisk.risk_list(%L, 1, 3, NULL, NULL, NULL, %L, %L, %L)', :'a', 'score', 'desc', 'AAAAAAAA'),
                 '22023', 'after is not a valid cursor', 'well-formed base64 that is no cursor: 22023');
SELECT throws_ok(format('SELECT openrisk.risk_list(%L, 1, 3, NULL, NULL, NULL, %L, %L, %L)', :'a', 'score', 'desc', :'cur_b'),
                 '22023', 'after does not belong to this list', 'another tenant''s cursor: 22023');
SELECT throws_ok(format('SELECT openrisk.risk_list(%L, 1, 3, NULL, NULL, NULL, %L, %L, %L)', :'a', 'title', 'desc', :'cur_a'),
                 '22023', 'after does not belong to this list', 'another sort''s cursor: 22023');
SELECT throws_ok(format('SELECT openrisk.risk_list(%L, 1, 3, %L, NULL, NULL, %L, %L, %L)', :'a', 'LOW', 'score', 'desc', :'cur_a'),
                 '22023', 'after does not belong to this list', 'another filter''s cursor: 22023');
SELECT throws_ok(format('SELECT openrisk.risk_list(%L, 1, 3, NULL, NULL, NULL, %L, %L, %L)', :'a', 'score', 'desc',
                        overlay(:'cur_a' placing CASE WHEN substr(:'cur_a', 30, 1) = 'A' THEN 'B' ELSE 'A' END from 30 for 1)),
                 '22023', NULL, 'a tampered cursor: 22023');
SELECT throws_ok(format('SELECT openrisk.risk_list(%L, 2, 3, NULL, NULL, NULL, %L, %L, %L)', :'a', 'score', 'desc', :'cur_a'),
                 '22023', 'page and after cannot be combined', 'page 2 with a cursor: 22023');
SELECT is(t.page_ids(openrisk.risk_list(:'a', 1, 3, NULL, NULL, NULL, 'score', 'desc', :'cur_a')),
          (t.list_oracle(:'a', 'score', 'desc', NULL, NULL, NULL))[4:6], 'the genuine cursor continues the list');

SELECT * FROM finish();
