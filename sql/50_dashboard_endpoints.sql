-- sql/50_dashboard_endpoints.sql -- the cached dashboard endpoints:
-- dashboard_stats, dashboard_matrix, dashboard_timeline.
--
-- Why this file exists: the dashboard is the most read page of OpenRisk
-- and its figures cover the whole tenant.  They are read from the
-- aggregates kept at commit (25_aggregates.sql): a miss costs a few dozen
-- rows, not a scan of 100k risks, so it stays cheap even when writes keep
-- invalidating it.  55_dashboard_oracles.sql computes the same JSON from
-- the rows; the tests hold the two equal.  Same three layers as
-- 40_risk_list.sql: _compute (the answer), _meta (validate, key,
-- cache_fetch_meta), plain (the JSON).
--
-- Days are UTC days: a cached answer is shared by every session, so it
-- cannot depend on the caller's TimeZone setting.

-- dashboard_stats over the live risks created in the period window.
-- global_risk_score = max(0, 100 - 4 x average score), 100 when empty;
-- mitigation_completion = % of the window's mitigations that are DONE.
-- The 'r' vector's layout is explained in 25_aggregates.sql.
CREATE FUNCTION openrisk._dashboard_stats_compute(p_tenant uuid, p_period text)
RETURNS json LANGUAGE plpgsql STABLE
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
DECLARE
    v bigint[] := openrisk._risk_window(p_tenant, openrisk._period_start(p_period));
    sev bigint[] := ARRAY(SELECT v[2 + 4 * (s - 1)] + v[3 + 4 * (s - 1)] + v[4 + 4 * (s - 1)] + v[5 + 4 * (s - 1)]
                            FROM generate_series(1, 4) s ORDER BY s);
    st bigint[] := ARRAY(SELECT v[2 + t] + v[6 + t] + v[10 + t] + v[14 + t]
                           FROM generate_series(0, 3) t ORDER BY t);
    avg_score numeric := CASE WHEN v[1] > 0 THEN v[18] / 100.0 / v[1] END;
BEGIN
    RETURN json_build_object(
        'period', p_period,
        'total_risks', v[1],
        'by_severity', json_build_object('LOW', sev[1], 'MEDIUM', sev[2], 'HIGH', sev[3], 'CRITICAL', sev[4]),
        'by_status', json_build_object('DRAFT', st[1], 'ACTIVE', st[2], 'MITIGATED', st[3], 'ACCEPTED', st[4]),
        'high_risks', sev[3] + sev[4],
        'mitigated_risks', st[3],
        'average_score', coalesce(round(avg_score, 2), 0),
        'global_risk_score', CASE WHEN v[1] = 0 THEN 100 ELSE greatest(0, round(100 - 4 * avg_score, 2)) END,
        'mitigations_total', v[19],
        'mitigations_done', v[20],
        'mitigation_completion', CASE WHEN v[19] = 0 THEN 0 ELSE round(100.0 * v[20] / v[19], 2) END);
END
$$;

CREATE FUNCTION openrisk.dashboard_stats_meta(tenant uuid, period text DEFAULT 'month')
RETURNS openrisk.cache_fetch_result LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
DECLARE
    v_period text := openrisk._period_arg(period);
BEGIN
    PERFORM openrisk._tenant_arg(tenant);
    RETURN openrisk.cache_fetch_meta(openrisk._key_dashboard_stats(tenant, v_period), NULL,
                                     'SELECT openrisk._dashboard_stats_compute($1, $2)', tenant, v_period);
END
$$;

CREATE FUNCTION openrisk.dashboard_stats(tenant uuid, period text DEFAULT 'month')
RETURNS json LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (openrisk.dashboard_stats_meta(tenant, period)).value::json;
END
$$;

-- dashboard_matrix: every live risk on the 5x5 grid, with the average
-- score per cell (null for an empty cell) for the heat map.
CREATE FUNCTION openrisk._dashboard_matrix_compute(p_tenant uuid)
RETURNS json LANGUAGE plpgsql STABLE
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
DECLARE
    v bigint[] := openrisk._risk_window(p_tenant, '-infinity');
