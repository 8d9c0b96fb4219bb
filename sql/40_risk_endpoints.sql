-- sql/40_risk_endpoints.sql -- the cached risk read endpoints:
-- risk_list, risk_get, risk_search, risk_matrix.
--
-- Why this file exists: these are what the gateway calls for GET /risks...;
-- each returns the finished JSON body, so a cache hit costs one shared
-- memory lookup and no query.  Every endpoint has three layers:
--
--   _<name>_compute(...)  plain STABLE SQL building the JSON from the
--                         tables; no cache, no validation; the definition
--                         of the right answer (tests compare against it).
--   <name>_meta(...)      validates and normalises the arguments (nothing
--                         is cached for an error), builds the key from the
--                         tenant and every parameter that changes the
--                         result, and calls openrisk.cache_fetch_meta, which
--                         returns (hit, etag, value) for X-Cache and ETag.
--   <name>(...)           (<name>_meta(...)).value::json -- the same code.
--
-- Sorting uses fixed CASE expressions over a whitelist of columns, and
-- free text only ever reaches a query as a bound parameter: no SQL is
-- built from values.

-- One risk as the API shows it (lists and detail share it).
CREATE FUNCTION openrisk._risk_json(r openrisk.risks)
RETURNS json LANGUAGE sql STABLE
AS $$
    SELECT json_build_object(
        'id', r.id, 'tenant_id', r.tenant_id, 'title', r.title, 'description', r.description,
        'impact', r.impact, 'probability', r.probability, 'score', r.score,
        'severity', r.severity, 'status', r.status, 'tags', r.tags, 'frameworks', r.frameworks,
        'owner', r.owner, 'source', r.source, 'external_id', r.external_id,
        'custom_fields', r.custom_fields, 'created_at', r.created_at, 'updated_at', r.updated_at)
$$;

-- The live risks of a tenant matching the list filters.  An inlinable SQL
-- function, so the planner sees through it and uses the partial indexes.
CREATE FUNCTION openrisk._risks_matching(p_tenant uuid, p_severity text, p_status text, p_q text)
RETURNS SETOF openrisk.risks LANGUAGE sql STABLE
AS $$
    SELECT * FROM openrisk.risks r
     WHERE r.tenant_id = p_tenant AND r.deleted_at IS NULL
       AND (p_severity IS NULL OR r.severity = p_severity)
       AND (p_status IS NULL OR r.status = p_status)
       AND (p_q IS NULL OR strpos(lower(r.title), p_q) > 0)
$$;

-- risk_list: one page in the requested order, plus the total.  The sort
-- key is split into a signed number (numeric columns; negated for desc)
-- and a text key per direction, so one static ORDER BY serves every
-- whitelisted column; id breaks ties so pages never overlap.  Only ids and
-- keys are sorted (narrow rows); the page's 20 rows are fetched after.
CREATE FUNCTION openrisk._risk_list_compute(p_tenant uuid, p_page integer, p_page_size integer,
                                            p_severity text, p_status text, p_q text,
                                            p_sort_by text, p_sort_dir text)
RETURNS json LANGUAGE sql STABLE
AS $$
    SELECT json_build_object(
        'items', coalesce((
            SELECT json_agg(openrisk._risk_json(r) ORDER BY p.k_num, p.k_asc, p.k_desc DESC, p.id)
              FROM (SELECT m.id, k.*
                      FROM openrisk._risks_matching(p_tenant, p_severity, p_status, p_q) m
                     CROSS JOIN LATERAL (SELECT
                         CASE WHEN p_sort_dir = 'desc' THEN -1 ELSE 1 END * CASE p_sort_by
                             WHEN 'score' THEN m.score
                             WHEN 'impact' THEN m.impact
                             WHEN 'probability' THEN m.probability
                             WHEN 'created_at' THEN extract(epoch FROM m.created_at)
                             WHEN 'updated_at' THEN extract(epoch FROM m.updated_at) END AS k_num,
                         CASE WHEN p_sort_dir = 'asc' THEN CASE p_sort_by
                             WHEN 'title' THEN m.title WHEN 'status' THEN m.status END END AS k_asc,
                         CASE WHEN p_sort_dir = 'desc' THEN CASE p_sort_by
                             WHEN 'title' THEN m.title WHEN 'status' THEN m.status END END AS k_desc) k
                     ORDER BY k.k_num, k.k_asc, k.k_desc DESC, m.id
                     LIMIT p_page_size OFFSET (p_page - 1)::bigint * p_page_size) p
              JOIN openrisk.risks r ON r.id = p.id),
            '[]'::json),
        'total', (SELECT count(*) FROM openrisk._risks_matching(p_tenant, p_severity, p_status, p_q)),
        'page', p_page,
        'page_size', p_page_size)
