-- The openrisk 1.0 release's install script, frozen: built from commit
-- 77f2459's extension/sql/engine.sql and sql/NN_*.sql (cat, in name order).
-- Installed beside the current version so that 1.0 installations can be
-- reproduced and ALTER EXTENSION openrisk UPDATE tested from them.
-- Never edit: it is what old installations ran.
-- openrisk cache engine: SQL API (part 1 of the install script).
--
-- The C functions live in openrisk.so.  Everything that reads or writes
-- raw cache keys is revoked from PUBLIC: an ordinary role must not be able
-- to read another tenant's entries by key, reset the cache or fence it.
-- Only cache_stats() (numbers, no data) is public.  Endpoint functions
-- reach the engine as SECURITY DEFINER functions with a pinned search_path.

\echo Use "CREATE EXTENSION openrisk" to load this file. \quit

-- What cache_fetch_meta() and every endpoint's *_meta variant return: the
-- value plus what an HTTP layer needs to answer truthfully in one round trip.
CREATE TYPE @extschema@.cache_fetch_result AS (
    hit   boolean,   -- served from the cache (true) or computed now (false)
    etag  text,      -- strong validator of value: 16 hex digits, no quotes
    value text
);

CREATE FUNCTION @extschema@.cache_get(key text)
RETURNS text AS 'MODULE_PATHNAME', 'openrisk_cache_get'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.cache_put(key text, value text,
                                      ttl interval DEFAULT NULL,
                                      stamp bigint DEFAULT NULL)
RETURNS boolean AS 'MODULE_PATHNAME', 'openrisk_cache_put'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.cache_get_many(keys text[])
RETURNS TABLE (key text, value text) AS 'MODULE_PATHNAME', 'openrisk_cache_get_many'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.cache_put_many(entries jsonb, ttl interval DEFAULT NULL)
RETURNS integer AS 'MODULE_PATHNAME', 'openrisk_cache_put_many'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.cache_invalidate(pattern text)
RETURNS bigint AS 'MODULE_PATHNAME', 'openrisk_cache_invalidate'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.cache_ttl(key text)
RETURNS interval AS 'MODULE_PATHNAME', 'openrisk_cache_ttl'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.cache_stamp()
RETURNS bigint AS 'MODULE_PATHNAME', 'openrisk_cache_stamp'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.cache_reset()
RETURNS void AS 'MODULE_PATHNAME', 'openrisk_cache_reset'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.cache_stats(
    OUT available boolean, OUT enabled boolean,
    OUT hits bigint, OUT misses bigint, OUT stores bigint,
    OUT evictions bigint, OUT expirations bigint, OUT invalidations bigint,
    OUT fills_rejected bigint, OUT too_large bigint, OUT stampede_waits bigint,
    OUT bypasses bigint, OUT store_failures bigint,
    OUT entries bigint, OUT bytes_used bigint, OUT bytes_limit bigint,
    OUT max_entries bigint)
RETURNS record AS 'MODULE_PATHNAME', 'openrisk_cache_stats'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW @extschema@.cache_stats AS SELECT * FROM @extschema@.cache_stats();

