#!/usr/bin/env bash
# test/suites/20-engine.sh -- the cache engine: PGXS regression and
# isolation specs, pgTAP API tests, NOTIFY and PREPARE behaviour (pytest,
# test/engine), and a
# second throwaway cluster for a tiny cache (eviction) and for running
# without shared_preload_libraries.
set -uo pipefail
. "$(dirname "$0")/../lib/suite.sh"
cd "$ROOT"

# 1. make -C extension installcheck: regression + isolation specs
out=$(make -s -C extension installcheck 2>&1)
echo "$out" | grep -E '^(test|not ok|ok) '
SUITE_PASSED=$((SUITE_PASSED + $(echo "$out" | grep -cE '^(test|ok) .* ok ')))
SUITE_FAILED=$((SUITE_FAILED + $(echo "$out" | grep -cE '^(test|not ok) .*(FAILED|failed)')))
echo "$out" | grep -qE 'All [0-9]+ tests passed' || fail "installcheck did not pass (see extension/test/regression.diffs, extension/output_iso/)"

# 2. pgTAP on the main cluster
db=openrisk_engine_test
fresh_db $db || fail "could not create $db"
run_pgtap $db test/pgtap/20_engine_api.sql test/pgtap/21_engine_permissions.sql

# 3. NOTIFY at commit and PREPARE TRANSACTION, from client sessions
OPENRISK_ENGINE_DSN="dbname=$db" run_pytest test/engine 120

# 4. a second, tiny cluster: eviction, then no preloading
small_dir=$OPENRISK_RUN_DIR/small-cluster
small_port=$((OPENRISK_PGPORT + 10))
small() { psql -X -h "$small_dir" -p $small_port "$@"; }
rm -rf "$small_dir"
as_postgres mkdir -p "$small_dir"
as_postgres "$PGBIN/initdb" -D "$small_dir/data" -U postgres --auth=trust >/dev/null 2>&1 || fail "initdb of the small cluster"
start_small() { # start_small EXTRA_CONF
	printf "port = %s\nlisten_addresses = ''\nunix_socket_directories = '%s'\n%s\n" \
		$small_port "$small_dir" "$1" | as_postgres tee "$small_dir/data/postgresql.auto.conf" >/dev/null
	as_postgres "$PGBIN/pg_ctl" -D "$small_dir/data" -l "$small_dir/log" -w -t 30 start >/dev/null
}
stop_small() { as_postgres "$PGBIN/pg_ctl" -D "$small_dir/data" -m immediate -w stop >/dev/null 2>&1; }

if start_small "shared_preload_libraries = 'openrisk'
openrisk.cache_memory = '1MB'
openrisk.cache_max_entries = 128"; then
	fresh_db t -h "$small_dir" -p $small_port
	PGTAP_PSQL_OPTS="-h $small_dir -p $small_port" run_pgtap t test/pgtap/25_engine_small_cache.sql

	# a backend killed while holding cache locks: the postmaster's
	# crash restart leaves an empty, working cache
	small -d t -q -c "SELECT openrisk.cache_put('crash:1', 'x')" >/dev/null
	small -d t -q -c "SELECT count(openrisk.cache_put('crash:' || g, repeat('z', 3000))) FROM generate_series(1, 50000000) g" >/dev/null 2>&1 &
	victim=
	for _ in $(seq 50); do
		victim=$(small -d t -A -t -c "SELECT pid FROM pg_stat_activity WHERE query LIKE '%generate_series(1, 50000000)%' AND pid <> pg_backend_pid() LIMIT 1")
		[ -n "$victim" ] && break
		sleep 0.1
	done
	sleep 0.3
	kill -9 "$victim" 2>/dev/null
	wait
	check "a backend was SIGKILLed while storing" grep -q "terminated by signal 9: Killed" "$small_dir/log"
	for _ in $(seq 50); do small -d t -A -t -c "SELECT 1" >/dev/null 2>&1 && break; sleep 0.2; done
	check "after a backend is SIGKILLed mid-store the cache comes back empty" \
		test "$(small -d t -A -t -c "SELECT entries FROM openrisk.cache_stats")" = 0
	check "and working" test "$(small -d t -A -t -c "SELECT openrisk.cache_put('after', 'y')::text || openrisk.cache_get('after')")" = "truey"
	stop_small
else
	fail "the small cluster did not start"
fi

if start_small ""; then
	warn=$(small -d postgres -q -c "DROP DATABASE IF EXISTS np" -c "CREATE DATABASE np" 2>&1 &&
		small -d np -q -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION openrisk CASCADE" 2>&1)
	check "CREATE EXTENSION without preloading warns once, saying how to enable it" \
		bash -c '[ "$(echo "$1" | grep -c "WARNING:  openrisk: the shared cache is not available")" = 1 ] && echo "$1" | grep -q "shared_preload_libraries"' _ "$warn"
	PGTAP_PSQL_OPTS="-h $small_dir -p $small_port" run_pgtap np test/pgtap/26_engine_not_preloaded.sql
	stop_small
else
	fail "the small cluster did not start without preloading"
fi
rm -rf "$small_dir"

finish engine
