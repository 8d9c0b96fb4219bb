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
-- Narrow on purpose: a write drops what its changed rows and columns can
-- affect, nothing more.
--   * Lists show every field of a risk, so any change a client can see
--     drops the tenant's lists; a change of the hidden mitigation
--     counters does not.  Searches likewise, but only those that can
--     contain the changed risks: the ones anchored on a lexeme of their
--     documents before or after the change, and the unanchored ones
--     (16_keys.sql; a statement of more than _max_search_rows() rows
--     drops them all).
--   * Dashboards and matrices are NOT handled here: they are sums kept in
--     25_aggregates.sql, and the statement that appends a non-zero
--     difference to them drops exactly the windows that difference falls
--     in (a description-only PATCH drops none; a PATCH of a risk created
--     last year does not drop the 'week' figures).
--   * A risk's own key (risk_get shows its mitigations and assets) when it
--     or anything hanging off it changes.
--   * A risk's history keys when history rows of that risk are written:
--     risk_history has its own trigger, so whatever writes history (a
--     risk trigger, a retention purge) drops exactly those risks' pages.
-- Keys and patterns come from 16_keys.sql, the one place they are spelled.
--
-- Statement-level triggers with transition tables keep a bulk load cheap:
-- a 100k-row INSERT costs one DISTINCT over the new rows and a handful of
-- O(1) prefix invalidations, not 100k trigger calls.

-- Above this many distinct risks in one statement, the per-risk keys of a
-- tenant are dropped with one prefix pattern instead of one key each.
CREATE FUNCTION openrisk._max_exact_invalidations()
RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT 1000 $$;

-- The keys of some risks of one tenant in a per-risk family: 'id', each
-- risk's own key (risk_get); 'history', each risk's history pages (a
-- prefix per risk).  The tenant's whole family when there are too many to
-- name one by one.
CREATE FUNCTION openrisk._risk_id_patterns(tenant uuid, risk_ids uuid[], family text DEFAULT 'id')
RETURNS text[] LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    RETURN (
    SELECT CASE WHEN cardinality(risk_ids) > openrisk._max_exact_invalidations()
                THEN ARRAY[openrisk._family(CASE family WHEN 'history' THEN openrisk._kp_risk_history(tenant)
                                                                 ELSE openrisk._kp_risk_id(tenant) END)]
                WHEN family = 'history'
                THEN ARRAY(SELECT openrisk._family(openrisk._kp_risk_history_of(tenant, r)) FROM unnest(risk_ids) r)
                ELSE ARRAY(SELECT openrisk._key_risk_id(tenant, r) FROM unnest(risk_ids) r) END);
END
$$;

-- Above this many rows in one statement, the lexemes of the changed risks
-- are not gathered and the tenant's searches are dropped as a family.
CREATE FUNCTION openrisk._max_search_rows()
RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT 64 $$;

-- What a visible change to some risks of a tenant drops: its lists, the
-- searches that can contain the risks (DOCS: their search documents
-- before and after; NULL: all searches), the risks' own keys, and its
-- reports when a risk disappeared.
CREATE FUNCTION openrisk._risk_change_patterns(tenant uuid, risk_ids uuid[], removed boolean, docs tsvector[])
RETURNS text[] LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    RETURN ARRAY[openrisk._family(openrisk._kp_risk_list(tenant))]
           || openrisk._search_patterns(tenant, openrisk._search_lexemes(docs))
           || openrisk._risk_id_patterns(tenant, risk_ids)
           || CASE WHEN removed THEN ARRAY[openrisk._family(openrisk._kp_report(tenant))]
                   ELSE '{}'::text[] END;
END
$$;

-- risks.  An UPDATE row counts when the risk was or is live; a change of
-- the mitigation counters alone drops the risk's key only (its mitigation
-- list changed).  Old and new rows are joined by hashing (transition
-- tables have no statistics: a nested loop would be quadratic).
CREATE FUNCTION openrisk._risks_invalidate()
RETURNS trigger LANGUAGE plpgsql
SET search_path = openrisk, pg_catalog, pg_temp
SET enable_nestloop = off
AS $$
DECLARE
    -- few enough rows to gather their search documents
    few boolean;
