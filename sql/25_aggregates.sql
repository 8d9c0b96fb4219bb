-- sql/25_aggregates.sql -- dashboard figures kept at commit, so a dashboard
-- never scans a tenant.
--
-- Why this file exists: dashboard_stats, the matrices and the timeline are
-- sums over every live risk (or every history event) of a tenant; at 100k
-- risks computing them costs 20-110 ms, and every write makes them stale.
-- Here each write adds its difference to per-tenant aggregates inside the
-- writing transaction, so rollback, savepoints, read-your-writes and crash
-- safety are PostgreSQL's own, and a dashboard reads a few dozen rows.
--
-- The data structure.  Every figure is a sum over rows of a small
-- per-row VECTOR (bigint[], see extension/src/vec.c):
--
--   family 'r', one vector per live risk, bucketed by the UTC day of its
--   created_at (the dashboards' period windows select by created_at):
--     [1]       1 (the risk)
--     [2..17]   1 at severity x status (2 + 4*(severity-1) + (status-1);
--               severities LOW MEDIUM HIGH CRITICAL, statuses DRAFT ACTIVE
--               MITIGATED ACCEPTED)
--     [18]      score in cents
--     [19..20]  mitigations, mitigations DONE
--     [21..45]  1 at impact x probability cell (21 + 5*(impact-1) + probability-1)
--     [46..70]  score in cents at that cell
--   family 'h', one vector per risk_history event (_risk_event, the rows
--   the history trigger stores), bucketed by the UTC day of changed_at
--   (the timeline):
--     [1] created  [2] became MITIGATED  [3] deleted
--     [4] live-risk delta  [5] open (DRAFT/ACTIVE) delta  [6] score delta in cents
--
-- Where the sums live:
--
--   agg_delta (tenant, family, day, v)   append-only: every statement that
--       changes risks INSERTs the per-day sums of (new rows' vectors - old
--       rows' vectors) and of its events' vectors, skipping zero sums (one
--       trigger: risk_history is written only by the risks triggers, from
--       the same events).
--   agg (tenant, family, grain, bucket, v)   the folded base, at three
--       grains: 'd' per day, 'm' per month, 't' the tenant's total.
--
--   value(any window) = base rows covering it + delta rows inside it.
--
-- Contention.  Writers only INSERT deltas: no row is shared, so concurrent
-- writers of one tenant never wait for each other and no upsert can
-- deadlock.  Now and then (a random 1 in 32 statements, or when a
-- statement wrote many deltas) a writer FOLDS the tenant's deltas into the
-- base -- DELETE ... RETURNING and an upsert in one statement -- under a
-- per-tenant advisory lock taken with pg_try_advisory_xact_lock: a second
-- folder skips instead of waiting, so folding never blocks a writer
-- either.  A reader sums base + deltas in one snapshot, which is
-- consistent because a fold moves rows from one table to the other in one
-- transaction.  Unfolded deltas are few (about 32 per tenant on average),
-- so a dashboard reads O(days in a partial month + months + 32) rows.
--
-- Windows stay exact.  A period window [since, oo) is: the live risks of
-- the boundary day created at or after `since` (read from the risks
-- themselves, an index range), plus the whole days after it up to the end
-- of that month ('d' rows), plus every later month ('m' rows), plus the
-- deltas of days after the boundary day.
--
-- Invalidation comes from the same deltas: a statement whose delta for a
-- day is zero for a figure (a description-only PATCH, a change to a risk
-- created before every cached window) drops nothing; otherwise it drops
-- exactly the dashboard and matrix keys whose window contains that day.
--
-- The from-scratch computations (_risk_vectors_scan, _history_vectors_scan)
-- are the test oracle and what aggregates_verify / aggregates_rebuild use.

-- Vector arithmetic, implemented in C (extension/src/vec.c).
CREATE FUNCTION openrisk._vec(n integer, positions integer[], vals bigint[])
RETURNS bigint[] AS 'MODULE_PATHNAME', 'openrisk_vec'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION openrisk._vec_add(a bigint[], b bigint[])
RETURNS bigint[] AS 'MODULE_PATHNAME', 'openrisk_vec_add'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION openrisk._vec_scale(v bigint[], factor bigint)
RETURNS bigint[] AS 'MODULE_PATHNAME', 'openrisk_vec_scale'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION openrisk._vec_nonzero(v bigint[], lo integer, hi integer)
RETURNS boolean AS 'MODULE_PATHNAME', 'openrisk_vec_nonzero'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION openrisk._vec_sum_accum(internal, bigint[])
RETURNS internal AS 'MODULE_PATHNAME', 'openrisk_vec_sum_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION openrisk._vec_sum_final(internal)
RETURNS bigint[] AS 'MODULE_PATHNAME', 'openrisk_vec_sum_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE openrisk._vec_sum(bigint[]) (
    SFUNC = openrisk._vec_sum_accum, STYPE = internal, FINALFUNC = openrisk._vec_sum_final
);

-- Vector lengths of the two families (the layout above).
CREATE FUNCTION openrisk._rv_len() RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 70 $$;
CREATE FUNCTION openrisk._hv_len() RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 6 $$;

CREATE FUNCTION openrisk._utc_day(t timestamptz)
RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT (t AT TIME ZONE 'UTC')::date $$;

-- The vector of one live risk, times sign (+1 a row that appears, -1 one
-- that goes).  A single expression, so the planner inlines it.
CREATE FUNCTION openrisk._risk_vec(severity text, status text, score numeric, impact integer,
                                   probability integer, mitigations integer, mitigations_done integer,
                                   sign integer)
RETURNS bigint[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT openrisk._vec(openrisk._rv_len(),
        ARRAY[1,
              2 + 4 * (array_position(ARRAY['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'], severity) - 1)
                + array_position(ARRAY['DRAFT', 'ACTIVE', 'MITIGATED', 'ACCEPTED'], status) - 1,
              18, 19, 20,
              21 + 5 * (impact - 1) + probability - 1,
              46 + 5 * (impact - 1) + probability - 1],
        ARRAY[sign, sign, sign * (score * 100)::bigint, sign * mitigations, sign * mitigations_done,
              sign, sign * (score * 100)::bigint]::bigint[])
$$;

-- The vector of one history event (see the layout): the same event rules
-- as the timeline oracle in 50_dashboard_endpoints.sql.
CREATE FUNCTION openrisk._history_vec(change_type text, status text, old_status text,
                                      score numeric, old_score numeric, sign integer)
RETURNS bigint[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT ARRAY[
        sign * (change_type = 'CREATE')::int,
        sign * (change_type <> 'DELETE' AND status = 'MITIGATED'
                AND old_status IS DISTINCT FROM 'MITIGATED')::int,
        sign * (change_type = 'DELETE')::int,
        sign * ((change_type <> 'DELETE')::int - (change_type <> 'CREATE')::int),
        sign * ((change_type <> 'DELETE' AND status IN ('DRAFT', 'ACTIVE'))::int
                - (change_type <> 'CREATE' AND old_status IN ('DRAFT', 'ACTIVE'))::int),
        sign * ((CASE WHEN change_type <> 'DELETE' THEN score * 100 ELSE 0 END)
                - (CASE WHEN change_type <> 'CREATE' THEN old_score * 100 ELSE 0 END))::bigint
    ]::bigint[]
$$;

CREATE TABLE openrisk.agg (
    tenant_id uuid NOT NULL,
    family    "char" NOT NULL CHECK (family IN ('r', 'h')),
    grain     "char" NOT NULL CHECK (grain IN ('d', 'm', 't')),
    bucket    date NOT NULL,          -- the day, the month's first day, or -infinity
    v         bigint[] NOT NULL,
    PRIMARY KEY (tenant_id, family, grain, bucket)
);

CREATE TABLE openrisk.agg_delta (
    tenant_id uuid NOT NULL,
    family    "char" NOT NULL CHECK (family IN ('r', 'h')),
    day       date NOT NULL,
    v         bigint[] NOT NULL
);
CREATE INDEX agg_delta_tenant_day ON openrisk.agg_delta (tenant_id, family, day);

-- Fold a tenant's deltas into the base, unless another transaction is
-- folding it right now (then it skips: the deltas stay for next time).
-- Runs inside the calling (writing) transaction.
CREATE FUNCTION openrisk._aggregates_fold(p_tenant uuid)
RETURNS void LANGUAGE plpgsql
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock(openrisk._aggregates_lock_class(), hashtext(p_tenant::text)) THEN
        RETURN;
    END IF;
    WITH moved AS (
        DELETE FROM openrisk.agg_delta WHERE tenant_id = p_tenant RETURNING family, day, v
    ), per_bucket AS (
        SELECT m.family, g.grain, g.bucket, openrisk._vec_sum(m.v) AS v
          FROM moved m
         CROSS JOIN LATERAL (VALUES ('d'::"char", m.day),
                                    ('m'::"char", date_trunc('month', m.day)::date),
                                    ('t'::"char", '-infinity'::date)) g(grain, bucket)
         GROUP BY 1, 2, 3
    )
    INSERT INTO openrisk.agg AS a (tenant_id, family, grain, bucket, v)
    SELECT p_tenant, family, grain, bucket, v FROM per_bucket
    ORDER BY family, grain, bucket
    ON CONFLICT (tenant_id, family, grain, bucket) DO UPDATE SET v = openrisk._vec_add(a.v, excluded.v);
END
$$;

-- The advisory lock class of a tenant's aggregates (first key of the
-- two-int advisory lock; the second is the tenant's hash).
CREATE FUNCTION openrisk._aggregates_lock_class() RETURNS integer LANGUAGE sql IMMUTABLE
AS $$ SELECT 1869770345 $$;  -- 'openrisk' folded into an int4

-- How often a writer folds (1 in N statements), and above how many delta
-- rows from one statement it folds at once (bulk loads).
CREATE FUNCTION openrisk._fold_every() RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT 32 $$;
CREATE FUNCTION openrisk._fold_burst() RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT 64 $$;

-- The cached keys a risk-family delta of one tenant and day makes stale:
-- every dashboard_stats window containing the day if a stats figure moved
-- ([1..20]), every risk_matrix window if a cell count moved ([21..45]),
-- dashboard_matrix if a cell count or score moved ([21..70]).  A window
-- "contains" the day if any cached answer of it could: its start is at
-- most the namespace's longest entry age before now (see _max_entry_age).
CREATE FUNCTION openrisk._risk_delta_patterns(p_tenant uuid, p_day date, p_v bigint[])
RETURNS text[] LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN (
    SELECT ARRAY(
            -- the period-windowed families: which slice of the vector they
            -- show, and their namespace (whose TTL bounds a window's age)
            SELECT CASE f.family WHEN 'stats' THEN openrisk._key_dashboard_stats(p_tenant, p.name)
                                 ELSE openrisk._key_risk_matrix(p_tenant, p.name) END
              FROM (VALUES ('stats', 1, 20, 'dashboard'), ('matrix', 21, 45, 'risk')) f(family, lo, hi, ns),
                   openrisk._periods() p
             WHERE openrisk._vec_nonzero(p_v, f.lo, f.hi)
               AND (p.length IS NULL
                    OR p_day >= openrisk._utc_day(now() - p.length - openrisk._max_entry_age(f.ns)))
            UNION ALL
            SELECT openrisk._key_dashboard_matrix(p_tenant) WHERE openrisk._vec_nonzero(p_v, 21, 70)));
END
$$;

-- The vector of a whole risk row (a transition-table row), times sign.
CREATE FUNCTION openrisk._risk_row_vec(r openrisk.risks, sign integer)
RETURNS bigint[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT openrisk._risk_vec(r.severity, r.status, r.score, r.impact, r.probability,
                              r.mitigations_total, r.mitigations_done, sign)
$$;

CREATE FUNCTION openrisk._history_row_vec(h openrisk.risk_history, sign integer)
RETURNS bigint[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    RETURN openrisk._history_vec(h.change_type, h.status, h.old_status, h.score, h.old_score, sign);
END
$$;

-- The second half of every aggregate trigger: append a statement's
-- per-(tenant, family, day) sums (zero sums are dropped: that change moves
-- no figure), queue the invalidation of the cached answers they change,
-- and now and then fold the tenants.
-- (It runs nested inside triggers that switch nested loops off to join
-- transition tables; its LATERAL join needs them, and a plan forced
-- around a disabled path costs enough to trigger JIT compilation: ~1 s.)
CREATE FUNCTION openrisk._aggregates_append(deltas openrisk.agg_delta[])
RETURNS void LANGUAGE plpgsql
SET search_path = openrisk, pg_catalog, pg_temp
SET enable_nestloop = on
AS $$
DECLARE
    t record;
BEGIN
    FOR t IN
        WITH appended AS (
            INSERT INTO openrisk.agg_delta (tenant_id, family, day, v)
            SELECT d.tenant_id, d.family, d.day, d.v FROM unnest(deltas) d
             WHERE openrisk._vec_nonzero(d.v, 1, cardinality(d.v))
            RETURNING tenant_id, family, day, v
        )
        SELECT a.tenant_id, count(*) AS n,
               array_agg(DISTINCT p.pattern) FILTER (WHERE p.pattern IS NOT NULL) AS patterns
          FROM appended a
          LEFT JOIN LATERAL unnest(CASE a.family
                   WHEN 'r' THEN openrisk._risk_delta_patterns(a.tenant_id, a.day, a.v)
                   ELSE ARRAY[openrisk._family(openrisk._kp_dashboard_timeline(a.tenant_id))] END)
               AS p(pattern) ON true
         GROUP BY a.tenant_id
    LOOP
        PERFORM openrisk._invalidate(t.patterns);
        IF t.n >= openrisk._fold_burst() OR random() * openrisk._fold_every() < 1 THEN
            PERFORM openrisk._aggregates_fold(t.tenant_id);
        END IF;
    END LOOP;
END
$$;

-- risks: the per-day vector difference of the rows a statement changed
-- (family 'r', by creation day) and the vectors of the history events it
-- makes (family 'h', by event day; the events are _risk_event's, the one
-- definition the history trigger stores too), appended in one go.  INSERT
-- and DELETE see one transition table, changed_rows (sign +1 / -1);
-- UPDATE sees both, joined by hashing (see _risks_history).  OFFSET 0
-- keeps the event subqueries from being pulled up: flattened, every
-- (e.h).field below would call _risk_event again (four calls per row).
CREATE FUNCTION openrisk._risks_aggregate()
RETURNS trigger LANGUAGE plpgsql
SET search_path = openrisk, pg_catalog, pg_temp
SET enable_nestloop = off
AS $$
DECLARE
    sign integer := CASE TG_OP WHEN 'DELETE' THEN -1 ELSE 1 END;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        PERFORM openrisk._aggregates_append(ARRAY(
            SELECT ROW(x.tenant_id, x.family, x.day, openrisk._vec_sum(x.v))::openrisk.agg_delta
              FROM (SELECT n.tenant_id, 'r'::"char" AS family, openrisk._utc_day(n.created_at) AS day,
                           openrisk._risk_row_vec(n, 1) AS v
                      FROM new_rows n WHERE n.deleted_at IS NULL
                    UNION ALL
                    SELECT o.tenant_id, 'r', openrisk._utc_day(o.created_at), openrisk._risk_row_vec(o, -1)
                      FROM old_rows o WHERE o.deleted_at IS NULL
                    UNION ALL
                    SELECT (e.h).tenant_id, 'h', openrisk._utc_day((e.h).changed_at), openrisk._history_row_vec(e.h, 1)
                      FROM (SELECT openrisk._risk_event(o, n, false) AS h
                              FROM new_rows n JOIN old_rows o ON o.id = n.id
                            OFFSET 0) e
                     WHERE (e.h).risk_id IS NOT NULL) x
             GROUP BY x.tenant_id, x.family, x.day));
    ELSE
        PERFORM openrisk._aggregates_append(ARRAY(
            SELECT ROW(x.tenant_id, x.family, x.day, openrisk._vec_sum(x.v))::openrisk.agg_delta
              FROM (SELECT c.tenant_id, 'r'::"char" AS family, openrisk._utc_day(c.created_at) AS day,
                           openrisk._risk_row_vec(c, sign) AS v
                      FROM changed_rows c WHERE c.deleted_at IS NULL
                    UNION ALL
                    SELECT (e.h).tenant_id, 'h', openrisk._utc_day((e.h).changed_at), openrisk._history_row_vec(e.h, 1)
                      FROM (SELECT CASE TG_OP WHEN 'INSERT' THEN openrisk._risk_event(NULL, c)
                                              ELSE openrisk._risk_event(c, NULL) END AS h
                              FROM changed_rows c
                            OFFSET 0) e
                     WHERE (e.h).risk_id IS NOT NULL) x
             GROUP BY x.tenant_id, x.family, x.day));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER risks_aggregate_insert AFTER INSERT ON openrisk.risks
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risks_aggregate();
CREATE TRIGGER risks_aggregate_update AFTER UPDATE ON openrisk.risks
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risks_aggregate();
CREATE TRIGGER risks_aggregate_delete AFTER DELETE ON openrisk.risks
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._risks_aggregate();

-- Mitigations feed the dashboards through two counters on their risk
-- (mitigations_total / mitigations_done), so that every figure stays a
-- function of the risk row: a changed count is an UPDATE of the risk,
-- aggregated above like any other.  Only risks whose counts really move
-- are updated, and that UPDATE changes nothing else (20_scoring.sql
-- enforces it, which lets the history and list triggers ignore it).
CREATE FUNCTION openrisk._sync_mitigation_counts(risk_ids uuid[])
RETURNS void LANGUAGE plpgsql
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE openrisk.risks r
           SET mitigations_total = c.total, mitigations_done = c.done
          FROM (SELECT x.id, count(m.id)::integer AS total,
                       (count(m.id) FILTER (WHERE m.status = 'DONE'))::integer AS done
                  FROM unnest(risk_ids) x(id)
                  LEFT JOIN openrisk.mitigations m ON m.risk_id = x.id
                 GROUP BY x.id) c
         WHERE r.id = c.id
           AND (r.mitigations_total, r.mitigations_done) IS DISTINCT FROM (c.total, c.done);
END
$$;

CREATE FUNCTION openrisk._mitigations_count()
RETURNS trigger LANGUAGE plpgsql
SET search_path = openrisk, pg_catalog, pg_temp
SET enable_nestloop = off
AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        PERFORM openrisk._sync_mitigation_counts(ARRAY(
            SELECT n.risk_id FROM new_rows n JOIN old_rows o ON o.id = n.id
             WHERE n.status IS DISTINCT FROM o.status OR n.risk_id <> o.risk_id
            UNION SELECT o.risk_id FROM new_rows n JOIN old_rows o ON o.id = n.id
             WHERE n.risk_id <> o.risk_id));
    ELSE
        PERFORM openrisk._sync_mitigation_counts(ARRAY(SELECT DISTINCT risk_id FROM changed_rows));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER mitigations_count_insert AFTER INSERT ON openrisk.mitigations
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._mitigations_count();
CREATE TRIGGER mitigations_count_update AFTER UPDATE ON openrisk.mitigations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._mitigations_count();
CREATE TRIGGER mitigations_count_delete AFTER DELETE ON openrisk.mitigations
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._mitigations_count();

-- TRUNCATE has no transition tables: the aggregates it empties are reset
-- wholesale (mitigations: the counters, which the risk trigger turns into
-- deltas; risks / risk_history: their family, every tenant).
CREATE FUNCTION openrisk._aggregates_truncated()
RETURNS trigger LANGUAGE plpgsql
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_TABLE_NAME = 'mitigations' THEN
        UPDATE openrisk.risks SET mitigations_total = 0, mitigations_done = 0
         WHERE mitigations_total <> 0;
    ELSE
        DELETE FROM openrisk.agg WHERE family = TG_ARGV[0];
        DELETE FROM openrisk.agg_delta WHERE family = TG_ARGV[0];
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER risks_aggregate_truncate AFTER TRUNCATE ON openrisk.risks
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._aggregates_truncated('r');
CREATE TRIGGER risk_history_aggregate_truncate AFTER TRUNCATE ON openrisk.risk_history
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._aggregates_truncated('h');
CREATE TRIGGER mitigations_aggregate_truncate AFTER TRUNCATE ON openrisk.mitigations
    FOR EACH STATEMENT EXECUTE FUNCTION openrisk._aggregates_truncated();

-- Reading: the 'r' vector of a tenant's live risks created at or after
-- `since` (-infinity: all of them).  See "Windows stay exact" above.
CREATE FUNCTION openrisk._risk_window(p_tenant uuid, p_since timestamptz)
RETURNS bigint[] LANGUAGE plpgsql STABLE
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
DECLARE
    boundary date := openrisk._utc_day(p_since);
    next_month date := (date_trunc('month', openrisk._utc_day(p_since)) + interval '1 month')::date;
    v bigint[];
BEGIN
    IF p_since = '-infinity' THEN
        SELECT openrisk._vec_sum(x.v) INTO v FROM (
            SELECT a.v FROM openrisk.agg a
             WHERE a.tenant_id = p_tenant AND a.family = 'r' AND a.grain = 't'
            UNION ALL
            SELECT d.v FROM openrisk.agg_delta d WHERE d.tenant_id = p_tenant AND d.family = 'r') x;
    ELSE
        SELECT openrisk._vec_sum(x.v) INTO v FROM (
            SELECT openrisk._risk_row_vec(r, 1) AS v FROM openrisk.risks r
             WHERE r.tenant_id = p_tenant AND r.deleted_at IS NULL
               AND r.created_at >= p_since AND r.created_at < boundary + 1
            UNION ALL
            SELECT a.v FROM openrisk.agg a
             WHERE a.tenant_id = p_tenant AND a.family = 'r' AND a.grain = 'd'
               AND a.bucket > boundary AND a.bucket < next_month
            UNION ALL
            SELECT a.v FROM openrisk.agg a
             WHERE a.tenant_id = p_tenant AND a.family = 'r' AND a.grain = 'm' AND a.bucket >= next_month
            UNION ALL
            SELECT d.v FROM openrisk.agg_delta d
             WHERE d.tenant_id = p_tenant AND d.family = 'r' AND d.day > boundary) x;
    END IF;
    RETURN coalesce(v, openrisk._vec(openrisk._rv_len(), '{}', '{}'));
END
$$;

-- The 'h' vectors of a tenant for the days first_day..last_day (one row per
-- day with events) and the sum of everything before first_day: what the
-- timeline's running figures start from.
CREATE FUNCTION openrisk._history_days(p_tenant uuid, p_first date, p_last date)
RETURNS TABLE (day date, v bigint[]) LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN QUERY
    SELECT x.day, openrisk._vec_sum(x.v) FROM (
            SELECT a.bucket AS day, a.v FROM openrisk.agg a
             WHERE a.tenant_id = p_tenant AND a.family = 'h' AND a.grain = 'd'
               AND a.bucket BETWEEN p_first AND p_last
            UNION ALL
            SELECT d.day, d.v FROM openrisk.agg_delta d
             WHERE d.tenant_id = p_tenant AND d.family = 'h' AND d.day BETWEEN p_first AND p_last) x
         GROUP BY x.day;
END
$$;

CREATE FUNCTION openrisk._history_before(p_tenant uuid, p_first date)
RETURNS bigint[] LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN (
    -- total minus every day from first_day on (future days included)
        SELECT openrisk._vec_sum(x.v) FROM (
            SELECT a.v FROM openrisk.agg a
             WHERE a.tenant_id = p_tenant AND a.family = 'h' AND a.grain = 't'
            UNION ALL
            SELECT d.v FROM openrisk.agg_delta d
             WHERE d.tenant_id = p_tenant AND d.family = 'h' AND d.day < p_first
            UNION ALL
            SELECT openrisk._vec_scale(a.v, -1) FROM openrisk.agg a
             WHERE a.tenant_id = p_tenant AND a.family = 'h' AND a.grain = 'd' AND a.bucket >= p_first) x);
END
$$;

REVOKE ALL ON openrisk.agg, openrisk.agg_delta FROM PUBLIC;
REVOKE ALL ON FUNCTION openrisk._vec(integer, integer[], bigint[]), openrisk._vec_add(bigint[], bigint[]),
    openrisk._vec_scale(bigint[], bigint), openrisk._vec_nonzero(bigint[], integer, integer),
    openrisk._vec_sum_accum(internal, bigint[]), openrisk._vec_sum_final(internal),
    openrisk._vec_sum(bigint[]), openrisk._rv_len(), openrisk._hv_len(), openrisk._utc_day(timestamptz),
    openrisk._risk_vec(text, text, numeric, integer, integer, integer, integer, integer),
    openrisk._history_vec(text, text, text, numeric, numeric, integer),
    openrisk._aggregates_fold(uuid), openrisk._aggregates_lock_class(), openrisk._fold_every(),
    openrisk._fold_burst(), openrisk._risk_delta_patterns(uuid, date, bigint[]),
    openrisk._risk_row_vec(openrisk.risks, integer), openrisk._history_row_vec(openrisk.risk_history, integer),
    openrisk._aggregates_append(openrisk.agg_delta[]), openrisk._risks_aggregate(),
    openrisk._sync_mitigation_counts(uuid[]),
    openrisk._mitigations_count(), openrisk._aggregates_truncated(),
    openrisk._risk_window(uuid, timestamptz), openrisk._history_days(uuid, date, date),
    openrisk._history_before(uuid, date) FROM PUBLIC;
