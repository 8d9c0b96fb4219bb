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
-- read filters on (tenant_id, live rows) first, every list is read in index
-- order with LIMIT, and the dashboards read the aggregates of
-- 25_aggregates.sql instead of the rows.

CREATE TABLE openrisk.tenants (
    id         uuid PRIMARY KEY,
    name       text NOT NULL CONSTRAINT tenants_name_length CHECK (length(name) BETWEEN 1 AND 255),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The text risk_search matches.  array_to_string is only STABLE in
-- general (element output functions may depend on settings) but is
-- immutable for text[], which a generated column needs.
CREATE FUNCTION openrisk._risk_search_document(title text, description text, tags text[])
RETURNS tsvector LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    RETURN to_tsvector('simple'::regconfig, title || ' ' || coalesce(description, '') || ' ' ||
                                            array_to_string(tags, ' '));
END
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
    -- How many mitigations the risk has, and how many are DONE; kept by
    -- the mitigation triggers (25_aggregates.sql) so that every dashboard
    -- figure is a function of the risk row alone.  Not shown by the API.
    mitigations_total integer NOT NULL DEFAULT 0 CHECK (mitigations_total >= 0),
    mitigations_done  integer NOT NULL DEFAULT 0 CHECK (mitigations_done BETWEEN 0 AND mitigations_total),
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

-- Live rows of one tenant, one index per sortable column of risk_list
-- (40_risk_list.sql).  Each is (tenant, column, id): read forwards for asc
-- and backwards for desc it yields a page in order without sorting the
-- tenant, and a keyset cursor (column, id) starts it at any depth in
-- O(log n).  created_at also serves the dashboards' boundary day.
CREATE INDEX risks_list_score ON openrisk.risks (tenant_id, score, id) WHERE deleted_at IS NULL;
CREATE INDEX risks_list_title ON openrisk.risks (tenant_id, title, id) WHERE deleted_at IS NULL;
CREATE INDEX risks_list_status ON openrisk.risks (tenant_id, status, id) WHERE deleted_at IS NULL;
CREATE INDEX risks_list_impact ON openrisk.risks (tenant_id, impact, id) WHERE deleted_at IS NULL;
CREATE INDEX risks_list_probability ON openrisk.risks (tenant_id, probability, id) WHERE deleted_at IS NULL;
CREATE INDEX risks_list_created_at ON openrisk.risks (tenant_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX risks_list_updated_at ON openrisk.risks (tenant_id, updated_at, id) WHERE deleted_at IS NULL;
-- The filters with the default sort (score), the lists read most.
CREATE INDEX risks_list_severity_score ON openrisk.risks (tenant_id, severity, score, id) WHERE deleted_at IS NULL;
CREATE INDEX risks_list_status_score ON openrisk.risks (tenant_id, status, score, id) WHERE deleted_at IS NULL;
-- Title substrings (the list's q filter, pg_trgm) and full-text search
-- (risk_search); the tenant is a key of the same GIN index (btree_gin), so
-- a term common in other tenants costs nothing here.
CREATE INDEX risks_title_trgm ON openrisk.risks
    USING gin (tenant_id, lower(title) gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE INDEX risks_search ON openrisk.risks USING gin (tenant_id, search) WHERE deleted_at IS NULL;
-- The list's membership filters (owner =, tags @>, frameworks @>, see
-- 39_risk_filters.sql) in one GIN index: btree_gin makes the tenant and
-- the owner keys of it next to the arrays' elements, so any combination
-- of them is one index scan intersecting posting lists, and a tag common
-- in other tenants costs nothing here.  Ranges (score, impact,
-- probability, created_at) use the (tenant, column, id) indexes above.
CREATE INDEX risks_filter_members ON openrisk.risks
    USING gin (tenant_id, owner, tags, frameworks) WHERE deleted_at IS NULL;

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
-- actor, request_id and changed_fields are the audit trail: who wrote
-- (the API's actor, else the SQL role), which gateway request, and which
-- fields a client sees changed (NULL on rows from before they existed).
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
    changed_at  timestamptz NOT NULL,
    actor       text,
    request_id  text,
    changed_fields text[]
);
CREATE INDEX risk_history_tenant_time ON openrisk.risk_history (tenant_id, changed_at);
-- One risk's history newest first, a page at a time (risk_history_meta).
CREATE INDEX risk_history_risk ON openrisk.risk_history (risk_id, id);

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

-- Server-side secrets, e.g. the key that signs list cursors: made once per
-- installation from gen_random_uuid() (a strong random source), never
-- shown to clients.
CREATE TABLE openrisk.secrets (
    name  text PRIMARY KEY,
    value bytea NOT NULL
);
INSERT INTO openrisk.secrets (name, value)
SELECT 'cursor', decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex');

-- Data is reached through the SECURITY DEFINER endpoint functions only.
REVOKE ALL ON openrisk.tenants, openrisk.risks, openrisk.assets, openrisk.risk_assets,
    openrisk.mitigations, openrisk.risk_history, openrisk.connectors,
    openrisk.marketplace_apps, openrisk.secrets FROM PUBLIC;
