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
--
-- The audit trail: every history row records who wrote (actor) and, for a
-- write through the API, the gateway's request id, taken from the
-- settings openrisk.actor / openrisk.request_id.  The API's write
-- functions (45_risk_writes.sql) set them for the duration of the write
-- from their arguments -- the gateway passes the token's sub and its
-- request id in the one prepared call -- so a trigger far down (a
-- re-score after an asset link) still knows who caused it.  A plain SQL
-- write records openrisk.actor if the session set it, else current_user.

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

-- Does an UPDATE of a risk change its mitigation counters?  Such an
-- update is made by the mitigation triggers (25_aggregates.sql) and
-- changes nothing else -- the BEFORE trigger below enforces it -- so the
-- history and list triggers can skip it: nothing a client sees changed.
CREATE FUNCTION openrisk._is_count_update(n openrisk.risks, o openrisk.risks)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT (n.mitigations_total, n.mitigations_done) IS DISTINCT FROM (o.mitigations_total, o.mitigations_done)
$$;

-- BEFORE row trigger on risks: the score is never taken from the caller,
-- the identity of a row never changes, and updated_at moves on every update
-- unless the writer set it explicitly (the demo loader back-dates events).
-- A mitigation-count update is left alone, and must change nothing else.
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
        IF openrisk._is_count_update(NEW, OLD) THEN
            -- (generated columns are not computed yet in a BEFORE trigger)
            IF to_jsonb(NEW) - '{mitigations_total,mitigations_done,severity,search}'::text[]
               IS DISTINCT FROM to_jsonb(OLD) - '{mitigations_total,mitigations_done,severity,search}'::text[] THEN
                RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
                    MESSAGE = 'the mitigation counters of a risk are kept by the database and change alone';
            END IF;
            RETURN NEW;
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
RETURNS void LANGUAGE plpgsql
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE openrisk.risks r
           SET score = openrisk._risk_score(r.id, r.impact, r.probability)
         WHERE r.id = ANY (risk_ids)
           AND r.deleted_at IS NULL
           AND r.score <> openrisk._risk_score(r.id, r.impact, r.probability);
END
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

-- Who is writing, for the history: openrisk.actor, else the current role.
CREATE FUNCTION openrisk._history_actor()
RETURNS text LANGUAGE sql STABLE
AS $$ SELECT coalesce(nullif(current_setting('openrisk.actor', true), ''), current_user::text) $$;

-- The request a write belongs to, when a caller said (openrisk.request_id).
CREATE FUNCTION openrisk._history_request_id()
RETURNS text LANGUAGE sql STABLE
AS $$ SELECT nullif(current_setting('openrisk.request_id', true), '') $$;

-- The fields a client sees that differ between two versions of a risk, in
-- the order risk_get shows them; updated_at, which every update moves, is
-- left out.  A re-score after an asset change shows as 'score' alone.
CREATE FUNCTION openrisk._risk_changed_fields(n openrisk.risks, o openrisk.risks)
RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT array_remove(ARRAY[
        CASE WHEN n.title IS DISTINCT FROM o.title THEN 'title' END,
        CASE WHEN n.description IS DISTINCT FROM o.description THEN 'description' END,
        CASE WHEN n.impact IS DISTINCT FROM o.impact THEN 'impact' END,
        CASE WHEN n.probability IS DISTINCT FROM o.probability THEN 'probability' END,
        CASE WHEN n.score IS DISTINCT FROM o.score THEN 'score' END,
        CASE WHEN n.status IS DISTINCT FROM o.status THEN 'status' END,
        CASE WHEN n.tags IS DISTINCT FROM o.tags THEN 'tags' END,
        CASE WHEN n.frameworks IS DISTINCT FROM o.frameworks THEN 'frameworks' END,
        CASE WHEN n.owner IS DISTINCT FROM o.owner THEN 'owner' END,
        CASE WHEN n.source IS DISTINCT FROM o.source THEN 'source' END,
        CASE WHEN n.external_id IS DISTINCT FROM o.external_id THEN 'external_id' END,
        CASE WHEN n.custom_fields IS DISTINCT FROM o.custom_fields THEN 'custom_fields' END,
        CASE WHEN n.created_at IS DISTINCT FROM o.created_at THEN 'created_at' END,
        CASE WHEN n.deleted_at IS DISTINCT FROM o.deleted_at THEN 'deleted_at' END], NULL)
$$;

