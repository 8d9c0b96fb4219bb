#!/usr/bin/env bash
# test/suites/73-faults.sh -- fault injection under load
# on a PRIVATE stack: its own cluster (small openrisk.cache_memory, more
# demo data) and gateway, started with the project's own scripts under a
# run folder and ports of its own, because every scenario here breaks
# PostgreSQL on purpose.  Scenarios live in test/reliability/faults.py.
set -uo pipefail
. "$(dirname "$0")/../lib/suite.sh"
cd "$ROOT"

# Ports default to fixed offsets from the main stack's, so two stacks
# (two clones, or CI beside a developer) never share a fault stack.
export OPENRISK_RUN_DIR=$OPENRISK_RUN_DIR/faults
export OPENRISK_PGPORT=${OPENRISK_FAULT_PGPORT:-$((OPENRISK_PGPORT + 38))}
fault_http=${OPENRISK_FAULT_HTTP_PORT:-$((OPENRISK_HTTP_PORT + 10390))}
export OPENRISK_HTTP_PORT=$fault_http
export OPENRISK_METRICS_PORT=${OPENRISK_FAULT_METRICS_PORT:-$((fault_http + 1))}
POOL_GW_PORT=${OPENRISK_FAULT_POOL_PORT:-$((fault_http + 2))}
POOL_GW_METRICS=${OPENRISK_FAULT_POOL_METRICS_PORT:-$((fault_http + 3))}
. "$ROOT/tools/common.sh" # recompute PGHOST, LOG_DIR... for the private stack
export PATH=$PGBIN:$PATH
FAULTS="/usr/bin/python3 test/reliability/faults.py"
pool_pid=

teardown() {
	[ -n "$pool_pid" ] && kill -TERM "$pool_pid" 2>/dev/null && wait "$pool_pid" 2>/dev/null
	"$ROOT/tools/services.d/20-gateway.sh" stop >/dev/null 2>&1
	"$ROOT/tools/cluster.sh" stop >/dev/null 2>&1
}
trap teardown EXIT

run() { # run DESCRIPTION-PREFIX ARGS...: every TAP line of faults.py counts
	local out rc
	out=$(timeout 300 $FAULTS "$@" 2>&1)
	rc=$?
	echo "$out"
	SUITE_PASSED=$((SUITE_PASSED + $(echo "$out" | grep -c '^ok ')))
	SUITE_FAILED=$((SUITE_FAILED + $(echo "$out" | grep -c '^not ok ')))
	if [ $rc != 0 ] && ! echo "$out" | grep -q '^not ok '; then fail "faults.py $* exited $rc"; fi
}

# the private stack, from scratch
teardown
rm -rf "$OPENRISK_RUN_DIR"
mkdir -p "$OPENRISK_RUN_DIR" && chown postgres: "$OPENRISK_RUN_DIR"
printf "openrisk.cache_memory = '1MB'\nrestart_after_crash = on\n" >"$OPENRISK_RUN_DIR/extra.conf"
if ! "$ROOT/tools/cluster.sh" start >/dev/null 2>&1; then
	fail "the private fault cluster starts"
	finish faults
	exit 1
fi
psql -X -q -v ON_ERROR_STOP=1 -c "SELECT openrisk.generate_demo_data(3, 3500, 7)" >/dev/null || fail "demo data for the fault cluster"
"$ROOT/tools/services.d/20-gateway.sh" start >/dev/null 2>&1 || fail "the private fault gateway starts"

run cache-fill
for mode in fast immediate kill; do
	run outage $mode
done
run backend-kill

# pool exhaustion on a gateway with 2 connections and a 500 ms acquire timeout
OPENRISK_DSN=$GATEWAY_DSN \
	OPENRISK_JWT_SECRET_FILE=$OPENRISK_RUN_DIR/jwt.secret OPENRISK_LISTEN=127.0.0.1:$POOL_GW_PORT \
	OPENRISK_METRICS_LISTEN=127.0.0.1:$POOL_GW_METRICS \
	"$OPENRISK_GATEWAY_BIN" --pool-max-open=2 --pool-max-idle=2 --pool-acquire-timeout=500ms \
	>>"$LOG_DIR/gateway-pool.log" 2>&1 &
pool_pid=$!
for _ in $(seq 300); do curl -fs -o /dev/null "http://127.0.0.1:$POOL_GW_PORT/ready" && break; sleep 0.1; done
run pool-exhaust "$POOL_GW_PORT" "$POOL_GW_METRICS" "$pool_pid"

teardown
trap - EXIT
[ "$SUITE_FAILED" = 0 ] && rm -rf "$OPENRISK_RUN_DIR"
finish faults