BEGIN
    RETURN json_build_object('total', v[1], 'grid', openrisk._matrix_grid(v, false),
                             'average_scores', openrisk._matrix_grid(v, true));
END
$$;

CREATE FUNCTION openrisk.dashboard_matrix_meta(tenant uuid)
RETURNS openrisk.cache_fetch_result LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM openrisk._tenant_arg(tenant);
    RETURN openrisk.cache_fetch_meta(openrisk._key_dashboard_matrix(tenant), NULL,
                                     'SELECT openrisk._dashboard_matrix_compute($1)', tenant);
END
$$;

CREATE FUNCTION openrisk.dashboard_matrix(tenant uuid)
RETURNS json LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (openrisk.dashboard_matrix_meta(tenant)).value::json;
END
$$;

-- dashboard_timeline: one point per UTC day of the last `days` days.  Each
-- history event moves three running figures -- live risks, open risks
-- (DRAFT or ACTIVE) and total score; a day's point shows its own counts
-- and the running figures at its end.  The running figures start from the
-- sum of every event before the window ('h' vectors, 25_aggregates.sql).
CREATE FUNCTION openrisk._dashboard_timeline_compute(p_tenant uuid, p_days integer)
RETURNS json LANGUAGE plpgsql STABLE
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
DECLARE
    last_day date := openrisk._utc_day(now());
    first_day date := openrisk._utc_day(now()) - (p_days - 1);
    before bigint[] := coalesce(openrisk._history_before(p_tenant, first_day),
                                openrisk._vec(openrisk._hv_len(), '{}', '{}'));
BEGIN
    RETURN (
        SELECT json_build_object('days', p_days, 'points', json_agg(json_build_object(
                   'date', r.day, 'new', r.new, 'mitigated', r.mitigated, 'deleted', r.deleted,
                   'open', r.open,
                   'average_score', CASE WHEN r.live > 0 THEN round(r.score_cents / 100.0 / r.live, 2) END)
                   ORDER BY r.day))
          FROM (SELECT d.day::date AS day,
                       coalesce(h.v[1], 0) AS new, coalesce(h.v[2], 0) AS mitigated,
                       coalesce(h.v[3], 0) AS deleted,
                       before[4] + sum(coalesce(h.v[4], 0)) OVER w AS live,
                       before[5] + sum(coalesce(h.v[5], 0)) OVER w AS open,
                       before[6] + sum(coalesce(h.v[6], 0)) OVER w AS score_cents
                  FROM generate_series(first_day, last_day, interval '1 day') d(day)
                  LEFT JOIN openrisk._history_days(p_tenant, first_day, last_day) h ON h.day = d.day::date
                WINDOW w AS (ORDER BY d.day)) r);
END
$$;

CREATE FUNCTION openrisk.dashboard_timeline_meta(tenant uuid, days integer DEFAULT 30)
RETURNS openrisk.cache_fetch_result LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM openrisk._tenant_arg(tenant);
    IF days IS NULL OR days NOT BETWEEN 1 AND 365 THEN
        PERFORM openrisk._bad_parameter(format('days must be between 1 and 365 (got %s)',
                                               coalesce(days::text, 'null')));
    END IF;
    RETURN openrisk.cache_fetch_meta(openrisk._key_dashboard_timeline(tenant, days), NULL,
                                     'SELECT openrisk._dashboard_timeline_compute($1, $2)', tenant, days);
END
$$;

CREATE FUNCTION openrisk.dashboard_timeline(tenant uuid, days integer DEFAULT 30)
RETURNS json LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (openrisk.dashboard_timeline_meta(tenant, days)).value::json;
END
$$;

REVOKE ALL ON FUNCTION openrisk._dashboard_stats_compute(uuid, text),
    openrisk._dashboard_matrix_compute(uuid),
    openrisk._dashboard_timeline_compute(uuid, integer) FROM PUBLIC;
