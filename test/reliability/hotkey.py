#!/usr/bin/python3
"""hotkey.py -- how much work one hot key costs under writes, and is it fresh?

Why: the isolation spec `handoff` proves the rules of the stampede and
handoff protocol step by step; this measures what they buy under real
concurrency (docs/ARCHITECTURE.md, "No wasted work").  R readers call
cache_fetch_meta on one key whose miss takes ~20 ms (pg_sleep) while one
writer updates the row and invalidates the key every ~GAP seconds.

* computations are counted by nextval() inside the compute query (not
  rolled back, not cached), so "computations per write" is exact: 1.00
  means every invalidation cost one recomputation, whoever asked;
* freshness as in freshness.py: the writer raises `issued` before write m
  and `committed` after its COMMIT returned; a read that loads L =
  committed before sending and H = issued after the reply must show a
  value in [L, H], or it is STALE.

Timing-dependent, so it is a measurement, not a suite: run it against
`make run`'s cluster, e.g. `test/reliability/hotkey.py --seconds 20`.
Last line: HOTKEY reads=N stale=N writes=N computations=N
computations_per_write=X <engine counter deltas> load=L; exit status 0
only when stale = 0.
"""
import argparse
import multiprocessing as mp
import os
import random
import sys
import time

import psycopg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import orlib  # noqa: E402

KEY = "hotkey:k"
QUERY = ("SELECT v::text || CASE WHEN nextval('hotkey_seq') > 0 AND pg_sleep(0.02) IS NULL"
         " THEN '' ELSE '' END FROM hotkey WHERE id = 1")
FETCH = "SELECT (m).hit, (m).value FROM (SELECT openrisk.cache_fetch_meta(%s, '1 min', %s) AS m) s"
COUNTERS = ["hits", "misses", "stores", "fills_rejected", "stampede_waits", "handoffs",
            "stampede_recomputes"]


def writer(dsn, gap, issued, committed, stop):
    c = psycopg.connect(dsn, autocommit=True)
    m = 0
    while not stop.is_set():
        m += 1
        issued.value = m
        with c.transaction():
            c.execute("UPDATE hotkey SET v = %s WHERE id = 1", (m,))
            c.execute("SELECT openrisk.cache_invalidate('hotkey:*')")
        committed.value = m
        time.sleep(random.uniform(0, 2 * gap))


def reader(dsn, issued, committed, stop, out):
    c = psycopg.connect(dsn, autocommit=True)
    reads = stale = 0
    while not stop.is_set():
        low = committed.value
        _, value = c.execute(FETCH, (KEY, QUERY)).fetchone()
        high = issued.value
        reads += 1
        if not low <= int(value) <= high:
            stale += 1
            print(f"# STALE read {value}, committed before it {low}, issued after it {high}", flush=True)
    out.put((reads, stale))


def counters(c):
    cur = c.execute("SELECT * FROM openrisk.cache_stats")
    row = dict(zip([d.name for d in cur.description], cur.fetchone()))
    return {k: row[k] for k in COUNTERS if k in row}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--readers", type=int, default=8)
    ap.add_argument("--gap", type=float, default=0.05, help="mean seconds between writes")
    args = ap.parse_args()
    dsn = orlib.settings()["dsn"]

    c = psycopg.connect(dsn, autocommit=True)
    c.execute("DROP TABLE IF EXISTS hotkey; DROP SEQUENCE IF EXISTS hotkey_seq;"
              " CREATE TABLE hotkey (id int PRIMARY KEY, v bigint); INSERT INTO hotkey VALUES (1, 0);"
              " CREATE SEQUENCE hotkey_seq; SELECT openrisk.cache_invalidate('hotkey:*')")
    before = counters(c)
    issued, committed, stop, out = mp.Value("q", 0), mp.Value("q", 0), mp.Event(), mp.Queue()
    procs = [mp.Process(target=writer, args=(dsn, args.gap, issued, committed, stop))]
    procs += [mp.Process(target=reader, args=(dsn, issued, committed, stop, out)) for _ in range(args.readers)]
    for p in procs:
        p.start()
    time.sleep(args.seconds)
    stop.set()
    results = [out.get() for _ in range(args.readers)]
    for p in procs:
        p.join()
    after = counters(c)
    computations = c.execute("SELECT last_value FROM hotkey_seq").fetchone()[0]
    c.execute("DROP TABLE hotkey; DROP SEQUENCE hotkey_seq; SELECT openrisk.cache_invalidate('hotkey:*')")

    reads, stale = sum(r[0] for r in results), sum(r[1] for r in results)
    writes = committed.value
    deltas = " ".join(f"{k}={after[k] - before[k]}" for k in after)
    print(f"HOTKEY reads={reads} stale={stale} writes={writes} computations={computations}"
          f" computations_per_write={computations / max(writes, 1):.2f} {deltas}"
          f" load={os.getloadavg()[0]:.2f}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
