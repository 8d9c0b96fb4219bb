#!/usr/bin/env bash
# test/suites/41-gateway-integration.sh -- HTTP tests against the gateway
# `make test` started (test/gateway, pytest with Debian's python3), every
# request through a validating proxy of the contract.
#
# Stoplight Prism (test/contract, pinned in its package-lock.json and
# installed by tools/deps.sh) runs as a proxy in front of the gateway with
# docs/openapi.yaml; the tests' base URL is the proxy's
# (OPENRISK_TEST_BASE_URL), and each private gateway a test starts gets a
# proxy of its own (OPENRISK_CONTRACT_PROXY=1).  A reply the document does
# not describe -- a status it does not list, a header or body that breaks
# its schema -- fails the test that got it (test/gateway/conftest.py), and
# is counted again here from the proxies' logs: the suite passes only with
# 0 undocumented statuses and 0 schema errors.  test_contract.py proves the
# proxy reports both kinds against a broken copy of the document.
#
# pytest's own summary line is parsed for the counts; "no tests ran"
# (exit 5) or a crash without a summary counts as a failure, so a broken
# collection can never pass silently.  Bounded by a timeout.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tools/common.sh"

"$ROOT/tools/services.d/20-gateway.sh" start >/dev/null 2>&1 || true
prism=$ROOT/test/contract/node_modules/.bin/prism
logs=$LOG_DIR/prism
mkdir -p "$logs"
rm -f "$logs"/*.log
extra_failed=0 extra_passed=0
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if [ -x "$prism" ]; then
	(cd "$ROOT/test/contract" && exec "$prism" proxy "$ROOT/docs/openapi.yaml" "http://127.0.0.1:$OPENRISK_HTTP_PORT" \
		--port "$port" --host 127.0.0.1 --cors=false --errors=false) >"$logs/prism-shared.log" 2>&1 &
	prism_pid=$!
	trap 'kill $prism_pid 2>/dev/null' EXIT
	for _ in $(seq 600); do
		curl -s -o /dev/null "http://127.0.0.1:$port/ready" && break
		kill -0 $prism_pid 2>/dev/null || break
		sleep 0.1
	done
	if curl -s -o /dev/null "http://127.0.0.1:$port/ready"; then
		export OPENRISK_TEST_BASE_URL=http://127.0.0.1:$port OPENRISK_CONTRACT_PROXY=1
	else
		echo "not ok - the validating proxy (prism) did not start: $(tail -3 "$logs/prism-shared.log")"
		extra_failed=$((extra_failed + 1))
	fi
else
	echo "not ok - the contract tools are not installed (test/contract/node_modules; tools/deps.sh installs them)"
	extra_failed=$((extra_failed + 1))
fi

out=$(mktemp)
(cd "$ROOT/test/gateway" && OPENRISK_GATEWAY_ROLE=$OPENRISK_GATEWAY_ROLE timeout 900 /usr/bin/python3 -m pytest -q \
	-p no:cacheprovider -o console_output_style=classic . 2>&1) | tee "$out"
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

# The proxies' own account of every reply they validated (the self-check's
# deliberately broken document is not counted).
if [ -n "${OPENRISK_TEST_BASE_URL:-}" ]; then
	kill $prism_pid 2>/dev/null
	wait $prism_pid 2>/dev/null
	checked=$(cat "$logs"/prism-shared.log "$logs"/prism-private.log 2>/dev/null | grep -c 'Received forward response')
	undocumented=$(cat "$logs"/prism-shared.log "$logs"/prism-private.log 2>/dev/null |
		grep -c 'Violation: response Unable to match the returned status code')
	schema=$(cat "$logs"/prism-shared.log "$logs"/prism-private.log 2>/dev/null | grep 'Violation: response' |
		grep -vc 'Unable to match the returned status code')
	cat "$logs"/prism-shared.log "$logs"/prism-private.log 2>/dev/null | grep 'Violation: response' |
		sed -e 's/\x1b\[[0-9;]*m//g' -e 's/^.*Violation: //' -e 's/items\.[0-9]*\./items.N./g' | sort | uniq -c | sort -rn | head -20
	/usr/bin/python3 "$ROOT/test/contract/coverage.py" "$ROOT/docs/openapi.yaml" "$logs"/prism-shared.log \
		"$logs"/prism-private.log
	if [ "$checked" -gt 100 ]; then
		echo "ok - the validating proxy checked $checked replies against docs/openapi.yaml"
		extra_passed=$((extra_passed + 1))
	else
		echo "not ok - the validating proxy checked only $checked replies"
		extra_failed=$((extra_failed + 1))
	fi
	for what in "undocumented statuses:$undocumented" "schema errors (bodies, headers):$schema"; do
		if [ "${what##*:}" = 0 ]; then
			echo "ok - 0 ${what%%:*}"
			extra_passed=$((extra_passed + 1))
		else
			echo "not ok - ${what##*:} ${what%%:*} (logs: $logs)"
			extra_failed=$((extra_failed + 1))
		fi
	done
fi
echo "SUITE gateway-integration $((passed + extra_passed)) $((failed + extra_failed))"
[ "$((failed + extra_failed))" = 0 ]
