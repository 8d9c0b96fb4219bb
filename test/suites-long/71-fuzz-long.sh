#!/usr/bin/env bash
# test/suites-long/71-fuzz-long.sh -- long fuzzing: every
# libFuzzer target for FUZZ_LONG_SECONDS (default 60 s each), then >= 100k
# hostile HTTP requests against this stack's gateway.  Figures go to
# $OPENRISK_RUN_DIR/figures/ for docs/RELIABILITY.md.
set -uo pipefail
. "$(dirname "$0")/../lib/suite.sh"
cd "$ROOT"
SECONDS_EACH=${FUZZ_LONG_SECONDS:-60}
REQUESTS=${HTTP_FUZZ_LONG_REQUESTS:-100000}
FIG=$OPENRISK_RUN_DIR/figures
OUT=$OPENRISK_RUN_DIR/fuzz
mkdir -p "$FIG"
make -s -C gateway/fuzz OUT="$OUT" SECONDS="$SECONDS_EACH" run 2>&1 | tee "$FIG/libfuzzer.txt" | grep '^FUZZ ' >"$FIG/libfuzzer-summary.txt"
cat "$FIG/libfuzzer-summary.txt"
while read -r _ target execs crashes; do
	check "$target: ${execs#execs=} executions in ${SECONDS_EACH}s, $crashes" test "$crashes" = crashes=0
done <"$FIG/libfuzzer-summary.txt"
check "all 5 targets ran" test "$(wc -l <"$FIG/libfuzzer-summary.txt")" = 5

"$ROOT/tools/services.d/20-gateway.sh" start >/dev/null 2>&1 || true
pid=$(cat "$OPENRISK_RUN_DIR/gateway.pid")
out=$(timeout 3600 /usr/bin/python3 test/reliability/http_fuzz.py --requests "$REQUESTS" --pid "$pid" --seconds 3000 2>&1)
rc=$?
echo "$out" | tail -12 | cut -c1-300
echo "$out" | tail -1 >"$FIG/http-fuzz.txt"
check "$REQUESTS hostile HTTP requests: 0 crashes, 0 hangs, 0 malformed, 0 500s" test $rc = 0
check "the gateway survived" kill -0 "$pid"
finish fuzz-long
