"""tools/lib/bench_wrk.py -- one measured wrk run of `make bench`.

A run is: start tools/lib/bench-sampler.py (connections in use, cache_stats,
CPU and memory of the gateway and PostgreSQL, every 0.5 s), wait for its
first sample (a busy machine can take seconds to start Python, and every run
must have samples), run wrk bounded twice -- by -d and by timeout(1) at -d +
30 s -- stop the sampler, and leave in RUNS/ what tools/lib/bench-summarize.py
reads:

  NAME.meta.json      scenario, cache, write share, step, connections
  NAME.wrk.out        wrk's output; NAME.wrk.json its BENCH_JSON line
                      (bench/wrk/common.lua's done())
  NAME.samples.jsonl  the sampler's samples
  NAME.wrk.cpu        wrk's user+system CPU seconds (getrusage of the
                      reaped children around the run)

A stop in the middle (Ctrl-C, SIGTERM, an error) kills wrk and the sampler
in Runner.stop(), which the caller's `finally` calls.
"""
import json
import os
import resource
import subprocess
import sys
import time

import bench_stack as st


class Runner:
    def __init__(self, runs_dir, threads):
        self.runs_dir = runs_dir
        self.threads = threads
        self.wrk = None
        self.sampler = None

    def path(self, name, suffix):
        return os.path.join(self.runs_dir, f"{name}.{suffix}")

    def start_sampler(self, name, front_pid, secs):
        out = self.path(name, "samples.jsonl")
        self.sampler = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(st.ROOT, "tools", "lib", "bench-sampler.py"), "--dsn", st.DSN,
             "--gateway-pid", str(front_pid), "--postmaster-pid", str(st.postmaster_pid()),
             "--out", out, "--max-seconds", str(secs + 60)],
            # its own session: a Ctrl-C at the terminal reaches this runner
            # only, which stops the sampler itself after a last sample
            start_new_session=True)
        for _ in range(100):
            if os.path.exists(out) and os.path.getsize(out) > 0:
                return
            if self.sampler.poll() is not None:
                st.die(f"the sampler of {name} exited before its first sample")
            time.sleep(0.1)

    def run(self, name, meta, conns, secs, script, url, env, front_pid=None):
        """One wrk run of SCRIPT (bench/wrk/SCRIPT.lua) against URL with the
        extra environment ENV (token, ids, write share); prints its line."""
        threads = min(conns, self.threads)
        self.start_sampler(name, front_pid or st.gateway_pid(), secs)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        with open(self.path(name, "wrk.out"), "w") as out:
            self.wrk = subprocess.Popen(
                ["timeout", str(secs + 30), "wrk", f"-t{threads}", f"-c{conns}", f"-d{secs}s", "--timeout", "10s",
                 "--latency", "-s", os.path.join(st.ROOT, "bench", "wrk", f"{script}.lua"), url],
                stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ, **env))
            rc = self.wrk.wait()
        self.wrk = None
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        with open(self.path(name, "wrk.cpu"), "w") as f:
            f.write(f"{after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime:.2f}\n")
        if rc:
            st.say(f"warning: wrk exited with status {rc} in {name} (see {self.path(name, 'wrk.out')})")
        st.stop_process(self.sampler)
        self.sampler = None
        with open(self.path(name, "meta.json"), "w") as f:
            json.dump({"name": name, "connections": conns, "threads": threads, "seconds": secs, **meta}, f)
            f.write("\n")
        self.record(name)

    def record(self, name):
        """NAME.wrk.json from wrk's BENCH_JSON line, and the run's one line."""
        with open(self.path(name, "wrk.out"), errors="replace") as f:
            lines = f.read().splitlines()
        found = [l[len("BENCH_JSON "):] for l in lines if l.startswith("BENCH_JSON ")]
        if not found:
            sys.stderr.write("\n".join(lines[-5:]) + "\n")
            st.die(f"wrk produced no result in {name}")
        with open(self.path(name, "wrk.json"), "w") as f:
            f.write(found[0] + "\n")
        r = json.loads(found[0])
        print("    %-26s %8.1f req/s  avg %7.1f ms  p99 %8.1f ms  non-2xx %d" % (
            name, r["requests"] / (r["duration_us"] / 1e6), r["latency_us"]["mean"] / 1000,
            dict(r["percentiles_us"])["99"] / 1000, max(r["non2xx"], r["errors"]["status"])),
            file=sys.stderr, flush=True)

    def stop(self):
        """Kill what is still running (timeout(1) passes SIGTERM on to wrk)."""
        for proc in (self.wrk, self.sampler):
            if proc is not None:
                st.stop_process(proc)
        self.wrk = self.sampler = None
