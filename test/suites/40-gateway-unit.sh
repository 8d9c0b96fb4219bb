#!/usr/bin/env bash
# test/suites/40-gateway-unit.sh -- the gateway's C tests, built with
# -Werror: the unit tests of the pure files (`make -C gateway check`:
# router, routes and statements, JWT, config, error mapping, query strings,
# metrics text) and the server tests (`make -C gateway
# check-server`: the request pipeline through a fake civetweb connection,
# the pool, and the route defaults against the SQL functions' DEFAULTs, in
# a throwaway database of this stack's cluster, which `make test` started).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tools/common.sh" # PGHOST, PGPORT, PGUSER of this stack's cluster

passed=0 failed=0
for target in check check-server; do
	out=$(make -s -C "$ROOT/gateway" "$target" 2>&1)
	rc=$?
	echo "$out"
	line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
	if [ -z "$line" ]; then
		echo "not ok - make -C gateway $target printed no summary (exit $rc)"
		failed=$((failed + 1))
		continue
	fi
	read -r p _ f _ <<<"$line"
	[ "$rc" != 0 ] && [ "$f" = 0 ] && f=1
	passed=$((passed + p)) failed=$((failed + f))
done
echo "SUITE gateway-unit $passed $failed"
[ "$failed" = 0 ]
