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
-- from the aggregates (25_aggregates.sql).
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
-- followed.  A cursor is a position, not a snapshot: rows written since
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
CREATE FUNCTION openrisk._cursor_message(tenant uuid, sort_by text, sort_dir text, severity text,
                                         status text, q text, pos text, id uuid)
RETURNS text LANGUAGE sql IMMUTABLE
AS $$
    SELECT concat_ws(chr(31), 'risk_list/1', tenant, sort_by, sort_dir, coalesce(severity, ''),
                     coalesce(status, ''), coalesce(q, ''), pos, id)
$$;

CREATE FUNCTION openrisk._hmac_sha256(key bytea, message text)
RETURNS bytea AS 'MODULE_PATHNAME', 'openrisk_hmac_sha256'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION openrisk._cursor_mac(message text)
RETURNS bytea LANGUAGE sql STABLE
AS $$
    SELECT substr(openrisk._hmac_sha256(s.value, message), 1, 16)
      FROM openrisk.secrets s WHERE s.name = 'cursor'
$$;

-- A cursor: base64url of  version byte | id (16) | MAC (16) | position (UTF-8).
CREATE FUNCTION openrisk._cursor_make(tenant uuid, sort_by text, sort_dir text, severity text,
                                      status text, q text, pos text, id uuid)
RETURNS text LANGUAGE sql STABLE
AS $$
    SELECT rtrim(translate(encode(
               '\x01'::bytea || decode(replace(id::text, '-', ''), 'hex')
               || openrisk._cursor_mac(openrisk._cursor_message(tenant, sort_by, sort_dir, severity,
                                                                status, q, pos, id))
               || convert_to(pos, 'UTF8'), 'base64'), E'+/\n', '-_'), '=')
$$;

-- Open an `after` argument: the position and id it carries, or 22023 when
-- it is not a cursor, or not one of this list.
CREATE FUNCTION openrisk._cursor_open(cursor text, tenant uuid, sort_by text, sort_dir text,
                                      severity text, status text, q text,
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
           openrisk._cursor_message(tenant, sort_by, sort_dir, severity, status, q, pos, id)) THEN
        PERFORM openrisk._bad_parameter('after does not belong to this list',
                                        'a cursor only continues the list (tenant, sort and filters) it came from');
    END IF;
END
$$;

-- How many risks an 'r' vector counts that pass the severity/status
-- filters: the sum of its severity x status counts (25_aggregates.sql).
CREATE FUNCTION openrisk._risk_count(v bigint[], p_severity text, p_status text)
RETURNS bigint LANGUAGE sql IMMUTABLE
AS $$
    SELECT sum(v[2 + 4 * (s.i - 1) + (st.i - 1)])
      FROM unnest(ARRAY['LOW', 'MEDIUM', 'HIGH', 'CRITICAL']) WITH ORDINALITY s(name, i),
           unnest(ARRAY['DRAFT', 'ACTIVE', 'MITIGATED', 'ACCEPTED']) WITH ORDINALITY st(name, i)
     WHERE (p_severity IS NULL OR s.name = p_severity) AND (p_status IS NULL OR st.name = p_status)
$$;

-- The query of one page: the ids of the page (+1 row) in order, and the
-- sort value of its last row.  Built from whitelisted identifiers only
-- (the sort column, asc/desc) and conditions for the filters actually
-- given; every value is a bound parameter:
--   $1 tenant  $2 severity  $3 status  $4 LIKE pattern of q
--   $5 cursor value (text)  $6 cursor id  $7 page size  $8 offset
-- q_mode: NULL (no q), 'index' (the trigram index finds the matches) or
-- 'scan' (the title is tested on the rows the sort index yields).
-- Planned per call with the real values, so each combination gets its
-- best index; the tests EXPLAIN it for every combination.
CREATE FUNCTION openrisk._risk_list_page_sql(p_sort_by text, p_sort_dir text, has_severity boolean,
                                             has_status boolean, q_mode text, has_after boolean)
