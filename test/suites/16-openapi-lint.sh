#!/usr/bin/env bash
# test/suites/16-openapi-lint.sh -- docs/openapi.yaml lints with 0 errors
# (Redocly's recommended rules, @redocly/cli pinned in test/contract), and
# the linter does find an error in a broken copy (so 0 means something).
# The document's operations, statuses and schemas are checked against the
# gateway's replies by suite 41 (a validating proxy).
set -uo pipefail
. "$(dirname "$0")/../lib/suite.sh"
redocly=$ROOT/test/contract/node_modules/.bin/redocly
if [ ! -x "$redocly" ]; then
	fail "the contract tools are not installed (test/contract/node_modules; tools/deps.sh installs them)"
	finish openapi-lint
	exit 1
fi
lint() { (cd "$ROOT/test/contract" && "$redocly" lint --format stylish "$1" 2>&1); }
out=$(lint "$ROOT/docs/openapi.yaml")
echo "$out" | tail -15
errors=$(echo "$out" | grep -cE '^\S.*\berror\b' || true)
if echo "$out" | grep -qE 'Your API description is valid|validated' && ! echo "$out" | grep -qE '[1-9][0-9]* errors?\b|Validation failed'; then
	pass "docs/openapi.yaml: 0 lint errors"
else
	fail "docs/openapi.yaml has lint errors ($errors lines above)"
fi
ops=$(/usr/bin/python3 -c "
import sys, yaml
d = yaml.safe_load(open('$ROOT/docs/openapi.yaml'))
ops = [(p, m, o) for p, i in d['paths'].items() for m, o in i.items() if m in ('get', 'post', 'patch', 'delete', 'put', 'options')]
print(len(ops), sum(1 for _, _, o in ops if not o.get('operationId')))")
check "every operation has an operationId ($ops: operations, of them without one)" test "${ops#* }" = 0
broken=$(mktemp --suffix=.yaml)
/usr/bin/python3 -c "
import yaml
d = yaml.safe_load(open('$ROOT/docs/openapi.yaml'))
d['paths']['/api/v1/risks']['get']['responses'] = {}
d['paths']['/api/v1/risks']['get']['parameters'][0] = {'\$ref': '#/components/parameters/nowhere'}
yaml.safe_dump(d, open('$broken', 'w'))"
out=$(lint "$broken")
check "the linter finds the errors of a broken copy" bash -c "echo \"\$1\" | grep -qE 'Validation failed|[1-9][0-9]* errors?'" _ "$out"
rm -f "$broken"
finish openapi-lint
