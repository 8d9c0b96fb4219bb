#!/usr/bin/env bash
# tools/run.sh -- `make run`: bring the local stack up and say how to use it.
#
# Starts (or restarts, when a new openrisk.so was installed) the project's
# cluster, then REPLICAS hot standbys of it (tools/replicas.sh; default 0,
# and extra ones from an earlier run are removed), then every further
# service found in tools/services.d/ in name order, and prints how to
# connect.  Returns once everything is up.
set -euo pipefail
. "$(dirname "$0")/common.sh"
require_root run

# A new shared library only takes effect after a restart of the postmaster.
so=$("$PGBIN/pg_config" --pkglibdir)/openrisk.so
stamp=$OPENRISK_RUN_DIR/openrisk.so.md5
sum=$(md5sum "$so" | cut -d' ' -f1)
if "$ROOT/tools/cluster.sh" status && [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
	say "new openrisk.so installed: restarting PostgreSQL"
	"$ROOT/tools/cluster.sh" stop
fi
sql_before=$(cat "$OPENRISK_RUN_DIR/openrisk.sql.md5" 2>/dev/null || true)
"$ROOT/tools/cluster.sh" start
echo "$sum" >"$stamp"
"$ROOT/tools/replicas.sh" start "${REPLICAS:-0}"

# Recreated SQL objects invalidate the services' prepared statements.
if [ -n "$sql_before" ] && [ "$sql_before" != "$(cat "$OPENRISK_RUN_DIR/openrisk.sql.md5")" ]; then
	for s in "$ROOT"/tools/services.d/*.sh; do
		[ -x "$s" ] && "$s" stop
	done
fi
for s in "$ROOT"/tools/services.d/*.sh; do
	[ -x "$s" ] && "$s" start
done

cat <<MSG

openrisk is running.
  PostgreSQL: psql -h $PG_SOCKET_DIR -p $OPENRISK_PGPORT -U postgres $OPENRISK_DB
  or:         eval "\$(make -s env)"; psql
  logs:       $LOG_DIR
  stop with:  make stop
MSG
"$ROOT/tools/replicas.sh" banner
for s in "$ROOT"/tools/services.d/*.sh; do
	[ -x "$s" ] && "$s" banner
done
exit 0
