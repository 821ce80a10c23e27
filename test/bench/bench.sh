#!/usr/bin/env bash
# switchyard benchmark (not a test, not run by CI):  sudo test/bench/bench.sh
#
# Read throughput and cost of switchyard vs. HAProxy (tcp mode) vs. a direct
# connection, all against the same server (replica1, 127.0.0.1:3311):
#   - prepares sbtest (4 tables x 10000 rows) on the primary,
#   - starts build/switchyard (Release) routing reads to replica1 and HAProxy in
#     front of replica1,
#   - runs sysbench oltp_point_select and oltp_read_only (16 threads, 20 s,
#     text protocol, --skip_trx=on so reads are not wrapped in transactions)
#     against: direct, haproxy, switchyard,
#   - reports queries/s, p95 latency, throughput ratio vs direct and the proxy
#     process' CPU time per query (utime+stime from /proc/PID/stat).
#
# Knobs: SY_BENCH_TIME (20), SY_BENCH_THREADS (16), SY_BENCH_PROXY_THREADS (2),
#        SY_BENCH_WARMUP (3 s per target), SY_BENCH_WORKLOADS ("oltp_point_select oltp_read_only"),
#        SY_BENCH_BOTH_REPLICAS=1 (switchyard balances over both replicas instead of replica1 only).
# On 2 cores client, proxy and servers compete for CPU: CPU-µs per query is the
# steadier figure; throughput ratios move with scheduling.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
    exec sudo -E "$0" "$@"
fi

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
. "$ROOT/test/bench/lib.sh"
SANDBOX="$ROOT/test/sandbox/sandbox.sh"
TIME=${SY_BENCH_TIME:-20}
THREADS=${SY_BENCH_THREADS:-16}
PROXY_THREADS=${SY_BENCH_PROXY_THREADS:-2}
WARMUP=${SY_BENCH_WARMUP:-3}
WORKLOADS=${SY_BENCH_WORKLOADS:-"oltp_point_select oltp_read_only"}
TABLES=4
TABLE_SIZE=10000
HZ=$(getconf CLK_TCK)
WORK=$(mktemp -d /tmp/switchyard-bench.XXXXXX)
SY_PID="" HA_PID=""

