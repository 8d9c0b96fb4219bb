-- sql/41_risk_endpoints.sql -- the other cached risk reads: risk_get,
-- risk_search, risk_matrix.
--
-- Why this file exists: these are what the gateway calls for
-- GET /risks/{id}, /risks/search and /risks/matrix; each returns the
-- finished JSON body, so a cache hit costs one shared-memory lookup and no
-- query.  Same three layers as 40_risk_list.sql (_compute / _meta / plain).
-- Each miss has a bounded cost: one risk by primary key; a search over at
-- most _search_candidates() index matches; a matrix read from the
-- aggregates.

-- risk_get: one live risk with its mitigations and linked assets; NULL
-- when it does not exist, is deleted, or belongs to another tenant.
-- This body is the risk's representation: its ETag (the engine's hash of
-- it) is what GET returns and what If-Match is compared with inside the
-- write functions (45_risk_writes.sql), so it must be the same bytes
-- whichever session computes it: timestamps in UTC, whatever TimeZone.
CREATE FUNCTION openrisk._risk_get_compute(p_tenant uuid, p_id uuid)
RETURNS json LANGUAGE plpgsql STABLE
SET timezone = 'UTC'
AS $$
BEGIN
    RETURN (
    SELECT (openrisk._risk_json(r)::jsonb || jsonb_build_object(
            'mitigations', coalesce((
                SELECT jsonb_agg(jsonb_build_object(
                           'id', m.id, 'title', m.title, 'status', m.status, 'progress', m.progress,
                           'assignee', m.assignee, 'due_date', m.due_date,
                           'created_at', m.created_at, 'updated_at', m.updated_at)
                       ORDER BY m.created_at, m.id)
                  FROM openrisk.mitigations m WHERE m.risk_id = r.id), '[]'::jsonb),
            'assets', coalesce((
                SELECT jsonb_agg(jsonb_build_object(
                           'id', a.id, 'name', a.name, 'type', a.type, 'criticality', a.criticality)
                       ORDER BY a.name, a.id)
                  FROM openrisk.risk_assets ra JOIN openrisk.assets a ON a.id = ra.asset_id
                 WHERE ra.risk_id = r.id), '[]'::jsonb)))::json
          FROM openrisk.risks r
         WHERE r.tenant_id = p_tenant AND r.id = p_id AND r.deleted_at IS NULL);
END
$$;

CREATE FUNCTION openrisk.risk_get_meta(tenant uuid, id uuid)
RETURNS openrisk.cache_fetch_result LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM openrisk._tenant_arg(tenant);
    PERFORM openrisk._require(id, 'id');
    RETURN openrisk.cache_fetch_meta(openrisk._key_risk_id(tenant, id), NULL,
                                     'SELECT openrisk._risk_get_compute($1, $2)', tenant, id);
END
$$;

CREATE FUNCTION openrisk.risk_get(tenant uuid, id uuid)
RETURNS json LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (openrisk.risk_get_meta(tenant, id)).value::json;
END
$$;

-- risk_search: full-text search ('simple' configuration, web-search
-- syntax) over title, description and tags.  Bounded: the GIN index
-- (tenant, search) yields the matches, and at most _match_limit()
-- of them -- in the order the index yields them -- are taken, ranked
-- (ts_rank, then score, then id) and paged.  `total` is how many were
-- taken; `total_exact` is false when the limit was reached (there are
-- more matches: a more specific query ranks all of them).
CREATE FUNCTION openrisk._risk_search_compute(p_tenant uuid, p_q text, p_page integer, p_page_size integer)
RETURNS json LANGUAGE plpgsql STABLE
SET search_path = openrisk, pg_catalog, pg_temp
SET timezone = 'UTC'
AS $$
DECLARE
    tsq tsquery := websearch_to_tsquery('simple', p_q);
    taken bigint;
    items json;
