#!/usr/bin/env bash
# tools/stop.sh -- `make stop`: stop every service `make run` started,
# in reverse order, then the standbys, then the cluster.
set -euo pipefail
. "$(dirname "$0")/common.sh"
shopt -s nullglob
services=("$ROOT"/tools/services.d/*.sh)
for ((i = ${#services[@]} - 1; i >= 0; i--)); do
	[ -x "${services[i]}" ] && "${services[i]}" stop
done
"$ROOT/tools/replicas.sh" stop
"$ROOT/tools/cluster.sh" stop