cleanup() {
    stop_pids $SY_PID $HA_PID
    if [[ -n ${PREPARED:-} ]]; then
        sb oltp_read_only 3310 cleanup >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# ---------------------------------------------------------------- setup
echo "==> build (Release, build/)"
if [[ ! -x build/switchyard ]] || [[ ${SY_BENCH_REBUILD:-1} == 1 ]]; then
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSY_TESTS=OFF >/dev/null
    cmake --build build -j "$(nproc)" >/dev/null
fi

echo "==> sandbox"
"$SANDBOX" start

echo "==> prepare sbtest ($TABLES tables x $TABLE_SIZE rows) on the primary"
sb oltp_read_only 3310 cleanup >/dev/null 2>&1 || true
PREPARED=1
sb oltp_read_only 3310 prepare >/dev/null
"$SANDBOX" wait-replica replica1 >/dev/null
"$SANDBOX" wait-replica replica2 >/dev/null

SY_PORT=$(free_port)
base_ini "$SY_PORT" "$PROXY_THREADS" > "$WORK/switchyard.ini"
if [[ ${SY_BENCH_BOTH_REPLICAS:-0} == 1 ]]; then
    backend_ini replica2 replica 3312 >> "$WORK/switchyard.ini"
fi
printf '[user.app]\npassword = app_pw\n' >> "$WORK/switchyard.ini"

HA_PORT=$(free_port)
cat > "$WORK/haproxy.cfg" <<EOF
global
    maxconn 2000

defaults
    mode tcp
    timeout connect 5s
    timeout client 5m
    timeout server 5m

listen mysql_replica1
    bind 127.0.0.1:$HA_PORT
    server replica1 127.0.0.1:3311
EOF

echo "==> start switchyard on :$SY_PORT (threads=$PROXY_THREADS) and haproxy $(haproxy -v | head -1 | awk '{print $3}') on :$HA_PORT"
build/switchyard -c "$WORK/switchyard.ini" </dev/null >"$WORK/switchyard.log" 2>&1 &
SY_PID=$!
haproxy -db -f "$WORK/haproxy.cfg" </dev/null >"$WORK/haproxy.log" 2>&1 &
HA_PID=$!
wait_port "$SY_PORT" "$SY_PID" switchyard
wait_port "$HA_PORT" "$HA_PID" haproxy
sleep 2   # let the monitor mark replica1 eligible
port=$(mysql --no-defaults -h127.0.0.1 -P"$SY_PORT" -uapp -papp_pw -N -e 'SELECT @@port')
[[ $port == 3311 ]] || { echo "switchyard sends reads to $port, expected 3311"; exit 1; }

# ---------------------------------------------------------------- runs
declare -A QPS P95 CPU
for wl in $WORKLOADS; do
    for target in direct haproxy switchyard; do
        case $target in
            direct) port=3311 pid="" ;;
            haproxy) port=$HA_PORT pid=$HA_PID ;;
            switchyard) port=$SY_PORT pid=$SY_PID ;;
        esac
        args=(--threads="$THREADS" --db-ps-mode=disable --skip_trx=on --range_selects=on)
        if ((WARMUP > 0)); then
            sb "$wl" "$port" run "${args[@]}" --time="$WARMUP" >/dev/null
        fi
        echo "==> $wl via $target: ${TIME}s, $THREADS threads"
        c0=0; [[ -n $pid ]] && c0=$(cpu_ticks "$pid")
        sb "$wl" "$port" run "${args[@]}" --time="$TIME" > "$WORK/$wl-$target.out"
        c1=0; [[ -n $pid ]] && c1=$(cpu_ticks "$pid")
        out="$WORK/$wl-$target.out"
        sb_check "$out"
        read -r queries "QPS[$wl.$target]" "P95[$wl.$target]" < <(sb_figures "$out")
        if [[ -n $pid ]]; then
            CPU[$wl.$target]=$(awk -v d=$((c1 - c0)) -v hz="$HZ" -v q="$queries" 'BEGIN{printf "%.1f", d / hz * 1e6 / q}')
        else
            CPU[$wl.$target]="-"
        fi
        printf '    %s q/s, p95 %s ms, proxy CPU %s us/query\n' \
            "${QPS[$wl.$target]}" "${P95[$wl.$target]}" "${CPU[$wl.$target]}"
    done
done

# ---------------------------------------------------------------- report
echo
echo "$(build/switchyard --version 2>/dev/null | head -1) vs HAProxy $(haproxy -v | head -1 | awk '{print $3}'), $(nproc) CPUs, sysbench $THREADS threads x ${TIME}s, text protocol, skip_trx=on"
echo "backend: replica1 (127.0.0.1:3311) for all targets$([[ ${SY_BENCH_BOTH_REPLICAS:-0} == 1 ]] && echo '; switchyard: replica1+replica2')"
printf '\n%-18s %-11s %11s %9s %9s %12s\n' workload target "queries/s" "vs direct" "p95 ms" "CPU us/query"
for wl in $WORKLOADS; do
    for target in direct haproxy switchyard; do
        ratio=$(awk -v a="${QPS[$wl.$target]}" -v b="${QPS[$wl.direct]}" 'BEGIN{printf "%.2f", a / b}')
        printf '%-18s %-11s %11s %9s %9s %12s\n' "$wl" "$target" "${QPS[$wl.$target]}" "$ratio" \
            "${P95[$wl.$target]}" "${CPU[$wl.$target]}"
    done
done
echo
printf '%-18s %22s %22s %22s\n' workload "switchyard/haproxy q/s" "p95" "CPU/query"
for wl in $WORKLOADS; do
    awk -v wl="$wl" -v sq="${QPS[$wl.switchyard]}" -v hq="${QPS[$wl.haproxy]}" \
        -v sp="${P95[$wl.switchyard]}" -v hp="${P95[$wl.haproxy]}" \
        -v sc="${CPU[$wl.switchyard]}" -v hc="${CPU[$wl.haproxy]}" \
        'BEGIN{printf "%-18s %22.2f %22.2f %22s\n", wl, sq / hq, (hp > 0 ? sp / hp : 0), (hc > 0 ? sprintf("%.2f", sc / hc) : "-")}'
done
