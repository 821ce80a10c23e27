#!/usr/bin/env bash
# Cost of causal reads (not a test, not run by CI):  sudo test/bench/causal_bench.sh
#
# In one run, against the sandbox (primary 3310, replica1 3311, replica2 3312):
# one switchyard (Release, build-rel/) per causal_reads mode (off, gtid, global,
# universal), each routing reads over both replicas, and a direct connection to
# the primary. It measures
#   1. insert-then-read pairs (causal_pairs.c, one client thread): INSERT a row,
#      at once SELECT it by id, on the same connection and on another one, as
#      text query and as prepared statement; p50/p99 of the pair, stale reads
#      counted, and the servers the reads ran on. Two baselines read from the
#      primary: "direct" (both statements on a direct connection) and
#      "primary" (the `off` proxy with the read hinted /* route=primary */);
#      one floor for a causal read on a replica: "replica" (other connection,
#      text only: the INSERT on a direct connection to the primary, the read on
#      a direct one to replica1 behind MASTER_GTID_WAIT of the INSERT's GTID in
#      the same round trip, as a client would do it without a proxy);
#   2. sysbench throughput, text protocol, --skip_trx=on (reads are not
#      wrapped in transactions): oltp_point_select with an idle writer (no
#      writes at all), oltp_point_select with a writer (oltp_write_only, one
#      thread, SY_BENCH_WRITE_RATE events/s of 4 autocommit writes each,
#      through the same target), and oltp_read_write; with queries/s, p95, the
#      proxy's CPU time per query, causal waits per query, timeouts and
#      universal's position fetches per query (from /metrics) and the writes/s
#      the primary really committed.
# and prints the issue's two targets:
#   global / off queries/s, oltp_point_select with an idle writer    >= 0.90
#   global / reading from the primary, insert-then-read p50          <= 1.2
# and global / replica, the part of the pair's latency that the proxy adds to
# what replication itself costs.
#
# Knobs: SY_BENCH_TIME (10 s per sysbench run), SY_BENCH_WARMUP (2 s),
#        SY_BENCH_THREADS (8 sysbench threads), SY_BENCH_PROXY_THREADS (2),
#        SY_BENCH_PAIRS (1000 per row), SY_BENCH_WRITE_RATE (10),
#        SY_BENCH_ROUNDS (1; with more, every figure is the median of the
#        rounds, which interleave the targets against drifting machine load),
#        SY_BENCH_MODES ("off gtid global universal"),
#        SY_BENCH_CAUSAL_TIMEOUT_MS (1000), SY_BENCH_REBUILD (1).
# Defaults take about 5 minutes. On 2 shared cores client, proxies and servers
# compete for CPU: throughput ratios move with scheduling by several percent;
# CPU-us per query is the steadier figure.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
    exec sudo -E "$0" "$@"
fi

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
. "$ROOT/test/bench/lib.sh"
SANDBOX="$ROOT/test/sandbox/sandbox.sh"
TIME=${SY_BENCH_TIME:-10}
WARMUP=${SY_BENCH_WARMUP:-2}
THREADS=${SY_BENCH_THREADS:-8}
PROXY_THREADS=${SY_BENCH_PROXY_THREADS:-2}
PAIRS=${SY_BENCH_PAIRS:-1000}
WRITE_RATE=${SY_BENCH_WRITE_RATE:-10}
ROUNDS=${SY_BENCH_ROUNDS:-1}
MODES=${SY_BENCH_MODES:-"off gtid global universal"}
CAUSAL_TIMEOUT=${SY_BENCH_CAUSAL_TIMEOUT_MS:-1000}
TABLES=4
TABLE_SIZE=10000
HZ=$(getconf CLK_TCK)
PRIMARY_HINT="/* route=primary */ "
CASES="point_select-idle point_select-writer read_write"
IGNORE_ERRORS=1062,1213,1205,1020  # skip_trx: concurrent delete+insert of one id may collide
WORK=$(mktemp -d /tmp/switchyard-causal-bench.XXXXXX)
RESULTS=$WORK/results
PIDS=() WRITER_PID=""
declare -A PORT HTTP PID

