#!/usr/bin/env bash
# test/suites/31-upgrade.sh -- ALTER EXTENSION openrisk UPDATE from the 1.0
# release (extension/sql/released/openrisk--1.0.sql, frozen) to the current
# version.
#
#   1. a database with the 1.0 release, demo data and writes made through
#      1.0's own functions (risks, mitigations, a delete);
#   2. ALTER EXTENSION openrisk UPDATE;
#   3. pgTAP (test/upgrade/after_update.sql): version, grants, back-filled
#      counters, aggregates_verify, endpoints against their oracles, a
#      write after the update;
#   4. its catalog (test/upgrade/catalog.sql: tables, columns, constraints,
#      indexes, functions with their code, settings and grants, triggers,
#      views) equals a fresh installation's, line for line.
set -uo pipefail
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
. "$(dirname "$0")/../lib/suite.sh"
cd "$ROOT"

up=openrisk_upgrade_test fresh=openrisk_upgrade_fresh
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
for db in $up $fresh; do
	q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null || fail "could not create $db"
done

check "the 1.0 release installs" q -d $up -c "CREATE EXTENSION pgtap" \
	-c "CREATE EXTENSION openrisk VERSION '1.0' CASCADE"
check "1.0 holds data written by its own functions" q -o /dev/null -d $up <<'SQL'
SELECT count(*) FROM openrisk.generate_demo_data(2, 150, 11);
SELECT openrisk.risk_create('00000000-0000-4000-8000-000000000001',
                            '{"title": "written by 1.0", "impact": 4, "probability": 4}');
SELECT openrisk.risk_update('00000000-0000-4000-8000-000000000001', id, '{"status": "ACTIVE", "impact": 2}')
  FROM openrisk.risks WHERE tenant_id = '00000000-0000-4000-8000-000000000001' ORDER BY id LIMIT 5;
SELECT openrisk.risk_delete('00000000-0000-4000-8000-000000000002', id)
  FROM openrisk.risks WHERE tenant_id = '00000000-0000-4000-8000-000000000002' ORDER BY id LIMIT 3;
UPDATE openrisk.mitigations SET status = 'DONE' WHERE id IN (SELECT id FROM openrisk.mitigations ORDER BY id LIMIT 7);
SELECT openrisk.dashboard_stats('00000000-0000-4000-8000-000000000001', 'all');  -- a cached 1.0 answer
SQL
v=$(psql -X -At -d $up -c "SELECT extversion FROM pg_extension WHERE extname = 'openrisk'")
check "it is version 1.0 before the update (got $v)" test "$v" = 1.0
check "ALTER EXTENSION openrisk UPDATE succeeds" q -d $up -c "ALTER EXTENSION openrisk UPDATE"
run_pgtap $up test/upgrade/after_update.sql

check "a fresh installation of the current version" q -d $fresh -c "CREATE EXTENSION openrisk CASCADE"
a=$(mktemp) b=$(mktemp)
psql -X -At -d $fresh -f test/upgrade/catalog.sql >"$a" 2>&1
psql -X -At -d $up -f test/upgrade/catalog.sql >"$b" 2>&1
n=$(wc -l <"$a")
if [ "$n" -gt 300 ] && diff -u "$a" "$b"; then
	pass "the updated catalog equals a fresh installation's ($n objects compared)"
else
	fail "the updated catalog differs from a fresh installation's ($n lines; diff above)"
fi
rm -f "$a" "$b"

for db in $up $fresh; do psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1; done
finish upgrade
