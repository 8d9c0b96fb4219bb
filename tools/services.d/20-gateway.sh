#!/usr/bin/env bash
# tools/services.d/20-gateway.sh -- the REST gateway as a `make run` service.
#
#   start    build if needed, load demo data once, start openrisk-gateway in
#            the background (pid and log in the run folder), wait for /ready;
#            with the standbys of `make run REPLICAS=N` as its --replicas
#            (restarted when that list changed)
#   stop     SIGTERM (the gateway drains in-flight requests), then wait
#   env      export OPENRISK_URL, OPENRISK_METRICS_URL, OPENRISK_TENANT
#   banner   ready-to-paste curl lines with development tokens
#   token ROLE [TENANT]   print one development token (tools/token.sh)
#
# The development JWT secret is generated once into the run folder (mode
# 600) and handed to the gateway as a file, so it never appears in `ps`.
# The gateway connects over the unix socket as its own role
# ($OPENRISK_GATEWAY_ROLE, made by tools/cluster.sh): a member of the
# extension's group roles and pg_monitor, not the superuser
# (docs/SECURITY.md, "Database roles").
set -euo pipefail
. "$(dirname "$0")/../common.sh"

GW_BIN=$OPENRISK_GATEWAY_BIN
PID_FILE=$OPENRISK_RUN_DIR/gateway.pid
REPLICAS_FILE=$OPENRISK_RUN_DIR/gateway.replicas # the list the running gateway was given
LOG_FILE=$LOG_DIR/gateway.log
SECRET_FILE=$OPENRISK_RUN_DIR/jwt.secret
DEMO_TENANT=00000000-0000-4000-8000-000000000001
BASE=http://127.0.0.1:$OPENRISK_HTTP_PORT

ensure_secret() {
	if [ ! -s "$SECRET_FILE" ]; then
		mkdir -p "$OPENRISK_RUN_DIR"
		(umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n/+=' >"$SECRET_FILE")
	fi
	chmod 600 "$SECRET_FILE"
}

gateway_env() {
	export OPENRISK_DSN=$GATEWAY_DSN
	export OPENRISK_LISTEN=127.0.0.1:$OPENRISK_HTTP_PORT
	export OPENRISK_METRICS_LISTEN=127.0.0.1:$OPENRISK_METRICS_PORT
	export OPENRISK_JWT_SECRET_FILE=$SECRET_FILE
	unset OPENRISK_JWT_SECRET
	# the standbys of `make run REPLICAS=N` (none: an empty list)
	eval "$("$ROOT/tools/replicas.sh" env)"
	export OPENRISK_REPLICA_DSNS
}

is_running() {
	local pid
	[ -f "$PID_FILE" ] || return 1
	pid=$(cat "$PID_FILE")
	kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q openrisk-gateway
}

# Demo data once: only when the endpoint schema exists and has no tenant.
load_demo_data() {
	local empty
	empty=$("$PGBIN/psql" -X -q -tAc "SELECT to_regclass('openrisk.tenants') IS NOT NULL
		AND to_regprocedure('openrisk.generate_demo_data(integer,integer,integer)') IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM openrisk.tenants)" 2>/dev/null || echo f)
	if [ "$empty" = t ]; then
		say "loading demo data (3 tenants x 200 risks)"
		"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -c "SELECT openrisk.generate_demo_data(3, 200, 42)" >/dev/null ||
			say "warning: demo data could not be loaded"
	fi
}

start() {
	[ -x "$GW_BIN" ] || make -s -C "$(dirname "$GW_BIN")" >/dev/null
	ensure_secret
	load_demo_data
	gateway_env
	# a rebuilt binary, or another set of standbys, replaces the running one
	if is_running && [ "$GW_BIN" -nt "$PID_FILE" ]; then
		say "new openrisk-gateway binary: restarting it"
		stop
	elif is_running && [ "$(cat "$REPLICAS_FILE" 2>/dev/null)" != "$OPENRISK_REPLICA_DSNS" ]; then
		say "the standbys changed: restarting openrisk-gateway"
		stop
	fi
	if ! is_running; then
		mkdir -p "$LOG_DIR"
		say "starting openrisk-gateway on $BASE (log: $LOG_FILE)"
		setsid "$GW_BIN" </dev/null >>"$LOG_FILE" 2>&1 &
		echo $! >"$PID_FILE"
		echo "$OPENRISK_REPLICA_DSNS" >"$REPLICAS_FILE"
	fi
	for _ in $(seq 100); do
		curl -fs -o /dev/null "$BASE/ready" && return 0
		is_running || { tail -5 "$LOG_FILE" >&2; die "openrisk-gateway exited during start-up"; }
		sleep 0.1
	done
	say "warning: openrisk-gateway is up but not ready (is PostgreSQL reachable?)"
}

stop() {
	local pid
	is_running || { rm -f "$PID_FILE"; return 0; }
	pid=$(cat "$PID_FILE")
	say "stopping openrisk-gateway"
	kill -TERM "$pid"
	for _ in $(seq 150); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
	rm -f "$PID_FILE"
}

token() {
	local role=${1:-viewer} tenant=${2:-$DEMO_TENANT}
	[ -x "$GW_BIN" ] || make -s -C "$(dirname "$GW_BIN")" >/dev/null
	ensure_secret
	OPENRISK_JWT_SECRET_FILE=$SECRET_FILE "$GW_BIN" token --role "$role" --tenant "$tenant"
}

banner() {
	is_running || return 0
	cat <<MSG

  REST gateway: $BASE/api/v1   (metrics: http://127.0.0.1:$OPENRISK_METRICS_PORT/metrics)
  demo tenant $DEMO_TENANT; development tokens valid 24 h:
    viewer:  curl -s -H "Authorization: Bearer $(token viewer)" $BASE/api/v1/stats
    analyst: curl -s -H "Authorization: Bearer $(token analyst)" '$BASE/api/v1/risks?page_size=5'
    admin:   curl -s -H "Authorization: Bearer $(token admin)" $BASE/api/v1/cache/stats
  another token: make -s token ROLE=viewer|analyst|admin [TENANT=<uuid>]
MSG
	[ -n "$(cat "$REPLICAS_FILE" 2>/dev/null)" ] &&
		echo "  cached reads go to the standbys (X-Upstream says which); writes answer X-Commit-LSN, send it back as X-Min-LSN"
	return 0
}

case "${1:-}" in
start) start ;;
stop) stop ;;
env)
	echo "export OPENRISK_URL=$BASE/api/v1 OPENRISK_METRICS_URL=http://127.0.0.1:$OPENRISK_METRICS_PORT/metrics OPENRISK_TENANT=$DEMO_TENANT"
	;;
banner) banner ;;
token)
	shift
	token "$@"
	;;
*) die "usage: $0 start|stop|env|banner|token ROLE [TENANT]" ;;
esac
