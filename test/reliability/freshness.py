#!/usr/bin/python3
"""freshness.py -- does any read that started after a commit returned miss it?

Why: a cache that ever serves a value older than a write the reader knows
has committed is worse than no cache.  This checker makes "stale" a
value-based, decidable property instead of a timing guess:

* W workers, each with its own connection (SQL) or keep-alive HTTP
  connection (gateway).  Worker w owns tenant T_w of R risks and is the only
  writer of T_w, so its writes are totally ordered by a marker m = 1, 2, ...
* Write m updates risk (m mod R) to a state that is a pure function of m:
  title "fresh <w> <m>", impact/probability/status derived from m.  So the
  whole tenant after write m is state(m), known exactly to every process.
* issued[w] is raised BEFORE write m is sent, committed[w] AFTER its commit
  returned (shared memory, one slot per writer).
* A read of tenant t loads L = committed[t] before it is sent and
  H = issued[t] after the answer arrived.  It is fresh iff what it shows is
  state(m) for some m in [L, H]: per risk title marker >= the last marker
  of that risk at L (risk_get, risk_list, risk_search), and the aggregates
  (dashboard_stats, risk_matrix, dashboard_matrix) equal those of some
  state(m), m in [L, H].  An older state is STALE; anything else is WRONG.

Reads are spread over every endpoint and every tenant, so most reads of a
tenant run on another connection than its writer.  Hits are counted (a
freshness test that never hits the cache proves nothing) and reported.

Reads on a hot standby (SQL mode, --read-dsn): writes go to the primary,
reads to the standby.  With --wait-lsn every write also takes the
primary's WAL insert position right after its commit returned (an LSN at
or past its commit record), published with committed[w]; a read first
waits until the standby's pg_last_wal_replay_lsn() reaches the LSN of the
writes it counts as committed (L), exactly what a client presenting its
commit LSN must do to read its own writes.  The same value check then
applies: any older state is stale.  --pause-replay AT:FOR pauses the
standby's replay (pg_wal_replay_pause) AT seconds into the run for FOR
seconds, so invalidation records, commits and fences pile up mid-load.

Reads through a gateway that routes them to hot standbys (HTTP mode):
every write reply carries X-Commit-LSN, published like the SQL LSN above.
The first --lsn-clients workers present the writer's LSN as X-Min-LSN on
every read and are held to the same rule (any older state is stale).  The
others present nothing; with --bounded-staleness S they are held to the
gateway's promise for them instead: every write whose reply arrived more
than S seconds before the read was sent is visible (L is the writer's
marker committed at read start - S, from a per-writer history).  Replies'
X-Upstream headers count where reads were served.  --read-dsn names the
standby --pause-replay pauses (reads still go through the gateway).

--sabotage proves the checker can fail:
  poison          a saboteur cache_put()s the initial risk_get JSON of the
                  first tenant's risks over and over (a late fill / lost
                  invalidation as the cache would see it);
  no-invalidation the update invalidation trigger is disabled (only in a
                  scratch database given with --db, never the shared one);
  no-wal          the writers' sessions set openrisk.wal_invalidations =
                  off: the primary's own cache is still invalidated, but a
                  standby (--read-dsn) is never told;
  lsn-zero        (HTTP) LSN clients present 0/1 instead of the writer's
                  LSN: behind a paused standby they must read stale.
Then the run must report stale reads; the suite asserts it does.

Last line: FRESHNESS mode=... reads=N writes=N stale=N wrong=N errors=N
hit_rate=... ; exit status 0 only when stale = wrong = errors = 0 (or,
with --expect-stale, only when stale > 0).
"""
import argparse
import json
import multiprocessing as mp
import os
import random
import sys
import time
import uuid
from decimal import ROUND_HALF_UP, Decimal

import psycopg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import orlib  # noqa: E402

STATUSES = ["DRAFT", "ACTIVE", "MITIGATED", "ACCEPTED"]
ENDPOINTS = ["get", "list", "search", "stats", "matrix", "dmatrix"]


