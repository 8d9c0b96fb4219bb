#!/usr/bin/env bash
# tools/bench-http.sh -- `make bench-http`: glue only.  Starts the stack if
# needed; tools/lib/bench_http.py measures the gateway against the shared
# ceiling gateway and prints medians and ratios.
set -euo pipefail
. "$(dirname "$0")/common.sh"
"$ROOT/tools/run.sh" >/dev/null
export ROOT PGBIN OPENRISK_PGPORT OPENRISK_DB OPENRISK_HTTP_PORT OPENRISK_RUN_DIR PGDATA_DIR PG_SOCKET_DIR LOG_DIR OPENRISK_GATEWAY_BIN
exec /usr/bin/python3 "$ROOT/tools/lib/bench_http.py" "$@"
