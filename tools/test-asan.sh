#!/usr/bin/env bash
# tools/test-asan.sh -- `make test-asan`: the gateway under AddressSanitizer
# + UndefinedBehaviorSanitizer and under valgrind memcheck.
#
# The sanitizer gateway is built from a copy of gateway/ in a scratch
# folder (the tree's own binary is what `make run` uses), and
# OPENRISK_GATEWAY_BIN points the stack scripts and the integration tests
# at it; they run a private stack (cluster + gateway) on ports and in a run
# folder of their own.  Nothing of the tree's build or its stacks is touched.
#
#   1. unit tests (make check) under ASan/UBSan
#   2. the gateway integration suite (test/gateway, pytest) against the
#      ASan gateway, then the security checks and 3000 hostile requests
#   3. SIGTERM: the gateway exits 0 and LeakSanitizer reports nothing;
#      no ASan/UBSan report was written at any time
#   4. valgrind memcheck on a plain -O1 -g build during two short loads
#      (N and 5N requests): no errors, and "definitely/indirectly lost"
#      does not grow with the number of requests (no per-request leak)
#
# The extension is not built with ASan: see docs/RELIABILITY.md for why.
# Ends with `N passed, N failed` like make test; exit status non-zero on
# any failure.
set -uo pipefail
. "$(dirname "$0")/common.sh"
require_root test-asan
export PATH=$PGBIN:$PATH

WORK=${OPENRISK_ASAN_DIR:-/var/tmp/openrisk-asan-$(printf '%s' "$ROOT" | md5sum | cut -c1-8)}
ASAN_GW=$WORK/asan-gateway
export OPENRISK_GATEWAY_BIN=$ASAN_GW/openrisk-gateway
export OPENRISK_RUN_DIR=$WORK/run
export OPENRISK_PGPORT=${OPENRISK_ASAN_PGPORT:-55471}
export OPENRISK_HTTP_PORT=${OPENRISK_ASAN_HTTP_PORT:-18474}
export OPENRISK_METRICS_PORT=${OPENRISK_ASAN_METRICS_PORT:-18475}
. "$ROOT/tools/common.sh" # again: PG_SOCKET_DIR, LOG_DIR... of the private stack
VG_PORT=${OPENRISK_VALGRIND_HTTP_PORT:-18476}
VG_METRICS=${OPENRISK_VALGRIND_METRICS_PORT:-18477}
SAN_LOG=$WORK/sanitizer
PASSED=0 FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
fail() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }
check() { local w=$1; shift; if "$@"; then pass "$w"; else fail "$w"; fi; }

stop_all() {
	[ -d "$OPENRISK_RUN_DIR" ] || return 0
	"$ROOT/tools/services.d/20-gateway.sh" stop >/dev/null 2>&1
	"$ROOT/tools/cluster.sh" stop >/dev/null 2>&1
}
trap stop_all EXIT

# a private copy of the gateway's sources, built with the sanitizers
copy_gateway() { # copy_gateway DIR
	rm -rf "$1" && mkdir -p "$1" &&
		(cd "$ROOT/gateway" && git ls-files -z . | tar --null -T - -cf - 2>/dev/null) | tar -x -C "$1"
}
stop_all
rm -rf "$SAN_LOG"
mkdir -p "$SAN_LOG" "$OPENRISK_RUN_DIR"
chown postgres: "$OPENRISK_RUN_DIR"
copy_gateway "$ASAN_GW"

# ASan/UBSan: every report goes to a file (the log of a background gateway
# is not where anyone looks); the process stops at the first error.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:log_path=$SAN_LOG/asan:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$SAN_LOG/ubsan"
export LSAN_OPTIONS="suppressions=$ROOT/test/reliability/lsan.supp:print_suppressions=0"
SAN_FLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined"

say "building the gateway with clang $SAN_FLAGS"
if make -s -C "$ASAN_GW" CC=clang CFLAGS="$SAN_FLAGS" >"$WORK/build.log" 2>&1; then
	pass "gateway builds with clang -fsanitize=address,undefined"
else
	tail -20 "$WORK/build.log"
	fail "gateway builds with clang -fsanitize=address,undefined"
	echo "$PASSED passed, $FAILED failed"
	exit 1
fi
out=$(make -s -C "$ASAN_GW" CC=clang CFLAGS="$SAN_FLAGS" check 2>&1)
echo "$out" | tail -1
check "gateway unit tests pass under ASan/UBSan" bash -c 'echo "$1" | tail -1 | grep -qE "^[0-9]+ passed, 0 failed$"' _ "$out"

say "private stack on port $OPENRISK_PGPORT / $OPENRISK_HTTP_PORT"
"$ROOT/tools/cluster.sh" start >/dev/null 2>&1 || fail "private cluster starts"
"$ROOT/tools/services.d/20-gateway.sh" start >/dev/null 2>&1 || fail "ASan gateway starts"
check "the running gateway is the sanitizer build" grep -q __asan_report "/proc/$(cat "$OPENRISK_RUN_DIR/gateway.pid")/exe"