-- Cache-or-compute: return the cached value of key, or run query (with
-- $1..$n bound to the variadic arguments), cache its first column of its
-- first row as text, and return it.  Closes the late-fill race (the
-- generation is read before the query's snapshot is taken) and the
-- stampede (concurrent misses on one key compute once).  A NULL result is
-- returned but never cached.
CREATE FUNCTION @extschema@.cache_fetch(key text, ttl interval, query text)
RETURNS text AS 'MODULE_PATHNAME', 'openrisk_cache_fetch'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.cache_fetch(key text, ttl interval, query text, VARIADIC args "any")
RETURNS text AS 'MODULE_PATHNAME', 'openrisk_cache_fetch'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.cache_fetch_meta(key text, ttl interval, query text)
RETURNS @extschema@.cache_fetch_result AS 'MODULE_PATHNAME', 'openrisk_cache_fetch_meta'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.cache_fetch_meta(key text, ttl interval, query text, VARIADIC args "any")
RETURNS @extschema@.cache_fetch_result AS 'MODULE_PATHNAME', 'openrisk_cache_fetch_meta'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- A C AFTER trigger queueing invalidations built from the changed row:
--   FOR EACH ROW EXECUTE FUNCTION openrisk.invalidate_trigger('ns:list:{tenant_id}:*', ...)
-- {column} is replaced by the column's text, for the old and the new row.
CREATE FUNCTION @extschema@.invalidate_trigger()
RETURNS trigger AS 'MODULE_PATHNAME', 'openrisk_invalidate_trigger'
LANGUAGE C;

REVOKE ALL ON FUNCTION
    @extschema@.cache_get(text),
    @extschema@.cache_put(text, text, interval, bigint),
    @extschema@.cache_get_many(text[]),
    @extschema@.cache_put_many(jsonb, interval),
    @extschema@.cache_invalidate(text),
    @extschema@.cache_ttl(text),
    @extschema@.cache_stamp(),
    @extschema@.cache_reset(),
    @extschema@.cache_fetch(text, interval, text),
    @extschema@.cache_fetch(text, interval, text, "any"),
    @extschema@.cache_fetch_meta(text, interval, text),
    @extschema@.cache_fetch_meta(text, interval, text, "any"),
    @extschema@.invalidate_trigger()
FROM PUBLIC;

GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;
GRANT SELECT ON @extschema@.cache_stats TO PUBLIC;

-- One clear warning when the library was not preloaded: everything still
-- works, computed without a cache.
DO $$
BEGIN
    IF NOT (SELECT available FROM @extschema@.cache_stats()) THEN
        RAISE WARNING 'openrisk: the shared cache is not available; functions compute without it'
            USING HINT = 'Add openrisk to shared_preload_libraries in postgresql.conf and restart PostgreSQL.';
    END IF;
END
$$;
-- sql/10_schema.sql -- OpenRisk's data model inside the openrisk schema.
--
-- Why this file exists: the cached endpoint functions (40_, 50_, 60_) are
-- only as correct as the data they read, so the rules that OpenRisk kept in
-- its Go handlers live here as constraints the database enforces for every
-- caller: enumerations as CHECKs, tenant consistency between a risk and its
-- assets/mitigations as composite foreign keys, severity as a generated
-- column.  Each CHECK carries a COMMENT with the human sentence the write
-- functions report when it is violated (see openrisk._raise_constraint in
-- 20_scoring.sql), so a rule and its message are written once.
--
-- Indexes are chosen for the uncached paths at 100k risks per tenant: every
-- read filters on (tenant_id, live rows) first.

CREATE TABLE openrisk.tenants (
    id         uuid PRIMARY KEY,
    name       text NOT NULL CONSTRAINT tenants_name_length CHECK (length(name) BETWEEN 1 AND 255),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The text risk_search matches.  array_to_string is only STABLE in
-- general (element output functions may depend on settings) but is
-- immutable for text[], which a generated column needs.
CREATE FUNCTION openrisk._risk_search_document(title text, description text, tags text[])
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT to_tsvector('simple'::regconfig, title || ' ' || coalesce(description, '') || ' ' ||
                                            array_to_string(tags, ' '))
$$;

CREATE TABLE openrisk.risks (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL
        CONSTRAINT risks_tenant_exists REFERENCES openrisk.tenants (id) ON DELETE CASCADE,
    title         text NOT NULL
        CONSTRAINT risks_title_length CHECK (length(title) BETWEEN 1 AND 255),
    description   text,
    impact        integer NOT NULL
        CONSTRAINT risks_impact_range CHECK (impact BETWEEN 1 AND 5),
    probability   integer NOT NULL
        CONSTRAINT risks_probability_range CHECK (probability BETWEEN 1 AND 5),
    -- impact x probability x average criticality factor of linked assets;
    -- maintained by triggers (20_scoring.sql), never trusted from callers.
    score         numeric(6,2) NOT NULL DEFAULT 0,
    severity      text GENERATED ALWAYS AS (
                      CASE WHEN score >= 20 THEN 'CRITICAL'
                           WHEN score >= 15 THEN 'HIGH'
                           WHEN score >= 10 THEN 'MEDIUM'
                           ELSE 'LOW' END) STORED,
    status        text NOT NULL DEFAULT 'DRAFT'
        CONSTRAINT risks_status_valid CHECK (status IN ('DRAFT', 'ACTIVE', 'MITIGATED', 'ACCEPTED')),
    tags          text[] NOT NULL DEFAULT '{}',
    frameworks    text[] NOT NULL DEFAULT '{}',
    owner         text,
    source        text NOT NULL DEFAULT 'MANUAL'
        CONSTRAINT risks_source_valid CHECK (source IN ('MANUAL', 'THEHIVE', 'OPENRMF')),
    external_id   text,
    custom_fields jsonb NOT NULL DEFAULT '{}'
        CONSTRAINT risks_custom_fields_object CHECK (jsonb_typeof(custom_fields) = 'object'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz,
    -- Full-text search for risk_search; 'simple' so it is language neutral.
    search        tsvector GENERATED ALWAYS AS (
                      openrisk._risk_search_document(title, description, tags)) STORED,
    -- Target of the composite foreign keys that keep children in the
    -- risk's tenant.
    CONSTRAINT risks_id_tenant UNIQUE (id, tenant_id)
);

COMMENT ON CONSTRAINT risks_tenant_exists ON openrisk.risks IS 'the tenant does not exist';
COMMENT ON CONSTRAINT risks_title_length ON openrisk.risks IS 'title must be between 1 and 255 characters';
COMMENT ON CONSTRAINT risks_impact_range ON openrisk.risks IS 'impact must be an integer between 1 and 5';
COMMENT ON CONSTRAINT risks_probability_range ON openrisk.risks IS 'probability must be an integer between 1 and 5';
COMMENT ON CONSTRAINT risks_status_valid ON openrisk.risks IS 'status must be one of DRAFT, ACTIVE, MITIGATED, ACCEPTED';
COMMENT ON CONSTRAINT risks_source_valid ON openrisk.risks IS 'source must be one of MANUAL, THEHIVE, OPENRMF';
COMMENT ON CONSTRAINT risks_custom_fields_object ON openrisk.risks IS 'custom_fields must be a JSON object';

-- Live rows of one tenant, in the orders the list offers cheaply.
CREATE INDEX risks_tenant_score ON openrisk.risks (tenant_id, score DESC, id) WHERE deleted_at IS NULL;
-- Covers the dashboard and matrix aggregates (index-only once vacuumed).
CREATE INDEX risks_tenant_created ON openrisk.risks (tenant_id, created_at)
    INCLUDE (severity, status, score, impact, probability) WHERE deleted_at IS NULL;
CREATE INDEX risks_tenant_severity ON openrisk.risks (tenant_id, severity) WHERE deleted_at IS NULL;
CREATE INDEX risks_tenant_status ON openrisk.risks (tenant_id, status) WHERE deleted_at IS NULL;
CREATE INDEX risks_search ON openrisk.risks USING gin (search) WHERE deleted_at IS NULL;

CREATE TABLE openrisk.assets (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES openrisk.tenants (id) ON DELETE CASCADE,
    name        text NOT NULL CONSTRAINT assets_name_length CHECK (length(name) BETWEEN 1 AND 255),
    type        text NOT NULL DEFAULT 'server',
    criticality text NOT NULL DEFAULT 'MEDIUM'
        CONSTRAINT assets_criticality_valid CHECK (criticality IN ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT assets_id_tenant UNIQUE (id, tenant_id)
);
COMMENT ON CONSTRAINT assets_criticality_valid ON openrisk.assets IS 'criticality must be one of LOW, MEDIUM, HIGH, CRITICAL';
CREATE INDEX assets_tenant ON openrisk.assets (tenant_id);

-- A link may only join a risk and an asset of the same tenant.  The foreign
-- key to risks is DEFERRABLE so a bulk loader can link first and insert the
-- risks after, letting the insert trigger score each risk exactly once.
CREATE TABLE openrisk.risk_assets (
    risk_id   uuid NOT NULL,
    asset_id  uuid NOT NULL,
    tenant_id uuid NOT NULL,
    PRIMARY KEY (risk_id, asset_id),
    CONSTRAINT risk_assets_risk_in_tenant FOREIGN KEY (risk_id, tenant_id)
        REFERENCES openrisk.risks (id, tenant_id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
    CONSTRAINT risk_assets_asset_in_tenant FOREIGN KEY (asset_id, tenant_id)
        REFERENCES openrisk.assets (id, tenant_id) ON DELETE CASCADE
);
COMMENT ON CONSTRAINT risk_assets_asset_in_tenant ON openrisk.risk_assets IS 'every asset_ids entry must be an existing asset of the same tenant';
CREATE INDEX risk_assets_asset ON openrisk.risk_assets (asset_id);

CREATE TABLE openrisk.mitigations (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    risk_id    uuid NOT NULL,
    tenant_id  uuid NOT NULL,
    title      text NOT NULL CONSTRAINT mitigations_title_length CHECK (length(title) BETWEEN 1 AND 255),
    status     text NOT NULL DEFAULT 'PLANNED'
        CONSTRAINT mitigations_status_valid CHECK (status IN ('PLANNED', 'IN_PROGRESS', 'DONE')),
    progress   integer NOT NULL DEFAULT 0
        CONSTRAINT mitigations_progress_range CHECK (progress BETWEEN 0 AND 100),
    assignee   text,
    due_date   date,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT mitigations_risk_in_tenant FOREIGN KEY (risk_id, tenant_id)
        REFERENCES openrisk.risks (id, tenant_id) ON DELETE CASCADE
);
COMMENT ON CONSTRAINT mitigations_status_valid ON openrisk.mitigations IS 'mitigation status must be one of PLANNED, IN_PROGRESS, DONE';
COMMENT ON CONSTRAINT mitigations_progress_range ON openrisk.mitigations IS 'mitigation progress must be between 0 and 100';
CREATE INDEX mitigations_risk ON openrisk.mitigations (risk_id);
CREATE INDEX mitigations_tenant ON openrisk.mitigations (tenant_id);

-- Written only by the risks triggers (20_scoring.sql).  old_score and
-- old_status let the timeline replay open counts and average score as
-- running sums in one pass instead of reconstructing every risk per day.
CREATE TABLE openrisk.risk_history (
    id          bigserial PRIMARY KEY,
    tenant_id   uuid NOT NULL,
    risk_id     uuid NOT NULL,
    change_type text NOT NULL CHECK (change_type IN ('CREATE', 'UPDATE', 'DELETE')),
    score       numeric(6,2) NOT NULL,
    impact      integer NOT NULL,
    probability integer NOT NULL,
    status      text NOT NULL,
    old_score   numeric(6,2),
    old_status  text,
    changed_at  timestamptz NOT NULL
);
CREATE INDEX risk_history_tenant_time ON openrisk.risk_history (tenant_id, changed_at);
CREATE INDEX risk_history_risk ON openrisk.risk_history (risk_id);

-- The marketplace catalogue is global (not tenant-scoped).
CREATE TABLE openrisk.connectors (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name          text NOT NULL CONSTRAINT connectors_name_length CHECK (length(name) BETWEEN 1 AND 255),
    author        text NOT NULL DEFAULT '',
    version       text NOT NULL,
    description   text NOT NULL DEFAULT '',
    category      text NOT NULL,
    status        text NOT NULL DEFAULT 'active'
        CONSTRAINT connectors_status_valid CHECK (status IN ('active', 'inactive', 'deprecated', 'beta')),
    capabilities  text[] NOT NULL DEFAULT '{}',
    rating        numeric(2,1) NOT NULL DEFAULT 0
        CONSTRAINT connectors_rating_range CHECK (rating BETWEEN 0 AND 5),
    install_count integer NOT NULL DEFAULT 0
        CONSTRAINT connectors_install_count_positive CHECK (install_count >= 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT connectors_name_version UNIQUE (name, version)
);
COMMENT ON CONSTRAINT connectors_status_valid ON openrisk.connectors IS 'connector status must be one of active, inactive, deprecated, beta';
COMMENT ON CONSTRAINT connectors_rating_range ON openrisk.connectors IS 'rating must be between 0 and 5';
CREATE INDEX connectors_listing ON openrisk.connectors (rating DESC, install_count DESC, name, id);
CREATE INDEX connectors_category ON openrisk.connectors (category);

CREATE TABLE openrisk.marketplace_apps (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES openrisk.tenants (id) ON DELETE CASCADE,
    connector_id  uuid NOT NULL REFERENCES openrisk.connectors (id),
    name          text NOT NULL CONSTRAINT marketplace_apps_name_length CHECK (length(name) BETWEEN 1 AND 255),
    status        text NOT NULL DEFAULT 'pending'
        CONSTRAINT marketplace_apps_status_valid
        CHECK (status IN ('pending', 'installed', 'disabled', 'uninstalled', 'error')),
    configuration jsonb NOT NULL DEFAULT '{}',
    enabled       boolean NOT NULL DEFAULT true,
    auto_sync     boolean NOT NULL DEFAULT false,
    sync_interval integer NOT NULL DEFAULT 3600
        CONSTRAINT marketplace_apps_sync_interval_min CHECK (sync_interval >= 60),
    last_sync_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON CONSTRAINT marketplace_apps_status_valid ON openrisk.marketplace_apps IS 'app status must be one of pending, installed, disabled, uninstalled, error';
COMMENT ON CONSTRAINT marketplace_apps_sync_interval_min ON openrisk.marketplace_apps IS 'sync_interval must be at least 60 seconds';
CREATE INDEX marketplace_apps_tenant ON openrisk.marketplace_apps (tenant_id);
CREATE INDEX marketplace_apps_connector ON openrisk.marketplace_apps (connector_id);

-- Data is reached through the SECURITY DEFINER endpoint functions only.
REVOKE ALL ON openrisk.tenants, openrisk.risks, openrisk.assets, openrisk.risk_assets,
    openrisk.mitigations, openrisk.risk_history, openrisk.connectors,
    openrisk.marketplace_apps FROM PUBLIC;
-- sql/15_common.sql -- argument checks and error reporting shared by every
-- endpoint and write function.
--
-- Why this file exists: every read endpoint must reject bad input before it
-- builds a cache key (nothing is ever cached for an error), and every error
-- must carry the right SQLSTATE and a human sentence the gateway can pass
-- to a client.  Writing those checks once keeps the eleven endpoints from
-- drifting apart in what they accept and how they say no.
--
-- SQLSTATEs used across the API:
--   22023 invalid_parameter_value  bad page/page_size/enum/period/days/sort,
--                                  wrong JSON type, unknown body field
--   22P02 invalid_text_representation  malformed uuid / json / number
--                                  (raised by PostgreSQL's own input casts)
--   23502/23503/23505/23514        constraint violations (message from the
--                                  constraint's COMMENT, see _raise_constraint)
--
-- These helpers are revoked from PUBLIC and only called from the SECURITY
-- DEFINER endpoints, which pin search_path; they carry no SET clause of
-- their own because one costs a GUC save/restore per call on the hit path.

-- Raise invalid_parameter_value with a human message.
CREATE FUNCTION openrisk._bad_parameter(message text, hint text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = message,
        HINT = coalesce(hint, '');
END
$$;

-- A required argument: NULL is a bad parameter, not "not found".
CREATE FUNCTION openrisk._require(value anyelement, name text)
RETURNS anyelement LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF value IS NULL THEN
        PERFORM openrisk._bad_parameter(format('%s is required', name));
    END IF;
    RETURN value;
END
$$;

-- Pagination used by every list: page >= 1, page_size 1..200.
CREATE FUNCTION openrisk._check_page(page integer, page_size integer)
RETURNS void LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF page IS NULL OR page < 1 THEN
        PERFORM openrisk._bad_parameter(format('page must be 1 or more (got %s)', coalesce(page::text, 'null')));
    END IF;
    IF page_size IS NULL OR page_size NOT BETWEEN 1 AND 200 THEN
        PERFORM openrisk._bad_parameter(format('page_size must be between 1 and 200 (got %s)',
                                               coalesce(page_size::text, 'null')));
    END IF;
END
$$;

-- Normalise an optional enumerated argument: NULL stays NULL (no filter),
-- anything else is trimmed, case-folded as the enum is spelled, and must
-- be one of allowed.  Returns the normalised value, which goes into keys.
CREATE FUNCTION openrisk._enum_arg(value text, name text, allowed text[], upper_case boolean)
RETURNS text LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v text;
BEGIN
    IF value IS NULL THEN
        RETURN NULL;
    END IF;
    v := CASE WHEN upper_case THEN upper(btrim(value)) ELSE lower(btrim(value)) END;
    IF NOT v = ANY (allowed) THEN
        PERFORM openrisk._bad_parameter(
            format('%s must be one of %s (got %L)', name, array_to_string(allowed, ', '), value));
    END IF;
    RETURN v;
END
$$;

-- The reporting window of a period name, in the key and in the query.
-- 'all' is unbounded.  The window moves with time; the namespace TTL bounds
-- how long a cached answer may lag behind the clock.
CREATE FUNCTION openrisk._period_start(period text)
RETURNS timestamptz LANGUAGE sql STABLE
AS $$
    SELECT CASE period
        WHEN 'week'    THEN now() - interval '7 days'
        WHEN 'month'   THEN now() - interval '1 month'
        WHEN 'quarter' THEN now() - interval '3 months'
        WHEN 'year'    THEN now() - interval '1 year'
        ELSE '-infinity'::timestamptz END
$$;

CREATE FUNCTION openrisk._period_arg(period text)
RETURNS text LANGUAGE sql IMMUTABLE
AS $$
    SELECT openrisk._enum_arg(openrisk._require(period, 'period'), 'period',
                              ARRAY['week', 'month', 'quarter', 'year', 'all'], false)
$$;

-- Free text in a key: its md5, so ':' or '*' typed by a user can never
-- change the shape of a key or turn it into a pattern.  '-' stands for
-- "no value" (md5 never produces it).
CREATE FUNCTION openrisk._key_text(value text)
RETURNS text LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN value IS NULL THEN '-' ELSE md5(value) END
$$;

-- Re-raise a constraint violation caught in a write function with the
-- constraint's COMMENT as the message (the sentence lives next to the rule
-- in 10_schema.sql) and the original SQLSTATE.  NOT NULL violations become
-- "<column> is required".  Anything without a comment keeps PostgreSQL's
-- own message.
CREATE FUNCTION openrisk._raise_constraint(sqlstate text, constraint_name text,
                                           table_name text, column_name text, message text)
RETURNS void LANGUAGE plpgsql STABLE
AS $$
DECLARE
    human text;
BEGIN
    IF sqlstate = '23502' AND column_name <> '' THEN
        human := format('%s is required', column_name);
    ELSE
        SELECT obj_description(c.oid, 'pg_constraint') INTO human
          FROM pg_constraint c
         WHERE c.conname = constraint_name
           AND c.connamespace = 'openrisk'::regnamespace;
    END IF;
    RAISE EXCEPTION USING ERRCODE = sqlstate, MESSAGE = coalesce(human, message),
        CONSTRAINT = coalesce(constraint_name, ''), DETAIL = message;
END
$$;

REVOKE ALL ON FUNCTION openrisk._bad_parameter(text, text), openrisk._require(anyelement, text),
    openrisk._check_page(integer, integer), openrisk._enum_arg(text, text, text[], boolean),
    openrisk._period_start(text), openrisk._period_arg(text), openrisk._key_text(text),
    openrisk._raise_constraint(text, text, text, text, text) FROM PUBLIC;
-- sql/20_scoring.sql -- the database keeps risk scores and risk history
-- correct, whoever writes.
--
-- Why this file exists: OpenRisk computed the score in its handler, so any
-- other writer (an import, a connector, a psql session) left it wrong, and
-- the cached dashboards then served a wrong number for ten minutes.  Here
-- the score is a function of the row and its linked assets, recomputed by
-- triggers when any input changes (impact, probability, a link, an asset's
-- criticality), and every create / update / delete of a risk writes one
-- risk_history row from which the timeline is built.
--
-- Score changes caused by links or assets are applied as an UPDATE of the
-- risk rows, so they flow through the same history and cache invalidation
-- triggers as any other change: there is one path, not two.
--
-- Bulk loads: history is written by statement-level triggers with
-- transition tables (one INSERT ... SELECT per statement, not one per row).

-- Criticality of an asset as a score multiplier.
CREATE FUNCTION openrisk._criticality_factor(criticality text)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE criticality
        WHEN 'LOW' THEN 0.8 WHEN 'MEDIUM' THEN 1.0
        WHEN 'HIGH' THEN 1.25 WHEN 'CRITICAL' THEN 1.5 END
$$;

-- The score a risk must have: impact x probability x the average factor of
-- its linked assets (x 1 when it has none), rounded to the column's scale.
-- plpgsql rather than SQL so its query plan is cached for the session: the
-- insert trigger calls it once per row, 100k times in a bulk load.
CREATE FUNCTION openrisk._risk_score(risk_id uuid, impact integer, probability integer)
RETURNS numeric LANGUAGE plpgsql STABLE
AS $$
DECLARE
    factor numeric;
BEGIN
    SELECT avg(openrisk._criticality_factor(a.criticality)) INTO factor
      FROM openrisk.risk_assets ra
      JOIN openrisk.assets a ON a.id = ra.asset_id
     WHERE ra.risk_id = _risk_score.risk_id;
    RETURN round(impact * probability * coalesce(factor, 1.0), 2);
END
$$;

-- BEFORE row trigger on risks: the score is never taken from the caller,
-- the identity of a row never changes, and updated_at moves on every update
-- unless the writer set it explicitly (the demo loader back-dates events).
CREATE FUNCTION openrisk._risks_before_write()
RETURNS trigger LANGUAGE plpgsql
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.id <> OLD.id OR NEW.tenant_id <> OLD.tenant_id THEN
            RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
                MESSAGE = 'the id and tenant of a risk cannot change';
        END IF;
        IF NEW.updated_at = OLD.updated_at THEN
            NEW.updated_at := now();
        END IF;
    END IF;
    NEW.score := openrisk._risk_score(NEW.id, NEW.impact, NEW.probability);
    RETURN NEW;
END
$$;

CREATE TRIGGER risks_before_write
    BEFORE INSERT OR UPDATE ON openrisk.risks
    FOR EACH ROW EXECUTE FUNCTION openrisk._risks_before_write();

-- Re-score the given risks after one of their inputs outside the row
-- changed.  Only rows whose score really moves are updated, so a no-op
-- (e.g. linking an asset whose factor equals the current average) writes
-- no history and invalidates nothing.
CREATE FUNCTION openrisk._rescore_risks(risk_ids uuid[])
RETURNS void LANGUAGE sql
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
    UPDATE openrisk.risks r
       SET score = openrisk._risk_score(r.id, r.impact, r.probability)
     WHERE r.id = ANY (risk_ids)
       AND r.deleted_at IS NULL
       AND r.score <> openrisk._risk_score(r.id, r.impact, r.probability)
$$;

-- Links added or removed: re-score the linked risks.
CREATE FUNCTION openrisk._risk_assets_rescore()
RETURNS trigger LANGUAGE plpgsql
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM openrisk._rescore_risks(ARRAY(SELECT DISTINCT risk_id FROM new_links));
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM openrisk._rescore_risks(ARRAY(SELECT DISTINCT risk_id FROM old_links));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER risk_assets_rescore_insert AFTER INSERT ON openrisk.risk_assets
    REFERENCING NEW TABLE AS new_links
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risk_assets_rescore();
CREATE TRIGGER risk_assets_rescore_update AFTER UPDATE ON openrisk.risk_assets
    REFERENCING OLD TABLE AS old_links NEW TABLE AS new_links
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risk_assets_rescore();
CREATE TRIGGER risk_assets_rescore_delete AFTER DELETE ON openrisk.risk_assets
    REFERENCING OLD TABLE AS old_links
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risk_assets_rescore();

-- An asset's criticality changed: re-score every risk linked to it.
-- (A deleted asset removes its links by cascade, which re-scores above.)
-- No nested loops over transition tables (see _risks_history).
CREATE FUNCTION openrisk._assets_rescore()
RETURNS trigger LANGUAGE plpgsql
SET search_path = openrisk, pg_catalog, pg_temp
SET enable_nestloop = off
AS $$
BEGIN
    PERFORM openrisk._rescore_risks(ARRAY(
        SELECT DISTINCT ra.risk_id
          FROM new_assets n
          JOIN old_assets o ON o.id = n.id
          JOIN openrisk.risk_assets ra ON ra.asset_id = n.id
         WHERE n.criticality <> o.criticality));
    RETURN NULL;
END
$$;

CREATE TRIGGER assets_rescore AFTER UPDATE ON openrisk.assets
    REFERENCING OLD TABLE AS old_assets NEW TABLE AS new_assets
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._assets_rescore();

-- One risk_history row per created, updated or deleted risk.  A soft
-- delete (deleted_at set) is a DELETE event; clearing deleted_at again is
-- a CREATE event, so the timeline's running sums stay exact.  Updates of
-- rows that stay deleted are not events: the risk no longer exists.
--
-- Transition tables have no statistics, so the planner takes them for one
-- row each and would join old and new rows with a nested loop: quadratic
-- on a bulk update.  enable_nestloop = off makes it hash them instead.
CREATE FUNCTION openrisk._risks_history()
RETURNS trigger LANGUAGE plpgsql
SET search_path = openrisk, pg_catalog, pg_temp
SET enable_nestloop = off
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO openrisk.risk_history
            (tenant_id, risk_id, change_type, score, impact, probability, status, changed_at)
        SELECT n.tenant_id, n.id, 'CREATE', n.score, n.impact, n.probability, n.status, n.created_at
          FROM new_risks n
         WHERE n.deleted_at IS NULL;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO openrisk.risk_history
            (tenant_id, risk_id, change_type, score, impact, probability, status,
             old_score, old_status, changed_at)
        SELECT n.tenant_id, n.id, e.change_type, n.score, n.impact, n.probability, n.status,
               CASE WHEN e.change_type <> 'CREATE' THEN o.score END,
               CASE WHEN e.change_type <> 'CREATE' THEN o.status END,
               CASE e.change_type WHEN 'DELETE' THEN n.deleted_at ELSE n.updated_at END
          FROM new_risks n
          JOIN old_risks o ON o.id = n.id
         CROSS JOIN LATERAL (SELECT CASE
                 WHEN o.deleted_at IS NULL AND n.deleted_at IS NOT NULL THEN 'DELETE'
                 WHEN o.deleted_at IS NOT NULL AND n.deleted_at IS NULL THEN 'CREATE'
                 WHEN n.deleted_at IS NULL THEN 'UPDATE' END AS change_type) e
         WHERE e.change_type IS NOT NULL;
    ELSE
        INSERT INTO openrisk.risk_history
            (tenant_id, risk_id, change_type, score, impact, probability, status,
             old_score, old_status, changed_at)
        SELECT o.tenant_id, o.id, 'DELETE', o.score, o.impact, o.probability, o.status,
               o.score, o.status, now()
          FROM old_risks o
         WHERE o.deleted_at IS NULL;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER risks_history_insert AFTER INSERT ON openrisk.risks
    REFERENCING NEW TABLE AS new_risks
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risks_history();
CREATE TRIGGER risks_history_update AFTER UPDATE ON openrisk.risks
    REFERENCING OLD TABLE AS old_risks NEW TABLE AS new_risks
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risks_history();
CREATE TRIGGER risks_history_delete AFTER DELETE ON openrisk.risks
    REFERENCING OLD TABLE AS old_risks
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risks_history();

REVOKE ALL ON FUNCTION openrisk._criticality_factor(text),
    openrisk._risk_score(uuid, integer, integer), openrisk._risks_before_write(),
    openrisk._rescore_risks(uuid[]), openrisk._risk_assets_rescore(),
    openrisk._assets_rescore(), openrisk._risks_history() FROM PUBLIC;
-- sql/30_invalidation.sql -- which cached answers every write makes stale.
--
-- Why this file exists: OpenRisk invalidated nothing on writes (and its
-- keys had no tenant), so a write was invisible for up to the TTL and one
-- tenant could be served another's data.  Here every table an endpoint
-- reads has statement-level AFTER triggers that name exactly the keys the
-- change can affect, for the tenants it touched and no others.  The engine
-- applies them at commit (nothing on rollback), deduplicates identical
-- patterns within a transaction, and sends one NOTIFY per transaction.
--
-- Statement-level triggers with transition tables keep a bulk load cheap:
-- a 100k-row INSERT costs one DISTINCT over the new rows and a handful of
-- O(1) prefix invalidations, not 100k trigger calls.
--
-- Key shapes (the endpoints in 40_/50_/60_ build them with the same
-- helpers, so a key and its invalidation cannot drift apart):
--   risk:list:<t>:...  risk:search:<t>:...  risk:matrix:<t>:<period>
--   risk:id:<t>:<id>   dashboard:stats:<t>:<period>  dashboard:matrix:<t>
--   dashboard:timeline:<t>:<days>  connector:list:...  connector:id:<id>
--   app:id:<t>:<id>    report:<t>:... (invalidated on deletes, for reports)
-- Every prefix pattern ends in ':*' so the engine resolves it in O(1).

-- Above this many distinct risks in one statement, the per-risk keys of a
-- tenant are dropped with one prefix pattern instead of one key each.
CREATE FUNCTION openrisk._max_exact_invalidations()
RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT 1000 $$;

-- The keys a change to a tenant's dashboards' inputs makes stale.
CREATE FUNCTION openrisk._dashboard_patterns(tenant uuid)
RETURNS text[] LANGUAGE sql IMMUTABLE
AS $$
    SELECT ARRAY['dashboard:stats:' || tenant || ':*',
                 'dashboard:timeline:' || tenant || ':*',
                 'dashboard:matrix:' || tenant]
$$;

-- The keys a created, changed or deleted risk row makes stale (besides its
-- own risk:id key): every list, search and matrix of the tenant, and its
-- dashboards; reports too when a risk disappears.
CREATE FUNCTION openrisk._risk_set_patterns(tenant uuid, risk_removed boolean)
RETURNS text[] LANGUAGE sql IMMUTABLE
AS $$
    SELECT ARRAY['risk:list:' || tenant || ':*',
                 'risk:search:' || tenant || ':*',
                 'risk:matrix:' || tenant || ':*']
           || openrisk._dashboard_patterns(tenant)
           || CASE WHEN risk_removed THEN ARRAY['report:' || tenant || ':*'] ELSE '{}'::text[] END
$$;

-- The risk:id keys of some risks of one tenant; a prefix pattern when
-- there are too many to name one by one.
CREATE FUNCTION openrisk._risk_id_patterns(tenant uuid, risk_ids uuid[])
RETURNS text[] LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN cardinality(risk_ids) > openrisk._max_exact_invalidations()
                THEN ARRAY['risk:id:' || tenant || ':*']
                ELSE ARRAY(SELECT 'risk:id:' || tenant || ':' || r FROM unnest(risk_ids) r) END
$$;

CREATE FUNCTION openrisk._invalidate(patterns text[])
RETURNS void LANGUAGE sql
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
    SELECT openrisk.cache_invalidate(p) FROM unnest(patterns) p
$$;

-- risks: insert -> the tenant's lists/search/matrix/dashboards; update ->
-- also the risk's own key; soft or hard delete -> also the tenant's reports.
CREATE FUNCTION openrisk._risks_invalidate()
RETURNS trigger LANGUAGE plpgsql
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM openrisk._invalidate(openrisk._risk_set_patterns(tenant_id, false))
           FROM (SELECT DISTINCT tenant_id FROM new_risks) t;
    ELSIF TG_OP = 'UPDATE' THEN
        -- Any deleted row counts as a removal (no join with old_risks: an
        -- update of an already deleted row dropping report keys is harmless).
        PERFORM openrisk._invalidate(openrisk._risk_set_patterns(tenant_id, bool_or(deleted_at IS NOT NULL))
                                     || openrisk._risk_id_patterns(tenant_id, array_agg(id)))
           FROM new_risks
          GROUP BY tenant_id;
    ELSE
        PERFORM openrisk._invalidate(openrisk._risk_set_patterns(tenant_id, true)
                                     || openrisk._risk_id_patterns(tenant_id, array_agg(id)))
           FROM old_risks
          GROUP BY tenant_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER risks_invalidate_insert AFTER INSERT ON openrisk.risks
    REFERENCING NEW TABLE AS new_risks
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risks_invalidate();
CREATE TRIGGER risks_invalidate_update AFTER UPDATE ON openrisk.risks
    REFERENCING OLD TABLE AS old_risks NEW TABLE AS new_risks
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risks_invalidate();
CREATE TRIGGER risks_invalidate_delete AFTER DELETE ON openrisk.risks
    REFERENCING OLD TABLE AS old_risks
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risks_invalidate();

-- Rows that hang off a risk (mitigations, asset links): the risks they
-- touch (risk_get shows them) and the tenant's dashboards (mitigation
-- completion).  A score change they cause is an UPDATE of risks and is
-- invalidated by the trigger above.  The function reads whichever
-- transition tables the firing event has: touched_new / touched_old.
CREATE FUNCTION openrisk._risk_children_invalidate()
RETURNS trigger LANGUAGE plpgsql
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM openrisk._invalidate(openrisk._dashboard_patterns(tenant_id)
                                     || openrisk._risk_id_patterns(tenant_id, array_agg(DISTINCT risk_id)))
           FROM touched_new GROUP BY tenant_id;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM openrisk._invalidate(openrisk._dashboard_patterns(tenant_id)
                                     || openrisk._risk_id_patterns(tenant_id, array_agg(DISTINCT risk_id)))
           FROM touched_old GROUP BY tenant_id;
    ELSE
        PERFORM openrisk._invalidate(openrisk._dashboard_patterns(tenant_id)
                                     || openrisk._risk_id_patterns(tenant_id, array_agg(DISTINCT risk_id)))
           FROM (SELECT tenant_id, risk_id FROM touched_new
                 UNION SELECT tenant_id, risk_id FROM touched_old) t
          GROUP BY tenant_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER mitigations_invalidate_insert AFTER INSERT ON openrisk.mitigations
    REFERENCING NEW TABLE AS touched_new
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risk_children_invalidate();
CREATE TRIGGER mitigations_invalidate_update AFTER UPDATE ON openrisk.mitigations
    REFERENCING OLD TABLE AS touched_old NEW TABLE AS touched_new
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risk_children_invalidate();
CREATE TRIGGER mitigations_invalidate_delete AFTER DELETE ON openrisk.mitigations
    REFERENCING OLD TABLE AS touched_old
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risk_children_invalidate();

CREATE TRIGGER risk_assets_invalidate_insert AFTER INSERT ON openrisk.risk_assets
    REFERENCING NEW TABLE AS touched_new
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risk_children_invalidate();
CREATE TRIGGER risk_assets_invalidate_update AFTER UPDATE ON openrisk.risk_assets
    REFERENCING OLD TABLE AS touched_old NEW TABLE AS touched_new
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risk_children_invalidate();
CREATE TRIGGER risk_assets_invalidate_delete AFTER DELETE ON openrisk.risk_assets
    REFERENCING OLD TABLE AS touched_old
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risk_children_invalidate();

-- An asset changed (name, type, criticality): the risks linked to it show
-- it, and the tenant's dashboards.  A deleted asset drops its links by
-- cascade, and the link trigger above covers those risks.  A new asset is
-- linked to nothing yet, so it makes nothing stale.
CREATE FUNCTION openrisk._assets_invalidate()
RETURNS trigger LANGUAGE plpgsql
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM openrisk._invalidate(openrisk._dashboard_patterns(a.tenant_id)
                                 || openrisk._risk_id_patterns(a.tenant_id,
                                        ARRAY(SELECT DISTINCT ra.risk_id FROM openrisk.risk_assets ra
                                               WHERE ra.asset_id = ANY (a.ids))))
       FROM (SELECT tenant_id, array_agg(id) AS ids FROM changed_assets GROUP BY tenant_id) a;
    RETURN NULL;
END
$$;

CREATE TRIGGER assets_invalidate_update AFTER UPDATE ON openrisk.assets
    REFERENCING NEW TABLE AS changed_assets
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._assets_invalidate();
CREATE TRIGGER assets_invalidate_delete AFTER DELETE ON openrisk.assets
    REFERENCING OLD TABLE AS changed_assets
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._assets_invalidate();

-- The catalogue is global and small: any change drops every connector key.
-- Also used for TRUNCATE of any table, with the patterns as arguments.
CREATE FUNCTION openrisk._invalidate_patterns_trigger()
RETURNS trigger LANGUAGE plpgsql
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM openrisk._invalidate(TG_ARGV);
    RETURN NULL;
END
$$;

CREATE TRIGGER connectors_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON openrisk.connectors
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._invalidate_patterns_trigger('connector:*');

-- TRUNCATE has no transition tables; it drops the namespaces it can touch.
CREATE TRIGGER risks_invalidate_truncate AFTER TRUNCATE ON openrisk.risks
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._invalidate_patterns_trigger('risk:*', 'dashboard:*', 'report:*');
CREATE TRIGGER mitigations_invalidate_truncate AFTER TRUNCATE ON openrisk.mitigations
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._invalidate_patterns_trigger('risk:id:*', 'dashboard:*');
CREATE TRIGGER risk_assets_invalidate_truncate AFTER TRUNCATE ON openrisk.risk_assets
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._invalidate_patterns_trigger('risk:*', 'dashboard:*');
CREATE TRIGGER assets_invalidate_truncate AFTER TRUNCATE ON openrisk.assets
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._invalidate_patterns_trigger('risk:*', 'dashboard:*');
CREATE TRIGGER marketplace_apps_invalidate_truncate AFTER TRUNCATE ON openrisk.marketplace_apps
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._invalidate_patterns_trigger('app:*');

-- An installed app: only its own key (app_get is the only reader).
CREATE FUNCTION openrisk._apps_invalidate()
RETURNS trigger LANGUAGE plpgsql
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM openrisk.cache_invalidate(k)
           FROM (SELECT DISTINCT 'app:id:' || tenant_id || ':' || id AS k FROM new_apps) n;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM openrisk.cache_invalidate(k)
           FROM (SELECT DISTINCT 'app:id:' || tenant_id || ':' || id AS k FROM old_apps) o;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER marketplace_apps_invalidate_insert AFTER INSERT ON openrisk.marketplace_apps
    REFERENCING NEW TABLE AS new_apps
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._apps_invalidate();
CREATE TRIGGER marketplace_apps_invalidate_update AFTER UPDATE ON openrisk.marketplace_apps
    REFERENCING OLD TABLE AS old_apps NEW TABLE AS new_apps
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._apps_invalidate();
CREATE TRIGGER marketplace_apps_invalidate_delete AFTER DELETE ON openrisk.marketplace_apps
    REFERENCING OLD TABLE AS old_apps
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._apps_invalidate();

REVOKE ALL ON FUNCTION openrisk._max_exact_invalidations(), openrisk._dashboard_patterns(uuid),
    openrisk._risk_set_patterns(uuid, boolean), openrisk._risk_id_patterns(uuid, uuid[]),
    openrisk._invalidate(text[]), openrisk._risks_invalidate(),
    openrisk._risk_children_invalidate(), openrisk._assets_invalidate(),
    openrisk._invalidate_patterns_trigger(), openrisk._apps_invalidate() FROM PUBLIC;
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
-- sql/45_risk_writes.sql -- risk_create, risk_update, risk_delete.
--
-- Why this file exists: the write side of the risk API.  The functions
-- only check the shape of the JSON body and write rows; everything that
-- must follow a write -- the score, the history row, the invalidation of
-- every cached answer it makes stale -- is done by the triggers in
-- 20_scoring.sql and 30_invalidation.sql, so a write through plain SQL is
-- exactly as correct as one through these functions.
--
-- Errors: 22023 for a body that is not an object, an unknown field or a
-- field of the wrong JSON type; 22P02 for a malformed uuid in asset_ids;
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
                AND k.value::text::numeric <> trunc(k.value::text::numeric))
            OR (f.json_type = 'array' AND EXISTS (
                    SELECT 1 FROM jsonb_array_elements(k.value) e WHERE jsonb_typeof(e) <> 'string'))
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
            PERFORM openrisk._bad_parameter(format('%s must be a whole number (got %s)', bad.key, bad.value));
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
    PERFORM openrisk._require(tenant, 'tenant');
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
    PERFORM openrisk._require(tenant, 'tenant');
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
    PERFORM openrisk._require(tenant, 'tenant');
    PERFORM openrisk._require(id, 'id');
    UPDATE openrisk.risks r SET deleted_at = now()
     WHERE r.tenant_id = risk_delete.tenant AND r.id = risk_delete.id AND r.deleted_at IS NULL;
    RETURN FOUND;
END
$$;

REVOKE ALL ON FUNCTION openrisk._risk_body_fields(), openrisk._check_risk_body(jsonb, boolean),
    openrisk._json_int(jsonb, text), openrisk._json_text_array(jsonb, text),
    openrisk._set_risk_assets(uuid, uuid, uuid[]) FROM PUBLIC;
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
-- sql/60_marketplace_endpoints.sql -- the cached marketplace endpoints:
-- connector_list, connector_get (global catalogue) and app_get (a
-- tenant's installed app).
--
-- Why this file exists: the marketplace catalogue changes rarely and is
-- read on every marketplace page, so it is cached longest (ttl_connector,
-- ttl_app).  Connector keys carry no tenant because the catalogue is not
-- tenant-scoped; app keys do.  Writes to these tables are plain SQL; the
-- triggers in 30_invalidation.sql drop connector:* on any catalogue change
-- and app:id:<tenant>:<id> on any change of that app.  Same three layers
-- as 40_risk_endpoints.sql.

CREATE FUNCTION openrisk._connector_json(c openrisk.connectors)
RETURNS json LANGUAGE sql STABLE
AS $$
    SELECT json_build_object(
        'id', c.id, 'name', c.name, 'author', c.author, 'version', c.version,
        'description', c.description, 'category', c.category, 'status', c.status,
        'capabilities', c.capabilities, 'rating', c.rating, 'install_count', c.install_count,
        'created_at', c.created_at, 'updated_at', c.updated_at)
$$;

-- connector_list: best rated first, then most installed.  category is
-- matched case-insensitively (the argument arrives lower-cased).
CREATE FUNCTION openrisk._connector_list_compute(p_category text, p_status text,
                                                 p_page integer, p_page_size integer)
RETURNS json LANGUAGE sql STABLE
AS $$
    WITH matching AS (
        SELECT c FROM openrisk.connectors c
         WHERE (p_category IS NULL OR lower(c.category) = p_category)
           AND (p_status IS NULL OR c.status = p_status)
    )
    SELECT json_build_object(
        'data', coalesce((
            SELECT json_agg(openrisk._connector_json(p.c)
                            ORDER BY (p.c).rating DESC, (p.c).install_count DESC, (p.c).name, (p.c).id)
              FROM (SELECT m.c FROM matching m
                     ORDER BY (m.c).rating DESC, (m.c).install_count DESC, (m.c).name, (m.c).id
                     LIMIT p_page_size OFFSET (p_page - 1)::bigint * p_page_size) p),
            '[]'::json),
        'total', (SELECT count(*) FROM matching),
        'page', p_page,
        'page_size', p_page_size)
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
        concat_ws(':', 'connector:list', openrisk._key_text(v_category), coalesce(v_status, '-'), page, page_size),
        NULL, 'SELECT openrisk._connector_list_compute($1, $2, $3, $4)',
        v_category, v_status, page, page_size);
END
$$;

CREATE FUNCTION openrisk.connector_list(category text DEFAULT NULL, status text DEFAULT NULL,
                                        page integer DEFAULT 1, page_size integer DEFAULT 20)
RETURNS json LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
    SELECT (openrisk.connector_list_meta(category, status, page, page_size)).value::json
$$;

CREATE FUNCTION openrisk._connector_get_compute(p_id uuid)
RETURNS json LANGUAGE sql STABLE
AS $$
    SELECT openrisk._connector_json(c) FROM openrisk.connectors c WHERE c.id = p_id
$$;

CREATE FUNCTION openrisk.connector_get_meta(id uuid)
RETURNS openrisk.cache_fetch_result LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM openrisk._require(id, 'id');
    RETURN openrisk.cache_fetch_meta('connector:id:' || id, NULL,
                                     'SELECT openrisk._connector_get_compute($1)', id);
END
$$;

CREATE FUNCTION openrisk.connector_get(id uuid)
RETURNS json LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
    SELECT (openrisk.connector_get_meta(id)).value::json
$$;

-- app_get: NULL when the app does not exist or belongs to another tenant.
CREATE FUNCTION openrisk._app_get_compute(p_tenant uuid, p_id uuid)
RETURNS json LANGUAGE sql STABLE
AS $$
    SELECT json_build_object(
        'id', a.id, 'tenant_id', a.tenant_id, 'connector_id', a.connector_id, 'name', a.name,
        'status', a.status, 'configuration', a.configuration, 'enabled', a.enabled,
        'auto_sync', a.auto_sync, 'sync_interval', a.sync_interval,
        'last_sync_at', a.last_sync_at, 'created_at', a.created_at, 'updated_at', a.updated_at)
      FROM openrisk.marketplace_apps a
     WHERE a.tenant_id = p_tenant AND a.id = p_id
$$;

CREATE FUNCTION openrisk.app_get_meta(tenant uuid, id uuid)
RETURNS openrisk.cache_fetch_result LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM openrisk._require(tenant, 'tenant');
    PERFORM openrisk._require(id, 'id');
    RETURN openrisk.cache_fetch_meta(concat_ws(':', 'app:id', tenant, id), NULL,
                                     'SELECT openrisk._app_get_compute($1, $2)', tenant, id);
END
$$;

CREATE FUNCTION openrisk.app_get(tenant uuid, id uuid)
RETURNS json LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
    SELECT (openrisk.app_get_meta(tenant, id)).value::json
$$;

REVOKE ALL ON FUNCTION openrisk._connector_json(openrisk.connectors),
    openrisk._connector_list_compute(text, text, integer, integer),
    openrisk._connector_get_compute(uuid),
    openrisk._app_get_compute(uuid, uuid) FROM PUBLIC;
-- sql/70_demo_data.sql -- openrisk.generate_demo_data(tenants, risks_per_tenant, seed).
--
-- Why this file exists: the benchmarks, the load tests and a developer's
-- first `make run` all need realistic data of a known size, fast: 100k
-- risks with assets, links, mitigations and a year of history, plus the
-- connector catalogue, in well under a minute on a 2-core machine.
--
-- How it stays fast and honest:
--   * set-based INSERT ... SELECT generate_series, one statement per table,
--     so the statement-level history and invalidation triggers run once
--     per statement, not once per row;
--   * the data goes through the same triggers as any write (scores, history,
--     invalidation are the database's, not the generator's): links are
--     inserted first with the risk foreign key deferred, so the risk insert
--     trigger scores each risk once, with its assets;
--   * later events (mitigated, accepted, deleted) are back-dated UPDATEs,
--     which give the timeline a real year of history;
--   * identifiers are md5 of (seed, tenant, ordinal), and random() is
--     seeded: the same arguments give the same data.
--
-- Demo tenant #n is 00000000-0000-4000-8000-<n as 12 hex digits>; tenant #1
-- is 00000000-0000-4000-8000-000000000001.  Re-running replaces the demo
-- tenants' data.

CREATE FUNCTION openrisk.demo_tenant_id(n integer)
RETURNS uuid LANGUAGE sql IMMUTABLE
AS $$ SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid $$;

-- The marketplace catalogue: a fixed set of connectors with a few versions
-- each; inserting it twice changes nothing.
-- A uniform draw in [0, 1) from a string: for choices made while scanning
-- existing rows, whose physical order (and so random()'s sequence) changes
-- from one load to the next.
CREATE FUNCTION openrisk._demo_rand(draw text)
RETURNS float8 LANGUAGE sql IMMUTABLE
AS $$ SELECT ('x' || substr(md5(draw), 1, 8))::bit(32)::bigint / 4294967296.0 $$;

CREATE FUNCTION openrisk._demo_connectors()
RETURNS void LANGUAGE sql
AS $$
    INSERT INTO openrisk.connectors (id, name, author, version, description, category, status,
                                     capabilities, rating, install_count)
    SELECT md5('connector:' || c.name || ':' || v.version)::uuid, c.name, c.author, v.version,
           c.name || ' connector for OpenRisk (' || c.category || ')', c.category,
           CASE WHEN v.latest THEN c.status ELSE 'deprecated' END, c.capabilities,
           round(((length(c.name) * 7 + v.n * 3) % 50)::numeric / 10, 1),
           (length(c.name) * 131 + v.n * 977) % 5000
      FROM (VALUES
            ('TheHive', 'StrangeBee', 'incident', 'active', ARRAY['import', 'sync']),
            ('OpenRMF', 'Cingulara', 'compliance', 'active', ARRAY['import']),
            ('Splunk', 'Splunk', 'siem', 'active', ARRAY['import', 'alerts']),
            ('Elastic SIEM', 'Elastic', 'siem', 'active', ARRAY['import', 'alerts']),
            ('Wazuh', 'Wazuh', 'siem', 'beta', ARRAY['alerts']),
            ('Jira', 'Atlassian', 'ticketing', 'active', ARRAY['export', 'sync']),
            ('ServiceNow', 'ServiceNow', 'ticketing', 'active', ARRAY['export', 'sync']),
            ('GitHub Advanced Security', 'GitHub', 'vulnerability', 'active', ARRAY['import']),
            ('Qualys', 'Qualys', 'vulnerability', 'active', ARRAY['import']),
            ('Tenable', 'Tenable', 'vulnerability', 'active', ARRAY['import']),
            ('OpenVAS', 'Greenbone', 'vulnerability', 'beta', ARRAY['import']),
            ('AWS Security Hub', 'Amazon', 'cloud', 'active', ARRAY['import', 'alerts']),
            ('Azure Defender', 'Microsoft', 'cloud', 'active', ARRAY['import']),
            ('GCP Security Command Center', 'Google', 'cloud', 'inactive', ARRAY['import']),
            ('Slack', 'Slack', 'notification', 'active', ARRAY['notify']),
            ('Microsoft Teams', 'Microsoft', 'notification', 'active', ARRAY['notify']),
            ('PagerDuty', 'PagerDuty', 'notification', 'active', ARRAY['notify', 'sync']),
            ('MISP', 'CIRCL', 'threat-intel', 'active', ARRAY['import']),
            ('OpenCTI', 'Filigran', 'threat-intel', 'beta', ARRAY['import', 'sync']),
            ('Vanta', 'Vanta', 'compliance', 'active', ARRAY['export'])
           ) AS c(name, author, category, status, capabilities)
     CROSS JOIN (VALUES (1, '1.0.0', false), (2, '1.1.0', false), (3, '2.0.0', true)) AS v(n, version, latest)
    ON CONFLICT (name, version) DO NOTHING
$$;

-- Remove everything of the given tenants, in one statement per table.
-- Deleting a tenant by cascade would run the link and mitigation triggers
-- once per risk (each cascaded row is its own statement): minutes at 100k.
-- Triggers are off for the few statements (session_replication_role), so
-- the keys they would have dropped are invalidated here, explicitly.
CREATE FUNCTION openrisk._demo_forget(ids uuid[])
RETURNS void LANGUAGE plpgsql
SET session_replication_role = replica
AS $$
BEGIN
    DELETE FROM openrisk.mitigations WHERE tenant_id = ANY (ids);
    DELETE FROM openrisk.risk_assets WHERE tenant_id = ANY (ids);
    DELETE FROM openrisk.marketplace_apps WHERE tenant_id = ANY (ids);
    DELETE FROM openrisk.risks WHERE tenant_id = ANY (ids);
    DELETE FROM openrisk.assets WHERE tenant_id = ANY (ids);
    DELETE FROM openrisk.risk_history WHERE tenant_id = ANY (ids);
    DELETE FROM openrisk.tenants WHERE id = ANY (ids);
    PERFORM openrisk._invalidate(openrisk._risk_set_patterns(t, true)
                                 || ARRAY['risk:id:' || t || ':*', 'app:id:' || t || ':*'])
       FROM unnest(ids) t;
END
$$;

CREATE FUNCTION openrisk.generate_demo_data(tenants integer, risks_per_tenant integer, seed integer DEFAULT 42)
RETURNS SETOF uuid LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
DECLARE
    ids uuid[];
    assets_per_tenant integer := greatest(10, risks_per_tenant / 100);
BEGIN
    IF tenants IS NULL OR tenants NOT BETWEEN 1 AND 1000 THEN
        PERFORM openrisk._bad_parameter('tenants must be between 1 and 1000');
    END IF;
    IF risks_per_tenant IS NULL OR risks_per_tenant NOT BETWEEN 0 AND 10000000 THEN
        PERFORM openrisk._bad_parameter('risks_per_tenant must be between 0 and 10000000');
    END IF;
    seed := coalesce(seed, 42);
    PERFORM setseed((seed % 1000000)::float8 / 1000000);
    ids := ARRAY(SELECT openrisk.demo_tenant_id(n) FROM generate_series(1, tenants) n);

    PERFORM openrisk._demo_forget(ids);
    INSERT INTO openrisk.tenants (id, name)
    SELECT openrisk.demo_tenant_id(n), 'Demo tenant ' || n FROM generate_series(1, tenants) n;

    PERFORM openrisk._demo_connectors();

    INSERT INTO openrisk.assets (id, tenant_id, name, type, criticality)
    SELECT md5(format('asset:%s:%s:%s', seed, n, j))::uuid, openrisk.demo_tenant_id(n),
           (ARRAY['web', 'db', 'api', 'mail', 'vpn', 'hr', 'erp', 'crm'])[1 + j % 8] || '-' || j,
           (ARRAY['server', 'database', 'application', 'network', 'saas'])[1 + j % 5],
           (ARRAY['LOW', 'MEDIUM', 'MEDIUM', 'HIGH', 'CRITICAL'])[1 + floor(random() * 5)::int]
      FROM generate_series(1, tenants) n, generate_series(1, assets_per_tenant) j;

    -- Links before risks (foreign key deferred): each risk gets 0..3 assets.
    -- Random draws are made in OFFSET 0 subqueries: evaluated once per row.
    SET CONSTRAINTS openrisk.risk_assets_risk_in_tenant DEFERRED;
    INSERT INTO openrisk.risk_assets (risk_id, asset_id, tenant_id)
    SELECT DISTINCT md5(format('risk:%s:%s:%s', seed, x.n, x.i))::uuid,
           md5(format('asset:%s:%s:%s', seed, x.n, 1 + floor(random() * assets_per_tenant)::int))::uuid,
           openrisk.demo_tenant_id(x.n)
      FROM (SELECT n, i, floor(random() * 4)::int AS links
              FROM generate_series(1, tenants) n, generate_series(1, risks_per_tenant) i
            OFFSET 0) x,
           generate_series(1, x.links) k;

    -- Fresh statistics, or the score lookup of the insert trigger below is
    -- planned for the tables as they were before this load.
    ANALYZE openrisk.assets, openrisk.risk_assets;

    INSERT INTO openrisk.risks (id, tenant_id, title, description, impact, probability, status,
                                tags, frameworks, owner, source, external_id, created_at, updated_at)
    SELECT md5(format('risk:%s:%s:%s', seed, x.n, x.i))::uuid, openrisk.demo_tenant_id(x.n),
           initcap(x.threat) || ' on ' || x.target || ' #' || x.i,
           'Risk of ' || x.threat || ' affecting the ' || x.target || ' of the organisation.',
           x.impact, x.probability, x.status, ARRAY[x.threat, x.target], x.frameworks,
           'owner' || (x.i % 25) || '@demo.example', x.source,
           CASE WHEN x.source <> 'MANUAL' THEN x.source || '-' || x.i END,
           x.created_at, x.created_at
      FROM (SELECT n, i,
                   (ARRAY['ransomware', 'phishing', 'data leak', 'ddos', 'insider threat',
                          'misconfiguration', 'supply chain compromise', 'credential stuffing',
                          'outage', 'fraud'])[1 + floor(random() * 10)::int] AS threat,
                   (ARRAY['payment platform', 'customer database', 'vpn gateway', 'email system',
                          'hr records', 'build pipeline', 'public website', 'erp', 'backup storage',
                          'identity provider'])[1 + floor(random() * 10)::int] AS target,
                   (ARRAY['{ISO27001,SOC2}', '{NIST}', '{GDPR,ISO27001}', '{PCI-DSS,SOC2}', '{}'
                         ])[1 + floor(random() * 5)::int]::text[] AS frameworks,
                   1 + floor(random() * 5)::int AS impact,
                   1 + floor(random() * 5)::int AS probability,
                   CASE WHEN random() < 0.7 THEN 'ACTIVE' ELSE 'DRAFT' END AS status,
                   (ARRAY['MANUAL', 'MANUAL', 'MANUAL', 'MANUAL', 'MANUAL', 'MANUAL', 'MANUAL',
                          'MANUAL', 'THEHIVE', 'OPENRMF'])[1 + floor(random() * 10)::int] AS source,
                   now() - random() * interval '365 days' AS created_at
              FROM generate_series(1, tenants) n, generate_series(1, risks_per_tenant) i
            OFFSET 0) x;
    SET CONSTRAINTS openrisk.risk_assets_risk_in_tenant IMMEDIATE;
    ANALYZE openrisk.risks;

    -- A year of events: some risks were later mitigated or accepted...
    UPDATE openrisk.risks r
       SET status = CASE WHEN openrisk._demo_rand(r.id || ':kind') < 0.8 THEN 'MITIGATED' ELSE 'ACCEPTED' END,
           updated_at = r.created_at + openrisk._demo_rand(r.id || ':when') * (now() - r.created_at)
     WHERE r.tenant_id = ANY (ids) AND openrisk._demo_rand(r.id || ':closed') < 0.3;
    -- ... and a few open ones were deleted.
    UPDATE openrisk.risks r
       SET deleted_at = d.at, updated_at = d.at
      FROM (SELECT x.id, x.created_at + openrisk._demo_rand(x.id || ':deleted_at') * (now() - x.created_at) AS at
              FROM openrisk.risks x
             WHERE x.tenant_id = ANY (ids) AND x.status IN ('DRAFT', 'ACTIVE')
               AND openrisk._demo_rand(x.id || ':deleted') < 0.03) d
     WHERE r.id = d.id;

    -- Mitigations: 0..2 per live risk; done for mitigated risks.
    INSERT INTO openrisk.mitigations (risk_id, tenant_id, title, status, progress, assignee,
                                      due_date, created_at, updated_at)
    SELECT r.id, r.tenant_id, 'Mitigation ' || k || ' for ' || r.title, s.status,
           CASE s.status WHEN 'DONE' THEN 100 WHEN 'PLANNED' THEN 0
                ELSE 10 + floor(openrisk._demo_rand(r.id || ':progress' || k) * 80)::int END,
           'engineer' || floor(openrisk._demo_rand(r.id || ':assignee' || k) * 40)::int || '@demo.example',
           (r.created_at + (30 + floor(openrisk._demo_rand(r.id || ':due' || k) * 180)::int) * interval '1 day')::date,
           r.created_at, r.updated_at
      FROM openrisk.risks r,
           generate_series(1, floor(openrisk._demo_rand(r.id || ':mitigations') * 3)::int) k,
           LATERAL (SELECT CASE WHEN r.status = 'MITIGATED' THEN 'DONE'
                        ELSE (ARRAY['PLANNED', 'IN_PROGRESS', 'DONE'])[1 + floor(openrisk._demo_rand(r.id || ':status' || k) * 3)::int]
                   END AS status) s
     WHERE r.tenant_id = ANY (ids) AND r.deleted_at IS NULL;

    -- A few installed marketplace apps per tenant.
    INSERT INTO openrisk.marketplace_apps (id, tenant_id, connector_id, name, status, configuration,
                                           enabled, auto_sync, sync_interval)
    SELECT md5(format('app:%s:%s:%s', seed, n, c.ord))::uuid, openrisk.demo_tenant_id(n), c.id,
           c.name || ' (demo ' || n || ')',
           (ARRAY['installed', 'installed', 'pending', 'disabled', 'error'])[1 + c.ord % 5],
           jsonb_build_object('endpoint', 'https://' || lower(replace(c.name, ' ', '-')) || '.demo.example'),
           c.ord % 5 <> 3, c.ord % 2 = 0, 300 * c.ord
      FROM generate_series(1, tenants) n,
           (SELECT x.id, x.name, row_number() OVER (ORDER BY x.name) AS ord
              FROM openrisk.connectors x WHERE x.status <> 'deprecated'
             ORDER BY x.name LIMIT 5) c;

    ANALYZE openrisk.risks, openrisk.mitigations, openrisk.risk_history;
    RETURN QUERY SELECT unnest(ids);
END
$$;

REVOKE ALL ON FUNCTION openrisk._demo_connectors(), openrisk._demo_forget(uuid[]), openrisk._demo_rand(text),
    openrisk.generate_demo_data(integer, integer, integer) FROM PUBLIC;
