#!/usr/bin/env bash
# tools/bench.sh -- `make bench` / `make load [SCENARIO=...]`: the seed's
# three k6 scenarios, run here with wrk against the local stack.
#
# k6 is not packaged for Debian; wrk is.  bench/wrk/*.lua are the twins of
# k6/*.js (same endpoints, same mix, same write share), and this script
# supplies what wrk lacks and what the seed's table needs:
#   * the cache switched off and on around each scenario (ALTER SYSTEM +
#     reload), always switched back to what it was -- on any exit, Ctrl-C
#     included -- by the EXIT trap;
#   * ramping (which wrk cannot do) emulated by steps of constant
#     connections, one wrk run each, merged by the summary;
#   * the server side, sampled every 0.5 s by tools/lib/bench-sampler.py:
#     connections in use, cache_stats, CPU and memory of gateway and
#     PostgreSQL;
#   * the comparisons the issue asks for in the same run: cache on vs off
#     for every scenario, cached GET /stats vs the shared ceiling gateway,
#     peak mix at 0 / 5 / 20 % writes;
#   * demo data of a stated size, generated once and reused;
#   * k6/results/<timestamp>/summary.json, summary.md and PNG plots
#     (tools/lib/bench-summarize.py, bench/plot/*.gp).
# Everything targets 127.0.0.1 and every wrk run is bounded by -d and by
# timeout(1).  Usage: tools/bench.sh --help.
set -euo pipefail
. "$(dirname "$0")/common.sh"
. "$ROOT/tools/lib/bench-common.sh"

SCENARIO_NAMES=(baseline warm peak ceiling)
PSQL=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1)

usage() {
	cat <<USAGE
usage: tools/bench.sh [SCENARIO...]      (make bench SCENARIO=...)

scenarios (default: all, in this order):
  baseline   GET /risks, pages and sorts at random, 5 connections, 120 s
  warm       /risks, /stats, /marketplace/connectors, 10 connections, 120 s
  peak       every cached read + WRITE_SHARE writes, steps of 10/25/50/25
             connections for 60/60/120/60 s (wrk cannot ramp)
  ceiling    cached GET /stats vs ../shared/ref/ceiling-gateway.c, -c50,
             3 x 10 s alternating (skipped under "all" when it is absent)
Each of baseline, warm and peak runs with the cache off and on; peak on
runs at 0, 5 and 20 % writes.

environment:
  BENCH_SCALE        full (1, the seed's durations, ~30 min) | quick (0.02,
                     about a minute) | a factor in (0, 10]; default full
  BENCH_RISKS        risks of the hot demo tenant (default 100000), or
                     'existing' to use the data as it is
  BENCH_TENANTS      demo tenants (default 4); BENCH_OTHER_RISKS risks in
                     each of the others (default 2000)
  BENCH_WRITE_SHARES peak write shares with the cache on (default 0 0.05 0.2)
  BENCH_OUT          results folder (default k6/results)
  BENCH_THREADS      wrk threads (default 2)
The stack must be running (make run) with the same OPENRISK_* settings.
USAGE
}

# --- arguments ----------------------------------------------------------

SELECTED=() EXPLICIT=()
select_scenarios() {
	local arg name
	for arg in "$@"; do
		for name in ${arg//,/ }; do
			case $name in
			-h | --help) usage; exit 0 ;;
			all) continue ;;
			esac
			[[ " ${SCENARIO_NAMES[*]} " = *" $name "* ]] ||
				die "unknown scenario '$name': choose from ${SCENARIO_NAMES[*]} or all (tools/bench.sh --help)"
			EXPLICIT+=("$name")
		done
	done
	# in the canonical order, each once
	for name in "${SCENARIO_NAMES[@]}"; do
		if [ ${#EXPLICIT[@]} = 0 ] || [[ " ${EXPLICIT[*]} " = *" $name "* ]]; then
			SELECTED+=("$name")
		fi
	done
	# the ceiling lives beside the clone (../shared): asked for, it must be
	# there; as part of "all" it is skipped with a warning on a bare clone
	if [[ " ${SELECTED[*]} " = *" ceiling "* ]] && [ ! -f "$CEILING_SRC" ]; then
		[[ " ${EXPLICIT[*]} " = *" ceiling "* ]] &&
			die "the ceiling scenario needs $CEILING_SRC (the shared reference beside the clone)"
		say "warning: $CEILING_SRC not found: skipping the ceiling comparison"
		local kept=()
		for name in "${SELECTED[@]}"; do [ "$name" = ceiling ] || kept+=("$name"); done
		SELECTED=("${kept[@]}")
	fi
}

SCALE=1
parse_scale() {
	case ${BENCH_SCALE:-full} in
	full) SCALE=1 ;;
	quick) SCALE=0.02 ;;
	*)
		[[ $BENCH_SCALE =~ ^[0-9]*\.?[0-9]+$ ]] && awk -v s="$BENCH_SCALE" 'BEGIN { exit !(s > 0 && s <= 10) }' ||
			die "BENCH_SCALE must be full, quick or a number in (0, 10], got '$BENCH_SCALE'"
		SCALE=$BENCH_SCALE
		;;
	esac
}

