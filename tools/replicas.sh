#!/usr/bin/env bash
# tools/replicas.sh -- hot standbys of the project's cluster (make run REPLICAS=N).
#
#   replicas.sh start N  make exactly N standbys run: create the missing ones
#                        (pg_basebackup over a physical replication slot),
#                        start stopped ones, restart those running an older
#                        openrisk.so, and remove the extra ones (stopped,
#                        slot dropped on the primary, folder deleted)
#   replicas.sh stop     stop every standby (kept, with its slot, for the next start)
#   replicas.sh count    how many standbys exist
#   replicas.sh env      export line for OPENRISK_REPLICA_DSNS (empty without standbys)
#   replicas.sh dsn I    the libpq connection string of standby I
#   replicas.sh banner   one line per standby for `make run`'s message
#
# Standby I lives in $OPENRISK_RUN_DIR/replicas/I, listens on
# OPENRISK_PGPORT + I (the primary's socket folder and 127.0.0.1), streams
# from the primary through slot openrisk_replica_I, with hot_standby and
# hot_standby_feedback on, and otherwise the primary's own settings
# (tools/cluster.sh conf), so openrisk is preloaded with the same WAL
# resource manager id, plus its own folder's extra.conf if there is one.  Ports +7..+9 are left to the test suites, so N <= 6.
set -euo pipefail
. "$(dirname "$0")/common.sh"

MAX_REPLICAS=6
REPLICA_ROOT=$OPENRISK_RUN_DIR/replicas
SO=$("$PGBIN/pg_config" --pkglibdir)/openrisk.so

port_of() { echo $((OPENRISK_PGPORT + $1)); }
dir_of() { echo "$REPLICA_ROOT/$1"; }
slot_of() { echo "openrisk_replica_$1"; }
# a libpq URI: no spaces, so a list of them can be space-separated
dsn_of() { echo "postgresql:///$OPENRISK_DB?host=$PG_SOCKET_DIR&port=$(port_of "$1")&user=postgres"; }
existing() { [ -d "$REPLICA_ROOT" ] && ls -1 "$REPLICA_ROOT" | grep -E '^[0-9]+$' | sort -n || true; }
is_up() { "$PGBIN/pg_isready" -q -h "$PG_SOCKET_DIR" -p "$(port_of "$1")" 2>/dev/null; }
primary() { "$PGBIN/psql" -X -q -tA -h "$PG_SOCKET_DIR" -p "$OPENRISK_PGPORT" -d postgres -c "$1"; }
sysid() { primary "SELECT system_identifier FROM pg_control_system()"; }

conf_of() { # the primary's settings, then the standby's (later lines win)
	"$ROOT/tools/cluster.sh" conf
	cat <<CONF
# standby $1, written by tools/replicas.sh
port = $(port_of "$1")
hot_standby = on
hot_standby_feedback = on
primary_conninfo = 'host=$PG_SOCKET_DIR port=$OPENRISK_PGPORT user=postgres application_name=$(slot_of "$1")'
primary_slot_name = '$(slot_of "$1")'
CONF
	# settings for this standby only (the test suites use it)
	[ -f "$(dir_of "$1")/extra.conf" ] && cat "$(dir_of "$1")/extra.conf"
	return 0
}

stop_one() {
	local d
	d=$(dir_of "$1")/pgdata
	[ -f "$d/postmaster.pid" ] || return 0
	say "stopping standby $1"
	as_postgres "$PGBIN/pg_ctl" -D "$d" -m fast -w -t 60 stop >/dev/null || true
}

drop_slot() { # once its walsender is gone
	local s
	s=$(slot_of "$1")
	for _ in $(seq 100); do
		[ "$(primary "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$s' AND active")" = 0 ] && break
		sleep 0.1
	done
	primary "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$s'" >/dev/null
}

remove_one() {
	say "removing standby $1 (its slot $(slot_of "$1") is dropped)"
	stop_one "$1"
	drop_slot "$1"
	rm -rf "$(dir_of "$1")"
}

create_one() {
	local i=$1 d
	d=$(dir_of "$i")
	say "creating standby $i on port $(port_of "$i") (pg_basebackup, slot $(slot_of "$i"))"
	rm -rf "$d"
	as_postgres mkdir -p "$d"
	drop_slot "$i"
	as_postgres "$PGBIN/pg_basebackup" -h "$PG_SOCKET_DIR" -p "$OPENRISK_PGPORT" -U postgres \
		-D "$d/pgdata" -X stream -C -S "$(slot_of "$i")" --checkpoint=fast >"$LOG_DIR/replica$i-basebackup.log" 2>&1 ||
		{ tail -5 "$LOG_DIR/replica$i-basebackup.log" >&2; die "pg_basebackup for standby $i failed"; }
	as_postgres touch "$d/pgdata/standby.signal"
	sysid | as_postgres tee "$d/primary.sysid" >/dev/null
}

start_one() {
	local i=$1 d sum
	d=$(dir_of "$i")
	# a standby of an earlier primary (the cluster was recreated) is rebuilt
	if [ ! -f "$d/pgdata/PG_VERSION" ] || [ "$(cat "$d/primary.sysid" 2>/dev/null)" != "$(sysid)" ]; then
		stop_one "$i"
		create_one "$i"
	fi
	conf_of "$i" | as_postgres tee "$d/pgdata/openrisk.conf" >/dev/null
	sum=$(md5sum "$SO" | cut -d' ' -f1)
	if is_up "$i" && [ "$(cat "$d/openrisk.so.md5" 2>/dev/null)" != "$sum" ]; then
		say "new openrisk.so installed: restarting standby $i"
		stop_one "$i"
	fi
	if ! is_up "$i"; then
		say "starting standby $i on port $(port_of "$i") (log: $LOG_DIR/replica$i.log)"
		as_postgres "$PGBIN/pg_ctl" -D "$d/pgdata" -l "$LOG_DIR/replica$i.log" -w -t 120 start >/dev/null ||
			{ tail -20 "$LOG_DIR/replica$i.log" >&2; die "standby $i did not start"; }
	fi
	echo "$sum" >"$d/openrisk.so.md5"
	for _ in $(seq 300); do
		[ "$(primary "SELECT count(*) FROM pg_stat_replication WHERE application_name = '$(slot_of "$i")' AND state = 'streaming'")" = 1 ] && return 0
		sleep 0.1
	done
	die "standby $i does not stream from the primary (see $LOG_DIR/replica$i.log)"
}

start() {
	local n=$1 i
	[[ $n =~ ^[0-9]+$ ]] && [ "$n" -le $MAX_REPLICAS ] || die "REPLICAS must be a number from 0 to $MAX_REPLICAS, not '$n'"
	for i in $(existing); do
		[ "$i" -gt "$n" ] && remove_one "$i"
	done
	for ((i = 1; i <= n; i++)); do start_one "$i"; done
	return 0
}

case "${1:-}" in
start) start "${2:-0}" ;;
stop) for i in $(existing); do stop_one "$i"; done ;;
count) existing | wc -l ;;
env)
	dsns=""
	for i in $(existing); do dsns+="${dsns:+ }$(dsn_of "$i")"; done
	echo "export OPENRISK_REPLICA_DSNS='$dsns'"
	;;
dsn) dsn_of "${2:?standby number}" ;;
banner) for i in $(existing); do echo "  standby $i:  psql \"$(dsn_of "$i")\""; done ;;
*) die "usage: $0 start N|stop|count|env|dsn I|banner" ;;
esac
