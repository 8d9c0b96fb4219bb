#!/usr/bin/env bash
# test/suites/61-monitoring-live.sh -- the monitoring stack against the real
# gateway and cluster: no dead query, and one alert all the way to "Slack".
#
# Starts Prometheus, Alertmanager and postgres_exporter natively with
# tools/monitoring.sh on their own ports (the configured ones + 1, so a
# running `make monitoring` is left alone) and run dir, with test-only
# timing: 2 s scrape/evaluation, every `for:` 10 s, group_wait 2 s.  Drives
# traffic through the gateway with curl, then asks Prometheus for every
# panel query, recording rule, alert operand and selector
# (test/monitoring/check_live.py).  Then it turns the cache off with
# ALTER SYSTEM (every backend, including the gateway's pooled ones, picks it
# up on reload), drives misses with wrk until LowCacheHitRate fires, and
# waits for the notification at a loopback HTTP receiver standing in for
# Slack, routed to #performance-alerts.  It restores the setting and stops
# everything it started, whatever happens.
# Token: OPENRISK_TOKEN if set, else `make -s token ROLE=viewer`.  Skips (0 0)
# until the gateway is part of `make run` (a tools/services.d/*gateway*.sh).
# Last line: SUITE monitoring-live <passed> <failed>.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tools/common.sh"
PY=/usr/bin/python3
pass=0 fail=0

