#!/usr/bin/env bash
# test/suites-long/72-soak.sh -- the soak: SOAK_SECONDS
# (default 600) at 50 keep-alive connections with 10 % writes through this
# stack's gateway.  Criteria: 0 errors; gateway RSS growth < 5 % from the
# end of the warm-up (60 s) to the end; PostgreSQL client connections
# stable after the warm-up (spread <= 2); cache bytes never above the
# limit.  Samples and the summary go to $OPENRISK_RUN_DIR/figures/.
set -uo pipefail
. "$(dirname "$0")/../lib/suite.sh"
cd "$ROOT"
FIG=$OPENRISK_RUN_DIR/figures
mkdir -p "$FIG"
"$ROOT/tools/services.d/20-gateway.sh" start >/dev/null 2>&1 || true
pid=$(cat "$OPENRISK_RUN_DIR/gateway.pid")
out=$(timeout $((${SOAK_SECONDS:-600} + 300)) /usr/bin/python3 test/reliability/load_mix.py --connections 50 --procs 5 \
	--write-pct 10 --seconds "${SOAK_SECONDS:-600}" --warmup 60 --sample-every 5 --gateway-pid "$pid" \
	--samples-out "$FIG/soak-samples.jsonl" 2>&1)
rc=$?
echo "$out" | tail -6
line=$(echo "$out" | grep '^LOAD' | tail -1)
echo "$line" >"$FIG/soak.txt"
val() { echo "$line" | grep -oE " $1=[^ ]+" | cut -d= -f2; }
check "soak: 0 errors over $(val requests) requests" test $rc = 0 -a "$(val errors)" = 0
check "soak: gateway RSS growth after warm-up $(val rss_growth_pct) % < 5 %" awk -v g="$(val rss_growth_pct)" 'BEGIN { exit !(g < 5) }'
range=$(val pg_conns_after_warmup)
check "soak: PostgreSQL connections stable after warm-up ($range)" awk -v r="$range" 'BEGIN { split(r, a, "-"); exit !(a[2] - a[1] <= 2) }'
check "soak: cache bytes $(val cache_bytes_max) <= limit $(val cache_bytes_limit)" test "$(val cache_bytes_max)" -le "$(val cache_bytes_limit)"
check "the gateway is still running" kill -0 "$pid"
finish soak
