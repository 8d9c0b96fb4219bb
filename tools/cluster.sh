#!/usr/bin/env bash
# tools/cluster.sh -- the project's throwaway PostgreSQL 15 cluster.
#
#   cluster.sh start    create (first time) and start; create db + extension
#   cluster.sh stop     stop it (fast mode)
#   cluster.sh restart  restart it (needed after a new openrisk.so)
#   cluster.sh status   exit 0 when it accepts connections
#   cluster.sh psql ... psql against it as the superuser
#   cluster.sh conf     print the settings it runs with (standbys reuse them)
#
# The cluster is owned by the postgres OS user because initdb refuses to
# run as root.  It listens on a unix socket in the run folder and on
# 127.0.0.1 only, on a non-default port, with trust authentication: it is
# a development and test cluster, never a production one.
set -euo pipefail
. "$(dirname "$0")/common.sh"

conf() {
	cat <<CONF
# written by tools/cluster.sh -- development/test settings
listen_addresses = '127.0.0.1'
port = $OPENRISK_PGPORT
unix_socket_directories = '$PG_SOCKET_DIR'
shared_preload_libraries = 'openrisk'
max_connections = 200
shared_buffers = 256MB
logging_collector = off
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
max_prepared_transactions = 10
openrisk.cache_memory = '64MB'
# streaming replication to the standbys of 'make run REPLICAS=N' (tools/replicas.sh)
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
CONF
	[ -f "$OPENRISK_RUN_DIR/extra.conf" ] && cat "$OPENRISK_RUN_DIR/extra.conf"
	return 0
}

init_cluster() {
	[ -f "$PGDATA_DIR/PG_VERSION" ] && return 0
	say "creating cluster in $PGDATA_DIR (port $OPENRISK_PGPORT)"
	mkdir -p "$OPENRISK_RUN_DIR"
	chown postgres: "$OPENRISK_RUN_DIR"
	as_postgres mkdir -p "$PGDATA_DIR" "$PG_SOCKET_DIR" "$LOG_DIR"
	as_postgres "$PGBIN/initdb" -D "$PGDATA_DIR" -U postgres --auth=trust \
		-E UTF8 --locale=C.UTF-8 >"$LOG_DIR/initdb.log" 2>&1 ||
		{ cat "$LOG_DIR/initdb.log" >&2; die "initdb failed"; }
	echo "include_if_exists = 'openrisk.conf'" | as_postgres tee -a "$PGDATA_DIR/postgresql.conf" >/dev/null
}

is_up() { "$PGBIN/pg_isready" -q -h "$PG_SOCKET_DIR" -p "$OPENRISK_PGPORT" 2>/dev/null; }

start() {
	require_root run
	init_cluster
	as_postgres mkdir -p "$PG_SOCKET_DIR" "$LOG_DIR"
	conf | as_postgres tee "$PGDATA_DIR/openrisk.conf" >/dev/null
	if ! is_up; then
		say "starting PostgreSQL on port $OPENRISK_PGPORT (log: $LOG_DIR/postgresql.log)"
		as_postgres "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$LOG_DIR/postgresql.log" -w -t 60 start >/dev/null ||
			{ tail -20 "$LOG_DIR/postgresql.log" >&2; die "PostgreSQL did not start"; }
	fi
	"$PGBIN/psql" -X -q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$OPENRISK_DB'" | grep -q 1 ||
		"$PGBIN/createdb" "$OPENRISK_DB"
	# A new install script means new schema and functions.  This cluster is
	# throwaway development data, so the extension is recreated (the
	# gateway service reloads demo data into the empty tables).
	local script sum stamp=$OPENRISK_RUN_DIR/openrisk.sql.md5
	script=$("$PGBIN/pg_config" --sharedir)/extension/openrisk--$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$ROOT/extension/openrisk.control").sql
	sum=$(md5sum "$script" | cut -d' ' -f1)
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" != "$sum" ]; then
		say "the extension's SQL changed: recreating it in $OPENRISK_DB (development data is reloaded)"
		# sessions still using the old objects would deadlock with the DROP
		"$PGBIN/psql" -X -q -tAc "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		                           WHERE datname = current_database() AND pid <> pg_backend_pid()" >/dev/null
		PGOPTIONS="-c client_min_messages=warning" "$PGBIN/psql" -X -q -c "DROP EXTENSION IF EXISTS openrisk CASCADE"
	fi
	PGOPTIONS="-c client_min_messages=warning" "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION IF NOT EXISTS openrisk CASCADE" ||
		die "CREATE EXTENSION openrisk failed (see the error above)"
	echo "$sum" >"$stamp"
	# The gateway's login role: a member of the API's group roles (made by
	# the extension) and of pg_monitor (its stats poller reads
	# pg_stat_activity), nothing more.  Trust authentication on this
	# development cluster; give it a password or a certificate elsewhere.
	"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -v role="$OPENRISK_GATEWAY_ROLE" >/dev/null <<'SQL' ||
SELECT format('CREATE ROLE %I LOGIN', :'role') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('GRANT openrisk_reader, openrisk_writer, openrisk_admin, pg_monitor TO %I', :'role') \gexec
SQL
		die "could not create the gateway's role $OPENRISK_GATEWAY_ROLE"

}

stop() {
	[ -f "$PGDATA_DIR/PG_VERSION" ] || return 0
	if is_up || [ -f "$PGDATA_DIR/postmaster.pid" ]; then
		say "stopping PostgreSQL"
		as_postgres "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 60 stop >/dev/null || true
	fi
}

case "${1:-}" in
start) start ;;
stop) stop ;;
restart)
	stop
	start
	;;
status) is_up ;;
conf) conf ;;
psql)
	shift
	exec "$PGBIN/psql" -X "$@"
	;;
*) die "usage: $0 start|stop|restart|status|psql|conf" ;;
esac
