-- test/upgrade/catalog.sql -- a fingerprint of the extension's objects,
-- one line each, sorted: two installations whose fingerprints are equal
-- have the same tables, columns, constraints, indexes, functions (code,
-- settings and grants), triggers and views.  Column order is left out (an
-- upgrade appends new columns; every function names its columns).
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'openrisk')
SELECT line FROM (
    SELECT 'function ' || p.oid::regprocedure || ' -> ' || pg_get_function_result(p.oid)
           || ' ' || p.prokind::text || p.provolatile::text || CASE WHEN p.prosecdef THEN ' definer' ELSE '' END
           || ' ' || coalesce(array_to_string(p.proconfig, ','), '') || ' src ' || md5(p.prosrc)
           || ' acl ' || coalesce(p.proacl::text, 'default') AS line
      FROM pg_proc p WHERE p.pronamespace = 'openrisk'::regnamespace
    UNION ALL
    SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
           || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
           || coalesce(' ' || a.attgenerated::text || ' ' || pg_get_expr(d.adbin, d.adrelid), '')
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE c.relnamespace = 'openrisk'::regnamespace AND c.relkind IN ('r', 'v') AND a.attnum > 0
       AND NOT a.attisdropped
    UNION ALL
    SELECT 'relation ' || c.relname || ' ' || c.relkind::text || ' acl ' || coalesce(c.relacl::text, 'default')
      FROM pg_class c WHERE c.relnamespace = 'openrisk'::regnamespace AND c.relkind IN ('r', 'v', 'S')
    UNION ALL
    SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
           || coalesce(' -- ' || obj_description(oid, 'pg_constraint'), '')
      FROM pg_constraint WHERE connamespace = 'openrisk'::regnamespace
    UNION ALL
    SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'openrisk'
    UNION ALL
    SELECT 'trigger ' || pg_get_triggerdef(t.oid)
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
     WHERE c.relnamespace = 'openrisk'::regnamespace AND NOT t.tgisinternal
    UNION ALL
    SELECT 'view ' || c.relname || ' ' || md5(pg_get_viewdef(c.oid))
      FROM pg_class c WHERE c.relnamespace = 'openrisk'::regnamespace AND c.relkind = 'v'
    UNION ALL
    SELECT 'type ' || t.typname FROM pg_type t
     WHERE t.typnamespace = 'openrisk'::regnamespace AND t.typtype = 'c'
       AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c')
    UNION ALL
    SELECT 'member ' || classid::regclass || ' ' || count(*)
      FROM pg_depend, ext WHERE refclassid = 'pg_extension'::regclass AND refobjid = ext.oid AND deptype = 'e'
     GROUP BY classid
) f ORDER BY line;
