-- test/pgtap/33_bad_input.sql -- every bad argument is refused with its
-- SQLSTATE and a human message, and nothing is cached for an error.

\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(61);

SELECT t.tenant('bad input') AS a \gset
SELECT openrisk.risk_create(:'a', '{"title": "target", "impact": 2, "probability": 2}') ->> 'id' AS r \gset
SELECT stores AS stores_before FROM openrisk.cache_stats \gset

-- Pagination, enums, sort, period, days: 22023.
SELECT throws_ok(format('SELECT openrisk.risk_list(%L, 0)', :'a'), '22023', 'page must be 1 or more (got 0)', 'risk_list page 0');
SELECT throws_ok(format('SELECT openrisk.risk_list(%L, -3)', :'a'), '22023', NULL, 'risk_list negative page');
SELECT throws_ok(format('SELECT openrisk.risk_list(%L, 1, 0)', :'a'), '22023', 'page_size must be between 1 and 200 (got 0)', 'risk_list page_size 0');
SELECT throws_ok(format('SELECT openrisk.risk_list(%L, 1, 201)', :'a'), '22023', NULL, 'risk_list page_size 201');
SELECT throws_ok(format('SELECT openrisk.risk_list(%L, NULL)', :'a'), '22023', NULL, 'risk_list page NULL');
SELECT throws_ok(format('SELECT openrisk.risk_list(%L, severity => %L)', :'a', 'SEVERE'), '22023',
                 'severity must be one of LOW, MEDIUM, HIGH, CRITICAL (got ''SEVERE'')', 'risk_list unknown severity');
SELECT throws_ok(format('SELECT openrisk.risk_list(%L, status => %L)', :'a', 'OPEN'), '22023', NULL, 'risk_list unknown status');
SELECT throws_ok(format('SELECT openrisk.risk_list(%L, sort_by => %L)', :'a', 'score; DROP TABLE openrisk.risks'), '22023', NULL,
                 'risk_list unknown sort column (an injection attempt is just a bad value)');
SELECT throws_ok(format('SELECT openrisk.risk_list(%L, sort_by => %L)', :'a', 'deleted_at'), '22023', NULL, 'risk_list sort on a non-whitelisted column');
SELECT throws_ok(format('SELECT openrisk.risk_list(%L, sort_dir => %L)', :'a', 'sideways'), '22023', NULL, 'risk_list unknown sort direction');
SELECT throws_ok('SELECT openrisk.risk_list(NULL)', '22023', 'tenant is required', 'risk_list without tenant');
SELECT throws_ok(format('SELECT openrisk.risk_search(%L, %L)', :'a', '   '), '22023', 'q is required', 'risk_search blank q');
SELECT throws_ok(format('SELECT openrisk.risk_search(%L, %L)', :'a', repeat('x', 201)), '22023', NULL, 'risk_search q over 200 characters');
SELECT throws_ok(format('SELECT openrisk.risk_search(%L, %L, 1, 500)', :'a', 'x'), '22023', NULL, 'risk_search page_size 500');
SELECT throws_ok(format('SELECT openrisk.risk_matrix(%L, %L)', :'a', 'decade'), '22023',
                 'period must be one of week, month, quarter, year, all (got ''decade'')', 'risk_matrix unknown period');
SELECT throws_ok(format('SELECT openrisk.dashboard_stats(%L, %L)', :'a', 'fortnight'), '22023', NULL, 'dashboard_stats unknown period');
SELECT throws_ok(format('SELECT openrisk.dashboard_stats(%L, NULL)', :'a'), '22023', 'period is required', 'dashboard_stats NULL period');
SELECT throws_ok(format('SELECT openrisk.dashboard_timeline(%L, 0)', :'a'), '22023', 'days must be between 1 and 365 (got 0)', 'dashboard_timeline 0 days');
SELECT throws_ok(format('SELECT openrisk.dashboard_timeline(%L, 366)', :'a'), '22023', NULL, 'dashboard_timeline 366 days');
SELECT throws_ok('SELECT openrisk.dashboard_matrix(NULL)', '22023', NULL, 'dashboard_matrix without tenant');
SELECT throws_ok('SELECT openrisk.connector_list(status => ''retired'')', '22023', NULL, 'connector_list unknown status');
SELECT throws_ok('SELECT openrisk.connector_list(page => 0)', '22023', NULL, 'connector_list page 0');
SELECT throws_ok(format('SELECT openrisk.connector_list(%L)', repeat('c', 101)), '22023', NULL, 'connector_list category over 100 characters');
SELECT throws_ok('SELECT openrisk.connector_get(NULL)', '22023', 'id is required', 'connector_get without id');
SELECT throws_ok(format('SELECT openrisk.app_get(%L, NULL)', :'a'), '22023', NULL, 'app_get without id');

