-- sql/45_risk_writes.sql -- risk_create, risk_update, risk_delete.
--
-- Why this file exists: the write side of the risk API.  The functions
-- only check the shape of the JSON body and write rows; everything that
-- must follow a write -- the score, the history row, the invalidation of
-- every cached answer it makes stale -- is done by the triggers in
-- 20_scoring.sql and 30_invalidation.sql, so a write through plain SQL is
-- exactly as correct as one through these functions.
--
-- Conditional writes and the audit trail: the _meta functions (what the
-- gateway calls, one prepared call per request) take an If-Match value,
-- an actor and a request id.  A risk's ETag is the engine's hash of its
-- representation, risk_get's body (41_risk_endpoints.sql): the ETag GET
-- returns, cached or not, is the ETag a write compares If-Match with and
-- the ETag it returns for the new representation -- one definition of
-- "this version of the risk", covering everything GET shows (its fields,
-- mitigations and assets), with nothing extra to keep in step.  The
-- comparison happens under the risk's row lock (_risk_write_precondition).
--
-- Errors: 22023 for a body that is not an object, an unknown field, a
-- field of the wrong JSON type, a number that is not a small whole number
-- where one is expected, or an asset_ids entry that is not a uuid (so no
-- cast inside can fail with PostgreSQL's own wording);
-- 23xxx (with the constraint's human sentence) for values the table
-- rejects: a missing title (23502), a title over 255 characters or an
-- impact of 0 or 6 (23514), an asset of another tenant (23503).
-- Not found is NULL (risk_update) or false (risk_delete), never an error;
-- the _meta functions say 'not_found'.  A malformed If-Match, an actor
-- over 200 or a request id over 64 characters are 22023.

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
RETURNS text[] LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    RETURN CASE WHEN jsonb_typeof(body -> field) = 'array'
                THEN ARRAY(SELECT jsonb_array_elements_text(body -> field)) END;
END
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

-- What a write function tells its caller (the gateway turns it into the
-- HTTP status and headers): the outcome -- 'created', 'updated',
-- 'deleted', 'not_found' or 'precondition_failed' -- the ETag of the
-- risk's representation (after the write; on a failed precondition, the
-- current one, for the 412), and that representation when there is one.
CREATE TYPE openrisk.write_result AS (
    outcome text,
    etag    text,
    value   text
);

-- An If-Match value as the list of ETags it admits: {'*'} for "*" (any
-- existing risk), else its strong entity-tags without quotes.  Weak tags
-- (W/"...") are dropped, because If-Match compares strongly (RFC 9110,
-- 13.1.1), so a list of weak tags admits nothing.  A bare 16-hex ETag, as
-- risk_get_meta's etag column gives it, is accepted for SQL callers.
-- NULL for no If-Match; 22023 for anything malformed.
CREATE FUNCTION openrisk._if_match_arg(if_match text)
RETURNS text[] LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v text := btrim(if_match);
BEGIN
    IF v IS NULL THEN
        RETURN NULL;
    ELSIF v = '*' OR v ~ '^[0-9a-f]{16}$' THEN
        RETURN ARRAY[v];
    ELSIF length(v) <= 1000 AND v ~ '^(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*$' THEN
        RETURN ARRAY(SELECT m[2] FROM regexp_matches(v, '(W/)?"([^"]*)"', 'g') m WHERE m[1] IS NULL);
    END IF;
    PERFORM openrisk._bad_parameter('If-Match must be * or a list of quoted ETags, e.g. "0123456789abcdef"',
                                    'send the ETag a GET of the risk returned, quotes included');
    RETURN NULL;
END
$$;

-- The start of a write to one live risk: lock its row, then compare the
-- If-Match tags with the ETag of its current representation, computed
-- now by the very function that computes GET's body (whose cached ETag
-- is the engine's hash of those bytes).  Every write of the risk through
-- these functions, and every insert of a child row (its foreign key
-- check), queues on the lock, so the representation compared is the one
-- the write replaces: no read-then-write race.  NULL (outcome NULL) when
-- the write may go ahead, else the outcome to return.
CREATE FUNCTION openrisk._risk_write_precondition(p_tenant uuid, p_id uuid, p_tags text[])
RETURNS openrisk.write_result LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    current_etag text;
BEGIN
    PERFORM 1 FROM openrisk.risks r
     WHERE r.tenant_id = p_tenant AND r.id = p_id AND r.deleted_at IS NULL
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN ROW('not_found', NULL, NULL)::openrisk.write_result;
    END IF;
    IF p_tags IS NOT NULL AND NOT '*' = ANY (p_tags) THEN
        current_etag := openrisk.cache_etag(openrisk._risk_get_compute(p_tenant, p_id)::text);
        IF NOT current_etag = ANY (p_tags) THEN
            RETURN ROW('precondition_failed', current_etag, NULL)::openrisk.write_result;
        END IF;
    END IF;
    RETURN NULL;
END
$$;

-- Attribute the writes that follow to an actor and a request, for the
-- history triggers (20_scoring.sql), by setting openrisk.actor and
-- openrisk.request_id for the transaction; returns their previous values
-- for _write_attribution_end, which puts them back when the write is done
-- (a later plain statement of the same transaction is not this actor's).
-- An error ends the (sub)transaction, which undoes both.  The actor is
-- the argument, else what the session set, else session_user: inside
-- these SECURITY DEFINER functions current_user is their owner.
CREATE FUNCTION openrisk._write_attribution(actor text, request_id text)
RETURNS text[] LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    before text[] := ARRAY[current_setting('openrisk.actor', true), current_setting('openrisk.request_id', true)];
    v_actor text := openrisk._text_arg(actor, 'actor', 200);
    v_request text := openrisk._text_arg(request_id, 'request_id', 64);
BEGIN
    PERFORM set_config('openrisk.actor', coalesce(v_actor, nullif(before[1], ''), session_user::text), true);
    IF v_request IS NOT NULL THEN
        PERFORM set_config('openrisk.request_id', v_request, true);
    END IF;
    RETURN before;
END
$$;

CREATE FUNCTION openrisk._write_attribution_end(before text[])
RETURNS void LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    PERFORM set_config('openrisk.actor', coalesce(before[1], ''), true),
            set_config('openrisk.request_id', coalesce(before[2], ''), true);
END
$$;

-- The rows of a write: a new risk (p_id NULL; returns its id) or the
-- fields present in body on risk p_id (already locked), and the asset
-- links when body has asset_ids.  A constraint violation is re-raised
-- with the constraint's human sentence (_raise_constraint).
CREATE FUNCTION openrisk._risk_write_rows(p_tenant uuid, p_id uuid, body jsonb)
RETURNS uuid LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    new_id uuid := p_id;
    v_state text; v_constraint text; v_table text; v_column text; v_message text;
BEGIN
    IF p_id IS NULL THEN
        INSERT INTO openrisk.risks (tenant_id, title, description, impact, probability, tags,
                                    frameworks, owner, source, external_id, custom_fields)
        VALUES (p_tenant, body ->> 'title', body ->> 'description',
                openrisk._json_int(body, 'impact'), openrisk._json_int(body, 'probability'),
                coalesce(openrisk._json_text_array(body, 'tags'), '{}'),
                coalesce(openrisk._json_text_array(body, 'frameworks'), '{}'),
                body ->> 'owner', coalesce(upper(body ->> 'source'), 'MANUAL'),
                body ->> 'external_id', coalesce(nullif(body -> 'custom_fields', 'null'), '{}'))
        RETURNING id INTO new_id;
    ELSE
        UPDATE openrisk.risks r SET
            title = CASE WHEN body ? 'title' THEN body ->> 'title' ELSE r.title END,
            description = CASE WHEN body ? 'description' THEN body ->> 'description' ELSE r.description END,
            impact = CASE WHEN body ? 'impact' THEN openrisk._json_int(body, 'impact') ELSE r.impact END,
            probability = CASE WHEN body ? 'probability' THEN openrisk._json_int(body, 'probability')
                               ELSE r.probability END,
            status = CASE WHEN body ? 'status' THEN upper(body ->> 'status') ELSE r.status END,
            tags = CASE WHEN body ? 'tags' THEN coalesce(openrisk._json_text_array(body, 'tags'), '{}')
                        ELSE r.tags END,
            frameworks = CASE WHEN body ? 'frameworks'
                              THEN coalesce(openrisk._json_text_array(body, 'frameworks'), '{}')
                              ELSE r.frameworks END,
            owner = CASE WHEN body ? 'owner' THEN body ->> 'owner' ELSE r.owner END,
            source = CASE WHEN body ? 'source' THEN upper(body ->> 'source') ELSE r.source END,
            external_id = CASE WHEN body ? 'external_id' THEN body ->> 'external_id' ELSE r.external_id END,
            custom_fields = CASE WHEN body ? 'custom_fields'
                                 THEN coalesce(nullif(body -> 'custom_fields', 'null'), '{}')
                                 ELSE r.custom_fields END
         WHERE r.tenant_id = p_tenant AND r.id = p_id;
    END IF;
    IF body ? 'asset_ids' THEN
        PERFORM openrisk._set_risk_assets(p_tenant, new_id, openrisk._json_text_array(body, 'asset_ids')::uuid[]);
    END IF;
    RETURN new_id;
EXCEPTION WHEN integrity_constraint_violation THEN
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_constraint = CONSTRAINT_NAME,
        v_table = TABLE_NAME, v_column = COLUMN_NAME, v_message = MESSAGE_TEXT;
    PERFORM openrisk._raise_constraint(v_state, v_constraint, v_table, v_column, v_message);
    RETURN NULL;
END
$$;

-- A written risk's outcome: its representation and that ETag.
CREATE FUNCTION openrisk._risk_written(p_tenant uuid, p_id uuid, outcome text)
RETURNS openrisk.write_result LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN (SELECT ROW(outcome, openrisk.cache_etag(v), v)::openrisk.write_result
          FROM (SELECT openrisk._risk_get_compute(p_tenant, p_id)::text AS v) x);
END
$$;

-- Create a risk (status DRAFT): 'created', its ETag and its representation.
CREATE FUNCTION openrisk.risk_create_meta(tenant uuid, body jsonb, actor text DEFAULT NULL,
                                          request_id text DEFAULT NULL)
RETURNS openrisk.write_result LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
DECLARE
    before text[];
    new_id uuid;
BEGIN
    PERFORM openrisk._tenant_arg(tenant);
    PERFORM openrisk._check_risk_body(body, true);
    before := openrisk._write_attribution(actor, request_id);
    new_id := openrisk._risk_write_rows(tenant, NULL, body);
    PERFORM openrisk._write_attribution_end(before);
    RETURN openrisk._risk_written(tenant, new_id, 'created');
END
$$;

-- Apply a partial update (only the fields present in patch) to a live
-- risk, if its representation still has an ETag if_match admits:
-- 'updated' with the new ETag and representation, 'not_found', or
-- 'precondition_failed' with the current ETag and nothing changed.
CREATE FUNCTION openrisk.risk_update_meta(tenant uuid, id uuid, patch jsonb, if_match text DEFAULT NULL,
                                          actor text DEFAULT NULL, request_id text DEFAULT NULL)
RETURNS openrisk.write_result LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
DECLARE
    tags text[] := openrisk._if_match_arg(if_match);
    refused openrisk.write_result;
    before text[];
BEGIN
    PERFORM openrisk._tenant_arg(tenant);
    PERFORM openrisk._require(id, 'id');
    PERFORM openrisk._check_risk_body(patch, false);
    refused := openrisk._risk_write_precondition(tenant, id, tags);
    IF refused.outcome IS NOT NULL THEN
        RETURN refused;
    END IF;
    before := openrisk._write_attribution(actor, request_id);
    PERFORM openrisk._risk_write_rows(tenant, id, patch);
    PERFORM openrisk._write_attribution_end(before);
    RETURN openrisk._risk_written(tenant, id, 'updated');
END
$$;

-- Soft delete under the same precondition: 'deleted', 'not_found' or
-- 'precondition_failed'.  The risk disappears from every read.
CREATE FUNCTION openrisk.risk_delete_meta(tenant uuid, id uuid, if_match text DEFAULT NULL,
                                          actor text DEFAULT NULL, request_id text DEFAULT NULL)
RETURNS openrisk.write_result LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
DECLARE
    tags text[] := openrisk._if_match_arg(if_match);
    refused openrisk.write_result;
    before text[];
BEGIN
    PERFORM openrisk._tenant_arg(tenant);
    PERFORM openrisk._require(id, 'id');
    refused := openrisk._risk_write_precondition(tenant, id, tags);
    IF refused.outcome IS NOT NULL THEN
        RETURN refused;
    END IF;
    before := openrisk._write_attribution(actor, request_id);
    UPDATE openrisk.risks r SET deleted_at = now()
     WHERE r.tenant_id = risk_delete_meta.tenant AND r.id = risk_delete_meta.id;
    PERFORM openrisk._write_attribution_end(before);
    RETURN ROW('deleted', NULL, NULL)::openrisk.write_result;
END
$$;

-- The plain functions of SQL callers: the representation (NULL when not
-- found) or whether the risk was deleted; the actor is openrisk.actor if
-- the session set it, else session_user.  Conditional writes are the
-- _meta functions' (their outcome says what happened).
CREATE FUNCTION openrisk.risk_create(tenant uuid, body jsonb)
RETURNS json LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (openrisk.risk_create_meta(tenant, body)).value::json;
END
$$;

CREATE FUNCTION openrisk.risk_update(tenant uuid, id uuid, patch jsonb)
RETURNS json LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (openrisk.risk_update_meta(tenant, id, patch)).value::json;
END
$$;

CREATE FUNCTION openrisk.risk_delete(tenant uuid, id uuid)
RETURNS boolean LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (openrisk.risk_delete_meta(tenant, id)).outcome = 'deleted';
END
$$;

REVOKE ALL ON FUNCTION openrisk._risk_body_fields(), openrisk._check_risk_body(jsonb, boolean),
    openrisk._json_int(jsonb, text), openrisk._json_text_array(jsonb, text),
    openrisk._set_risk_assets(uuid, uuid, uuid[]), openrisk._if_match_arg(text),
    openrisk._risk_write_precondition(uuid, uuid, text[]), openrisk._write_attribution(text, text),
    openrisk._write_attribution_end(text[]), openrisk._risk_write_rows(uuid, uuid, jsonb),
    openrisk._risk_written(uuid, uuid, text) FROM PUBLIC;