BEGIN
    WITH candidates AS MATERIALIZED (
        SELECT m.id, m.score, ts_rank(m.search, tsq) AS rank
          FROM openrisk.risks m
         WHERE m.tenant_id = p_tenant AND m.deleted_at IS NULL AND m.search @@ tsq
         LIMIT openrisk._match_limit()
    ), page AS (
        SELECT c.id, c.rank, c.score FROM candidates c
         ORDER BY c.rank DESC, c.score DESC, c.id
         LIMIT p_page_size OFFSET (p_page - 1)::bigint * p_page_size
    )
    SELECT (SELECT count(*) FROM candidates),
           (SELECT json_agg(openrisk._risk_json(r) ORDER BY p.rank DESC, p.score DESC, p.id)
              FROM page p JOIN openrisk.risks r ON r.id = p.id)
      INTO taken, items;
    RETURN json_build_object('total', taken, 'total_exact', taken < openrisk._match_limit(),
                             'page', p_page, 'page_size', p_page_size, 'next', NULL::text, 'q', p_q,
                             'items', coalesce(items, '[]'::json));
END
$$;

CREATE FUNCTION openrisk.risk_search_meta(tenant uuid, q text, page integer DEFAULT 1,
                                          page_size integer DEFAULT 20)
RETURNS openrisk.cache_fetch_result LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
DECLARE
    -- The 'simple' configuration folds case, so 'VPN' and 'vpn' are one key.
    v_q text := nullif(lower(btrim(q)), '');
BEGIN
    PERFORM openrisk._tenant_arg(tenant);
    PERFORM openrisk._require(v_q, 'q');
    IF length(v_q) > 200 THEN
        PERFORM openrisk._bad_parameter(format('q must be at most 200 characters (got %s)', length(v_q)));
    END IF;
    PERFORM openrisk._check_page(page, page_size);
    RETURN openrisk.cache_fetch_meta(
        openrisk._key_risk_search(tenant, v_q, page, page_size), NULL,
        'SELECT openrisk._risk_search_compute($1, $2, $3, $4)', tenant, v_q, page, page_size);
END
$$;

CREATE FUNCTION openrisk.risk_search(tenant uuid, q text, page integer DEFAULT 1, page_size integer DEFAULT 20)
RETURNS json LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (openrisk.risk_search_meta(tenant, q, page, page_size)).value::json;
END
$$;

-- The 5x5 impact x probability grid of an 'r' vector: counts, or average
-- scores (NULL for an empty cell), grid[impact-1][probability-1].
CREATE FUNCTION openrisk._matrix_grid(v bigint[], averages boolean)
RETURNS json LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    RETURN (
    SELECT json_agg(row ORDER BY i)
          FROM (SELECT i, json_agg(CASE WHEN NOT averages THEN v[21 + 5 * (i - 1) + p - 1]::numeric
                                        WHEN v[21 + 5 * (i - 1) + p - 1] > 0
                                        THEN round(v[46 + 5 * (i - 1) + p - 1]::numeric / 100
                                                   / v[21 + 5 * (i - 1) + p - 1], 2) END
                                   ORDER BY p) AS row
                  FROM generate_series(1, 5) i, generate_series(1, 5) p
                 GROUP BY i) g);
END
$$;

-- risk_matrix: the dense 5x5 count grid of the live risks created in the
-- period window.
CREATE FUNCTION openrisk._risk_matrix_compute(p_tenant uuid, p_period text)
RETURNS json LANGUAGE plpgsql STABLE
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
DECLARE
    v bigint[] := openrisk._risk_window(p_tenant, openrisk._period_start(p_period));
BEGIN
    RETURN json_build_object('period', p_period, 'total', v[1], 'grid', openrisk._matrix_grid(v, false));
END
$$;

CREATE FUNCTION openrisk.risk_matrix_meta(tenant uuid, period text DEFAULT 'all')
RETURNS openrisk.cache_fetch_result LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
DECLARE
    v_period text := openrisk._period_arg(period);
BEGIN
    PERFORM openrisk._tenant_arg(tenant);
    RETURN openrisk.cache_fetch_meta(openrisk._key_risk_matrix(tenant, v_period), NULL,
                                     'SELECT openrisk._risk_matrix_compute($1, $2)', tenant, v_period);
END
$$;

CREATE FUNCTION openrisk.risk_matrix(tenant uuid, period text DEFAULT 'all')
RETURNS json LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (openrisk.risk_matrix_meta(tenant, period)).value::json;
END
$$;

REVOKE ALL ON FUNCTION openrisk._risk_get_compute(uuid, uuid),
    openrisk._risk_search_compute(uuid, text, integer, integer), openrisk._matrix_grid(bigint[], boolean),
    openrisk._risk_matrix_compute(uuid, text) FROM PUBLIC;
