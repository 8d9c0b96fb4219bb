# tools/lib/bench-common.sh -- shell helpers of the replica gateway benchmark (tools/lib/bench-replicas-gateway.sh, sourced); the other HTTP benchmarks are Python (bench_stack.py).
#
# `make bench-http` (tools/bench-http.sh) and `make bench` (tools/bench.sh)
# both measure the gateway against the shared ceiling gateway
# (../shared/ref/ceiling-gateway.c, beside the clone, never copied into the
# repo).  The ceiling is only a fair measuring stick when it is built the
# same way, runs with the gateway's pool size and executes the very
# statement the gateway prepares for the route; keeping that in one place
# means the two benchmarks cannot drift apart.  Also here: the checks both
# make before loading anything (wrk present, stack answering, loopback).
#
# Needs tools/common.sh sourced first (ROOT, OPENRISK_*, LOG_DIR, die, say).

BENCH_TENANT=${BENCH_TENANT:-00000000-0000-4000-8000-000000000001}
GW_BIN=${GW_BIN:-$ROOT/gateway/openrisk-gateway}
CEILING_SRC=${CEILING_SRC:-$ROOT/../shared/ref/ceiling-gateway.c}
CEILING_PID=""

# wrk is a Debian package; say how to get it rather than failing later.
bench_require_wrk() {
	command -v wrk >/dev/null ||
		die "wrk is not installed: apt-get install wrk (or run 'make deps', which installs every package the project needs)"
}

# The load generators only ever target this machine.
bench_gateway_base() { echo "http://127.0.0.1:$OPENRISK_HTTP_PORT"; }

# One wrk run (-t2, keep-alive) -> "req_per_s p99_ms non2xx_or_socket_errors".
bench_wrk_measure() { # bench_wrk_measure CONNECTIONS DURATION [wrk args...] URL
	local conns=$1 duration=$2 out
	shift 2
	out=$(wrk -t2 -c"$conns" -d"$duration" --latency "$@")
	echo "$out" | awk '
		/Requests\/sec/ { rps = $2 }
		/^ +99%/ { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
			   p99 = (u == "us") ? v / 1000 : (u == "s") ? v * 1000 : (u == "m") ? v * 60000 : v }
		/Non-2xx or 3xx responses/ { bad += $NF }
		/Socket errors/ { gsub(/,/, ""); bad += $4 + $6 + $8 + $10 }
		END { printf "%s %s %d\n", rps, p99, bad }'
}

# The median of numbers given as arguments.
bench_median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# Refuse (with the command that fixes it) unless PostgreSQL and the gateway
# of this stack both answer.
bench_require_stack() {
	"$PGBIN/pg_isready" -q -h "$PG_SOCKET_DIR" -p "$OPENRISK_PGPORT" 2>/dev/null ||
		die "PostgreSQL of this stack is not running (port $OPENRISK_PGPORT, run dir $OPENRISK_RUN_DIR): start it with 'make run' using the same OPENRISK_* settings"
	curl -fs -o /dev/null --max-time 3 "$(bench_gateway_base)/ready" ||
		die "the gateway of this stack does not answer on $(bench_gateway_base)/ready: start it with 'make run' using the same OPENRISK_* settings"
}

# The gateway's pool size, as it logged it at start-up (development: 10).
bench_gateway_pool_size() {
	local n
	n=$(sed -n 's/.*pool [a-z]*: \([0-9]*\) open.*/\1/p' "$LOG_DIR/gateway.log" 2>/dev/null | tail -1)
	echo "${n:-10}"
}

# The statement the gateway prepares for GET /api/v1/stats, its two
# parameters inlined as literals (the ceiling runs it without parameters).
bench_stats_sql() { # bench_stats_sql TENANT PERIOD
	local stmt
	stmt=$("$GW_BIN" sql GET /api/v1/stats) || die "openrisk-gateway sql GET /api/v1/stats failed"
	stmt=${stmt/\$1/\'$1\'}
	echo "${stmt/\$2/\'$2\'}"
}

# Build the ceiling into the run folder (again only when its source is newer).
bench_ceiling_build() {
	[ -f "$CEILING_SRC" ] || die "ceiling source not found at $CEILING_SRC (expected shared/ beside the clone)"
	CEILING_BIN=$OPENRISK_RUN_DIR/ceiling-gateway
	if [ ! -x "$CEILING_BIN" ] || [ "$CEILING_SRC" -nt "$CEILING_BIN" ]; then
		cc -O2 -o "$CEILING_BIN" "$CEILING_SRC" $(pkg-config --cflags --libs libpq) -lcivetweb -lpthread ||
			die "could not build $CEILING_SRC"
	fi
}

# Start the ceiling with SQL and POOL connections (64 threads, like the
# gateway) on CEILING_PORT (default: a free port); return once it answers.
# Sets CEILING_PID and CEILING_URL; pair with bench_ceiling_stop in a trap.
bench_ceiling_start() { # bench_ceiling_start SQL POOL
	local port=${CEILING_PORT:-}
	bench_ceiling_build
	[ -n "$port" ] || port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	CEILING_DSN="host=$PG_SOCKET_DIR port=$OPENRISK_PGPORT dbname=$OPENRISK_DB user=postgres" \
		CEILING_SQL=$1 CEILING_PORT=$port CEILING_POOL=$2 CEILING_THREADS=64 \
		"$CEILING_BIN" 2>"$LOG_DIR/ceiling-gateway.log" &
	CEILING_PID=$!
	CEILING_URL=http://127.0.0.1:$port/q
	for _ in $(seq 50); do
		curl -fs -o /dev/null "$CEILING_URL" && return 0
		kill -0 "$CEILING_PID" 2>/dev/null || break
		sleep 0.1
	done
	tail -3 "$LOG_DIR/ceiling-gateway.log" >&2
	die "the ceiling gateway did not answer on $CEILING_URL"
}

bench_ceiling_stop() {
	[ -n "$CEILING_PID" ] || return 0
	kill "$CEILING_PID" 2>/dev/null
	wait "$CEILING_PID" 2>/dev/null || true
	CEILING_PID=""
}
