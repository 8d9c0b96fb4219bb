#!/usr/bin/env bash
# tools/bench-sql.sh -- `make bench-sql`: glue only.  tools/lib/bench_sql.py
# runs the engine's pgbench pairs and prints their ratios, then the
# endpoint benchmarks (tools/lib/bench-endpoints.py).
set -euo pipefail
. "$(dirname "$0")/common.sh"
export PATH=$PGBIN:$PATH
"$ROOT/tools/cluster.sh" status || die "PostgreSQL is not running: run 'make run' first"
export ROOT PGBIN OPENRISK_PGPORT OPENRISK_DB OPENRISK_HTTP_PORT OPENRISK_RUN_DIR PGDATA_DIR PG_SOCKET_DIR LOG_DIR OPENRISK_GATEWAY_BIN
exec /usr/bin/python3 "$ROOT/tools/lib/bench_sql.py" "$@"
