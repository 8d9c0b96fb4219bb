#!/usr/bin/python3
"""load_mix.py -- a read/write mix through the gateway, with every reply
checked and the process figures sampled (the soak and the valgrind load).

Why not wrk: a soak must count every non-2xx (0 errors is the criterion),
send writes with bodies and different tokens, and sample the gateway's RSS,
PostgreSQL's connection count and the cache's bytes while it runs.

C client processes x keep-alive connections; each operation is a write
(PATCH of a demo risk's description, analyst token) with probability
--write-pct, else a GET of a random read route for a random demo tenant.
Stops after --requests or --seconds.  Samples every --sample-every s.

Last line: LOAD requests=N errors=N req_per_s=R rss_kb_warm=A rss_kb_end=B
rss_growth_pct=G pg_conns_min=a pg_conns_max=b cache_bytes_max=c
cache_bytes_limit=d ... ; exit status 0 when errors = 0.
"""
import argparse
import json
import multiprocessing as mp
import os
import random
import sys
import threading
import time

import psycopg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import orlib  # noqa: E402

READS = ["/api/v1/stats?period=%s", "/api/v1/risks?page_size=%d", "/api/v1/risks/matrix", "/api/v1/stats/risk-matrix",
         "/api/v1/stats/trends?days=%d", "/api/v1/risks/search?q=%s", "/api/v1/risks/%s",
         "/api/v1/marketplace/connectors?page_size=10", "/health"]


def client_proc(idx, args, world, deadline, quota, out_q):
    secret = orlib.read_secret(args.secret_file)
    viewers = {t: {"Authorization": "Bearer " + orlib.token(secret, "viewer", t, ttl=7200)} for t in world}
    analysts = {t: {"Authorization": "Bearer " + orlib.token(secret, "analyst", t, ttl=7200),
                    "Content-Type": "application/json"} for t in world}
    tenants = list(world)
    res = {"requests": 0, "errors": 0, "writes": 0, "examples": []}
    lock = threading.Lock()

    def conn_thread(j):
        rng = random.Random(idx * 1000 + j)
        h = orlib.Http("127.0.0.1", args.port, timeout=30)
        n = 0
        while time.time() < deadline and n < quota:
            t = rng.choice(tenants)
            n += 1
            try:
                if rng.random() < args.write_pct / 100.0:
                    rid = rng.choice(world[t])
                    st, _, body = h.request("PATCH", "/api/v1/risks/" + rid, analysts[t],
                                            json.dumps({"description": "soak %d %d" % (idx, n)}))
                    good = st == 200
                    w = 1
                else:
                    path = rng.choice(READS)
                    if "%s" in path and "stats" in path:
                        path = path % rng.choice(["week", "month", "all"])
                    elif "%d" in path and "page_size" in path:
                        path = path % rng.choice([5, 20, 50])
                    elif "%d" in path:
                        path = path % rng.choice([7, 30])
                    elif "search" in path:
                        path = path % rng.choice(["outage", "vpn", "phishing", "data"])
                    elif "%s" in path:
                        path = path % rng.choice(world[t])
                    st, _, body = h.request("GET", path, viewers[t])
                    good = st == 200
                    w = 0
            except Exception as e:
                st, body, good, w = "exception", str(e).encode(), False, 0
                h.close()
            with lock:
                res["requests"] += 1
                res["writes"] += w
                if not good:
                    res["errors"] += 1
                    if len(res["examples"]) < 5:
                        res["examples"].append("%s %r" % (st, body[:200]))

    ts = [threading.Thread(target=conn_thread, args=(j,)) for j in range(args.per_proc)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out_q.put(res)


def sample(args, dsn):
    s = {"t": time.time()}
    if args.gateway_pid:
        s["rss_kb"] = orlib.rss_kb(args.gateway_pid)
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as c:
            s["pg_conns"] = c.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
                                      ).fetchone()[0] - 1
            s["cache_bytes"], s["cache_limit"] = c.execute("SELECT bytes_used, bytes_limit FROM openrisk.cache_stats"
                                                           ).fetchone()
    except psycopg.Error:
        pass
    try:
        s["pool_open"] = orlib.metrics(args.metrics_port).get("openrisk_pool_connections_open")
    except OSError:
        pass
    return s


