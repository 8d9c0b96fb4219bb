-- a cached read as an endpoint does it: cache_fetch of a ~2 kB value, 1000
-- keys; the same script runs on the primary and on a hot standby
-- (tools/lib/bench-replicas.py).  ':' + letter is a pgbench variable, so
-- the key is concatenated.
\set k random(1, 1000)
SELECT length(openrisk.cache_fetch('bench' || ':' || 'rep' || ':' || :k, interval '1 hour', 'SELECT repeat(''x'', 2000)'));
