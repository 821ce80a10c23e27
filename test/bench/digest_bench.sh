#!/usr/bin/env bash
# What the query digest costs: sysbench oltp_point_select through two
# switchyard processes that differ only in [admin] query_digest (on / off),
# against the same replica, in one run. Rounds alternate on, off, on, off so
# drift on a shared machine falls on both. Prints queries/s and the proxy's
# CPU time per query (utime+stime from /proc/PID/stat) per round, then the
# medians over the rounds and their ratio (robust to one disturbed round).
# Knobs: SY_BENCH_TIME (10 s per round), SY_BENCH_ROUNDS (5), SY_BENCH_THREADS (8),
#        SY_BENCH_BINARY (build-rel/switchyard, built Release when missing).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
. "$ROOT/test/bench/lib.sh"
SANDBOX="$ROOT/test/sandbox/sandbox.sh"
TIME=${SY_BENCH_TIME:-10}
ROUNDS=${SY_BENCH_ROUNDS:-5}
THREADS=${SY_BENCH_THREADS:-8}
BIN=${SY_BENCH_BINARY:-build-rel/switchyard}
TABLES=4
TABLE_SIZE=10000
HZ=$(getconf CLK_TCK)
WORK=$(mktemp -d /tmp/switchyard-digest-bench.XXXXXX)
PIDS=""

cleanup() {
    stop_pids $PIDS
    if [[ -n ${PREPARED:-} ]]; then sb oltp_read_only 3310 cleanup >/dev/null 2>&1 || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

if [[ ! -x $BIN ]]; then
    echo "==> build (Release, build-rel/)"
    cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build build-rel -j 2 >/dev/null
    BIN=build-rel/switchyard
fi
"$SANDBOX" start
sb oltp_read_only 3310 cleanup >/dev/null 2>&1 || true
PREPARED=1
sb oltp_read_only 3310 prepare >/dev/null
"$SANDBOX" wait-replica replica1 >/dev/null

declare -A PORT PID
for mode in on off; do
    PORT[$mode]=$(free_port)
    { base_ini "${PORT[$mode]}" 1
      printf '[user.app]\npassword = app_pw\n\n'
      printf '[admin]\nlisten = 127.0.0.1:%s\npassword = admin_pw\nquery_digest = %s\n' \
          "$(free_port)" "$mode"; } > "$WORK/$mode.ini"
    "$BIN" -c "$WORK/$mode.ini" </dev/null >"$WORK/$mode.log" 2>&1 &
    PID[$mode]=$!
    PIDS="$PIDS $!"
    wait_port "${PORT[$mode]}" "${PID[$mode]}" "$mode"
done
sleep 2 # the monitor marks replica1 eligible

declare -A CPU
for round in $(seq "$ROUNDS"); do
    for mode in on off; do
        args=(--threads="$THREADS" --db-ps-mode=disable --skip_trx=on --time="$TIME")
        c0=$(cpu_ticks "${PID[$mode]}")
        sb oltp_point_select "${PORT[$mode]}" run "${args[@]}" > "$WORK/run.txt"
        c1=$(cpu_ticks "${PID[$mode]}")
        sb_check "$WORK/run.txt" "oltp_point_select via digest $mode"
        read -r q qps _ < <(sb_figures "$WORK/run.txt")
        us=$(awk -v d=$((c1 - c0)) -v hz="$HZ" -v q="$q" 'BEGIN{printf "%.3f", d / hz * 1e6 / q}')
        printf 'round %s digest %-3s: %s q/s, %s us CPU/query\n' "$round" "$mode" "$qps" "$us"
        CPU[$mode]="${CPU[$mode]:-} $us"
    done
done
# shellcheck disable=SC2086 # the lists split into median's arguments
on=$(median ${CPU[on]}) off=$(median ${CPU[off]})
awk -v on="$on" -v off="$off" -v n="$ROUNDS" 'BEGIN {
    printf "oltp_point_select proxy CPU per query, median of %d rounds: digest on %.3f us, off %.3f us, on/off %.3f (target <= 1.03)\n",
        n, on, off, on / off }'
