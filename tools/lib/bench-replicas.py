#!/usr/bin/python3
"""tools/lib/bench-replicas.py -- `make bench-replicas`, the SQL half:
what serving cached reads from hot standbys costs and gives.

Ratios measured side by side in one run (pgbench -M prepared, 8 clients, 2
threads; the two sides of a pair alternate ROUNDS times and the median of
the per-round ratios is quoted, because on a shared 2-core machine the load
drifts more between rounds than within one):

  1. a cached read (cache_fetch hit, ~2 kB, 1000 keys) on the standby vs the
     same read on the primary                                 target >= 0.80
  2. primary write TPS (single-row UPDATE whose trigger queues 4 prefix
     invalidations) with the WAL invalidation records vs with them switched
     off (openrisk.wal_invalidations), the standby streaming    target >= 0.95
     -- alternately (8 clients), and side by side at the same time (4 + 4
     clients, one pgbench per variant), which puts both under the same
     background load
  3. commit -> invalidated on the standby: a key cached on the standby, a
     write on the primary invalidates it; from the moment the primary's
     COMMIT returned, poll the standby until its cache stops serving the
     old value, and until pg_last_wal_replay_lsn() passes the writer's LSN
     (the replay lag, for comparison).  p50/p99, idle and under a
     background write load.

Usage: bench-replicas.py PRIMARY_CONNINFO STANDBY_CONNINFO (libpq URIs of
the bench database on both); PGBIN, BENCH_SECONDS, BENCH_ROUNDS and
BENCH_LATENCY_SAMPLES from the environment.
"""
import os
import statistics
import subprocess
import sys
import time

import psycopg

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PGBIN = os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin")
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SAMPLES = int(os.environ.get("BENCH_LATENCY_SAMPLES", "200"))


def pgbench_start(dsn, script, options="", seconds=SECONDS, clients=8, threads=2):
    env = dict(os.environ, PGOPTIONS=options)
    return subprocess.Popen([PGBIN + "/pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", str(threads),
                             "-T", str(seconds), "-f", os.path.join(ROOT, "bench", "sql", script), dsn],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def pgbench_tps(proc):
    """TPS of a finished pgbench run (excluding connection time)."""
    out, err = proc.communicate()
    for line in out.splitlines():
        if line.startswith("tps = "):
            return float(line.split()[2])
    raise RuntimeError("pgbench failed: %s" % err[-500:])


def pgbench(dsn, script, options=""):
    return pgbench_tps(pgbench_start(dsn, script, options))


def side_by_side(dsn, script, case_options, base_options):
    """Both variants at once, 4 clients each, under the same background load; ROUNDS times."""
    xs, ys = [], []
    for r in range(ROUNDS):
        a = pgbench_start(dsn, script, case_options, clients=4, threads=1)
        b = pgbench_start(dsn, script, base_options, clients=4, threads=1)
        xs.append(pgbench_tps(a))
        ys.append(pgbench_tps(b))
        print("==> round %d, side by side: %.0f vs %.0f (%.2f)" % (r + 1, xs[-1], ys[-1], xs[-1] / ys[-1]),
              file=sys.stderr)
    return xs, ys, statistics.median(x / y for x, y in zip(xs, ys))


def alternate(case, base, what):
    """ROUNDS of (base(), case()); returns (case TPS list, base TPS list, median per-round case/base)."""
    xs, ys = [], []
    for r in range(ROUNDS):
        ys.append(base())
        xs.append(case())
        print("==> round %d, %s: %.0f vs %.0f (%.2f)" % (r + 1, what, xs[-1], ys[-1], xs[-1] / ys[-1]), file=sys.stderr)
    return xs, ys, statistics.median(x / y for x, y in zip(xs, ys))


def lsn_int(text):
    hi, lo = text.split("/")
    return (int(hi, 16) << 32) | int(lo, 16)


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))] if v else float("nan")


def latency(primary, standby, samples):
    """(invalidated ms list, replayed ms list): commit returned -> standby stops serving / replays."""
    pc = psycopg.connect(primary, autocommit=True)
    sc = psycopg.connect(standby, autocommit=True)
    fetch = "SELECT openrisk.cache_fetch('lat:1', interval '1 hour', 'SELECT v::text FROM bench_lat WHERE id = 1')"
    inv, rep = [], []
    for _ in range(samples):
        # the standby serves v from its cache (a second fetch is a hit once replay caught up)
        old = pc.execute("SELECT v::text FROM bench_lat WHERE id = 1").fetchone()[0]
        deadline = time.time() + 10
        while sc.execute(fetch).fetchone()[0] != old or \
                sc.execute("SELECT openrisk.cache_get('lat:1')").fetchone()[0] != old:
            if time.time() > deadline:
                raise RuntimeError("the standby never cached the current value")
        pc.execute("WITH u AS (UPDATE bench_lat SET v = v + 1 WHERE id = 1 RETURNING id) "
                   "SELECT openrisk.cache_invalidate('lat:1') FROM u")
        t0 = time.perf_counter()
        # flushed by this COMMIT (synchronous_commit = on), not past it: the
        # insert position could include others' records not yet flushed
        lsn = lsn_int(pc.execute("SELECT pg_current_wal_flush_lsn()").fetchone()[0])
        t_inv = t_rep = None
        while t_inv is None or t_rep is None:
            served, replay = sc.execute("SELECT openrisk.cache_get('lat:1'), pg_last_wal_replay_lsn()").fetchone()
            now = time.perf_counter()
            if t_inv is None and served != old:
                t_inv = now
            if t_rep is None and lsn_int(replay) >= lsn:
                t_rep = now
            if now - t0 > 10:
                raise RuntimeError("the standby did not catch up within 10 s")
        inv.append((t_inv - t0) * 1000)
        rep.append((t_rep - t0) * 1000)
    pc.close()
    sc.close()
    return inv, rep


