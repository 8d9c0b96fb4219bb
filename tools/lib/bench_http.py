#!/usr/bin/python3
"""tools/lib/bench_http.py -- `make bench-http`: the gateway against the
ceiling (tools/bench-http.sh is the entry point: it starts the stack and
execs this).

The ceiling (shared/ref/ceiling-gateway.c, beside the clone; never copied
into the repo) is the least any civetweb + libpq gateway can do: one pooled
prepared statement, one write.  It is built into the run folder and run with
the gateway's pool size and the very statement the gateway prepares for
GET /api/v1/stats (printed by `openrisk-gateway sql`), its parameters
inlined as literals for the demo tenant (building and running it is shared
with `make bench`: tools/lib/bench_stack.py).  Both are warmed, then wrk
-t2 -c50 -d10s (keep-alive) alternates between them RUNS times; medians of
requests/s and p99, their ratios, and the non-2xx count are printed.
Targets: >= 0.85 x the ceiling's requests/s, p99 <= 1.5 x its p99, 0
non-2xx.  A benchmark, not a test: only non-2xx responses make it fail.
"""
import os
import re
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_stack as st  # noqa: E402

UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def parse_wrk(text):
    """wrk --latency output -> (req/s, p99 ms, non-2xx + socket errors)."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
    p99 = float(m.group(1)) * UNIT_MS[m.group(2)]
    bad = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", text))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if sock:
        bad += sum(int(n) for n in sock.groups())
    return rps, p99, bad


def measure(duration, url, token=None):
    """One wrk run, bounded by -d and by a timeout 30 s past it."""
    secs = int(duration.rstrip("s"))
    args = ["wrk", "-t2", "-c50", f"-d{duration}", "--latency"]
    if token:
        args += ["-H", f"Authorization: Bearer {token}"]
    r = subprocess.run(args + [url], capture_output=True, text=True, timeout=secs + 30)
    if r.returncode:
        st.die(f"wrk failed against {url}: {r.stderr.strip()}")
    return parse_wrk(r.stdout)


def main():
    runs = int(os.environ.get("RUNS") or 3)
    duration = os.environ.get("DURATION") or "10s"
    if not re.fullmatch(r"[1-9][0-9]*s", duration):
        st.die(f"DURATION must be whole seconds like 10s, got '{duration}'")
    st.require_wrk()
    ceiling = st.Ceiling()
    try:
        sql = st.stats_sql(st.TENANT, "month")
        pool = st.gateway_pool_size()
        ceiling.start(sql, pool)
        token = st.token("viewer")
        gateway_url = f"{st.BASE}/api/v1/stats"
        # warm: fill the cache entry and every pooled connection's plan
        st.warm_up(ceiling.url, times=20)
        st.warm_up(gateway_url, token, times=20)
        if not st.is_cache_hit(gateway_url, token):
            st.say("warning: the gateway's /stats is not a cache hit after warming")
        st.say(f"ceiling: {sql} (pool {pool})")
        c_rps, c_p99, g_rps, g_p99, non2xx = [], [], [], [], 0
        for i in range(1, runs + 1):
            r, p, _ = measure(duration, ceiling.url)
            c_rps.append(r)
            c_p99.append(p)
            print("run %d  ceiling  %10.0f req/s  p99 %8.2f ms" % (i, r, p), flush=True)
            r, p, b = measure(duration, gateway_url, token)
            g_rps.append(r)
            g_p99.append(p)
            non2xx += b
            print("run %d  gateway  %10.0f req/s  p99 %8.2f ms  non-2xx/errors %d" % (i, r, p, b), flush=True)
    finally:
        ceiling.stop()
    # each run's gateway/ceiling ratio too: on a shared machine the load
    # drifts between runs, and a ratio of neighbours is steadier than a
    # ratio of medians
    pairs = [g / c for g, c in zip(g_rps, c_rps)]
    cr, cp = statistics.median(c_rps), statistics.median(c_p99)
    gr, gp = statistics.median(g_rps), statistics.median(g_p99)
    met = "MET" if gr / cr >= 0.85 and gp / cp <= 1.5 else "NOT MET"
    print(f"\nmedian of {runs} runs, wrk -t2 -c50 keep-alive, cached GET /api/v1/stats")
    print("  ceiling  %10.0f req/s   p99 %8.2f ms" % (cr, cp))
    print("  gateway  %10.0f req/s   p99 %8.2f ms" % (gr, gp))
    print("  ratio    %10.3f x       p99 %8.3f x   (targets: >= 0.85, <= 1.5)  %s" % (gr / cr, gp / cp, met))
    print("  per-run req/s ratios: %s (median %.3f)" % (" ".join(f"{p:.3f}" for p in pairs), statistics.median(pairs)))
    print(f"  non-2xx or socket errors on the gateway: {non2xx}")
    print(f"  load average {st.loadavg()}")
    return 1 if non2xx else 0


if __name__ == "__main__":
    st.run_main(main)
