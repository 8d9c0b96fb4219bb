# tools/common.sh -- settings shared by every script of the project.
#
# Sourced, never run.  One place decides where the throwaway cluster lives,
# which ports the services use and how to reach them, so `make run`,
# `make test`, `make env` and the benchmarks can never disagree.
#
# Every value can be overridden from the environment, which is how helpers
# and CI run a second stack beside a developer's without clashing.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
OPENRISK_PGPORT=${OPENRISK_PGPORT:-55432}
OPENRISK_DB=${OPENRISK_DB:-openrisk}
OPENRISK_HTTP_PORT=${OPENRISK_HTTP_PORT:-8080}
OPENRISK_METRICS_PORT=${OPENRISK_METRICS_PORT:-2112}
# The gateway binary the stack and the tests run (make test-asan points it
# at a sanitizer build).
OPENRISK_GATEWAY_BIN=${OPENRISK_GATEWAY_BIN:-$ROOT/gateway/openrisk-gateway}

# The cluster must be writable by the postgres OS user (initdb refuses
# root).  The project's own .run/ is used when postgres can reach it;
# a clone under a private home directory falls back to /var/tmp.
run_dir_default() {
	local d="$ROOT/.run"
	if [ -z "${OPENRISK_RUN_DIR:-}" ]; then
		if id postgres >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
			mkdir -p "$d" && chown postgres: "$d" 2>/dev/null
			if ! runuser -u postgres -- test -w "$d" 2>/dev/null; then
				d=/var/tmp/openrisk-run-$(printf '%s' "$ROOT" | md5sum | cut -c1-8)
			fi
		fi
		OPENRISK_RUN_DIR=$d
	fi
}
run_dir_default
PGDATA_DIR=$OPENRISK_RUN_DIR/pgdata
PG_SOCKET_DIR=$OPENRISK_RUN_DIR/socket
LOG_DIR=$OPENRISK_RUN_DIR/log

# The gateway connects as its own login role, a member of the extension's
# group roles (openrisk_reader / _writer / _admin) and pg_monitor -- never
# as the superuser (tools/cluster.sh creates it; docs/SECURITY.md).
OPENRISK_GATEWAY_ROLE=${OPENRISK_GATEWAY_ROLE:-openrisk_gateway}
GATEWAY_DSN="host=$PG_SOCKET_DIR port=$OPENRISK_PGPORT dbname=$OPENRISK_DB user=$OPENRISK_GATEWAY_ROLE"

export PGHOST=$PG_SOCKET_DIR PGPORT=$OPENRISK_PGPORT PGDATABASE=$OPENRISK_DB PGUSER=postgres

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

require_root() {
	if [ "$(id -u)" != 0 ]; then
		die "this step installs packages and runs PostgreSQL as the postgres user; run it as root: sudo make ${1:-run}"
	fi
}

as_postgres() { runuser -u postgres -- "$@"; }
