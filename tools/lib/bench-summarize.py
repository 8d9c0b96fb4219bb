#!/usr/bin/python3
"""tools/lib/bench-summarize.py RESULTS_DIR -- turn one `make bench` run into
summary.json, summary.md and the data files bench/plot/*.gp draw.

tools/lib/bench_run.py (through tools/lib/bench_wrk.py) leaves, per wrk
run, in RESULTS_DIR/runs/:
  NAME.meta.json      scenario, cache on/off, write share, step, connections
  NAME.wrk.json       bench/wrk/common.lua's done(): requests, errors,
                      non-2xx, X-Cache counts, latency percentile table
  NAME.samples.jsonl  tools/lib/bench-sampler.py's 0.5 s samples
  NAME.wrk.cpu        wrk's user+system CPU seconds
and run.json / data.json for the machine and the data.

Why a separate step: the peak scenario is several wrk runs (wrk cannot
ramp) that must be reported as one, and its percentiles cannot be averaged.
They are merged by mixing the steps' latency distributions: each step's
percentile table is a piecewise-linear CDF, the merged CDF is their mix
weighted by request counts, and the merged percentiles are read off it by
bisection (exact to the tables' 1-percentile resolution).  Ratios, not
absolute numbers, are what the report quotes: the machine is shared.
"""
import glob
import json
import os
import statistics
import sys

HZ = os.sysconf("SC_CLK_TCK")


def load_json(path):
    with open(path) as f:
        return json.load(f)


def wrk_cpu(path):
    """wrk's user+system CPU seconds (one number), None when not measured."""
    try:
        with open(path) as f:
            return round(float(f.read().strip()), 2)
    except (OSError, ValueError):
        return None


def cdf_points(w):
    """[(latency_us, fraction)] from min through the percentile table to max."""
    pts = [(w["latency_us"]["min"], 0.0)]
    for p, v in w["percentiles_us"]:
        pts.append((v, float(p) / 100))
    pts.append((w["latency_us"]["max"], 1.0))
    return pts


def cdf_at(pts, x):
    if x < pts[0][0]:
        return 0.0
    for (x0, f0), (x1, f1) in zip(pts, pts[1:]):
        if x < x1:
            return f0 if x1 == x0 else f0 + (f1 - f0) * (x - x0) / (x1 - x0)
    return 1.0


def merged_percentile(parts, q):
    """parts: [(requests, cdf points)]; q in (0, 1) -> latency in us."""
    total = sum(n for n, _ in parts)
    lo = min(p[0][0] for _, p in parts)
    hi = max(p[-1][0] for _, p in parts)
    for _ in range(60):
        mid = (lo + hi) / 2
        if sum(n * cdf_at(p, mid) for n, p in parts) / total < q:
            lo = mid
        else:
            hi = mid
    return min(hi, max(p[-1][0] for _, p in parts))


def delta(samples, key):
    vals = [s[key] for s in samples if s.get(key) is not None]
    return vals[-1] - vals[0] if len(vals) >= 2 else 0


def run_record(runs_dir, name):
    meta = load_json(f"{runs_dir}/{name}.meta.json")
    w = load_json(f"{runs_dir}/{name}.wrk.json")
    samples = [json.loads(l) for l in open(f"{runs_dir}/{name}.samples.jsonl") if l.strip()]
    return {"meta": meta, "wrk": w, "samples": samples, "wrk_cpu": wrk_cpu(f"{runs_dir}/{name}.wrk.cpu")}


