-- sql/50_dashboard_endpoints.sql -- the cached dashboard endpoints:
-- dashboard_stats, dashboard_matrix, dashboard_timeline.
--
-- Why this file exists: the dashboard is the most expensive page of
-- OpenRisk (whole-tenant aggregates) and the most read, so it gains most
-- from the cache; and its numbers must be real: OpenRisk's timeline was a
-- random walk, ours is replayed from risk_history.  Same three layers as
-- 40_risk_endpoints.sql: _compute (the truth), _meta (validate, key,
-- cache_fetch_meta), plain (the JSON).
--
-- Days are UTC days: a cached answer is shared by every session, so it
-- cannot depend on the caller's TimeZone setting.

-- dashboard_stats over the live risks created in the period window.
-- global_risk_score = max(0, 100 - 4 x average score), 100 when empty;
-- mitigation_completion = % of the window's mitigations that are DONE.
CREATE FUNCTION openrisk._dashboard_stats_compute(p_tenant uuid, p_period text)
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

CREATE FUNCTION openrisk.dashboard_stats_meta(tenant uuid, period text DEFAULT 'month')
RETURNS openrisk.cache_fetch_result LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
DECLARE
    v_period text := openrisk._period_arg(period);
BEGIN
    PERFORM openrisk._require(tenant, 'tenant');
    RETURN openrisk.cache_fetch_meta(concat_ws(':', 'dashboard:stats', tenant, v_period), NULL,
                                     'SELECT openrisk._dashboard_stats_compute($1, $2)', tenant, v_period);
END
$$;

CREATE FUNCTION openrisk.dashboard_stats(tenant uuid, period text DEFAULT 'month')
RETURNS json LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
    SELECT (openrisk.dashboard_stats_meta(tenant, period)).value::json
$$;

-- dashboard_matrix: every live risk on the 5x5 grid, with the average
-- score per cell (null for an empty cell) for the heat map.
CREATE FUNCTION openrisk._dashboard_matrix_compute(p_tenant uuid)
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

CREATE FUNCTION openrisk.dashboard_matrix_meta(tenant uuid)
RETURNS openrisk.cache_fetch_result LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM openrisk._require(tenant, 'tenant');
    RETURN openrisk.cache_fetch_meta('dashboard:matrix:' || tenant, NULL,
                                     'SELECT openrisk._dashboard_matrix_compute($1)', tenant);
END
$$;

CREATE FUNCTION openrisk.dashboard_matrix(tenant uuid)
RETURNS json LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
    SELECT (openrisk.dashboard_matrix_meta(tenant)).value::json
$$;

-- dashboard_timeline: one point per UTC day of the last `days` days.
-- Each history row is an event moving three running sums -- live risks,
-- open risks (DRAFT or ACTIVE) and total score -- from their state before
-- the event to their state after it; the sums at the end of a day give
-- that day's open count and average score.  One pass over the tenant's
-- history, no per-day reconstruction of every risk.
CREATE FUNCTION openrisk._dashboard_timeline_compute(p_tenant uuid, p_days integer)
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

CREATE FUNCTION openrisk.dashboard_timeline_meta(tenant uuid, days integer DEFAULT 30)
RETURNS openrisk.cache_fetch_result LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM openrisk._require(tenant, 'tenant');
    IF days IS NULL OR days NOT BETWEEN 1 AND 365 THEN
        PERFORM openrisk._bad_parameter(format('days must be between 1 and 365 (got %s)',
                                               coalesce(days::text, 'null')));
    END IF;
    RETURN openrisk.cache_fetch_meta(concat_ws(':', 'dashboard:timeline', tenant, days), NULL,
                                     'SELECT openrisk._dashboard_timeline_compute($1, $2)', tenant, days);
END
$$;

CREATE FUNCTION openrisk.dashboard_timeline(tenant uuid, days integer DEFAULT 30)
RETURNS json LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
    SELECT (openrisk.dashboard_timeline_meta(tenant, days)).value::json
$$;

REVOKE ALL ON FUNCTION openrisk._dashboard_stats_compute(uuid, text),
    openrisk._dashboard_matrix_compute(uuid),
    openrisk._dashboard_timeline_compute(uuid, integer) FROM PUBLIC;
