#!/usr/bin/python3
"""The OpenRisk endpoints' part of `make bench-sql`: what a miss costs
against a hit, what deep pages cost, and what writes cost, at 100k risks.

Every figure is a ratio of two pgbench runs made back to back (-M prepared,
8 clients, 2 threads), repeated ROUNDS times; the median of the per-round
ratios is printed with its target.  On a shared 2-core machine single
numbers drift; ratios taken within one round do not drift as much.

  1. per endpoint: uncached TPS / hit TPS (openrisk.cache_enabled=off for
     the uncached side): dashboards and matrices (target >= 0.05), risk_list
     for every sort column, both directions, and the severity / status
     filters (>= 0.02), the q filter and risk_search (>= 0.005);
  2. a page 500 deep through the keyset cursor vs page 1 (uncached, >= 0.8),
     and the same depth by page number for comparison;
  3. writes: risk_update with 8 writers in one tenant vs 8 writers in 8
     tenants (>= 0.6); a single-risk UPDATE with every trigger vs the same
     with the aggregate-maintenance triggers disabled (>= 0.75);
  4. a write mix (each transaction reads dashboard_stats, some first update
     a risk), with the hit rate, for comparison with earlier runs.

Environment: BENCH_SECONDS (per run, default 4), BENCH_ROUNDS (default 3),
BENCH_ONLY (comma-separated section numbers).  Uses its own database
openrisk_bench with demo tenant #1 (100k risks) and 8 smaller tenants.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

import psycopg

SECS = int(os.environ.get("BENCH_SECONDS", "4"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
ONLY = set(os.environ.get("BENCH_ONLY", "1,2,3,4").split(","))
DB = "openrisk_bench"
T1 = "00000000-0000-4000-8000-000000000001"
SMALL_TENANTS = 8
SMALL_RISKS = 5000
OFF = "-c openrisk.cache_enabled=off"


def say(msg):
    print("==> " + msg, file=sys.stderr, flush=True)


def dsn(db=DB):
    return "dbname=%s" % db  # PGHOST/PGPORT/PGUSER come from tools/common.sh


def pgbench(script, opts="", clients=8, extra=()):
    """TPS of one pgbench run of `script` (a string of pgbench commands)."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(script)
    env = dict(os.environ, PGOPTIONS=opts)
    cmd = ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", "2", "-T", str(SECS),
           "-D", "t=" + T1, "-f", f.name, *extra, DB]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    os.unlink(f.name)
    for line in out.stdout.splitlines():
        if line.startswith("tps = "):
            return float(line.split()[2])
    sys.exit("pgbench failed:\n%s\n%s" % (script, out.stderr[-2000:]))


def ratio_rounds(case, base):
    """Run (case, base) back to back ROUNDS times; each is (script, opts)
    or a callable returning TPS.  Returns (median case TPS, median base
    TPS, median of per-round ratios)."""
    cs, bs, rs = [], [], []
    for _ in range(ROUNDS):
        c = case() if callable(case) else pgbench(*case)
        b = base() if callable(base) else pgbench(*base)
        cs.append(c)
        bs.append(b)
        rs.append(c / b if b else 0.0)
    return statistics.median(cs), statistics.median(bs), statistics.median(rs)


def verdict(r, target):
    return "ok" if r >= target else "BELOW TARGET"


def setup():
    with psycopg.connect(dsn("postgres"), autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB,)).fetchone():
            c.execute("CREATE DATABASE " + DB)
    with psycopg.connect(dsn(), autocommit=True) as c:
        c.execute("SET client_min_messages = warning")
        c.execute("CREATE EXTENSION IF NOT EXISTS openrisk CASCADE")
        n = c.execute("SELECT count(*) FROM openrisk.risks WHERE tenant_id = %s", (T1,)).fetchone()[0]
        if n != 100000:
            say("loading 100k risks into %s (generate_demo_data(1, 100000, 42))" % DB)
            t0 = time.time()
            c.execute("SELECT count(*) FROM openrisk.generate_demo_data(1, 100000, 42)")
            say("  %.0f s" % (time.time() - t0))
        small = c.execute("SELECT count(DISTINCT tenant_id) FROM openrisk.risks WHERE tenant_id <> %s", (T1,)).fetchone()[0]
        if small != SMALL_TENANTS:
            say("adding %d tenants of %d risks (the write benchmark's other tenants)" % (SMALL_TENANTS, SMALL_RISKS))
            for k in range(SMALL_TENANTS):
                tid = "00000000-0000-4000-9000-%012d" % (k + 1)
                c.execute("DELETE FROM openrisk.risks WHERE tenant_id = %s", (tid,))
                c.execute("INSERT INTO openrisk.tenants (id, name) VALUES (%s, %s) ON CONFLICT DO NOTHING", (tid, "bench %d" % k))
                c.execute("""INSERT INTO openrisk.risks (id, tenant_id, title, impact, probability, created_at)
                             SELECT md5(%s || i)::uuid, %s, 'bench risk ' || i, 1 + i %% 5, 1 + (i / 5) %% 5,
                                    now() - (i %% 365) * interval '1 day'
                               FROM generate_series(1, %s) i""", (tid, tid, SMALL_RISKS))
        c.execute("VACUUM ANALYZE")