BEGIN
    IF TG_OP = 'INSERT' THEN
        few := (SELECT count(*) <= openrisk._max_search_rows() FROM changed_rows);
        PERFORM openrisk._invalidate(openrisk._risk_change_patterns(tenant_id, '{}', false,
                                                                    array_agg(search) FILTER (WHERE few)))
           FROM changed_rows WHERE deleted_at IS NULL GROUP BY tenant_id;
    ELSIF TG_OP = 'DELETE' THEN
        few := (SELECT count(*) <= openrisk._max_search_rows() FROM changed_rows);
        PERFORM openrisk._invalidate(openrisk._risk_change_patterns(tenant_id, array_agg(id), true,
                                                                    array_agg(search) FILTER (WHERE few)))
           FROM changed_rows GROUP BY tenant_id;
    ELSE
        few := (SELECT count(*) <= openrisk._max_search_rows() FROM new_rows);
        PERFORM openrisk._invalidate(CASE WHEN bool_and(c.count_only)
                    THEN openrisk._risk_id_patterns(c.tenant_id, array_agg(c.id))
                    ELSE openrisk._risk_change_patterns(c.tenant_id, array_agg(c.id), bool_or(c.removed),
                             array_agg(c.new_doc) FILTER (WHERE few) || array_agg(c.old_doc) FILTER (WHERE few)) END)
           FROM (SELECT n.tenant_id, n.id, openrisk._is_count_update(n, o) AS count_only,
                        n.deleted_at IS NOT NULL AS removed, n.search AS new_doc, o.search AS old_doc
                   FROM new_rows n JOIN old_rows o ON o.id = n.id
                  WHERE n.deleted_at IS NULL OR o.deleted_at IS NULL) c
          GROUP BY c.tenant_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER risks_invalidate_insert AFTER INSERT ON openrisk.risks
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risks_invalidate();
CREATE TRIGGER risks_invalidate_update AFTER UPDATE ON openrisk.risks
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risks_invalidate();
CREATE TRIGGER risks_invalidate_delete AFTER DELETE ON openrisk.risks
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risks_invalidate();

-- Rows that hang off a risk (mitigations, asset links): risk_get shows
-- them, so the risks they touch.  What they do to dashboards flows through
-- the risk rows (mitigation counters, re-scoring), invalidated above and
-- by the aggregates.  INSERT and DELETE see changed_rows, UPDATE both.
-- The trigger argument names the per-risk family to drop (default 'id');
-- risk_history's triggers pass 'history'.
CREATE FUNCTION openrisk._risk_children_invalidate()
RETURNS trigger LANGUAGE plpgsql
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
DECLARE
    family text := coalesce(TG_ARGV[0], 'id');
BEGIN
    IF TG_OP = 'UPDATE' THEN
        PERFORM openrisk._invalidate(openrisk._risk_id_patterns(tenant_id, array_agg(DISTINCT risk_id), family))
           FROM (SELECT tenant_id, risk_id FROM new_rows
                 UNION SELECT tenant_id, risk_id FROM old_rows) t
          GROUP BY tenant_id;
    ELSE
        PERFORM openrisk._invalidate(openrisk._risk_id_patterns(tenant_id, array_agg(DISTINCT risk_id), family))
           FROM changed_rows GROUP BY tenant_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER mitigations_invalidate_insert AFTER INSERT ON openrisk.mitigations
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risk_children_invalidate();
CREATE TRIGGER mitigations_invalidate_update AFTER UPDATE ON openrisk.mitigations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risk_children_invalidate();
CREATE TRIGGER mitigations_invalidate_delete AFTER DELETE ON openrisk.mitigations
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risk_children_invalidate();

CREATE TRIGGER risk_assets_invalidate_insert AFTER INSERT ON openrisk.risk_assets
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risk_children_invalidate();
CREATE TRIGGER risk_assets_invalidate_update AFTER UPDATE ON openrisk.risk_assets
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risk_children_invalidate();
CREATE TRIGGER risk_assets_invalidate_delete AFTER DELETE ON openrisk.risk_assets
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risk_children_invalidate();

-- risk_history: the history pages of the risks whose rows changed.
CREATE TRIGGER risk_history_invalidate_insert AFTER INSERT ON openrisk.risk_history
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risk_children_invalidate('history');
CREATE TRIGGER risk_history_invalidate_update AFTER UPDATE ON openrisk.risk_history
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risk_children_invalidate('history');
CREATE TRIGGER risk_history_invalidate_delete AFTER DELETE ON openrisk.risk_history
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risk_children_invalidate('history');