def summarize(runs):
    """One row from one or more wrk runs of the same configuration."""
    parts = [(r["wrk"]["requests"], cdf_points(r["wrk"])) for r in runs if r["wrk"]["requests"]]
    req = sum(r["wrk"]["requests"] for r in runs)
    secs = sum(r["wrk"]["duration_us"] for r in runs) / 1e6
    pct = {}
    for q in (50, 95, 99):
        pct[f"p{q}_ms"] = round(merged_percentile(parts, q / 100) / 1000, 2) if parts else None
    mean = sum(r["wrk"]["latency_us"]["mean"] * r["wrk"]["requests"] for r in runs) / req if req else None
    hits = sum(delta(r["samples"], "hits") for r in runs)
    misses = sum(delta(r["samples"], "misses") for r in runs)
    xh = sum(r["wrk"]["xcache_hits"] for r in runs)
    xm = sum(r["wrk"]["xcache_misses"] for r in runs)
    gw_cpu = sum(delta(r["samples"], "gw_cpu") for r in runs)
    pg_cpu = sum(delta(r["samples"], "pg_cpu") for r in runs)
    host_busy = sum(delta(r["samples"], "host_busy") for r in runs) / HZ
    host_total = sum(delta(r["samples"], "host_total") for r in runs) / HZ
    wrk = [r["wrk_cpu"] for r in runs if r["wrk_cpu"] is not None]
    wrk_cpu = round(sum(wrk), 2) if len(wrk) == len(runs) else None
    ours = gw_cpu + pg_cpu + (wrk_cpu or 0)
    every = [s for r in runs for s in r["samples"]]
    return {
        "requests": req, "seconds": round(secs, 1), "rps": round(req / secs, 1) if secs else 0,
        "avg_ms": round(mean / 1000, 2) if mean is not None else None, **pct,
        "max_ms": round(max(r["wrk"]["latency_us"]["max"] for r in runs) / 1000, 2),
        "non2xx": sum(max(r["wrk"]["non2xx"], r["wrk"]["errors"]["status"]) for r in runs),
        "non2xx_by_status": merge_counts(r["wrk"].get("non2xx_by_status", {}) for r in runs),
        "socket_errors": sum(sum(v for k, v in r["wrk"]["errors"].items() if k != "status") for r in runs),
        "writes": sum(r["wrk"]["writes"] for r in runs),
        "cache_hits": hits, "cache_misses": misses,
        "hit_rate": round(hits / (hits + misses), 4) if hits + misses else None,
        "xcache_hit_rate": round(xh / (xh + xm), 4) if xh + xm else None,
        "cache_bypasses": sum(delta(r["samples"], "bypasses") for r in runs),
        "cache_stores": sum(delta(r["samples"], "stores") for r in runs),
        "cache_fills_rejected": sum(delta(r["samples"], "fills_rejected") for r in runs),
        "cache_stampede_waits": sum(delta(r["samples"], "stampede_waits") for r in runs),
        "cache_invalidations": sum(delta(r["samples"], "invalidations") for r in runs),
        "db_active_peak": max((s["active"] for s in every), default=None),
        "db_open_peak": max((s["open"] for s in every), default=None),
        "db_active_median": statistics.median(s["active"] for s in every) if every else None,
        "gateway_cpu_s": round(gw_cpu, 2), "postgres_cpu_s": round(pg_cpu, 2), "wrk_cpu_s": wrk_cpu,
        "cpu_ms_per_request": {"gateway": round(1000 * gw_cpu / req, 3) if req else None,
                               "postgres": round(1000 * pg_cpu / req, 3) if req else None},
        "gateway_rss_peak_mb": round(max((s["gw_rss_kb"] for s in every), default=0) / 1024, 1),
        "postgres_pss_peak_mb": round(max((s["pg_pss_kb"] for s in every), default=0) / 1024, 1),
        "host_cpu_busy": round(host_busy / host_total, 3) if host_total else None,
        "other_cpu_s": round(host_busy - ours, 1) if wrk_cpu is not None else None,
        "load1_max": max((s["load1"] for s in every), default=None),
    }


def merge_counts(dicts):
    out = {}
    for d in dicts:
        for k, v in d.items():
            out[k] = out.get(k, 0) + v
    return out


def hit_rate_series(runs):
    """(t seconds from the start of the first step, hit rate) per second,
    steps laid end to end; plus the step boundaries."""
    series, bounds, offset = [], [], 0.0
    for r in runs:
        s = r["samples"]
        for a, b in zip(s, s[2::2]):
            h, m = b["hits"] - a["hits"], b["misses"] - a["misses"]
            if h + m:
                series.append((round(offset + b["t"], 2), round(h / (h + m), 4)))
        offset += s[-1]["t"] if s else 0
        bounds.append(round(offset, 2))
    return series, bounds[:-1]


def paired_scenarios(rows):
    """(scenario, write share) of every cache-off row: each has a cache-on twin."""
    return [(r["scenario"], r["write_share"]) for r in rows if r["cache"] == "off"]