-- Malformed uuids: 22P02 from PostgreSQL's own input function.
SELECT throws_ok('SELECT openrisk.risk_get(''not-a-uuid'', gen_random_uuid())', '22P02', NULL, 'risk_get malformed tenant uuid');
SELECT throws_ok(format('SELECT openrisk.app_get(%L, %L)', :'a', '1234'), '22P02', NULL, 'app_get malformed id');

-- Write bodies.
SELECT throws_ok(format('SELECT openrisk.risk_create(%L, %L)', :'a', '[1, 2]'), '22023', 'the body must be a JSON object', 'risk_create body not an object');
SELECT throws_ok(format('SELECT openrisk.risk_create(%L, %L)', :'a', '{"title": "x",'), '22P02', NULL, 'risk_create malformed JSON');
SELECT throws_ok(format('SELECT openrisk.risk_create(%L, %L)', :'a', '{"title": "x", "impact": 1, "probability": 1, "colour": "red"}'),
                 '22023', 'unknown field colour in the body', 'risk_create unknown field');
SELECT throws_ok(format('SELECT openrisk.risk_create(%L, %L)', :'a', '{"title": "x", "impact": "high", "probability": 1}'),
                 '22023', 'impact must be a JSON number (got string)', 'risk_create impact of the wrong type');
SELECT throws_ok(format('SELECT openrisk.risk_create(%L, %L)', :'a', '{"title": "x", "impact": 2.5, "probability": 1}'),
                 '22023', 'impact must be an integer between 1 and 5', 'risk_create fractional impact');
SELECT throws_ok(format('SELECT openrisk.risk_create(%L, %L)', :'a', '{"title": 7, "impact": 1, "probability": 1}'),
                 '22023', NULL, 'risk_create title of the wrong type');
SELECT throws_ok(format('SELECT openrisk.risk_create(%L, %L)', :'a', '{"title": "x", "impact": 1, "probability": 1, "tags": ["a", 1]}'),
                 '22023', 'tags must be an array of strings', 'risk_create tags with a number');
SELECT throws_ok(format('SELECT openrisk.risk_create(%L, %L)', :'a', '{"title": "x", "impact": 1, "probability": 1, "status": "ACTIVE"}'),
                 '22023', 'status cannot be set when creating a risk: new risks are DRAFT', 'risk_create with a status');
SELECT throws_ok(format('SELECT openrisk.risk_create(%L, %L)', :'a', '{"impact": 1, "probability": 1}'),
                 '23502', 'title is required', 'risk_create without title');
SELECT throws_ok(format('SELECT openrisk.risk_create(%L, %L)', :'a', format('{"title": "%s", "impact": 1, "probability": 1}', repeat('t', 256))),
                 '23514', 'title must be between 1 and 255 characters', 'risk_create title of 256 characters');
SELECT throws_ok(format('SELECT openrisk.risk_create(%L, %L)', :'a', '{"title": "x", "impact": 0, "probability": 1}'),
                 '23514', 'impact must be an integer between 1 and 5', 'risk_create impact 0');
SELECT throws_ok(format('SELECT openrisk.risk_create(%L, %L)', :'a', '{"title": "x", "impact": 6, "probability": 1}'),
                 '23514', 'impact must be an integer between 1 and 5', 'risk_create impact 6');
SELECT throws_ok(format('SELECT openrisk.risk_create(%L, %L)', :'a', '{"title": "x", "impact": 1, "probability": 6}'),
                 '23514', 'probability must be an integer between 1 and 5', 'risk_create probability 6');
