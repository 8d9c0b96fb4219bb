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