def main():
    primary, standby = sys.argv[1], sys.argv[2]
    # 1. cached reads: warm both caches, then alternate
    for dsn in (primary, standby):
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute("SELECT count(openrisk.cache_fetch('bench:rep:' || g, interval '1 hour', "
                      "'SELECT repeat(''x'', 2000)')) FROM generate_series(1, 1000) g")
    rs, rp, r_read = alternate(lambda: pgbench(standby, "replica_read.sql"),
                               lambda: pgbench(primary, "replica_read.sql"), "cached read, standby vs primary")
    # 2. writes with / without the WAL records (alternating, standby streaming)
    on = "-c openrisk.wal_invalidations=on"
    off = "-c openrisk.wal_invalidations=off"
    won, woff, r_write = alternate(lambda: pgbench(primary, "write_invalidating.sql", on),
                                   lambda: pgbench(primary, "write_invalidating.sql", off), "writes, records on vs off")
    son, soff, r_side = side_by_side(primary, "write_invalidating.sql", on, off)
    # 3. commit -> invalidated on the standby, idle and under a write load
    with psycopg.connect(primary, autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS bench_lat")
        c.execute("CREATE TABLE bench_lat (id int PRIMARY KEY, v int NOT NULL)")
        c.execute("INSERT INTO bench_lat VALUES (1, 0)")
    inv_idle, rep_idle = latency(primary, standby, SAMPLES)
    env = dict(os.environ, PGOPTIONS="")
    load = subprocess.Popen([PGBIN + "/pgbench", "-n", "-M", "prepared", "-c", "4", "-j", "1", "-T", "600",
                             "-R", "500", "-f", os.path.join(ROOT, "bench", "sql", "write_invalidating.sql"), primary],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        inv_load, rep_load = latency(primary, standby, SAMPLES)
    finally:
        load.terminate()
        load.wait()
    with psycopg.connect(standby, autocommit=True) as c:
        w = c.execute("SELECT records_replayed, committed, aborted, overflows FROM openrisk.cache_wal_stats").fetchone()

    med = statistics.median
    verdict = lambda r, t: "ok" if r >= t else "BELOW TARGET"
    print("""
openrisk replicas benchmark  (pgbench -M prepared -c 8 -j 2, %ds x %d rounds; median TPS, median of per-round ratios)
%d cores, load average %s; standby: %d invalidation records replayed (%d committed, %d aborted), %d overflows

| case                                                        | median TPS | ratio             | target |
|-------------------------------------------------------------|-----------:|-------------------|--------|
| cached read (cache_fetch hit, 2 kB, 1000 keys), primary      | %10.0f |                   |        |
| the same cached read on the hot standby                      | %10.0f | %.2f vs primary   | >= 0.80 %s |
| UPDATE + 4 invalidations, WAL records off                    | %10.0f |                   |        |
| the same with the WAL records (standby streaming)            | %10.0f | %.2f vs off       | >= 0.95 %s |
| side by side at once, 4 + 4 clients: records on / off        | %4.0f / %4.0f | %.2f              | >= 0.95 %s |

commit returned on the primary -> the standby stops serving the old value (%d samples each):
| load                              | invalidated p50 | p99      | replayed p50 | p99      |
|-----------------------------------|----------------:|---------:|-------------:|---------:|
| idle                              | %9.2f ms | %5.2f ms | %6.2f ms | %5.2f ms |
| 500 invalidating writes/s beside  | %9.2f ms | %5.2f ms | %6.2f ms | %5.2f ms |
("replayed" = pg_last_wal_replay_lsn() passed the WAL flushed by the writer's commit; it can trail
"invalidated": the standby stops serving the old value when the invalidation record is replayed, just
before the commit record.  Writes run alternately (8 clients) and also side by side at the same time
(4 + 4 clients), which cancels the drift of a shared machine's background load between runs.)""" % (
        SECONDS, ROUNDS, os.cpu_count(), " ".join(open("/proc/loadavg").read().split()[:3]), w[0], w[1], w[2], w[3],
        med(rp), med(rs), r_read, verdict(r_read, 0.80), med(woff), med(won), r_write, verdict(r_write, 0.95),
        med(son), med(soff), r_side, verdict(r_side, 0.95),
        SAMPLES, med(inv_idle), pct(inv_idle, 99), med(rep_idle), pct(rep_idle, 99),
        med(inv_load), pct(inv_load, 99), med(rep_load), pct(rep_load, 99)))


if __name__ == "__main__":
    main()
