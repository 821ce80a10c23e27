#!/usr/bin/env bash
# What the backend connection pool buys, all in one run against the sandbox:
#   1. connect / SELECT 1 / disconnect cycles per second from 8 client threads
#      (connect_cycles.c): directly to replica1, through HAProxy (TCP) to it,
#      and through switchyard with [proxy] multiplexing = on and off. Rounds
#      alternate the targets so drift on a shared machine falls on all; the
#      medians and their ratios to direct are printed.
#   2. N idle clients after one statement each (idle_clients.py): proxy RSS
#      per client and backend connections held, multiplexing on and off.
# Knobs: SY_BENCH_TIME (10 s per round), SY_BENCH_ROUNDS (3), SY_BENCH_THREADS (8),
#        SY_BENCH_CLIENTS (1000), SY_BENCH_OFF_CLIENTS (idle clients with multiplexing
#        off: each holds two server connections; default SY_BENCH_CLIENTS, at most 2000),
#        SY_BENCH_BINARY (build-rel/switchyard, built when missing).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
. "$ROOT/test/bench/lib.sh"
SANDBOX="$ROOT/test/sandbox/sandbox.sh"
TIME=${SY_BENCH_TIME:-10}
ROUNDS=${SY_BENCH_ROUNDS:-3}
THREADS=${SY_BENCH_THREADS:-8}
CLIENTS=${SY_BENCH_CLIENTS:-1000}
OFF_CLIENTS=${SY_BENCH_OFF_CLIENTS:-$((CLIENTS < 2000 ? CLIENTS : 2000))}
BIN=${SY_BENCH_BINARY:-build-rel/switchyard}
WORK=$(mktemp -d /tmp/switchyard-pool-bench.XXXXXX)
PIDS=""

cleanup() {
    stop_pids $PIDS
    rm -rf "$WORK"
}
trap cleanup EXIT

release_binary
cc -O2 -std=c11 -Wall -Wextra -pthread -o "$WORK/connect_cycles" test/bench/connect_cycles.c \
    $(mariadb_config --cflags --libs)
"$SANDBOX" start >/dev/null
for name in primary replica1; do
    "$SANDBOX" sql "$name" "SET GLOBAL max_connections = $((OFF_CLIENTS * 2 + 500))"
done
ulimit -n "$(ulimit -Hn)"

declare -A PORT PID
for mode in on off; do
    PORT[sy_$mode]=$(free_port)
    { base_ini "${PORT[sy_$mode]}" 2 | sed "s/^threads = .*/&\nmultiplexing = $mode/"
      printf '[user.app]\npassword = app_pw\n'; } > "$WORK/sy_$mode.ini"
    "$BIN" -c "$WORK/sy_$mode.ini" </dev/null >"$WORK/sy_$mode.log" 2>&1 &
    PID[sy_$mode]=$!
    PIDS="$PIDS $!"
    wait_port "${PORT[sy_$mode]}" "${PID[sy_$mode]}" "sy_$mode"
done
PORT[haproxy]=$(free_port)
printf 'global\n    maxconn 5000\ndefaults\n    mode tcp\n    timeout connect 5s\n    timeout client 5m\n    timeout server 5m\nlisten replica1\n    bind 127.0.0.1:%s\n    server replica1 127.0.0.1:3311\n' \
    "${PORT[haproxy]}" > "$WORK/haproxy.cfg"
haproxy -db -f "$WORK/haproxy.cfg" </dev/null >"$WORK/haproxy.log" 2>&1 &
PID[haproxy]=$!
PIDS="$PIDS $!"
wait_port "${PORT[haproxy]}" "${PID[haproxy]}" haproxy
PORT[direct]=3311
"$SANDBOX" wait-replica replica1 >/dev/null
for mode in on off; do  # reads reach replica1 once the monitor has it eligible
    for _ in $(seq 100); do
        p=$(mysql --no-defaults -h127.0.0.1 -P"${PORT[sy_$mode]}" -uapp -papp_pw -N -e 'SELECT @@port')
        [[ $p == 3311 ]] && break
        sleep 0.1
    done
    [[ $p == 3311 ]] || { echo "sy_$mode sends reads to $p, expected 3311"; exit 1; }
done

TARGETS="direct haproxy sy_on sy_off"
echo "==> connect/SELECT 1/disconnect, $THREADS threads x ${TIME}s, $ROUNDS rounds, $(nproc) CPUs"
declare -A RATE
for round in $(seq "$ROUNDS"); do
    for t in $TARGETS; do
        out=$("$WORK/connect_cycles" -P "${PORT[$t]}" -t "$THREADS" -s "$TIME")
        echo "round $round  $(printf '%-8s' "$t") $out"
        RATE[$t]="${RATE[$t]:-} $(sed -E 's/.*per_sec=([0-9.]+).*/\1/' <<<"$out")"
    done
done
direct=$(median ${RATE[direct]})
for t in $TARGETS; do
    m=$(median ${RATE[$t]})
    printf 'connect cycles/s  %-8s median %8.0f  ratio to direct %.2f\n' "$t" "$m" \
        "$(awk -v a="$m" -v b="$direct" 'BEGIN {print a / b}')"
done

echo "==> idle clients after one statement each"
declare -A IDLE=([on]=$CLIENTS [off]=$OFF_CLIENTS)
for mode in on off; do
    printf 'sy_%-5s %s\n' "$mode" "$(/usr/bin/python3 test/bench/idle_clients.py \
        "${PORT[sy_$mode]}" "${PID[sy_$mode]}" "${IDLE[$mode]}" 3310,3311)"
done
