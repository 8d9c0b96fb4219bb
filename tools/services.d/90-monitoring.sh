#!/usr/bin/env bash
# tools/services.d/90-monitoring.sh -- hook monitoring into `make stop`.
#
# Monitoring is opt-in (`make monitoring` = tools/monitoring.sh start), so
# `make run` does not start it and `make env` / the banner say nothing;
# but once started it must not outlive the stack it watches, so `stop`
# stops it.  Numbered 90 so it stops before the gateway and the cluster
# (stop runs in reverse order) and its last scrapes see them healthy.
set -euo pipefail
case "${1:-}" in
stop) exec "$(dirname "$0")/../monitoring.sh" stop ;;
start | env | banner) exit 0 ;;
*)
	echo "usage: $0 start|stop|env|banner" >&2
	exit 1
	;;
esac
