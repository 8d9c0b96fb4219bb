#!/usr/bin/python3
"""tools/lib/bench-sampler.py -- what the server side does while wrk runs.

wrk sees latency and throughput; the questions the load-test table asks about
the server (database connections in use, cache hit rate, CPU, memory) have
to be read from PostgreSQL and /proc while the load runs.  tools/bench.sh
starts one sampler per wrk run and stops it with SIGTERM right after; every
INTERVAL seconds (0.5) it appends one JSON line to OUT:

  t          seconds since the sampler started (monotonic)
  active     client backends of the database in state 'active' (not us)
  open       client backends of the database, any state (not us)
  hits, misses, stores, fills_rejected, stampede_waits, bypasses,
  invalidations, entries
             openrisk.cache_stats counters (cumulative; deltas are taken
             by tools/lib/bench-summarize.py).  fills_rejected counts
             values computed but not stored because a write invalidated
             their key meanwhile: the price of writes beyond the misses.
  gw_cpu     gateway user+system CPU seconds (cumulative)
  pg_cpu     postmaster + live children + reaped children CPU seconds
             (cumulative: a backend that exits lands in cutime/cstime)
  gw_rss_kb  gateway resident set
  pg_pss_kb  sum of the PostgreSQL processes' proportional set sizes
             (shared buffers and the cache segment counted once, not once
             per backend as RSS would)
  host_busy, host_total   /proc/stat jiffies of the whole machine, so the
             report can say how busy the machine was besides us
  load1      1-minute load average

A first sample is taken at once and a last one on SIGTERM, so CPU deltas
cover the whole wrk run.  It stops by itself after --max-seconds.
"""
import argparse
import json
import os
import signal
import sys
import time

import psycopg

TICK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024

DB_QUERY = """
SELECT count(*) FILTER (WHERE state = 'active'), count(*),
       s.hits, s.misses, s.bypasses, s.invalidations, s.entries,
       s.stores, s.fills_rejected, s.stampede_waits
  FROM openrisk.cache_stats s
  LEFT JOIN pg_stat_activity a
    ON a.datname = current_database() AND a.backend_type = 'client backend'
   AND a.pid <> pg_backend_pid()
 GROUP BY s.hits, s.misses, s.bypasses, s.invalidations, s.entries,
          s.stores, s.fills_rejected, s.stampede_waits
"""


def proc_stat(pid):
    """(ppid, utime+stime, cutime+cstime) in seconds, or None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2:].split()
    # fields[0] is field 3 (state): ppid = 4, utime..cstime = 14..17
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK, \
        (int(fields[13]) + int(fields[14])) / TICK


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE_KB
    except OSError:
        return 0


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children_of(ppid):
    kids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = proc_stat(int(name))
            if st and st[0] == ppid:
                kids.append(int(name))
    return kids


def postgres_usage(postmaster):
    """CPU seconds (incl. reaped children) and summed PSS of the cluster."""
    st = proc_stat(postmaster)
    if st is None:
        return 0.0, 0
    cpu = st[1] + st[2]
    pss = pss_kb(postmaster)
    for kid in children_of(postmaster):
        kst = proc_stat(kid)
        if kst:
            cpu += kst[1]
            pss += pss_kb(kid)
    return cpu, pss


def host_jiffies():
    with open("/proc/stat") as f:
        vals = [int(v) for v in f.readline().split()[1:]]
    idle = vals[3] + vals[4]  # idle + iowait
    return sum(vals) - idle, sum(vals)


def sample(conn, t0, gateway, postmaster):
    row = conn.execute(DB_QUERY).fetchone()
    gw = proc_stat(gateway)
    pg_cpu, pg_pss = postgres_usage(postmaster)
    busy, total = host_jiffies()
    return {
        "t": round(time.monotonic() - t0, 3),
        "active": row[0], "open": row[1], "hits": row[2], "misses": row[3],
        "bypasses": row[4], "invalidations": row[5], "entries": row[6],
        "stores": row[7], "fills_rejected": row[8], "stampede_waits": row[9],
        "gw_cpu": round(gw[1], 2) if gw else None, "gw_rss_kb": rss_kb(gateway),
        "pg_cpu": round(pg_cpu, 2), "pg_pss_kb": pg_pss,
        "host_busy": busy, "host_total": total,
        "load1": float(open("/proc/loadavg").read().split()[0]),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--gateway-pid", type=int, required=True)
    ap.add_argument("--postmaster-pid", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--interval", type=float, default=0.5)
    ap.add_argument("--max-seconds", type=float, default=900)
    args = ap.parse_args()

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    try:
        conn = psycopg.connect(args.dsn, autocommit=True, application_name="bench-sampler")
    except psycopg.Error as e:
        sys.exit(f"bench-sampler: cannot connect: {e}")
    t0 = time.monotonic()
    with open(args.out, "w") as out:
        while True:
            out.write(json.dumps(sample(conn, t0, args.gateway_pid, args.postmaster_pid)) + "\n")
            out.flush()
            if stop or time.monotonic() - t0 > args.max_seconds:
                break
            # sleep to the next tick, waking early on SIGTERM
            deadline = time.monotonic() + args.interval
            while not stop and time.monotonic() < deadline:
                time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))


if __name__ == "__main__":
    main()
