#!/usr/bin/python3
"""faults.py -- fault injection under gateway load.

Runs against a PRIVATE stack (its own cluster and gateway, set up by
test/suites/73-faults.sh through the project's own scripts with
OPENRISK_RUN_DIR/ports of its own), because every scenario here breaks
PostgreSQL on purpose.  Scenarios (one per invocation, TAP lines out):

  outage fast|immediate|kill   PostgreSQL stopped (fast / immediate) or its
                               postmaster SIGKILLed while 4 clients load the
                               gateway; then started again.  The gateway must
                               live, answer only 200/503 (503 during the
                               outage), serve 200 again within 2 s of
                               PostgreSQL accepting connections, and its pool
                               gauges must return to normal.
  backend-kill                 a backend SIGKILLed in the middle of cache
                               stores while the gateway is loaded: the
                               postmaster's crash restart leaves an empty,
                               working cache and the gateway recovers.
  cache-fill                   the cache (small openrisk.cache_memory) is
                               offered ~10x its size under load: 0 errors,
                               bytes_used <= bytes_limit at every sample,
                               evictions counted, hot-set hit rate degrades
                               gracefully instead of collapsing.
  pool-exhaust PORT            a gateway with 2 connections and a 500 ms
                               acquire timeout, its connections stuck behind
                               a table lock: 503 + Retry-After within the
                               timeout, bounded threads, recovery after.

The last line is FAULT <scenario> key=value ... (figures for the docs).
"""
import json
import os
import random
import subprocess
import sys
import threading
import time

import psycopg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import orlib  # noqa: E402

S = orlib.settings()
PGBIN = os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin")
PGDATA = os.path.join(S["run_dir"], "pgdata")
RESULTS = {"pass": 0, "fail": 0}


def ok(cond, what):
    RESULTS["pass" if cond else "fail"] += 1
    print(("ok - " if cond else "not ok - ") + what, flush=True)
    return cond


def as_postgres(*cmd):
    return subprocess.run(["runuser", "-u", "postgres", "--"] + list(cmd), capture_output=True, text=True)


def pg_ctl(*args):
    return as_postgres(PGBIN + "/pg_ctl", "-D", PGDATA, "-l", os.path.join(S["log_dir"], "postgresql.log"), *args)


def pg_up():
    try:
        psycopg.connect(S["dsn"], connect_timeout=1).close()
        return True
    except psycopg.Error:
        return False


def gateway_pid():
    with open(os.path.join(S["run_dir"], "gateway.pid")) as f:
        return int(f.read())


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


class Load:
    """N keep-alive clients reading through the gateway; every reply is recorded."""

    def __init__(self, port, clients=4, paths=None, tenant=orlib.DEMO_TENANT):
        secret = orlib.read_secret(S["secret_file"])
        self.auth = {"Authorization": "Bearer " + orlib.token(secret, "viewer", tenant)}
        self.port, self.paths = port, paths or ["/api/v1/stats", "/api/v1/risks?page_size=5", "/api/v1/risks/matrix"]
        self.log, self.stop, self.lock = [], threading.Event(), threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(clients)]

    def run(self, i):
        rng = random.Random(i)
        h = orlib.Http("127.0.0.1", self.port, timeout=15)
        while not self.stop.is_set():
            path = rng.choice(self.paths)
            t0 = time.time()
            try:
                st, hdrs, _ = h.request("GET", path, self.auth)
            except Exception as e:  # a connection error is a finding, not a crash of the test
                st, hdrs = "conn:" + type(e).__name__, {}
                h.close()
                time.sleep(0.05)
            with self.lock:  # (start, end, status, Retry-After, X-Cache, X-Upstream)
                self.log.append((t0, time.time(), st, hdrs.get("retry-after"), hdrs.get("x-cache"),
                                 hdrs.get("x-upstream", "")))
            if st == 503:
                time.sleep(0.02)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(20)