def section_endpoints():
    t = T1
    dash = [("dashboard_stats(month)", "SELECT openrisk.dashboard_stats(:t, 'month');"),
            ("dashboard_stats(week)", "SELECT openrisk.dashboard_stats(:t, 'week');"),
            ("dashboard_stats(year)", "SELECT openrisk.dashboard_stats(:t, 'year');"),
            ("dashboard_stats(all)", "SELECT openrisk.dashboard_stats(:t, 'all');"),
            ("risk_matrix(quarter)", "SELECT openrisk.risk_matrix(:t, 'quarter');"),
            ("dashboard_matrix", "SELECT openrisk.dashboard_matrix(:t);"),
            ("dashboard_timeline(30)", "SELECT openrisk.dashboard_timeline(:t, 30);"),
            ("dashboard_timeline(365)", "SELECT openrisk.dashboard_timeline(:t, 365);")]
    lists = [("risk_list %s %s" % (c, d), "SELECT openrisk.risk_list(:t, 1, 20, NULL, NULL, NULL, '%s', '%s');" % (c, d))
             for c in ("score", "title", "status", "impact", "probability", "created_at", "updated_at")
             for d in ("desc", "asc")]
    lists += [("risk_list severity=HIGH", "SELECT openrisk.risk_list(:t, 1, 20, 'HIGH');"),
              ("risk_list status=MITIGATED", "SELECT openrisk.risk_list(:t, 1, 20, NULL, 'MITIGATED');"),
              ("risk_list CRITICAL+ACCEPTED title asc",
               "SELECT openrisk.risk_list(:t, 1, 20, 'CRITICAL', 'ACCEPTED', NULL, 'title', 'asc');")]
    text = [("risk_list q=phish (10% of titles)", "SELECT openrisk.risk_list(:t, 1, 20, NULL, NULL, 'phish');"),
            ("risk_list q='pipeline #12' (rare)", "SELECT openrisk.risk_list(:t, 1, 20, NULL, NULL, 'pipeline #12');"),
            ("risk_search 'phishing' (10%)", "SELECT openrisk.risk_search(:t, 'phishing');"),
            ("risk_search 'vpn gateway'", "SELECT openrisk.risk_search(:t, 'vpn gateway');")]
    print("\n1. uncached / hit, per endpoint, 100k risks in one tenant "
          "(pgbench -M prepared -c 8 -j 2, %ds x %d rounds, median of per-round ratios)" % (SECS, ROUNDS))
    print("| call | hit TPS | uncached TPS | uncached/hit | target |")
    print("|---|---:|---:|---:|---|")
    worst = {}
    for group, target, cases in (("dashboards", 0.05, dash), ("lists", 0.02, lists), ("text", 0.005, text)):
        for name, sql in cases:
            off, hit, r = ratio_rounds((sql, OFF), (sql, ""))
            print("| %s | %.0f | %.1f | %.4f | >= %s %s |" % (name, hit, off, r, target, verdict(r, target)), flush=True)
            worst[group] = min(worst.get(group, 1e9), r)
    for group, target in (("dashboards", 0.05), ("lists", 0.02), ("text", 0.005)):
        print("worst %s ratio: %.4f (target >= %s: %s)" % (group, worst[group], target, verdict(worst[group], target)))


def section_depth():
    with psycopg.connect(dsn()) as c:
        row = c.execute("""SELECT score::text, id FROM openrisk.risks WHERE tenant_id = %s AND deleted_at IS NULL
                           ORDER BY score DESC, id DESC OFFSET 9999 LIMIT 1""", (T1,)).fetchone()
        cur = c.execute("SELECT openrisk._cursor_make(%s, 'score', 'desc', NULL, NULL, NULL, %s, %s)",
                        (T1, row[0], row[1])).fetchone()[0]
    page1 = ("SELECT openrisk.risk_list(:t, 1, 20);", OFF)
    deep_cursor = ("SELECT openrisk.risk_list(:t, 1, 20, NULL, NULL, NULL, 'score', 'desc', '%s');" % cur, OFF)
    deep_page = ("SELECT openrisk.risk_list(:t, 501, 20);", OFF)
    print("\n2. deep pages, uncached (page size 20; the cursor starts after row 10000)")
    print("| call | TPS | vs page 1 | target |")
    print("|---|---:|---:|---|")
    c_tps, p1, r = ratio_rounds(deep_cursor, page1)
    print("| page 1 | %.1f | | |" % p1)
    print("| page 501 by cursor (after=) | %.1f | %.2f | >= 0.8 %s |" % (c_tps, r, verdict(r, 0.8)))
    o_tps, _, r2 = ratio_rounds(deep_page, page1)
    print("| page 501 by number (OFFSET 10000) | %.1f | %.2f | (for comparison) |" % (o_tps, r2), flush=True)


