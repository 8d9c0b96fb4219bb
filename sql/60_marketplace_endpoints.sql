-- sql/60_marketplace_endpoints.sql -- the cached marketplace endpoints:
-- connector_list, connector_get (global catalogue) and app_get (a
-- tenant's installed app).
--
-- Why this file exists: the marketplace catalogue changes rarely and is
-- read on every marketplace page, so it is cached longest (ttl_connector,
-- ttl_app).  Connector keys carry no tenant because the catalogue is not
-- tenant-scoped; app keys do.  Writes to these tables are plain SQL; the
-- triggers in 30_invalidation.sql drop connector:* on any catalogue change
-- and the app's own key on any change of that app (keys: 16_keys.sql).  Same three layers
-- as 40_risk_list.sql.

CREATE FUNCTION openrisk._connector_json(c openrisk.connectors)
RETURNS json LANGUAGE sql STABLE
AS $$
    SELECT json_build_object(
        'id', c.id, 'name', c.name, 'author', c.author, 'version', c.version,
        'description', c.description, 'category', c.category, 'status', c.status,
        'capabilities', c.capabilities, 'rating', c.rating, 'install_count', c.install_count,
        'created_at', c.created_at, 'updated_at', c.updated_at)
$$;

-- connector_list: best rated first, then most installed.  The list
-- envelope every collection shares (40_risk_list.sql): until 1.1 this
-- list said "data" where the others say "items".  category is
-- matched case-insensitively (the argument arrives lower-cased).
CREATE FUNCTION openrisk._connector_list_compute(p_category text, p_status text,
                                                 p_page integer, p_page_size integer)
RETURNS json LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN (
    WITH matching AS (
            SELECT c FROM openrisk.connectors c
             WHERE (p_category IS NULL OR lower(c.category) = p_category)
               AND (p_status IS NULL OR c.status = p_status)
        )
        SELECT json_build_object(
            'total', (SELECT count(*) FROM matching),
            'page', p_page,
            'page_size', p_page_size,
            'next', NULL::text,
            'items', coalesce((
                SELECT json_agg(openrisk._connector_json(p.c)
                                ORDER BY (p.c).rating DESC, (p.c).install_count DESC, (p.c).name, (p.c).id)
                  FROM (SELECT m.c FROM matching m
                         ORDER BY (m.c).rating DESC, (m.c).install_count DESC, (m.c).name, (m.c).id
                         LIMIT p_page_size OFFSET (p_page - 1)::bigint * p_page_size) p),
                '[]'::json)));
END
$$;

CREATE FUNCTION openrisk.connector_list_meta(category text DEFAULT NULL, status text DEFAULT NULL,
                                             page integer DEFAULT 1, page_size integer DEFAULT 20)
RETURNS openrisk.cache_fetch_result LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
DECLARE
    v_category text := nullif(lower(btrim(category)), '');
    v_status   text := openrisk._enum_arg(status, 'status', ARRAY['active', 'inactive', 'deprecated', 'beta'], false);
BEGIN
    IF length(v_category) > 100 THEN
        PERFORM openrisk._bad_parameter(format('category must be at most 100 characters (got %s)',
                                               length(v_category)));
    END IF;
    PERFORM openrisk._check_page(page, page_size);
    RETURN openrisk.cache_fetch_meta(
        openrisk._key_connector_list(v_category, v_status, page, page_size),
        NULL, 'SELECT openrisk._connector_list_compute($1, $2, $3, $4)',
        v_category, v_status, page, page_size);
END
$$;

CREATE FUNCTION openrisk.connector_list(category text DEFAULT NULL, status text DEFAULT NULL,
                                        page integer DEFAULT 1, page_size integer DEFAULT 20)
RETURNS json LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (openrisk.connector_list_meta(category, status, page, page_size)).value::json;
END
$$;

CREATE FUNCTION openrisk._connector_get_compute(p_id uuid)
RETURNS json LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN (
    SELECT openrisk._connector_json(c) FROM openrisk.connectors c WHERE c.id = p_id);
END
$$;

CREATE FUNCTION openrisk.connector_get_meta(id uuid)
RETURNS openrisk.cache_fetch_result LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM openrisk._require(id, 'id');
    RETURN openrisk.cache_fetch_meta(openrisk._key_connector_id(id), NULL,
                                     'SELECT openrisk._connector_get_compute($1)', id);
END
$$;

CREATE FUNCTION openrisk.connector_get(id uuid)
RETURNS json LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (openrisk.connector_get_meta(id)).value::json;
END
$$;

-- app_get: NULL when the app does not exist or belongs to another tenant.
CREATE FUNCTION openrisk._app_get_compute(p_tenant uuid, p_id uuid)
RETURNS json LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN (
    SELECT json_build_object(
            'id', a.id, 'tenant_id', a.tenant_id, 'connector_id', a.connector_id, 'name', a.name,
            'status', a.status, 'configuration', a.configuration, 'enabled', a.enabled,
            'auto_sync', a.auto_sync, 'sync_interval', a.sync_interval,
            'last_sync_at', a.last_sync_at, 'created_at', a.created_at, 'updated_at', a.updated_at)
          FROM openrisk.marketplace_apps a
         WHERE a.tenant_id = p_tenant AND a.id = p_id);
END
$$;

CREATE FUNCTION openrisk.app_get_meta(tenant uuid, id uuid)
RETURNS openrisk.cache_fetch_result LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM openrisk._tenant_arg(tenant);
    PERFORM openrisk._require(id, 'id');
    RETURN openrisk.cache_fetch_meta(openrisk._key_app_id(tenant, id), NULL,
                                     'SELECT openrisk._app_get_compute($1, $2)', tenant, id);
END
$$;

CREATE FUNCTION openrisk.app_get(tenant uuid, id uuid)
RETURNS json LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (openrisk.app_get_meta(tenant, id)).value::json;
END
$$;

REVOKE ALL ON FUNCTION openrisk._connector_json(openrisk.connectors),
    openrisk._connector_list_compute(text, text, integer, integer),
    openrisk._connector_get_compute(uuid),
    openrisk._app_get_compute(uuid, uuid) FROM PUBLIC;
