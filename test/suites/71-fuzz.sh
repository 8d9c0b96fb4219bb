#!/usr/bin/env bash
# test/suites/71-fuzz.sh -- hostile input: a short
# libFuzzer run of every gateway parser target over its committed corpus
# (which holds the regression inputs of defects found so far), then the
# HTTP-level fuzzer against this stack's running gateway.  The long runs
# are test/suites-long/71-fuzz-long.sh.
set -uo pipefail
. "$(dirname "$0")/../lib/suite.sh"
cd "$ROOT"
FUZZ_SECONDS=${FUZZ_SECONDS:-4}
HTTP_FUZZ_REQUESTS=${HTTP_FUZZ_REQUESTS:-5000}
OUT=$OPENRISK_RUN_DIR/fuzz

# 1. libFuzzer targets (clang, -fsanitize=fuzzer,address,undefined)
if make -s -C gateway/fuzz OUT="$OUT" >"$OPENRISK_RUN_DIR/fuzz-build.log" 2>&1; then
	pass "fuzz targets build with clang -fsanitize=fuzzer,address,undefined"
	while read -r _ target execs crashes; do
		echo "# $target $execs $crashes"
		check "$target: ${execs#execs=} executions in ${FUZZ_SECONDS}s, no crash, leak or invariant violation" \
			test "$crashes" = crashes=0 -a "${execs#execs=}" -gt 1000
	done < <(make -s -C gateway/fuzz OUT="$OUT" SECONDS="$FUZZ_SECONDS" run 2>&1 | tee "$OPENRISK_RUN_DIR/fuzz-run.log" | grep '^FUZZ ')
	check "every target ran" test "$(grep -c '^FUZZ ' "$OPENRISK_RUN_DIR/fuzz-run.log")" = 6
	grep -A30 'crashes=1' "$OPENRISK_RUN_DIR/fuzz-run.log" | head -60
else
	tail -20 "$OPENRISK_RUN_DIR/fuzz-build.log"
	fail "fuzz targets build"
fi

# 2. HTTP-level fuzzing of the running gateway (loopback, bounded)
"$ROOT/tools/services.d/20-gateway.sh" start >/dev/null 2>&1 || true
pid=$(cat "$OPENRISK_RUN_DIR/gateway.pid" 2>/dev/null || echo 0)
out=$(timeout 600 /usr/bin/python3 test/reliability/http_fuzz.py --requests "$HTTP_FUZZ_REQUESTS" --pid "$pid" --seconds 300 2>&1)
rc=$?
echo "$out" | tail -12 | cut -c1-300 | sed 's/^/# /'
line=$(echo "$out" | grep '^HTTPFUZZ' | tail -1)
check "HTTP fuzzing, $HTTP_FUZZ_REQUESTS requests: 0 crashes, 0 hangs, 0 malformed replies, 0 500s, 0 replies after Connection: close" test $rc = 0
check "the gateway process survived the fuzzing" kill -0 "$pid"
got=$(echo "$line" | grep -oE 'requests=[0-9]+' | cut -d= -f2)
check "all $HTTP_FUZZ_REQUESTS requests were sent and judged (got ${got:-0})" test "${got:-0}" = "$HTTP_FUZZ_REQUESTS"

# 3. regressions of defects the HTTP fuzzer found
head_reply=$(/usr/bin/python3 - "$OPENRISK_HTTP_PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"HEAD /api/v1/risks HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
first, _, rest = data.partition(b"\r\n\r\n")
print("ok" if first.startswith(b"HTTP/1.1 405") and rest.startswith(b"HTTP/1.1 200") else "bad %r" % data[:300])
PY
)
check "a reply to HEAD carries no body (the next pipelined reply follows the headers directly)" test "$head_reply" = ok

# Defect 3 (fixed): an error replied before the body was read said
# "Connection: close" but civetweb kept the connection and served whatever
# followed the body.  Now a declared body within the limit is consumed and
# the connection stays usable; any other unread body ends the connection.
early=$(/usr/bin/python3 - "$OPENRISK_HTTP_PORT" <<'PY'
import re, socket, sys
def exchange(data):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    s.sendall(data)
    buf, ended = b"", False
    try:
        while True:
            d = s.recv(65536)
            if not d:
                ended = True
                break
            buf += d
    except socket.timeout:
        pass
    except ConnectionResetError:
        ended = True
    return re.findall(rb"HTTP/1\.1 (\d{3}) [^\r]*\r\n((?:[^\r]+\r\n)*)\r\n", buf), ended
nxt = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
replies, _ = exchange(b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
                      + nxt.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
print("ok" if [r[0] for r in replies] == [b"405", b"200"] and b"Connection: close" not in replies[0][1]
      else "bad %r" % replies)
for first in (b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n{}",
              b"POST /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"):
    replies, ended = exchange(first + nxt)
    print("ok" if len(replies) == 1 and b"Connection: close" in replies[0][1] and ended else "bad %r %s" % (replies, ended))
PY
)
echo "$early" | grep -v '^ok$' | sed 's/^/# /'
check "an early error reply consumes a small declared body: the next pipelined request is answered" \
	test "$(echo "$early" | sed -n 1p)" = ok
check "after a reply with Connection: close (body too large, chunked) nothing more is served and the connection ends" \
	test "$(echo "$early" | sed -n 2,3p | tr '\n' ' ')" = "ok ok "

finish fuzz
