#!/usr/bin/env bash
# test/suites/15-format.sh -- `make format-check`: every C file of
# extension/ and gateway/ is laid out as its .clang-format says, one check
# per file (tools/format.py: strict for the gateway; for the extension,
# pgindent's alignment inside a line is allowed).  A failure names the
# file and its first differing lines; `make format` rewrites them.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
out=$("$ROOT/tools/format.py" check 2>&1)
rc=$?
echo "$out"
passed=$(echo "$out" | grep -c '^ok - ')
failed=$(echo "$out" | grep -c '^not ok - ')
[ "$rc" != 0 ] && [ "$failed" = 0 ] && failed=1
echo "SUITE format $passed $failed"
[ "$failed" = 0 ]
