#!/usr/bin/env bash
# test/suites/40-gateway-unit.sh -- the gateway's C unit tests (router, JWT,
# config, error mapping, query strings, cache scope, metrics text), built
# with -Werror and run by `make -C gateway check`.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
out=$(make -s -C "$ROOT/gateway" check 2>&1)
rc=$?
echo "$out"
line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
if [ -z "$line" ]; then
	echo "SUITE gateway-unit 0 1"
	exit 1
fi
read -r p _ f _ <<<"$line"
[ "$rc" != 0 ] && [ "$f" = 0 ] && f=1
echo "SUITE gateway-unit $p $f"
[ "$f" = 0 ]
