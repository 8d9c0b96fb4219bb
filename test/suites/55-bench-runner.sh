#!/usr/bin/env bash
# test/suites/55-bench-runner.sh -- `make bench` (tools/bench.sh, glue for
# tools/lib/bench_run.py) refuses bad input clearly, restores the cache
# switch whatever happens, and a tiny run produces a valid summary.
#
# Refusals: an unknown scenario, bad BENCH_* values, the ceiling scenario
# without its shared source, wrk missing from PATH,
# PostgreSQL not running, the gateway not running -- each must exit non-zero
# with a sentence naming the fix, and never a Python traceback or a bash
# "line N:" error.  Then a smoke run (warm and peak at BENCH_SCALE=0.01,
# existing data, results in a temporary folder) whose summary.json must hold
# the expected rows with sane numbers: requests served, no non-2xx, the cache
# really off (bypasses, no hits) and really on (hits), percentiles ordered,
# writes made by the peak mix and the risks they created removed afterwards,
# and the peak mix measured with the cache off and on at each write share
# with the ratios to 0 % writes.  Last, SIGINT and SIGTERM in the middle of a
# run must each put openrisk.cache_enabled back.
# About 40 s.  Last line: SUITE bench-runner <passed> <failed>.
set -uo pipefail
. "$(dirname "$0")/../lib/suite.sh"

BENCH=$ROOT/tools/bench.sh
tmp=$(mktemp -d)
bench_pid=""
trap '[ -n "$bench_pid" ] && kill "$bench_pid" 2>/dev/null; rm -rf "$tmp"' EXIT

# refuses NAME PATTERN ENV... -- ARGS...: non-zero exit, PATTERN in the
# message, no stack trace.
refuses() {
	local what=$1 pattern=$2 envs=() out rc
	shift 2
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	out=$(env "${envs[@]}" "$BENCH" "$@" 2>&1)
	rc=$?
	if [ $rc != 0 ] && grep -q -- "$pattern" <<<"$out" && ! grep -qE 'Traceback|line [0-9]+:|unbound variable' <<<"$out"; then
		pass "refuses: $what"
	else
		fail "refuses: $what (exit $rc)"
		printf '%s\n' "$out" | sed 's/^/    /' | tail -5
	fi
}

cache_setting() { psql -X -tAc "SHOW openrisk.cache_enabled" 2>/dev/null; }
before=$(cache_setting)
check "the stack under test answers (cache_enabled is $before)" test -n "$before"

refuses "unknown scenario" "unknown scenario 'nosuch'" BENCH_SCALE=quick -- nosuch
refuses "unknown scenario in a list" "unknown scenario 'warmm'" -- baseline,warmm
refuses "bad BENCH_SCALE" "BENCH_SCALE must be" BENCH_SCALE=fast -- warm
refuses "bad BENCH_RISKS" "BENCH_RISKS must be" BENCH_RISKS=lots -- warm
refuses "bad BENCH_TENANTS" "BENCH_TENANTS must be" BENCH_TENANTS="1; DROP TABLE x" -- warm
refuses "ceiling asked for without the shared reference" "needs /nonexistent/ceiling.c" CEILING_SRC=/nonexistent/ceiling.c -- ceiling

