#!/usr/bin/env bash
# test/suites/74-replicas.sh -- cached reads on hot standbys,
# invalidated through WAL, exactly as fresh as the primary's.
#
# Builds its own primary (port +7) and standbys (+8, +9) with the scripts
# behind `make run REPLICAS=N` (tools/cluster.sh, tools/replicas.sh), so it
# never touches the main stack and never collides with another stack, and
# removes them at the end.  It proves, in this order:
#   - the stack: streaming through slots, hot standby, OPENRISK_REPLICA_DSNS;
#   - what the primary writes (pgTAP 22_wal_records.sql, read with pg_walinspect);
#   - freshness.py with writes on the primary and reads on a standby that
#     wait for the writer's commit LSN: 0 stale at 1/10/50 % writes, with
#     hits; and stale reads when the WAL records are switched off (the
#     checker can fail); and 0 stale with replay paused mid-load;
#   - a writer whose record is in WAL but whose commit record is held back
#     (it waits for NOTIFY's commit lock, held by a transaction waiting for a
#     synchronous standby that never comes): the standby fences the key, then
#     after a ROLLBACK -- or a crash of the primary -- serves the right value
#     again, fences cleared;
#   - a standby restart (rejoins, empty cache, fresh reads), an overflowing
#     pending table (bypass, never stale), and promotion with one committed
#     and one never-completed remote invalidation pending.
set -uo pipefail
. "$(dirname "$0")/../lib/suite.sh"
cd "$ROOT"
PY=/usr/bin/python3
FRESH=test/reliability/freshness.py
READS=${REPLICA_FRESHNESS_READS:-5000}
SKIP_LOAD=${REPLICA_SKIP_LOAD:-0} # 1: skip the freshness runs (while working on the rest)
# sessions of this suite commit locally even while synchronous_standby_names is set
export PGOPTIONS="-c synchronous_commit=local -c client_min_messages=warning"

P_RUN=$OPENRISK_RUN_DIR/replica-test
P_PORT=$((OPENRISK_PGPORT + 7))
P_SOCK=$P_RUN/socket
priv() { OPENRISK_RUN_DIR=$P_RUN OPENRISK_PGPORT=$P_PORT "$@"; }
pq() { psql -X -q -tA -h "$P_SOCK" -p $P_PORT -d openrisk "$@"; }
sq() { local i=$1; shift; psql -X -q -tA -h "$P_SOCK" -p $((P_PORT + i)) -d openrisk "$@"; }
wstat() { sq "$1" -c "SELECT $2 FROM openrisk.cache_wal_stats"; }
dsn() { priv tools/replicas.sh dsn "$1"; }
# hit|value of key rt:K on standby I, through cache_fetch
fetch() { sq "$1" -c "SELECT hit || '|' || value FROM openrisk.cache_fetch_meta('rt:$2', NULL, 'SELECT v FROM rt WHERE k = $2')"; }
pq_is() { [ "$(pq -c "$2")" = "$1" ]; }            # pq_is EXPECTED SQL
wstat_is() { [ "$(wstat "$1" "$2")" = "$3" ]; }     # wstat_is STANDBY EXPR EXPECTED
replayed() { [ "$(sq "$1" -c "SELECT pg_last_wal_replay_lsn() >= '$2'")" = t ]; }
caught_up() { replayed "$1" "$(pq -c "SELECT pg_current_wal_insert_lsn()")" || wait_for 60 replayed "$1" "$(pq -c "SELECT pg_current_wal_insert_lsn()")"; }
teardown() {
	priv tools/replicas.sh stop >/dev/null 2>&1
	priv tools/cluster.sh stop >/dev/null 2>&1
	rm -rf "$P_RUN"
}
trap teardown EXIT

fresh() { # fresh DESCRIPTION ARGS...: freshness.py on the private stack, reads on standby 1
	local what=$1 out rc
	shift
	out=$(priv timeout 600 $PY $FRESH --mode sql --read-dsn "$(dsn 1)" --wait-lsn "$@" 2>&1)
	rc=$?
	echo "$out" | tail -4 | sed 's/^/# /'
	if [ $rc = 0 ]; then pass "$what"; else fail "$what"; fi
	LAST=$(echo "$out" | grep '^FRESHNESS' | tail -1)
}
field() { echo "$LAST" | grep -oE " $1=[0-9.]+" | cut -d= -f2; }

