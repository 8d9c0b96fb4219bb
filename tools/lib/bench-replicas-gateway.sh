#!/usr/bin/env bash
# tools/lib/bench-replicas-gateway.sh -- `make bench-replicas`, the gateway
# half: the same cached read (GET /api/v1/stats of the demo tenant) through
# a gateway that routes it to standby 1 vs through a gateway that sends it
# to the primary.  Both gateways are the project's binary with the same
# settings but --replicas, started here on private ports (HTTP and metrics
# +30, +31) and stopped at the end; wrk -t2 -c20 (keep-alive; --timeout
# 10s, so a shared machine's load spikes are not counted as errors) alternates
# between them ROUNDS times and the median of the per-round ratios is
# quoted, as in the SQL half.  What it shows: a read served from a
# standby's cache costs the gateway no more than one from the primary's
# (target >= 0.8, like the SQL half), so standbys add read capacity
# through the gateway too.  Run by tools/bench-replicas.sh once standby 1
# exists; a benchmark, not a test: only non-2xx responses and socket
# errors make it fail.
set -euo pipefail
. "$(dirname "$0")/../common.sh"
. "$ROOT/tools/lib/bench-common.sh"

ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_SECONDS:-8}s
TENANT=$BENCH_TENANT
PORT_R=$((OPENRISK_HTTP_PORT + 30)) PORT_P=$((OPENRISK_HTTP_PORT + 31))
METRICS_R=$((OPENRISK_METRICS_PORT + 30)) METRICS_P=$((OPENRISK_METRICS_PORT + 31))
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null; done; return 0; }
trap cleanup EXIT

bench_require_wrk
"$ROOT/tools/services.d/20-gateway.sh" start >/dev/null # the demo data and the JWT secret
start_gw() { # start_gw PORT METRICS_PORT REPLICAS
	env OPENRISK_DSN="host=$PG_SOCKET_DIR port=$OPENRISK_PGPORT dbname=$OPENRISK_DB user=postgres" \
		OPENRISK_JWT_SECRET_FILE="$OPENRISK_RUN_DIR/jwt.secret" OPENRISK_ACCESS_LOG=off OPENRISK_CONFIG= \
		OPENRISK_REPLICA_DSNS="$3" "$GW_BIN" --listen "127.0.0.1:$1" --metrics-listen "127.0.0.1:$2" \
		>>"$LOG_DIR/bench-replicas-gateway.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$1/ready" && return 0; sleep 0.1; done
	die "a benchmark gateway did not start (see $LOG_DIR/bench-replicas-gateway.log)"
}
start_gw "$PORT_R" "$METRICS_R" "$("$ROOT/tools/replicas.sh" dsn 1)"
start_gw "$PORT_P" "$METRICS_P" ""
TOKEN=$("$ROOT/tools/token.sh" viewer "$TENANT")
URL_R=http://127.0.0.1:$PORT_R/api/v1/stats URL_P=http://127.0.0.1:$PORT_P/api/v1/stats
upstream() { curl -fs -D - -o /dev/null -H "Authorization: Bearer $TOKEN" "$1" | tr -d '\r' | awk 'tolower($1) == "x-upstream:" { print $2 }'; }
for _ in $(seq 100); do [ "$(upstream "$URL_R")" = replica-1 ] && break; sleep 0.1; done
[ "$(upstream "$URL_R")" = replica-1 ] || die "the routing gateway does not send reads to standby 1"
[ "$(upstream "$URL_P")" = primary ] || die "the other gateway does not read from the primary"
for _ in $(seq 50); do # fill both caches and every pooled connection
	curl -fs -o /dev/null -H "Authorization: Bearer $TOKEN" "$URL_R"
	curl -fs -o /dev/null -H "Authorization: Bearer $TOKEN" "$URL_P"
done

echo
echo "gateway: cached GET /api/v1/stats through the gateway, routed to standby 1 vs to the primary (wrk -t2 -c20, ${DURATION}, $ROUNDS rounds, load $(cut -d' ' -f1-3 /proc/loadavg))"
declare -a ratios r_rps p_rps r_p99 p_p99
bad=0
for i in $(seq "$ROUNDS"); do
	read -r rr rp rb < <(bench_wrk_measure 20 "$DURATION" --timeout 10s -H "Authorization: Bearer $TOKEN" "$URL_R")
	read -r pr pp pb < <(bench_wrk_measure 20 "$DURATION" --timeout 10s -H "Authorization: Bearer $TOKEN" "$URL_P")
	r_rps+=("$rr") p_rps+=("$pr") r_p99+=("$rp") p_p99+=("$pp") bad=$((bad + rb + pb))
	ratios+=("$(awk -v a="$rr" -v b="$pr" 'BEGIN { printf "%.3f", a / b }')")
	printf '  round %d  standby %9.0f req/s p99 %7.2f ms   primary %9.0f req/s p99 %7.2f ms   ratio %s\n' \
		"$i" "$rr" "$rp" "$pr" "$pp" "${ratios[-1]}"
done
m=$(bench_median "${ratios[@]}")
printf '  median     standby %9.0f req/s p99 %7.2f ms   primary %9.0f req/s p99 %7.2f ms\n' \
	"$(bench_median "${r_rps[@]}")" "$(bench_median "${r_p99[@]}")" "$(bench_median "${p_rps[@]}")" "$(bench_median "${p_p99[@]}")"
awk -v m="$m" 'BEGIN { printf "  standby / primary through the gateway: %.3f (median of per-round ratios; target >= 0.8) %s\n", m, (m >= 0.8) ? "MET" : "NOT MET" }'
echo "  non-2xx or socket errors: $bad (load $(cut -d' ' -f1-3 /proc/loadavg))"
[ "$bad" = 0 ]
