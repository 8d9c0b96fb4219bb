-- sql/43_risk_history.sql -- risk_history: one risk's audit trail, newest
-- first, a page at a time (GET /api/v1/risks/{id}/history).
--
-- Why this file exists: a risk register must say who changed what and
-- when.  The rows are written by the risks triggers (20_scoring.sql) with
-- the actor and request id of the write; this endpoint reads them.  Same
-- three layers as every endpoint (_compute / _meta / plain).  A page is
-- read through the index (risk_id, id) and counts only that risk's rows,
-- so its cost is bounded by the risk's own history, never the tenant's.
-- Keys are per risk (risk:history:<t>:<risk>:page:size, 16_keys.sql) and
-- a history row written for a risk drops exactly that risk's pages
-- (30_invalidation.sql), so other risks' histories stay cached.
--
-- A deleted risk keeps its history (the DELETE event says who deleted
-- it), so it is served for a live or a soft-deleted risk of the tenant;
-- an id the tenant never had is NULL (404).  Pages are numbered, not
-- cursors: a cursor would have to carry the history row id, a sequence
-- shared by every tenant, and show each tenant how busy the others are.

CREATE FUNCTION openrisk._risk_history_compute(p_tenant uuid, p_risk uuid, p_page integer, p_page_size integer)
RETURNS json LANGUAGE plpgsql STABLE
SET search_path = openrisk, pg_catalog, pg_temp
SET timezone = 'UTC'
AS $$
DECLARE
    total bigint;
    items json;
BEGIN
    SELECT count(*) INTO total FROM openrisk.risk_history h WHERE h.risk_id = p_risk AND h.tenant_id = p_tenant;
    IF total = 0 AND NOT EXISTS (SELECT 1 FROM openrisk.risks r WHERE r.id = p_risk AND r.tenant_id = p_tenant) THEN
        RETURN NULL;
    END IF;
    SELECT json_agg(json_build_object(
               'change_type', h.change_type, 'changed_at', h.changed_at, 'actor', h.actor,
               'request_id', h.request_id, 'changed_fields', h.changed_fields,
               'status', h.status, 'old_status', h.old_status, 'score', h.score, 'old_score', h.old_score,
               'impact', h.impact, 'probability', h.probability) ORDER BY h.id DESC)
      INTO items
      FROM (SELECT * FROM openrisk.risk_history h
             WHERE h.risk_id = p_risk AND h.tenant_id = p_tenant
             ORDER BY h.id DESC
             LIMIT p_page_size OFFSET (p_page - 1)::bigint * p_page_size) h;
    -- the list envelope every collection shares (40_risk_list.sql)
    RETURN json_build_object('risk_id', p_risk, 'total', total, 'page', p_page, 'page_size', p_page_size,
                             'next', NULL::text, 'items', coalesce(items, '[]'::json));
END
$$;

CREATE FUNCTION openrisk.risk_history_meta(tenant uuid, id uuid, page integer DEFAULT 1, page_size integer DEFAULT 20)
RETURNS openrisk.cache_fetch_result LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM openrisk._tenant_arg(tenant);
    PERFORM openrisk._require(id, 'id');
    PERFORM openrisk._check_page(page, page_size);
    RETURN openrisk.cache_fetch_meta(openrisk._key_risk_history(tenant, id, page, page_size), NULL,
                                     'SELECT openrisk._risk_history_compute($1, $2, $3, $4)',
                                     tenant, id, page, page_size);
END
$$;

CREATE FUNCTION openrisk.risk_history(tenant uuid, id uuid, page integer DEFAULT 1, page_size integer DEFAULT 20)
RETURNS json LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (openrisk.risk_history_meta(tenant, id, page, page_size)).value::json;
END
$$;

REVOKE ALL ON FUNCTION openrisk._risk_history_compute(uuid, uuid, integer, integer) FROM PUBLIC;
