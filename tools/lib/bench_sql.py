#!/usr/bin/python3
"""tools/lib/bench_sql.py -- `make bench-sql`: the engine's benchmarks, as
ratios measured side by side in one run on the project's cluster
(tools/bench-sql.sh is the entry point: it checks the cluster and execs
this).

pgbench -M prepared, 8 clients, 2 threads.  Each pair is run alternately
ROUNDS times and the median TPS of each side is compared, because on a
shared 2-core machine single numbers drift.
  1. cache hit of a ~2 kB value   vs  SELECT 1            (target >= 0.80)
  2. hit, 8 clients on one key    vs  hits on 10k keys    (contention shown)
     and stores into a full cache, each evicting first (CLOCK cost shown)
  3. a single-row UPDATE whose trigger invalidates 4 prefixes vs the same
     UPDATE with no trigger, with 100k entries cached     (target >= 0.85)
The OpenRisk endpoint benchmarks follow (tools/lib/bench-endpoints.py).
"""
import os
import re
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_stack as st  # noqa: E402

DB = "openrisk_bench"
CASES = ["select1", "hit_same_key", "hit_distinct_keys", "write_plain", "write_invalidating"]


def psql(*args, db=DB):
    subprocess.run([os.path.join(st.PGBIN, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db, *args],
                   check=True, stdout=subprocess.DEVNULL)


def tps(script, duration):
    """TPS of bench/sql/SCRIPT.sql (excluding connection time)."""
    r = subprocess.run([os.path.join(st.PGBIN, "pgbench"), "-n", "-M", "prepared", "-c", "8", "-j", "2",
                        "-T", str(duration), "-f", os.path.join(st.ROOT, "bench", "sql", f"{script}.sql"), DB],
                       capture_output=True, text=True, timeout=duration + 120)
    m = re.search(r"^tps = ([\d.]+) ", r.stdout, re.M)
    if not m:
        st.die(f"pgbench {script}.sql gave no result: {(r.stderr + r.stdout).strip()[-400:]}")
    return float(m.group(1))


def ratio_of(runs, case, base):
    """Median over rounds of CASE/BASE: a ratio is taken within each round
    (the two cases ran back to back, under the same background load) and
    the median over rounds is quoted -- on a shared machine the load drifts
    more between rounds than within one."""
    return round(statistics.median(a / b for a, b in zip(runs[case], runs[base])), 2)


def verdict(r, target):
    return "ok" if r >= target else "BELOW TARGET"


def main():
    duration = int(os.environ.get("BENCH_SECONDS") or 8)
    rounds = int(os.environ.get("BENCH_ROUNDS") or 3)
    psql("-c", f"DROP DATABASE IF EXISTS {DB}", "-c", f"CREATE DATABASE {DB}", db="postgres")
    psql("-c", "CREATE EXTENSION openrisk CASCADE")
    psql("-f", os.path.join(st.ROOT, "bench", "sql", "setup.sql"))

    runs = {c: [] for c in CASES + ["put_evicting", "select1_after"]}
    for r in range(1, rounds + 1):
        for s in CASES:
            runs[s].append(tps(s, duration))
            st.say(f"round {r}: {s} {runs[s][-1]}")
    # last: stores that evict would empty the cache the hit cases read
    for r in range(1, rounds + 1):
        runs["put_evicting"].append(tps("put_evicting", duration))
        runs["select1_after"].append(tps("select1", duration))
        st.say(f"round {r}: put_evicting {runs['put_evicting'][-1]}")
    med = {s: statistics.median(v) for s, v in runs.items()}
    r1 = ratio_of(runs, "hit_same_key", "select1")
    r2 = ratio_of(runs, "hit_distinct_keys", "hit_same_key")
    r3 = ratio_of(runs, "write_invalidating", "write_plain")
    r4 = ratio_of(runs, "put_evicting", "select1_after")
    stats = subprocess.run([os.path.join(st.PGBIN, "psql"), "-X", "-A", "-t", "-d", DB, "-c",
                            "SELECT format('%s entries cached, %s evictions', entries, evictions) "
                            "FROM openrisk.cache_stats"], capture_output=True, text=True).stdout.strip()
    print(f"""
openrisk engine benchmark  (pgbench -M prepared -c 8 -j 2, {duration}s x {rounds} rounds; median TPS, median of per-round ratios)
{os.cpu_count()} cores, load average {st.loadavg()}; {stats}

| case                                         | median TPS | ratio | target |
|----------------------------------------------|-----------:|------:|-------:|
| SELECT 1                                     | {med['select1']:g} | | |
| cache hit, 2 kB value, same key, 8 clients   | {med['hit_same_key']:g} | {r1:.2f} vs SELECT 1 | >= 0.80 {verdict(r1, 0.80)} |
| cache hit, 2 kB values, 10k distinct keys    | {med['hit_distinct_keys']:g} | {r2:.2f} vs same key | (contention) |
| cache_put 2 kB into a full cache (evicts)    | {med['put_evicting']:g} | {r4:.2f} vs SELECT 1 | |
| UPDATE one row, no invalidation              | {med['write_plain']:g} | | |
| UPDATE one row + 4 prefix invalidations      | {med['write_invalidating']:g} | {r3:.2f} vs plain | >= 0.85 {verdict(r3, 0.85)} |
""", flush=True)
    os.execv("/usr/bin/python3", ["/usr/bin/python3", os.path.join(st.ROOT, "tools", "lib", "bench-endpoints.py")])


if __name__ == "__main__":
    st.run_main(main)
