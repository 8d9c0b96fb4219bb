#!/usr/bin/env bash
# test/suites/70-freshness.sh -- no read that started after a commit
# returned may miss it, through SQL and through the
# gateway, at 1 %, 10 % and 50 % writes; and the checker itself must
# catch staleness when the cache is deliberately poisoned or an
# invalidation trigger is switched off (a checker that cannot fail proves
# nothing).  The >= 100k-read runs live in test/suites-long/70-freshness-long.sh.
set -uo pipefail
. "$(dirname "$0")/../lib/suite.sh"
cd "$ROOT"
PY=/usr/bin/python3
FRESH=test/reliability/freshness.py
READS=${FRESHNESS_READS:-20000}

"$ROOT/tools/services.d/20-gateway.sh" start >/dev/null 2>&1 || true

run() { # run DESCRIPTION ARGS... -> pass when the checker exits 0
	local what=$1 out
	shift
	out=$(timeout 300 $PY $FRESH "$@" 2>&1)
	local rc=$?
	echo "$out" | tail -6 | sed 's/^/# /'
	if [ $rc = 0 ]; then pass "$what"; else fail "$what"; fi
	LAST=$(echo "$out" | grep '^FRESHNESS' | tail -1)
}
field() { echo "$LAST" | grep -oE " $1=[0-9.]+" | cut -d= -f2; }

for mode in sql http; do
	for pct in 1 10 50; do
		run "$mode, $pct % writes, $READS reads: 0 stale, 0 wrong, 0 errors" --mode $mode --write-pct $pct --reads "$READS"
		# at low write rates most reads must be hits, or the test proves nothing about the cache
		if [ "$pct" != 50 ]; then
			check "$mode, $pct % writes: the cache served hits (hit rate $(field hit_rate) >= 0.3)" \
				awk -v h="$(field hit_rate)" 'BEGIN { exit !(h >= 0.3) }'
		fi
	done
done

# The checker can fail: a poisoned cache entry (a stale risk_get JSON
# cache_put() over and over) must be reported as stale, by SQL and HTTP.
run "poisoned cache (SQL): the checker reports stale reads" --mode sql --reads 5000 --sabotage poison --expect-stale
run "poisoned cache (HTTP): the checker reports stale reads" --mode http --reads 5000 --sabotage poison --expect-stale

# ... and so must a missing invalidation, in a scratch database only.
scratch=openrisk_fresh_broken
if psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $scratch" -c "CREATE DATABASE $scratch" >/dev/null 2>&1 &&
	psql -X -q -d $scratch -c "CREATE EXTENSION openrisk CASCADE" >/dev/null 2>&1; then
	run "update invalidation trigger disabled: the checker reports stale reads" \
		--mode sql --reads 5000 --db $scratch --sabotage no-invalidation --expect-stale
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $scratch" >/dev/null 2>&1
else
	fail "could not create the scratch database $scratch"
fi

finish freshness
