#!/usr/bin/env bash
# tools/bench-sql-openrisk.sh -- issue 3's part of `make bench-sql`: what
# the cache buys OpenRisk's endpoints at 100k risks in one tenant.
#
# pgbench -M prepared, 8 clients, 2 threads, one run on one cluster:
#   dashboard_stats  cache hit vs uncached (openrisk.cache_enabled=off for
#                    the session via PGOPTIONS; the switch is superuser-set)
#   risk_list p. 1   cache hit vs uncached
#   write mix        each transaction reads dashboard_stats and, with
#                    probability 1 / 10 / 50 %, first updates one random
#                    risk (which invalidates the tenant's dashboards);
#                    hit rate from openrisk.cache_stats deltas
# Ratios are printed as a table.  Uses its own database (openrisk_bench);
# the demo tenant #1 is loaded there with generate_demo_data(1, 100000, 42).
# BENCH_SECONDS (default 10) sets the length of each run.
set -euo pipefail
. "$(dirname "$0")/common.sh"
export PATH=$PGBIN:$PATH
secs=${BENCH_SECONDS:-10}
db=openrisk_bench
tenant=00000000-0000-4000-8000-000000000001
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$ROOT/tools/cluster.sh" status || die "the cluster is not running: make run first"
if [ "$(psql -X -A -t -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$db'")" = 0 ]; then
	createdb "$db"
	psql -X -q -d $db -c "CREATE EXTENSION openrisk" >/dev/null
fi
if [ "$(psql -X -A -t -d $db -c "SELECT count(*) FROM openrisk.risks WHERE tenant_id = '$tenant'")" != 100000 ]; then
	say "loading 100k risks into $db"
	start=$(date +%s.%N)
	psql -X -q -d $db -c "SELECT count(*) FROM openrisk.generate_demo_data(1, 100000, 42)" >/dev/null
	say "generate_demo_data(1, 100000, 42): $(echo "$(date +%s.%N) - $start" | bc) s"
	psql -X -q -d $db -c "VACUUM ANALYZE" >/dev/null
fi

# run NAME SCRIPT [PGOPTIONS]: tps of one pgbench run
run() {
	local name=$1 script=$2 opts=${3:-}
	printf '%s\n' "$script" >"$work/$name.sql"
	PGOPTIONS="$opts" pgbench -n -M prepared -c 8 -j 2 -T "$secs" -D t=$tenant \
		-f "$work/$name.sql" "$db" >"$work/$name.out" 2>&1 || { cat "$work/$name.out" >&2; die "pgbench $name failed"; }
	sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$work/$name.out" | head -1
}
stat() { psql -X -A -t -d $db -c "SELECT $1 FROM openrisk.cache_stats"; }

psql -X -q -d $db -c "SELECT openrisk.cache_reset()" >/dev/null
off='-c openrisk.cache_enabled=off'
stats="SELECT openrisk.dashboard_stats(:t);"
list="SELECT openrisk.risk_list(:t);"

say "dashboard_stats: hit, then uncached (${secs}s each)"
stats_hit=$(run stats_hit "$stats")
stats_off=$(run stats_off "$stats" "$off")
say "risk_list page 1: hit, then uncached"
list_hit=$(run list_hit "$list")
list_off=$(run list_off "$list" "$off")

declare -A mix_tps mix_rate
for pct in 1 10 50; do
	say "write mix: $pct % of transactions update one risk, all read dashboard_stats"
	h0=$(stat hits) m0=$(stat misses)
	mix_tps[$pct]=$(run "mix$pct" "\\set roll random(1, 100)
\\set i random(1, 100000)
\\set p random(1, 5)
\\if :roll <= $pct
SELECT openrisk.risk_update(:t, md5('risk:42:1:' || :i::int)::uuid, jsonb_build_object('probability', :p::int)) IS NULL;
\\endif
$stats")
	h1=$(stat hits) m1=$(stat misses)
	mix_rate[$pct]=$(echo "scale=1; 100 * ($h1 - $h0) / (($h1 - $h0) + ($m1 - $m0))" | bc)
done

ratio() { echo "scale=1; $1 / $2" | bc; }
echo
echo "openrisk endpoints at 100k risks in one tenant (pgbench -M prepared -c 8 -j 2 -T $secs)"
printf '%-34s %12s %12s %10s\n' "call" "hit tps" "uncached tps" "ratio"
printf '%-34s %12.0f %12.1f %9sx\n' "dashboard_stats(tenant)" "$stats_hit" "$stats_off" "$(ratio "$stats_hit" "$stats_off")"
printf '%-34s %12.0f %12.1f %9sx\n' "risk_list(tenant) page 1" "$list_hit" "$list_off" "$(ratio "$list_hit" "$list_off")"
echo
printf '%-34s %12s %12s\n' "write mix (update + read stats)" "tps" "hit rate"
for pct in 1 10 50; do
	printf '%-34s %12.0f %11s%%\n' "$pct % writes" "${mix_tps[$pct]}" "${mix_rate[$pct]}"
done
