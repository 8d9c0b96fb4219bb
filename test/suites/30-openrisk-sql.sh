#!/usr/bin/env bash
# test/suites/30-openrisk-sql.sh -- OpenRisk's tables, endpoint functions,
# aggregates and invalidation triggers, proven with pgTAP and a randomized
# property test (test/reliability/aggregates_property.py).
#
# Runs test/pgtap/3*_*.sql (run_pgtap, test/lib/suite.sh), in name order, against one fresh
# database with the extension (30_helpers.sql installs the shared fixtures
# the later files use).  The files commit statement by statement, because
# invalidation only takes effect at commit and that is what they check.
# Every pgTAP assertion counts; a file that dies or misses its plan counts
# as one more failure.  The application's isolation specs
# (test/isolation/specs: a dashboard read racing a write, two writers of
# one tenant's aggregates) run here with pg_isolation_regress; the
# engine's own specs run with the extension's installcheck (suite 20).
set -uo pipefail
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
. "$(dirname "$0")/../lib/suite.sh"
cd "$ROOT"

db=openrisk_sql_test
fresh_db $db || fail "could not create $db"
psql -X -q -d $db -c "CREATE EXTENSION dblink" >/dev/null || fail "could not create dblink in $db"

run_pgtap $db test/pgtap/3*_*.sql

# The application's isolation specs, each in a fresh database that
# pg_isolation_regress creates with the extensions loaded.
iso_out=$OPENRISK_RUN_DIR/isolation-app
rm -rf "$iso_out" && mkdir -p "$iso_out"
specs=$(cd test/isolation/specs && ls *.spec | sed 's/\.spec$//')
out=$("$($PGBIN/pg_config --pkglibdir)/pgxs/src/test/isolation/pg_isolation_regress" \
	--inputdir=test/isolation --outputdir="$iso_out" --bindir="$PGBIN" --dbname=openrisk_isolation_app \
	--load-extension=pg_trgm --load-extension=btree_gin --load-extension=openrisk $specs 2>&1)
echo "$out" | grep -E '^(ok|not ok|test) '
for s in $specs; do
	if echo "$out" | grep -qE "^(ok|test) +[0-9]* *[-]? *$s +\.\.\. ok|^ok [0-9]+ +- $s "; then
		pass "isolation spec $s"
	else
		fail "isolation spec $s (diffs: $iso_out/regression.diffs)"
	fi
done

# The aggregates under long random sequences of writes, rollbacks and
# savepoints (>= 1000 operations per seed), and the same with the UPDATE
# aggregate trigger switched off, which must be caught.
prop() { # prop ARGS...: every TAP line counts
	local out
	out=$(timeout 600 /usr/bin/python3 test/reliability/aggregates_property.py --dsn "dbname=$db" "$@" 2>&1)
	echo "$out" | grep -vE '^ok '
	SUITE_PASSED=$((SUITE_PASSED + $(echo "$out" | grep -cE '^ok ')))
	SUITE_FAILED=$((SUITE_FAILED + $(echo "$out" | grep -cE '^not ok ')))
	echo "$out" | grep -qE '^(not )?ok ' || fail "aggregates_property.py $* printed no result"
}
prop --seeds 1,2,3 --ops 1000
prop --seeds 99 --ops 300 --sabotage --expect-failure

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
finish openrisk-sql