def plot_label(scenario, share):
    return f"{scenario}-{round(share * 100)}%" if scenario == "peak" else scenario


def ratio(a, b, digits=2):
    return round(a / b, digits) if a is not None and b else None


# The peak mix's targets at each write share: req/s (cache on) at X % writes
# over req/s at 0 %, p99 at 5 % over p99 at 0 %, and cache on over off.
RPS_VS_ZERO_TARGETS = {0.05: 0.25, 0.2: 0.10}
P99_VS_ZERO_TARGETS = {0.05: 10.0}
ON_OVER_OFF_TARGET = 1.0


def peak_by_share(rows, find):
    """Per write share of the peak mix: req/s and p99 with the cache on and
    off, their ratio, and the ratios to the 0 % run (cache on); each target
    that applies is checked ("met" lists the failures as text)."""
    zero = find("peak", "on", 0.0)
    out = []
    for share in sorted({r["write_share"] for r in rows if r["scenario"] == "peak"}):
        on, off = find("peak", "on", share), find("peak", "off", share)
        if not on:
            continue
        x = {"write_share": share, "rps_on": on["rps"], "rps_off": off["rps"] if off else None,
             "rps_on_over_off": ratio(on["rps"], off["rps"] if off else None, 3),
             "p99_on_ms": on["p99_ms"], "p99_off_ms": off["p99_ms"] if off else None,
             "rps_over_zero": ratio(on["rps"], zero["rps"], 3) if zero else None,
             "p99_over_zero": ratio(on["p99_ms"], zero["p99_ms"], 3) if zero else None, "missed": []}
        if x["rps_on_over_off"] is not None and x["rps_on_over_off"] < ON_OVER_OFF_TARGET:
            x["missed"].append(f"on/off < {ON_OVER_OFF_TARGET}")
        for targets, key, below in ((RPS_VS_ZERO_TARGETS, "rps_over_zero", True),
                                    (P99_VS_ZERO_TARGETS, "p99_over_zero", False)):
            t = next((v for k, v in targets.items() if abs(k - share) < 1e-9), None)
            if t is not None and x[key] is not None and (x[key] < t if below else x[key] > t):
                x["missed"].append(f"{key} {'<' if below else '>'} {t}")
        out.append(x)
    return out


