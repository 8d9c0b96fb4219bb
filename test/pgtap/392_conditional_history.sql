-- test/pgtap/392_conditional_history.sql -- conditional writes and the
-- audit trail, in SQL: a risk's ETag is the engine's hash of risk_get's
-- body, the same whether GET served it from the cache or computed it,
-- whatever the session's TimeZone; a write with a stale If-Match changes
-- nothing and reports the current ETag; a write returns the ETag the next
-- GET carries; every history row says who wrote and for which request;
-- risk_history pages one risk's trail.  (The lock that makes the check
-- race-free is shown by extension/specs/if_match.spec.)

\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(40);

SELECT t.tenant('conditional A') AS a \gset
SELECT t.tenant('conditional B') AS b \gset
SELECT t.populate(:'a', 3) AS r \gset
SELECT t.populate(:'b', 3) AS rb \gset

-- ETags: GET's, cached or not, is cache_etag of the body.
SELECT etag AS e0, value AS v0 FROM openrisk.risk_get_meta(:'a', :'r') \gset
SELECT is(openrisk.cache_etag(:'v0'), :'e0', 'cache_etag(body) is the ETag risk_get_meta reports');
SELECT ok((openrisk.risk_get_meta(:'a', :'r')).hit AND (openrisk.risk_get_meta(:'a', :'r')).etag = :'e0',
          'a cache hit reports the same ETag');
SET timezone = 'America/New_York';
SELECT is((t.uncached(format('SELECT * FROM openrisk.risk_get_meta(%L, %L)', :'a', :'r'))).etag, :'e0',
          'computed in another TimeZone: the same bytes, the same ETag');
RESET timezone;

-- A stale If-Match: nothing changes, the current ETag comes back.
SELECT openrisk.risk_update(:'a', :'r', '{"title": "moved on"}') IS NOT NULL AS moved \gset
SELECT etag AS e1, value AS v1 FROM openrisk.risk_get_meta(:'a', :'r') \gset
SELECT count(*) AS h1 FROM openrisk.risk_history WHERE risk_id = :'r' \gset
SELECT isnt(:'e1'::text, :'e0', 'an update changes the ETag');
SELECT results_eq(format($$SELECT outcome, etag, value IS NULL FROM openrisk.risk_update_meta(%L, %L, '{"title": "lost update"}', '"%s"')$$,
                         :'a', :'r', :'e0'),
                  format($$VALUES ('precondition_failed', %L, true)$$, :'e1'),
                  'PATCH with the old ETag: precondition_failed, with the current ETag and no body');
SELECT is((SELECT title FROM openrisk.risks WHERE id = :'r'), 'moved on', 'and the row is unchanged');
SELECT is((openrisk.risk_get_meta(:'a', :'r')).value, :'v1', 'and so is what GET shows');
SELECT is((SELECT count(*) FROM openrisk.risk_history WHERE risk_id = :'r'), :'h1'::bigint, 'and no history row was written');
SELECT is((openrisk.risk_delete_meta(:'a', :'r', format('"%s"', :'e0'))).outcome, 'precondition_failed',
          'DELETE with the old ETag: precondition_failed');
SELECT ok((SELECT deleted_at IS NULL FROM openrisk.risks WHERE id = :'r'), 'and the risk is still there');

-- The current ETag: the write goes ahead and returns the ETag the next GET has.
SELECT outcome AS o2, etag AS e2, value AS v2
  FROM openrisk.risk_update_meta(:'a', :'r', '{"title": "with If-Match"}', format('"%s"', :'e1'), 'alice', 'req-2') \gset
SELECT is(:'o2'::text, 'updated', 'PATCH with the current ETag: updated');
SELECT is(:'e2', openrisk.cache_etag(:'v2'), 'the returned ETag is that of the returned body');
SELECT is((openrisk.risk_get_meta(:'a', :'r')).etag, :'e2', 'and the next GET (a miss) carries it');
SELECT is((openrisk.risk_get_meta(:'a', :'r')).etag, :'e2', 'and the one after (a hit) too');
SELECT is((openrisk.risk_update_meta(:'a', :'r', '{"impact": 2}', format('W/"%s"', :'e2'))).outcome, 'precondition_failed',
          'a weak tag never matches (If-Match compares strongly)');
SELECT is((openrisk.risk_update_meta(:'a', :'r', '{"impact": 2}', format('"0000000000000000", "%s"', :'e2'))).outcome, 'updated',
          'a list naming the current ETag matches');
SELECT is((openrisk.risk_update_meta(:'a', :'r', '{"impact": 3}', '*')).outcome, 'updated', '* matches any existing risk');
SELECT etag AS e3 FROM openrisk.risk_get_meta(:'a', :'r') \gset
SELECT is((openrisk.risk_update_meta(:'a', :'r', '{"impact": 4}', :'e3')).outcome, 'updated',
          'a bare ETag (as risk_get_meta gives it) is accepted from SQL');
SELECT is((openrisk.risk_update_meta(:'a', gen_random_uuid(), '{"impact": 4}', '*')).outcome, 'not_found',
          'an unknown risk is not_found, If-Match or not');
SELECT is((openrisk.risk_update_meta(:'b', :'r', '{"impact": 4}')).outcome, 'not_found', 'so is another tenant''s');
SELECT throws_ok(format($$SELECT openrisk.risk_update_meta(%L, %L, '{}', 'abc')$$, :'a', :'r'), '22023',
                 'If-Match must be * or a list of quoted ETags, e.g. "0123456789abcdef"', 'a malformed If-Match is a 22023');