# ---------------------------------------------------------------- the model
def fields(m, R):
    """The values write m gives risk (m mod R): every write changes the grid."""
    return {"title": None, "impact": 1 + (m // R) % 5, "probability": 1 + (m // (5 * R)) % 5,
            "status": STATUSES[(m // (25 * R)) % 4]}


def last_marker(i, m, R):
    """The last marker <= m that wrote risk i (markers 1..R initialise every risk)."""
    return m - ((m - i) % R)


def severity(score):
    return "CRITICAL" if score >= 20 else "HIGH" if score >= 15 else "MEDIUM" if score >= 10 else "LOW"


def fingerprints(m, R):
    """The aggregates of state(m): what stats and both matrices must show."""
    grid = [[0] * 5 for _ in range(5)]
    sev = dict.fromkeys(["LOW", "MEDIUM", "HIGH", "CRITICAL"], 0)
    st = dict.fromkeys(STATUSES, 0)
    total = 0
    for i in range(R):
        f = fields(last_marker(i, m, R), R)
        score = f["impact"] * f["probability"]
        grid[f["impact"] - 1][f["probability"] - 1] += 1
        sev[severity(score)] += 1
        st[f["status"]] += 1
        total += score
    avg = str(Decimal(total) / Decimal(R))
    avg = str(Decimal(avg).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    return {"grid": grid, "stats": (R, sev, st, avg)}


def observed(kind, doc):
    if kind in ("matrix", "dmatrix"):
        return doc["grid"]
    avg = str(Decimal(str(doc["average_score"])).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    return (doc["total_risks"], doc["by_severity"], doc["by_status"], avg)


def marker_of(title, w):
    parts = title.split()
    if len(parts) != 3 or parts[0] != "fresh" or parts[1] != str(w):
        return None
    return int(parts[2])


# ------------------------------------------------------------ the backends
def lsn_int(text):
    hi, lo = text.split("/")
    return (int(hi, 16) << 32) | int(lo, 16)


def lsn_text(value):
    return "%X/%X" % (value >> 32, value & 0xFFFFFFFF)


class SqlBackend:
    READS = {
        "get": "SELECT value, hit FROM openrisk.risk_get_meta(%s, %s)",
        "list": "SELECT value, hit FROM openrisk.risk_list_meta(%s, 1, 50, NULL, NULL, NULL, 'title', 'asc')",
        "search": "SELECT value, hit FROM openrisk.risk_search_meta(%s, 'fresh', 1, 50)",
        "stats": "SELECT value, hit FROM openrisk.dashboard_stats_meta(%s, 'all')",
        "matrix": "SELECT value, hit FROM openrisk.risk_matrix_meta(%s, 'all')",
        "dmatrix": "SELECT value, hit FROM openrisk.dashboard_matrix_meta(%s)",
    }

    def __init__(self, args, world):
        self.conn = psycopg.connect(args.dsn, autocommit=True)
        if args.sabotage == "no-wal":
            self.conn.execute("SET openrisk.wal_invalidations = off")
        self.rconn = psycopg.connect(args.read_dsn, autocommit=True) if args.read_dsn else self.conn
        self.wait_lsn, self.lsn_timeout = args.wait_lsn, args.lsn_timeout
        self.replayed = 0          # highest replay LSN seen on the read server
        self.lsn_waits = 0         # reads that had to wait for replay
        self.max_wait = 0.0

    def await_lsn(self, target):
        """Wait until the read server replayed target (an int LSN)."""
        if target <= self.replayed:
            return
        t0 = time.time()
        self.lsn_waits += 1
        while True:
            self.replayed = lsn_int(self.rconn.execute("SELECT pg_last_wal_replay_lsn()").fetchone()[0])
            if self.replayed >= target:
                self.max_wait = max(self.max_wait, time.time() - t0)
                return
            if time.time() - t0 > self.lsn_timeout:
                raise RuntimeError("replay did not reach the writer's LSN within %gs" % self.lsn_timeout)
            time.sleep(0.0005)

    def read(self, kind, tenant, rid):
        params = (tenant, rid) if kind == "get" else (tenant,)
        value, hit = self.rconn.execute(self.READS[kind], params).fetchone()
        return (json.loads(value) if value is not None else None), hit

    def write(self, tenant, rid, patch, w):
        r = self.conn.execute("SELECT openrisk.risk_update(%s, %s, %s)", (tenant, rid, json.dumps(patch))).fetchone()
        if r[0] is None:
            raise RuntimeError("risk_update returned NULL")
        if self.wait_lsn:  # at or past the commit record of the write that just returned
            return lsn_int(self.conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0])
        return 0


class HttpBackend:
    PATHS = {
        "list": "/api/v1/risks?page_size=50&sort_by=title&sort_dir=asc",
        "search": "/api/v1/risks/search?q=fresh&page_size=50",
        "stats": "/api/v1/stats?period=all",
        "matrix": "/api/v1/risks/matrix?period=all",
        "dmatrix": "/api/v1/stats/risk-matrix",
    }

    def __init__(self, args, world):
        self.http = orlib.Http("127.0.0.1", args.http_port)
        secret = orlib.read_secret(args.secret_file)
        self.viewer = {t: "Bearer " + orlib.token(secret, "viewer", t) for t in world["tenants"]}
        self.analyst = {t: "Bearer " + orlib.token(secret, "analyst", t) for t in world["tenants"]}
        self.etags = {}  # path -> (etag, doc): revalidate with If-None-Match now and then
        self.rng = random.Random()
        self.need_lsn = args.lsn_clients > 0
        self.upstreams = {}  # X-Upstream -> reads served there

    def read(self, kind, tenant, rid, min_lsn=0):
        path = "/api/v1/risks/" + rid if kind == "get" else self.PATHS[kind]
        headers = {"Authorization": self.viewer[tenant]}
        memo = self.etags.get((tenant, path))
        if memo and self.rng.random() < 0.3:
            headers["If-None-Match"] = memo[0]
        if min_lsn:
            headers["X-Min-LSN"] = lsn_text(min_lsn)
        status, hdrs, body = self.http.request("GET", path, headers)
        up = hdrs.get("x-upstream", "none")
        self.upstreams[up] = self.upstreams.get(up, 0) + 1
        if status == 304 and "If-None-Match" in headers:
            return memo[1], True
        if status != 200:
            raise RuntimeError("GET %s -> %d %s" % (path, status, body[:200]))
        doc = json.loads(body)
        if "etag" in hdrs:
            self.etags[(tenant, path)] = (hdrs["etag"], doc)
        return doc, hdrs.get("x-cache") == "HIT"

    def write(self, tenant, rid, patch, w):
        status, hdrs, body = self.http.request("PATCH", "/api/v1/risks/" + rid,
                                               {"Authorization": self.analyst[tenant],
                                                "Content-Type": "application/json"}, json.dumps(patch))
        if status != 200:
            raise RuntimeError("PATCH -> %d %s" % (status, body[:200]))
        if "x-commit-lsn" in hdrs:
            return lsn_int(hdrs["x-commit-lsn"])
        if self.need_lsn:
            raise RuntimeError("PATCH reply without X-Commit-LSN")
        return 0


# ----------------------------------------------------------------- checking
def check(kind, doc, t, i, L, H, world, R):
    """'ok', 'stale' or 'wrong' (with a reason) for one read of tenant t."""
    if doc is None:
        return "wrong", "no value"
    if kind in ("get", "list", "search"):
        items = [doc] if kind == "get" else doc.get("items", [])
        if kind != "get" and len(items) != R:
            return "wrong", "%d items" % len(items)
        for item in items:
            j = world["index"][t].get(item["id"])
            if j is None:
                return "wrong", "foreign risk %s" % item["id"]
            m = marker_of(item["title"], t_w(world, t))
            if m is None or m % R != j or m > H:
                return "wrong", "title %r (H=%d)" % (item["title"], H)
            if m < last_marker(j, L, R):
                return "stale", "risk %d shows marker %d < %d committed" % (j, m, last_marker(j, L, R))
        return "ok", ""
    seen = observed(kind, doc)
    key = "grid" if kind in ("matrix", "dmatrix") else "stats"
    for m in range(H, L - 1, -1):
        if fingerprints(m, R)[key] == seen:
            return "ok", ""
    for m in range(L - 1, max(R, L - 25 * R) - 1, -1):
        if fingerprints(m, R)[key] == seen:
            return "stale", "%s shows state %d < %d committed" % (kind, m, L)
    return "wrong", "%s %r matches no state in [%d, %d]" % (kind, seen, L, H)


def t_w(world, t):
    return world["tenants"].index(t)


HISTORY = 65536  # per writer: (reply time, marker) of its last writes, for --bounded-staleness


def bounded_marker(hist, t, cutoff, floor):
    """The marker writer t had committed (reply received) before cutoff, from its history."""
    n = hist["n"][t]
    for k in range(n - 1, max(0, n - HISTORY) - 1, -1):
        i = t * HISTORY + k % HISTORY
        if hist["t"][i] < cutoff:
            return hist["m"][i]
    return floor  # older than the history: the set-up state, which every read may count on


def worker(w, args, world, issued, committed, lsns, hist, out_q, deadline):
    R, W = args.risks, args.workers
    rng = random.Random(args.seed * 1000 + w)
    be = (SqlBackend if args.mode == "sql" else HttpBackend)(args, world)
    mine = world["tenants"][w]
    lsn_client = args.mode == "http" and w < args.lsn_clients
    res = {"reads": 0, "writes": 0, "stale": 0, "wrong": 0, "errors": 0, "hits": 0, "examples": [],
           "reads_lsn": 0, "stale_lsn": 0, "stale_nolsn": 0, "max_read_lsn": 0.0, "max_read_nolsn": 0.0}
    quota = args.reads // W + (1 if w < args.reads % W else 0)
    while res["reads"] < quota and time.time() < deadline:
        try:
            if rng.random() < args.write_pct / 100.0:
                m = issued[w] + 1
                issued[w] = m
                j = m % R
                patch = fields(m, R)
                patch["title"] = "fresh %d %d" % (w, m)
                lsn = be.write(mine, world["risks"][w][j], patch, w)
                lsns[w] = lsn or 0  # published before committed[w], read after it
                k = hist["n"][w]
                hist["t"][w * HISTORY + k % HISTORY], hist["m"][w * HISTORY + k % HISTORY] = time.time(), m
                hist["n"][w] = k + 1
                committed[w] = m
                res["writes"] += 1
                continue
            t = rng.randrange(W)
            kind = rng.choice(ENDPOINTS)
            j = rng.randrange(R)
            L = committed[t]
            t0 = time.time()
            if args.wait_lsn:
                be.await_lsn(max(lsns[t], world["setup_lsn"]))
            if lsn_client:
                min_lsn = 1 if args.sabotage == "lsn-zero" else max(lsns[t], world["setup_lsn"])
                doc, hit = be.read(kind, world["tenants"][t], world["risks"][t][j], min_lsn)
            else:
                if args.mode == "http" and args.bounded_staleness is not None:
                    L = bounded_marker(hist, t, t0 - args.bounded_staleness, R)
                doc, hit = be.read(kind, world["tenants"][t], world["risks"][t][j])
            H = issued[t]
            took = time.time() - t0
            res["reads"] += 1
            res["hits"] += bool(hit)
            res["reads_lsn"] += lsn_client
            cls = "lsn" if lsn_client else "nolsn"
            res["max_read_" + cls] = max(res["max_read_" + cls], took)
            verdict, why = check(kind, doc, world["tenants"][t], j, L, H, world, R)
            if verdict != "ok":
                res[verdict] += 1
                if verdict == "stale":
                    res["stale_" + cls] += 1
                if len(res["examples"]) < 5:
                    res["examples"].append("%s %s: %s" % (verdict, kind, why))
        except Exception as e:  # counted, never silent
            res["errors"] += 1
            if len(res["examples"]) < 5:
                res["examples"].append("error: %s" % e)
            time.sleep(0.01)
    res["lsn_waits"] = getattr(be, "lsn_waits", 0)
    res["max_wait"] = getattr(be, "max_wait", 0.0)
    res["upstreams"] = getattr(be, "upstreams", {})
    out_q.put(res)


def pauser(args, at, length, paused):
    """--pause-replay: pause the read server's replay mid-load, then resume."""
    conn = psycopg.connect(args.read_dsn, autocommit=True)
    time.sleep(at)
    conn.execute("SELECT pg_wal_replay_pause()")
    t0 = time.time()
    while conn.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()[0] != "paused" and time.time() - t0 < 10:
        time.sleep(0.01)
    if conn.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()[0] == "paused":
        time.sleep(length)
        paused.value = time.time() - t0
    conn.execute("SELECT pg_wal_replay_resume()")
    conn.close()


def saboteur(args, world, stop):
    """--sabotage poison: keep re-publishing the first tenant's initial risk JSON (where reads go)."""
    conn = psycopg.connect(args.read_dsn or args.dsn, autocommit=True)
    t = world["tenants"][0]
    while not stop.is_set():
        for rid, old in world["initial_json"].items():
            conn.execute("SELECT openrisk.cache_put(%s, %s)", ("risk:id:%s:%s" % (t, rid), old))
        time.sleep(0.002)


# -------------------------------------------------------------- set-up / run
def setup(args):
    """W fresh tenants of R risks, initialised by markers 1..R (state(R))."""
    conn = psycopg.connect(args.dsn, autocommit=True)
    if args.sabotage == "no-invalidation":
        conn.execute("ALTER TABLE openrisk.risks DISABLE TRIGGER risks_invalidate_update")
    world = {"tenants": [], "risks": [], "index": {}, "initial_json": {}}
    for w in range(args.workers):
        t = str(uuid.uuid4())
        conn.execute("INSERT INTO openrisk.tenants (id, name) VALUES (%s, %s)", (t, "freshness %d" % w))
        ids = []
        for j in range(args.risks):
            doc = conn.execute("SELECT openrisk.risk_create(%s, %s)",
                               (t, json.dumps({"title": "init", "impact": 1, "probability": 1}))).fetchone()[0]
            ids.append(doc["id"])
        # marker m writes risk m % R: markers 1..R touch every risk once
        ordered = [None] * args.risks
        for m in range(1, args.risks + 1):
            ordered[m % args.risks] = ids[m - 1]
        for m in range(1, args.risks + 1):
            patch = fields(m, args.risks)
            patch["title"] = "fresh %d %d" % (w, m)
            conn.execute("SELECT openrisk.risk_update(%s, %s, %s)", (t, ordered[m % args.risks], json.dumps(patch)))
        world["tenants"].append(t)
        world["risks"].append(ordered)
        world["index"][t] = {rid: j for j, rid in enumerate(ordered)}
    t0 = world["tenants"][0]
    for rid in world["risks"][0]:
        world["initial_json"][rid] = json.dumps(
            conn.execute("SELECT openrisk.risk_get(%s, %s)", (t0, rid)).fetchone()[0])
    # a standby must have replayed the set-up before the first read of it
    world["setup_lsn"] = lsn_int(conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0])
    conn.close()
    return world


def teardown(args, world):
    conn = psycopg.connect(args.dsn, autocommit=True)
    if args.sabotage == "no-invalidation":
        conn.execute("ALTER TABLE openrisk.risks ENABLE TRIGGER risks_invalidate_update")
    conn.execute("DELETE FROM openrisk.tenants WHERE id = ANY(%s::uuid[])", (world["tenants"],))
    conn.close()


def main():
    s = orlib.settings()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", choices=["sql", "http"], default="sql")
    ap.add_argument("--reads", type=int, default=20000)
    ap.add_argument("--write-pct", type=float, default=10)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--risks", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=300, help="seconds; unfinished reads count as errors")
    ap.add_argument("--db", default=s["db"])
    ap.add_argument("--http-port", type=int, default=int(s["http_port"]))
    ap.add_argument("--secret-file", default=s["secret_file"])
    ap.add_argument("--read-dsn", help="SQL mode: read from this server (a hot standby of --db's server); "
                    "HTTP mode: the standby --pause-replay pauses")
    ap.add_argument("--wait-lsn", action="store_true", help="reads wait until the read server replayed the writes' LSN")
    ap.add_argument("--lsn-timeout", type=float, default=30, help="seconds a read waits for replay")
    ap.add_argument("--pause-replay", help="AT:FOR -- pause the read server's replay AT s into the run for FOR s")
    ap.add_argument("--lsn-clients", type=int, default=0,
                    help="HTTP: this many workers present the writer's X-Commit-LSN as X-Min-LSN")
    ap.add_argument("--bounded-staleness", type=float,
                    help="HTTP: seconds; workers without the LSN must see every write acknowledged that long before")
    ap.add_argument("--sabotage", choices=["none", "poison", "no-invalidation", "no-wal", "lsn-zero"], default="none")
    ap.add_argument("--expect-stale", action="store_true", help="succeed only when stale reads are found")
    ap.add_argument("--json", help="append the result as one JSON line to this file")
    args = ap.parse_args()
    args.dsn = orlib.dsn_for(s, args.db)
    if args.sabotage == "no-invalidation" and args.db == s["db"]:
        ap.error("--sabotage no-invalidation needs a scratch --db, never the shared database")
    if args.wait_lsn and args.mode != "sql":
        ap.error("--wait-lsn is for --mode sql (through the gateway, use --lsn-clients)")
    if (args.lsn_clients or args.bounded_staleness is not None or args.sabotage == "lsn-zero") and args.mode != "http":
        ap.error("--lsn-clients, --bounded-staleness and --sabotage lsn-zero are for --mode http")
    if args.read_dsn and args.mode == "http" and not args.pause_replay:
        ap.error("in HTTP mode --read-dsn only names the standby --pause-replay pauses")
    if (args.wait_lsn or args.pause_replay or args.sabotage == "no-wal") and not args.read_dsn:
        ap.error("--wait-lsn, --pause-replay and --sabotage no-wal need --read-dsn")

    world = setup(args)
    ctx = mp.get_context("fork")
    issued = ctx.RawArray("q", [args.risks] * args.workers)
    committed = ctx.RawArray("q", [args.risks] * args.workers)
    lsns = ctx.RawArray("q", [0] * args.workers)
    hist = {"t": ctx.RawArray("d", args.workers * HISTORY), "m": ctx.RawArray("q", args.workers * HISTORY),
            "n": ctx.RawArray("q", args.workers)}
    if args.bounded_staleness:  # reads without the LSN may count on the set-up once it is that old
        time.sleep(args.bounded_staleness)
    out_q, stop = ctx.Queue(), ctx.Event()
    sab = pause = None
    paused = ctx.Value("d", 0.0)
    if args.sabotage == "poison":
        sab = ctx.Process(target=saboteur, args=(args, world, stop))
        sab.start()
    if args.pause_replay:
        at, length = (float(x) for x in args.pause_replay.split(":"))
        pause = ctx.Process(target=pauser, args=(args, at, length, paused))
        pause.start()
    t0 = time.time()
    deadline = t0 + args.timeout
    procs = [ctx.Process(target=worker, args=(w, args, world, issued, committed, lsns, hist, out_q, deadline))
             for w in range(args.workers)]
    for p in procs:
        p.start()
    results = []
    for _ in procs:
        try:
            results.append(out_q.get(timeout=args.timeout + 60))
        except Exception:
            break
    for p in procs:
        p.join(5)
    elapsed = time.time() - t0
    stop.set()
    if sab:
        sab.join(10)
    if pause:
        pause.join(60)
    teardown(args, world)

    tot = {k: sum(r[k] for r in results) for k in ("reads", "writes", "stale", "wrong", "errors", "hits", "lsn_waits")}
    tot["errors"] += (len(procs) - len(results)) + max(0, args.reads - tot["reads"])
    for r in results:
        for e in r["examples"]:
            print("  " + e)
    ops = tot["reads"] + tot["writes"]
    line = ("FRESHNESS mode=%s sabotage=%s write_pct=%g reads=%d writes=%d stale=%d wrong=%d errors=%d "
            "hit_rate=%.3f write_share=%.3f seconds=%.1f ops_per_s=%.0f" % (
                args.mode, args.sabotage, args.write_pct, tot["reads"], tot["writes"], tot["stale"], tot["wrong"],
                tot["errors"], tot["hits"] / max(1, tot["reads"]), tot["writes"] / max(1, ops), elapsed,
                ops / max(elapsed, 1e-9)))
    if args.read_dsn and args.mode == "sql":
        line += " standby=1 lsn_waits=%d max_lsn_wait=%.3f paused=%.1f" % (
            tot["lsn_waits"], max([r["max_wait"] for r in results] or [0]), paused.value)
    if args.mode == "http":
        ups = {}
        for r in results:
            for k, v in r["upstreams"].items():
                ups[k] = ups.get(k, 0) + v
        replica = sum(v for k, v in ups.items() if k.startswith("replica"))
        line += (" lsn_clients=%d reads_lsn=%d stale_lsn=%d stale_nolsn=%d max_read_lsn=%.3f max_read_nolsn=%.3f"
                 " replica_reads=%d primary_reads=%d paused=%.1f") % (
            args.lsn_clients, sum(r["reads_lsn"] for r in results), sum(r["stale_lsn"] for r in results),
            sum(r["stale_nolsn"] for r in results), max([r["max_read_lsn"] for r in results] or [0]),
            max([r["max_read_nolsn"] for r in results] or [0]), replica, ups.get("primary", 0), paused.value)
    if args.json:
        with open(args.json, "a") as f:
            f.write(json.dumps(dict(tot, mode=args.mode, sabotage=args.sabotage, write_pct=args.write_pct,
                                    seconds=round(elapsed, 1))) + "\n")
    print(line)
    if args.expect_stale:
        return 0 if tot["stale"] > 0 else 1
    return 0 if tot["stale"] == tot["wrong"] == tot["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