def main(out):
    runs_dir = f"{out}/runs"
    names = sorted(os.path.basename(p)[:-len(".meta.json")] for p in glob.glob(f"{runs_dir}/*.meta.json"))
    records = [run_record(runs_dir, n) for n in names]
    run = load_json(f"{out}/run.json") if os.path.exists(f"{out}/run.json") else {}
    data = load_json(f"{out}/data.json") if os.path.exists(f"{out}/data.json") else {}

    groups = {}
    for r in records:
        m = r["meta"]
        key = m.get("group") or (m["name"] if m["scenario"] != "ceiling" else f"ceiling-{m['front']}")
        groups.setdefault(key, []).append(r)

    rows, steps, series = [], [], {}
    for key, rs in groups.items():
        m = rs[0]["meta"]
        rs.sort(key=lambda r: (r["meta"].get("step", 0), r["meta"]["name"]))
        row = {"name": key, "scenario": m["scenario"], "cache": m["cache"],
               "write_share": m["write_share"], "front": m.get("front", "gateway"),
               "connections": "/".join(str(r["meta"]["connections"]) for r in rs) if m["scenario"] == "peak"
               else rs[0]["meta"]["connections"], "runs": len(rs)}
        if m["scenario"] == "ceiling":
            # alternating repeats: medians, not a merge
            each = [summarize([r]) for r in rs]
            row.update(summarize(rs))
            row["rps"] = statistics.median(e["rps"] for e in each)
            row["p99_ms"] = statistics.median(e["p99_ms"] for e in each)
            row["repeats"] = [{"rps": e["rps"], "p99_ms": e["p99_ms"]} for e in each]
        else:
            row.update(summarize(rs))
        rows.append(row)
        if m["scenario"] == "peak":
            for r in rs:
                steps.append({"group": key, "write_share": m["write_share"], "cache": m["cache"], "step": r["meta"]["step"],
                              "connections": r["meta"]["connections"], **summarize([r])})
            series[key] = hit_rate_series(rs)

    order = {"baseline": 0, "warm": 1, "peak": 2, "ceiling": 3}
    rows.sort(key=lambda r: (order[r["scenario"]], r["cache"] != "off", r["write_share"], r["front"]))

    def find(scenario, cache, share=None, front=None):
        for r in rows:
            if r["scenario"] == scenario and r["cache"] == cache and \
                    (share is None or abs(r["write_share"] - share) < 1e-9) and (front is None or r["front"] == front):
                return r
        return None

    comparisons = {"cache_on_vs_off": [], "write_share": [], "stats_vs_ceiling": None}
    for scen, share in paired_scenarios(rows):
        off, on = find(scen, "off", share), find(scen, "on", share)
        if off and on:
            comparisons["cache_on_vs_off"].append({
                "scenario": scen, "write_share": share, "rps_on_over_off": ratio(on["rps"], off["rps"]),
                "avg_on_over_off": ratio(on["avg_ms"], off["avg_ms"], 3),
                "p95_on_over_off": ratio(on["p95_ms"], off["p95_ms"], 3),
                "p99_on_over_off": ratio(on["p99_ms"], off["p99_ms"], 3),
                "pg_cpu_per_request_on_over_off": ratio(on["cpu_ms_per_request"]["postgres"],
                                                        off["cpu_ms_per_request"]["postgres"], 3),
                "db_active_peak": [off["db_active_peak"], on["db_active_peak"]],
                "hit_rate_on": on["hit_rate"]})
    for r in sorted((r for r in rows if r["scenario"] == "peak" and r["cache"] == "on"), key=lambda r: r["write_share"]):
        comparisons["write_share"].append({"write_share": r["write_share"], "hit_rate": r["hit_rate"],
                                           "p99_ms": r["p99_ms"], "rps": r["rps"], "non2xx": r["non2xx"],
                                           "writes": r["writes"], "stores": r["cache_stores"],
                                           "fills_rejected": r["cache_fills_rejected"],
                                           "stampede_waits": r["cache_stampede_waits"]})
    comparisons["peak_by_share"] = peak_by_share(rows, find)
    gw, ce = find("ceiling", "on", front="gateway"), find("ceiling", "on", front="ceiling")
    if gw and ce:
        comparisons["stats_vs_ceiling"] = {
            "gateway_rps": gw["rps"], "ceiling_rps": ce["rps"], "rps_ratio": ratio(gw["rps"], ce["rps"], 3),
            "gateway_p99_ms": gw["p99_ms"], "ceiling_p99_ms": ce["p99_ms"],
            "p99_ratio": ratio(gw["p99_ms"], ce["p99_ms"], 3), "gateway_non2xx": gw["non2xx"],
            # each repeat's ratio, gateway run vs the ceiling run just before it
            "rps_ratio_per_repeat": [ratio(g["rps"], c["rps"], 3) for g, c in zip(gw["repeats"], ce["repeats"])],
            "front_cpu_ms_per_request": [gw["cpu_ms_per_request"]["gateway"], ce["cpu_ms_per_request"]["gateway"]],
            "targets": "rps_ratio >= 0.85, p99_ratio <= 1.5"}

    steps.sort(key=lambda x: (x["cache"] != "off", x["write_share"], x["step"]))
    summary = {"run": run, "data": {"live_risks_by_tenant": data}, "rows": rows, "peak_steps": steps,
               "comparisons": comparisons,
               "hit_rate_series": {k: {"points": v[0], "step_bounds": v[1]} for k, v in series.items()}}
    with open(f"{out}/summary.json", "w") as f:
        json.dump(summary, f, indent=1)
    write_plot_data(out, rows, find, series)
    with open(f"{out}/summary.md", "w") as f:
        f.write(markdown(summary))


