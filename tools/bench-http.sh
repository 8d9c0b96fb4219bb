#!/usr/bin/env bash
# tools/bench-http.sh -- `make bench-http`: the gateway against the ceiling.
#
# The ceiling (shared/ref/ceiling-gateway.c, beside the clone; never copied
# into the repo) is the least any civetweb + libpq gateway can do: one
# pooled prepared statement, one write.  It is built into the run folder
# and run with the gateway's pool size and the very statement the gateway
# prepares for GET /api/v1/stats (printed by `openrisk-gateway sql`), its
# parameters inlined as literals for the demo tenant (building and running
# it is shared with `make bench`: tools/lib/bench-common.sh).  Both are warmed,
# then wrk -t2 -c50 -d10s (keep-alive) alternates between them RUNS times;
# medians of requests/s and p99, their ratios, and the non-2xx count are
# printed.  Targets (issue 4): >= 0.85 x the ceiling's requests/s, p99 <=
# 1.5 x its p99, 0 non-2xx.  A benchmark, not a test: only non-2xx
# responses make it fail.
set -euo pipefail
. "$(dirname "$0")/common.sh"
. "$ROOT/tools/lib/bench-common.sh"

RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
TENANT=$BENCH_TENANT

bench_require_wrk
"$ROOT/tools/run.sh" >/dev/null

# the gateway's statement for the route, with the gateway's pool size
CEILING_SQL=$(bench_stats_sql "$TENANT" month)
POOL=$(bench_gateway_pool_size)
trap bench_ceiling_stop EXIT
bench_ceiling_start "$CEILING_SQL" "$POOL"

TOKEN=$("$ROOT/tools/token.sh" viewer "$TENANT")
GATEWAY_URL=http://127.0.0.1:$OPENRISK_HTTP_PORT/api/v1/stats
# warm: fill the cache entry and every pooled connection's plan
for _ in $(seq 20); do
	curl -fs -o /dev/null "$CEILING_URL"
	curl -fs -o /dev/null -H "Authorization: Bearer $TOKEN" "$GATEWAY_URL"
done
curl -fs -D - -o /dev/null -H "Authorization: Bearer $TOKEN" "$GATEWAY_URL" | grep -qi '^X-Cache: HIT' ||
	say "warning: the gateway's /stats is not a cache hit after warming"

say "ceiling: $CEILING_SQL (pool $POOL)"
measure() { bench_wrk_measure 50 "$DURATION" "$@"; }
declare -a c_rps c_p99 g_rps g_p99
non2xx=0
for i in $(seq "$RUNS"); do
	read -r r p b < <(measure "$CEILING_URL")
	c_rps+=("$r") c_p99+=("$p")
	printf 'run %d  ceiling  %10.0f req/s  p99 %8.2f ms\n' "$i" "$r" "$p"
	read -r r p b < <(measure -H "Authorization: Bearer $TOKEN" "$GATEWAY_URL")
	g_rps+=("$r") g_p99+=("$p") non2xx=$((non2xx + b))
	printf 'run %d  gateway  %10.0f req/s  p99 %8.2f ms  non-2xx/errors %d\n' "$i" "$r" "$p" "$b"
done
# each run's gateway/ceiling ratio too: on a shared machine the load drifts
# between runs, and a ratio of neighbours is steadier than a ratio of medians
pairs=()
for i in "${!c_rps[@]}"; do pairs+=("$(awk -v g="${g_rps[i]}" -v c="${c_rps[i]}" 'BEGIN { printf "%.3f", g / c }')"); done
median() { bench_median "$@"; }
pr=$(median "${pairs[@]}")
cr=$(median "${c_rps[@]}") cp=$(median "${c_p99[@]}") gr=$(median "${g_rps[@]}") gp=$(median "${g_p99[@]}")
awk -v cr="$cr" -v cp="$cp" -v gr="$gr" -v gp="$gp" -v bad="$non2xx" -v pr="$pr" -v pairs="${pairs[*]}" 'BEGIN {
	printf "\nmedian of %s runs, wrk -t2 -c50 keep-alive, cached GET /api/v1/stats\n", '"$RUNS"'
	printf "  ceiling  %10.0f req/s   p99 %8.2f ms\n", cr, cp
	printf "  gateway  %10.0f req/s   p99 %8.2f ms\n", gr, gp
	printf "  ratio    %10.3f x       p99 %8.3f x   (targets: >= 0.85, <= 1.5)  %s\n", gr / cr, gp / cp,
		(gr / cr >= 0.85 && gp / cp <= 1.5) ? "MET" : "NOT MET"
	printf "  per-run req/s ratios: %s (median %.3f)\n", pairs, pr
	printf "  non-2xx or socket errors on the gateway: %d\n", bad
}'
[ "$non2xx" = 0 ]
