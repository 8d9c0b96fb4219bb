#!/usr/bin/env bash
# test/suites/41-gateway-integration.sh -- HTTP tests against the gateway
# `make test` started (test/gateway, pytest with Debian's python3).
#
# run_pytest (test/lib/suite.sh) parses pytest's summary line; "no tests
# ran" or a crash without a summary counts as a failure, so a broken
# collection can never pass silently.  Bounded by a timeout.
set -uo pipefail
. "$(dirname "$0")/../lib/suite.sh"

"$ROOT/tools/services.d/20-gateway.sh" start >/dev/null 2>&1 || true
run_pytest "$ROOT/test/gateway" 600
finish gateway-integration