def write_plot_data(out, rows, find, series):
    with open(f"{out}/latency.dat", "w") as f:
        f.write("# scenario off_p50 off_p95 off_p99 on_p50 on_p95 on_p99 (ms)\n")
        for scen, share in paired_scenarios(rows):
            off, on, label = find(scen, "off", share), find(scen, "on", share), plot_label(scen, share)
            if off and on:
                f.write(f'"{label}" {off["p50_ms"]} {off["p95_ms"]} {off["p99_ms"]} '
                        f'{on["p50_ms"]} {on["p95_ms"]} {on["p99_ms"]}\n')
    with open(f"{out}/throughput.dat", "w") as f:
        f.write("# scenario off_rps on_rps\n")
        for scen, share in paired_scenarios(rows):
            off, on, label = find(scen, "off", share), find(scen, "on", share), plot_label(scen, share)
            if off and on:
                f.write(f'"{label}" {off["rps"]} {on["rps"]}\n')
    with open(f"{out}/ceiling.dat", "w") as f:
        f.write("# front rps p99_ms\n")
        for front in ("ceiling", "gateway"):
            r = find("ceiling", "on", front=front)
            if r:
                f.write(f'"{front}" {r["rps"]} {r["p99_ms"]}\n')
    with open(f"{out}/hitrate.dat", "w") as f:
        f.write("# one block per write share (cache on), its header naming it: t_seconds hit_rate\n")
        for r in sorted((r for r in rows if r["scenario"] == "peak" and r["cache"] == "on"), key=lambda r: r["write_share"]):
            f.write(f't "{round(r["write_share"] * 100)}% writes"\n')
            for t, h in series[r["name"]][0]:
                f.write(f"{t} {h}\n")
            f.write("\n\n")
    # the steps' boundaries (connections change there), as gnuplot arrows
    with open(f"{out}/hitrate-steps.gp", "w") as f:
        bounds = next((series[r["name"]][1] for r in rows if r["scenario"] == "peak" and r["cache"] == "on"), [])
        for x in bounds:
            f.write(f"set arrow from {x}, graph 0 to {x}, graph 1 nohead dashtype 2 lc rgb '#999999'\n")


def fmt(v, spec="{:,.1f}"):
    return "–" if v is None else spec.format(v)


def pct(v):
    if v is None:
        return "–"
    return f"{100 * v:.2f} %" if v > 0.999 else f"{100 * v:.1f} %"


