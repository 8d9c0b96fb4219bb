# test/lib/suite.sh -- helpers for test/suites/*.sh (sourced).
#
# A suite counts what it checks with pass/fail, runs pgTAP files with
# run_pgtap, and ends with `finish NAME`, which prints the line
# tools/run-tests.sh reads: `SUITE <name> <passed> <failed>`.

. "$(dirname "${BASH_SOURCE[0]}")/../../tools/common.sh"
export PATH=$PGBIN:$PATH

SUITE_PASSED=0
SUITE_FAILED=0

pass() { SUITE_PASSED=$((SUITE_PASSED + 1)); echo "ok - $*"; }
fail() { SUITE_FAILED=$((SUITE_FAILED + 1)); echo "not ok - $*"; }
check() { # check "description" command...
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}
wait_for() { # wait_for SECONDS COMMAND...: until it succeeds (run again every 0.1 s)
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.1
	done
}

# A fresh database with the extension (and pgTAP) in it.
fresh_db() { # fresh_db NAME [psql connection options...]
	local db=$1
	shift
	psql -X -q "$@" -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null &&
		psql -X -q "$@" -d "$db" -v ON_ERROR_STOP=1 -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION openrisk CASCADE" >/dev/null
}

# The one pgTAP runner: pg_prove over the files, in the order given, each
# in its own psql session (statements commit one by one: invalidation takes
# effect at commit, and that is what the files check).  Every "ok"/"not ok"
# line counts; a file that dies or misses its plan (pg_prove says
# "Dubious" or "Parse errors") counts as one more failure.
run_pgtap() { # run_pgtap DB FILE... (connection options in PGTAP_PSQL_OPTS, e.g. "-h DIR -p PORT")
	local db=$1 out rc broken
	shift
	out=$(pg_prove --verbose --nocolor -d "$db" ${PGTAP_PSQL_OPTS:-} "$@" 2>&1)
	rc=$?
	echo "$out" | grep -vE '^ok [0-9]+ '
	SUITE_PASSED=$((SUITE_PASSED + $(echo "$out" | grep -cE '^ok [0-9]+')))
	SUITE_FAILED=$((SUITE_FAILED + $(echo "$out" | grep -cE '^not ok [0-9]+')))
	broken=$(echo "$out" | grep -cE 'Dubious|Parse errors')
	SUITE_FAILED=$((SUITE_FAILED + broken))
	if [ $rc != 0 ] && [ "$broken" = 0 ] && ! echo "$out" | grep -qE '^not ok [0-9]+'; then
		fail "pg_prove failed without a failing assertion: $*"
	fi
}

# Run pytest in DIR (Debian's python3); its summary line gives the counts.
# "no tests ran" (exit 5), or a non-zero exit without a counted failure
# (a crash, a broken collection), counts as one more failure.
run_pytest() { # run_pytest DIR [TIMEOUT_SECONDS]
	local dir=$1 out rc summary p f
	out=$(cd "$dir" && timeout "${2:-600}" /usr/bin/python3 -m pytest -q -p no:cacheprovider \
		-o console_output_style=classic . 2>&1)
	rc=$?
	echo "$out"
	summary=$(echo "$out" | grep -E '^=*\s*[0-9]+ (passed|failed|error)' | tail -1)
	[ -z "$summary" ] && summary=$(echo "$out" | grep -E '[0-9]+ (passed|failed)' | tail -1)
	p=$(echo "$summary" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || echo 0)
	f=$(( $(echo "$summary" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || echo 0) +
		$(echo "$summary" | grep -oE '[0-9]+ errors?' | grep -oE '[0-9]+' || echo 0) ))
	SUITE_PASSED=$((SUITE_PASSED + p))
	SUITE_FAILED=$((SUITE_FAILED + f))
	if [ "$rc" = 5 ] || { [ "$rc" != 0 ] && [ "$f" = 0 ]; }; then
		fail "pytest in $dir exited $rc without a counted failure"
	fi
}

finish() { # finish NAME
	echo "SUITE $1 $SUITE_PASSED $SUITE_FAILED"
	[ "$SUITE_FAILED" = 0 ]
}