# wrk missing: a PATH holding every command of the machine but wrk
mkdir -p "$tmp/bin"
for d in /usr/local/bin /usr/bin /usr/sbin "$PGBIN"; do
	for f in "$d"/*; do
		n=$(basename "$f")
		[ "$n" = wrk ] || [ -e "$tmp/bin/$n" ] || ln -s "$f" "$tmp/bin/$n"
	done
done
refuses "wrk missing (says how to install it)" "apt-get install wrk" PATH="$tmp/bin" -- warm

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
refuses "PostgreSQL not running" "make run" OPENRISK_PGPORT="$(free_port)" OPENRISK_RUN_DIR="$tmp/nostack" -- warm
refuses "gateway not running" "gateway of this stack does not answer" OPENRISK_HTTP_PORT="$(free_port)" -- warm

# --- smoke ------------------------------------------------------------------
smoke_out=$tmp/results
t0=$(date +%s)
BENCH_SCALE=0.01 BENCH_RISKS=existing BENCH_WRITE_SHARES="0 0.2" BENCH_OUT=$smoke_out \
	"$BENCH" warm peak >"$tmp/smoke.log" 2>&1
rc=$?
check "smoke run (warm + peak, scale 0.01) exits 0 in $(($(date +%s) - t0)) s" test $rc = 0
[ $rc = 0 ] || tail -15 "$tmp/smoke.log" | sed 's/^/    /'
summary=$(ls "$smoke_out"/*/summary.json 2>/dev/null | head -1)
check "summary.json and summary.md written" test -s "$summary" -a -s "$(dirname "${summary:-x}")/summary.md"
if [ -s "$summary" ]; then
	out=$(/usr/bin/python3 - "$summary" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
rows = {r["name"]: r for r in s["rows"]}
def check(what, ok):
    print(("ok - " if ok else "not ok - ") + what)
want = ["warm-cache-off", "warm-cache-on", "peak-cache-off-w0", "peak-cache-on-w0", "peak-cache-off-w20",
        "peak-cache-on-w20"]
check("rows " + ", ".join(want), all(w in rows for w in want))
for name in want:
    r = rows.get(name)
    if not r:
        continue
    check(f"{name}: requests served, none failed", r["requests"] > 0 and r["non2xx"] == 0 and r["socket_errors"] == 0)
    check(f"{name}: 0 < p50 <= p95 <= p99 <= max", 0 < r["p50_ms"] <= r["p95_ms"] <= r["p99_ms"] <= r["max_ms"])
    check(f"{name}: req/s, CPU and memory measured", r["rps"] > 0 and r["postgres_cpu_s"] > 0
          and r["gateway_rss_peak_mb"] > 0 and r["postgres_pss_peak_mb"] > 0 and r["db_open_peak"] >= 1)
off, on = rows.get("warm-cache-off"), rows.get("warm-cache-on")
if off and on:
    check("cache off really off: no hits in cache_stats, every X-Cache a MISS",
          off["cache_hits"] == 0 and off["xcache_hit_rate"] == 0)
    check("cache on really on: hit rate >= 90 % (stats and X-Cache agree)",
          on["hit_rate"] >= 0.9 and abs(on["hit_rate"] - on["xcache_hit_rate"]) < 0.1)
peak = rows.get("peak-cache-on-w20")
if peak:
    check("peak at 20 % writes wrote", peak["writes"] > 0)
    check("peak steps: 4 per run, connections 10/25/50/25",
          [x["connections"] for x in s["peak_steps"] if x["group"] == "peak-cache-on-w20"] == [10, 25, 50, 25])
    check("hit rate series recorded for the write mix", len(s["hit_rate_series"]["peak-cache-on-w20"]["points"]) > 0)
check("comparisons: cache on vs off for warm and peak at each write share",
      sorted((x["scenario"], x["write_share"]) for x in s["comparisons"]["cache_on_vs_off"])
      == [("peak", 0), ("peak", 0.2), ("warm", 0)])
by = {x["write_share"]: x for x in s["comparisons"]["peak_by_share"]}
z, w = by.get(0), by.get(0.2)
check("peak by share: on, off, on/off and the ratios to 0 % writes",
      sorted(by) == [0, 0.2] and w["rps_on"] == rows["peak-cache-on-w20"]["rps"]
      and w["rps_off"] == rows["peak-cache-off-w20"]["rps"]
      and abs(w["rps_on_over_off"] - w["rps_on"] / w["rps_off"]) < 0.01
      and abs(w["rps_over_zero"] - w["rps_on"] / z["rps_on"]) < 0.01
      and abs(w["p99_over_zero"] - w["p99_on_ms"] / z["p99_on_ms"]) < 0.01 and z["rps_over_zero"] == 1)
md = open(sys.argv[1][:-len(".json")] + ".md").read()
check("summary.md has the per-share table with its targets and the load average",
      "## Peak mix by write share" in md and "on / off >= 1.0 at every share" in md
      and "Load average before" in md)
PY
)
	printf '%s\n' "$out"
	SUITE_PASSED=$((SUITE_PASSED + $(grep -c '^ok - ' <<<"$out")))
	SUITE_FAILED=$((SUITE_FAILED + $(grep -c '^not ok - ' <<<"$out")))
	if command -v gnuplot >/dev/null; then
		check "plots written (latency, throughput, hit rate)" \
			test -s "$(dirname "$summary")/latency.png" -a -s "$(dirname "$summary")/throughput.png" -a -s "$(dirname "$summary")/hitrate.png"
	fi
fi
check "cache_enabled back to '$before' after the run" test "$(cache_setting)" = "$before"
left=$(psql -X -tAc "SELECT count(*) FROM openrisk.risks WHERE 'wrk-bench' = ANY (tags)" 2>/dev/null)
check "risks created by the peak mix removed ($left left)" test "$left" = 0

# --- Ctrl-C / SIGTERM in the middle of a run ---------------------------------
# interrupted SIG: a full-scale warm run, stopped by SIG while wrk runs with
# the cache off; the setting must come back and nothing may be left running.
interrupted() {
	local sig=$1 rc t0
	# job control on, so the background bench does not start with SIGINT ignored
	set -m
	BENCH_SCALE=1 BENCH_RISKS=existing BENCH_OUT=$tmp/interrupted "$BENCH" warm >"$tmp/int-$sig.log" 2>&1 &
	bench_pid=$!
	set +m
	for _ in $(seq 100); do
		[ "$(cache_setting)" = off ] && break
		sleep 0.1
	done
	check "$sig: cache switched off during the cache-off run" test "$(cache_setting)" = off
	sleep 1
	kill -"$sig" "$bench_pid"
	t0=$(date +%s)
	wait "$bench_pid"
	rc=$?
	bench_pid=""
	check "$sig stops the run promptly (exit $rc, $(($(date +%s) - t0)) s)" test $rc != 0 -a $(($(date +%s) - t0)) -le 10
	check "cache_enabled restored to '$before' after $sig" test "$(cache_setting)" = "$before"
	check "$sig: no wrk left running against this gateway" \
		bash -c "! pgrep -f '[w]rk .*127.0.0.1:$OPENRISK_HTTP_PORT' >/dev/null"
}
interrupted INT
interrupted TERM

finish bench-runner
