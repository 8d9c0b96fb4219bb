-- sql/40_risk_list.sql -- risk_list: one page of a tenant's live risks, in
-- any whitelisted order, read from an index.
--
-- Why this file exists: the list is the most read view of a risk register,
-- and at 100k risks a list that sorts the tenant costs 40-50 ms per miss --
-- and with writes, most list reads are misses.  Here every sort column has
-- an index (tenant, column, id) (10_schema.sql), so a page is an index
-- range read with LIMIT, forwards for asc and backwards for desc; the
-- severity/status filters are conditions on the same scan (or their own
-- (tenant, filter, score, id) index for the default sort); the q filter
-- (a title substring) uses the trigram index; the total without q comes
-- from the aggregates (25_aggregates.sql).  The further filters (owner,
-- tag, framework, score range, heat-map cell, creation range) are parsed,
-- rendered and totalled by 39_risk_filters.sql.
--
-- Order: sort_by in sort_dir, ties broken by id in the SAME direction (so
-- one index serves both directions).  Pages are either numbered (page,
-- cost grows with depth, as OFFSET does) or reached with a cursor: every
-- reply carries `next`, an opaque token for the page after it; passing it
-- back as `after` continues from the last row shown, in O(log n) whatever
-- the depth.  A cursor is the last row's (sort value, id) plus an
-- HMAC-SHA256 over it AND the tenant, sort and filters, keyed with a
-- server secret: a forged, altered or borrowed cursor (another tenant's,
-- another sort's, another filter's) is refused with 22023, never
-- followed.  The CSV export (44_risk_export.sql) reads its batches with
-- the same page query and the same cursors.  A cursor is a position, not a snapshot: rows written since
-- it was issued appear or disappear after it, as in any keyset
-- pagination.
--
-- Same three layers as every endpoint: _compute (the answer), _meta
-- (validate, key, cache_fetch_meta), plain (the JSON).

-- Every collection the API returns has ONE envelope:
--   {"total": n, "page": n|null, "page_size": n, "next": cursor|null, ..., "items": [...]}
-- The scalars come first and "items" last: the gateway reads the head of
-- the text for its Link header (gateway/src/list_links.c) without
-- scanning the items.  `next` is null where a list has no cursor (yet).

-- One risk as the API shows it (lists, search and detail share it).
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

-- The columns a list can be sorted by and the type of a cursor's value.
CREATE FUNCTION openrisk._risk_sort_columns()
RETURNS TABLE (name text, value_type text) LANGUAGE sql IMMUTABLE
AS $$
    VALUES ('score', 'numeric'), ('title', 'text'), ('status', 'text'), ('impact', 'integer'),
           ('probability', 'integer'), ('created_at', 'timestamptz'), ('updated_at', 'timestamptz')
$$;

