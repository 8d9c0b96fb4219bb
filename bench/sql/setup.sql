-- bench/sql/setup.sql -- fixtures for tools/bench-sql.sh (engine part).
SET client_min_messages = warning;
DROP TABLE IF EXISTS bench_plain, bench_invalidating;
DROP FUNCTION IF EXISTS bench_invalidate();
CREATE TABLE bench_plain (id int PRIMARY KEY, tenant int NOT NULL, v bigint NOT NULL DEFAULT 0);
CREATE TABLE bench_invalidating (LIKE bench_plain INCLUDING ALL);
INSERT INTO bench_plain SELECT g, g % 50 FROM generate_series(1, 10000) g;
INSERT INTO bench_invalidating SELECT * FROM bench_plain;

-- the same four patterns a risk update invalidates, queued by the
-- extension's C row trigger
CREATE TRIGGER bench_invalidate AFTER UPDATE ON bench_invalidating
  FOR EACH ROW EXECUTE FUNCTION openrisk.invalidate_trigger(
    'bench:list:{tenant}:*', 'bench:search:{tenant}:*', 'bench:matrix:{tenant}:*',
    'bench:id:{tenant}:{id}');

SELECT openrisk.cache_reset();
-- a ~2 kB hot value, 10k distinct keys, and 100k entries in all
SELECT openrisk.cache_put('bench:hot:1', repeat('x', 2000), '1 hour');
SELECT count(openrisk.cache_put('bench:k:' || g, repeat('k', 2000), '1 hour')) FROM generate_series(1, 10000) g;
SELECT count(openrisk.cache_put('bench:list:' || (g % 50) || ':' || g, repeat('l', 300), '1 hour'))
FROM generate_series(1, 90000) g;
SELECT entries, bytes_used, bytes_limit FROM openrisk.cache_stats;
