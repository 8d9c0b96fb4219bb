#!/usr/bin/python3
"""tools/lib/bench_run.py -- `make bench` / `make load [SCENARIO=...]`:
the three k6 load scenarios (k6/), run with wrk against the local stack
(tools/bench.sh is the entry point: it sources tools/common.sh and execs
this).

k6 is not packaged for Debian; wrk is.  bench/wrk/*.lua are the twins of
k6/*.js (same endpoints, same mix, same write share), and this runner
supplies what wrk lacks and what the load-test table (docs/LOAD_TESTING.md) needs:
  * the cache switched off and on around each scenario (ALTER SYSTEM +
    reload), always switched back to what it was -- on any exit, Ctrl-C and
    SIGTERM included -- by CacheSwitch.restore() in main()'s `finally`;
  * ramping (which wrk cannot do) emulated by steps of constant
    connections, one wrk run each, merged by the summary;
  * the server side, sampled by tools/lib/bench-sampler.py during every
    wrk run (tools/lib/bench_wrk.py);
  * the comparisons in the same run: cache on vs off for every scenario --
    for peak at every write share, so on/off and "req/s at X % writes / at
    0 %" are ratios of neighbouring runs --, cached GET /stats vs the shared
    ceiling gateway;
  * demo data of a stated size, generated once and reused;
  * k6/results/<timestamp>/summary.json, summary.md and PNG plots
    (tools/lib/bench-summarize.py, bench/plot/*.gp).
Everything targets 127.0.0.1 and every wrk run is bounded by -d and by
timeout(1).  Usage: tools/bench.sh --help.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_stack as st  # noqa: E402
from bench_scenarios import SCENARIOS, Bench  # noqa: E402

USAGE = """\
usage: tools/bench.sh [SCENARIO...]      (make bench SCENARIO=...)

scenarios (default: all, in this order):
  baseline   GET /risks, pages and sorts at random, 5 connections, 120 s
  warm       /risks, /stats, /marketplace/connectors, 10 connections, 120 s
  peak       every cached read + WRITE_SHARE writes, steps of 10/25/50/25
             connections for 60/60/120/60 s (wrk cannot ramp)
  ceiling    cached GET /stats vs ../shared/ref/ceiling-gateway.c, -c50,
             3 x 10 s alternating (skipped under "all" when it is absent)
Each of baseline, warm and peak runs with the cache off and on; peak runs
at 0, 5 and 20 % writes, each with the cache off and on.

environment:
  BENCH_SCALE        full (1, the scenarios' own durations, ~40 min) | quick (0.02,
                     about 2 minutes) | a factor in (0, 10]; default full
  BENCH_RISKS        risks of the hot demo tenant (default 100000), or
                     'existing' to use the data as it is
  BENCH_TENANTS      demo tenants (default 4); BENCH_OTHER_RISKS risks in
                     each of the others (default 2000)
  BENCH_WRITE_SHARES peak write shares, each with the cache off and on
                     (default 0 0.05 0.2)
  BENCH_OUT          results folder (default k6/results)
  BENCH_THREADS      wrk threads (default 2)
