-- sql/44_risk_export.sql -- risk_export_page: the register as RFC 4180 CSV,
-- one batch at a time (GET /api/v1/risks/export.csv streams the batches).
--
-- Why this file exists: risk owners take the register to a spreadsheet.
-- An export must (1) select exactly what the list with the same filters
-- shows, (2) never hold the whole register in memory or a database
-- connection for as long as a slow client takes to read it, and (3) be
-- safe to open: a cell a spreadsheet would evaluate as a formula is how a
-- risk title typed by one user runs code on another's machine ("CSV
-- injection").  So:
--   (1) a batch is the list's own page query (_risk_list_ids, with the
--       arguments checked by _risk_list_args), in the list's order;
--   (2) each call returns at most batch_size rows as CSV text and `next`,
--       the list's signed keyset cursor after them: the gateway calls it
--       again with after = next on a connection borrowed for that call
--       only, writing each batch to the client in between.  A batch costs
--       what a cursor page of the list costs, whatever the depth.  Like
--       the list's cursor pages, a long export is not one snapshot: a row
--       changed while it runs may appear in its old or its new place.
--   (3) every field is quoted (quotes doubled), and a value beginning with
--       = + - @, a tab or a carriage return (or the full-width = + - @) is
--       prefixed with ' (OWASP's advice for CSV injection).
-- Nothing is cached: an export is read once.

-- One CSV field: quoted, quotes doubled, a would-be formula neutralised;
-- NULL is the empty field (not quoted), '' the empty string ("").
CREATE FUNCTION openrisk._csv_field(v text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN v IS NULL THEN ''
                ELSE '"' || replace(CASE WHEN v ~ '^[=+@\t\r\uFF1D\uFF0B\uFF0D\uFF20-]' THEN '''' || v ELSE v END,
                                    '"', '""') || '"' END
$$;

-- The columns of the export, in order: the header line.
CREATE FUNCTION openrisk._risk_csv_header()
RETURNS text LANGUAGE sql IMMUTABLE
AS $$
    SELECT 'id,title,description,impact,probability,score,severity,status,tags,frameworks,owner,source,'
           'external_id,custom_fields,created_at,updated_at' || E'\r\n'
$$;

-- One risk as a CSV line (CRLF), its values as the JSON API shows them:
-- arrays and custom_fields as JSON text, timestamps as in the JSON (the
-- caller pins TimeZone to UTC).
CREATE FUNCTION openrisk._risk_csv_line(r openrisk.risks)
RETURNS text LANGUAGE sql STABLE
AS $$
    SELECT concat_ws(',', openrisk._csv_field(r.id::text), openrisk._csv_field(r.title),
                     openrisk._csv_field(r.description), openrisk._csv_field(r.impact::text),
                     openrisk._csv_field(r.probability::text), openrisk._csv_field(r.score::text),
                     openrisk._csv_field(r.severity), openrisk._csv_field(r.status),
                     openrisk._csv_field(to_json(r.tags)::text), openrisk._csv_field(to_json(r.frameworks)::text),
                     openrisk._csv_field(r.owner), openrisk._csv_field(r.source), openrisk._csv_field(r.external_id),
                     openrisk._csv_field(r.custom_fields::text), openrisk._csv_field(to_json(r.created_at) #>> '{}'),
                     openrisk._csv_field(to_json(r.updated_at) #>> '{}')) || E'\r\n'
$$;

-- One batch of the export: the header line (first batch only) and up to
-- batch_size risks as CSV, and the cursor to pass as `after` for the next
-- batch (NULL after the last).  The arguments are risk_list's, checked
-- the same way (22023); `after` must be a cursor of this very list.
CREATE FUNCTION openrisk.risk_export_page(tenant uuid, severity text DEFAULT NULL, status text DEFAULT NULL,
                                          q text DEFAULT NULL, sort_by text DEFAULT 'score',
                                          sort_dir text DEFAULT 'desc', owner text DEFAULT NULL,
                                          tag text DEFAULT NULL, framework text DEFAULT NULL,
                                          min_score text DEFAULT NULL, max_score text DEFAULT NULL,
                                          impact text DEFAULT NULL, probability text DEFAULT NULL,
                                          created_after text DEFAULT NULL, created_before text DEFAULT NULL,
                                          after text DEFAULT NULL, batch_size integer DEFAULT 1000,
                                          OUT csv text, OUT next text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
SET timezone = 'UTC'
AS $$
DECLARE
    a openrisk.risk_list_args := openrisk._risk_list_args(tenant, severity, status, q, sort_by, sort_dir, after,
                                                          owner, tag, framework, min_score, max_score, impact,
                                                          probability, created_after, created_before);
    batch record;
BEGIN
    PERFORM openrisk._tenant_arg(tenant);
    IF batch_size IS NULL OR batch_size NOT BETWEEN 1 AND 10000 THEN
        PERFORM openrisk._bad_parameter(format('batch_size must be between 1 and 10000 (got %s)',
                                               coalesce(batch_size::text, 'null')));
    END IF;
    -- with q, test the title along the sort index: each batch then reads
    -- on from the cursor instead of re-finding every match
    SELECT * INTO batch
      FROM openrisk._risk_list_ids(tenant, a.severity, a.status, a.q, CASE WHEN a.q IS NOT NULL THEN 'scan' END,
                                   a.sort_by, a.sort_dir, a.after, a.filter, batch_size, 0);
    SELECT CASE WHEN a.after IS NULL THEN openrisk._risk_csv_header() ELSE '' END
           || coalesce(string_agg(openrisk._risk_csv_line(r), '' ORDER BY o.n), '')
      INTO csv
      FROM unnest(batch.ids) WITH ORDINALITY o(id, n)
      JOIN openrisk.risks r ON r.id = o.id;
    next := batch.next;
END
$$;

REVOKE ALL ON FUNCTION openrisk._csv_field(text), openrisk._risk_csv_header(),
    openrisk._risk_csv_line(openrisk.risks) FROM PUBLIC;