$$;

CREATE FUNCTION openrisk.risk_list_meta(tenant uuid, page integer DEFAULT 1, page_size integer DEFAULT 20,
                                        severity text DEFAULT NULL, status text DEFAULT NULL,
                                        q text DEFAULT NULL, sort_by text DEFAULT 'score',
                                        sort_dir text DEFAULT 'desc')
RETURNS openrisk.cache_fetch_result LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
DECLARE
    v_severity text := openrisk._enum_arg(severity, 'severity', ARRAY['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'], true);
    v_status   text := openrisk._enum_arg(status, 'status', ARRAY['DRAFT', 'ACTIVE', 'MITIGATED', 'ACCEPTED'], true);
    v_q        text := nullif(lower(btrim(q)), '');
    v_sort_by  text := openrisk._enum_arg(openrisk._require(sort_by, 'sort_by'), 'sort_by',
                           ARRAY['score', 'title', 'status', 'impact', 'probability', 'created_at', 'updated_at'], false);
    v_sort_dir text := openrisk._enum_arg(openrisk._require(sort_dir, 'sort_dir'), 'sort_dir', ARRAY['asc', 'desc'], false);
BEGIN
    PERFORM openrisk._require(tenant, 'tenant');
    PERFORM openrisk._check_page(page, page_size);
    RETURN openrisk.cache_fetch_meta(
        concat_ws(':', 'risk:list', tenant, page, page_size, coalesce(v_severity, '-'),
                  coalesce(v_status, '-'), openrisk._key_text(v_q), v_sort_by, v_sort_dir),
        NULL, 'SELECT openrisk._risk_list_compute($1, $2, $3, $4, $5, $6, $7, $8)',
        tenant, page, page_size, v_severity, v_status, v_q, v_sort_by, v_sort_dir);
END
$$;

CREATE FUNCTION openrisk.risk_list(tenant uuid, page integer DEFAULT 1, page_size integer DEFAULT 20,
                                   severity text DEFAULT NULL, status text DEFAULT NULL,
                                   q text DEFAULT NULL, sort_by text DEFAULT 'score',
                                   sort_dir text DEFAULT 'desc')
RETURNS json LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
    SELECT (openrisk.risk_list_meta(tenant, page, page_size, severity, status, q, sort_by, sort_dir)).value::json
$$;

-- risk_get: one live risk with its mitigations and linked assets; NULL
-- when it does not exist, is deleted, or belongs to another tenant.
CREATE FUNCTION openrisk._risk_get_compute(p_tenant uuid, p_id uuid)
RETURNS json LANGUAGE sql STABLE
AS $$
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
     WHERE r.tenant_id = p_tenant AND r.id = p_id AND r.deleted_at IS NULL
$$;

CREATE FUNCTION openrisk.risk_get_meta(tenant uuid, id uuid)
RETURNS openrisk.cache_fetch_result LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM openrisk._require(tenant, 'tenant');
    PERFORM openrisk._require(id, 'id');
    RETURN openrisk.cache_fetch_meta(concat_ws(':', 'risk:id', tenant, id), NULL,
                                     'SELECT openrisk._risk_get_compute($1, $2)', tenant, id);
END
$$;

