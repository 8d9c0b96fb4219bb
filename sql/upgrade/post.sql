-- sql/upgrade/post.sql -- back-fills that need this version's functions
-- (step 4 of the generated upgrade script; extension/Makefile).  Same
-- rules as deltas.sql: idempotent, data only.

-- 1.1: the dashboards' aggregates, from the rows (a no-op where they are
-- right already); aggregates_rebuild also drops the tenant's cached
-- figures.
SELECT openrisk.aggregates_rebuild(t.id) FROM openrisk.tenants t ORDER BY t.id;

-- Cached answers of the old version's code are not the new code's: drop
-- every entry of this database's families.
SELECT openrisk.cache_invalidate(p)
  FROM unnest(ARRAY['risk:*', 'dashboard:*', 'connector:*', 'app:*', 'report:*']) p;
