#!/usr/bin/env bash
# tools/deps.sh -- install the Debian packages the project needs, once.
#
# Idempotent and quick when everything is present: it asks dpkg first and
# only calls apt-get for what is missing, so `make run` and `make test`
# can call it every time.
set -euo pipefail
. "$(dirname "$0")/common.sh"

PACKAGES=(
	# build and server
	build-essential pkg-config postgresql-15 postgresql-server-dev-15 libpq-dev
	postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl
	# gateway
	libcivetweb-dev libjson-c-dev libssl-dev curl
	# tests, benchmarks, monitoring
	python3 python3-pytest python3-psycopg python3-requests python3-yaml wrk gnuplot-nox
	prometheus prometheus-alertmanager prometheus-postgres-exporter
	clang libclang-rt-14-dev valgrind nodejs clang-format
	# two gateways behind a load balancer (deploy/haproxy.cfg, test suite 75)
	haproxy
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
require_root "${1:-run}"
say "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's postinst creates and starts a default cluster on 5432 where it
# can; we use our own, so stop that one if it was started.
if command -v pg_ctlcluster >/dev/null && pg_lsclusters -h 2>/dev/null | grep -q '^15 *main .*online'; then
	pg_ctlcluster 15 main stop || true
fi
# Likewise HAProxy's system service: the tests run their own, with deploy/haproxy.cfg.
if [[ " ${missing[*]} " == *" haproxy "* ]] && [ -x /etc/init.d/haproxy ]; then
	/etc/init.d/haproxy stop >/dev/null 2>&1 || true
fi
