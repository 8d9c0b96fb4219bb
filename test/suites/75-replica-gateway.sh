#!/usr/bin/env bash
# test/suites/75-replica-gateway.sh -- issue 11 items 3 and 4: the gateway
# routes cached reads to hot standbys with read-your-writes by LSN, survives
# standby and primary failures, and runs as two stateless gateways behind
# HAProxy.
#
# Builds its own primary (port +20) and standbys (+21, +22) with the scripts
# behind `make run REPLICAS=N`, and its own gateways (HTTP +20..+22, metrics
# +20..+22) and HAProxy (HTTP +23), so it never touches the main stack, and
# removes them at the end.  In this order it proves:
#   - configuration: a bad replica list or DSN stops the gateway at start-up
#     with a clear message (exit 2, password masked); a --config file with
#     `replica =` lines works;
#   - routing: reads on the standby, writes and /cache/invalidate on the
#     primary, X-Commit-LSN equal to the end of the write's COMMIT record
#     (read back with pg_walinspect), a malformed X-Min-LSN is a 400, the
#     per-upstream metrics pass promtool;
#   - freshness.py through the gateway, reads on the standby, every client
#     presenting the writer's LSN: 0 stale at 1/10/50 % writes;
#   - replay paused mid-load: 0 stale for LSN clients, and clients without
#     the LSN never see a state older than --max-replica-lag (the primary
#     takes over); the same checks report stale reads against a gateway
#     that ignores both (the checkers can fail);
#   - faults (test/reliability/replica_faults.py): a standby killed under
#     load, restarted, two gateways behind HAProxy, the primary killed.
set -uo pipefail
. "$(dirname "$0")/../lib/suite.sh"
cd "$ROOT"
PY=/usr/bin/python3
READS=${REPLICA_GATEWAY_READS:-4000}

MAIN_HTTP=$OPENRISK_HTTP_PORT MAIN_METRICS=$OPENRISK_METRICS_PORT
export OPENRISK_RUN_DIR=$OPENRISK_RUN_DIR/replica-gateway
export OPENRISK_PGPORT=$((OPENRISK_PGPORT + 20))
GW_A=$((MAIN_HTTP + 20)) GW_A_M=$((MAIN_METRICS + 20))
GW_B=$((MAIN_HTTP + 21)) GW_B_M=$((MAIN_METRICS + 21))
GW_X=$((MAIN_HTTP + 22)) GW_X_M=$((MAIN_METRICS + 22)) # short-lived ones: bad configs, the sabotaged gateway
HAP=$((MAIN_HTTP + 23))
export OPENRISK_HTTP_PORT=$GW_A OPENRISK_METRICS_PORT=$GW_A_M
. "$ROOT/tools/common.sh" # PGHOST, LOG_DIR... of the private stack
export PATH=$PGBIN:$PATH
export PGOPTIONS="-c client_min_messages=warning"
GW_BIN=$ROOT/gateway/openrisk-gateway
PRIMARY_DSN="host=$PG_SOCKET_DIR port=$OPENRISK_PGPORT dbname=$OPENRISK_DB user=postgres"
declare -A GW_PID=()
hap_pid=

