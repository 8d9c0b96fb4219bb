#!/usr/bin/env bash
# tools/env.sh -- `make -s env`: export lines for the running stack.
set -euo pipefail
. "$(dirname "$0")/common.sh"
echo "export PGHOST=$PG_SOCKET_DIR PGPORT=$OPENRISK_PGPORT PGDATABASE=$OPENRISK_DB PGUSER=postgres"
"$ROOT/tools/replicas.sh" env
for s in "$ROOT"/tools/services.d/*.sh; do
	[ -x "$s" ] && "$s" env
done
exit 0
