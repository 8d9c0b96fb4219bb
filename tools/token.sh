#!/usr/bin/env bash
# tools/token.sh -- `make -s token ROLE=viewer|analyst|admin [TENANT=<uuid>]`:
# print one development JWT signed with the run folder's secret, the one
# the gateway of this stack verifies with.  Defaults: viewer of the demo
# tenant.
set -euo pipefail
exec "$(dirname "$0")/services.d/20-gateway.sh" token "${1:-viewer}" "${2:-}"
