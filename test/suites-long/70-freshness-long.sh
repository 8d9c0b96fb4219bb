#!/usr/bin/env bash
# test/suites-long/70-freshness-long.sh -- the freshness checker of suite 70
# at full size: >= 100k reads at 1 %, 10 % and 50 % writes,
# through SQL and through the gateway; every run must see 0 stale reads.
# Results are appended to $OPENRISK_RUN_DIR/figures/freshness.jsonl for
# docs/RELIABILITY.md.
set -uo pipefail
. "$(dirname "$0")/../lib/suite.sh"
cd "$ROOT"
READS=${FRESHNESS_LONG_READS:-100000}
FIG=$OPENRISK_RUN_DIR/figures
mkdir -p "$FIG"
"$ROOT/tools/services.d/20-gateway.sh" start >/dev/null 2>&1 || true
for mode in sql http; do
	for pct in 1 10 50; do
		out=$(timeout 1800 /usr/bin/python3 test/reliability/freshness.py --mode $mode --write-pct $pct \
			--reads "$READS" --timeout 1500 --json "$FIG/freshness.jsonl" 2>&1)
		rc=$?
		echo "$out" | tail -3
		check "$mode, $pct % writes, $READS reads: 0 stale, 0 wrong, 0 errors" test $rc = 0
	done
done
finish freshness-long
