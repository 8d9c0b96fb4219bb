-- sql/upgrade/deltas.sql -- the schema changes since the 1.0 release, for
-- ALTER EXTENSION openrisk UPDATE (step 2 of the generated upgrade script;
-- extension/Makefile).
--
-- Rules, so that this file stays maintainable as versions go by:
--   * Only schema and data: tables, columns, constraints, indexes, rows.
--     Functions, triggers and views are never written here: the upgrade
--     re-creates all of them from sql/NN_*.sql (step 3).  (A function a
--     new column or index needs is the exception: it is created here with
--     CREATE OR REPLACE from the same text, and replaced again in step 3.)
--   * Idempotent: every statement checks what is there (IF NOT EXISTS, a
--     catalog lookup), so the file applies to 1.0 and to any later
--     installation, and a new version appends to it.
--   * Runs with no trigger of the extension in place (step 1 dropped them):
--     back-fills here change rows without firing invalidation, history or
--     aggregate triggers; anything that needs the new functions goes to
--     post.sql (step 4).
--   * test/suites/31-upgrade.sh installs the 1.0 release with data,
--     updates it, and compares the catalog with a fresh installation: a
--     change to sql/10_schema.sql without its delta here fails there.

-- 1.1: mitigation counters on the risk row (sql/25_aggregates.sql keeps
-- them; the dashboards read them through the aggregates).
ALTER TABLE openrisk.risks
    ADD COLUMN IF NOT EXISTS mitigations_total integer NOT NULL DEFAULT 0
        CONSTRAINT risks_mitigations_total_check CHECK (mitigations_total >= 0),
    ADD COLUMN IF NOT EXISTS mitigations_done integer NOT NULL DEFAULT 0
        CONSTRAINT risks_check CHECK (mitigations_done BETWEEN 0 AND mitigations_total);  -- the name CREATE TABLE gives it

UPDATE openrisk.risks r
   SET mitigations_total = m.total, mitigations_done = m.done
  FROM (SELECT risk_id, count(*) AS total, count(*) FILTER (WHERE status = 'DONE') AS done
          FROM openrisk.mitigations GROUP BY risk_id) m
 WHERE r.id = m.risk_id AND (r.mitigations_total, r.mitigations_done) IS DISTINCT FROM (m.total, m.done);

-- 1.1: list indexes, one per sort column (sql/10_schema.sql); the 1.0
-- indexes they replace go.  risks_search gains the tenant as its first
-- key (btree_gin).
DROP INDEX IF EXISTS openrisk.risks_tenant_score;
DROP INDEX IF EXISTS openrisk.risks_tenant_created;
DROP INDEX IF EXISTS openrisk.risks_tenant_severity;
DROP INDEX IF EXISTS openrisk.risks_tenant_status;
DO $deltas$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = 'openrisk' AND indexname = 'risks_search'
                                          AND indexdef NOT LIKE '%(tenant_id, search)%') THEN
        DROP INDEX openrisk.risks_search;
    END IF;
