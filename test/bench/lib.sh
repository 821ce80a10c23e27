# shellcheck shell=bash
# Helpers shared by the benchmark scripts in test/bench/ (sourced, not run).
# They expect WORK (a scratch directory holding NAME.log of each started
# process), TABLES and TABLE_SIZE (the sysbench data set) to be set.

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Stop processes this script started: TERM, up to 5 s to exit, then KILL.
stop_pids() {
    local p
    for p in "$@"; do
        if kill -0 "$p" 2>/dev/null; then
            kill -TERM "$p" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$p" 2>/dev/null || true
        fi
    done
}

wait_port() {
    local port=$1 pid=$2 name=$3
    for _ in $(seq 200); do
        kill -0 "$pid" 2>/dev/null || { echo "$name exited:"; cat "$WORK/$name.log"; exit 1; }
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "$name does not listen on $port"; cat "$WORK/$name.log"; exit 1
}

# SB_EXEC goes before sysbench. With SB_EXEC=exec, sysbench replaces the calling shell:
# `SB_EXEC=exec sb ... &` makes $! sysbench's own pid (a plain `sb ... &` gives the pid of a
# subshell that is its parent). A command that runs the rest (`perf stat ... --`) also fits.
sb() {  # sb WORKLOAD PORT COMMAND [args]
    local workload=$1 port=$2 cmd=$3; shift 3
    ${SB_EXEC:-} sysbench "$workload" --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$port" \
        --mysql-user=app --mysql-password=app_pw --mysql-db=sbtest \
        --tables="$TABLES" --table-size="$TABLE_SIZE" "$@" "$cmd"
}

cpu_ticks() {  # utime+stime of a process (all threads), in clock ticks
    local stat; stat=$(<"/proc/$1/stat")
    stat=${stat##*) }
    awk '{print $12 + $13}' <<<"$stat"
}

sb_check() {  # sb_check FILE [WHAT]: stop the benchmark when a sysbench run failed
    if grep -q FATAL "$1"; then echo "${2:-sysbench} failed:"; tail -n 20 "$1"; exit 1; fi
}

sb_figures() {  # sb_figures FILE: "queries queries/s p95_ms" of a sysbench run
    printf '%s %s %s\n' "$(sed -nE 's/^ *queries: +([0-9]+) .*/\1/p' "$1")" \
        "$(sed -nE 's/^ *queries: +[0-9]+ +\(([0-9.]+) per sec.*/\1/p' "$1")" \
        "$(sed -nE 's/^ *95th percentile: +([0-9.]+).*/\1/p' "$1")"
}

backend_ini() {  # backend_ini NAME ROLE PORT: one [backend.NAME] section on 127.0.0.1
    printf '[backend.%s]\nrole = %s\nhost = 127.0.0.1\nport = %s\n\n' "$1" "$2" "$3"
}

# The INI every benchmark's proxy starts from: its port and threads, the
# sandbox's monitor account, the primary and replica1; callers append more.
base_ini() {  # base_ini PORT THREADS
    printf '[proxy]\nlisten = 127.0.0.1:%s\nthreads = %s\n\n' "$1" "$2"
    printf '[monitor]\nuser = monitor\npassword = monitor_pw\ninterval_ms = 1000\nmax_replication_lag = 30\n\n'
    backend_ini primary primary 3310
    backend_ini replica1 replica 3311
}

median() {  # median X...: the middle value (the mean of the two middle ones)
    printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {
        printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# The Release binary to measure: $BIN when it exists, else build-rel/ built now.
# Sets BIN.
release_binary() {
    if [[ ! -x $BIN ]]; then
        echo "==> build (Release, build-rel/)"
        cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release >/dev/null
        cmake --build build-rel -j 2 >/dev/null
        BIN=build-rel/switchyard
    fi
}

# Fresh sysbench tables on the sandbox's primary, applied on replica1. Sets
# PREPARED, so a cleanup trap knows to drop them.
sb_prepare() {
    sb oltp_read_only 3310 cleanup >/dev/null 2>&1 || true
    PREPARED=1
    sb oltp_read_only 3310 prepare >/dev/null
    "$ROOT/test/sandbox/sandbox.sh" wait-replica replica1 >/dev/null
}
