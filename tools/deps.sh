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
# npm comes with NodeSource's nodejs; Debian's own nodejs needs the npm package
command -v npm >/dev/null || missing+=(npm)

# The contract tools (test/contract: @redocly/cli, @stoplight/prism-cli),
# exactly as package-lock.json pins them, from the npm registry.  `npm ci`
# only when the lock file changed since the last install (a stamp in
# node_modules), so `make test` pays for it once.
contract_tools() {
	local dir=$ROOT/test/contract stamp=$ROOT/test/contract/node_modules/.openrisk-lock.md5 sum
	sum=$(md5sum "$dir/package-lock.json" | cut -d' ' -f1)
	[ "$(cat "$stamp" 2>/dev/null)" = "$sum" ] && [ -x "$dir/node_modules/.bin/prism" ] && return 0
	say "installing the contract tools (npm ci in test/contract)"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci in test/contract failed"
	echo "$sum" >"$stamp"
}

if [ ${#missing[@]} -eq 0 ]; then
	contract_tools
	exit 0
fi
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
contract_tools
# Likewise HAProxy's system service: the tests run their own, with deploy/haproxy.cfg.
if [[ " ${missing[*]} " == *" haproxy "* ]] && [ -x /etc/init.d/haproxy ]; then
	/etc/init.d/haproxy stop >/dev/null 2>&1 || true
fi