def markdown(s):
    run, rows, c = s["run"], s["rows"], s["comparisons"]
    out = [f"# make bench {run.get('started', '')}", "",
           f"Machine: {run.get('cpus')} CPUs ({run.get('cpu_model')}), {fmt(run.get('mem_total_kb', 0) / 1048576, '{:.1f}')} GiB; "
           f"load average before {run.get('load_before')}, after {run.get('load_after')}; scale {run.get('scale')}, "
           f"{run.get('wall_seconds')} s wall; {run.get('wrk')} -t{run.get('wrk_threads')}; PostgreSQL {run.get('postgres')}; "
           f"gateway pool {run.get('gateway_pool')}.",
           f"Live risks by tenant: {', '.join(f'{k[-4:]}: {v}' for k, v in s['data']['live_risks_by_tenant'].items())}.",
           "", "| run | conns | s | req/s | avg ms | p50 | p95 | p99 | non-2xx | sock err | hit rate | DB active peak (open) "
           "| gw CPU s | PG CPU s | wrk CPU s | other CPU s | gw RSS MB | PG PSS MB | load1 max |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['name']} | {r['connections']} | {r['seconds']} | {fmt(r['rps'])} | {fmt(r['avg_ms'], '{:.2f}')} | "
                   f"{fmt(r['p50_ms'], '{:.2f}')} | {fmt(r['p95_ms'], '{:.2f}')} | {fmt(r['p99_ms'], '{:.2f}')} | "
                   f"{r['non2xx']} | {r['socket_errors']} | {pct(r['hit_rate'])} | {r['db_active_peak']} ({r['db_open_peak']}) | "
                   f"{r['gateway_cpu_s']} | {r['postgres_cpu_s']} | {fmt(r['wrk_cpu_s'])} | {fmt(r['other_cpu_s'])} | "
                   f"{r['gateway_rss_peak_mb']} | {r['postgres_pss_peak_mb']} | {r['load1_max']} |")
    if c["cache_on_vs_off"]:
        out += ["", "## Cache on vs off (ratios on / off)", "",
                "| scenario | req/s | avg | p95 | p99 | PG CPU per request | DB active peak off → on | hit rate on |",
                "|---|---|---|---|---|---|---|---|"]
        for x in c["cache_on_vs_off"]:
            out.append(f"| {plot_label(x['scenario'], x['write_share'])} | {fmt(x['rps_on_over_off'], '{:.2f}')} × | {fmt(x['avg_on_over_off'], '{:.3f}')} × | "
                       f"{fmt(x['p95_on_over_off'], '{:.3f}')} × | {fmt(x['p99_on_over_off'], '{:.3f}')} × | "
                       f"{fmt(x['pg_cpu_per_request_on_over_off'], '{:.3f}')} × | {x['db_active_peak'][0]} → {x['db_active_peak'][1]} | "
                       f"{pct(x['hit_rate_on'])} |")
    if c["stats_vs_ceiling"]:
        x = c["stats_vs_ceiling"]
        out += ["", "## Cached GET /stats vs the ceiling gateway (medians)", "",
                "| | req/s | p99 ms | front CPU ms/request |", "|---|---|---|---|",
                f"| ceiling | {fmt(x['ceiling_rps'])} | {x['ceiling_p99_ms']} | {x['front_cpu_ms_per_request'][1]} |",
                f"| gateway | {fmt(x['gateway_rps'])} | {x['gateway_p99_ms']} | {x['front_cpu_ms_per_request'][0]} |",
                f"| ratio | {x['rps_ratio']} × | {x['p99_ratio']} × | |", "",
                f"Per-repeat req/s ratios: {', '.join(str(v) for v in x['rps_ratio_per_repeat'])}.",
                f"Targets: {x['targets']}; gateway non-2xx: {x['gateway_non2xx']}."]
    if c["write_share"]:
        out += ["", "## Peak mix: what writes cost (cache on)", "",
                "| writes | hit rate | p99 ms | req/s | non-2xx | writes made | stores | fills rejected | stampede waits |",
                "|---|---|---|---|---|---|---|---|---|"]
        for x in c["write_share"]:
            out.append(f"| {round(100 * x['write_share'])} % | {pct(x['hit_rate'])} | {x['p99_ms']} | {fmt(x['rps'])} | "
                       f"{x['non2xx']} | {x['writes']} | {x['stores']} | {x['fills_rejected']} | {x['stampede_waits']} |")
    if c.get("peak_by_share"):
        out += ["", "## Peak mix by write share: cache on vs off, and against 0 % writes (cache on)", "",
                "| writes | req/s on | req/s off | on / off | p99 on ms | p99 off ms | req/s / at 0 % | p99 / at 0 % "
                "| targets |", "|---|---|---|---|---|---|---|---|---|"]
        for x in c["peak_by_share"]:
            out.append(f"| {fmt(100 * x['write_share'], '{:g}')} % | {fmt(x['rps_on'])} | {fmt(x['rps_off'])} | "
                       f"{fmt(x['rps_on_over_off'], '{:.3f}')} × | {x['p99_on_ms']} | {fmt(x['p99_off_ms'], '{}')} | "
                       f"{fmt(x['rps_over_zero'], '{:.3f}')} × | {fmt(x['p99_over_zero'], '{:.2f}')} × | "
                       f"{'; '.join(x['missed']) or 'met'} |")
        out += ["", "Targets: req/s at 5 % >= 0.25 × and at 20 % >= 0.10 × req/s at 0 %; p99 at 5 % <= 10 × p99 at 0 %; "
                f"on / off >= 1.0 at every share. Load average before {run.get('load_before')}, "
                f"after {run.get('load_after')}."]
    if s["peak_steps"]:
        out += ["", "## Peak steps (wrk cannot ramp: constant connections per step)", "",
                "| run | step | conns | s | req/s | p99 ms | hit rate | DB active peak |", "|---|---|---|---|---|---|---|---|"]
        for x in s["peak_steps"]:
            out.append(f"| {x['group']} | {x['step']} | {x['connections']} | {x['seconds']} | {fmt(x['rps'])} | "
                       f"{x['p99_ms']} | {pct(x['hit_rate'])} | {x['db_active_peak']} |")
    out += ["", "hit rate: the extension's cache_stats delta, hits / (hits + misses); other CPU s: the machine's busy "
            "CPU seconds during the runs minus gateway, PostgreSQL and wrk (other work on a shared machine); "
            "fills rejected: values computed on a miss but not stored because a write invalidated the key meanwhile.", ""]
    return "\n".join(out)


if __name__ == "__main__":
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.exit("usage: bench-summarize.py RESULTS_DIR")
    main(sys.argv[1])