# seed seconds -> seconds at this scale (at least 2: wrk needs a second to warm)
scaled() { awk -v s="$1" -v f="$SCALE" 'BEGIN { v = int(s * f + 0.5); print (v < 2) ? 2 : v }'; }

select_scenarios "$@"
parse_scale
BENCH_RISKS=${BENCH_RISKS:-100000}
BENCH_TENANTS=${BENCH_TENANTS:-4}
BENCH_OTHER_RISKS=${BENCH_OTHER_RISKS:-2000}
WRITE_SHARES=(${BENCH_WRITE_SHARES:-0 0.05 0.2})
THREADS=${BENCH_THREADS:-2}
[[ $THREADS =~ ^[1-9][0-9]?$ ]] || die "BENCH_THREADS must be a small positive integer, got '$THREADS'"
[[ $BENCH_RISKS = existing || $BENCH_RISKS =~ ^[1-9][0-9]{0,6}$ ]] ||
	die "BENCH_RISKS must be a number from 1 to 9999999 or 'existing', got '$BENCH_RISKS'"
[[ $BENCH_TENANTS =~ ^[1-9][0-9]{0,2}$ ]] || die "BENCH_TENANTS must be a number from 1 to 999, got '$BENCH_TENANTS'"
[[ $BENCH_OTHER_RISKS =~ ^[0-9]{1,7}$ ]] || die "BENCH_OTHER_RISKS must be a number from 0 to 9999999, got '$BENCH_OTHER_RISKS'"
for w in "${WRITE_SHARES[@]}"; do
	awk -v w="$w" 'BEGIN { exit !(w ~ /^[0-9.]+$/ && w >= 0 && w <= 1) }' ||
		die "BENCH_WRITE_SHARES must be numbers between 0 and 1, got '$w'"
done

bench_require_wrk
command -v gnuplot >/dev/null || say "warning: gnuplot is not installed (apt-get install gnuplot-nox): no plots this time"
bench_require_stack

BASE=$(bench_gateway_base)/api/v1
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${BENCH_OUT:-$ROOT/k6/results}/$STAMP
RUNS=$OUT/runs
mkdir -p "$RUNS"
DSN="host=$PG_SOCKET_DIR port=$OPENRISK_PGPORT dbname=$OPENRISK_DB user=postgres"
sql() { "${PSQL[@]}" -tAc "$1"; }

# --- restoring what we change, whatever happens ---------------------------

