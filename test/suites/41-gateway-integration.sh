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
# run_pytest (test/lib/suite.sh) parses pytest's summary line; "no tests
# ran" or a crash without a summary counts as a failure, so a broken
# collection can never pass silently.  Bounded by a timeout.
set -uo pipefail
. "$(dirname "$0")/../lib/suite.sh"

"$ROOT/tools/services.d/20-gateway.sh" start >/dev/null 2>&1 || true
prism=$ROOT/test/contract/node_modules/.bin/prism
logs=$LOG_DIR/prism
mkdir -p "$logs"
rm -f "$logs"/*.log
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
		fail "the validating proxy (prism) did not start: $(tail -3 "$logs/prism-shared.log")"
	fi
else
	fail "the contract tools are not installed (test/contract/node_modules; tools/deps.sh installs them)"
fi

export OPENRISK_GATEWAY_ROLE
run_pytest "$ROOT/test/gateway" 900

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
	check "the validating proxy checked $checked replies against docs/openapi.yaml (more than 100)" test "$checked" -gt 100
	check "0 undocumented statuses ($undocumented; logs: $logs)" test "$undocumented" = 0
	check "0 schema errors in bodies and headers ($schema; logs: $logs)" test "$schema" = 0
fi
finish gateway-integration
