-- sql/15_common.sql -- argument checks and error reporting shared by every
-- endpoint and write function.
--
-- Why this file exists: every read endpoint must reject bad input before it
-- builds a cache key (nothing is ever cached for an error), and every error
-- must carry the right SQLSTATE and a human sentence the gateway can pass
-- to a client.  Writing those checks once keeps the eleven endpoints from
-- drifting apart in what they accept and how they say no.
--
-- SQLSTATEs used across the API:
--   22023 invalid_parameter_value  bad page/page_size/enum/period/days/sort,
--                                  wrong JSON type, unknown body field
--   22P02 invalid_text_representation  malformed uuid / json / number
--                                  (raised by PostgreSQL's own input casts)
--   23502/23503/23505/23514        constraint violations (message from the
--                                  constraint's COMMENT, see _raise_constraint)
--
-- These helpers are revoked from PUBLIC and only called from the SECURITY
-- DEFINER endpoints, which pin search_path; they carry no SET clause of
-- their own because one costs a GUC save/restore per call on the hit path.

-- Raise invalid_parameter_value with a human message.
CREATE FUNCTION openrisk._bad_parameter(message text, hint text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = message,
        HINT = coalesce(hint, '');
END
$$;

-- A required argument: NULL is a bad parameter, not "not found".
CREATE FUNCTION openrisk._require(value anyelement, name text)
RETURNS anyelement LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF value IS NULL THEN
        PERFORM openrisk._bad_parameter(format('%s is required', name));
    END IF;
    RETURN value;
END
$$;

-- The tenant argument of an endpoint function: NULL is a bad parameter,
-- and a caller bound to tenants (openrisk.grant_tenant, 80_privileges.sql)
-- may name only those: any other is 42501.  In C (src/tenant_acl.c)
-- because it runs on every call, cache hits included: the caller's
-- bindings are read once per session and kept until they change.
CREATE FUNCTION openrisk._tenant_arg(tenant uuid)
RETURNS uuid AS 'MODULE_PATHNAME', 'openrisk_tenant_arg'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

-- Pagination used by every list: page >= 1, page_size 1..200.
CREATE FUNCTION openrisk._check_page(page integer, page_size integer)
RETURNS void LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF page IS NULL OR page < 1 THEN
        PERFORM openrisk._bad_parameter(format('page must be 1 or more (got %s)', coalesce(page::text, 'null')));
    END IF;
    IF page_size IS NULL OR page_size NOT BETWEEN 1 AND 200 THEN
        PERFORM openrisk._bad_parameter(format('page_size must be between 1 and 200 (got %s)',
                                               coalesce(page_size::text, 'null')));
    END IF;
END
$$;

-- Normalise an optional enumerated argument: NULL stays NULL (no filter),
-- anything else is trimmed, case-folded as the enum is spelled, and must
-- be one of allowed.  Returns the normalised value, which goes into keys.
CREATE FUNCTION openrisk._enum_arg(value text, name text, allowed text[], upper_case boolean)
RETURNS text LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v text;
BEGIN
    IF value IS NULL THEN
        RETURN NULL;
    END IF;
    v := CASE WHEN upper_case THEN upper(btrim(value)) ELSE lower(btrim(value)) END;
    IF NOT v = ANY (allowed) THEN
        PERFORM openrisk._bad_parameter(
            format('%s must be one of %s (got %L)', name, array_to_string(allowed, ', '), value));
    END IF;
    RETURN v;
END
$$;

-- The optional arguments below arrive as text, as a query string gives
-- them, so that a malformed value is a 22023 naming the argument rather
-- than a cast error quoting PostgreSQL's input syntax.  An empty or blank
-- value means "not given", like an absent one.

-- Optional free text: trimmed, at most max_len characters.
CREATE FUNCTION openrisk._text_arg(value text, name text, max_len integer)
RETURNS text LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v text := nullif(btrim(value), '');
BEGIN
    IF length(v) > max_len THEN
        PERFORM openrisk._bad_parameter(format('%s must be at most %s characters (got %s)', name, max_len, length(v)));
    END IF;
    RETURN v;
END
$$;

-- Optional number: a plain decimal (an integer when whole) within lo..hi,
-- returned without trailing zeros (so "10" and "10.0" are one cache key).
CREATE FUNCTION openrisk._number_arg(value text, name text, lo numeric, hi numeric, whole boolean)
RETURNS numeric LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v text := nullif(btrim(value), '');
    shape text := CASE WHEN whole THEN '^[+-]?[0-9]{1,9}$' ELSE '^[+-]?([0-9]{1,9}(\.[0-9]{0,6})?|\.[0-9]{1,6})$' END;
    n numeric;
BEGIN
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    IF v ~ shape THEN
        n := v::numeric;
    END IF;
    IF n IS NULL OR n < lo OR n > hi THEN
        PERFORM openrisk._bad_parameter(format('%s must be %s between %s and %s (got %L)', name,
                                               CASE WHEN whole THEN 'an integer' ELSE 'a number' END, lo, hi, value));
    END IF;
    RETURN trim_scale(n);
END
$$;

-- Optional instant in ISO 8601: a date (midnight UTC) or a date and time,
-- with an optional offset (Z, +02, +02:00); without one it is UTC, so that
-- one cached answer serves every session whatever its TimeZone.  Spellings
-- whose meaning depends on the session (1/2/2026, 'yesterday') are refused.
CREATE FUNCTION openrisk._instant_arg(value text, name text)
RETURNS timestamptz LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v text := nullif(btrim(value), '');
    m text[];
BEGIN
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    m := regexp_match(v, '^([0-9]{4}-[0-9]{2}-[0-9]{2})(?:[T ]([0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?)'
                         '(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?$');
    IF m IS NOT NULL THEN
        BEGIN
            RETURN (m[1] || ' ' || coalesce(m[2], '00:00') || CASE WHEN m[3] IS NULL OR m[3] = 'Z' THEN '+00' ELSE m[3] END)::timestamptz;
        EXCEPTION WHEN data_exception THEN
            NULL;               -- 2026-02-30, 25:00: refused below
        END;
    END IF;
    PERFORM openrisk._bad_parameter(format('%s must be an ISO 8601 date or date-time, e.g. 2026-01-31 or 2026-01-31T12:00:00Z (got %L)',
                                           name, value));
    RETURN NULL;
END
$$;

-- The periods of dashboard_stats / risk_matrix and their window lengths
-- ('all' has none): the window of a period is [now() - length, oo).  The
-- window moves with time; the namespace TTL bounds how long a cached
-- answer may lag behind the clock.  25_aggregates.sql reads the lengths to
-- decide which cached windows a change falls in.
CREATE FUNCTION openrisk._periods()
RETURNS TABLE (name text, length interval) LANGUAGE sql IMMUTABLE
AS $$
    VALUES ('week', interval '7 days'), ('month', interval '1 month'),
           ('quarter', interval '3 months'), ('year', interval '1 year'), ('all', NULL::interval)
$$;

CREATE FUNCTION openrisk._period_start(period text)
RETURNS timestamptz LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN (
    SELECT coalesce((SELECT now() - p.length FROM openrisk._periods() p WHERE p.name = period),
                        '-infinity'));
END
$$;

CREATE FUNCTION openrisk._period_arg(period text)
RETURNS text LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    RETURN (
    SELECT openrisk._enum_arg(openrisk._require(period, 'period'), 'period',
                                  ARRAY(SELECT p.name FROM openrisk._periods() p), false));
END
$$;

-- What PostgreSQL's uuid input accepts in its canonical forms (with or
-- without hyphens, optional braces), case-insensitively: checked before a
-- cast so a client never sees the cast's own error text.
CREATE FUNCTION openrisk._uuid_pattern()
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT '^\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$' $$;

-- A user's text as a LIKE pattern matching it anywhere: %, _ and the
-- escape character are taken literally.
CREATE FUNCTION openrisk._like_contains(value text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT '%' || replace(replace(replace(value, '\', '\\'), '%', '\%'), '_', '\_') || '%' $$;

-- Re-raise a constraint violation caught in a write function with the
-- constraint's COMMENT as the message (the sentence lives next to the rule
-- in 10_schema.sql) and the original SQLSTATE.  NOT NULL violations become
-- "<column> is required".  A constraint without a comment gets a generic
-- sentence: PostgreSQL's own message (naming relations and constraints)
-- stays in DETAIL, which the gateway never shows.
CREATE FUNCTION openrisk._raise_constraint(sqlstate text, constraint_name text,
                                           table_name text, column_name text, message text)
RETURNS void LANGUAGE plpgsql STABLE
AS $$
DECLARE
    human text;
BEGIN
    IF sqlstate = '23502' AND column_name <> '' THEN
        human := format('%s is required', column_name);
    ELSE
        SELECT obj_description(c.oid, 'pg_constraint') INTO human
          FROM pg_constraint c
         WHERE c.conname = constraint_name
           AND c.connamespace = 'openrisk'::regnamespace;
    END IF;
    RAISE EXCEPTION USING ERRCODE = sqlstate,
        MESSAGE = coalesce(human, 'a value in the body breaks a rule of the register'),
        CONSTRAINT = coalesce(constraint_name, ''), DETAIL = message;
END
$$;

REVOKE ALL ON FUNCTION openrisk._bad_parameter(text, text), openrisk._require(anyelement, text),
    openrisk._tenant_arg(uuid), openrisk._uuid_pattern(),
    openrisk._check_page(integer, integer), openrisk._enum_arg(text, text, text[], boolean),
    openrisk._periods(),
    openrisk._text_arg(text, text, integer), openrisk._number_arg(text, text, numeric, numeric, boolean),
    openrisk._instant_arg(text, text),
    openrisk._period_start(text), openrisk._period_arg(text), openrisk._like_contains(text),
    openrisk._raise_constraint(text, text, text, text, text) FROM PUBLIC;
