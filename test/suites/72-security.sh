#!/usr/bin/env bash
# test/suites/72-security.sh -- the threat model of docs/SECURITY.md against
# this stack: tenant isolation over HTTP and SQL, token
# rejection, inert SQL injection, no secrets in /metrics or logs, admin
# functions closed to ordinary roles, pinned search_path.  Every check is
# one TAP line of test/reliability/security.py; each "cannot" check has a
# positive twin so it can fail.
set -uo pipefail
. "$(dirname "$0")/../lib/suite.sh"
cd "$ROOT"
"$ROOT/tools/services.d/20-gateway.sh" start >/dev/null 2>&1 || true
out=$(timeout 300 /usr/bin/python3 test/reliability/security.py 2>&1)
rc=$?
echo "$out" | grep -vE '^SECURITY '
SUITE_PASSED=$(echo "$out" | grep -c '^ok ')
SUITE_FAILED=$(echo "$out" | grep -c '^not ok ')
if [ $rc != 0 ] && [ "$SUITE_FAILED" = 0 ]; then fail "security.py exited $rc"; fi
finish security