-- One risk_history row per created, updated or deleted risk.  A soft
-- delete (deleted_at set) is a DELETE event; clearing deleted_at again is
-- a CREATE event, so the timeline's running sums stay exact.  Updates of
-- rows that stay deleted are not events (the risk no longer exists), and
-- neither are mitigation-count updates (nothing shown changed).
--
-- _risk_event(old row, new row) -- NULL old for an INSERT, NULL new for a
-- DELETE -- is the event as a risk_history row (id, actor and request id
-- unset: they are the session's, added when it is stored), or NULL when
-- the change is no event.  with_fields false leaves changed_fields unset
-- too: the aggregates need the event, not its field list, and comparing
-- every field of every row is most of what the event costs.  It is the one definition of an event: the
-- history trigger stores it, and the aggregate trigger
-- (25_aggregates.sql) sums it into the timeline's figures.
CREATE FUNCTION openrisk._risk_event(o openrisk.risks, n openrisk.risks, with_fields boolean DEFAULT true)
RETURNS openrisk.risk_history LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN (
    SELECT CASE WHEN e.kind IS NOT NULL THEN
                   ROW(NULL, (x.r).tenant_id, (x.r).id, e.kind, (x.r).score, (x.r).impact, (x.r).probability,
                       (x.r).status,
                       CASE WHEN e.kind <> 'CREATE' THEN o.score END,
                       CASE WHEN e.kind <> 'CREATE' THEN o.status END,
                       CASE WHEN n IS NULL THEN now()
                            WHEN e.kind = 'DELETE' THEN n.deleted_at
                            WHEN o IS NULL THEN n.created_at
                            ELSE n.updated_at END,
                       NULL, NULL,
                       -- (NOT (x IS NULL): a row with some NULL fields is not IS NOT NULL)
                       CASE WHEN with_fields AND NOT (o IS NULL) AND NOT (n IS NULL)
                            THEN openrisk._risk_changed_fields(n, o) END)::openrisk.risk_history END
          FROM (SELECT CASE WHEN n IS NULL THEN o ELSE n END AS r) x,
               (SELECT CASE
                    WHEN o IS NULL THEN CASE WHEN n.deleted_at IS NULL THEN 'CREATE' END
                    WHEN n IS NULL THEN CASE WHEN o.deleted_at IS NULL THEN 'DELETE' END
                    WHEN o.deleted_at IS NULL AND n.deleted_at IS NOT NULL THEN 'DELETE'
                    WHEN o.deleted_at IS NOT NULL AND n.deleted_at IS NULL THEN 'CREATE'
                    WHEN n.deleted_at IS NULL AND NOT openrisk._is_count_update(n, o) THEN 'UPDATE'
                    END AS kind) e);
END
$$;

-- Store events (rows of _risk_event; NULLs skipped), attributed to the
-- session's actor and request.
CREATE FUNCTION openrisk._record_events(events openrisk.risk_history[])
RETURNS void LANGUAGE plpgsql
AS $$
BEGIN
    INSERT INTO openrisk.risk_history
            (tenant_id, risk_id, change_type, score, impact, probability, status, old_score, old_status, changed_at,
             actor, request_id, changed_fields)
        SELECT e.tenant_id, e.risk_id, e.change_type, e.score, e.impact, e.probability, e.status,
               e.old_score, e.old_status, e.changed_at,
               openrisk._history_actor(), openrisk._history_request_id(), e.changed_fields
          FROM unnest(events) e
         WHERE e.risk_id IS NOT NULL;
END
$$;

-- Transition tables have no statistics, so the planner takes them for one
-- row each and would join old and new rows with a nested loop: quadratic
-- on a bulk update.  enable_nestloop = off makes it hash them instead.
-- INSERT and DELETE see one transition table, changed_rows; UPDATE both.
CREATE FUNCTION openrisk._risks_history()
RETURNS trigger LANGUAGE plpgsql
SET search_path = openrisk, pg_catalog, pg_temp
SET enable_nestloop = off
AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        PERFORM openrisk._record_events(ARRAY(
            SELECT openrisk._risk_event(o, n) FROM new_rows n JOIN old_rows o ON o.id = n.id));
    ELSIF TG_OP = 'INSERT' THEN
        PERFORM openrisk._record_events(ARRAY(SELECT openrisk._risk_event(NULL, c) FROM changed_rows c));
    ELSE
        PERFORM openrisk._record_events(ARRAY(SELECT openrisk._risk_event(c, NULL) FROM changed_rows c));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER risks_history_insert AFTER INSERT ON openrisk.risks
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risks_history();
CREATE TRIGGER risks_history_update AFTER UPDATE ON openrisk.risks
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risks_history();
CREATE TRIGGER risks_history_delete AFTER DELETE ON openrisk.risks
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risks_history();

REVOKE ALL ON FUNCTION openrisk._criticality_factor(text),
    openrisk._history_actor(), openrisk._history_request_id(),
    openrisk._risk_changed_fields(openrisk.risks, openrisk.risks),
    openrisk._is_count_update(openrisk.risks, openrisk.risks),
    openrisk._risk_score(uuid, integer, integer), openrisk._risks_before_write(),
    openrisk._rescore_risks(uuid[]), openrisk._risk_assets_rescore(),
    openrisk._assets_rescore(), openrisk._risk_event(openrisk.risks, openrisk.risks, boolean),
    openrisk._record_events(openrisk.risk_history[]), openrisk._risks_history() FROM PUBLIC;
