-- sql/39_risk_filters.sql -- the filters a risk owner thinks in: owner,
-- tag, framework, a score range, a heat-map cell (impact, probability) and
-- a creation range, for risk_list (40_) and the CSV export (44_).
--
-- Why this file exists: the list and the export must agree exactly on what
-- a filter means, and the cache key, the signed cursor and the SQL must
-- all see the same normalised values -- a filter spelled two ways ("10"
-- and "10.0", a date with and without "Z") must be one key, and a cursor
-- must not continue a list with other filters.  So a filter is parsed
-- once (_risk_filter_arg, 22023 with a sentence for every bad value),
-- held as one value of type risk_filter, and rendered from it: as the
-- canonical text that keys and cursors carry (_risk_filter_text) and as
-- the SQL conditions (_risk_filter_sql) both readers plan.
--
-- Indexes (10_schema.sql): owner, tag and framework are served by one GIN
-- index (tenant_id, owner, tags, frameworks) with btree_gin; the ranges by
-- the (tenant, column, id) list indexes: score, impact, probability and
-- created_at each have one.  A page query is planned per call with the
-- real values, so the planner picks the sort index (few rows filtered) or
-- the filter's index (few rows to sort).
--
-- Totals: the aggregates (25_aggregates.sql) hold, per creation day, the
-- counts by severity x status and by impact x probability cell, and a
-- creation range is a difference of two windows; so a list filtered by
-- (severity, status) or by (impact, probability), each with or without a
-- creation range, is totalled from them.  Any other combination is
-- counted through the same indexes (see docs/CACHING.md for the cost).

CREATE TYPE openrisk.risk_filter AS (
    owner          text,        -- exact match
    tag            text,        -- tags contain it
    framework      text,        -- frameworks contain it
    min_score      numeric,     -- score >= min_score
    max_score      numeric,     -- score <= max_score
    impact         integer,     -- the heat-map cell
    probability    integer,
    created_after  timestamptz, -- created_at >= created_after
    created_before timestamptz  -- created_at <  created_before
);

-- Parse the filter arguments (text, as the query string gives them; ''
-- = not given).  Every bad value is a 22023 naming the argument.
CREATE FUNCTION openrisk._risk_filter_arg(owner text, tag text, framework text, min_score text,
                                          max_score text, impact text, probability text,
                                          created_after text, created_before text)
RETURNS openrisk.risk_filter LANGUAGE plpgsql STABLE
AS $$
DECLARE
    f openrisk.risk_filter;
BEGIN
    f.owner := openrisk._text_arg(owner, 'owner', 255);
    f.tag := openrisk._text_arg(tag, 'tag', 200);
    f.framework := openrisk._text_arg(framework, 'framework', 200);
    -- the highest score is 5 x 5 x 1.5 (a CRITICAL asset) = 37.5
    f.min_score := openrisk._number_arg(min_score, 'min_score', 0, 100, false);
    f.max_score := openrisk._number_arg(max_score, 'max_score', 0, 100, false);
    f.impact := openrisk._number_arg(impact, 'impact', 1, 5, true);
    f.probability := openrisk._number_arg(probability, 'probability', 1, 5, true);
    f.created_after := openrisk._instant_arg(created_after, 'created_after');
    f.created_before := openrisk._instant_arg(created_before, 'created_before');
    IF f.min_score > f.max_score THEN
        PERFORM openrisk._bad_parameter(format('min_score (%s) must not be greater than max_score (%s)',
                                               f.min_score, f.max_score));
    END IF;
    IF f.created_after > f.created_before THEN
        PERFORM openrisk._bad_parameter('created_after must not be later than created_before');
    END IF;
    RETURN f;
END
$$;

-- The canonical text of a filter: what cache keys hash and cursors sign.
-- NULL when no filter is set, so an unfiltered list keeps its key.
-- Instants in UTC with microseconds: one instant, one text.
CREATE FUNCTION openrisk._risk_filter_text(f openrisk.risk_filter)
RETURNS text LANGUAGE sql STABLE
AS $$
    SELECT nullif(concat_ws(chr(31),
        'owner=' || f.owner, 'tag=' || f.tag, 'framework=' || f.framework,
        'min_score=' || f.min_score, 'max_score=' || f.max_score,
        'impact=' || f.impact, 'probability=' || f.probability,
        'created_after=' || to_char(f.created_after AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
        'created_before=' || to_char(f.created_before AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')), '')
$$;

-- The conditions of the filters that are set, over risks r, with the
-- values as parameters $9..$17 (the page query's $1..$8 are listed in
-- 40_risk_list.sql, which binds these in this order).
CREATE FUNCTION openrisk._risk_filter_sql(f openrisk.risk_filter)
RETURNS text LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    RETURN concat(
        CASE WHEN f.owner IS NOT NULL THEN ' AND r.owner = $9' END,
        CASE WHEN f.tag IS NOT NULL THEN ' AND r.tags @> ARRAY[$10]' END,
        CASE WHEN f.framework IS NOT NULL THEN ' AND r.frameworks @> ARRAY[$11]' END,
        CASE WHEN f.min_score IS NOT NULL THEN ' AND r.score >= $12' END,
        CASE WHEN f.max_score IS NOT NULL THEN ' AND r.score <= $13' END,
        CASE WHEN f.impact IS NOT NULL THEN ' AND r.impact = $14' END,
        CASE WHEN f.probability IS NOT NULL THEN ' AND r.probability = $15' END,
        CASE WHEN f.created_after IS NOT NULL THEN ' AND r.created_at >= $16' END,
        CASE WHEN f.created_before IS NOT NULL THEN ' AND r.created_at < $17' END);
END
$$;

-- How many risks an 'r' vector counts in the impact x probability cells a
-- filter selects (NULL impact or probability: the whole row or column).
CREATE FUNCTION openrisk._risk_cell_count(v bigint[], p_impact integer, p_probability integer)
RETURNS bigint LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    RETURN (SELECT sum(v[21 + 5 * (i - 1) + p - 1])
          FROM generate_series(1, 5) i, generate_series(1, 5) p
         WHERE (p_impact IS NULL OR i = p_impact) AND (p_probability IS NULL OR p = p_probability));
END
$$;

-- The 'r' vector of the live risks a filter's creation range selects:
-- window(created_after) - window(created_before).
CREATE FUNCTION openrisk._risk_filter_window(p_tenant uuid, f openrisk.risk_filter)
RETURNS bigint[] LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN (SELECT CASE WHEN f.created_before IS NULL THEN x.w
                    ELSE openrisk._vec_add(x.w, openrisk._vec_scale(openrisk._risk_window(p_tenant, f.created_before), -1)) END
          FROM (SELECT openrisk._risk_window(p_tenant, coalesce(f.created_after, '-infinity')) AS w) x);
END
$$;

REVOKE ALL ON FUNCTION
    openrisk._risk_filter_arg(text, text, text, text, text, text, text, text, text),
    openrisk._risk_filter_text(openrisk.risk_filter), openrisk._risk_filter_sql(openrisk.risk_filter),
    openrisk._risk_cell_count(bigint[], integer, integer),
    openrisk._risk_filter_window(uuid, openrisk.risk_filter) FROM PUBLIC;