UPDATE_ONE_TENANT = """\\set i random(1, 100000)
\\set p random(1, 5)
SELECT openrisk.risk_update(:t, md5('risk:42:1:' || :i::int)::uuid, jsonb_build_object('probability', :p::int)) IS NULL;
"""
UPDATE_OWN_TENANT = """\\set i random(1, %d)
\\set p random(1, 5)
\\set k :client_id %% 8 + 1
SELECT openrisk.risk_update(('00000000-0000-4000-9000-' || lpad(:k::text, 12, '0'))::uuid,
       md5('00000000-0000-4000-9000-' || lpad(:k::text, 12, '0') || :i::int)::uuid,
       jsonb_build_object('probability', :p::int)) IS NULL;
""" % SMALL_RISKS
PLAIN_UPDATE = """\\set i random(1, 100000)
\\set p random(1, 5)
UPDATE openrisk.risks SET probability = :p WHERE id = md5('risk:42:1:' || :i::int)::uuid;
"""
AGG_TRIGGERS = [("openrisk.risks", "risks_aggregate_update")]


def set_agg_triggers(enabled):
    with psycopg.connect(dsn(), autocommit=True) as c:
        for table, trig in AGG_TRIGGERS:
            c.execute("ALTER TABLE %s %s TRIGGER %s" % (table, "ENABLE" if enabled else "DISABLE", trig))


def section_writes():
    same = UPDATE_ONE_TENANT
    print("\n3. writes (8 clients)")
    print("| case | TPS | ratio | target |")
    print("|---|---:|---:|---|")
    s, o, r = ratio_rounds((same, ""), (UPDATE_OWN_TENANT, ""))
    print("| risk_update, 8 writers in 8 tenants | %.0f | | |" % o)
    print("| risk_update, 8 writers in one tenant | %.0f | %.2f | >= 0.6 %s |" % (s, r, verdict(r, 0.6)), flush=True)

    def without_agg():
        set_agg_triggers(False)
        try:
            return pgbench(PLAIN_UPDATE)
        finally:
            set_agg_triggers(True)
    w, wo, r = ratio_rounds((PLAIN_UPDATE, ""), without_agg)
    print("| UPDATE one risk, aggregate triggers disabled | %.0f | | |" % wo)
    print("| UPDATE one risk, every trigger | %.0f | %.2f | >= 0.75 %s |" % (w, r, verdict(r, 0.75)), flush=True)
    with psycopg.connect(dsn(), autocommit=True) as c:
        # the disabled runs left the aggregates behind the rows: repair them
        c.execute("SELECT openrisk.aggregates_rebuild(%s)", (T1,))
        left = c.execute("SELECT count(*) FROM openrisk.aggregates_verify(%s)", (T1,)).fetchone()[0]
    print("(aggregates rebuilt after the disabled runs; verify reports %d differences)" % left)


def section_mix():
    print("\n4. write mix: every transaction reads dashboard_stats; p %% of them first update one risk")
    print("| writes | TPS | hit rate |")
    print("|---:|---:|---:|")
    for pct in (1, 10, 50):
        script = """\\set roll random(1, 100)
\\set i random(1, 100000)
\\set p random(1, 5)
\\if :roll <= %d
SELECT openrisk.risk_update(:t, md5('risk:42:1:' || :i::int)::uuid, jsonb_build_object('probability', :p::int)) IS NULL;
\\endif
SELECT openrisk.dashboard_stats(:t);
""" % pct
        with psycopg.connect(dsn(), autocommit=True) as c:
            h0, m0 = c.execute("SELECT hits, misses FROM openrisk.cache_stats").fetchone()
            tps = pgbench(script)
            h1, m1 = c.execute("SELECT hits, misses FROM openrisk.cache_stats").fetchone()
        print("| %d %% | %.0f | %.1f %% |" % (pct, tps, 100.0 * (h1 - h0) / max(1, (h1 - h0) + (m1 - m0))), flush=True)


def main():
    setup()
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    print("\nopenrisk endpoints, %d cores, load average at start %s" % (os.cpu_count(), load))
    if "1" in ONLY:
        section_endpoints()
    if "2" in ONLY:
        section_depth()
    if "3" in ONLY:
        section_writes()
    if "4" in ONLY:
        section_mix()
    with open("/proc/loadavg") as f:
        print("\nload average at end %s" % " ".join(f.read().split()[:3]))


if __name__ == "__main__":
    main()
