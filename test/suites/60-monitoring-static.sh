#!/usr/bin/env bash
# test/suites/60-monitoring-static.sh -- everything about monitoring/ that can
# be proven without running it: Prometheus, Alertmanager and promtool's own
# validators, the rule unit tests (plus mutations showing they can fail),
# routing, the rendered native configs, the Grafana dashboard and
# provisioning, and the docker-compose file (no Docker engine here).
# Needs no running stack.  Last line: SUITE monitoring-static <pass> <fail>.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MON=$ROOT/monitoring
PY=/usr/bin/python3
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# check "what" command...: one check; output shown only when it fails.
check() {
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then
		echo "ok - $what"
		pass=$((pass + 1))
	else
		echo "not ok - $what"
		printf '%s\n' "$out" | sed 's/^/    /' | tail -25
		fail=$((fail + 1))
	fi
}

# A Python checker prints one ok/not ok line per check; count them.
count_checks() {
	local out p f
	out=$("$@" 2>&1)
	printf '%s\n' "$out"
	p=$(grep -c '^ok - ' <<<"$out")
	f=$(grep -c '^not ok - ' <<<"$out")
	# A crash before any check ran must not read as success.
	if [ "$p" = 0 ] && [ "$f" = 0 ]; then
		echo "not ok - $* produced no checks"
		f=1
	fi
	pass=$((pass + p)) fail=$((fail + f))
}

for tool in promtool amtool; do
	command -v $tool >/dev/null || { echo "not ok - $tool missing (apt-get install prometheus prometheus-alertmanager)"; fail=$((fail + 1)); }
done

check "promtool check config monitoring/prometheus.yml" promtool check config "$MON/prometheus.yml"
check "promtool check rules monitoring/alerts.yml" promtool check rules "$MON/alerts.yml"
check "amtool check-config monitoring/alertmanager.yml" amtool check-config "$MON/alertmanager.yml"
check "promtool test rules monitoring/tests/*.yml" promtool test rules "$MON"/tests/*.yml
check "postgres-exporter/queries.yaml is valid YAML" $PY -c 'import sys, yaml; assert yaml.safe_load(open(sys.argv[1]))' "$MON/postgres-exporter/queries.yaml"

# The native run's configs, rendered as `make monitoring` renders them.
native=$tmp/native
OPENRISK_MON_DIR=$native "$ROOT/tools/monitoring.sh" render >/dev/null 2>"$tmp/render.err"
check "tools/monitoring.sh render writes the native configs" test -s "$native/etc/prometheus.yml"
check "promtool check config on the native prometheus.yml" promtool check config "$native/etc/prometheus.yml"
check "amtool check-config on the native alertmanager.yml" amtool check-config "$native/etc/alertmanager.yml"
# "Templated only where paths/ports differ": drop the lines that may differ
# and nothing else may.
same_except() {
	diff <(grep -vE "$3" "$1") <(grep -vE "$3" "$2")
}
check "native prometheus.yml differs from the compose one only in targets" \
	same_except "$MON/prometheus.yml" "$native/etc/prometheus.yml" 'targets:'
check "native alertmanager.yml differs only in the webhook file path" \
	same_except "$MON/alertmanager.yml" "$native/etc/alertmanager.yml" 'slack_api_url_file:'
check "native alerts.yml is alerts.yml unchanged" cmp "$MON/alerts.yml" "$native/etc/alerts.yml"
check "native targets are all on loopback" bash -c "! grep -E 'targets:' '$native/etc/prometheus.yml' | grep -v '127.0.0.1:'"

# The test-only variant the live suite uses.
variant=$tmp/variant
OPENRISK_MON_DIR=$variant OPENRISK_MON_TEST_FOR=7s OPENRISK_MON_SCRAPE_INTERVAL=2s OPENRISK_MON_GROUP_WAIT=1s \
	"$ROOT/tools/monitoring.sh" render >/dev/null 2>>"$tmp/render.err"
rule_count() { promtool check rules "$1" | grep -oE '[0-9]+ rules found'; }
check "test-only rules variant passes promtool check rules" promtool check rules "$variant/etc/alerts.yml"
check "test-only variant keeps every rule" test "$(rule_count "$MON/alerts.yml")" = "$(rule_count "$variant/etc/alerts.yml")"
check "test-only variant sets every for: to the test window" bash -c \
	"[ \$(grep -cE '^ +for: ' '$MON/alerts.yml') -gt 0 ] && [ \$(grep -cE '^ +for: ' '$MON/alerts.yml') = \$(grep -cE '^ +for: 7s$' '$variant/etc/alerts.yml') ]"
check "test-only variant differs from alerts.yml only in for: and its header" \
	same_except "$MON/alerts.yml" "$variant/etc/alerts.yml" '^ +for: |^# (GENERATED|every)'
check "test-only prometheus.yml (2s scrape) passes promtool check config" promtool check config "$variant/etc/prometheus.yml"
check "test-only alertmanager.yml passes amtool check-config" amtool check-config "$variant/etc/alertmanager.yml"

count_checks $PY "$ROOT/test/monitoring/check_static.py"
count_checks $PY "$ROOT/test/monitoring/check_rules.py"

echo "SUITE monitoring-static $pass $fail"
[ "$fail" = 0 ]
