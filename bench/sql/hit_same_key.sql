-- a ':' followed by a letter is a pgbench variable, so keys are concatenated
-- (constant-folded once by the prepared statement)
SELECT openrisk.cache_get('bench' || ':' || 'hot' || ':' || '1');