cleanup() {
    stop_pids $WRITER_PID "${PIDS[@]}"
    if [[ -n ${PREPARED:-} ]]; then
        sb oltp_read_only 3310 cleanup >/dev/null 2>&1 || true
        primary_sql "DROP TABLE IF EXISTS sbtest.causal_pairs" >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

primary_sql() {
    mysql --no-defaults -h127.0.0.1 -P3310 -uapp -papp_pw -N -B -e "$1"
}

# Sum of the sequence numbers in the primary's @@gtid_binlog_pos: grows by one per commit.
gtid_seq() {
    primary_sql "SELECT @@gtid_binlog_pos" | awk -F, '{for (i = 1; i <= NF; i++) {n = split($i, p, "-"); s += p[n]}} END{print s + 0}'
}

counters() {  # counters HTTP_PORT: "waits timeouts position_fetches" of causal reads, from /metrics
    curl -sf --max-time 5 "http://127.0.0.1:$1/metrics" | awk '
        $1 == "switchyard_causal_waits_total" {w = $2}
        $1 == "switchyard_causal_timeouts_total" {t = $2}
        $1 == "switchyard_causal_position_fetches_total" {f = $2}
        END{print w + 0, t + 0, f + 0}'
}

# Median of the numbers on stdin, one a line.
median() {
    awk '$1 != "-"' | sort -g | awk '{a[NR] = $1} END{if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

# The median over the rounds of field N (1-based, after the key) of the results keyed KEY.
result() {
    awk -v k="$1" -v f="$2" '$1 == k {print $(f + 1)}' "$RESULTS" | median
}

fmt() {  # fmt FORMAT VALUE: printf of a number, "-" left as it is
    awk -v f="$1" -v v="$2" 'BEGIN{print (v == "-" ? v : sprintf(f, v))}'
}

ratio() {  # ratio A B: A / B with two decimals, "-" when either is missing
    awk -v a="$1" -v b="$2" 'BEGIN{if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b}'
}

write_ini() {  # write_ini MODE ADMIN_PORT
    cat <<EOF
[proxy]
listen = 127.0.0.1:${PORT[$1]}
threads = $PROXY_THREADS

[monitor]
user = monitor
password = monitor_pw
interval_ms = 1000
max_replication_lag = 30

[routing]
causal_reads = $1
causal_reads_timeout_ms = $CAUSAL_TIMEOUT

[backend.primary]
role = primary
host = 127.0.0.1
port = 3310

[backend.replica1]
role = replica
host = 127.0.0.1
port = 3311

[backend.replica2]
role = replica
host = 127.0.0.1
port = 3312

[user.app]
password = app_pw

[admin]
listen = 127.0.0.1:$2
user = admin
password = admin_pw
http_listen = 127.0.0.1:${HTTP[$1]}
EOF
}

# Polls until the monitor has made a replica eligible and a plain read through the proxy lands there.
wait_replica_reads() {
    local mode=$1 port
    for _ in $(seq 300); do
        port=$(mysql --no-defaults -h127.0.0.1 -P"${PORT[$mode]}" -uapp -papp_pw -N -B \
            -e 'SELECT @@port' 2>/dev/null || true)
        [[ $port == 3311 || $port == 3312 ]] && return 0
        sleep 0.1
    done
    echo "switchyard ($mode) sends reads to '$port', not to a replica"; cat "$WORK/sy-$mode.log"; exit 1
}

target_port() { if [[ $1 == direct ]]; then echo 3310; else echo "${PORT[$1]}"; fi; }

start_writer() {
    SB_EXEC="exec" sb oltp_write_only "$1" run --threads=1 --rate="$WRITE_RATE" --time=0 --skip_trx=on \
        --db-ps-mode=disable --mysql-ignore-errors="$IGNORE_ERRORS" >"$WORK/writer.log" 2>&1 &
    WRITER_PID=$!
}

stop_writer() {
    stop_pids $WRITER_PID
    sb_check "$WORK/writer.log" writer
    WRITER_PID=""
}

# The targets of the insert-then-read pairs on CONN with PROTO: the baselines, then the modes.
pair_targets() {  # pair_targets CONN PROTO
    local t="direct"
    [[ " $MODES " == *" off "* ]] && t+=" primary"
    [[ $1.$2 == cross.text ]] && t+=" replica"
    echo "$t $MODES"
}

# One row of insert-then-read pairs. TARGET is direct, primary (the off proxy,
# reads hinted to the primary), replica (direct, the client waits) or a mode.
run_pairs() {  # run_pairs TARGET CONN(same|cross) PROTO(text|ps)
    local target=$1 conn=$2 proto=$3 args out
    args=(-h 127.0.0.1 -u app -p app_pw -D sbtest -n "$PAIRS" -x "$([[ $conn == cross ]] && echo on || echo off)")
    [[ $proto == ps ]] && args+=(-s)
    if [[ $target == primary ]]; then
        args+=(-P "${PORT[off]}" -r "$PRIMARY_HINT")
    elif [[ $target == replica ]]; then
        args+=(-P 3310 -R 3311)
    else
        args+=(-P "$(target_port "$target")")
    fi
    out=$("$WORK/causal_pairs" "${args[@]}")
    # key p50 p99 read_p50 read_p99 stale ports
    sed -E 's/[a-z0-9_]+=//g' <<<"$out" | awk -v k="pair.$target.$conn.$proto" '{print k, $2, $3, $4, $5, $6, $7}' >>"$RESULTS"
    printf '    %-9s %-5s %-4s %s\n' "$target" "$conn" "$proto" "$out"
}

# One sysbench run of CASE against TARGET (direct or a mode), with its warm-up.
run_sysbench() {  # run_sysbench CASE TARGET
    local case=$1 target=$2 port pid="" wl=oltp_point_select args out c0=0 c1=0 w0=0 w1=0 t0=0 t1=0 f0=0 f1=0 g0 g1
    port=$(target_port "$target")
    [[ $target != direct ]] && pid=${PID[$target]}
    [[ $case == read_write ]] && wl=oltp_read_write
    args=(--threads="$THREADS" --db-ps-mode=disable --skip_trx=on --mysql-ignore-errors="$IGNORE_ERRORS")
    [[ $case == *-writer ]] && start_writer "$port"
    if ((WARMUP > 0)); then
        sb "$wl" "$port" run "${args[@]}" --time="$WARMUP" >/dev/null
    fi
    out="$WORK/$case-$target.out"
    if [[ -n $pid ]]; then
        c0=$(cpu_ticks "$pid")
        read -r w0 t0 f0 < <(counters "${HTTP[$target]}")
    fi
    g0=$(gtid_seq)
    sb "$wl" "$port" run "${args[@]}" --time="$TIME" >"$out"
    g1=$(gtid_seq)
    if [[ -n $pid ]]; then
        c1=$(cpu_ticks "$pid")
        read -r w1 t1 f1 < <(counters "${HTTP[$target]}")
    fi
    [[ $case == *-writer ]] && stop_writer
    sb_check "$out"
    local queries qps p95
    read -r queries qps p95 < <(sb_figures "$out")
    # key qps p95 cpu_us_per_query waits_per_query timeouts writes_per_s fetches_per_query
    awk -v k="tp.$case.$target" -v qps="$qps" -v p95="$p95" -v q="$queries" -v pid="$pid" -v hz="$HZ" \
        -v dc=$((c1 - c0)) -v dw=$((w1 - w0)) -v dt=$((t1 - t0)) -v dg=$((g1 - g0)) -v df=$((f1 - f0)) \
        -v time="$TIME" \
        'BEGIN{if (pid == "") {cpu = "-"; w = "-"; t = "-"; f = "-"}
               else {cpu = dc / hz * 1e6 / q; w = dw / q; t = dt; f = df / q}
               print k, qps, p95, cpu, w, t, dg / time, f}' | tee -a "$RESULTS" |
        awk '{printf "    %s q/s, p95 %s ms, proxy CPU %s us/query, causal waits/query %s, timeouts %s, writes %.1f/s, position fetches/query %s\n", $2, $3, $4, $5, $6, $7, $8}'
}

# ---------------------------------------------------------------- setup
echo "==> build (Release, build-rel/) and causal_pairs"
if [[ ! -x build-rel/switchyard ]] || [[ ${SY_BENCH_REBUILD:-1} == 1 ]]; then
    cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release -DSY_TESTS=OFF >/dev/null
    cmake --build build-rel -j2 >/dev/null
fi
# shellcheck disable=SC2046  # mariadb_config prints several flags
cc -O2 -std=c11 -Wall -Wextra -o "$WORK/causal_pairs" test/bench/causal_pairs.c $(mariadb_config --cflags --libs)

echo "==> sandbox"
"$SANDBOX" start

echo "==> prepare sbtest ($TABLES tables x $TABLE_SIZE rows) and sbtest.causal_pairs on the primary"
sb oltp_read_only 3310 cleanup >/dev/null 2>&1 || true
PREPARED=1
sb oltp_read_only 3310 prepare >/dev/null
primary_sql "DROP TABLE IF EXISTS sbtest.causal_pairs;
             CREATE TABLE sbtest.causal_pairs (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT)"
"$SANDBOX" wait-replica replica1 >/dev/null
"$SANDBOX" wait-replica replica2 >/dev/null

for mode in $MODES; do
    PORT[$mode]=$(free_port)
    HTTP[$mode]=$(free_port)
    write_ini "$mode" "$(free_port)" >"$WORK/sy-$mode.ini"
    build-rel/switchyard -c "$WORK/sy-$mode.ini" </dev/null >"$WORK/sy-$mode.log" 2>&1 &
    PID[$mode]=$!
    PIDS+=("$!")
done
for mode in $MODES; do
    wait_port "${PORT[$mode]}" "${PID[$mode]}" "sy-$mode"
    wait_port "${HTTP[$mode]}" "${PID[$mode]}" "sy-$mode"
    wait_replica_reads "$mode"
    echo "==> switchyard causal_reads = $mode on :${PORT[$mode]} (threads=$PROXY_THREADS, /metrics on :${HTTP[$mode]})"
done

# ---------------------------------------------------------------- runs
for round in $(seq "$ROUNDS"); do
    echo "==> round $round/$ROUNDS: insert-then-read pairs ($PAIRS per row)"
    for conn in same cross; do
        for proto in text ps; do
            for target in $(pair_targets "$conn" "$proto"); do run_pairs "$target" "$conn" "$proto"; done
        done
    done
    for case in $CASES; do
        for target in direct $MODES; do
            echo "==> round $round/$ROUNDS: $case via $target: ${TIME}s, $THREADS threads"
            run_sysbench "$case" "$target"
        done
    done
done

# ---------------------------------------------------------------- report
echo
echo "$(build-rel/switchyard --version 2>/dev/null | head -1), $(nproc) CPUs, $ROUNDS round(s)$( ((ROUNDS > 1)) && echo ', medians')"
echo "backends: primary 3310, replica1 3311, replica2 3312; causal_reads_timeout_ms = $CAUSAL_TIMEOUT"
echo
echo "insert-then-read pairs, one client thread, $PAIRS pairs a row; \"primary\": the off proxy, read hinted route=primary;"
echo "\"replica\": no proxy, the client waits for its INSERT's GTID on replica1 in the read's round trip"
printf '%-9s %-5s %-4s %10s %10s %10s %9s %-10s %10s %10s\n' target conn prot "p50 us" "p99 us" "read p50" stale "read on" "vs direct" "vs primary"
for conn in same cross; do
    for proto in text ps; do
        for target in $(pair_targets "$conn" "$proto"); do
            k=pair.$target.$conn.$proto
            stale=$(awk -v k="$k" '$1 == k {s += $6} END{print s + 0}' "$RESULTS")
            ports=$(awk -v k="$k" '$1 == k {p = $7} END{print p}' "$RESULTS")
            printf '%-9s %-5s %-4s %10s %10s %10s %9s %-10s %10s %10s\n' "$target" "$conn" "$proto" \
                "$(result "$k" 1)" "$(result "$k" 2)" "$(result "$k" 3)" "$stale/$((PAIRS * ROUNDS))" "$ports" \
                "$(ratio "$(result "$k" 1)" "$(result "pair.direct.$conn.$proto" 1)")" \
                "$(ratio "$(result "$k" 1)" "$(result "pair.primary.$conn.$proto" 1)")"
        done
    done
done
echo
echo "sysbench, $THREADS threads x ${TIME}s, text protocol, skip_trx=on; writer: oltp_write_only, 1 thread, $WRITE_RATE events/s"
printf '%-20s %-9s %10s %7s %9s %8s %9s %11s %8s %9s %13s\n' case target "queries/s" "vs off" "vs direct" "p95 ms" "CPU us/q" "waits/query" timeouts "writes/s" "fetches/query"
for case in $CASES; do
    for target in direct $MODES; do
        k=tp.$case.$target
        printf '%-20s %-9s %10s %7s %9s %8s %9s %11s %8s %9s %13s\n' "$case" "$target" "$(result "$k" 1)" \
            "$(ratio "$(result "$k" 1)" "$(result "tp.$case.off" 1)")" \
            "$(ratio "$(result "$k" 1)" "$(result "tp.$case.direct" 1)")" \
            "$(result "$k" 2)" "$(fmt %.1f "$(result "$k" 3)")" "$(fmt %.3f "$(result "$k" 4)")" \
            "$(result "$k" 5)" "$(fmt %.1f "$(result "$k" 6)")" "$(fmt %.3f "$(result "$k" 7)")"
    done
done

echo
echo "targets of issue 10:"
verdict() {  # verdict VALUE OP LIMIT
    awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN{if (v == "-") print "not measured";
        else if ((op == ">=" && v >= l) || (op == "<=" && v <= l)) print "met"; else print "MISSED"}'
}
r=$(ratio "$(result tp.point_select-idle.global 1)" "$(result tp.point_select-idle.off 1)")
printf '  global / off queries/s, oltp_point_select, idle writer:         %5s  (target >= 0.90: %s)\n' "$r" "$(verdict "$r" ">=" 0.90)"
for base in primary direct; do
    r=$(ratio "$(result pair.global.cross.text 1)" "$(result "pair.$base.cross.text" 1)")
    printf '  global / %-7s insert-then-read p50, other connection, text: %5s  (target <= 1.2: %s)\n' "$base" "$r" "$(verdict "$r" "<=" 1.2)"
done
printf '  global / replica insert-then-read p50, other connection, text: %5s  (no target: the proxy against replication itself)\n' \
    "$(ratio "$(result pair.global.cross.text 1)" "$(result pair.replica.cross.text 1)")"
