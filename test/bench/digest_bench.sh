#!/usr/bin/env bash
# What the query digest costs: sysbench oltp_point_select through two
# switchyard processes that differ only in [admin] query_digest (on / off),
# against the same replica, in one run. Rounds alternate on, off, off, on,
# on, off ... so drift on a shared machine, and going first or second in a
# round, fall on both. Prints queries/s and two figures
# of the proxy per query for each round: CPU time (utime+stime from
# /proc/PID/stat, in clock ticks, coarse) and what `perf stat -p PID` counts
# while the round runs: instructions, steadier than time, or task-clock (CPU
# time to the nanosecond) where this machine has no hardware counters (a VM
# without a PMU). Then the medians over the rounds and their on/off ratio
# (robust to one disturbed round), and the median of each round's on/off
# ratio of the perf figure (on and off run back to back: slow drift of the
# machine cancels in it).
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

release_binary
"$SANDBOX" start
sb_prepare

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

# perf stat -x, writes "value,unit,event,...": the value of EVENT, or nothing
# when it was not counted.
perf_value() {  # perf_value FILE EVENT
    awk -F, -v e="$2" '$3 == e && $1 ~ /^[0-9.]+$/ {print $1}' "$1"
}
EVENT=instructions UNIT="instructions/query" SCALE=1
perf stat -x, -e instructions -p "${PID[on]}" -o "$WORK/probe.csv" -- sleep 0.2
if grep -q '<not supported>' "$WORK/probe.csv"; then
    echo "==> perf stat cannot count instructions here (no hardware counters): task-clock instead"
    EVENT=task-clock UNIT="us task-clock/query" SCALE=1000 # msec
fi

declare -A CPU PERF LAST
RATIOS=""
for round in $(seq "$ROUNDS"); do
    order="on off"
    ((round % 2)) || order="off on"
    for mode in $order; do
        args=(--threads="$THREADS" --db-ps-mode=disable --skip_trx=on --time="$TIME")
        c0=$(cpu_ticks "${PID[$mode]}")
        # perf counts the proxy (-p) for as long as sysbench runs
        SB_EXEC="perf stat -x, -e $EVENT -p ${PID[$mode]} -o $WORK/perf.csv --" \
            sb oltp_point_select "${PORT[$mode]}" run "${args[@]}" > "$WORK/run.txt"
        c1=$(cpu_ticks "${PID[$mode]}")
        sb_check "$WORK/run.txt" "oltp_point_select via digest $mode"
        read -r q qps _ < <(sb_figures "$WORK/run.txt")
        us=$(awk -v d=$((c1 - c0)) -v hz="$HZ" -v q="$q" 'BEGIN{printf "%.3f", d / hz * 1e6 / q}')
        v=$(perf_value "$WORK/perf.csv" "$EVENT")
        [[ -n $v ]] || { echo "perf stat counted no $EVENT:"; cat "$WORK/perf.csv"; exit 1; }
        per=$(awk -v v="$v" -v s="$SCALE" -v q="$q" 'BEGIN{printf "%.3f", v * s / q}')
        printf 'round %s digest %-3s: %s q/s, %s us CPU/query, %s %s\n' \
            "$round" "$mode" "$qps" "$us" "$per" "$UNIT"
        CPU[$mode]="${CPU[$mode]:-} $us"
        PERF[$mode]="${PERF[$mode]:-} $per"
        LAST[$mode]=$per
    done
    r=$(awk -v on="${LAST[on]}" -v off="${LAST[off]}" 'BEGIN{printf "%.3f", on / off}')
    printf 'round %s: on/off %s\n' "$round" "$r"
    RATIOS="$RATIOS $r"
done
# shellcheck disable=SC2086 # the lists split into median's arguments
summary() {  # summary WHAT ON_LIST OFF_LIST
    awk -v what="$1" -v on="$(median $2)" -v off="$(median $3)" -v n="$ROUNDS" 'BEGIN {
        printf "oltp_point_select proxy %s, median of %d rounds: digest on %.3f, off %.3f, on/off %.3f (target <= 1.03)\n",
            what, n, on, off, on / off }'
}
summary "us CPU/query (/proc)" "${CPU[on]}" "${CPU[off]}"
summary "$UNIT (perf stat)" "${PERF[on]}" "${PERF[off]}"
# shellcheck disable=SC2086
printf 'median of the per-round on/off ratios of %s: %s\n' "$UNIT" "$(median $RATIOS)"