say "integration suite against the ASan gateway"
(cd "$ROOT/test/gateway" && timeout 900 /usr/bin/python3 -m pytest -q -p no:cacheprovider . 2>&1) | tail -5 | tee "$WORK/pytest.out"
check "gateway integration suite passes against the ASan gateway" grep -qE '^[0-9]+ passed' "$WORK/pytest.out"
check "... with no failures" bash -c '! grep -qE "[0-9]+ (failed|error)" "$1"' _ "$WORK/pytest.out"
"$ROOT/tools/services.d/20-gateway.sh" start >/dev/null 2>&1 # the suite restarted PostgreSQL; make sure it is up
out=$(timeout 300 /usr/bin/python3 "$ROOT/test/reliability/security.py" 2>&1)
check "security checks pass against the ASan gateway ($(echo "$out" | tail -1))" bash -c 'echo "$1" | tail -1 | grep -q "failed=0"' _ "$out"
pid=$(cat "$OPENRISK_RUN_DIR/gateway.pid")
out=$(timeout 600 /usr/bin/python3 "$ROOT/test/reliability/http_fuzz.py" --requests 3000 --pid "$pid" 2>&1)
echo "$out" | tail -1
check "3000 hostile requests against the ASan gateway: no crash, hang or malformed reply" \
	bash -c 'echo "$1" | tail -1 | grep -qE "crashes=0 hangs=0 malformed=0 status500=0"' _ "$out"

say "SIGTERM: drain, exit 0, LeakSanitizer at exit"
kill -TERM "$pid"
for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait "$pid" 2>/dev/null
check "the ASan gateway exited after SIGTERM" bash -c '! kill -0 "$1" 2>/dev/null' _ "$pid"
check "its log holds no sanitizer report ($OPENRISK_RUN_DIR/log/gateway.log)" bash -c '! grep -q "LeakSanitizer\|AddressSanitizer\|runtime error" "$1"/log/gateway*.log' _ "$OPENRISK_RUN_DIR"
reports=$(ls "$SAN_LOG" 2>/dev/null | wc -l)
[ "$reports" = 0 ] || head -60 "$SAN_LOG"/*
check "no AddressSanitizer, LeakSanitizer or UBSan report was written ($reports files in $SAN_LOG)" test "$reports" = 0

# ---------------------------------------------------------------- valgrind
unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
say "valgrind memcheck on a plain -O1 -g build"
copy_gateway "$WORK/vg"
make -s -C "$WORK/vg" CFLAGS="-O1 -g" openrisk-gateway >/dev/null 2>&1 || fail "plain build for valgrind"
"$ROOT/tools/cluster.sh" start >/dev/null 2>&1

vg_run() { # vg_run REQUESTS -> prints "definite indirect errors"
	local n=$1 log=$WORK/valgrind-$1.log vpid
	OPENRISK_DSN=$GATEWAY_DSN \
		OPENRISK_JWT_SECRET_FILE=$OPENRISK_RUN_DIR/jwt.secret OPENRISK_LISTEN=127.0.0.1:$VG_PORT \
		OPENRISK_METRICS_LISTEN=127.0.0.1:$VG_METRICS OPENRISK_ACCESS_LOG=off \
		valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite \
		--num-callers=30 --log-file="$log" "$WORK/vg/openrisk-gateway" --threads=8 --stats-interval=1s >/dev/null 2>&1 &
	vpid=$!
	for _ in $(seq 300); do curl -fs -o /dev/null "http://127.0.0.1:$VG_PORT/ready" && break; sleep 0.1; done
	OPENRISK_HTTP_PORT=$VG_PORT OPENRISK_METRICS_PORT=$VG_METRICS \
		/usr/bin/python3 "$ROOT/test/reliability/load_mix.py" --requests "$n" --port "$VG_PORT" --metrics-port "$VG_METRICS" >&2
	kill -TERM $vpid
	wait $vpid
	local d i e r
	r=$(sed -n 's/.*still reachable: \([0-9,]*\) bytes.*/\1/p' "$log" | tr -d , | tail -1)
	d=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tr -d , | tail -1)
	i=$(sed -n 's/.*indirectly lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tr -d , | tail -1)
	e=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log" | tail -1)
	echo "${d:-0} ${i:-0} ${e:-missing} ${r:-0}"
}
read -r d1 i1 e1 r1 < <(vg_run 300)
read -r d2 i2 e2 r2 < <(vg_run 1500)
echo "VALGRIND requests=300 definitely_lost=$d1 indirectly_lost=$i1 still_reachable=$r1 errors=$e1"
echo "VALGRIND requests=1500 definitely_lost=$d2 indirectly_lost=$i2 still_reachable=$r2 errors=$e2"
check "valgrind: no memory errors under load ($e1, $e2)" test "$e1" = 0 -a "$e2" = 0
check "valgrind: nothing definitely lost ($d1, $d2 bytes)" test "$d1" = 0 -a "$d2" = 0
check "valgrind: lost memory does not grow with requests (indirect $i1 -> $i2 bytes)" test "$i2" -le "$i1"
check "valgrind: memory still held at exit does not grow with requests ($r1 -> $r2 bytes)" test "$r2" -le "$r1"

stop_all
trap - EXIT
echo
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