# ---------------------------------------------------------------- the stack
teardown
echo "# private primary on port $P_PORT, standbys on $((P_PORT + 1)) and $((P_PORT + 2))"
priv tools/cluster.sh start >/dev/null 2>&1 || { fail "the private primary did not start"; finish replicas; exit 1; }
priv tools/replicas.sh start 1 >/dev/null 2>&1 || fail "replicas.sh start 1"
check "standby 1 streams from the primary through its physical slot" \
	test "$(pq -c "SELECT count(*) FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid
		WHERE s.slot_name = 'openrisk_replica_1' AND s.slot_type = 'physical' AND r.state = 'streaming'")" = 1
check "it is a hot standby with hot_standby_feedback on" \
	test "$(sq 1 -c "SELECT pg_is_in_recovery() AND current_setting('hot_standby_feedback')::bool")" = t
envline=$(priv tools/replicas.sh env)
check "replicas.sh env exports its libpq URI in OPENRISK_REPLICA_DSNS" \
	bash -c 'eval "$1"; [ "$OPENRISK_REPLICA_DSNS" = "$2" ] && psql -X -tA "$OPENRISK_REPLICA_DSNS" -c "SELECT 1" >/dev/null' _ "$envline" "$(dsn 1)"
check "the standby writes no records but preloads openrisk (rmgr $(wstat 1 rmgr_id))" test "$(wstat 1 "writing::text || rmgr_id")" = false128

# --------------------------------------------------- what the primary writes
replayed0=$(wstat 1 records_replayed)
pq -d postgres -c "DROP DATABASE IF EXISTS walrec" -c "CREATE DATABASE walrec" >/dev/null
pq -d walrec -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION openrisk CASCADE" >/dev/null
PGTAP_PSQL_OPTS="-h $P_SOCK -p $P_PORT" run_pgtap walrec test/pgtap/22_wal_records.sql
caught_up 1
check "the standby replayed them ($(($(wstat 1 records_replayed) - replayed0)) records)" \
	test $(($(wstat 1 records_replayed) - replayed0)) -ge 5

# ------------------------------------------------- freshness read on a standby
[ "$SKIP_LOAD" = 1 ] && echo "# REPLICA_SKIP_LOAD=1: freshness runs skipped"
for pct in $([ "$SKIP_LOAD" = 1 ] || echo 1 10 50); do
	fresh "standby reads waiting for the writer's LSN, $pct % writes, $READS reads: 0 stale, 0 wrong, 0 errors" \
		--write-pct $pct --reads "$READS"
	if [ "$pct" != 50 ]; then
		check "$pct % writes: the standby's cache served hits (hit rate $(field hit_rate) >= 0.3)" \
			awk -v h="$(field hit_rate)" 'BEGIN { exit !(h >= 0.3) }'
	fi
done
if [ "$SKIP_LOAD" != 1 ]; then
	fresh "WAL records switched off on the writers (openrisk.wal_invalidations = off): the checker reports stale reads" \
		--write-pct 10 --reads 2000 --sabotage no-wal --expect-stale
	fresh "replay paused for 3 s mid-load, then resumed: 0 stale for LSN-waiting readers" \
		--write-pct 10 --reads "$READS" --pause-replay 2:3
	check "replay really was paused ($(field paused) s) and readers waited for it (max $(field max_lsn_wait) s)" \
		awk -v p="$(field paused)" -v w="$(field max_lsn_wait)" 'BEGIN { exit !(p >= 3 && w >= 1) }'
fi

# ------------------------------------- a writer held between its record and its commit
pq -c "CREATE TABLE rt (k int PRIMARY KEY, v int)" -c "INSERT INTO rt VALUES (1, 100), (2, 200)" \
	-c "CREATE TABLE hold (x int)" -c "INSERT INTO hold VALUES (0)" -c "CREATE TABLE flushme (x int)" >/dev/null