END
$deltas$;
CREATE INDEX IF NOT EXISTS risks_list_score ON openrisk.risks (tenant_id, score, id) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS risks_list_title ON openrisk.risks (tenant_id, title, id) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS risks_list_status ON openrisk.risks (tenant_id, status, id) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS risks_list_impact ON openrisk.risks (tenant_id, impact, id) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS risks_list_probability ON openrisk.risks (tenant_id, probability, id) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS risks_list_created_at ON openrisk.risks (tenant_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS risks_list_updated_at ON openrisk.risks (tenant_id, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS risks_list_severity_score ON openrisk.risks (tenant_id, severity, score, id) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS risks_list_status_score ON openrisk.risks (tenant_id, status, score, id) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS risks_title_trgm ON openrisk.risks
    USING gin (tenant_id, lower(title) gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS risks_search ON openrisk.risks USING gin (tenant_id, search) WHERE deleted_at IS NULL;

-- 1.1: the dashboards' aggregates (sql/25_aggregates.sql); filled by
-- post.sql (aggregates_rebuild per tenant).
CREATE TABLE IF NOT EXISTS openrisk.agg (
    tenant_id uuid NOT NULL,
    family    "char" NOT NULL CHECK (family IN ('r', 'h')),
    grain     "char" NOT NULL CHECK (grain IN ('d', 'm', 't')),
    bucket    date NOT NULL,          -- the day, the month's first day, or -infinity
    v         bigint[] NOT NULL,
    PRIMARY KEY (tenant_id, family, grain, bucket)
);
CREATE TABLE IF NOT EXISTS openrisk.agg_delta (
    tenant_id uuid NOT NULL,
    family    "char" NOT NULL CHECK (family IN ('r', 'h')),
    day       date NOT NULL,
    v         bigint[] NOT NULL
);
CREATE INDEX IF NOT EXISTS agg_delta_tenant_day ON openrisk.agg_delta (tenant_id, family, day);
REVOKE ALL ON openrisk.agg, openrisk.agg_delta FROM PUBLIC;

-- 1.1: server-side secrets (the cursor signing key).
CREATE TABLE IF NOT EXISTS openrisk.secrets (
    name  text PRIMARY KEY,
    value bytea NOT NULL
);
INSERT INTO openrisk.secrets (name, value)
SELECT 'cursor', decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex')
 WHERE NOT EXISTS (SELECT 1 FROM openrisk.secrets WHERE name = 'cursor');
REVOKE ALL ON openrisk.secrets FROM PUBLIC;

-- 1.1: tenant bindings of SQL roles (sql/80_privileges.sql).
CREATE TABLE IF NOT EXISTS openrisk.tenant_bindings (
    role    regrole NOT NULL,
    tenant  uuid NOT NULL REFERENCES openrisk.tenants (id) ON DELETE CASCADE,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (role, tenant)
);

-- 1.1: the audit trail (sql/20_scoring.sql, 43_risk_history.sql): who
-- wrote, for which request, which fields changed; rows from 1.0 keep
-- NULL there.  One risk's history is read newest first by (risk_id, id).
ALTER TABLE openrisk.risk_history
    ADD COLUMN IF NOT EXISTS actor text,
    ADD COLUMN IF NOT EXISTS request_id text,
    ADD COLUMN IF NOT EXISTS changed_fields text[];
DO $deltas$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = 'openrisk' AND indexname = 'risk_history_risk'
                                          AND indexdef NOT LIKE '%(risk_id, id)%') THEN
        DROP INDEX openrisk.risk_history_risk;
    END IF;
END
$deltas$;
CREATE INDEX IF NOT EXISTS risk_history_risk ON openrisk.risk_history (risk_id, id);

-- 1.1: the list's membership filters (sql/39_risk_filters.sql).
CREATE INDEX IF NOT EXISTS risks_filter_members ON openrisk.risks
    USING gin (tenant_id, owner, tags, frameworks) WHERE deleted_at IS NULL;

-- 1.1: the composite types of the list filters and of the write results
-- (39_risk_filters.sql, 40_risk_list.sql, 45_risk_writes.sql).
DO $deltas$
BEGIN
    IF to_regtype('openrisk.risk_filter') IS NULL THEN
        CREATE TYPE openrisk.risk_filter AS (
            owner text, tag text, framework text, min_score numeric, max_score numeric,
            impact integer, probability integer, created_after timestamptz, created_before timestamptz);
    END IF;
    IF to_regtype('openrisk.risk_list_args') IS NULL THEN
        CREATE TYPE openrisk.risk_list_args AS (
            severity text, status text, q text, sort_by text, sort_dir text, after text,
            filter openrisk.risk_filter, filter_text text);
    END IF;
    IF to_regtype('openrisk.write_result') IS NULL THEN
        CREATE TYPE openrisk.write_result AS (outcome text, etag text, value text);
    END IF;
END
$deltas$;
