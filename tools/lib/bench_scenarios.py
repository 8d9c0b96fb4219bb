"""tools/lib/bench_scenarios.py -- the scenarios of `make bench`, the demo
data they read and the cache switch they flip (tools/lib/bench_run.py
parses the arguments and calls them in order).

The cache switch is openrisk.cache_enabled, set with ALTER SYSTEM + reload.
What it was -- its value, and whether ALTER SYSTEM had set it (then it is
set back) or not (then it is RESET) -- is read before anything changes, and
Bench.cleanup() puts it back on every way out; SIGINT/SIGTERM arriving
during the clean-up are ignored so the restore cannot be cut short.
"""
import json
import os
import signal
import time

import psycopg
from psycopg import sql

import bench_stack as st
from bench_wrk import Runner

SCENARIOS = ["baseline", "warm", "peak", "ceiling"]

# The k6 ramp (1->10 in 60 s, ->25 in 60 s, ->50 in 120 s, ->0 in 60 s) as
# constant steps at each stage's target (the ramp-down at half of 50).
PEAK_STEPS = [(10, 60), (25, 60), (50, 120), (25, 60)]


def share_tag(share):
    """'0.05' -> 'w5': write share in whole percent, for run names."""
    return f"w{int(float(share) * 100 + 0.5)}"