CREATE FUNCTION openrisk.risk_get(tenant uuid, id uuid)
RETURNS json LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
    SELECT (openrisk.risk_get_meta(tenant, id)).value::json
$$;

-- risk_search: full-text search ('simple' configuration, web-search
-- syntax) over title, description and tags; best rank first.
CREATE FUNCTION openrisk._risk_search_compute(p_tenant uuid, p_q text, p_page integer, p_page_size integer)
RETURNS json LANGUAGE sql STABLE
AS $$
    WITH query AS (SELECT websearch_to_tsquery('simple', p_q) AS tsq)
    SELECT json_build_object(
        'items', coalesce((
            SELECT json_agg(openrisk._risk_json(r) ORDER BY p.rank DESC, p.score DESC, p.id)
              FROM (SELECT m.id, m.score, ts_rank(m.search, query.tsq) AS rank
                      FROM openrisk.risks m, query
                     WHERE m.tenant_id = p_tenant AND m.deleted_at IS NULL AND m.search @@ query.tsq
                     ORDER BY rank DESC, m.score DESC, m.id
                     LIMIT p_page_size OFFSET (p_page - 1)::bigint * p_page_size) p
              JOIN openrisk.risks r ON r.id = p.id),
            '[]'::json),
        'total', (SELECT count(*) FROM openrisk.risks m, query
                   WHERE m.tenant_id = p_tenant AND m.deleted_at IS NULL AND m.search @@ query.tsq),
        'page', p_page,
        'page_size', p_page_size,
        'q', p_q)
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
    PERFORM openrisk._require(tenant, 'tenant');
    PERFORM openrisk._require(v_q, 'q');
    IF length(v_q) > 200 THEN
        PERFORM openrisk._bad_parameter(format('q must be at most 200 characters (got %s)', length(v_q)));
    END IF;
    PERFORM openrisk._check_page(page, page_size);
    RETURN openrisk.cache_fetch_meta(
        concat_ws(':', 'risk:search', tenant, openrisk._key_text(v_q), page, page_size), NULL,
        'SELECT openrisk._risk_search_compute($1, $2, $3, $4)', tenant, v_q, page, page_size);
END
$$;

CREATE FUNCTION openrisk.risk_search(tenant uuid, q text, page integer DEFAULT 1, page_size integer DEFAULT 20)
RETURNS json LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
    SELECT (openrisk.risk_search_meta(tenant, q, page, page_size)).value::json
$$;

-- Counts and average score per impact x probability cell of the live
-- risks created since a moment; all 25 cells, empty ones with count 0.
-- Shared by risk_matrix and dashboard_matrix.
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
CREATE FUNCTION openrisk._risk_matrix_compute(p_tenant uuid, p_period text)
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

CREATE FUNCTION openrisk.risk_matrix_meta(tenant uuid, period text DEFAULT 'all')
RETURNS openrisk.cache_fetch_result LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
DECLARE
    v_period text := openrisk._period_arg(period);
BEGIN
    PERFORM openrisk._require(tenant, 'tenant');
    RETURN openrisk.cache_fetch_meta(concat_ws(':', 'risk:matrix', tenant, v_period), NULL,
                                     'SELECT openrisk._risk_matrix_compute($1, $2)', tenant, v_period);
END
$$;

CREATE FUNCTION openrisk.risk_matrix(tenant uuid, period text DEFAULT 'all')
RETURNS json LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
    SELECT (openrisk.risk_matrix_meta(tenant, period)).value::json
$$;

REVOKE ALL ON FUNCTION openrisk._risk_json(openrisk.risks),
    openrisk._risks_matching(uuid, text, text, text),
    openrisk._risk_list_compute(uuid, integer, integer, text, text, text, text, text),
    openrisk._risk_get_compute(uuid, uuid),
    openrisk._risk_search_compute(uuid, text, integer, integer),
    openrisk._matrix_cells(uuid, timestamptz),
    openrisk._risk_matrix_compute(uuid, text) FROM PUBLIC;