-- The text a cursor's MAC covers: the position and everything that
-- defines the list it belongs to.  Unit separators keep fields apart.
-- filters (_risk_filter_text) comes last and only when set, so the
-- cursors of unfiltered lists are the ones they always were.
CREATE FUNCTION openrisk._cursor_message(tenant uuid, sort_by text, sort_dir text, severity text,
                                         status text, q text, pos text, id uuid, filters text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    RETURN concat_ws(chr(31), 'risk_list/1', tenant, sort_by, sort_dir, coalesce(severity, ''),
                     coalesce(status, ''), coalesce(q, ''), pos, id, filters);
END
$$;

CREATE FUNCTION openrisk._hmac_sha256(key bytea, message text)
RETURNS bytea AS 'MODULE_PATHNAME', 'openrisk_hmac_sha256'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION openrisk._cursor_mac(message text)
RETURNS bytea LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN (
    SELECT substr(openrisk._hmac_sha256(s.value, message), 1, 16)
          FROM openrisk.secrets s WHERE s.name = 'cursor');
END
$$;

-- A cursor: base64url of  version byte | id (16) | MAC (16) | position (UTF-8).
CREATE FUNCTION openrisk._cursor_make(tenant uuid, sort_by text, sort_dir text, severity text,
                                      status text, q text, pos text, id uuid, filters text DEFAULT NULL)
RETURNS text LANGUAGE sql STABLE
AS $$
    SELECT rtrim(translate(encode(
               '\x01'::bytea || decode(replace(id::text, '-', ''), 'hex')
               || openrisk._cursor_mac(openrisk._cursor_message(tenant, sort_by, sort_dir, severity,
                                                                status, q, pos, id, filters))
               || convert_to(pos, 'UTF8'), 'base64'), E'+/\n', '-_'), '=')
$$;

-- Open an `after` argument: the position and id it carries, or 22023 when
-- it is not a cursor, or not one of this list.
CREATE FUNCTION openrisk._cursor_open(cursor text, tenant uuid, sort_by text, sort_dir text,
                                      severity text, status text, q text, filters text DEFAULT NULL,
                                      OUT pos text, OUT id uuid)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    raw bytea;
    b64 text := translate(cursor, '-_', '+/');
BEGIN
    IF length(cursor) > 1400 OR cursor !~ '^[A-Za-z0-9_-]+$' THEN
        PERFORM openrisk._bad_parameter('after is not a valid cursor',
                                        'pass the "next" value of a previous reply unchanged');
    END IF;
    BEGIN
        raw := decode(b64 || repeat('=', (4 - length(b64) % 4) % 4), 'base64');
        IF length(raw) < 34 OR get_byte(raw, 0) <> 1 THEN
            RAISE EXCEPTION USING ERRCODE = 'data_exception';
        END IF;
        id := encode(substr(raw, 2, 16), 'hex')::uuid;
        pos := convert_from(substr(raw, 34), 'UTF8');
    EXCEPTION WHEN data_exception OR invalid_text_representation OR character_not_in_repertoire THEN
        PERFORM openrisk._bad_parameter('after is not a valid cursor',
                                        'pass the "next" value of a previous reply unchanged');
    END;
    IF substr(raw, 18, 16) IS DISTINCT FROM openrisk._cursor_mac(
           openrisk._cursor_message(tenant, sort_by, sort_dir, severity, status, q, pos, id, filters)) THEN
        PERFORM openrisk._bad_parameter('after does not belong to this list',
                                        'a cursor only continues the list (tenant, sort and filters) it came from');
    END IF;
END
$$;

-- How many risks an 'r' vector counts that pass the severity/status
-- filters: the sum of its severity x status counts (25_aggregates.sql).
CREATE FUNCTION openrisk._risk_count(v bigint[], p_severity text, p_status text)
RETURNS bigint LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    RETURN (
    SELECT sum(v[2 + 4 * (s.i - 1) + (st.i - 1)])
          FROM unnest(ARRAY['LOW', 'MEDIUM', 'HIGH', 'CRITICAL']) WITH ORDINALITY s(name, i),
               unnest(ARRAY['DRAFT', 'ACTIVE', 'MITIGATED', 'ACCEPTED']) WITH ORDINALITY st(name, i)
         WHERE (p_severity IS NULL OR s.name = p_severity) AND (p_status IS NULL OR st.name = p_status));
END
$$;

-- The conditions of a list beyond its tenant and liveness, for the filters
-- that are set; every value is a bound parameter:
--   $2 severity  $3 status  $4 LIKE pattern of q  $9..$17 the risk_filter
-- q_mode: NULL (no q), 'index' (the trigram index finds the matches) or
-- 'scan' (the title is tested on the rows the sort index yields).
CREATE FUNCTION openrisk._risk_list_conditions(has_severity boolean, has_status boolean, q_mode text,
                                               f openrisk.risk_filter)
RETURNS text LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    RETURN concat(CASE WHEN has_severity THEN ' AND r.severity = $2' END,
                  CASE WHEN has_status THEN ' AND r.status = $3' END,
                  CASE q_mode WHEN 'index' THEN ' AND lower(r.title) LIKE $4'
                              WHEN 'scan' THEN ' AND (lower(r.title) || '''') LIKE $4' END,
                  openrisk._risk_filter_sql(f));
END
$$;

-- The query of one page: the ids of the page (+1 row) in order, and the
-- sort value of its last row.  Built from whitelisted identifiers only
-- (the sort column, asc/desc) and the conditions above; besides theirs,
-- the parameters are
--   $1 tenant  $5 cursor value (text)  $6 cursor id  $7 page size  $8 offset
-- Planned per call with the real values, so each combination gets its
-- best index; the tests EXPLAIN it for every combination.
CREATE FUNCTION openrisk._risk_list_page_sql(p_sort_by text, p_sort_dir text, has_severity boolean,
                                             has_status boolean, q_mode text, has_after boolean,
                                             f openrisk.risk_filter DEFAULT NULL)
RETURNS text LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN (
    SELECT format(
        'SELECT array_agg(x.id ORDER BY x.n), (array_agg(x.pos ORDER BY x.n))[$7]
           FROM (SELECT r.id, to_jsonb(r.%1$I) #>> ''{}'' AS pos,
                        row_number() OVER (ORDER BY r.%1$I %2$s, r.id %2$s) AS n
                   FROM openrisk.risks r
                  WHERE r.tenant_id = $1 AND r.deleted_at IS NULL%3$s%4$s
                  ORDER BY r.%1$I %2$s, r.id %2$s
                  LIMIT $7 + 1 OFFSET $8) x',
        c.name, d.dir,
        openrisk._risk_list_conditions(has_severity, has_status, q_mode, f),
        CASE WHEN has_after THEN format(' AND (r.%I, r.id) %s ($5::%s, $6)', c.name,
                                        CASE d.dir WHEN 'ASC' THEN '>' ELSE '<' END, c.value_type)
             ELSE '' END)
      FROM openrisk._risk_sort_columns() c,
           (SELECT CASE p_sort_dir WHEN 'asc' THEN 'ASC' WHEN 'desc' THEN 'DESC' END AS dir) d
     WHERE c.name = p_sort_by AND d.dir IS NOT NULL);
END
$$;

-- How many rows a total counted from the rows (not the aggregates) counts
-- at most: past it, `total` says "at least this many" (`total_exact`
-- false).  Counting every match of a common term or tag means rechecking
-- every row the index yields (10k rows for a 10 % term at 100k risks,
-- ~30 ms), so the count is bounded like the search's candidate set.
CREATE FUNCTION openrisk._match_limit() RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT 1000 $$;

-- The total of a filtered list: from the aggregates when its filters
-- allow it (see 39_risk_filters.sql; exact), else counted with the same
-- conditions as the page up to _match_limit() rows (the trigram index is
-- lossy, so every candidate is rechecked).
CREATE FUNCTION openrisk._risk_list_total(p_tenant uuid, p_severity text, p_status text, p_q text,
                                          f openrisk.risk_filter, OUT total bigint, OUT exact boolean)
LANGUAGE plpgsql STABLE
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    exact := true;
    IF p_q IS NULL AND f.owner IS NULL AND f.tag IS NULL AND f.framework IS NULL
       AND f.min_score IS NULL AND f.max_score IS NULL THEN
        IF f.impact IS NULL AND f.probability IS NULL THEN
            total := openrisk._risk_count(openrisk._risk_filter_window(p_tenant, f), p_severity, p_status);
            RETURN;
        ELSIF p_severity IS NULL AND p_status IS NULL THEN
            total := openrisk._risk_cell_count(openrisk._risk_filter_window(p_tenant, f), f.impact, f.probability);
            RETURN;
        END IF;
    END IF;
    EXECUTE 'SELECT count(*) FROM (SELECT FROM openrisk.risks r WHERE r.tenant_id = $1 AND r.deleted_at IS NULL'
            || openrisk._risk_list_conditions(p_severity IS NOT NULL, p_status IS NOT NULL,
                                              CASE WHEN p_q IS NOT NULL THEN 'index' END, f)
            || ' LIMIT $7) m'
    INTO total
    USING p_tenant, p_severity, p_status, openrisk._like_contains(p_q), NULL::text, NULL::uuid,
          openrisk._match_limit(), NULL::bigint, f.owner, f.tag, f.framework, f.min_score, f.max_score,
          f.impact, f.probability, f.created_after, f.created_before;
    exact := total < openrisk._match_limit();
END
$$;

-- Up to p_limit ids of a list in order, starting after the cursor p_after
-- (already checked) or p_offset rows in, and `next`: the cursor after the
-- last of them when more rows follow, else NULL.  The page (below) and
-- the export's batches (44_risk_export.sql) are both read here.
CREATE FUNCTION openrisk._risk_list_ids(p_tenant uuid, p_severity text, p_status text, p_q text, p_q_mode text,
                                        p_sort_by text, p_sort_dir text, p_after text, f openrisk.risk_filter,
                                        p_limit integer, p_offset bigint, OUT ids uuid[], OUT next text)
LANGUAGE plpgsql STABLE
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
DECLARE
    filters text := openrisk._risk_filter_text(f);
    page_sql text := openrisk._risk_list_page_sql(p_sort_by, p_sort_dir, p_severity IS NOT NULL,
                                                  p_status IS NOT NULL, p_q_mode, p_after IS NOT NULL, f);
    cur_pos text;
    cur_id uuid;
    last_pos text;
BEGIN
    IF page_sql IS NULL THEN
        RAISE EXCEPTION 'risk_list: unknown sort % %', p_sort_by, p_sort_dir;
    END IF;
    IF p_after IS NOT NULL THEN
        SELECT c.pos, c.id INTO cur_pos, cur_id
          FROM openrisk._cursor_open(p_after, p_tenant, p_sort_by, p_sort_dir, p_severity, p_status, p_q, filters) c;
    END IF;
    EXECUTE page_sql INTO ids, last_pos
    USING p_tenant, p_severity, p_status, openrisk._like_contains(p_q), cur_pos, cur_id, p_limit, p_offset,
          f.owner, f.tag, f.framework, f.min_score, f.max_score, f.impact, f.probability,
          f.created_after, f.created_before;
    IF cardinality(ids) > p_limit THEN
        next := openrisk._cursor_make(p_tenant, p_sort_by, p_sort_dir, p_severity, p_status, p_q,
                                      last_pos, ids[p_limit], filters);
    END IF;
    ids := coalesce(ids[1:p_limit], '{}');
END
$$;

-- The page.  With q, the total is counted first (up to _match_limit()),
-- and it picks the page's plan: with many matches, reading the sort index and testing each row
-- fills a page after about page_size / selectivity rows, far fewer than
-- the matches a trigram scan would fetch and sort; with few, the trigram
-- index finds them all cheaply.  Timestamps are rendered in UTC: a cached
-- body is shared by every session whatever its TimeZone.
CREATE FUNCTION openrisk._risk_list_compute(p_tenant uuid, p_page integer, p_page_size integer,
                                            p_severity text, p_status text, p_q text,
                                            p_sort_by text, p_sort_dir text, p_after text,
                                            p_filter openrisk.risk_filter DEFAULT NULL)
RETURNS json LANGUAGE plpgsql STABLE
SET search_path = openrisk, pg_catalog, pg_temp
SET timezone = 'UTC'
AS $$
DECLARE
    counted record := openrisk._risk_list_total(p_tenant, p_severity, p_status, p_q, p_filter);
    page record;
    items json;
BEGIN
    SELECT * INTO page
      FROM openrisk._risk_list_ids(p_tenant, p_severity, p_status, p_q,
                                   CASE WHEN p_q IS NULL THEN NULL
                                        WHEN counted.total >= least(50 * p_page_size, openrisk._match_limit())
                                        THEN 'scan' ELSE 'index' END,
                                   p_sort_by, p_sort_dir, p_after, p_filter, p_page_size,
                                   CASE WHEN p_after IS NULL THEN (p_page - 1)::bigint * p_page_size ELSE 0 END);
    -- the page's JSON: a static query, so its plan is kept
    SELECT json_agg(openrisk._risk_json(r) ORDER BY o.n) INTO items
      FROM unnest(page.ids) WITH ORDINALITY o(id, n)
      JOIN openrisk.risks r ON r.id = o.id;

    -- the list envelope: scalars first, items last (see _list_envelope)
    RETURN json_build_object(
        'total', counted.total,
        'total_exact', counted.exact,
        'page', CASE WHEN p_after IS NULL THEN p_page END,
        'page_size', p_page_size,
        'next', page.next,
        'items', coalesce(items, '[]'::json));
END
$$;

-- A list's arguments, validated and normalised once for risk_list and the
-- export: enums case-folded, q trimmed and lower-cased, the filters parsed
-- (39_risk_filters.sql), and a cursor that is not one, or not one of this
-- list, refused -- all with 22023, before anything is keyed or read.
CREATE TYPE openrisk.risk_list_args AS (
    severity text, status text, q text, sort_by text, sort_dir text, after text,
    filter openrisk.risk_filter, filter_text text);

CREATE FUNCTION openrisk._risk_list_args(tenant uuid, severity text, status text, q text, sort_by text,
                                         sort_dir text, after text, owner text, tag text, framework text,
                                         min_score text, max_score text, impact text, probability text,
                                         created_after text, created_before text)
RETURNS openrisk.risk_list_args LANGUAGE plpgsql STABLE
AS $$
DECLARE
    a openrisk.risk_list_args;
BEGIN
    a.severity := openrisk._enum_arg(severity, 'severity', ARRAY['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'], true);
    a.status := openrisk._enum_arg(status, 'status', ARRAY['DRAFT', 'ACTIVE', 'MITIGATED', 'ACCEPTED'], true);
    a.sort_by := openrisk._enum_arg(openrisk._require(sort_by, 'sort_by'), 'sort_by',
                                    ARRAY(SELECT c.name FROM openrisk._risk_sort_columns() c), false);
    a.sort_dir := openrisk._enum_arg(openrisk._require(sort_dir, 'sort_dir'), 'sort_dir', ARRAY['asc', 'desc'], false);
    PERFORM openrisk._require(tenant, 'tenant');
    a.q := nullif(lower(btrim(q)), '');
    IF length(a.q) > 200 THEN
        PERFORM openrisk._bad_parameter(format('q must be at most 200 characters (got %s)', length(a.q)));
    END IF;
    -- the common case, no further filter, costs one test
    IF num_nonnulls(owner, tag, framework, min_score, max_score, impact, probability,
                    created_after, created_before) > 0 THEN
        a.filter := openrisk._risk_filter_arg(owner, tag, framework, min_score, max_score, impact, probability,
                                              created_after, created_before);
        a.filter_text := openrisk._risk_filter_text(a.filter);
    END IF;
    a.after := nullif(after, '');
    IF a.after IS NOT NULL THEN
        PERFORM openrisk._cursor_open(a.after, tenant, a.sort_by, a.sort_dir, a.severity, a.status, a.q,
                                      a.filter_text);
    END IF;
    RETURN a;
END
$$;

CREATE FUNCTION openrisk.risk_list_meta(tenant uuid, page integer DEFAULT 1, page_size integer DEFAULT 20,
                                        severity text DEFAULT NULL, status text DEFAULT NULL,
                                        q text DEFAULT NULL, sort_by text DEFAULT 'score',
                                        sort_dir text DEFAULT 'desc', after text DEFAULT NULL,
                                        owner text DEFAULT NULL, tag text DEFAULT NULL,
                                        framework text DEFAULT NULL, min_score text DEFAULT NULL,
                                        max_score text DEFAULT NULL, impact text DEFAULT NULL,
                                        probability text DEFAULT NULL, created_after text DEFAULT NULL,
                                        created_before text DEFAULT NULL)
RETURNS openrisk.cache_fetch_result LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
DECLARE
    a openrisk.risk_list_args := openrisk._risk_list_args(tenant, severity, status, q, sort_by, sort_dir, after,
                                                          owner, tag, framework, min_score, max_score, impact,
                                                          probability, created_after, created_before);
BEGIN
    PERFORM openrisk._tenant_arg(tenant);
    PERFORM openrisk._check_page(page, page_size);
    IF a.after IS NOT NULL AND page <> 1 THEN
        PERFORM openrisk._bad_parameter('page and after cannot be combined',
                                        'after continues from a cursor; leave page out');
    END IF;
    RETURN openrisk.cache_fetch_meta(
        openrisk._key_risk_list(tenant, a.sort_by, a.sort_dir, a.severity, a.status, a.q, page, page_size,
                                a.after, a.filter_text),
        NULL, 'SELECT openrisk._risk_list_compute($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
        tenant, page, page_size, a.severity, a.status, a.q, a.sort_by, a.sort_dir, a.after, a.filter);
END
$$;

CREATE FUNCTION openrisk.risk_list(tenant uuid, page integer DEFAULT 1, page_size integer DEFAULT 20,
                                   severity text DEFAULT NULL, status text DEFAULT NULL,
                                   q text DEFAULT NULL, sort_by text DEFAULT 'score',
                                   sort_dir text DEFAULT 'desc', after text DEFAULT NULL,
                                   owner text DEFAULT NULL, tag text DEFAULT NULL,
                                   framework text DEFAULT NULL, min_score text DEFAULT NULL,
                                   max_score text DEFAULT NULL, impact text DEFAULT NULL,
                                   probability text DEFAULT NULL, created_after text DEFAULT NULL,
                                   created_before text DEFAULT NULL)
RETURNS json LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (openrisk.risk_list_meta(tenant, page, page_size, severity, status, q, sort_by, sort_dir, after,
                                    owner, tag, framework, min_score, max_score, impact, probability,
                                    created_after, created_before)).value::json;
END
$$;

REVOKE ALL ON FUNCTION openrisk._risk_json(openrisk.risks), openrisk._risk_sort_columns(),
    openrisk._cursor_message(uuid, text, text, text, text, text, text, uuid, text),
    openrisk._hmac_sha256(bytea, text), openrisk._cursor_mac(text),
    openrisk._cursor_make(uuid, text, text, text, text, text, text, uuid, text),
    openrisk._cursor_open(text, uuid, text, text, text, text, text, text),
    openrisk._risk_count(bigint[], text, text), openrisk._match_limit(),
    openrisk._risk_list_conditions(boolean, boolean, text, openrisk.risk_filter),
    openrisk._risk_list_page_sql(text, text, boolean, boolean, text, boolean, openrisk.risk_filter),
    openrisk._risk_list_total(uuid, text, text, text, openrisk.risk_filter),
    openrisk._risk_list_ids(uuid, text, text, text, text, text, text, text, openrisk.risk_filter, integer, bigint),
    openrisk._risk_list_compute(uuid, integer, integer, text, text, text, text, text, text, openrisk.risk_filter),
    openrisk._risk_list_args(uuid, text, text, text, text, text, text, text, text, text, text, text, text, text,
                             text, text) FROM PUBLIC;
