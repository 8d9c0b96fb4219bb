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

# Run pgTAP files one by one; every "ok"/"not ok" line counts, and a file
# that dies (psql error, plan mismatch) counts as one more failure.
run_pgtap() { # run_pgtap DB FILE... (extra psql options in PGTAP_PSQL_OPTS)
	local db=$1 f out p n
	shift
	for f in "$@"; do
		echo "# $f"
		out=$(psql -X -q -A -t ${PGTAP_PSQL_OPTS:-} -d "$db" -v ON_ERROR_STOP=1 -f "$f" 2>&1)
		local rc=$?
		echo "$out" | grep -E '^(not )?ok |^#|ERROR|^1\.\.'
		p=$(echo "$out" | grep -cE '^ok ')
		n=$(echo "$out" | grep -cE '^not ok ')
		SUITE_PASSED=$((SUITE_PASSED + p))
		SUITE_FAILED=$((SUITE_FAILED + n))
		if [ $rc != 0 ] || echo "$out" | grep -q "Looks like you planned"; then
			SUITE_FAILED=$((SUITE_FAILED + 1))
			echo "not ok - $f did not complete cleanly (exit $rc)"
		fi
	done
}

finish() { # finish NAME
	echo "SUITE $1 $SUITE_PASSED $SUITE_FAILED"
	[ "$SUITE_FAILED" = 0 ]
}
