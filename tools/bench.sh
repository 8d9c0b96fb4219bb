#!/usr/bin/env bash
# tools/bench.sh -- `make bench` / `make load [SCENARIO=...]`: glue only.
# The runner is tools/lib/bench_run.py (scenarios, cache switch restored on
# every exit, wrk runs, summary); this gives it the stack's settings from
# tools/common.sh.  Usage: tools/bench.sh --help.
set -euo pipefail
. "$(dirname "$0")/common.sh"
export ROOT PGBIN OPENRISK_PGPORT OPENRISK_DB OPENRISK_HTTP_PORT OPENRISK_RUN_DIR PGDATA_DIR PG_SOCKET_DIR LOG_DIR OPENRISK_GATEWAY_BIN
exec /usr/bin/python3 "$ROOT/tools/lib/bench_run.py" "$@"
