#!/usr/bin/env bash
# tools/run-tests.sh -- `make test`: run every suite, print one summary.
#
# A suite is an executable test/suites/NN-name.sh (or, with --long, also
# test/suites-long/NN-name.sh).  It prints whatever it likes and, as its
# LAST line, `SUITE <name> <passed> <failed>`.  A suite that exits non-zero
# without such a line counts as one failure, so a crash is never silent.
# The closing line is `N passed, N failed`; the exit status is non-zero
# when anything failed.
set -uo pipefail
. "$(dirname "$0")/common.sh"
require_root test

long=0
[ "${1:-}" = --long ] && long=1
# A shell that ran `eval "$(make -s env)"` exports the main stack's standbys;
# gateways the suites start on private stacks must not read from them.
unset OPENRISK_REPLICA_DSNS OPENRISK_CONFIG

# Test the code that was just built: (re)start the stack as `make run` does,
# keeping the standbys a `make run REPLICAS=N` started unless REPLICAS is given.
REPLICAS=${REPLICAS:-$("$ROOT/tools/replicas.sh" count)} "$ROOT/tools/run.sh" >/dev/null || { echo "0 passed, 1 failed"; exit 1; }

suites=("$ROOT"/test/suites/*.sh)
[ $long = 1 ] && suites+=("$ROOT"/test/suites-long/*.sh)

total_pass=0 total_fail=0
declare -a summary
for s in "${suites[@]}"; do
	[ -x "$s" ] || continue
	name=$(basename "$s" .sh)
	echo "=== suite $name"
	out=$(mktemp)
	"$s" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '^SUITE [^ ]+ [0-9]+ [0-9]+$' "$out" | tail -1)
	rm -f "$out"
	if [ -n "$line" ]; then
		read -r _ _ p f <<<"$line"
		if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
	else
		p=0 f=1
	fi
	total_pass=$((total_pass + p)) total_fail=$((total_fail + f))
	summary+=("$(printf '%-28s %5d passed %5d failed' "$name" "$p" "$f")")
done

echo
echo "=== summary"
printf '%s\n' "${summary[@]}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ]