hold_pids=()
hold_writer() { # hold_writer K V: a writer of rt:K whose record is in WAL, its commit record held back
	local try
	pq -c "ALTER SYSTEM SET synchronous_standby_names = 'openrisk_nobody'" -c "SELECT pg_reload_conf()" >/dev/null
	# the holder writes (so it waits for the synchronous standby) and
	# NOTIFYs (so it holds NOTIFY's commit lock while it waits); it only
	# waits once the checkpointer has taken in the new setting: retry
	for try in $(seq 30); do
		PGAPPNAME=or_holder PGOPTIONS="-c synchronous_commit=on" \
			psql -X -q -h "$P_SOCK" -p $P_PORT -d openrisk -c "BEGIN" -c "UPDATE hold SET x = x + 1" \
			-c "NOTIFY or_hold" -c "COMMIT" >/dev/null 2>&1 &
		hold_pids+=($!)
		wait_for 2 pq_is 1 "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'or_holder' AND wait_event = 'SyncRep'" && break
	done
	PGAPPNAME=or_held PGOPTIONS="-c synchronous_commit=local" \
		psql -X -q -h "$P_SOCK" -p $P_PORT -d openrisk -c "BEGIN" -c "UPDATE rt SET v = $2 WHERE k = $1" \
		-c "SELECT openrisk.cache_invalidate('rt:$1')" -c "NOTIFY or_hold" -c "COMMIT" >/dev/null 2>&1 &
	hold_pids+=($!)
	wait_for 20 pq_is 1 "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'or_held' AND wait_event_type = 'Lock'"
	# its record sits in WAL buffers: a commit record flushes it (the WAL
	# writer only writes out full pages and asynchronous commits)
	pq -c "INSERT INTO flushme VALUES (1)" >/dev/null
}
release_holder() {
	pq -c "ALTER SYSTEM RESET synchronous_standby_names" -c "SELECT pg_reload_conf()" >/dev/null
	pq -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name IN ('or_holder', 'or_held')" >/dev/null
	wait "${hold_pids[@]}" 2>/dev/null
	hold_pids=()
}
pending_is() { test "$(wstat "$1" pending)" = "$2"; }