class Bench:
    def __init__(self, cfg, out):
        self.scale = cfg["scale"]
        self.threads = cfg["threads"]
        self.cfg = cfg
        self.out = out
        self.api = f"{st.BASE}/api/v1"
        self.db = st.Db()
        self.runner = Runner(os.path.join(out, "runs"), self.threads)
        self.ceiling = st.Ceiling()
        row = self.db.rows("SELECT setting, sourcefile LIKE '%postgresql.auto.conf' FROM pg_settings "
                           "WHERE name = 'openrisk.cache_enabled'")
        if not row:
            st.die("openrisk.cache_enabled is unknown to this server: is the openrisk extension preloaded?")
        self.cache_was, self.cache_from_auto = row[0][0], bool(row[0][1])

    def scaled(self, secs):
        """Seed seconds -> seconds at this scale (at least 2: wrk needs a
        second to warm)."""
        return max(2, int(secs * self.scale + 0.5))

    # --- restoring what we change, whatever happens ------------------------

    def set_cache(self, mode):
        self.db.value(f"ALTER SYSTEM SET openrisk.cache_enabled = {'on' if mode == 'on' else 'off'}")
        self.db.value("SELECT pg_reload_conf()")
        # backends re-read the file before their next command; give the
        # postmaster time to pass the signal on
        time.sleep(0.5)

    def cache_mode(self, mode):
        """Switch, and start every run from an empty cache."""
        self.set_cache(mode)
        self.db.value("SELECT openrisk.cache_reset()")

    def restore_cache(self):
        # a fresh connection: an interrupt may have left the other mid-query
        db = st.Db()
        try:
            if self.cache_from_auto:
                db.value(sql.SQL("ALTER SYSTEM SET openrisk.cache_enabled = {}").format(
                    sql.Literal(self.cache_was)))
            else:
                db.value("ALTER SYSTEM RESET openrisk.cache_enabled")
            db.value("SELECT pg_reload_conf()")
        finally:
            db.close()

    def cleanup(self, ok):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        self.runner.stop()
        self.ceiling.stop()
        try:
            self.restore_cache()
            st.say(f"openrisk.cache_enabled restored to {self.cache_was}")
        except psycopg.Error:
            st.say("warning: could not restore openrisk.cache_enabled; run: psql -c \"ALTER SYSTEM RESET "
                   "openrisk.cache_enabled\" -c \"SELECT pg_reload_conf()\"")
        # risks the peak mix created and did not delete again
        try:
            db = st.Db()
            db.value("DELETE FROM openrisk.risks WHERE tenant_id = %s AND 'wrk-bench' = ANY (tags)", (st.TENANT,))
            db.close()
        except psycopg.Error:
            pass
        if not ok:
            st.say(f"bench stopped; partial results in {self.out}")
        st.exit_on_signals()

    # --- data ----------------------------------------------------------------

    def demo_data_matches(self):
        """Exactly BENCH_RISKS in the hot tenant and BENCH_OTHER_RISKS in the
        last demo tenant, by the generator's deterministic ids (seed 42)?"""
        c = self.cfg
        return self.db.value(
            """SELECT bool_and(have) FROM (VALUES
                 (1, %(r)s, true), (1, %(r)s + 1, false), (%(t)s, %(o)s, true), (%(t)s, %(o)s + 1, false)) v(t, n, want),
               LATERAL (SELECT (n = 0 OR EXISTS (SELECT 1 FROM openrisk.risks
                            WHERE id = md5(format('risk:42:%%s:%%s', t, n))::uuid)) = want AS have) x""",
            {"r": int(c["risks"]), "t": int(c["tenants"]), "o": int(c["other_risks"])})

    def ensure_demo_data(self):
        c = self.cfg
        if c["risks"] == "existing":
            st.say("using the data as it is (BENCH_RISKS=existing)")
        elif self.demo_data_matches():
            st.say(f"demo data present: {c['risks']} risks in the hot tenant, {c['other_risks']} in each of "
                   f"{int(c['tenants']) - 1} others")
        else:
            st.say(f"generating demo data: {c['tenants']} tenants, {c['risks']} risks in the hot one, "
                   f"{c['other_risks']} in the others (once; about 20 s per 100k)")
            self.db.value("SELECT count(*) FROM openrisk.generate_demo_data(%s, %s, 42)",
                          (int(c["tenants"]), int(c["other_risks"])))
            self.db.value("SELECT count(*) FROM openrisk.generate_demo_data(1, %s, 42)", (int(c["risks"]),))
        data = self.db.value("SELECT json_object_agg(tenant_id, n) FROM (SELECT tenant_id, count(*) n "
                             "FROM openrisk.risks WHERE deleted_at IS NULL GROUP BY 1 ORDER BY 1) x")
        with open(os.path.join(self.out, "data.json"), "w") as f:
            f.write(json.dumps(data) + "\n")

    def write_ids(self):
        """The ids the scenarios read by, like k6's discoverIds(): the hot
        tenant's first 100 risks by score, the connector catalogue, the
        tenant's apps."""
        rows = self.db.rows(
            """(SELECT 'risk ' || id FROM openrisk.risks WHERE tenant_id = %(t)s AND deleted_at IS NULL
                ORDER BY score DESC, id LIMIT 100)
               UNION ALL (SELECT 'connector ' || id FROM openrisk.connectors ORDER BY name, version LIMIT 100)
               UNION ALL (SELECT 'app ' || id FROM openrisk.marketplace_apps WHERE tenant_id = %(t)s)""",
            {"t": st.TENANT})
        self.ids_file = os.path.join(self.out, "ids.txt")
        with open(self.ids_file, "w") as f:
            f.writelines(r[0] + "\n" for r in rows)

    def tokens(self):
        self.viewer = st.token("viewer")
        self.admin = st.token("admin")

    # --- the scenarios -----------------------------------------------------------

    def scenario_baseline(self):
        secs = self.scaled(120)
        st.say(f"baseline: GET /risks, 5 connections, {secs} s, cache off then on (from empty)")
        for mode in ("off", "on"):
            self.cache_mode(mode)
            self.runner.run(f"baseline-cache-{mode}", {"scenario": "baseline", "cache": mode, "write_share": 0},
                            5, secs, "baseline", self.api, {"BENCH_TOKEN": self.viewer})

    def scenario_warm(self):
        secs = self.scaled(120)
        st.say(f"warm: /risks, /stats, /marketplace/connectors, 10 connections, {secs} s, cache off then on (warmed)")
        for mode in ("off", "on"):
            self.cache_mode(mode)
            if mode == "on":
                for p in ("/risks", "/stats", "/marketplace/connectors"):
                    st.warm_up(self.api + p, self.viewer)
            self.runner.run(f"warm-cache-{mode}", {"scenario": "warm", "cache": mode, "write_share": 0},
                            10, secs, "warm", self.api, {"BENCH_TOKEN": self.viewer})

    def peak_run(self, mode, share):
        tag = f"peak-cache-{mode}-{share_tag(share)}"
        self.cache_mode(mode)
        for i, (conns, secs) in enumerate(PEAK_STEPS, 1):
            self.runner.run(f"{tag}-step{i}", {"scenario": "peak", "cache": mode, "write_share": float(share),
                                               "step": i, "group": tag},
                            conns, self.scaled(secs), "peak", self.api,
                            {"WRITE_SHARE": share, "BENCH_TOKEN": self.admin, "BENCH_IDS_FILE": self.ids_file})

    def scenario_peak(self):
        """Every write share with the cache off, then on, back to back: the
        on/off ratio and the ratios between shares are of neighbouring runs,
        under the same background load on a shared machine."""
        st.say("peak: every cached read + writes, steps of 10/25/50/25 connections "
               f"({'/'.join(str(self.scaled(s)) for _, s in PEAK_STEPS)} s)")
        st.say(f"      at {' '.join(self.cfg['shares'])} writes, each with the cache off then on (from an empty cache); "
               f"load average {st.loadavg()}")
        for share in self.cfg["shares"]:
            self.peak_run("off", share)
            self.peak_run("on", share)

    def scenario_ceiling(self):
        """Cached GET /stats vs the ceiling (same statement, same pool size),
        like `make bench-http`, alternating; the ceiling's own CPU is sampled
        as the "front" process of its runs."""
        secs = min(10, max(3, int(100 * self.scale + 0.5)))
        runs = 3 if self.scale >= 0.25 else 1
        pool = st.gateway_pool_size()
        self.cache_mode("on")
        self.ceiling.start(st.stats_sql(st.TENANT, "month"), pool)
        st.say(f"ceiling: cached GET /stats vs ceiling-gateway (pool {pool}), -c50, {secs} s x {runs} alternating")
        stats = f"{self.api}/stats"
        st.warm_up(self.ceiling.url, times=20)
        st.warm_up(stats, self.viewer, times=20)
        if not st.is_cache_hit(stats, self.viewer):
            st.say("warning: the gateway's /stats is not a cache hit after warming")
        for i in range(1, runs + 1):
            meta = {"scenario": "ceiling", "cache": "on", "write_share": 0}
            self.runner.run(f"ceiling-ceiling-r{i}", {**meta, "front": "ceiling"}, 50, secs, "get",
                            self.ceiling.url, {"BENCH_TOKEN": ""}, front_pid=self.ceiling.pid)
            self.runner.run(f"ceiling-gateway-r{i}", {**meta, "front": "gateway"}, 50, secs, "get",
                            stats, {"BENCH_TOKEN": self.viewer})
        self.ceiling.stop()