def main():
    st = orlib.settings()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=int(st["http_port"]))
    ap.add_argument("--metrics-port", type=int, default=int(st["metrics_port"]))
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--procs", type=int, default=0, help="client processes (default: connections/10, >= 1)")
    ap.add_argument("--write-pct", type=float, default=10)
    ap.add_argument("--requests", type=int, default=0)
    ap.add_argument("--seconds", type=float, default=0)
    ap.add_argument("--warmup", type=float, default=60, help="seconds before the RSS baseline")
    ap.add_argument("--sample-every", type=float, default=5)
    ap.add_argument("--gateway-pid", type=int, default=0)
    ap.add_argument("--secret-file", default=st["secret_file"])
    ap.add_argument("--samples-out", help="write the samples as JSON lines here")
    args = ap.parse_args()
    args.procs = args.procs or max(1, args.connections // 10)
    args.per_proc = max(1, args.connections // args.procs)
    with psycopg.connect(st["dsn"], autocommit=True) as c:
        world = {}
        for t, rid in c.execute("SELECT tenant_id::text, id::text FROM openrisk.risks WHERE deleted_at IS NULL "
                                "AND tenant_id = ANY(%s::uuid[]) ORDER BY id",
                                ([orlib.DEMO_TENANT, orlib.DEMO_TENANT_B],)):
            world.setdefault(t, []).append(rid)
    t0 = time.time()
    deadline = t0 + (args.seconds if args.seconds else 86400)
    total = args.requests or 10 ** 12
    quota = total // (args.procs * args.per_proc) + 1 if args.requests else 10 ** 12
    ctx = mp.get_context("fork")
    out_q = ctx.Queue()
    procs = [ctx.Process(target=client_proc, args=(i, args, world, deadline, quota, out_q)) for i in range(args.procs)]
    for p in procs:
        p.start()
    samples = [sample(args, st["dsn"])]
    while any(p.is_alive() for p in procs):
        time.sleep(min(args.sample_every, 1.0))
        if time.time() - samples[-1]["t"] >= args.sample_every:
            samples.append(sample(args, st["dsn"]))
    results = [out_q.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(5)
    # one more sample once the load stopped: shows the pool reaping back to
    # max idle, so it is kept out of the "stable under load" figures
    samples.append(dict(sample(args, st["dsn"]), after_load=True))
    elapsed = time.time() - t0
    if args.samples_out:
        with open(args.samples_out, "w") as f:
            for s in samples:
                f.write(json.dumps(s) + "\n")
    req = sum(r["requests"] for r in results)
    err = sum(r["errors"] for r in results)
    for r in results:
        for e in r["examples"]:
            print("  error: " + e)
    loaded = [s for s in samples if not s.get("after_load")]
    warm = [s for s in loaded if s["t"] - t0 >= args.warmup and "rss_kb" in s]
    rss_warm = warm[0]["rss_kb"] if warm else 0
    rss_end = samples[-1].get("rss_kb", 0)
    conns = [s["pg_conns"] for s in loaded if "pg_conns" in s]
    conns_after = [s["pg_conns"] for s in loaded if "pg_conns" in s and s["t"] - t0 >= args.warmup]
    cb = [s["cache_bytes"] for s in samples if "cache_bytes" in s]
    limit = max([s["cache_limit"] for s in samples if "cache_limit" in s] or [0])
    print("LOAD requests=%d errors=%d writes=%d seconds=%.0f req_per_s=%.0f rss_kb_warm=%d rss_kb_end=%d "
          "rss_kb_max=%d rss_growth_pct=%.2f pg_conns_min=%s pg_conns_max=%s pg_conns_after_warmup=%s-%s "
          "cache_bytes_max=%s cache_bytes_limit=%s samples=%d" % (
              req, err, sum(r["writes"] for r in results), elapsed, req / max(elapsed, 1e-9), rss_warm, rss_end,
              max([s.get("rss_kb", 0) for s in samples]), 100.0 * (rss_end - rss_warm) / rss_warm if rss_warm else 0,
              min(conns, default="-"), max(conns, default="-"), min(conns_after, default="-"),
              max(conns_after, default="-"), max(cb, default="-"), limit, len(samples)))
    return 0 if err == 0 and req > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
