-- sql/80_privileges.sql -- who may call the API functions, and for which
-- tenants.
--
-- Why this file exists: the endpoint functions are SECURITY DEFINER (they
-- read the tables as the extension owner), so EXECUTE on them is the whole
-- of a caller's privilege.  Until 1.1 every one of them, the writes
-- included, was executable by PUBLIC: any role that could connect could
-- read and write every tenant.  PostgreSQL's own advice for SECURITY
-- DEFINER functions is to revoke PUBLIC and grant deliberately; here that
-- is three NOLOGIN group roles, each holding EXECUTE on exactly its
-- functions:
--
--   openrisk_reader  every read endpoint (risk_list, risk_get, risk_search,
--                    risk_matrix, risk_history, risk_export_page,
--                    dashboard_*, connector_*, app_get, and their *_meta
--                    variants)
--   openrisk_writer  risk_create, risk_update, risk_delete (and *_meta)
--   openrisk_admin   cache_invalidate_tenant
--
-- A login role is made a member of the groups it needs (the gateway's
-- openrisk_gateway of all three: tools/cluster.sh).  Roles are
-- cluster-wide, so they are created only when missing (a second database
-- with the extension shares them) and DROP EXTENSION leaves them.
--
-- Tenant binding: an operator can bind a role to tenants
-- (openrisk.grant_tenant(role, tenant) / revoke_tenant).  A caller that is,
-- or has the privileges of, a bound role may then name only its tenants;
-- every endpoint function refuses any other with 42501 (the check is
-- openrisk._tenant_arg, 15_common.sql / src/tenant_acl.c).  Superusers and
-- unbound roles are not restricted.  The connector catalogue is global:
-- connector_list / connector_get take no tenant.  docs/SECURITY.md.

DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['openrisk_reader', 'openrisk_writer', 'openrisk_admin'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$roles$;

-- Which roles are bound to which tenants.  A role is kept by oid (so a
-- rename keeps its bindings); a dropped role's rows bind nobody.
CREATE TABLE openrisk.tenant_bindings (
    role    regrole NOT NULL,
    tenant  uuid NOT NULL REFERENCES openrisk.tenants (id) ON DELETE CASCADE,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (role, tenant)
);
REVOKE ALL ON openrisk.tenant_bindings FROM PUBLIC;

-- Every session re-reads its bindings once a change commits.
CREATE FUNCTION openrisk._tenant_bindings_changed()
RETURNS trigger AS 'MODULE_PATHNAME', 'openrisk_tenant_bindings_changed'
LANGUAGE C;
CREATE TRIGGER tenant_bindings_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON openrisk.tenant_bindings
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._tenant_bindings_changed();

-- Bind role to tenant (idempotent); returns true when it was not bound yet.
CREATE FUNCTION openrisk.grant_tenant(role regrole, tenant uuid)
RETURNS boolean LANGUAGE plpgsql VOLATILE
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM openrisk._require(role, 'role');
    PERFORM openrisk._require(tenant, 'tenant');
    IF NOT EXISTS (SELECT 1 FROM openrisk.tenants t WHERE t.id = grant_tenant.tenant) THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', MESSAGE = 'the tenant does not exist';
    END IF;
    INSERT INTO openrisk.tenant_bindings (role, tenant) VALUES (role, tenant) ON CONFLICT DO NOTHING;
    RETURN FOUND;
END
$$;

-- Remove a binding; returns true when there was one.  A role whose last
-- binding goes is unrestricted again (as far as its grants reach).
CREATE FUNCTION openrisk.revoke_tenant(role regrole, tenant uuid)
RETURNS boolean LANGUAGE sql VOLATILE
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
    WITH gone AS (
        DELETE FROM openrisk.tenant_bindings b
         WHERE b.role = revoke_tenant.role AND b.tenant = revoke_tenant.tenant RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM gone)
$$;

-- Binding is for operators: the owner (superuser) only.
REVOKE ALL ON FUNCTION openrisk.grant_tenant(regrole, uuid), openrisk.revoke_tenant(regrole, uuid),
    openrisk._tenant_bindings_changed() FROM PUBLIC;

-- The API: PUBLIC has nothing, each group exactly its functions -- every
-- overload of each name listed, so a signature is written only where the
-- function is.
DO $grants$
DECLARE
    f record;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure AS fn, g.grp
          FROM (VALUES
                ('risk_list', 'openrisk_reader'), ('risk_list_meta', 'openrisk_reader'),
                ('risk_get', 'openrisk_reader'), ('risk_get_meta', 'openrisk_reader'),
                ('risk_search', 'openrisk_reader'), ('risk_search_meta', 'openrisk_reader'),
                ('risk_matrix', 'openrisk_reader'), ('risk_matrix_meta', 'openrisk_reader'),
                ('risk_history', 'openrisk_reader'), ('risk_history_meta', 'openrisk_reader'),
                ('risk_export_page', 'openrisk_reader'),
                ('dashboard_stats', 'openrisk_reader'), ('dashboard_stats_meta', 'openrisk_reader'),
                ('dashboard_matrix', 'openrisk_reader'), ('dashboard_matrix_meta', 'openrisk_reader'),
                ('dashboard_timeline', 'openrisk_reader'), ('dashboard_timeline_meta', 'openrisk_reader'),
                ('connector_list', 'openrisk_reader'), ('connector_list_meta', 'openrisk_reader'),
                ('connector_get', 'openrisk_reader'), ('connector_get_meta', 'openrisk_reader'),
                ('app_get', 'openrisk_reader'), ('app_get_meta', 'openrisk_reader'),
                ('risk_create', 'openrisk_writer'), ('risk_create_meta', 'openrisk_writer'),
                ('risk_update', 'openrisk_writer'), ('risk_update_meta', 'openrisk_writer'),
                ('risk_delete', 'openrisk_writer'), ('risk_delete_meta', 'openrisk_writer'),
                ('cache_invalidate_tenant', 'openrisk_admin')) g(name, grp)
          JOIN pg_proc p ON p.proname = g.name AND p.pronamespace = 'openrisk'::regnamespace
    LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f.fn);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', f.fn, f.grp);
    END LOOP;
END
$grants$;