RETURNS text LANGUAGE sql STABLE
AS $$
    SELECT format(
        'SELECT array_agg(x.id ORDER BY x.n), (array_agg(x.pos ORDER BY x.n))[$7]
           FROM (SELECT r.id, to_jsonb(r.%1$I) #>> ''{}'' AS pos,
                        row_number() OVER (ORDER BY r.%1$I %2$s, r.id %2$s) AS n
                   FROM openrisk.risks r
                  WHERE r.tenant_id = $1 AND r.deleted_at IS NULL%3$s%4$s%5$s%6$s
                  ORDER BY r.%1$I %2$s, r.id %2$s
                  LIMIT $7 + 1 OFFSET $8) x',
        c.name, d.dir,
        CASE WHEN has_severity THEN ' AND r.severity = $2' ELSE '' END,
        CASE WHEN has_status THEN ' AND r.status = $3' ELSE '' END,
        CASE q_mode WHEN 'index' THEN ' AND lower(r.title) LIKE $4'
                    WHEN 'scan' THEN ' AND (lower(r.title) || '''') LIKE $4' ELSE '' END,
        CASE WHEN has_after THEN format(' AND (r.%I, r.id) %s ($5::%s, $6)', c.name,
                                        CASE d.dir WHEN 'ASC' THEN '>' ELSE '<' END, c.value_type)
             ELSE '' END)
      FROM openrisk._risk_sort_columns() c,
           (SELECT CASE p_sort_dir WHEN 'asc' THEN 'ASC' WHEN 'desc' THEN 'DESC' END AS dir) d
     WHERE c.name = p_sort_by AND d.dir IS NOT NULL
$$;

-- The page.  It reads one row more than a page: if that row exists, the
-- reply's `next` cursor points after the page's last row.  With q, the
-- total is counted first (through the trigram index; exact, as the index
-- is lossy and every candidate is rechecked), and it picks the page's
-- plan: with many matches, reading the sort index and testing each row
-- fills a page after about page_size / selectivity rows, far fewer than
-- the matches a trigram scan would fetch and sort; with few, the trigram
-- index finds them all cheaply.
CREATE FUNCTION openrisk._risk_list_compute(p_tenant uuid, p_page integer, p_page_size integer,
                                            p_severity text, p_status text, p_q text,
                                            p_sort_by text, p_sort_dir text, p_after text)
RETURNS json LANGUAGE plpgsql STABLE
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
DECLARE
    q_pattern text := openrisk._like_contains(p_q);
    page_sql text;
    cur_pos text;
    cur_id uuid;
    ids uuid[];
    items json;
    last_pos text;
    total bigint;
BEGIN
    IF p_q IS NULL THEN
        total := openrisk._risk_count(openrisk._risk_window(p_tenant, '-infinity'), p_severity, p_status);
    ELSE
        EXECUTE 'SELECT count(*) FROM openrisk.risks r
                  WHERE r.tenant_id = $1 AND r.deleted_at IS NULL AND lower(r.title) LIKE $4'
                || CASE WHEN p_severity IS NOT NULL THEN ' AND r.severity = $2' ELSE '' END
                || CASE WHEN p_status IS NOT NULL THEN ' AND r.status = $3' ELSE '' END
        INTO total USING p_tenant, p_severity, p_status, q_pattern;
    END IF;
    IF p_after IS NOT NULL THEN
        SELECT c.pos, c.id INTO cur_pos, cur_id
          FROM openrisk._cursor_open(p_after, p_tenant, p_sort_by, p_sort_dir, p_severity, p_status, p_q) c;
    END IF;
    page_sql := openrisk._risk_list_page_sql(p_sort_by, p_sort_dir, p_severity IS NOT NULL, p_status IS NOT NULL,
                                             CASE WHEN p_q IS NULL THEN NULL
                                                  WHEN total > 50 * p_page_size THEN 'scan' ELSE 'index' END,
                                             p_after IS NOT NULL);
    IF page_sql IS NULL THEN
        RAISE EXCEPTION 'risk_list: unknown sort % %', p_sort_by, p_sort_dir;
    END IF;
    EXECUTE page_sql INTO ids, last_pos
    USING p_tenant, p_severity, p_status, q_pattern, cur_pos, cur_id, p_page_size,
          CASE WHEN p_after IS NULL THEN (p_page - 1)::bigint * p_page_size ELSE 0 END;
    -- the page's JSON: a static query, so its plan is kept
    SELECT json_agg(openrisk._risk_json(r) ORDER BY o.n) INTO items
      FROM unnest(ids[1:p_page_size]) WITH ORDINALITY o(id, n)
      JOIN openrisk.risks r ON r.id = o.id;

    -- the list envelope: scalars first, items last (see _list_envelope)
    RETURN json_build_object(
        'total', total,
        'page', CASE WHEN p_after IS NULL THEN p_page END,
        'page_size', p_page_size,
        'next', CASE WHEN cardinality(ids) > p_page_size
                     THEN openrisk._cursor_make(p_tenant, p_sort_by, p_sort_dir, p_severity, p_status,
                                                p_q, last_pos, ids[p_page_size]) END,
        'items', coalesce(items, '[]'::json));
END
$$;

CREATE FUNCTION openrisk.risk_list_meta(tenant uuid, page integer DEFAULT 1, page_size integer DEFAULT 20,
                                        severity text DEFAULT NULL, status text DEFAULT NULL,
                                        q text DEFAULT NULL, sort_by text DEFAULT 'score',
                                        sort_dir text DEFAULT 'desc', after text DEFAULT NULL)
RETURNS openrisk.cache_fetch_result LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
DECLARE
    v_severity text := openrisk._enum_arg(severity, 'severity', ARRAY['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'], true);
    v_status   text := openrisk._enum_arg(status, 'status', ARRAY['DRAFT', 'ACTIVE', 'MITIGATED', 'ACCEPTED'], true);
    v_q        text := nullif(lower(btrim(q)), '');
    v_sort_by  text := openrisk._enum_arg(openrisk._require(sort_by, 'sort_by'), 'sort_by',
                           ARRAY(SELECT c.name FROM openrisk._risk_sort_columns() c), false);
    v_sort_dir text := openrisk._enum_arg(openrisk._require(sort_dir, 'sort_dir'), 'sort_dir', ARRAY['asc', 'desc'], false);
    v_after    text := nullif(after, '');
BEGIN
    PERFORM openrisk._tenant_arg(tenant);
    PERFORM openrisk._check_page(page, page_size);
    IF length(v_q) > 200 THEN
        PERFORM openrisk._bad_parameter(format('q must be at most 200 characters (got %s)', length(v_q)));
    END IF;
    IF v_after IS NOT NULL THEN
        IF page <> 1 THEN
            PERFORM openrisk._bad_parameter('page and after cannot be combined',
                                            'after continues from a cursor; leave page out');
        END IF;
        -- refuse a bad cursor before anything is keyed or cached
        PERFORM openrisk._cursor_open(v_after, tenant, v_sort_by, v_sort_dir, v_severity, v_status, v_q);
    END IF;
    RETURN openrisk.cache_fetch_meta(
        openrisk._key_risk_list(tenant, v_sort_by, v_sort_dir, v_severity, v_status, v_q, page, page_size, v_after),
        NULL, 'SELECT openrisk._risk_list_compute($1, $2, $3, $4, $5, $6, $7, $8, $9)',
        tenant, page, page_size, v_severity, v_status, v_q, v_sort_by, v_sort_dir, v_after);
END
$$;

CREATE FUNCTION openrisk.risk_list(tenant uuid, page integer DEFAULT 1, page_size integer DEFAULT 20,
                                   severity text DEFAULT NULL, status text DEFAULT NULL,
                                   q text DEFAULT NULL, sort_by text DEFAULT 'score',
                                   sort_dir text DEFAULT 'desc', after text DEFAULT NULL)
RETURNS json LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
    SELECT (openrisk.risk_list_meta(tenant, page, page_size, severity, status, q, sort_by, sort_dir, after)).value::json
$$;

REVOKE ALL ON FUNCTION openrisk._risk_json(openrisk.risks), openrisk._risk_sort_columns(),
    openrisk._cursor_message(uuid, text, text, text, text, text, text, uuid),
    openrisk._hmac_sha256(bytea, text), openrisk._cursor_mac(text),
    openrisk._cursor_make(uuid, text, text, text, text, text, text, uuid),
    openrisk._cursor_open(text, uuid, text, text, text, text, text),
    openrisk._risk_count(bigint[], text, text),
    openrisk._risk_list_page_sql(text, text, boolean, boolean, text, boolean),
    openrisk._risk_list_compute(uuid, integer, integer, text, text, text, text, text, text) FROM PUBLIC;