# The private stack's settings for a gateway process.  Always called in a
# subshell (`&` or $(...)): exec, so that start_gw's $! is the gateway's own
# pid and stop_gw's SIGTERM reaches the gateway, not a wrapping subshell.
gw_env() {
	exec env -u OPENRISK_REPLICA_DSNS -u OPENRISK_CONFIG OPENRISK_DSN="$PRIMARY_DSN" OPENRISK_JWT_SECRET_FILE="$OPENRISK_RUN_DIR/jwt.secret" \
		OPENRISK_ACCESS_LOG=off "$@"
}
start_gw() { # start_gw NAME PORT METRICS_PORT [flags...]: in the background, until /ready
	local name=$1 port=$2 mport=$3
	shift 3
	gw_env "$GW_BIN" --listen "127.0.0.1:$port" --metrics-listen "127.0.0.1:$mport" "$@" \
		>>"$LOG_DIR/gateway-$name.log" 2>&1 &
	GW_PID[$name]=$!
	for _ in $(seq 150); do
		curl -fs -o /dev/null "http://127.0.0.1:$port/ready" && return 0
		kill -0 "${GW_PID[$name]}" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
stop_gw() {
	local pid=${GW_PID[$1]:-}
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	unset "GW_PID[$1]"
	return 0
}
teardown() {
	[ -n "$hap_pid" ] && kill "$hap_pid" 2>/dev/null && wait "$hap_pid" 2>/dev/null
	hap_pid=
	for g in "${!GW_PID[@]}"; do stop_gw "$g"; done
	tools/replicas.sh stop >/dev/null 2>&1
	tools/cluster.sh stop >/dev/null 2>&1
}
trap teardown EXIT

run_tap() { # run_tap ARGS...: every TAP line of a python checker counts
	local out rc
	out=$(timeout 300 "$@" 2>&1)
	rc=$?
	echo "$out" | grep -E '^(ok|not ok) |^REPLICA_FAULT|^  ' | sed 's/^  /# /'
	SUITE_PASSED=$((SUITE_PASSED + $(echo "$out" | grep -c '^ok ')))
	SUITE_FAILED=$((SUITE_FAILED + $(echo "$out" | grep -c '^not ok ')))
	if [ $rc != 0 ] && ! echo "$out" | grep -q '^not ok '; then
		echo "$out" | tail -5 | sed 's/^/# /'
		fail "$* exited $rc"
	fi
}
fresh() { # fresh DESCRIPTION ARGS...: freshness.py through a gateway
	local what=$1 out rc
	shift
	out=$(timeout 600 $PY test/reliability/freshness.py --mode http "$@" 2>&1)
	rc=$?
	echo "$out" | tail -4 | sed 's/^/# /'
	if [ $rc = 0 ]; then pass "$what"; else fail "$what"; fi
	LAST=$(echo "$out" | grep '^FRESHNESS' | tail -1)
}
field() { echo "$LAST" | grep -oE " $1=[0-9.]+" | cut -d= -f2; }
gauge() { # gauge METRICS_PORT SERIES: its value ("" when absent)
	curl -fs "http://127.0.0.1:$1/metrics" | awk -v s="$2" '$1 == s { print $2 }'
}
routable() { [ "$(gauge "$1" "openrisk_upstream_routable{upstream=\"$2\",role=\"replica\"}")" = 1 ]; }
TOKEN_A= TOKEN_V=
api() { # api PORT METHOD PATH [curl args...]: headers and body of one request, to $OUT
	local port=$1 method=$2 path=$3
	shift 3
	curl -s -D - -o "$OUT.body" -X "$method" "http://127.0.0.1:$port/api/v1$path" "$@" >"$OUT.head"
}
hdr() { tr -d '\r' <"$OUT.head" | awk -v h="$(echo "$1" | tr A-Z a-z)" 'tolower($1) == h ":" { print $2 }'; }
status() { head -1 "$OUT.head" | awk '{ print $2 }'; }

# ------------------------------------------------------------------ the stack
teardown
rm -rf "$OPENRISK_RUN_DIR"
mkdir -p "$OPENRISK_RUN_DIR" && chown postgres: "$OPENRISK_RUN_DIR"
echo "# private primary on port $OPENRISK_PGPORT, gateways on $GW_A/$GW_B, HAProxy on $HAP"
if ! tools/cluster.sh start >/dev/null 2>&1 || ! tools/replicas.sh start 1 >/dev/null 2>&1; then
	fail "the private primary and its standby start"
	finish replica-gateway
	exit 1
fi
psql -X -q -v ON_ERROR_STOP=1 -c "SELECT openrisk.generate_demo_data(1, 40, 7)" -c "CREATE EXTENSION pg_walinspect" \
	>/dev/null || fail "demo data and pg_walinspect on the private primary"
(umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n/+=' >"$OPENRISK_RUN_DIR/jwt.secret")
TOKEN_A=$(gw_env "$GW_BIN" token --role admin --tenant 00000000-0000-4000-8000-000000000001)
TOKEN_V=$(gw_env "$GW_BIN" token --role viewer --tenant 00000000-0000-4000-8000-000000000001)
R1=$(tools/replicas.sh dsn 1)
OUT=$OPENRISK_RUN_DIR/reply

# ---------------------------------------------------------- configuration errors
bad_start() { # bad_start LIST WANT: the gateway refuses LIST at start-up, exit 2, stderr has WANT
	local err rc
	err=$(gw_env OPENRISK_REPLICA_DSNS="$1" timeout 20 "$GW_BIN" --listen "127.0.0.1:$GW_X" \
		--metrics-listen "127.0.0.1:$GW_X_M" 2>&1 >/dev/null)
	rc=$?
	echo "#   -> $err"
	[ $rc = 2 ] && [[ $err == *"$2"* ]] && [[ $err != *s3cret* ]]
}
check "two key=value strings on one line are refused at start-up (exit 2, names the keyword)" \
	bad_start "host=/a port=1 host=/b port=2" 'names "host" twice'
check "a URI followed by something else is refused" bad_start "$R1 port=5" "replica 2"
check "libpq's own check: an unknown URI parameter, password masked" \
	bad_start "postgresql://u:s3cret@h/db?bogus=1" 'replica 1 "postgresql://u:***@h/db?bogus=1" is not a valid connection string'
bad_flag() { # bad_flag FLAG WANT: the gateway refuses FLAG at start-up, exit 2, stderr has WANT
	local out
	out=$(gw_env timeout 20 "$GW_BIN" "$1" 2>&1)
	[ $? = 2 ] && [[ $out == *"$2"* ]]
}
check "a malformed --max-replica-lag is refused" bad_flag --max-replica-lag=soon "--max-replica-lag must be a duration"

# --------------------------------------------------------------------- routing
cat >"$OPENRISK_RUN_DIR/gateway.conf" <<CONF
# the private stack's gateway A (test/suites/75-replica-gateway.sh)
dsn = $PRIMARY_DSN
replica = host=$PG_SOCKET_DIR port=$((OPENRISK_PGPORT + 1)) dbname=$OPENRISK_DB user=postgres
max-replica-lag = 1s
replica-wait = 500ms
health-interval = 200ms
CONF
start_gw A "$GW_A" "$GW_A_M" --config "$OPENRISK_RUN_DIR/gateway.conf" || fail "gateway A starts with a --config file"
check "the --config file's replica becomes routable" wait_for 15 routable "$GW_A_M" replica-1
api "$GW_A" GET /stats -H "Authorization: Bearer $TOKEN_V"
check "a cached read is served by the standby (X-Upstream: $(hdr X-Upstream))" test "$(status)$(hdr X-Upstream)" = 200replica-1
rid=$(curl -s -H "Authorization: Bearer $TOKEN_V" "http://127.0.0.1:$GW_A/api/v1/risks?page_size=1" | $PY -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
before=$(psql -X -tA -c "SELECT pg_current_wal_insert_lsn()")
api "$GW_A" PATCH "/risks/$rid" -H "Authorization: Bearer $TOKEN_A" -H "Content-Type: application/json" -d '{"title": "routed write"}'
after=$(psql -X -tA -c "SELECT pg_current_wal_flush_lsn()")
lsn=$(hdr X-Commit-LSN)
check "a write is answered by the primary with X-Commit-LSN ($lsn)" test "$(status)$(hdr X-Upstream)" = 200primary -a -n "$lsn"
commits=$(psql -X -tA -c "SELECT string_agg(end_lsn::text, ' ') FROM pg_get_wal_records_info('$before', '$after')
	WHERE resource_manager = 'Transaction' AND record_type = 'COMMIT'")
echo "# commit records between $before and $after end at: $commits"
check "X-Commit-LSN is exactly the end of a COMMIT record the write produced" bash -c '[[ " $1 " == *" $2 "* ]]' _ "$commits" "$lsn"
api "$GW_A" GET "/risks/$rid" -H "Authorization: Bearer $TOKEN_V" -H "X-Min-LSN: $lsn"
check "a read presenting it sees the write, on the standby ($(hdr X-Upstream))" \
	bash -c '[ "$1" = replica-1 ] && grep -q "routed write" "$2"' _ "$(hdr X-Upstream)" "$OUT.body"
api "$GW_A" GET /stats -H "Authorization: Bearer $TOKEN_V" -H "X-Min-LSN: 0/ZZ"
check "a malformed X-Min-LSN is a 400 bad_request that says what to send" \
	bash -c '[ "$1" = 400 ] && grep -q "\"bad_request\"" "$2" && grep -q "X-Min-LSN must be an LSN" "$2"' _ "$(status)" "$OUT.body"
api "$GW_A" POST /cache/invalidate -H "Authorization: Bearer $TOKEN_A" -H "Content-Type: application/json" \
	-d '{"pattern": "dashboard:stats:00000000-0000-4000-8000-000000000001:*"}'
check "/cache/invalidate runs on the primary and carries X-Commit-LSN" test "$(status)$(hdr X-Upstream)" = 200primary -a -n "$(hdr X-Commit-LSN)"
api "$GW_A" GET /cache/stats -H "Authorization: Bearer $TOKEN_A"
check "/cache/stats stays on the primary" test "$(status)$(hdr X-Upstream)" = 200primary
curl -fs "http://127.0.0.1:$GW_A_M/metrics" >"$OUT.metrics"
check "per-upstream metrics pass promtool check metrics" bash -c 'promtool check metrics <"$1"' _ "$OUT.metrics"
check "and name both servers, with the replica's lag" bash -c 'grep -q "^openrisk_upstream_up{upstream=\"primary\",role=\"primary\"} 1" "$1" &&
	grep -qE "^openrisk_upstream_replay_lag_seconds\{upstream=\"replica-1\",role=\"replica\"\} [0-9.e-]+$" "$1" &&
	grep -qE "^openrisk_lsn_reads_total\{outcome=\"replica(_after_wait)?\"\} [1-9]" "$1"' _ "$OUT.metrics"

# ------------------------------------------------ freshness through the gateway
for pct in 1 10 50; do
	fresh "through the gateway, reads on the standby presenting the writer's LSN, $pct % writes: 0 stale, 0 wrong, 0 errors" \
		--http-port "$GW_A" --lsn-clients 4 --write-pct $pct --reads "$READS"
	check "$pct % writes: most reads were served by the standby ($(field replica_reads) of $(field reads), $(field primary_reads) by the primary)" \
		awk -v r="$(field replica_reads)" -v n="$(field reads)" 'BEGIN { exit !(r >= 0.5 * n) }'
	if [ "$pct" != 50 ]; then
		check "$pct % writes: the standby's cache served hits (hit rate $(field hit_rate) >= 0.3)" \
			awk -v h="$(field hit_rate)" 'BEGIN { exit !(h >= 0.3) }'
	fi
done
fresh "replay paused for 4 s mid-load: 0 stale for LSN clients, no client without it behind more than --max-replica-lag" \
	--http-port "$GW_A" --lsn-clients 2 --bounded-staleness 1.05 --read-dsn "$R1" --pause-replay 2:4 --write-pct 10 --reads "$READS"
check "replay really was paused ($(field paused) s); reads went to the standby ($(field replica_reads)) and the primary ($(field primary_reads))" \
	awk -v p="$(field paused)" -v r="$(field replica_reads)" -v q="$(field primary_reads)" 'BEGIN { exit !(p >= 4 && r > 0 && q > 0) }'
check "LSN clients fell back within the bounded wait (slowest read $(field max_read_lsn) s < 0.5 s + 2 s)" \
	awk -v m="$(field max_read_lsn)" 'BEGIN { exit !(m < 2.5) }'
# the checkers can fail: a gateway that keeps a paused standby for a minute, clients presenting 0/1
start_gw X "$GW_X" "$GW_X_M" --replicas "$R1" --max-replica-lag 60s || fail "the sabotaged gateway starts"
wait_for 15 routable "$GW_X_M" replica-1
fresh "a gateway that tolerates 60 s of lag, LSN clients presenting 0/1: the checkers report stale reads" \
	--http-port "$GW_X" --lsn-clients 2 --bounded-staleness 1.05 --read-dsn "$R1" --pause-replay 1:3 --write-pct 20 \
	--reads 2000 --sabotage lsn-zero --expect-stale
check "stale reads in both classes (LSN clients $(field stale_lsn), others $(field stale_nolsn))" \
	awk -v a="$(field stale_lsn)" -v b="$(field stale_nolsn)" 'BEGIN { exit !(a > 0 && b > 0) }'
stop_gw X

# ---------------------------------------------------------------------- faults
tools/replicas.sh start 2 >/dev/null 2>&1 || fail "a second standby"
R2=$(tools/replicas.sh dsn 2)
stop_gw A
start_gw A "$GW_A" "$GW_A_M" --replicas "$R1 $R2" || fail "gateway A with two standbys"
start_gw B "$GW_B" "$GW_B_M" --replicas "$R1 $R2" || fail "gateway B with two standbys"
check "both standbys are routable" wait_for 15 bash -c "$(declare -f gauge routable); routable $GW_A_M replica-1 && routable $GW_A_M replica-2"
FAULTS="$PY test/reliability/replica_faults.py --port $GW_A --metrics-port $GW_A_M --replica-wait 0.5"
run_tap $FAULTS standby-kill 2
run_tap $FAULTS standby-restart 2
fresh "after the restart: 0 stale, 0 wrong, 0 errors for LSN clients" --http-port "$GW_A" --lsn-clients 4 --write-pct 10 --reads 2000

# two gateways behind HAProxy (deploy/haproxy.cfg)
check "haproxy -c accepts deploy/haproxy.cfg" env OPENRISK_HAPROXY_LISTEN=127.0.0.1:$HAP \
	OPENRISK_GATEWAY_1=127.0.0.1:$GW_A OPENRISK_GATEWAY_2=127.0.0.1:$GW_B haproxy -q -c -f deploy/haproxy.cfg
OPENRISK_HAPROXY_LISTEN=127.0.0.1:$HAP OPENRISK_GATEWAY_1=127.0.0.1:$GW_A OPENRISK_GATEWAY_2=127.0.0.1:$GW_B \
	haproxy -db -f deploy/haproxy.cfg >>"$LOG_DIR/haproxy.log" 2>&1 &
hap_pid=$!
both_served() {
	local seen=""
	for _ in 1 2 3 4; do seen+=" $(curl -s -D - -o /dev/null "http://127.0.0.1:$HAP/ready" | tr -d '\r' | awk 'tolower($1) == "x-served-by:" { print $2 }')"; done
	[[ $seen == *gw1* && $seen == *gw2* ]]
}
check "HAProxy (deploy/haproxy.cfg) balances over both gateways" wait_for 15 both_served
run_tap $FAULTS two-gateways "$HAP" "$GW_B" "${GW_PID[B]}"
unset "GW_PID[B]"
kill "$hap_pid" 2>/dev/null && wait "$hap_pid" 2>/dev/null
hap_pid=

run_tap $FAULTS primary-kill

teardown
trap - EXIT
[ "$SUITE_FAILED" = 0 ] && rm -rf "$OPENRISK_RUN_DIR"
finish replica-gateway
