#!/usr/bin/env bash
# test/suites/17-structure.sh -- the shape of the code, checked so it stays
# true: the file-level call and include graphs of extension/ and gateway/
# have no cycle (tools/depgraph.py, from the built objects), and no source
# file is over 600 lines (past that a file holds more than one concern).
# Frozen release scripts (extension/sql/released/) are generated artefacts
# kept byte for byte, not sources, so they are not counted.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MAX_LINES=600
make -s -C "$ROOT/gateway" >/dev/null 2>&1
out=$("$ROOT/tools/depgraph.py" check "$ROOT/extension" "$ROOT/gateway" 2>&1)
echo "$out"
passed=$(echo "$out" | grep -c '^ok - ')
failed=$(echo "$out" | grep -c '^not ok - ')
[ $((passed + failed)) = 4 ] || { echo "not ok - depgraph printed $((passed + failed)) results, expected 4"; failed=$((failed + 1)); }
long=$(cd "$ROOT" && git ls-files -- '*.c' '*.h' '*.sql' '*.py' '*.sh' ':!extension/sql/released/*' | xargs wc -l | awk -v m=$MAX_LINES '$2 != "total" && $1 > m {print $2 " (" $1 ")"}')
if [ -z "$long" ]; then
	echo "ok - no source file over $MAX_LINES lines"
	passed=$((passed + 1))
else
	echo "not ok - source files over $MAX_LINES lines: $long"
	failed=$((failed + 1))
fi
echo "SUITE structure $passed $failed"
[ "$failed" = 0 ]