def pool_normal(port, max_open):
    """Gauges after the load stopped: nothing in use or waiting, open within max, database up."""
    m = {}
    for _ in range(40):
        m = orlib.metrics(port)
        if m.get("openrisk_pool_connections_in_use") == 0 and m.get("openrisk_pool_waiting") == 0 and \
                m.get("openrisk_pool_database_up") == 1:
            break
        time.sleep(0.1)
    return (m.get("openrisk_pool_connections_in_use") == 0 and m.get("openrisk_pool_waiting") == 0 and
            m.get("openrisk_pool_database_up") == 1 and 0 < m.get("openrisk_pool_connections_open", 0) <= max_open), m


def watch_up(since, out):
    """Record when PostgreSQL first accepts a connection after `since`."""
    while time.time() < since + 120:
        if pg_up():
            out.append(time.time())
            return
        time.sleep(0.02)


def children_of(ppid):
    """Pids whose parent is ppid, from /proc (no procps needed)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == ppid:
                        out.append(d)
            except (OSError, ValueError, IndexError):
                pass
    return out


def outage(mode):
    pid, port = gateway_pid(), int(S["http_port"])
    with Load(port) as load:
        time.sleep(1.0)
        t_down = time.time()
        if mode == "fast":
            r = pg_ctl("stop", "-m", "fast", "-w")
        elif mode == "immediate":
            r = pg_ctl("stop", "-m", "immediate", "-w")
        else:
            with open(os.path.join(PGDATA, "postmaster.pid")) as f:
                pm = int(f.readline())
            children = children_of(pm)
            os.kill(pm, 9)
            r = subprocess.CompletedProcess([], 0)
            # orphaned backends notice the postmaster's death and exit; the
            # data directory is reusable once they are gone
            for _ in range(400):
                if not any(os.path.exists("/proc/" + c) for c in children + [str(pm)]):
                    break
                time.sleep(0.05)
        ok(r.returncode == 0, "PostgreSQL stopped (%s)" % mode)
        t_stopped = time.time()
        time.sleep(1.5)  # a real outage under load
        t_start = time.time()
        up = []
        w = threading.Thread(target=watch_up, args=(t_start, up))
        w.start()
        r = pg_ctl("start", "-w", "-t", "60")
        w.join()
        ok(r.returncode == 0 and up, "PostgreSQL started again (%s)" % r.stderr.strip()[:200])
        t_up = up[0] if up else time.time()
        time.sleep(3.0)
    log = sorted(load.log)
    during = [x for x in log if t_stopped + 0.05 < x[0] and x[1] < t_start]
    codes = {}
    for x in log:
        codes[x[2]] = codes.get(x[2], 0) + 1
    first_ok = next((x for x in log if x[0] >= t_up and x[2] == 200), None)
    recovery = (first_ok[1] - t_up) if first_ok else float("inf")
    ok(alive(pid), "the gateway process survived (%s)" % mode)
    ok(set(codes) <= {200, 503}, "only 200 and 503 replies, no connection errors (%s)" % codes)
    ok(during and all(x[2] == 503 for x in during), "503 during the outage (%d requests)" % len(during))
    ok(all(x[3] == "1" for x in log if x[2] == 503), "every 503 carries Retry-After")
    ok(max((x[1] - x[0] for x in during), default=0) < 1.0,
       "503s during the outage are fast (slowest %.3fs)" % max((x[1] - x[0] for x in during), default=0))
    ok(recovery <= 2.0, "200 again %.3fs after PostgreSQL accepted connections (<= 2 s)" % recovery)
    ok(all(x[2] == 200 for x in log if x[0] > t_up + 2.0), "only 200 from 2 s after recovery on")
    normal, m = pool_normal(int(S["metrics_port"]), 10)
    ok(normal, "pool gauges back to normal (open=%s idle=%s in_use=%s waiting=%s up=%s)" % tuple(
        m.get("openrisk_pool_connections_" + k, m.get("openrisk_pool_" + k)) for k in
        ("open", "idle", "in_use", "waiting", "database_up")))
    print("FAULT outage-%s recovery_s=%.3f outage_s=%.2f requests=%d during_503=%d codes=%s" % (
        mode, recovery, t_up - t_down, len(log), len(during), json.dumps({str(k): v for k, v in codes.items()})))


def resets():
    """How many crash resets the postmaster has logged so far."""
    with open(os.path.join(S["log_dir"], "postgresql.log"), errors="replace") as f:
        return f.read().count("all server processes terminated; reinitializing")


def backend_kill():
    pid, port = gateway_pid(), int(S["http_port"])
    db = psycopg.connect(S["dsn"], autocommit=True)
    db.execute("SELECT openrisk.cache_put('crash:before', 'x')")
    resets_before = resets()
    with Load(port) as load:
        time.sleep(1.0)
        storer = subprocess.Popen([PGBIN + "/psql", "-X", "-q", "-d", S["dsn"], "-c",
                                   "SELECT count(openrisk.cache_put('crash:' || g, repeat('z', 2000))) "
                                   "FROM generate_series(1, 50000000) g"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        victim = None
        for _ in range(100):
            r = db.execute("SELECT pid FROM pg_stat_activity WHERE query LIKE '%generate_series(1, 50000000)%' "
                           "AND pid <> pg_backend_pid()").fetchone()
            if r:
                victim = r[0]
                break
            time.sleep(0.05)
        time.sleep(0.5)
        ok(victim is not None, "a backend is storing into the cache in a tight loop")
        t_kill = time.time()
        if victim:
            os.kill(victim, 9)
        storer.wait(30)
        db.close()
        # PostgreSQL is "back" once the postmaster has reset shared memory
        # and accepts connections again -- not at a connect that slipped in
        # before it even noticed the dead child
        for _ in range(600):
            if resets() > resets_before:
                break
            time.sleep(0.02)
        up = []
        watch_up(time.time(), up)
        t_up = up[0] if up else time.time()
        time.sleep(3.0)
    log = sorted(load.log)
    codes = {}
    for x in log:
        codes[x[2]] = codes.get(x[2], 0) + 1
    first_ok = next((x for x in log if x[0] >= t_up and x[2] == 200), None)
    recovery = (first_ok[1] - t_up) if first_ok else float("inf")
    ok(resets() > resets_before, "the postmaster saw the backend die by SIGKILL and reset shared memory")
    ok(alive(pid), "the gateway survived the crash restart")
    ok(set(codes) <= {200, 503}, "only 200 and 503 replies (%s)" % codes)
    ok(recovery <= 2.0, "200 again %.3fs after PostgreSQL accepted connections" % recovery)
    db = psycopg.connect(S["dsn"], autocommit=True)
    st = db.execute("SELECT entries, bytes_used, bytes_limit FROM openrisk.cache_stats").fetchone()
    ok(db.execute("SELECT openrisk.cache_get('crash:before')").fetchone()[0] is None,
       "the cache came back empty (an entry stored before the crash is gone)")
    ok(db.execute("SELECT openrisk.cache_get('crash:1')").fetchone()[0] is None, "no half-stored entry survived")
    ok(db.execute("SELECT openrisk.cache_put('after', 'y')::text || openrisk.cache_get('after')").fetchone()[0] ==
       "truey", "and it works: put then get")
    ok(st[1] <= st[2], "bytes_used %d <= bytes_limit %d" % (st[1], st[2]))
    h = orlib.Http("127.0.0.1", port)
    auth = Load(port).auth
    a = h.request("GET", "/api/v1/stats?period=all", auth)
    b = h.request("GET", "/api/v1/stats?period=all", auth)
    ok(a[0] == b[0] == 200 and b[1].get("x-cache") == "HIT" and a[2] == b[2], "the gateway caches again after the reset")
    db.close()
    print("FAULT backend-kill recovery_s=%.3f requests=%d codes=%s" % (
        recovery, len(log), json.dumps({str(k): v for k, v in codes.items()})))


def cache_fill():
    port = int(S["http_port"])
    db = psycopg.connect(S["dsn"], autocommit=True)
    limit = db.execute("SELECT bytes_limit FROM openrisk.cache_stats").fetchone()[0]
    rows = db.execute("SELECT tenant_id::text, id::text FROM openrisk.risks WHERE deleted_at IS NULL").fetchall()
    offered = db.execute("SELECT sum(length(openrisk._risk_get_compute(tenant_id, id)::text)) FROM openrisk.risks "
                         "WHERE deleted_at IS NULL").fetchone()[0]
    ok(offered >= 10 * limit, "the data offered (%d bytes of risk_get bodies) is >= 10x the cache (%d)" % (offered, limit))
    db.execute("SELECT openrisk.cache_reset()")
    e0 = db.execute("SELECT evictions FROM openrisk.cache_stats").fetchone()[0]
    secret = orlib.read_secret(S["secret_file"])
    tokens = {t: {"Authorization": "Bearer " + orlib.token(secret, "viewer", t)} for t in {r[0] for r in rows}}
    hot = rows[:100]
    hot_set = set(hot)
    samples, errors, stop = [], [], threading.Event()

    def sampler():
        c = psycopg.connect(S["dsn"], autocommit=True)
        while not stop.is_set():
            samples.append(c.execute("SELECT bytes_used, bytes_limit, entries FROM openrisk.cache_stats").fetchone())
            time.sleep(0.1)
        c.close()

    def client(i, n, out):
        rng = random.Random(i)
        h = orlib.Http("127.0.0.1", port)
        for _ in range(n):
            t, rid = rng.choice(hot) if rng.random() < 0.8 else rng.choice(rows)
            st, hdrs, _ = h.request("GET", "/api/v1/risks/" + rid, tokens[t])
            if st != 200:
                errors.append(st)
            out.append(((t, rid) in hot_set, hdrs.get("x-cache") == "HIT"))

    def phase(n_per_client):
        out = []
        ts = [threading.Thread(target=client, args=(i, n_per_client, out)) for i in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(300)
        return out

    s = threading.Thread(target=sampler)
    s.start()
    t0 = time.time()
    res = phase(len(rows) // 2)  # 4 clients x rows/2 = 2x the data set: every body offered ~2x
    stop.set()
    s.join()
    elapsed = time.time() - t0
    hot_hits = [hit for is_hot, hit in res if is_hot]
    cold_hits = [hit for is_hot, hit in res if not is_hot]
    st = db.execute("SELECT evictions, bytes_used, bytes_limit, entries FROM openrisk.cache_stats").fetchone()
    ok(not errors, "0 errors over %d requests (%s)" % (len(res), errors[:5]))
    ok(all(u <= lim for u, lim, _ in samples) and samples,
       "bytes_used <= bytes_limit in all %d samples (max %d of %d)" % (len(samples), max(u for u, _, _ in samples), limit))
    ok(st[0] - e0 > 0, "evictions counted (%d)" % (st[0] - e0))
    hot_rate = sum(hot_hits) / max(1, len(hot_hits))
    cold_rate = sum(cold_hits) / max(1, len(cold_hits))
    ok(hot_rate >= 0.5, "the hot set (100 risks, 80 %% of reads) still hits %.2f of the time" % hot_rate)
    print("FAULT cache-fill offered_bytes=%d limit_bytes=%d ratio=%.1f requests=%d errors=%d evictions=%d "
          "hot_hit_rate=%.3f cold_hit_rate=%.3f max_bytes_used=%d req_per_s=%.0f" % (
              offered, limit, offered / limit, len(res), len(errors), st[0] - e0, hot_rate, cold_rate,
              max(u for u, _, _ in samples), len(res) / elapsed))
    db.close()


def pool_exhaust(gw_port, metrics_port, gw_pid):
    secret = orlib.read_secret(S["secret_file"])
    auth = {"Authorization": "Bearer " + orlib.token(secret, "viewer", orlib.DEMO_TENANT)}
    warm = orlib.Http("127.0.0.1", gw_port)
    for _ in range(100):  # the pool is connected and PostgreSQL up before the jam
        if warm.request("GET", "/api/v1/stats", auth)[0] == 200:
            break
        time.sleep(0.1)
    warm.close()
    threads_before = int(open("/proc/%d/status" % gw_pid).read().split("Threads:")[1].split()[0])
    lock = psycopg.connect(S["dsn"])
    lock.execute("LOCK TABLE openrisk.risks IN ACCESS EXCLUSIVE MODE")
    results, lk = [], threading.Lock()

    def one(i):
        h = orlib.Http("127.0.0.1", gw_port, timeout=30)
        t0 = time.time()
        st, hdrs, body = h.request("GET", "/api/v1/risks/search?q=blocked%d%d" % (i, time.time_ns()), auth)
        with lk:
            results.append((st, time.time() - t0, hdrs.get("retry-after"), body))
        h.close()

    ts = [threading.Thread(target=one, args=(i,)) for i in range(30)]
    for t in ts:
        t.start()
        time.sleep(0.02)
    time.sleep(1.5)
    threads_during = int(open("/proc/%d/status" % gw_pid).read().split("Threads:")[1].split()[0])
    m = orlib.metrics(metrics_port)
    lock.rollback()
    lock.close()
    for t in ts:
        t.join(30)
    r503 = [r for r in results if r[0] == 503]
    r200 = [r for r in results if r[0] == 200]
    ok(len(r503) >= 20, "requests beyond the 2 stuck connections got 503 (%d of %d)" % (len(r503), len(results)))
    ok(all(r[2] == "1" and b"pool_timeout" in r[3] for r in r503), "every 503 is pool_timeout with Retry-After: 1 %s"
       % sorted({r[3][:60] for r in r503 if b"pool_timeout" not in r[3]}))
    ok(all(0.4 <= r[1] <= 1.5 for r in r503), "each 503 came after the 500 ms acquire timeout, not later (%.2f-%.2fs)" % (
        min((r[1] for r in r503), default=0), max((r[1] for r in r503), default=0)))
    ok(len(r200) == len(results) - len(r503) and len(r200) >= 2, "the stuck requests completed with 200 once the lock went (%d)" % len(r200))
    ok(m.get("openrisk_pool_connections_in_use") == 2 and m.get("openrisk_pool_connections_open") == 2,
       "during the jam the pool stayed at its 2 connections")
    ok(threads_during <= threads_before + 2, "no thread pile-up (%d threads before, %d during)" % (threads_before, threads_during))
    normal, m2 = pool_normal(metrics_port, 2)
    ok(normal, "pool gauges back to normal afterwards")
    h = orlib.Http("127.0.0.1", gw_port)
    ok(h.request("GET", "/api/v1/stats", auth)[0] == 200, "and it serves again")
    print("FAULT pool-exhaust requests=%d status503=%d status200=%d max_503_s=%.3f threads_before=%d threads_during=%d "
          "acquire_timeouts=%s" % (len(results), len(r503), len(r200), max((r[1] for r in r503), default=0),
                                   threads_before, threads_during, m.get("openrisk_pool_acquire_timeouts_total")))


def main():
    what = sys.argv[1]
    if what == "outage":
        outage(sys.argv[2])
    elif what == "backend-kill":
        backend_kill()
    elif what == "cache-fill":
        cache_fill()
    elif what == "pool-exhaust":
        pool_exhaust(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit("usage: faults.py outage fast|immediate|kill | backend-kill | cache-fill | pool-exhaust PORT MPORT PID")
    return 0 if RESULTS["fail"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