ok() {
	echo "ok - $1"
	pass=$((pass + 1))
}
not_ok() {
	echo "not ok - $1"
	[ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/    /' | tail -20
	fail=$((fail + 1))
}
finish() {
	echo "SUITE monitoring-live $pass $fail"
	[ "$fail" = 0 ]
	exit
}
# poll <seconds> <command...>: retry every second until it succeeds.
poll() {
	local n=$1
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 1
	done
	return 1
}

# The gateway joins `make run` through a tools/services.d script; before it
# exists there is nothing to monitor, and that is not this suite's failure.
if ! compgen -G "$ROOT/tools/services.d/*gateway*.sh" >/dev/null; then
	echo "# SKIP: the gateway is not part of 'make run' yet (no tools/services.d/*gateway*.sh)"
	finish
fi

export OPENRISK_PROMETHEUS_PORT=$((${OPENRISK_PROMETHEUS_PORT:-19090} + 1))
export OPENRISK_ALERTMANAGER_PORT=$((${OPENRISK_ALERTMANAGER_PORT:-19093} + 1))
export OPENRISK_EXPORTER_PORT=$((${OPENRISK_EXPORTER_PORT:-19187} + 1))
export OPENRISK_MON_DIR=$OPENRISK_RUN_DIR/monitoring-test
export OPENRISK_MON_SCRAPE_INTERVAL=2s OPENRISK_MON_TEST_FOR=10s OPENRISK_MON_GROUP_WAIT=2s
export OPENRISK_SLACK_WEBHOOK_URL_FILE=$OPENRISK_MON_DIR/slack_webhook_url
RECEIVER_PORT=$((OPENRISK_PROMETHEUS_PORT + 1))
PROM=http://127.0.0.1:$OPENRISK_PROMETHEUS_PORT
received=$OPENRISK_MON_DIR/received.jsonl
API=$("$ROOT/tools/env.sh" 2>/dev/null | sed -nE 's/.*OPENRISK_URL=("?)([^" ]+)\1.*/\2/p' | head -1)
API=${API:-http://127.0.0.1:$OPENRISK_HTTP_PORT/api/v1}
psql_q() { "$PGBIN/psql" -X -q -tA -v ON_ERROR_STOP=1 -c "$1"; }

receiver_pid="" cache_changed=0
cleanup() {
	if [ $cache_changed = 1 ]; then
		psql_q "ALTER SYSTEM RESET openrisk.cache_enabled" && psql_q "SELECT pg_reload_conf()" >/dev/null
	fi
	"$ROOT/tools/monitoring.sh" stop 2>/dev/null
	[ -n "$receiver_pid" ] && kill "$receiver_pid" 2>/dev/null
}
trap cleanup EXIT

# --- preconditions: the stack this suite watches -------------------------
"$ROOT/tools/cluster.sh" status && ok "PostgreSQL is up" || { not_ok "PostgreSQL is up"; finish; }
if curl -fs -m 3 -o /dev/null "http://127.0.0.1:$OPENRISK_METRICS_PORT/metrics"; then
	ok "gateway metrics answer on 127.0.0.1:$OPENRISK_METRICS_PORT"
else
	not_ok "gateway metrics answer on 127.0.0.1:$OPENRISK_METRICS_PORT (is the gateway running? make run)"
	finish
fi
token=${OPENRISK_TOKEN:-$(cd "$ROOT" && make -s token ROLE=viewer 2>/dev/null)}
if [ -n "$token" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' -m 5 -H "Authorization: Bearer $token" "$API/stats")" = 200 ]; then
	ok "a viewer token from 'make -s token' reads $API/stats"
else
	not_ok "a viewer token from 'make -s token ROLE=viewer' reads $API/stats"
	finish
fi

# --- start the monitoring stack and the stand-in for Slack ---------------
# A fresh start: Alertmanager's notification log from an earlier run would
# (rightly) suppress a repeat of the same alert for repeat_interval.
"$ROOT/tools/monitoring.sh" stop 2>/dev/null
rm -rf "$OPENRISK_MON_DIR/data" "$received"
mkdir -p "$OPENRISK_MON_DIR"
echo "http://127.0.0.1:$RECEIVER_PORT/slack" >"$OPENRISK_SLACK_WEBHOOK_URL_FILE"
$PY "$ROOT/test/monitoring/webhook_receiver.py" "$RECEIVER_PORT" "$received" 300 &
receiver_pid=$!
if out=$("$ROOT/tools/monitoring.sh" start 2>&1); then ok "tools/monitoring.sh start"; else not_ok "tools/monitoring.sh start" "$out"; finish; fi
"$ROOT/tools/monitoring.sh" status >/dev/null && ok "tools/monitoring.sh status: all running" || not_ok "tools/monitoring.sh status: all running"

targets_up() {
	curl -fs "$PROM/api/v1/targets" | $PY -c '
import json, sys
t = json.load(sys.stdin)["data"]["activeTargets"]
sys.exit(0 if len(t) == 4 and all(x["health"] == "up" for x in t) else 1)'
}
if poll 30 targets_up; then
	ok "all four scrape targets are up (gateway, postgres_exporter, prometheus, alertmanager)"
else
	not_ok "all four scrape targets are up" "$(curl -s "$PROM/api/v1/targets" | head -c 2000)"
fi

# --- traffic through the gateway: every route the dashboard breaks down --
get() { curl -s -m 10 -H "Authorization: Bearer $token" "$@"; }
risk=$(get "$API/risks?page_size=1" | $PY -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])' 2>/dev/null)
connector=$(get "$API/marketplace/connectors?page_size=1" | $PY -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])' 2>/dev/null)
[ -n "$risk" ] && [ -n "$connector" ] && ok "demo data visible (a risk and a connector)" || not_ok "demo data visible (a risk and a connector)"
paths=(/risks "/risks?page=2" "/risks/search?q=access" /risks/matrix "/risks/$risk" /stats /stats/risk-matrix
	/stats/trends /marketplace/connectors "/marketplace/connectors/$connector" /no-such-route)
hits=0
for round in 1 2 3 4; do
	for p in "${paths[@]}"; do
		get -D - -o /dev/null "$API$p" | grep -qi '^x-cache: HIT' && hits=$((hits + 1))
	done
done
[ $hits -gt 0 ] && ok "warm traffic: $hits X-Cache HITs in 4 rounds over ${#paths[@]} routes" || not_ok "warm traffic produced X-Cache HITs"

recorded() { [ "$(curl -fs "$PROM/api/v1/query" --data-urlencode "query=$1" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["data"]["result"]))')" -gt 0 ]; }
poll 30 recorded 'openrisk:cache_hit_ratio:rate5m' || echo "# the hit ratio was not recorded within 30 s"
sleep 4 # two more scrapes, so every rate() has points after the traffic

# --- no dead query ---------------------------------------------------------
out=$($PY "$ROOT/test/monitoring/check_live.py" "$PROM" 1m 2>&1)
printf '%s\n' "$out"
pass=$((pass + $(grep -c '^ok - ' <<<"$out"))) fail=$((fail + $(grep -c '^not ok - ' <<<"$out")))
grep -q '^ok - ' <<<"$out" || not_ok "check_live.py ran no check"

# --- make LowCacheHitRate fire and reach the receiver ---------------------
cache_changed=1
psql_q "ALTER SYSTEM SET openrisk.cache_enabled = off" && psql_q "SELECT pg_reload_conf()" >/dev/null
[ "$(psql_q 'SHOW openrisk.cache_enabled')" = off ] && ok "cache disabled with ALTER SYSTEM + pg_reload_conf()" || not_ok "cache disabled"
xcache() { get -D - -o /dev/null "$API/risks" | tr -d '\r' | sed -nE 's/^[Xx]-[Cc]ache: *//p'; }
get -o /dev/null "$API/risks"
[ "$(xcache)" = MISS ] && ok "with the cache off the gateway answers X-Cache: MISS for a repeated GET" || not_ok "X-Cache: MISS with the cache off (got '$(xcache)')"

alert_firing() {
	curl -fs "$PROM/api/v1/alerts" | $PY -c '
import json, sys
a = json.load(sys.stdin)["data"]["alerts"]
sys.exit(0 if any(x["labels"]["alertname"] == "LowCacheHitRate" and x["state"] == "firing" for x in a) else 1)'
}
fired=0
for i in $(seq 1 15); do
	wrk -t1 -c4 -d4s -H "Authorization: Bearer $token" "$API/risks" >/dev/null 2>&1
	if alert_firing; then
		fired=1
		break
	fi
done
[ $fired = 1 ] && ok "LowCacheHitRate fires in Prometheus while misses dominate" ||
	not_ok "LowCacheHitRate fires in Prometheus" "$(curl -s "$PROM/api/v1/query" --data-urlencode 'query=openrisk:cache_hit_ratio:rate5m')"

notified() { grep -q LowCacheHitRate "$received" 2>/dev/null; }
if poll 60 notified; then
	ok "the LowCacheHitRate notification reached the local webhook through Alertmanager"
	channel=$($PY -c '
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    if "LowCacheHitRate" in json.dumps(m):
        print(m["body"].get("channel", "")); break' "$received")
	[ "$channel" = "#performance-alerts" ] && ok "it was routed to #performance-alerts (warning, category performance)" ||
		not_ok "routed to #performance-alerts (got '$channel')"
else
	not_ok "the LowCacheHitRate notification reached the local webhook" "$(tail -5 "$OPENRISK_MON_DIR/log/alertmanager.log")"
fi

# --- restore and stop ------------------------------------------------------
psql_q "ALTER SYSTEM RESET openrisk.cache_enabled" && psql_q "SELECT pg_reload_conf()" >/dev/null && cache_changed=0
[ "$(psql_q 'SHOW openrisk.cache_enabled')" = on ] && ok "cache setting restored" || not_ok "cache setting restored"
get -o /dev/null "$API/risks"
[ "$(xcache)" = HIT ] && ok "the gateway serves X-Cache: HIT again" || not_ok "X-Cache: HIT after restoring the cache"
"$ROOT/tools/monitoring.sh" stop 2>/dev/null
if ! "$ROOT/tools/monitoring.sh" status >/dev/null && ! curl -fs -m 2 -o /dev/null "$PROM/-/ready"; then
	ok "tools/monitoring.sh stop stopped everything"
else
	not_ok "tools/monitoring.sh stop stopped everything"
fi
finish