-- What GET shows beyond the row is part of the version: a new mitigation
-- makes the ETag stale.
SELECT etag AS e4 FROM openrisk.risk_get_meta(:'a', :'r') \gset
INSERT INTO openrisk.mitigations (risk_id, tenant_id, title) VALUES (:'r', :'a', 'patch');
SELECT is((openrisk.risk_update_meta(:'a', :'r', '{"impact": 5}', format('"%s"', :'e4'))).outcome, 'precondition_failed',
          'a mitigation added since the GET makes its ETag stale');
SELECT is((openrisk.risk_get_meta(:'a', :'r')).etag,
          (openrisk.risk_update_meta(:'a', :'r', '{"impact": 5}', format('"%s"', :'e4'))).etag,
          'and the 412''s ETag is what GET now returns');

-- The audit trail.
SELECT is((SELECT array[actor, request_id] FROM openrisk.risk_history WHERE risk_id = :'r' ORDER BY id DESC OFFSET 3 LIMIT 1),
          ARRAY['alice', 'req-2'], 'a write with an actor and a request id records both');
SELECT is((SELECT changed_fields FROM openrisk.risk_history WHERE risk_id = :'r' ORDER BY id DESC OFFSET 3 LIMIT 1),
          ARRAY['title'], 'and which fields a client sees changed');
-- another role than the session's, to tell current_user from session_user
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'openrisk_test_auditor') THEN
        CREATE ROLE openrisk_test_auditor SUPERUSER NOLOGIN;
    END IF;
END $$;
SET ROLE openrisk_test_auditor;
SELECT openrisk.risk_update(:'a', :'r', '{"owner": "o1"}') IS NOT NULL AS x \gset
SELECT is((SELECT actor FROM openrisk.risk_history WHERE risk_id = :'r' ORDER BY id DESC LIMIT 1), session_user::text,
          'a write through the API functions without an actor records session_user (not their owner)');
UPDATE openrisk.risks SET title = 'plain sql' WHERE id = :'r';
SELECT is((SELECT actor FROM openrisk.risk_history WHERE risk_id = :'r' ORDER BY id DESC LIMIT 1), 'openrisk_test_auditor',
          'a plain SQL write records current_user');
RESET ROLE;
SELECT is((SELECT request_id FROM openrisk.risk_history WHERE risk_id = :'r' ORDER BY id DESC LIMIT 1), NULL,
          'and no request id');
SET openrisk.actor = 'nightly import';
UPDATE openrisk.risks SET title = 'imported' WHERE id = :'r';
SELECT is((SELECT actor FROM openrisk.risk_history WHERE risk_id = :'r' ORDER BY id DESC LIMIT 1), 'nightly import',
          'a session that sets openrisk.actor records it');
SELECT openrisk.risk_update(:'a', :'r', '{"status": "active"}') IS NOT NULL AS x \gset
SELECT is((SELECT actor FROM openrisk.risk_history WHERE risk_id = :'r' ORDER BY id DESC LIMIT 1), 'nightly import',
          'and the API functions honour it too');
RESET openrisk.actor;
BEGIN;
SELECT (openrisk.risk_update_meta(:'a', :'r', '{"description": "x"}', NULL, 'bob', 'req-9')).outcome AS x \gset
UPDATE openrisk.risks SET description = 'y' WHERE id = :'r';
COMMIT;
SELECT results_eq(format('SELECT actor, request_id FROM openrisk.risk_history WHERE risk_id = %L ORDER BY id DESC LIMIT 2', :'r'),
                  format('VALUES (%L, NULL), (%L, %L)', current_user, 'bob', 'req-9'),
                  'an actor argument lasts for its write only: the next statement of the transaction is not bob''s');
SELECT throws_ok(format($$SELECT openrisk.risk_update_meta(%L, %L, '{}', NULL, %L)$$, :'a', :'r', repeat('x', 201)), '22023',
                 'actor must be at most 200 characters (got 201)', 'an over-long actor is a 22023');

-- risk_history: newest first, paged, cached, per tenant.
SELECT count(*) AS hn FROM openrisk.risk_history WHERE risk_id = :'r' \gset
SELECT is((openrisk.risk_history(:'a', :'r', 1, 3) ->> 'total')::bigint, :'hn'::bigint, 'total counts the risk''s history rows');
SELECT is((SELECT array_agg(e ->> 'actor') FROM json_array_elements(openrisk.risk_history(:'a', :'r', 1, 3) -> 'items') e),
          ARRAY[current_user::text, 'bob', 'nightly import'], 'page 1: the newest three, newest first');
SELECT is((SELECT array_agg(e ->> 'change_type') FROM json_array_elements(openrisk.risk_history(:'a', :'r', 3, 3) -> 'items') e),
          (SELECT array_agg(change_type ORDER BY id DESC) FROM (SELECT * FROM openrisk.risk_history WHERE risk_id = :'r'
                                                               ORDER BY id DESC OFFSET 6 LIMIT 3) h),
          'page 3 = rows 7-9, newest first');
SELECT ok((openrisk.risk_history_meta(:'a', :'r', 1, 3)).hit, 'a page is cached');
SELECT is(openrisk.risk_history(:'b', :'r')::text, NULL, 'another tenant''s risk has no history for you (404)');
SELECT is(openrisk.risk_history(:'a', gen_random_uuid())::text, NULL, 'nor has an unknown id');
SELECT openrisk.risk_delete(:'a', :'r') AS deleted \gset
SELECT is((SELECT e ->> 'change_type' FROM json_array_elements(openrisk.risk_history(:'a', :'r', 1, 1) -> 'items') e),
          'DELETE', 'a deleted risk keeps its history, the deletion first');
SELECT throws_ok(format('SELECT openrisk.risk_history(%L, %L, 0)', :'a', :'r'), '22023', NULL, 'page 0 is a 22023');

SELECT * FROM finish();
