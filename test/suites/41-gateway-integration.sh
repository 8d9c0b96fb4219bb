#!/usr/bin/env bash
# test/suites/41-gateway-integration.sh -- HTTP tests against the gateway
# `make test` started (test/gateway, pytest with Debian's python3).
#
# pytest's own summary line is parsed for the counts; "no tests ran"
# (exit 5) or a crash without a summary counts as a failure, so a broken
# collection can never pass silently.  Bounded by a timeout.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tools/common.sh"

"$ROOT/tools/services.d/20-gateway.sh" start >/dev/null 2>&1 || true
out=$(mktemp)
(cd "$ROOT/test/gateway" && timeout 600 /usr/bin/python3 -m pytest -q -p no:cacheprovider -o console_output_style=classic . 2>&1) | tee "$out"
rc=${PIPESTATUS[0]}
summary=$(grep -E '^=*\s*[0-9]+ (passed|failed|error)' "$out" | tail -1)
[ -z "$summary" ] && summary=$(grep -E '[0-9]+ (passed|failed)' "$out" | tail -1)
rm -f "$out"
count() { echo "$summary" | grep -oE "[0-9]+ $1" | grep -oE '[0-9]+' || echo 0; }
passed=$(count passed)
failed=$(($(count failed) + $(count "errors?")))
if [ "$rc" = 5 ] || { [ "$rc" != 0 ] && [ "$failed" = 0 ]; }; then
	failed=$((failed + 1))
fi
echo "SUITE gateway-integration $passed $failed"
[ "$failed" = 0 ]