for how in rollback crash; do
	caught_up 1
	fetch 1 1 >/dev/null
	v=$(fetch 1 1)
	check "$how: rt:1 is cached on the standby: $v" test "$v" = "true|100"
	r0=$(wstat 1 records_replayed) a0=$(wstat 1 aborted)
	hold_writer 1 101
	check "$how: a writer is held after its PRE_COMMIT, before its commit record" \
		test "$(pq -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'or_held' AND wait_event_type = 'Lock'")" = 1
	check "$how: its record reached the standby: a remote invalidation is pending" \
		wait_for 20 wstat_is 1 "records_replayed > $r0 AND pending > 0" t
	v=$(fetch 1 1)
	check "$how: while it is pending rt:1 is computed, not served from the fenced entry: $v" test "$v" = "false|100"
	v=$(fetch 1 1)
	check "$how: and fills under the fence are refused: $v" test "$v" = "false|100"
	if [ $how = rollback ]; then
		# cancelled while waiting for the lock: the transaction aborts after its record
		pq -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'or_held'" >/dev/null
		wait_for 20 pq_is 0 "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'or_held'"
		release_holder
	else
		pid=$(pq -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'or_held'")
		[ -n "$pid" ] && kill -9 "$pid"
		wait_for 60 pq -c "SELECT 1" >/dev/null 2>&1
		check "crash: the primary went through crash recovery" \
			grep -q "terminated by signal 9" "$P_RUN/log/postgresql.log"
		release_holder
	fi
	check "$how: the primary kept the old value" test "$(pq -c "SELECT v FROM rt WHERE k = 1")" = 100
	wait_for 60 caught_up 1
	v=$(fetch 1 1)
	check "$how: the fence is gone and the entry, unharmed, is served again: $v" test "$v" = "true|100"
	check "$how: nothing pending, resolved as aborted (pending $(wstat 1 pending), aborted +$(($(wstat 1 aborted) - a0)))" \
		test "$(wstat 1 pending)" = 0 -a $(($(wstat 1 aborted) - a0)) = 1
done

# ---------------------------------------------------------------- standby restart
fetch 1 2 >/dev/null
priv tools/replicas.sh stop >/dev/null 2>&1
priv tools/replicas.sh start 1 >/dev/null 2>&1
check "a restarted standby rejoins (streaming)" \
	test "$(pq -c "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'openrisk_replica_1' AND state = 'streaming'")" = 1
check "with an empty cache" test "$(sq 1 -c "SELECT entries FROM openrisk.cache_stats")" = 0
fresh "after the restart: 0 stale, 0 wrong, 0 errors" --write-pct 10 --reads 2000
check "and it caches again" test "$(sq 1 -c "SELECT entries > 0 FROM openrisk.cache_stats")" = t

# ------------------------------------------------------- pending table overflow
echo "openrisk.standby_pending_max = 1" >"$P_RUN/replicas/1/extra.conf"
priv tools/replicas.sh stop >/dev/null 2>&1
priv tools/replicas.sh start 1 >/dev/null 2>&1
o0=$(wstat 1 overflows)
fresh "pending table of 1 entry, 50 % writes: overflows bypass the cache, 0 stale" --write-pct 50 --reads 3000
check "it did overflow ($(($(wstat 1 overflows) - o0)) records did not fit)" test $(($(wstat 1 overflows) - o0)) -gt 0
caught_up 1
# it ends once the standby's snapshots have a horizon past the overflowing
# xids: at once, or at the primary's next running-xacts record (<= 15 s)
overflow_ended() { fetch 1 1 >/dev/null && test "$(wstat 1 overflowed)" = f; }
check "a read after the load ends the overflow" wait_for 40 overflow_ended
fetch 1 1 >/dev/null
v=$(fetch 1 1)
check "and the cache serves hits again: $v" test "$v" = "true|100"
rm -f "$P_RUN/replicas/1/extra.conf"

# ------------------------------------------------------------------ promotion
priv tools/replicas.sh start 2 >/dev/null 2>&1 || fail "replicas.sh start 2"
caught_up 2
fetch 2 1 >/dev/null
fetch 2 2 >/dev/null
v="$(fetch 2 1) $(fetch 2 2)"
check "promotion: standby 2 caches rt:1 and rt:2: $v" test "$v" = "true|100 true|200"
c0=$(wstat 2 committed) a0=$(wstat 2 aborted)
hold_writer 1 111
pq -c "BEGIN" -c "UPDATE rt SET v = 222 WHERE k = 2" -c "SELECT openrisk.cache_invalidate('rt:2')" -c "COMMIT" >/dev/null
caught_up 2
check "promotion: one committed (rt:2) and one unfinished (rt:1) remote invalidation pending ($(wstat 2 pending))" \
	test "$(wstat 2 pending)" = 2
check "promotion: pg_promote() succeeds" test "$(sq 2 -c "SELECT pg_promote(true, 60)")" = t
check "promotion: resolved at the end of recovery, committed +$(($(wstat 2 committed) - c0)), aborted +$(($(wstat 2 aborted) - a0)), none pending" \
	test "$(wstat 2 pending)" = 0 -a $(($(wstat 2 committed) - c0)) = 1 -a $(($(wstat 2 aborted) - a0)) = 1
v=$(fetch 2 2)
check "promotion: rt:2 shows the committed write: $v" test "$v" = "false|222"
v="$(fetch 2 1) $(sq 2 -c "SELECT v FROM rt WHERE k = 1")"
check "promotion: rt:1 keeps the value its data has, still cached: $v" test "$v" = "true|100 100"
sq 2 -c "BEGIN" -c "UPDATE rt SET v = 333 WHERE k = 1" -c "SELECT openrisk.cache_invalidate('rt:1')" -c "COMMIT" >/dev/null
v=$(fetch 2 1)
check "promotion: the promoted server invalidates its own writes: $v" test "$v" = "false|333"
release_holder

# fewer replicas: the extra one is stopped, its slot dropped, its folder deleted
priv tools/replicas.sh start 1 >/dev/null 2>&1
check "replicas.sh start 1 removes standby 2 and drops its slot" \
	test "$(pq -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'openrisk_replica_2'")" = 0 -a ! -d "$P_RUN/replicas/2"
priv tools/replicas.sh start 0 >/dev/null 2>&1
check "replicas.sh start 0 removes the last one" \
	test "$(pq -c "SELECT count(*) FROM pg_replication_slots")$(priv tools/replicas.sh count)" = 00

teardown
finish replicas
