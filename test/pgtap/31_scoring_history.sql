-- test/pgtap/31_scoring_history.sql -- the database keeps scores, severity
-- and risk_history correct whoever writes, and soft-deleted risks vanish
-- from every read.

\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(35);

SELECT t.tenant('scoring') AS a \gset
INSERT INTO openrisk.assets (tenant_id, name, criticality) VALUES
    (:'a', 'low', 'LOW'), (:'a', 'high', 'HIGH'), (:'a', 'crit', 'CRITICAL');
SELECT id AS low FROM openrisk.assets WHERE tenant_id = :'a' AND name = 'low' \gset
SELECT id AS high FROM openrisk.assets WHERE tenant_id = :'a' AND name = 'high' \gset
SELECT id AS crit FROM openrisk.assets WHERE tenant_id = :'a' AND name = 'crit' \gset

-- Create: DRAFT, score = impact x probability, one CREATE history row.
SELECT openrisk.risk_create(:'a', '{"title": "plain", "impact": 3, "probability": 3}') ->> 'id' AS r \gset
SELECT is((SELECT status FROM openrisk.risks WHERE id = :'r'), 'DRAFT', 'a new risk is DRAFT');
SELECT is((SELECT score FROM openrisk.risks WHERE id = :'r'), 9.00, 'no assets: score = impact x probability');
SELECT is((SELECT severity FROM openrisk.risks WHERE id = :'r'), 'LOW', 'score 9 is LOW');
SELECT results_eq(format($$SELECT change_type, score, status FROM openrisk.risk_history WHERE risk_id = %L$$, :'r'),
                  $$VALUES ('CREATE', 9.00, 'DRAFT')$$, 'create writes one CREATE history row');

-- Linking assets multiplies by their average factor.
SELECT is((openrisk.risk_update(:'a', :'r', format('{"asset_ids": ["%s", "%s"]}', :'high', :'crit')::jsonb) ->> 'score')::numeric,
          round(9 * (1.25 + 1.5) / 2, 2), 'linked HIGH + CRITICAL: x average factor 1.375');
SELECT is(json_array_length(openrisk.risk_get(:'a', :'r') -> 'assets'), 2, 'risk_get shows the two linked assets');
SELECT openrisk.risk_update(:'a', :'r', format('{"asset_ids": ["%s"]}', :'low')::jsonb) IS NOT NULL AS relinked \gset
SELECT is((SELECT score FROM openrisk.risks WHERE id = :'r'), 7.20, 'relinking to one LOW asset: 9 x 0.8');

-- An asset's criticality change re-scores the risks linked to it.
UPDATE openrisk.assets SET criticality = 'CRITICAL' WHERE id = :'low';
SELECT is((SELECT score FROM openrisk.risks WHERE id = :'r'), 13.50, 'asset LOW -> CRITICAL re-scores: 9 x 1.5');
SELECT is((SELECT severity FROM openrisk.risks WHERE id = :'r'), 'MEDIUM', 'and severity follows (13.5 is MEDIUM)');
-- Deleting the asset removes the link by cascade and re-scores.
DELETE FROM openrisk.assets WHERE id = :'low';
SELECT is((SELECT score FROM openrisk.risks WHERE id = :'r'), 9.00, 'deleting the only asset: back to impact x probability');

-- Impact / probability changes re-score, by the function or by plain SQL.
SELECT is((openrisk.risk_update(:'a', :'r', '{"impact": 5, "probability": 4}') ->> 'score')::numeric, 20.00,
          'risk_update impact 5 x probability 4 = 20');
