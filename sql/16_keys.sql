-- sql/16_keys.sql -- every cache key and invalidation pattern, written once.
--
-- Why this file exists: a cached answer is only correct if the write that
-- changes it drops its key, and the two are written by different code (the
-- endpoints build keys, the triggers build patterns, an admin API checks
-- patterns).  Spelling the key format in each of them lets them drift
-- apart silently: a renamed segment and the triggers drop nothing.  Here
-- each key family has ONE prefix function; the endpoints' keys and the
-- triggers' patterns are both derived from it.
--
-- Shape: <namespace>:<kind>:<scope>:<parameters...>.  <scope> is the tenant
-- for tenant data (never omitted, so one tenant's pattern can never match
-- another's keys), absent for the global connector catalogue.  The
-- namespace (first segment) picks the engine's default TTL
-- (openrisk.ttl_<namespace>).  Parameters are normalised before they get
-- here: enums case-folded, free text as md5 (_key_text), '-' for "none".
-- The list's further filters (owner, tag, ..., created_before) travel as
-- one canonical text (_risk_filter_text, 39_risk_filters.sql), hashed into
-- one segment; a list without them keeps the key it always had.
--
-- A risk's history keys have one more fixed segment, the risk id, so the
-- history of one risk is a prefix of its own (risk:history:<t>:<id>:*)
-- that a write to that risk drops without touching the others.
--
--   family                 prefix                       parameters
--   risk list              risk:list:<t>:               sort:dir:severity:status:q:page|after:size:filters
--   risk detail            risk:id:<t>:                 <risk id>
--   risk history           risk:history:<t>:<risk id>:  page:size
--   risk search            risk:search:<t>:<anchor>:    q:page:size
--   risk matrix            risk:matrix:<t>:             <period>
--   dashboard stats        dashboard:stats:<t>:         <period>
--   dashboard matrix       dashboard:matrix:<t>:        all
--   dashboard timeline     dashboard:timeline:<t>:      <days>
--   reports (reserved)     report:all:<t>:              ...
--   connector list         connector:list:              category:status:page:size
--   connector detail       connector:id:                <connector id>
--   installed app          app:id:<t>:                  <app id>
--
-- A search key has one more fixed segment, its anchor: a lexeme every
-- risk the query can match must contain ('l-' and 64 bits of the
-- lexeme's md5), or 'any' for a query with no such lexeme (one with OR or
-- NOT, or none at all).  A change to some risks then drops only the
-- searches anchored on a lexeme of those risks (before or after the
-- change) and the unanchored ones: a risk that contains no lexeme of the
-- anchor is in no result of that search, before or after, so neither the
-- items nor the total of such a search can change.  Anchors that share
-- their 64 bits are one segment -- a harmless extra drop.
--
-- Every pattern is a prefix ending in ':*' or an exact key, which the
-- engine resolves in O(1).

CREATE FUNCTION openrisk._kp(namespace text, kind text, scope uuid)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT namespace || ':' || kind || ':' || coalesce(scope::text || ':', '') $$;

-- The family prefixes.
CREATE FUNCTION openrisk._kp_risk_list(tenant uuid) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT openrisk._kp('risk', 'list', tenant) $$;
CREATE FUNCTION openrisk._kp_risk_id(tenant uuid) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT openrisk._kp('risk', 'id', tenant) $$;
CREATE FUNCTION openrisk._kp_risk_history(tenant uuid) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT openrisk._kp('risk', 'history', tenant) $$;
-- The history keys of one risk.
CREATE FUNCTION openrisk._kp_risk_history_of(tenant uuid, risk uuid) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT openrisk._kp_risk_history(tenant) || risk::text || ':' $$;
CREATE FUNCTION openrisk._kp_risk_search(tenant uuid) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT openrisk._kp('risk', 'search', tenant) $$;
-- The searches of one anchor segment (NULL: the unanchored ones).
CREATE FUNCTION openrisk._kp_risk_search_anchor(tenant uuid, lexeme text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT openrisk._kp_risk_search(tenant) || coalesce('l-' || left(md5(lexeme), 16), 'any') || ':' $$;
CREATE FUNCTION openrisk._kp_risk_matrix(tenant uuid) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT openrisk._kp('risk', 'matrix', tenant) $$;
CREATE FUNCTION openrisk._kp_dashboard_stats(tenant uuid) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT openrisk._kp('dashboard', 'stats', tenant) $$;
CREATE FUNCTION openrisk._kp_dashboard_matrix(tenant uuid) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT openrisk._kp('dashboard', 'matrix', tenant) $$;
CREATE FUNCTION openrisk._kp_dashboard_timeline(tenant uuid) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT openrisk._kp('dashboard', 'timeline', tenant) $$;
CREATE FUNCTION openrisk._kp_report(tenant uuid) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT openrisk._kp('report', 'all', tenant) $$;
CREATE FUNCTION openrisk._kp_connector_list() RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT openrisk._kp('connector', 'list', NULL) $$;
CREATE FUNCTION openrisk._kp_connector_id() RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT openrisk._kp('connector', 'id', NULL) $$;
CREATE FUNCTION openrisk._kp_app_id(tenant uuid) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT openrisk._kp('app', 'id', tenant) $$;

-- Every prefix of a tenant's data: what a tenant-scoped caller may
-- invalidate (openrisk.cache_invalidate_tenant).
CREATE FUNCTION openrisk._tenant_key_prefixes(tenant uuid)
RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT ARRAY[openrisk._kp_risk_list(tenant), openrisk._kp_risk_id(tenant),
                 openrisk._kp_risk_history(tenant), openrisk._kp_risk_search(tenant),
                 openrisk._kp_risk_matrix(tenant),
                 openrisk._kp_dashboard_stats(tenant), openrisk._kp_dashboard_matrix(tenant),
                 openrisk._kp_dashboard_timeline(tenant), openrisk._kp_report(tenant),
                 openrisk._kp_app_id(tenant)]
$$;

-- A pattern covering a whole family.
CREATE FUNCTION openrisk._family(prefix text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT prefix || '*' $$;

-- Free text in a key: its md5, so ':' or '*' typed by a user can never
-- change the shape of a key or turn it into a pattern.  '-' stands for
-- "no value" (md5 never produces it).
CREATE FUNCTION openrisk._key_text(value text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN value IS NULL THEN '-' ELSE md5(value) END $$;

-- The keys, one per endpoint.  Arguments arrive normalised.  filters is
-- the list's canonical filter text (NULL: none, and no segment at all).
-- A builder that is one expression of immutable operators stays SQL (the
-- planner inlines it; hence id::text, not text || uuid, which is only
-- STABLE); one that needs concat_ws -- STABLE too -- is PL/pgSQL.
-- PostgreSQL never inlines an IMMUTABLE SQL function whose body is not
-- immutable: it runs it through the SQL function executor, which parses
-- and plans the body on every call (~0.1-0.3 ms, on every request), where
-- PL/pgSQL keeps its plans for the session.  test/pgtap/393 checks it.
CREATE FUNCTION openrisk._key_risk_list(tenant uuid, sort_by text, sort_dir text, severity text,
                                        status text, q text, page integer, page_size integer,
                                        after text, filters text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    RETURN openrisk._kp_risk_list(tenant) ||
           concat_ws(':', sort_by, sort_dir, coalesce(severity, '-'), coalesce(status, '-'),
                     openrisk._key_text(q),
                     CASE WHEN after IS NULL THEN page::text ELSE 'after-' || md5(after) END,
                     page_size, 'f-' || md5(filters));
END
$$;

CREATE FUNCTION openrisk._key_risk_id(tenant uuid, id uuid) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT openrisk._kp_risk_id(tenant) || id::text $$;

CREATE FUNCTION openrisk._key_risk_history(tenant uuid, risk uuid, page integer, page_size integer)
RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    RETURN openrisk._kp_risk_history_of(tenant, risk) || concat_ws(':', page, page_size);
END
$$;

-- The anchor of a search (risk_search's web-search syntax, 'simple'
-- configuration): without OR and NOT every lexeme of the query is
-- required (AND and phrases only add conditions), and the longest is
-- taken, as the likeliest to be rare.  NULL when there is none to take:
-- an OR or NOT anywhere, no lexeme, or a lexeme the tsquery text escapes
-- (a backslash) -- those searches are unanchored.
CREATE FUNCTION openrisk._search_anchor(q text)
RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    query text := websearch_to_tsquery('simple'::regconfig, q)::text;
    lexeme text;
BEGIN
    IF regexp_replace(query, '''(?:[^'']|'''')*''', '', 'g') ~ '[|!]' OR strpos(query, E'\\') > 0 THEN
        RETURN NULL;
    END IF;
    SELECT replace(m[1], '''''', '''') INTO lexeme
      FROM regexp_matches(query, '''((?:[^'']|'''')*)''', 'g') m
     ORDER BY length(m[1]) DESC, m[1] LIMIT 1;
    RETURN lexeme;
END
$$;

CREATE FUNCTION openrisk._key_risk_search(tenant uuid, q text, page integer, page_size integer)
RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    RETURN openrisk._kp_risk_search_anchor(tenant, openrisk._search_anchor(q)) ||
           concat_ws(':', openrisk._key_text(q), page, page_size);
END
$$;

-- Above this many distinct lexemes in the risks one statement changed in
-- a tenant, the tenant's whole search family is dropped instead of one
-- anchor each; above this many rows the lexemes are not even gathered.
CREATE FUNCTION openrisk._max_search_anchors()
RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT 128 $$;

-- The distinct lexemes of some search documents, NULL when there are
-- more than _max_search_anchors() or DOCS is NULL.  Concatenating
-- tsvectors merges their lexemes, so no join (the invalidation triggers
-- run with enable_nestloop off, under which a join of two unnests is
-- planned badly).
CREATE FUNCTION openrisk._search_lexemes(docs tsvector[])
RETURNS text[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    merged tsvector := '';
    doc tsvector;
BEGIN
    IF docs IS NULL THEN
        RETURN NULL;
    END IF;
    FOREACH doc IN ARRAY docs LOOP
        merged := merged || strip(coalesce(doc, ''));
        IF length(merged) > openrisk._max_search_anchors() THEN
            RETURN NULL;
        END IF;
    END LOOP;
    RETURN tsvector_to_array(merged);
END
$$;

-- What a change to risks whose documents (old and new) have the lexemes
-- LEXEMES drops from the tenant's searches: the unanchored searches and
-- those anchored on one of the lexemes; the whole family when LEXEMES is
-- NULL (unknown, or too many).
CREATE FUNCTION openrisk._search_patterns(tenant uuid, lexemes text[])
RETURNS text[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    RETURN CASE WHEN lexemes IS NULL THEN ARRAY[openrisk._family(openrisk._kp_risk_search(tenant))]
                ELSE ARRAY[openrisk._family(openrisk._kp_risk_search_anchor(tenant, NULL))] ||
                     ARRAY(SELECT openrisk._family(openrisk._kp_risk_search_anchor(tenant, l)) FROM unnest(lexemes) l)
           END;
END
$$;

CREATE FUNCTION openrisk._key_risk_matrix(tenant uuid, period text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT openrisk._kp_risk_matrix(tenant) || period $$;

CREATE FUNCTION openrisk._key_dashboard_stats(tenant uuid, period text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT openrisk._kp_dashboard_stats(tenant) || period $$;

CREATE FUNCTION openrisk._key_dashboard_matrix(tenant uuid) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT openrisk._kp_dashboard_matrix(tenant) || 'all' $$;

CREATE FUNCTION openrisk._key_dashboard_timeline(tenant uuid, days integer) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT openrisk._kp_dashboard_timeline(tenant) || days::text $$;

CREATE FUNCTION openrisk._key_connector_list(category text, status text, page integer, page_size integer)
RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    RETURN openrisk._kp_connector_list() ||
           concat_ws(':', openrisk._key_text(category), coalesce(status, '-'), page, page_size);
END
$$;

CREATE FUNCTION openrisk._key_connector_id(id uuid) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT openrisk._kp_connector_id() || id::text $$;

CREATE FUNCTION openrisk._key_app_id(tenant uuid, id uuid) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT openrisk._kp_app_id(tenant) || id::text $$;

-- The longest a cached answer of a namespace can have lived: its TTL
-- setting, plus a day of slack for entries stored before the setting was
-- lowered (after lowering a TTL by more than a day, drop the namespace
-- with cache_invalidate('<namespace>:*')).  Used to decide whether a
-- change is old enough to be outside every cached period window.
CREATE FUNCTION openrisk._max_entry_age(namespace text)
RETURNS interval LANGUAGE sql STABLE
AS $$ SELECT current_setting('openrisk.ttl_' || namespace)::interval + interval '1 day' $$;

-- Queue a set of patterns for invalidation at commit (deduplicated by the
-- engine).
CREATE FUNCTION openrisk._invalidate(patterns text[])
RETURNS void LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM openrisk.cache_invalidate(p) FROM unnest(patterns) p;
END
$$;

-- Invalidation by a tenant-scoped caller (the gateway's admin endpoint):
-- the pattern must lie inside one of that tenant's key families -- an
-- exact key, or a prefix of it ending in ':*' (O(1) in the engine) -- so
-- no pattern can reach another tenant's keys or the global catalogue.
-- 42501 for a pattern outside the caller's families (HTTP 403), 22023 for
-- one that is malformed (HTTP 400).  Returns how many entries it covers
-- now; takes effect at commit.
CREATE FUNCTION openrisk.cache_invalidate_tenant(tenant uuid, pattern text)
RETURNS bigint LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
DECLARE
    stem text;
BEGIN
    PERFORM openrisk._tenant_arg(tenant);
    PERFORM openrisk._require(nullif(pattern, ''), 'pattern');
    IF length(pattern) > 400 OR pattern ~ '[[:cntrl:]]' THEN
        PERFORM openrisk._bad_parameter('pattern must be at most 400 printable characters');
    END IF;
    stem := CASE WHEN pattern LIKE '%*' THEN left(pattern, -1) ELSE pattern END;
    IF strpos(stem, '*') > 0 THEN
        PERFORM openrisk._bad_parameter('"*" may only end a pattern');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM unnest(openrisk._tenant_key_prefixes(tenant)) p WHERE starts_with(stem, p)) THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
            MESSAGE = 'pattern may only name your own tenant''s keys',
            HINT = format('e.g. %s', openrisk._family(openrisk._kp_risk_list(tenant)));
    END IF;
    IF pattern LIKE '%*' AND stem NOT LIKE '%:' THEN
        PERFORM openrisk._bad_parameter('a prefix pattern must end in ":*"',
                                        format('e.g. %s', openrisk._family(openrisk._kp_risk_list(tenant))));
    END IF;
    RETURN openrisk.cache_invalidate(pattern);
END
$$;

REVOKE ALL ON FUNCTION openrisk._kp(text, text, uuid), openrisk._kp_risk_list(uuid),
    openrisk._kp_risk_id(uuid), openrisk._kp_risk_history(uuid), openrisk._kp_risk_history_of(uuid, uuid),
    openrisk._kp_risk_search(uuid), openrisk._kp_risk_search_anchor(uuid, text), openrisk._kp_risk_matrix(uuid),
    openrisk._kp_dashboard_stats(uuid), openrisk._kp_dashboard_matrix(uuid),
    openrisk._kp_dashboard_timeline(uuid), openrisk._kp_report(uuid), openrisk._kp_connector_list(),
    openrisk._kp_connector_id(), openrisk._kp_app_id(uuid), openrisk._tenant_key_prefixes(uuid),
    openrisk._family(text), openrisk._key_text(text),
    openrisk._key_risk_list(uuid, text, text, text, text, text, integer, integer, text, text),
    openrisk._key_risk_id(uuid, uuid), openrisk._key_risk_history(uuid, uuid, integer, integer),
    openrisk._search_anchor(text), openrisk._key_risk_search(uuid, text, integer, integer),
    openrisk._max_search_anchors(), openrisk._search_lexemes(tsvector[]), openrisk._search_patterns(uuid, text[]),
    openrisk._key_risk_matrix(uuid, text), openrisk._key_dashboard_stats(uuid, text),
    openrisk._key_dashboard_matrix(uuid), openrisk._key_dashboard_timeline(uuid, integer),
    openrisk._key_connector_list(text, text, integer, integer), openrisk._key_connector_id(uuid),
    openrisk._key_app_id(uuid, uuid), openrisk._max_entry_age(text), openrisk._invalidate(text[]),
    openrisk.cache_invalidate_tenant(uuid, text) FROM PUBLIC;
