#!/usr/bin/env bash
# tools/bench-replicas.sh -- `make bench-replicas`: cached reads on a hot
# standby vs the primary, the write cost of the WAL invalidation records,
# and commit -> invalidated-on-standby latency (tools/lib/bench-replicas.py
# measures and prints; this prepares the database and a standby); then the
# same cached read through the gateway, routed to the standby vs to the
# primary (tools/lib/bench-replicas-gateway.sh).
#
# Uses standby 1 of `make run REPLICAS=N` when there is one; otherwise
# starts one for the run and removes it (and its slot) afterwards.
set -euo pipefail
. "$(dirname "$0")/common.sh"
export PATH=$PGBIN:$PATH
"$ROOT/tools/cluster.sh" status || die "PostgreSQL is not running: run 'make run' (or 'make run REPLICAS=1') first"

DB=openrisk_bench_replicas
had=$("$ROOT/tools/replicas.sh" count)
if [ "$had" = 0 ]; then
	say "no standby running: starting one for this run"
	"$ROOT/tools/replicas.sh" start 1
	trap '"$ROOT/tools/replicas.sh" start 0' EXIT
fi

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psql -X -q -d $DB -c "CREATE EXTENSION openrisk CASCADE"
psql -X -q -d $DB -v ON_ERROR_STOP=1 -f "$ROOT/bench/sql/setup.sql" >/dev/null
primary="postgresql:///$DB?host=$PG_SOCKET_DIR&port=$OPENRISK_PGPORT&user=postgres"
standby=$("$ROOT/tools/replicas.sh" dsn 1 | sed "s|///$OPENRISK_DB?|///$DB?|")
# the standby must have replayed the set-up before it is read
lsn=$(psql -X -tA -d $DB -c "SELECT pg_current_wal_insert_lsn()")
for _ in $(seq 600); do
	[ "$(psql -X -tA "$standby" -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'" 2>/dev/null)" = t ] && break
	sleep 0.1
done

PGBIN=$PGBIN /usr/bin/python3 "$ROOT/tools/lib/bench-replicas.py" "$primary" "$standby"
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB"
# the same comparison through the gateway (tools/lib/bench-replicas-gateway.sh)
"$ROOT/tools/lib/bench-replicas-gateway.sh"
