-- sql/55_dashboard_oracles.sql -- the dashboards computed from the rows:
-- the test oracle of the aggregate-based endpoints.
--
-- Why this file exists: 50_dashboard_endpoints.sql answers from the
-- aggregates kept at commit (25_aggregates.sql), which is only right if
-- every trigger is.  These functions compute the same JSON the slow, plain
-- way -- scanning the tenant's risks, mitigations and history -- and the
-- tests (test/pgtap/37_aggregates.sql, the randomized property test)
-- require the two to be equal after every kind of write.  They are not
-- used by any endpoint; an operator can call them to cross-check a
-- dashboard by hand.  Days are UTC days.

-- Counts and average score per impact x probability cell of the live
-- risks created since a moment; all 25 cells, empty ones with count 0.
CREATE FUNCTION openrisk._matrix_cells(p_tenant uuid, p_since timestamptz)
RETURNS TABLE (impact integer, probability integer, risks bigint, average_score numeric)
LANGUAGE sql STABLE
AS $$
    SELECT i, p, coalesce(c.n, 0), round(c.avg_score, 2)
      FROM generate_series(1, 5) i
     CROSS JOIN generate_series(1, 5) p
      LEFT JOIN (SELECT r.impact, r.probability, count(*) AS n, avg(r.score) AS avg_score
                   FROM openrisk.risks r
                  WHERE r.tenant_id = p_tenant AND r.deleted_at IS NULL AND r.created_at >= p_since
                  GROUP BY r.impact, r.probability) c ON c.impact = i AND c.probability = p
$$;

-- risk_matrix: a dense 5x5 grid; grid[impact-1][probability-1] = count.
CREATE FUNCTION openrisk._risk_matrix_scan(p_tenant uuid, p_period text)
RETURNS json LANGUAGE sql STABLE
AS $$
    SELECT json_build_object(
        'period', p_period,
        'total', sum(row_total),
        'grid', json_agg(counts ORDER BY impact))
      FROM (SELECT c.impact, sum(c.risks) AS row_total,
                   json_agg(c.risks ORDER BY c.probability) AS counts
              FROM openrisk._matrix_cells(p_tenant, openrisk._period_start(p_period)) c
             GROUP BY c.impact) g
$$;

-- dashboard_stats over the live risks created in the period window.
-- global_risk_score = max(0, 100 - 4 x average score), 100 when empty;
-- mitigation_completion = % of the window's mitigations that are DONE.
CREATE FUNCTION openrisk._dashboard_stats_scan(p_tenant uuid, p_period text)
RETURNS json LANGUAGE sql STABLE
AS $$
    SELECT json_build_object(
        'period', p_period,
        'total_risks', s.total,
        'by_severity', json_build_object('LOW', s.low, 'MEDIUM', s.medium, 'HIGH', s.high,
                                         'CRITICAL', s.critical),
        'by_status', json_build_object('DRAFT', s.draft, 'ACTIVE', s.active,
                                       'MITIGATED', s.mitigated, 'ACCEPTED', s.accepted),
        'high_risks', s.high + s.critical,
        'mitigated_risks', s.mitigated,
        'average_score', coalesce(round(s.avg_score, 2), 0),
        'global_risk_score', CASE WHEN s.total = 0 THEN 100
                                  ELSE greatest(0, round(100 - 4 * s.avg_score, 2)) END,
        'mitigations_total', m.total,
        'mitigations_done', m.done,
        'mitigation_completion', CASE WHEN m.total = 0 THEN 0
                                      ELSE round(100.0 * m.done / m.total, 2) END)
      FROM (SELECT count(*) AS total,
                   count(*) FILTER (WHERE r.severity = 'LOW') AS low,
                   count(*) FILTER (WHERE r.severity = 'MEDIUM') AS medium,
                   count(*) FILTER (WHERE r.severity = 'HIGH') AS high,
                   count(*) FILTER (WHERE r.severity = 'CRITICAL') AS critical,
                   count(*) FILTER (WHERE r.status = 'DRAFT') AS draft,
                   count(*) FILTER (WHERE r.status = 'ACTIVE') AS active,
                   count(*) FILTER (WHERE r.status = 'MITIGATED') AS mitigated,
                   count(*) FILTER (WHERE r.status = 'ACCEPTED') AS accepted,
                   avg(r.score) AS avg_score
              FROM openrisk.risks r
             WHERE r.tenant_id = p_tenant AND r.deleted_at IS NULL
               AND r.created_at >= openrisk._period_start(p_period)) s,
           (SELECT count(*) AS total, count(*) FILTER (WHERE mi.status = 'DONE') AS done
              FROM openrisk.mitigations mi
              JOIN openrisk.risks r ON r.id = mi.risk_id
             WHERE mi.tenant_id = p_tenant AND r.deleted_at IS NULL
               AND r.created_at >= openrisk._period_start(p_period)) m
