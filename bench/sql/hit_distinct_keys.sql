\set k random(1, 10000)
SELECT openrisk.cache_get('bench' || ':' || 'k' || ':' || :k);
