-- stores of 2 kB values over a key space far larger than the cache: once it
-- is full, every store evicts (CLOCK) first
\set k random(1, 5000000)
SELECT openrisk.cache_put('bench' || ':' || 'evict' || ':' || :k, repeat('e', 2000), '1 hour');
