#!/usr/bin/env bash
# What the query digest costs, counted in instructions rather than timed:
# the proxy runs under valgrind's callgrind (one worker thread) while
# sysbench sends the same fixed number of oltp_point_select queries, once
# with [admin] query_digest = on and once off. Prints the worker thread's
# instructions per query in each mode and their ratio. Instruction counts do
# not depend on the machine's load, so one run of each is enough (the timed
# figures of digest_bench.sh spread by ±15% on a shared machine).
# Knobs: SY_BENCH_EVENTS (20000 queries per mode), SY_BENCH_BINARY
# (build-rel/switchyard, built Release when missing).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
. "$ROOT/test/bench/lib.sh"
SANDBOX="$ROOT/test/sandbox/sandbox.sh"
EVENTS=${SY_BENCH_EVENTS:-20000}
BIN=${SY_BENCH_BINARY:-build-rel/switchyard}
TABLES=4
TABLE_SIZE=10000
WORK=$(mktemp -d /tmp/switchyard-digest-instructions.XXXXXX)
PIDS=""

cleanup() {
    stop_pids $PIDS
    if [[ -n ${PREPARED:-} ]]; then sb oltp_read_only 3310 cleanup >/dev/null 2>&1 || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

command -v valgrind >/dev/null || { echo "valgrind is missing (apt-get install valgrind)"; exit 1; }
release_binary
"$SANDBOX" start
sb_prepare

# The most instructions of one thread's callgrind file: the worker's.
worker_instructions() {  # worker_instructions PREFIX
    local f best=0 n
    for f in "$1"*; do
        n=$(sed -nE 's/^(summary|totals): ([0-9]+).*/\2/p' "$f" | head -1)
        [[ -n $n ]] && ((n > best)) && best=$n
    done
    echo "$best"
}

declare -A PER
for mode in on off; do
    port=$(free_port)
    { base_ini "$port" 1
      printf '[user.app]\npassword = app_pw\n\n'
      printf '[admin]\nlisten = 127.0.0.1:%s\npassword = admin_pw\nquery_digest = %s\n' \
          "$(free_port)" "$mode"; } > "$WORK/$mode.ini"
    valgrind --tool=callgrind --separate-threads=yes \
        --callgrind-out-file="$WORK/cg-$mode.%p" "$BIN" -c "$WORK/$mode.ini" \
        </dev/null >"$WORK/$mode.log" 2>&1 &
    pid=$!
    PIDS="$PIDS $pid"
    wait_port "$port" "$pid" "$mode"
    sleep 3 # the monitor marks replica1 eligible
    sb oltp_point_select "$port" run --threads=1 --db-ps-mode=disable --skip_trx=on \
        --time=0 --events="$EVENTS" > "$WORK/run-$mode.txt"
    sb_check "$WORK/run-$mode.txt" "oltp_point_select via digest $mode"
    read -r q _ < <(sb_figures "$WORK/run-$mode.txt")
    stop_pids "$pid"
    ir=$(worker_instructions "$WORK/cg-$mode.")
    PER[$mode]=$(awk -v ir="$ir" -v q="$q" 'BEGIN{printf "%.0f", ir / q}')
    printf 'digest %-3s: %s queries, worker thread %s instructions, %s per query\n' \
        "$mode" "$q" "$ir" "${PER[$mode]}"
done
awk -v on="${PER[on]}" -v off="${PER[off]}" 'BEGIN {
    printf "oltp_point_select, instructions per query in the worker: on/off %.4f (target <= 1.03)\n",
        on / off }'