SELECT is((SELECT severity FROM openrisk.risks WHERE id = :'r'), 'CRITICAL', 'score 20 is CRITICAL');
UPDATE openrisk.risks SET probability = 3 WHERE id = :'r';
SELECT is((SELECT score FROM openrisk.risks WHERE id = :'r'), 15.00, 'a plain SQL UPDATE re-scores too');
SELECT is((SELECT severity FROM openrisk.risks WHERE id = :'r'), 'HIGH', 'score 15 is HIGH');
UPDATE openrisk.risks SET score = 99 WHERE id = :'r';
SELECT is((SELECT score FROM openrisk.risks WHERE id = :'r'), 15.00, 'a caller cannot write a wrong score');
UPDATE openrisk.risks SET impact = 2, probability = 5 WHERE id = :'r';
SELECT is((SELECT severity FROM openrisk.risks WHERE id = :'r'), 'MEDIUM', 'score 10 is MEDIUM');
SELECT throws_ok(format($$UPDATE openrisk.risks SET tenant_id = gen_random_uuid() WHERE id = %L$$, :'r'),
                 '22023', 'the id and tenant of a risk cannot change', 'a risk cannot move to another tenant');

-- History: one row per update, with the state before.
SELECT openrisk.risk_update(:'a', :'r', '{"status": "mitigated"}') IS NOT NULL AS upd \gset
SELECT results_eq(format($$SELECT change_type, status, old_status FROM openrisk.risk_history
                            WHERE risk_id = %L ORDER BY id DESC LIMIT 1$$, :'r'),
                  $$VALUES ('UPDATE', 'MITIGATED', 'DRAFT')$$, 'an update writes an UPDATE row with the old status');
SELECT is((SELECT count(*)::int FROM openrisk.risk_history WHERE risk_id = :'r' AND change_type = 'UPDATE'),
          (SELECT count(*)::int FROM openrisk.risk_history WHERE risk_id = :'r') - 1,
          'every history row after the CREATE is an UPDATE so far');

-- Soft delete.
SELECT openrisk.risk_create(:'a', '{"title": "doomed ransomware", "impact": 5, "probability": 5}') ->> 'id' AS d \gset
INSERT INTO openrisk.mitigations (risk_id, tenant_id, title, status) VALUES (:'d', :'a', 'm', 'DONE');
SELECT is((openrisk.dashboard_stats(:'a') ->> 'total_risks')::int, 2, 'two live risks before the delete');
SELECT ok(openrisk.risk_delete(:'a', :'d'), 'risk_delete returns true for a live risk');
SELECT ok(NOT openrisk.risk_delete(:'a', :'d'), 'and false the second time');
SELECT ok(NOT openrisk.risk_delete(:'a', gen_random_uuid()), 'and false for an unknown id');
SELECT ok((SELECT deleted_at IS NOT NULL FROM openrisk.risks WHERE id = :'d'), 'the row stays, with deleted_at set');
SELECT is(openrisk.risk_get(:'a', :'d')::text, NULL, 'a deleted risk is not found by risk_get');
SELECT is(openrisk.risk_update(:'a', :'d', '{"title": "zombie"}')::text, NULL, 'nor updated by risk_update');
SELECT is((openrisk.risk_list(:'a') ->> 'total')::int, 1, 'nor listed by risk_list');
SELECT is((openrisk.risk_search(:'a', 'ransomware') ->> 'total')::int, 0, 'nor found by risk_search');
SELECT is((openrisk.risk_matrix(:'a') ->> 'total')::int, 1, 'nor counted by risk_matrix');
SELECT is((openrisk.dashboard_matrix(:'a') ->> 'total')::int, 1, 'nor by dashboard_matrix');
SELECT is((openrisk.dashboard_stats(:'a', 'all') ->> 'total_risks')::int, 1, 'nor by dashboard_stats');
SELECT is((openrisk.dashboard_stats(:'a', 'all') ->> 'mitigations_total')::int, 0, 'nor are its mitigations');
SELECT results_eq(format($$SELECT change_type, old_status FROM openrisk.risk_history WHERE risk_id = %L ORDER BY id$$, :'d'),
                  $$VALUES ('CREATE', NULL), ('DELETE', 'DRAFT')$$, 'a soft delete writes a DELETE history row');
SELECT is((SELECT (p ->> 'deleted')::int FROM json_array_elements(openrisk.dashboard_timeline(:'a', 1) -> 'points') p),
          1, 'the timeline counts the deletion today');
SELECT is((SELECT (p ->> 'new')::int FROM json_array_elements(openrisk.dashboard_timeline(:'a', 1) -> 'points') p),
          2, 'and the two creations');

SELECT * FROM finish();