The stack must be running (make run) with the same OPENRISK_* settings.
"""


def select_scenarios(args):
    """The scenarios asked for, in the canonical order, each once; the
    ceiling (beside the clone, ../shared) must exist when asked for and is
    skipped with a warning under "all" on a bare clone."""
    explicit = []
    for arg in args:
        for name in arg.replace(",", " ").split():
            if name in ("-h", "--help"):
                print(USAGE, end="")
                sys.exit(0)
            if name == "all":
                continue
            if name not in SCENARIOS:
                st.die(f"unknown scenario '{name}': choose from {' '.join(SCENARIOS)} or all (tools/bench.sh --help)")
            explicit.append(name)
    selected = [n for n in SCENARIOS if not explicit or n in explicit]
    if "ceiling" in selected and not os.path.isfile(st.CEILING_SRC):
        if "ceiling" in explicit:
            st.die(f"the ceiling scenario needs {st.CEILING_SRC} (the shared reference beside the clone)")
        st.say(f"warning: {st.CEILING_SRC} not found: skipping the ceiling comparison")
        selected.remove("ceiling")
    return selected


def parse_scale(value):
    if value == "full":
        return 1.0
    if value == "quick":
        return 0.02
    if re.fullmatch(r"[0-9]*\.?[0-9]+", value) and 0 < float(value) <= 10:
        return float(value)
    st.die(f"BENCH_SCALE must be full, quick or a number in (0, 10], got '{value}'")


def settings():
    """BENCH_* from the environment, checked; a dict for Bench."""
    env = os.environ
    cfg = {"scale": parse_scale(env.get("BENCH_SCALE") or "full"),
           "risks": env.get("BENCH_RISKS") or "100000", "tenants": env.get("BENCH_TENANTS") or "4",
           "other_risks": env.get("BENCH_OTHER_RISKS") or "2000", "threads": env.get("BENCH_THREADS") or "2"}
    shares = (env.get("BENCH_WRITE_SHARES") or "0 0.05 0.2").split()
    if not re.fullmatch(r"[1-9][0-9]?", cfg["threads"]):
        st.die(f"BENCH_THREADS must be a small positive integer, got '{cfg['threads']}'")
    if cfg["risks"] != "existing" and not re.fullmatch(r"[1-9][0-9]{0,6}", cfg["risks"]):
        st.die(f"BENCH_RISKS must be a number from 1 to 9999999 or 'existing', got '{cfg['risks']}'")
    if not re.fullmatch(r"[1-9][0-9]{0,2}", cfg["tenants"]):
        st.die(f"BENCH_TENANTS must be a number from 1 to 999, got '{cfg['tenants']}'")
    if not re.fullmatch(r"[0-9]{1,7}", cfg["other_risks"]):
        st.die(f"BENCH_OTHER_RISKS must be a number from 0 to 9999999, got '{cfg['other_risks']}'")
    for w in shares:
        if not re.fullmatch(r"[0-9.]+", w) or w.count(".") > 1 or w == "." or not 0 <= float(w) <= 1:
            st.die(f"BENCH_WRITE_SHARES must be numbers between 0 and 1, got '{w}'")
    if not shares:
        st.die("BENCH_WRITE_SHARES must be numbers between 0 and 1, got ''")
    cfg["shares"] = shares
    cfg["threads"] = int(cfg["threads"])
    return cfg


def run_info(bench, stamp, selected, load_before, t0):
    """run.json: the machine, the load around the run, the versions."""
    cpu_model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip().replace('"', "")
                break
    with open("/proc/meminfo") as f:
        mem = next(int(l.split()[1]) for l in f if l.startswith("MemTotal"))
    wrk_v = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    return {"started": stamp, "scale": bench.scale, "scenarios": " ".join(selected), "wrk_threads": bench.threads,
            "hot_tenant": st.TENANT, "gateway_pool": st.gateway_pool_size(), "cpus": os.cpu_count(),
            "cpu_model": cpu_model, "mem_total_kb": mem, "load_before": load_before, "load_after": st.loadavg(),
            "wall_seconds": int(time.time() - t0),
            "wrk": " ".join((wrk_v.stdout + wrk_v.stderr).splitlines()[0].split()[:2]),
            "postgres": bench.db.value("SHOW server_version")}


def report(out):
    """summary.json / summary.md, the plots, and the tables printed."""
    subprocess.run(["/usr/bin/python3", os.path.join(st.ROOT, "tools", "lib", "bench-summarize.py"), out], check=True)
    pngs = False
    if shutil.which("gnuplot"):
        plot_dir = os.path.join(st.ROOT, "bench", "plot")
        with open(os.path.join(out, "gnuplot.log"), "a") as log:
            for gp in sorted(os.listdir(plot_dir)):
                if gp.endswith(".gp") and subprocess.run(["gnuplot", "-e", f"dir='{out}'", os.path.join(plot_dir, gp)],
                                                         stderr=log).returncode:
                    st.say(f"warning: {gp} failed (see {out}/gnuplot.log)")
        pngs = any(f.endswith(".png") for f in os.listdir(out))
    with open(os.path.join(out, "summary.md")) as f:
        sys.stdout.write(f.read())
    sys.stdout.flush()
    st.say(f"results: {out}/summary.json, summary.md{', *.png' if pngs else ''}")


def main():
    selected = select_scenarios(sys.argv[1:])
    cfg = settings()
    st.require_wrk()
    if not shutil.which("gnuplot"):
        st.say("warning: gnuplot is not installed (apt-get install gnuplot-nox): no plots this time")
    st.require_stack()

    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out = os.path.join(os.environ.get("BENCH_OUT") or os.path.join(st.ROOT, "k6", "results"), stamp)
    os.makedirs(os.path.join(out, "runs"), exist_ok=True)
    bench = Bench(cfg, out)
    ok = False
    try:
        t0 = time.time()
        load_before = st.loadavg()
        st.say(f"results: {out} (scale {bench.scale:g}); load average {load_before}")
        bench.ensure_demo_data()
        bench.write_ids()
        bench.tokens()
        for name in selected:
            getattr(bench, f"scenario_{name}")()
        info = run_info(bench, stamp, selected, load_before, t0)
        with open(os.path.join(out, "run.json"), "w") as f:
            json.dump(info, f)
            f.write("\n")
        ok = True
    finally:
        bench.cleanup(ok)
    report(out)
    st.say(f"load average at start {info['load_before']}, at end {info['load_after']}")


if __name__ == "__main__":
    st.run_main(main)
