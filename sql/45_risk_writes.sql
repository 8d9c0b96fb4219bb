-- sql/45_risk_writes.sql -- risk_create, risk_update, risk_delete.
--
-- Why this file exists: the write side of the risk API.  The functions
-- only check the shape of the JSON body and write rows; everything that
-- must follow a write -- the score, the history row, the invalidation of
-- every cached answer it makes stale -- is done by the triggers in
-- 20_scoring.sql and 30_invalidation.sql, so a write through plain SQL is
-- exactly as correct as one through these functions.
--
-- Errors: 22023 for a body that is not an object, an unknown field, a
-- field of the wrong JSON type, a number that is not a small whole number
-- where one is expected, or an asset_ids entry that is not a uuid (so no
-- cast inside can fail with PostgreSQL's own wording);
-- 23xxx (with the constraint's human sentence) for values the table
-- rejects: a missing title (23502), a title over 255 characters or an
-- impact of 0 or 6 (23514), an asset of another tenant (23503).
-- Not found is NULL (risk_update) or false (risk_delete), never an error.

-- The fields a body may carry, their JSON type, and whether a create may
-- set them (status may not: new risks are DRAFT).
CREATE FUNCTION openrisk._risk_body_fields()
RETURNS TABLE (field text, json_type text, on_create boolean)
LANGUAGE sql IMMUTABLE
AS $$
    VALUES ('title', 'string', true), ('description', 'string', true),
           ('impact', 'number', true), ('probability', 'number', true),
           ('status', 'string', false), ('tags', 'array', true),
           ('frameworks', 'array', true), ('owner', 'string', true),
           ('source', 'string', true), ('external_id', 'string', true),
           ('custom_fields', 'object', true), ('asset_ids', 'array', true)
$$;

-- Reject a body that is not an object, names a field we do not know, or
-- gives a field the wrong JSON type.  JSON null is accepted for every
-- field and means "no value" (the table decides whether that is allowed).
CREATE FUNCTION openrisk._check_risk_body(body jsonb, creating boolean)
RETURNS void LANGUAGE plpgsql STABLE
AS $$
DECLARE
    bad record;
BEGIN
    IF body IS NULL OR jsonb_typeof(body) <> 'object' THEN
        PERFORM openrisk._bad_parameter('the body must be a JSON object');
    END IF;
    FOR bad IN
        SELECT k.key, k.value, f.json_type, f.on_create
          FROM jsonb_each(body) k
          LEFT JOIN openrisk._risk_body_fields() f ON f.field = k.key
         WHERE f.field IS NULL
            OR (creating AND NOT f.on_create)
            OR (jsonb_typeof(k.value) NOT IN ('null', f.json_type))
            OR (f.field IN ('impact', 'probability') AND jsonb_typeof(k.value) = 'number'
                AND (k.value::text::numeric <> trunc(k.value::text::numeric)
                     OR abs(k.value::text::numeric) > 1000000))
            OR (f.json_type = 'array' AND jsonb_typeof(k.value) = 'array' AND EXISTS (
                    SELECT 1 FROM jsonb_array_elements(k.value) e
                     WHERE jsonb_typeof(e) <> 'string'
                        OR (f.field = 'asset_ids' AND e #>> '{}' !~* openrisk._uuid_pattern())))
         ORDER BY k.key
         LIMIT 1
    LOOP
        IF bad.json_type IS NULL THEN
            PERFORM openrisk._bad_parameter(format('unknown field %I in the body', bad.key),
                format('known fields: %s',
                       (SELECT string_agg(field, ', ') FROM openrisk._risk_body_fields())));
        ELSIF creating AND NOT bad.on_create THEN
            PERFORM openrisk._bad_parameter(format('%s cannot be set when creating a risk: new risks are DRAFT', bad.key));
        ELSIF bad.key IN ('impact', 'probability') AND jsonb_typeof(bad.value) = 'number' THEN
            PERFORM openrisk._bad_parameter(format('%s must be an integer between 1 and 5', bad.key));
        ELSIF bad.key = 'asset_ids' AND jsonb_typeof(bad.value) = 'array' THEN
            PERFORM openrisk._bad_parameter('asset_ids must be an array of asset ids (UUIDs)');
        ELSIF bad.json_type = 'array' AND jsonb_typeof(bad.value) = 'array' THEN
            PERFORM openrisk._bad_parameter(format('%s must be an array of strings', bad.key));
        ELSE
            PERFORM openrisk._bad_parameter(format('%s must be a JSON %s (got %s)',
                                                   bad.key, bad.json_type, jsonb_typeof(bad.value)));
        END IF;
    END LOOP;
END
$$;

-- JSON field helpers: NULL for an absent or null field.
CREATE FUNCTION openrisk._json_int(body jsonb, field text)
RETURNS integer LANGUAGE sql IMMUTABLE
AS $$ SELECT (body ->> field)::numeric::integer $$;

CREATE FUNCTION openrisk._json_text_array(body jsonb, field text)
RETURNS text[] LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN jsonb_typeof(body -> field) = 'array'
                THEN ARRAY(SELECT jsonb_array_elements_text(body -> field)) END
$$;

-- Make a risk's asset links exactly asset_ids; the link triggers re-score
-- the risk and invalidate what it shows.
CREATE FUNCTION openrisk._set_risk_assets(p_tenant uuid, p_risk uuid, asset_ids uuid[])
RETURNS void LANGUAGE sql
AS $$
    DELETE FROM openrisk.risk_assets
     WHERE risk_id = p_risk AND asset_id <> ALL (coalesce(asset_ids, '{}'));
    INSERT INTO openrisk.risk_assets (risk_id, asset_id, tenant_id)
    SELECT DISTINCT p_risk, a, p_tenant FROM unnest(asset_ids) a
    ON CONFLICT DO NOTHING;
$$;

-- Create a risk (status DRAFT) and return it as risk_get shows it.
CREATE FUNCTION openrisk.risk_create(tenant uuid, body jsonb)
RETURNS json LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
DECLARE
    new_id uuid;
    v_state text; v_constraint text; v_table text; v_column text; v_message text;
BEGIN
    PERFORM openrisk._tenant_arg(tenant);
    PERFORM openrisk._check_risk_body(body, true);
    BEGIN
        INSERT INTO openrisk.risks (tenant_id, title, description, impact, probability, tags,
                                    frameworks, owner, source, external_id, custom_fields)
        VALUES (tenant, body ->> 'title', body ->> 'description',
                openrisk._json_int(body, 'impact'), openrisk._json_int(body, 'probability'),
                coalesce(openrisk._json_text_array(body, 'tags'), '{}'),
                coalesce(openrisk._json_text_array(body, 'frameworks'), '{}'),
                body ->> 'owner', coalesce(upper(body ->> 'source'), 'MANUAL'),
                body ->> 'external_id', coalesce(nullif(body -> 'custom_fields', 'null'), '{}'))
        RETURNING id INTO new_id;
        IF body ? 'asset_ids' THEN
            PERFORM openrisk._set_risk_assets(tenant, new_id,
                                              openrisk._json_text_array(body, 'asset_ids')::uuid[]);
        END IF;
    EXCEPTION WHEN integrity_constraint_violation THEN
        GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_constraint = CONSTRAINT_NAME,
            v_table = TABLE_NAME, v_column = COLUMN_NAME, v_message = MESSAGE_TEXT;
        PERFORM openrisk._raise_constraint(v_state, v_constraint, v_table, v_column, v_message);
    END;
    RETURN openrisk._risk_get_compute(tenant, new_id);
END
$$;

-- Apply a partial update (only the fields present in patch) to a live
-- risk; NULL when the tenant has no such live risk.
CREATE FUNCTION openrisk.risk_update(tenant uuid, id uuid, patch jsonb)
RETURNS json LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
DECLARE
    v_state text; v_constraint text; v_table text; v_column text; v_message text;
BEGIN
    PERFORM openrisk._tenant_arg(tenant);
    PERFORM openrisk._require(id, 'id');
    PERFORM openrisk._check_risk_body(patch, false);
    BEGIN
        UPDATE openrisk.risks r SET
            title = CASE WHEN patch ? 'title' THEN patch ->> 'title' ELSE r.title END,
            description = CASE WHEN patch ? 'description' THEN patch ->> 'description' ELSE r.description END,
            impact = CASE WHEN patch ? 'impact' THEN openrisk._json_int(patch, 'impact') ELSE r.impact END,
            probability = CASE WHEN patch ? 'probability' THEN openrisk._json_int(patch, 'probability')
                               ELSE r.probability END,
            status = CASE WHEN patch ? 'status' THEN upper(patch ->> 'status') ELSE r.status END,
            tags = CASE WHEN patch ? 'tags' THEN coalesce(openrisk._json_text_array(patch, 'tags'), '{}')
                        ELSE r.tags END,
            frameworks = CASE WHEN patch ? 'frameworks'
                              THEN coalesce(openrisk._json_text_array(patch, 'frameworks'), '{}')
                              ELSE r.frameworks END,
            owner = CASE WHEN patch ? 'owner' THEN patch ->> 'owner' ELSE r.owner END,
            source = CASE WHEN patch ? 'source' THEN upper(patch ->> 'source') ELSE r.source END,
            external_id = CASE WHEN patch ? 'external_id' THEN patch ->> 'external_id' ELSE r.external_id END,
            custom_fields = CASE WHEN patch ? 'custom_fields'
                                 THEN coalesce(nullif(patch -> 'custom_fields', 'null'), '{}')
                                 ELSE r.custom_fields END
         WHERE r.tenant_id = risk_update.tenant AND r.id = risk_update.id AND r.deleted_at IS NULL;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
        IF patch ? 'asset_ids' THEN
            PERFORM openrisk._set_risk_assets(tenant, id,
                                              openrisk._json_text_array(patch, 'asset_ids')::uuid[]);
        END IF;
    EXCEPTION WHEN integrity_constraint_violation THEN
        GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_constraint = CONSTRAINT_NAME,
            v_table = TABLE_NAME, v_column = COLUMN_NAME, v_message = MESSAGE_TEXT;
        PERFORM openrisk._raise_constraint(v_state, v_constraint, v_table, v_column, v_message);
    END;
    RETURN openrisk._risk_get_compute(tenant, id);
END
$$;

-- Soft delete: the risk disappears from every read; true when it existed.
CREATE FUNCTION openrisk.risk_delete(tenant uuid, id uuid)
RETURNS boolean LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM openrisk._tenant_arg(tenant);
    PERFORM openrisk._require(id, 'id');
    UPDATE openrisk.risks r SET deleted_at = now()
     WHERE r.tenant_id = risk_delete.tenant AND r.id = risk_delete.id AND r.deleted_at IS NULL;
    RETURN FOUND;
END
$$;

REVOKE ALL ON FUNCTION openrisk._risk_body_fields(), openrisk._check_risk_body(jsonb, boolean),
    openrisk._json_int(jsonb, text), openrisk._json_text_array(jsonb, text),
    openrisk._set_risk_assets(uuid, uuid, uuid[]) FROM PUBLIC;