SELECT throws_ok(format('SELECT openrisk.risk_create(%L, %L)', gen_random_uuid(), '{"title": "x", "impact": 1, "probability": 1}'),
                 '23503', 'the tenant does not exist', 'risk_create for an unknown tenant');
SELECT throws_ok(format('SELECT openrisk.risk_create(%L, %L)', :'a', format('{"title": "x", "impact": 1, "probability": 1, "asset_ids": ["%s"]}', gen_random_uuid())),
                 '23503', 'every asset_ids entry must be an existing asset of the same tenant', 'risk_create linking an asset of no tenant');
SELECT throws_ok(format('SELECT openrisk.risk_create(%L, %L)', :'a', '{"title": "x", "impact": 1, "probability": 1, "asset_ids": ["nope"]}'),
                 '22023', 'asset_ids must be an array of asset ids (UUIDs)', 'risk_create asset_ids entry not a uuid: our sentence, not the cast''s');
SELECT throws_ok(format('SELECT openrisk.risk_create(%L, %L)', :'a', '{"title": "x", "impact": 1e30, "probability": 1}'),
                 '22023', 'impact must be an integer between 1 and 5', 'risk_create impact far out of range: no integer overflow text');
SELECT throws_ok(format('SELECT openrisk.risk_update(%L, %L, %L)', :'a', :'r', '{"status": "DONE"}'),
                 '23514', 'status must be one of DRAFT, ACTIVE, MITIGATED, ACCEPTED', 'risk_update unknown status');
SELECT throws_ok(format('SELECT openrisk.risk_update(%L, %L, %L)', :'a', :'r', '{"title": null}'),
                 '23502', 'title is required', 'risk_update clearing the title');
SELECT throws_ok(format('SELECT openrisk.risk_update(%L, %L, %L)', :'a', :'r', '{"id": "x"}'),
                 '22023', 'unknown field id in the body', 'risk_update of a field that is not updatable');

-- Nothing was stored by any of the calls above, and the target is intact.
SELECT is((SELECT stores FROM openrisk.cache_stats), :'stores_before'::bigint, 'no error stored anything in the cache');
SELECT is(openrisk.risk_get(:'a', :'r') ->> 'title', 'target', 'the failed updates changed nothing');

-- Tenant-scoped invalidation (POST /cache/invalidate): inside one's own
-- families only; foreign patterns 42501, malformed ones 22023.
SELECT t.tenant('scope other') AS other \gset
SELECT lives_ok(format('SELECT openrisk.cache_invalidate_tenant(%L, %L)', :'a', openrisk._family(openrisk._kp_risk_list(:'a'))),
                'own family prefix: accepted');
SELECT lives_ok(format('SELECT openrisk.cache_invalidate_tenant(%L, %L)', :'a', openrisk._key_risk_id(:'a', :'r')),
                'own exact key: accepted');
SELECT lives_ok(format('SELECT openrisk.cache_invalidate_tenant(%L, %L)', :'a', openrisk._kp_dashboard_stats(:'a') || 'month'),
                'own exact dashboard key: accepted');
SELECT throws_ok(format('SELECT openrisk.cache_invalidate_tenant(%L, %L)', :'a', openrisk._family(openrisk._kp_risk_list(:'other'))),
                 '42501', 'pattern may only name your own tenant''s keys', 'another tenant''s family: 42501');
SELECT throws_ok(format('SELECT openrisk.cache_invalidate_tenant(%L, %L)', :'a', p), '42501', NULL,
                 format('%s: 42501', p))
  FROM unnest(ARRAY['*', 'risk:*', 'risk:list:*', 'connector:list:*',
                    'risk:list:' || left(:'a', 35) || '*']) p;
SELECT throws_ok(format('SELECT openrisk.cache_invalidate_tenant(%L, %L)', :'a', p), '22023', NULL,
                 format('malformed %s: 22023', left(p, 30)))
  FROM unnest(ARRAY[openrisk._kp_risk_list(:'a') || 'sc*', openrisk._kp_risk_list(:'a') || '*:x',
                    openrisk._kp_risk_list(:'a') || E'\n']) p;

SELECT * FROM finish();
