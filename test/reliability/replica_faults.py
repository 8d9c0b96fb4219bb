#!/usr/bin/python3
"""replica_faults.py -- a gateway routing reads to hot standbys, under
faults (issue 11, items 3 and 4).  TAP lines out, one scenario per call.

Runs against the PRIVATE replicated stack of test/suites/75-replica-gateway.sh
(its OPENRISK_RUN_DIR and ports in the environment: the primary on
OPENRISK_PGPORT, standby N on OPENRISK_PGPORT + N, folders as
tools/replicas.sh makes them), because it stops servers on purpose.  The
gateway under test listens on --port (metrics on --metrics-port) with the
standbys as --replicas.

  standby-kill N     standby N stopped (immediate: every backend gone at
                     once) while 4 clients read: the gateway takes it out of
                     routing within 5 s (its routable gauge, and no reply
                     from it started afterwards), no read fails beyond those
                     in flight at the kill, the other replica keeps serving.
  standby-restart N  standby N started again: it rejoins streaming with an
                     empty cache (cache_stats.entries = 0 before the gateway
                     routes to it), the gateway routes to it again, its
                     first read of a page is a MISS and its answer equals
                     the other servers' (same ETag).
  primary-kill       the primary stopped (immediate) under read load: writes
                     get 503 + Retry-After, reads keep being answered 200 by
                     replicas (cached: HIT), a read presenting an LSN no
                     replica has gets 503 + Retry-After after the bounded
                     wait (never a stale 200), /ready stays 200; the primary
                     started again takes writes within 10 s.
  two-gateways HAPROXY_PORT OTHER_PORT OTHER_PID
                     two gateways behind HAProxy (deploy/haproxy.cfg): a
                     write through one is read back fresh through the other
                     (X-Min-LSN, reads on replicas); then the other gateway
                     drains (SIGTERM) under load through HAProxy: no failed
                     request, it exits, HAProxy sends everything to the first.

The test/reliability/faults.py helpers (Load, ok, pg_ctl) are reused.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time

import psycopg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faults  # noqa: E402
import orlib  # noqa: E402
from faults import S, Load, ok  # noqa: E402

PGBIN = faults.PGBIN
PATHS = ["/api/v1/stats", "/api/v1/risks?page_size=5", "/api/v1/risks/matrix", "/api/v1/stats/risk-matrix"]


def standby_dir(n):
    return os.path.join(S["run_dir"], "replicas", str(n), "pgdata")


def standby_dsn(n):
    return "host=%s port=%d dbname=%s user=postgres" % (S["socket"], int(S["pgport"]) + n, S["db"])


def pg_ctl_at(pgdata, *args):
    return faults.as_postgres(PGBIN + "/pg_ctl", "-D", pgdata, *args)


def series(m, name, upstream):
    role = "primary" if upstream == "primary" else "replica"
    return m.get('%s{upstream="%s",role="%s"}' % (name, upstream, role))


def wait_metric(mport, name, upstream, want, seconds):
    """The time the gauge first reads `want`, or None."""
    end = time.time() + seconds
    while time.time() < end:
        try:
            if series(orlib.metrics(mport), name, upstream) == want:
                return time.time()
        except OSError:
            pass
        time.sleep(0.05)
    return None


def viewer(tenant=orlib.DEMO_TENANT, role="viewer"):
    return {"Authorization": "Bearer " + orlib.token(orlib.read_secret(S["secret_file"]), role, tenant)}


def in_flight(log, t):
    return [x for x in log if x[0] <= t <= x[1]]


def standby_kill(a, n):
    up, other = "replica-%d" % n, "replica-%d" % (3 - n)
    ok(wait_metric(a.metrics_port, "openrisk_upstream_routable", up, 1, 15) is not None,
       "%s is routable before the kill" % up)
    with Load(a.port, clients=4, paths=PATHS) as load:
        time.sleep(2.0)
        t_kill = time.time()
        r = pg_ctl_at(standby_dir(n), "stop", "-m", "immediate", "-w")
        t_out = wait_metric(a.metrics_port, "openrisk_upstream_routable", up, 0, 10)
        time.sleep(1.0)
        reads_then = series(orlib.metrics(a.metrics_port), "openrisk_upstream_reads_total", up)
        time.sleep(2.0)
        reads_end = series(orlib.metrics(a.metrics_port), "openrisk_upstream_reads_total", up)
    log = sorted(load.log)
    ok(r.returncode == 0, "standby %d stopped (immediate) under load" % n)
    took = (t_out - t_kill) if t_out else float("inf")
    ok(took < 5, "the gateway took %s out of routing within 5 s (%.2f s)" % (up, took))
    late = [x for x in log if x[5] == up and t_out and x[0] > t_out]
    ok(not late, "no reply from %s was started after that (%d)" % (up, len(late)))
    ok(reads_then == reads_end, "its read counter stopped (%s -> %s)" % (reads_then, reads_end))
    failed = [x for x in log if x[2] != 200]
    flying = in_flight(log, t_kill)
    ok(len(failed) <= len(flying), "failed reads %d <= reads in flight at the kill %d (%d reads in all)" % (
        len(failed), len(flying), len(log)))
    after = [x for x in log if x[0] > t_kill + 1]
    ok(after and sum(x[5] == other for x in after) > len(after) / 4,
       "reads continue, on %s too (%d of %d after the kill)" % (other, sum(x[5] == other for x in after), len(after)))
    print("REPLICA_FAULT standby-kill out_s=%.3f failed=%d in_flight=%d reads=%d" % (
        took, len(failed), len(flying), len(log)))


def standby_restart(a, n):
    up = "replica-%d" % n
    env = dict(os.environ)
    r = subprocess.run([os.path.join(orlib.ROOT, "tools", "replicas.sh"), "start", str(max(n, 2))], env=env,
                       capture_output=True, text=True)
    ok(r.returncode == 0, "standby %d started again and streams (%s)" % (n, r.stderr.strip()[-200:]))
    with psycopg.connect(standby_dsn(n), autocommit=True) as c:
        entries = c.execute("SELECT entries FROM openrisk.cache_stats").fetchone()[0]
    ok(entries == 0, "its cache is empty (entries = %s)" % entries)
    t_in = wait_metric(a.metrics_port, "openrisk_upstream_routable", up, 1, 15)
    ok(t_in is not None, "the gateway routes to %s again" % up)
    h, auth = orlib.Http("127.0.0.1", a.port), viewer()
    first, etags, seen = {}, {}, {}
    end = time.time() + 20
    # each path twice in a row: the gateway round-robins over the replicas
    # per request, so one request per path would land every path on the same
    # replica each lap, and half the paths never on the restarted one
    while time.time() < end and len(seen) < len(PATHS):
        for p in [p for p in PATHS for _ in range(2)]:
            st, hdrs, _ = h.request("GET", p, auth)
            if st != 200:
                continue
            etags.setdefault(p, set()).add(hdrs.get("etag"))
            if hdrs.get("x-upstream") == up:
                first.setdefault(p, hdrs.get("x-cache"))
                if first[p] == "MISS" and hdrs.get("x-cache") == "HIT":
                    seen[p] = True
    ok(len(first) == len(PATHS) and all(v == "MISS" for v in first.values()),
       "its first read of each page is a MISS (%s)" % first)
    ok(len(seen) == len(PATHS), "then it serves them from its cache (HIT)")
    ok(all(len(v) == 1 for v in etags.values()),
       "and what it serves equals the other servers' answers (one ETag per page)")


def one_risk(h, auth):
    st, _, body = h.request("GET", "/api/v1/risks?page_size=1", auth)
    return json.loads(body)["items"][0]["id"] if st == 200 else None


def patch(h, rid, title, auth):
    return h.request("PATCH", "/api/v1/risks/" + rid, dict(auth, **{"Content-Type": "application/json"}),
                     json.dumps({"title": title}))


def primary_kill(a):
    h, auth, writer = orlib.Http("127.0.0.1", a.port), viewer(), viewer(role="analyst")
    rid = one_risk(h, auth)
    ok(rid is not None, "a risk to write to")
    warm = {}
    for _ in range(200):  # every page cached on the replicas
        for p in PATHS:
            st, hdrs, _ = h.request("GET", p, auth)
            if hdrs.get("x-upstream", "").startswith("replica") and hdrs.get("x-cache") == "HIT":
                warm[p] = True
        if len(warm) == len(PATHS):
            break
    ok(len(warm) == len(PATHS), "every page is cached on a replica before the kill")
    pgdata = os.path.join(S["run_dir"], "pgdata")
    with Load(a.port, clients=4, paths=PATHS) as load:
        time.sleep(1.0)
        t_kill = time.time()
        r = pg_ctl_at(pgdata, "stop", "-m", "immediate", "-w")
        time.sleep(1.0)
        writes = [patch(h, rid, "while the primary is down %d" % i, writer) for i in range(5)]
        t0 = time.time()
        st_lsn, hdr_lsn, _ = h.request("GET", PATHS[0], dict(auth, **{"X-Min-LSN": "FFFFFFFF/0"}))
        lsn_took = time.time() - t0
        st_ready = h.request("GET", "/ready")[0]
        time.sleep(2.0)
        t_restart = time.time()
        r2 = pg_ctl_at(pgdata, "start", "-w", "-t", "60", "-l", os.path.join(S["log_dir"], "postgresql.log"))
        back = None
        while time.time() < t_restart + 20:
            st, hdrs, _ = patch(h, rid, "after the primary came back", writer)
            if st == 200:
                back = (time.time(), hdrs)
                break
            time.sleep(0.1)
    log = sorted(load.log)
    ok(r.returncode == 0, "the primary stopped (immediate) under read load")
    ok(all(w[0] == 503 and w[1].get("retry-after") for w in writes),
       "writes get 503 + Retry-After (%s)" % [w[0] for w in writes])
    down = [x for x in log if t_kill + 0.5 < x[0] and x[1] < t_restart]
    ok(down and all(x[2] == 200 for x in down), "every read while it is down is answered 200 (%d reads, codes %s)" % (
        len(down), sorted({str(x[2]) for x in down})))
    ok(down and all(x[5].startswith("replica") for x in down), "by the replicas")
    hits = sum(x[4] == "HIT" for x in down)
    ok(down and hits >= 0.9 * len(down), "from their caches (%d of %d HIT)" % (hits, len(down)))
    failed = [x for x in log if x[2] != 200 and x[0] < t_restart]
    ok(len(failed) <= len(in_flight(log, t_kill)), "failed reads %d <= in flight at the kill" % len(failed))
    ok(st_lsn == 503 and hdr_lsn.get("retry-after") and lsn_took < a.replica_wait + 2,
       "a read with an LSN no replica has: 503 + Retry-After after the bounded wait (%d in %.2f s)" % (
           st_lsn, lsn_took))
    ok(st_ready == 200, "/ready stays 200 while replicas can answer (%s)" % st_ready)
    ok(r2.returncode == 0 and back is not None and "x-commit-lsn" in back[1],
       "the primary started again takes writes (with X-Commit-LSN) within %.1f s" % (
           (back[0] - t_restart) if back else float("inf")))
    print("REPLICA_FAULT primary-kill reads_down=%d hits=%d writes_503=%d lsn_wait_s=%.2f" % (
        len(down), hits, sum(w[0] == 503 for w in writes), lsn_took))


def two_gateways(a, hport, other_port, other_pid):
    auth, writer = viewer(), viewer(role="analyst")
    hp, ha, hb = orlib.Http("127.0.0.1", hport), orlib.Http("127.0.0.1", a.port), orlib.Http("127.0.0.1", other_port)
    rid = one_risk(ha, auth)
    pairs = stale = crossed = on_replica = 0
    for i in range(40):
        for w, r in ((hp, hp), (ha, hb), (hb, ha)):
            title = "two gateways %d %d" % (i, time.time_ns())
            st, wh, _ = patch(w, rid, title, writer)
            lsn = wh.get("x-commit-lsn")
            st2, rh, body = r.request("GET", "/api/v1/risks/" + rid, dict(auth, **{"X-Min-LSN": lsn or "0/0"}))
            pairs += 1
            stale += not (st == 200 and lsn and st2 == 200 and json.loads(body)["title"] == title)
            on_replica += rh.get("x-upstream", "").startswith("replica")
            if w is hp:
                crossed += wh.get("x-served-by") != rh.get("x-served-by")
    ok(stale == 0, "a write through one gateway is read back fresh through the other, with X-Min-LSN "
       "(%d pairs, %d stale, %d read on a replica)" % (pairs, stale, on_replica))
    ok(on_replica > pairs / 2, "those reads were served by replicas (%d of %d)" % (on_replica, pairs))
    ok(crossed >= 30, "through HAProxy the write and the read went to different gateways (%d of 40)" % crossed)
    with Load(hport, clients=4, paths=PATHS) as load:
        time.sleep(1.5)
        t_term = time.time()
        os.kill(other_pid, signal.SIGTERM)
        gone = None
        while time.time() < t_term + 20:
            if not faults.alive(other_pid):
                gone = time.time()
                break
            time.sleep(0.05)
        time.sleep(3.0)
    log = sorted(load.log)
    failed = [x for x in log if x[2] != 200]
    ok(gone is not None, "the other gateway drained and exited (%.2f s)" % ((gone - t_term) if gone else -1))
    ok(not failed, "no request through HAProxy failed meanwhile (%d of %d)" % (len(failed), len(log)))
    late = [x for x in log if x[0] > t_term + 3]
    ok(late and all(x[2] == 200 for x in late), "HAProxy serves everything with the first gateway (%d requests)" % len(
        late))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario", choices=["standby-kill", "standby-restart", "primary-kill", "two-gateways"])
    ap.add_argument("args", nargs="*")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--metrics-port", type=int, required=True)
    ap.add_argument("--replica-wait", type=float, default=0.5, help="the gateway's --replica-wait, seconds")
    a = ap.parse_args()
    if a.scenario == "standby-kill":
        standby_kill(a, int(a.args[0]))
    elif a.scenario == "standby-restart":
        standby_restart(a, int(a.args[0]))
    elif a.scenario == "primary-kill":
        primary_kill(a)
    else:
        two_gateways(a, int(a.args[0]), int(a.args[1]), int(a.args[2]))
    return 1 if faults.RESULTS["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