-- An asset's name, type or criticality changed: the risks linked to it show
-- it.  (A criticality change also re-scores them: a risk UPDATE, above.)  A
-- deleted asset drops its links by cascade, and the link trigger above
-- covers those risks.  A new asset is linked to nothing yet.
CREATE FUNCTION openrisk._assets_invalidate()
RETURNS trigger LANGUAGE plpgsql
SET search_path = openrisk, pg_catalog, pg_temp
SET enable_nestloop = off
AS $$
BEGIN
    PERFORM openrisk._invalidate(openrisk._risk_id_patterns(a.tenant_id,
                                     ARRAY(SELECT DISTINCT ra.risk_id FROM openrisk.risk_assets ra
                                            WHERE ra.asset_id = ANY (a.ids))))
       FROM (SELECT n.tenant_id, array_agg(n.id) AS ids
               FROM new_rows n JOIN old_rows o ON o.id = n.id
              WHERE (n.name, n.type, n.criticality) IS DISTINCT FROM (o.name, o.type, o.criticality)
              GROUP BY n.tenant_id) a;
    RETURN NULL;
END
$$;

CREATE TRIGGER assets_invalidate_update AFTER UPDATE ON openrisk.assets
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._assets_invalidate();

-- The catalogue is global and small: any change drops every connector key.
CREATE FUNCTION openrisk._connectors_invalidate()
RETURNS trigger LANGUAGE plpgsql
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM openrisk._invalidate(ARRAY[openrisk._family(openrisk._kp_connector_list()),
                                       openrisk._family(openrisk._kp_connector_id())]);
    RETURN NULL;
END
$$;

-- TRUNCATE has no transition tables: it drops every tenant's families
-- (_tenant_key_prefixes with no tenant are the families' all-tenant
-- prefixes).
CREATE FUNCTION openrisk._truncate_invalidate()
RETURNS trigger LANGUAGE plpgsql
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM openrisk._invalidate(ARRAY(SELECT openrisk._family(p)
                                         FROM unnest(openrisk._tenant_key_prefixes(NULL)) p
                                        WHERE TG_TABLE_NAME <> 'marketplace_apps' OR p = openrisk._kp_app_id(NULL)));
    RETURN NULL;
END
$$;

CREATE TRIGGER connectors_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON openrisk.connectors
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._connectors_invalidate();
CREATE TRIGGER risks_invalidate_truncate AFTER TRUNCATE ON openrisk.risks
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._truncate_invalidate();
CREATE TRIGGER mitigations_invalidate_truncate AFTER TRUNCATE ON openrisk.mitigations
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._truncate_invalidate();
CREATE TRIGGER risk_assets_invalidate_truncate AFTER TRUNCATE ON openrisk.risk_assets
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._truncate_invalidate();
CREATE TRIGGER risk_history_invalidate_truncate AFTER TRUNCATE ON openrisk.risk_history
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._truncate_invalidate();
CREATE TRIGGER assets_invalidate_truncate AFTER TRUNCATE ON openrisk.assets
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._truncate_invalidate();
CREATE TRIGGER marketplace_apps_invalidate_truncate AFTER TRUNCATE ON openrisk.marketplace_apps
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._truncate_invalidate();

-- An installed app: only its own key (app_get is the only reader).
CREATE FUNCTION openrisk._apps_invalidate()
RETURNS trigger LANGUAGE plpgsql
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        PERFORM openrisk._invalidate(ARRAY(
            SELECT openrisk._key_app_id(tenant_id, id) FROM new_rows
            UNION SELECT openrisk._key_app_id(tenant_id, id) FROM old_rows));
    ELSE
        PERFORM openrisk._invalidate(ARRAY(
            SELECT DISTINCT openrisk._key_app_id(tenant_id, id) FROM changed_rows));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER marketplace_apps_invalidate_insert AFTER INSERT ON openrisk.marketplace_apps
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._apps_invalidate();
CREATE TRIGGER marketplace_apps_invalidate_update AFTER UPDATE ON openrisk.marketplace_apps
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._apps_invalidate();
CREATE TRIGGER marketplace_apps_invalidate_delete AFTER DELETE ON openrisk.marketplace_apps
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._apps_invalidate();

REVOKE ALL ON FUNCTION openrisk._max_exact_invalidations(), openrisk._risk_id_patterns(uuid, uuid[], text),
    openrisk._max_search_rows(), openrisk._risk_change_patterns(uuid, uuid[], boolean, tsvector[]), openrisk._risks_invalidate(),
    openrisk._risk_children_invalidate(), openrisk._assets_invalidate(),
    openrisk._connectors_invalidate(), openrisk._truncate_invalidate(),
    openrisk._apps_invalidate() FROM PUBLIC;
