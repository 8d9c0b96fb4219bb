-- sql/26_aggregates_admin.sql -- the aggregates checked and rebuilt from
-- the rows: aggregates_verify(tenant), aggregates_rebuild(tenant).
--
-- Why this file exists: 25_aggregates.sql keeps dashboard figures by
-- adding differences at commit.  That is only as good as the triggers;
-- an operator needs to ask "are they right?" and to repair them (after a
-- bulk load with triggers off, a restored table, a bug).  Both answers
-- come from the from-scratch computation -- the same vectors summed over
-- the live risks and the history rows -- which is also what the tests
-- compare the maintained aggregates with.

-- The (grain, bucket) rows a day contributes to.
CREATE FUNCTION openrisk._grains(day date)
RETURNS TABLE (grain "char", bucket date) LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    VALUES ('d'::"char", day), ('m'::"char", date_trunc('month', day)::date), ('t'::"char", '-infinity'::date)
$$;

-- The from-scratch per-day vectors of a tenant, both families.
CREATE FUNCTION openrisk._aggregates_scan(p_tenant uuid)
RETURNS TABLE (family "char", day date, v bigint[]) LANGUAGE sql STABLE
AS $$
    SELECT 'r'::"char", openrisk._utc_day(r.created_at), openrisk._vec_sum(openrisk._risk_row_vec(r, 1))
      FROM openrisk.risks r
     WHERE r.tenant_id = p_tenant AND r.deleted_at IS NULL
     GROUP BY 2
    UNION ALL
    SELECT 'h'::"char", openrisk._utc_day(h.changed_at), openrisk._vec_sum(openrisk._history_row_vec(h, 1))
      FROM openrisk.risk_history h
     WHERE h.tenant_id = p_tenant
     GROUP BY 2
$$;

-- Per (family, grain, bucket): the computed sums, and the deltas (signed:
-- -1 to subtract them).  One statement reads both, so they come from one
-- snapshot.
CREATE FUNCTION openrisk._aggregates_expected(p_tenant uuid, delta_sign integer)
RETURNS TABLE (family "char", grain "char", bucket date, v bigint[]) LANGUAGE sql STABLE
AS $$
    SELECT x.family, g.grain, g.bucket, openrisk._vec_sum(x.v)
      FROM (SELECT s.family, s.day, s.v FROM openrisk._aggregates_scan(p_tenant) s
            UNION ALL
            SELECT d.family, d.day, openrisk._vec_scale(d.v, delta_sign)
              FROM openrisk.agg_delta d WHERE d.tenant_id = p_tenant) x
     CROSS JOIN LATERAL openrisk._grains(x.day) g
     GROUP BY 1, 2, 3
$$;

-- Every (family, grain, bucket) where base + deltas differ from the rows
-- (grain 'd' day, 'm' month, 't' total).  No rows: the aggregates are
-- right.  Missing rows count as zero vectors.
CREATE FUNCTION openrisk.aggregates_verify(tenant uuid)
RETURNS TABLE (family text, grain text, bucket date, stored bigint[], computed bigint[])
LANGUAGE sql STABLE
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
    WITH computed AS (
        -- scratch + 0 x deltas: the deltas only name buckets here
        SELECT e.family, e.grain, e.bucket, e.v FROM openrisk._aggregates_expected(tenant, 0) e
    ), stored AS (
        SELECT s.family, s.grain, s.bucket, openrisk._vec_sum(s.v) AS v FROM (
            SELECT a.family, a.grain, a.bucket, a.v FROM openrisk.agg a WHERE a.tenant_id = tenant
            UNION ALL
            SELECT d.family, g.grain, g.bucket, d.v
              FROM openrisk.agg_delta d CROSS JOIN LATERAL openrisk._grains(d.day) g
             WHERE d.tenant_id = tenant) s
         GROUP BY 1, 2, 3
    )
    SELECT family::text, grain::text, bucket, s.v, c.v
      FROM stored s FULL JOIN computed c USING (family, grain, bucket)
     WHERE coalesce(openrisk._vec_nonzero(openrisk._vec_add(s.v, openrisk._vec_scale(c.v, -1)), 1, 1000),
                    openrisk._vec_nonzero(coalesce(s.v, c.v), 1, 1000))
     ORDER BY 1, 2, 3
$$;

-- Make the base equal to the rows: base := from-scratch sums - the deltas
-- still unfolded (computed in one snapshot, so deltas committed later are
-- still added on top).  Waits for a running fold; writers are never
-- blocked.  Returns the number of base rows written.
CREATE FUNCTION openrisk.aggregates_rebuild(tenant uuid)
RETURNS bigint LANGUAGE plpgsql VOLATILE
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
DECLARE
    written bigint;
BEGIN
    PERFORM openrisk._require(tenant, 'tenant');
    PERFORM pg_advisory_xact_lock(openrisk._aggregates_lock_class(), hashtext(tenant::text));
    WITH target AS (
        SELECT * FROM openrisk._aggregates_expected(tenant, -1)
    ), keys AS (
        SELECT a.family, a.grain, a.bucket FROM openrisk.agg a WHERE a.tenant_id = tenant
        UNION
        SELECT t.family, t.grain, t.bucket FROM target t
    ), upserted AS (
        INSERT INTO openrisk.agg AS a (tenant_id, family, grain, bucket, v)
        SELECT tenant, k.family, k.grain, k.bucket,
               coalesce(t.v, openrisk._vec(CASE k.family WHEN 'r' THEN openrisk._rv_len()
                                                         ELSE openrisk._hv_len() END, '{}', '{}'))
          FROM keys k LEFT JOIN target t USING (family, grain, bucket)
         ORDER BY k.family, k.grain, k.bucket
        ON CONFLICT (tenant_id, family, grain, bucket) DO UPDATE SET v = excluded.v
        RETURNING 1
    )
    SELECT count(*) INTO written FROM upserted;
    DELETE FROM openrisk.agg a
     WHERE a.tenant_id = tenant AND NOT openrisk._vec_nonzero(a.v, 1, cardinality(a.v));
    -- every cached figure of the tenant may have been wrong
    PERFORM openrisk._invalidate(ARRAY[openrisk._family(openrisk._kp_dashboard_stats(tenant)),
                                       openrisk._family(openrisk._kp_dashboard_matrix(tenant)),
                                       openrisk._family(openrisk._kp_dashboard_timeline(tenant)),
                                       openrisk._family(openrisk._kp_risk_matrix(tenant)),
                                       openrisk._family(openrisk._kp_risk_list(tenant))]);
    RETURN written;
END
$$;

REVOKE ALL ON FUNCTION openrisk._grains(date), openrisk._aggregates_scan(uuid),
    openrisk._aggregates_expected(uuid, integer), openrisk.aggregates_verify(uuid),
    openrisk.aggregates_rebuild(uuid) FROM PUBLIC;