$$;

-- dashboard_matrix: every live risk on the 5x5 grid, with the average
-- score per cell (null for an empty cell) for the heat map.
CREATE FUNCTION openrisk._dashboard_matrix_scan(p_tenant uuid)
RETURNS json LANGUAGE sql STABLE
AS $$
    SELECT json_build_object(
        'total', sum(row_total),
        'grid', json_agg(counts ORDER BY impact),
        'average_scores', json_agg(scores ORDER BY impact))
      FROM (SELECT c.impact, sum(c.risks) AS row_total,
                   json_agg(c.risks ORDER BY c.probability) AS counts,
                   json_agg(c.average_score ORDER BY c.probability) AS scores
              FROM openrisk._matrix_cells(p_tenant, '-infinity') c
             GROUP BY c.impact) g
$$;

-- dashboard_timeline: one point per UTC day of the last `days` days.
-- Each history row is an event moving three running sums -- live risks,
-- open risks (DRAFT or ACTIVE) and total score -- from their state before
-- the event to their state after it; the sums at the end of a day give
-- that day's open count and average score.  One pass over the tenant's
-- history, no per-day reconstruction of every risk.
CREATE FUNCTION openrisk._dashboard_timeline_scan(p_tenant uuid, p_days integer)
RETURNS json LANGUAGE sql STABLE
AS $$
    WITH bounds AS (
        SELECT (now() AT TIME ZONE 'UTC')::date - (p_days - 1) AS first_day,
               (now() AT TIME ZONE 'UTC')::date AS last_day
    ), events AS (
        SELECT greatest((h.changed_at AT TIME ZONE 'UTC')::date, b.first_day - 1) AS day,
               h.change_type, h.status, h.old_status,
               (h.change_type <> 'DELETE')::int - (h.change_type <> 'CREATE')::int AS live_delta,
               CASE WHEN h.change_type <> 'DELETE' AND h.status IN ('DRAFT', 'ACTIVE') THEN 1 ELSE 0 END
             - CASE WHEN h.change_type <> 'CREATE' AND h.old_status IN ('DRAFT', 'ACTIVE') THEN 1 ELSE 0 END
                   AS open_delta,
               CASE WHEN h.change_type <> 'DELETE' THEN h.score ELSE 0 END
             - CASE WHEN h.change_type <> 'CREATE' THEN h.old_score ELSE 0 END AS score_delta
          FROM openrisk.risk_history h, bounds b
         WHERE h.tenant_id = p_tenant
    ), per_day AS (
        -- Everything before the window is folded into day first_day - 1.
        SELECT day,
               count(*) FILTER (WHERE change_type = 'CREATE') AS new,
               count(*) FILTER (WHERE change_type <> 'DELETE' AND status = 'MITIGATED'
                                  AND old_status IS DISTINCT FROM 'MITIGATED') AS mitigated,
               count(*) FILTER (WHERE change_type = 'DELETE') AS deleted,
               sum(live_delta) AS live_delta, sum(open_delta) AS open_delta,
               sum(score_delta) AS score_delta
          FROM events GROUP BY day
    ), running AS (
        SELECT d.day::date AS day,
               coalesce(p.new, 0) AS new, coalesce(p.mitigated, 0) AS mitigated,
               coalesce(p.deleted, 0) AS deleted,
               sum(coalesce(p.live_delta, 0)) OVER w AS live,
               sum(coalesce(p.open_delta, 0)) OVER w AS open,
               sum(coalesce(p.score_delta, 0)) OVER w AS score_sum
          FROM bounds b
         CROSS JOIN generate_series(b.first_day - 1, b.last_day, interval '1 day') AS d(day)
          LEFT JOIN per_day p ON p.day = d.day::date
        WINDOW w AS (ORDER BY d.day)
    )
    SELECT json_build_object(
        'days', p_days,
        'points', json_agg(json_build_object(
            'date', r.day, 'new', r.new, 'mitigated', r.mitigated, 'deleted', r.deleted,
            'open', r.open,
            'average_score', CASE WHEN r.live > 0 THEN round(r.score_sum / r.live, 2) END)
            ORDER BY r.day))
      FROM running r, bounds b
     WHERE r.day >= b.first_day
$$;

REVOKE ALL ON FUNCTION openrisk._matrix_cells(uuid, timestamptz), openrisk._risk_matrix_scan(uuid, text),
    openrisk._dashboard_stats_scan(uuid, text), openrisk._dashboard_matrix_scan(uuid),
    openrisk._dashboard_timeline_scan(uuid, integer) FROM PUBLIC;