# "on|off auto|other": its value, and whether ALTER SYSTEM had set it
CACHE_WAS=$(sql "SELECT setting || CASE WHEN sourcefile LIKE '%postgresql.auto.conf' THEN ' auto' ELSE ' other' END
                   FROM pg_settings WHERE name = 'openrisk.cache_enabled'")
[ -n "$CACHE_WAS" ] || die "openrisk.cache_enabled is unknown to this server: is the openrisk extension preloaded?"
SAMPLER_PID="" WRK_PID=""

set_cache() { # set_cache on|off
	sql "ALTER SYSTEM SET openrisk.cache_enabled = $1" >/dev/null
	sql "SELECT pg_reload_conf()" >/dev/null
	# backends re-read the file before their next command; give the
	# postmaster time to pass the signal on
	sleep 0.5
}

restore_cache() {
	local value=${CACHE_WAS%% *} from_auto=${CACHE_WAS##* }
	if [ "$from_auto" = auto ]; then
		sql "ALTER SYSTEM SET openrisk.cache_enabled = '$value'" >/dev/null
	else
		sql "ALTER SYSTEM RESET openrisk.cache_enabled" >/dev/null
	fi
	sql "SELECT pg_reload_conf()" >/dev/null
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	[ -n "$WRK_PID" ] && kill "$WRK_PID" 2>/dev/null && wait "$WRK_PID" 2>/dev/null
	[ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null && wait "$SAMPLER_PID" 2>/dev/null
	bench_ceiling_stop
	if restore_cache; then
		say "openrisk.cache_enabled restored to ${CACHE_WAS%% *}"
	else
		say "warning: could not restore openrisk.cache_enabled; run: psql -c \"ALTER SYSTEM RESET openrisk.cache_enabled\" -c \"SELECT pg_reload_conf()\""
	fi
	# risks the peak mix created and did not delete again
	sql "DELETE FROM openrisk.risks WHERE tenant_id = '$BENCH_TENANT' AND 'wrk-bench' = ANY (tags)" >/dev/null 2>&1
	[ $rc = 0 ] || say "bench stopped (exit $rc); partial results in $OUT"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- data ------------------------------------------------------------------

# Exactly BENCH_RISKS in the hot tenant and BENCH_OTHER_RISKS in the last
# demo tenant, by the generator's deterministic ids (seed 42)?
demo_data_matches() {
	sql "SELECT bool_and(have) FROM (VALUES
	       (1, $BENCH_RISKS, true), (1, $BENCH_RISKS + 1, false),
	       ($BENCH_TENANTS, $BENCH_OTHER_RISKS, true), ($BENCH_TENANTS, $BENCH_OTHER_RISKS + 1, false)) v(t, n, want),
	     LATERAL (SELECT (n = 0 OR EXISTS (SELECT 1 FROM openrisk.risks
	                  WHERE id = md5(format('risk:42:%s:%s', t, n))::uuid)) = want AS have) x"
}

ensure_demo_data() {
	if [ "$BENCH_RISKS" = existing ]; then
		say "using the data as it is (BENCH_RISKS=existing)"
	elif [ "$(demo_data_matches)" = t ]; then
		say "demo data present: $BENCH_RISKS risks in the hot tenant, $BENCH_OTHER_RISKS in each of $((BENCH_TENANTS - 1)) others"
	else
		say "generating demo data: $BENCH_TENANTS tenants, $BENCH_RISKS risks in the hot one, $BENCH_OTHER_RISKS in the others (once; about 20 s per 100k)"
		sql "SELECT count(*) FROM openrisk.generate_demo_data($BENCH_TENANTS, $BENCH_OTHER_RISKS, 42)" >/dev/null
		sql "SELECT count(*) FROM openrisk.generate_demo_data(1, $BENCH_RISKS, 42)" >/dev/null
	fi
	sql "SELECT json_object_agg(tenant_id, n) FROM (SELECT tenant_id, count(*) n FROM openrisk.risks
	      WHERE deleted_at IS NULL GROUP BY 1 ORDER BY 1) x" >"$OUT/data.json"
}

# The ids the scenarios read by, like k6's discoverIds(): the hot tenant's
# first 100 risks by score, the connector catalogue, the tenant's apps.
write_ids() {
	sql "(SELECT 'risk ' || id FROM openrisk.risks WHERE tenant_id = '$BENCH_TENANT' AND deleted_at IS NULL
	      ORDER BY score DESC, id LIMIT 100)
	     UNION ALL (SELECT 'connector ' || id FROM openrisk.connectors ORDER BY name, version LIMIT 100)
	     UNION ALL (SELECT 'app ' || id FROM openrisk.marketplace_apps WHERE tenant_id = '$BENCH_TENANT')" >"$OUT/ids.txt"
}

# --- one measured wrk run -------------------------------------------------

# run_wrk NAME META_JSON CONNECTIONS SECONDS SCRIPT URL [FRONT_PID]
# Samples the server while wrk runs; wrk's CPU comes from `times` in the
# subshell that waited for it.  FRONT_PID: the process serving HTTP
# (default: the gateway; the ceiling for its own runs).
run_wrk() {
	local name=$1 meta=$2 conns=$3 secs=$4 script=$5 url=$6
	local front=${7:-$(cat "$OPENRISK_RUN_DIR/gateway.pid")}
	local threads=$((conns < THREADS ? conns : THREADS))
	"$ROOT/tools/lib/bench-sampler.py" --dsn "$DSN" --gateway-pid "$front" \
		--postmaster-pid "$(head -1 "$PGDATA_DIR/postmaster.pid")" \
		--out "$RUNS/$name.samples.jsonl" --max-seconds $((secs + 60)) &
	SAMPLER_PID=$!
	# wrk starts once the sampler has taken its first sample (a busy
	# machine can take seconds to start Python), so every run has samples
	for _ in $(seq 100); do
		[ -s "$RUNS/$name.samples.jsonl" ] && break
		kill -0 "$SAMPLER_PID" 2>/dev/null || die "the sampler of $name exited before its first sample"
		sleep 0.1
	done
	(
		trap 'kill $w 2>/dev/null' TERM
		timeout $((secs + 30)) wrk -t"$threads" -c"$conns" -d"${secs}s" --timeout 10s --latency \
			-s "$ROOT/bench/wrk/$script.lua" "$url" >"$RUNS/$name.wrk.out" 2>&1 &
		w=$!
		wait $w
		rc=$?
		times >"$RUNS/$name.wrk.cpu"
		exit $rc
	) &
	WRK_PID=$!
	wait "$WRK_PID" || say "warning: wrk exited with status $? in $name (see $RUNS/$name.wrk.out)"
	WRK_PID=""
	kill "$SAMPLER_PID" 2>/dev/null
	wait "$SAMPLER_PID" || true
	SAMPLER_PID=""
	printf '{"name": "%s", "connections": %d, "threads": %d, "seconds": %d, %s}\n' \
		"$name" "$conns" "$threads" "$secs" "$meta" >"$RUNS/$name.meta.json"
	grep -q '^BENCH_JSON ' "$RUNS/$name.wrk.out" ||
		{ tail -5 "$RUNS/$name.wrk.out" >&2; die "wrk produced no result in $name"; }
	awk '/^BENCH_JSON/ { sub(/^BENCH_JSON /, ""); print }' "$RUNS/$name.wrk.out" >"$RUNS/$name.wrk.json"
	/usr/bin/python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print("    %-26s %8.1f req/s  avg %7.1f ms  p99 %8.1f ms  non-2xx %d" % (sys.argv[2],
      r["requests"] / (r["duration_us"] / 1e6), r["latency_us"]["mean"] / 1000,
      dict(r["percentiles_us"])["99"] / 1000, max(r["non2xx"], r["errors"]["status"])))' \
		"$RUNS/$name.wrk.json" "$name" >&2
}

cache_mode() { # cache_mode on|off: switch, and start the on runs from empty
	set_cache "$1"
	sql "SELECT openrisk.cache_reset()" >/dev/null
}

warm_up() { # warm_up TOKEN PATH...: fill the cache entries of these reads
	local token=$1 p
	shift
	for p in "$@"; do
		curl -fs -o /dev/null -H "Authorization: Bearer $token" "$BASE$p" || true
		curl -fs -o /dev/null -H "Authorization: Bearer $token" "$BASE$p" || true
	done
}

# --- the scenarios ----------------------------------------------------------

scenario_baseline() {
	local secs mode
	secs=$(scaled 120)
	say "baseline: GET /risks, 5 connections, ${secs} s, cache off then on (from empty)"
	for mode in off on; do
		cache_mode $mode
		BENCH_TOKEN=$VIEWER run_wrk "baseline-cache-$mode" \
			"\"scenario\": \"baseline\", \"cache\": \"$mode\", \"write_share\": 0" 5 "$secs" baseline "$BASE"
	done
}

scenario_warm() {
	local secs mode
	secs=$(scaled 120)
	say "warm: /risks, /stats, /marketplace/connectors, 10 connections, ${secs} s, cache off then on (warmed)"
	for mode in off on; do
		cache_mode $mode
		[ $mode = on ] && warm_up "$VIEWER" /risks /stats /marketplace/connectors
		BENCH_TOKEN=$VIEWER run_wrk "warm-cache-$mode" \
			"\"scenario\": \"warm\", \"cache\": \"$mode\", \"write_share\": 0" 10 "$secs" warm "$BASE"
	done
}

# The k6 ramp (1->10 in 60 s, ->25 in 60 s, ->50 in 120 s, ->0 in 60 s) as
# constant steps at each stage's target (the ramp-down at half of 50).
PEAK_STEPS=("10 60" "25 60" "50 120" "25 60")
peak_run() { # peak_run on|off WRITE_SHARE
	local mode=$1 share=$2 i=0 step conns secs tag
	tag=peak-cache-$mode-w$(awk -v w="$share" 'BEGIN { printf "%d", w * 100 + 0.5 }')
	cache_mode "$mode"
	for step in "${PEAK_STEPS[@]}"; do
		i=$((i + 1))
		read -r conns secs <<<"$step"
		WRITE_SHARE=$share BENCH_TOKEN=$ADMIN BENCH_IDS_FILE=$OUT/ids.txt run_wrk "$tag-step$i" \
			"\"scenario\": \"peak\", \"cache\": \"$mode\", \"write_share\": $share, \"step\": $i, \"group\": \"$tag\"" \
			"$conns" "$(scaled "$secs")" peak "$BASE"
	done
}

scenario_peak() {
	local share
	say "peak: every cached read + writes, steps of 10/25/50/25 connections ($(scaled 60)/$(scaled 60)/$(scaled 120)/$(scaled 60) s)"
	# cache off once, at 5 % writes (or the first share asked for)
	local off_share=${WRITE_SHARES[0]}
	for share in "${WRITE_SHARES[@]}"; do
		awk -v w="$share" 'BEGIN { exit !(w == 0.05) }' && off_share=$share
	done
	say "      cache off at $off_share writes, then cache on at ${WRITE_SHARES[*]} (each from an empty cache)"
	peak_run off "$off_share"
	for share in "${WRITE_SHARES[@]}"; do
		peak_run on "$share"
	done
}

# Cached GET /stats vs the ceiling (same statement, same pool size), like
# `make bench-http`, alternating; the ceiling's own CPU is sampled as the
# "front" process of its runs.
scenario_ceiling() {
	local secs runs i pool
	secs=$(awk -v f="$SCALE" 'BEGIN { v = int(100 * f + 0.5); print (v < 3) ? 3 : (v > 10) ? 10 : v }')
	runs=$(awk -v f="$SCALE" 'BEGIN { print (f >= 0.25) ? 3 : 1 }')
	pool=$(bench_gateway_pool_size)
	cache_mode on
	bench_ceiling_start "$(bench_stats_sql "$BENCH_TENANT" month)" "$pool"
	say "ceiling: cached GET /stats vs ceiling-gateway (pool $pool), -c50, ${secs} s x $runs alternating"
	for _ in $(seq 20); do
		curl -fs -o /dev/null "$CEILING_URL" || true
		curl -fs -o /dev/null -H "Authorization: Bearer $VIEWER" "$BASE/stats" || true
	done
	curl -fs -D - -o /dev/null -H "Authorization: Bearer $VIEWER" "$BASE/stats" | grep -qi '^X-Cache: HIT' ||
		say "warning: the gateway's /stats is not a cache hit after warming"
	for i in $(seq "$runs"); do
		BENCH_TOKEN="" run_wrk "ceiling-ceiling-r$i" \
			"\"scenario\": \"ceiling\", \"front\": \"ceiling\", \"cache\": \"on\", \"write_share\": 0" \
			50 "$secs" get "$CEILING_URL" "$CEILING_PID"
		BENCH_TOKEN=$VIEWER run_wrk "ceiling-gateway-r$i" \
			"\"scenario\": \"ceiling\", \"front\": \"gateway\", \"cache\": \"on\", \"write_share\": 0" \
			50 "$secs" get "$BASE/stats"
	done
	bench_ceiling_stop
}

# --- main ---------------------------------------------------------------------

T0=$(date +%s)
say "results: $OUT (scale $SCALE)"
ensure_demo_data
write_ids
VIEWER=$("$ROOT/tools/token.sh" viewer "$BENCH_TENANT")
ADMIN=$("$ROOT/tools/token.sh" admin "$BENCH_TENANT")
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for s in "${SELECTED[@]}"; do
	"scenario_$s"
done
cat >"$OUT/run.json" <<JSON
{"started": "$STAMP", "scale": $SCALE, "scenarios": "${SELECTED[*]}", "wrk_threads": $THREADS,
 "hot_tenant": "$BENCH_TENANT", "gateway_pool": $(bench_gateway_pool_size),
 "cpus": $(nproc), "cpu_model": "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1 | tr -d '"')",
 "mem_total_kb": $(awk '/MemTotal/ { print $2 }' /proc/meminfo),
 "load_before": "$LOAD_BEFORE", "load_after": "$(cut -d' ' -f1-3 /proc/loadavg)",
 "wall_seconds": $(($(date +%s) - T0)),
 "wrk": "$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)", "postgres": "$(sql 'SHOW server_version')"}
JSON

/usr/bin/python3 "$ROOT/tools/lib/bench-summarize.py" "$OUT"
if command -v gnuplot >/dev/null; then
	for gp in "$ROOT"/bench/plot/*.gp; do
		gnuplot -e "dir='$OUT'" "$gp" 2>>"$OUT/gnuplot.log" ||
			say "warning: $(basename "$gp") failed (see $OUT/gnuplot.log)"
	done
fi
cat "$OUT/summary.md"
say "results: $OUT/summary.json, summary.md$(ls "$OUT"/*.png >/dev/null 2>&1 && echo ', *.png')"
