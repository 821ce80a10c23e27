#!/usr/bin/env bash
# MariaDB's own test suite (mariadb-test-run --extern) through switchyard.
#
# Starts a standalone MariaDB with the settings mariadb-test-run gives its own
# servers, runs the tests of test/mtr/selection.txt against it directly, then
# through a switchyard in front of it, then through a switchyard in front of
# the sandbox topology (primary 3310 + replicas 3311/3312), each with the text
# protocol and with --ps-protocol; then mysql_client_test (test/mtr/client_test.sh)
# directly and through the proxy. Every test starts on a clean server
# (mysqltest-wrapper.sh, clean-server.sh).
#
# Verdict: a test that passes directly must pass through the proxy and through
# the topology in the same protocol (topology-excluded.txt lists the tests
# whose results legitimately name the server they ran on). Prints
# "mtr LABEL: N passed, N failed" per pass, one "mtr verdict ..." line per
# comparison, the diffs of failing tests, and exits non-zero when a test that
# passed directly failed through a proxy.
#
# Knobs (all optional):
#   SY_BINARY=path           the proxy (default build-asan/switchyard)
#   SY_MTR_SELECTION=file    the tests to run (default test/mtr/selection.txt)
#   SY_MTR_PASSES="direct proxy topology client"   which passes to run
#   SY_MTR_PROTOCOLS="text ps"   which protocols the mtr passes use
#   SY_MTR_PORT=3320         the standalone server; the proxies listen on
#                            SY_MTR_PROXY_PORT=6120 (server) and 6121 (topology)
#   SY_SANDBOX_DIR           the sandbox's directory (as test/sandbox/sandbox.sh)
#   SY_MTR_KEEP=1            keep the work directory (servers' data, mtr logs)
#   SY_MTR_MULTIPLEXING=off  the proxies keep each session's connections
#                            ([proxy] multiplexing; default on)
set -uo pipefail

if [[ $(id -u) -ne 0 ]]; then
    exec sudo -E "$0" "$@"
fi

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
MTR_DIR=/usr/share/mysql/mysql-test
SELECTION=${SY_MTR_SELECTION:-$HERE/selection.txt}
PASSES=${SY_MTR_PASSES:-direct proxy topology client}
PROTOCOLS=${SY_MTR_PROTOCOLS:-text ps}
SERVER_PORT=${SY_MTR_PORT:-3320}
PROXY_PORT=${SY_MTR_PROXY_PORT:-6120}
TOPO_PORT=$((PROXY_PORT + 1))
SY_BINARY=${SY_BINARY:-$ROOT/build-asan/switchyard}
SANDBOX=$ROOT/test/sandbox/sandbox.sh
SANDBOX_DIR=${SY_SANDBOX_DIR:-/tmp/switchyard-sandbox}
CLIENT=$(command -v mariadb || command -v mysql)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

WORK=$(mktemp -d /tmp/switchyard-mtr.XXXXXX)
chmod 755 "$WORK"
SRV=$WORK/server
VARDIR=$WORK/var            # mtr's --vardir; the server's secure_file_priv
T0=$(date +%s)
EXTRA_USERS="" server_pid="" proxy_pids=() proxy_logs=() sandbox_started=0 topology_prepared=0
failures=0

log() { printf 'run-mtr: %s  [+%ss]\n' "$*" "$(( $(date +%s) - T0 ))"; }

q() {
    local sock=$1; shift
    "$CLIENT" --no-defaults --socket="$sock" -uroot --batch --skip-column-names --connect-timeout=10 "$@"
}

wait_until() {
    local what=$1 deadline=$(( $(date +%s) + $2 )); shift 2
    until "$@" >/dev/null 2>&1; do
        if (( $(date +%s) > deadline )); then log "timed out waiting for $what"; return 1; fi
        sleep 0.5
    done
}

# ---------------------------------------------------------------- the standalone server
# The options of include/default_mysqld.cnf that a running server can have,
# plus what a small test server needs here.
write_server_cnf() {
    mkdir -p "$SRV/data" "$SRV/tmp" "$VARDIR"
    cat > "$SRV/my.cnf" <<EOF
[mariadbd]
user=root
datadir=$SRV/data
tmpdir=$SRV/tmp
socket=$SRV/sock
pid_file=$SRV/pid
log_error=$SRV/error.log
port=$SERVER_PORT
bind_address=127.0.0.1
skip_name_resolve
performance_schema=OFF
innodb_buffer_pool_size=128M
innodb_flush_log_at_trx_commit=2
character-set-server=latin1
local-infile
log-bin-trust-function-creators=1
max_heap_table_size=1M
sort_buffer_size=256K
key_buffer_size=1M
default-storage-engine=myisam
secure-file-priv=$VARDIR
log-basename=mysqld
connect-timeout=60
use_stat_tables=preferably
histogram_type=json_hb
binlog-direct-non-transactional-updates
EOF
}

# The mtr schema (suppressions, check_testcase) that mariadb-test-run puts
# into the servers it bootstraps; include/*.sql use mysqltest's delimiter syntax.
load_mtr_schema() {
    local sock=$1
    q "$sock" -e "CREATE DATABASE IF NOT EXISTS mtr CHARSET=latin1" || return 1
    awk -f "$HERE/mtr-schema.awk" "$MTR_DIR/include/mtr_warnings.sql" "$MTR_DIR/include/mtr_check.sql" |
        q "$sock" mtr
}

start_server() {
    log "starting MariaDB on 127.0.0.1:$SERVER_PORT ($SRV)"
    write_server_cnf
    mariadb-install-db --defaults-file="$SRV/my.cnf" --auth-root-authentication-method=normal \
        --skip-test-db > "$SRV/install.log" 2>&1 || { tail -n 30 "$SRV/install.log"; return 1; }
    mariadbd --defaults-file="$SRV/my.cnf" > /dev/null 2>&1 &
    server_pid=$!
    wait_until "the server" 120 q "$SRV/sock" -e "SELECT 1" || { tail -n 30 "$SRV/error.log"; return 1; }
    # As mariadb-test-run's own bootstrap: no anonymous accounts, root
    # without a password (tests connect as root with an empty password).
    q "$SRV/sock" -e "DELETE FROM mysql.global_priv WHERE user = ''; FLUSH PRIVILEGES;
                      CREATE DATABASE test;" || return 1
    load_mtr_schema "$SRV/sock" || return 1
    "$HERE/clean-server.sh" baseline "$WORK/state-server" "$SRV/sock"
}

# ---------------------------------------------------------------- proxies
# start_proxy NAME PORT BACKEND_SECTIONS EXTRA_SETTINGS (its files in $WORK/NAME)
start_proxy() {
    local name=$1 port=$2 backends=$3 extra=$4 dir=$WORK/$1
    mkdir -p "$dir"
    cat > "$dir/switchyard.ini" <<EOF
[proxy]
listen = 127.0.0.1:$port
threads = 2
multiplexing = ${SY_MTR_MULTIPLEXING:-on}

$extra

$backends

[user.root]
password =
$EXTRA_USERS
[log]
level = warn
EOF
    "$SY_BINARY" -c "$dir/switchyard.ini" > "$dir/switchyard.log" 2>&1 &
    proxy_pids+=($!)
    proxy_logs+=("$dir/switchyard.log")
    if ! wait_until "proxy $name" 60 "$CLIENT" --no-defaults -h127.0.0.1 -P"$port" -uroot \
            --connect-timeout=5 -e "SELECT 1"; then
        tail -n 30 "$dir/switchyard.log"
        return 1
    fi
    log "switchyard $name listening on 127.0.0.1:$port"
}

# start_server_proxy LABEL
start_server_proxy() {
    # The monitor polls rarely: one server has no lag to measure, and its
    # queries would show in the server's global status counters.
    start_proxy "$1" "$PROXY_PORT" "[backend.server]
role = primary
host = 127.0.0.1
port = $SERVER_PORT" "[monitor]
user = root
password =
interval_ms = 60000"
}

# ---------------------------------------------------------------- the topology
SB_SOCKS=()
# The sandbox's servers, made to behave like mariadb-test-run's server for
# the pass: its settings as global variables (restored afterwards by
# clean-server.sh from the baseline taken before), the mtr schema, and an
# account root@127.0.0.1 without a password as the tests expect (created on
# the primary, it reaches the replicas through replication).
MTR_GLOBALS="SET GLOBAL character_set_server = latin1; SET GLOBAL collation_server = latin1_swedish_ci;
SET GLOBAL default_storage_engine = MyISAM; SET GLOBAL max_heap_table_size = 1048576;
SET GLOBAL sort_buffer_size = 262144; SET GLOBAL key_buffer_size = 1048576; SET GLOBAL local_infile = ON;
SET GLOBAL log_bin_trust_function_creators = ON; SET GLOBAL connect_timeout = 60;
SET GLOBAL use_stat_tables = PREFERABLY; SET GLOBAL histogram_type = JSON_HB;
SET GLOBAL binlog_direct_non_transactional_updates = ON;"

prepare_topology() {
    if ! "$SANDBOX" check >/dev/null 2>&1; then
        log "starting the sandbox ($SANDBOX_DIR)"
        "$SANDBOX" start || return 1
        sandbox_started=1
    fi
    SB_SOCKS=("$SANDBOX_DIR/primary.sock" "$SANDBOX_DIR/replica1.sock" "$SANDBOX_DIR/replica2.sock")
    "$HERE/clean-server.sh" baseline "$WORK/state-sandbox-orig" "${SB_SOCKS[@]}" || return 1
    topology_prepared=1
    local s
    for s in "${SB_SOCKS[@]}"; do q "$s" -e "$MTR_GLOBALS" || return 1; done
    restart_sql_threads || return 1
    q "${SB_SOCKS[0]}" -e "CREATE USER IF NOT EXISTS root@'127.0.0.1';
        GRANT ALL ON *.* TO root@'127.0.0.1' WITH GRANT OPTION;
        DROP DATABASE IF EXISTS test; CREATE DATABASE test;" || return 1
    load_mtr_schema "${SB_SOCKS[0]}" || return 1
    "$HERE/clean-server.sh" baseline "$WORK/state-sandbox" "${SB_SOCKS[@]}" || return 1
    "$HERE/clean-server.sh" clean "$WORK/state-sandbox" "${SB_SOCKS[@]}"
}

# start_topology_proxy LABEL
start_topology_proxy() {
    start_proxy "$1" "$TOPO_PORT" "[backend.primary]
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
port = 3312" "[monitor]
user = monitor
password = monitor_pw

[routing]
causal_reads = global
causal_reads_timeout_ms = 30000"
}

# A replica's SQL thread keeps the session values it started with; it must
# apply the tests' DDL with the pass's default_storage_engine and character
# set (and, afterwards, with the sandbox's own again).
restart_sql_threads() {
    local s
    for s in "${SB_SOCKS[@]:1}"; do
        q "$s" -e "STOP REPLICA SQL_THREAD; START REPLICA SQL_THREAD" || return 1
    done
}

# True when both replication threads of the replica at socket $1 run.
replicating() {
    [[ $(q "$1" -e "SELECT variable_value FROM information_schema.global_status
                     WHERE variable_name = 'SLAVE_RUNNING'") == ON ]]
}

# Gives the sandbox back as it was: its databases, global variables and
# accounts, and checks that both replicas still replicate.
restore_topology() {
    ((topology_prepared)) || return 0
    local ok=0 s
    q "${SB_SOCKS[0]}" -e "DROP DATABASE IF EXISTS mtr" || ok=1
    "$HERE/clean-server.sh" clean "$WORK/state-sandbox-orig" "${SB_SOCKS[@]}" || ok=1
    restart_sql_threads || ok=1
    for s in "${SB_SOCKS[@]:1}"; do
        if ! wait_until "replica $s to run" 60 replicating "$s"; then
            log "replica $s no longer replicates:"
            "$CLIENT" --no-defaults --socket="$s" -uroot -e "SHOW REPLICA STATUS\G" | grep -E 'Running:|Last_.*Error:'
            ok=1
        fi
    done
    topology_prepared=0
    return $ok
}

# Stops the proxies; one that did not exit cleanly (a sanitizer report, a
# crash) counts as a failure and its log is shown.
stop_proxies() {
    local i p rc
    for i in "${!proxy_pids[@]}"; do
        p=${proxy_pids[$i]}
        kill "$p" 2>/dev/null
        wait "$p"; rc=$?
        if ((rc != 0)); then
            echo "run-mtr: FAILED: switchyard (pid $p) exited with status $rc; the end of its log:"
            tail -n 60 "${proxy_logs[$i]}" | sed 's/^/  | /'
            failures=$((failures + 1))
        elif [[ -s ${proxy_logs[$i]} ]]; then
            echo "run-mtr: switchyard's warnings and errors (first 20 lines of ${proxy_logs[$i]}):"
            head -n 20 "${proxy_logs[$i]}" | sed 's/^/  | /'
        fi
    done
    proxy_pids=() proxy_logs=()
}

cleanup() {
    stop_proxies >/dev/null
    restore_topology || true
    if ((sandbox_started)); then "$SANDBOX" stop >/dev/null 2>&1 || true; fi
    if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
    if [[ ${SY_MTR_KEEP:-0} == 1 ]]; then echo "run-mtr: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- one mtr pass
# The test names of a list file (first word of each line; # starts a comment).
listed() { grep -vE '^\s*(#|$)' "$1" | awk '{print $1}'; }

# The tests of the selection, less those listed in file $1 (if given).
selected_tests() {
    listed "$SELECTION" | grep -vxF -f <(listed "${1:-/dev/null}"; echo '#none#')
}

# run_pass LABEL PORT CLEAN_ARGS SKIP_FILE [mtr options...]
# Runs the selection less the tests of SKIP_FILE; writes $WORK/LABEL.pass
# (the names of the tests that passed), prints the counts and the report of
# every failing test.
run_pass() {
    local label=$1 port=$2 clean=$3 skip=$4; shift 4
    local out=$WORK/$label.log
    rm -rf "$VARDIR"
    log "mtr pass $label (port $port)"
    # shellcheck disable=SC2046
    (cd "$MTR_DIR" && SY_MTR_CLEAN=$clean \
        MYSQL_TEST="$HERE/mysqltest-wrapper.sh" ./mariadb-test-run \
        --extern host=127.0.0.1 --extern port="$port" --extern user=root \
        --extern protocol=tcp --extern socket="$WORK/no-such-socket" \
        --vardir="$VARDIR" --force --max-test-fail=0 --retry=0 --testcase-timeout=5 \
        "$@" $(selected_tests "$skip")) > "$out" 2>&1
    sed -nE 's/^([a-z0-9_]+\.[A-Za-z0-9_-]+)[ ]+(\[ pass \]).*/\1/p' "$out" | sort -u > "$WORK/$label.pass"
    local n_sel n_pass n_fail
    n_sel=$(selected_tests "$skip" | wc -l)
    n_pass=$(wc -l < "$WORK/$label.pass")
    n_fail=$(( n_sel - n_pass ))
    echo "mtr $label: $n_pass passed, $n_fail failed"
    if ((n_fail)); then
        comm -23 <(selected_tests "$skip" | sort -u) "$WORK/$label.pass" |
            sed 's/^/    failed: /'
        print_failures "$out"
        if ! grep -q '^Completed:\|^Failing test' "$out"; then tail -n 40 "$out"; fi
    fi
}

# The part of mtr's output about each failing test (its diff or error), at
# most 60 lines a test, so that a CI log shows what went wrong.
print_failures() {
    awk '/\[ fail \]/ { keep = 1; n = 0; print "  ---- " $0; next }
         /\[ (pass|skipped|disabled) \]/ || /^-{20,}/ { keep = 0 }
         keep && n < 60 { print "  | " $0; n++ }' "$1"
}

# verdict BASELINE LABEL [EXCLUDED_FILE]: what passed in BASELINE must pass in LABEL.
verdict() {
    local base=$1 label=$2 excluded=${3:-/dev/null} lost
    [[ -f $WORK/$base.pass && -f $WORK/$label.pass ]] || { echo "mtr verdict $label: not run"; failures=$((failures + 1)); return; }
    lost=$(comm -23 "$WORK/$base.pass" "$WORK/$label.pass" |
           grep -vxF -f <(listed "$excluded"; echo '#none#'))
    report_verdict "mtr verdict $label" "$lost" "$base" "$label"
}

# report_verdict WHAT LOST BASELINE LABEL: one verdict line, then the lost tests.
report_verdict() {
    if [[ -n $2 ]]; then
        echo "$1: FAILED, $(wc -l <<< "$2") test(s) pass in $3 but not in $4:"
        sed 's/^/    /' <<< "$2"
        failures=$((failures + 1))
    else
        echo "$1: ok, every test that passes in $3 passes in $4"
    fi
}

# proxied_passes NAME START_FUNCTION PORT CLEAN_ARGS SKIP_FILE: one pass per protocol,
# each through a fresh proxy, so that one pass cannot inherit the other's
# pooled backend connections.
proxied_passes() {
    local name=$1 start=$2 port=$3 clean=$4 skip=$5 proto
    for proto in $PROTOCOLS; do
        if "$start" "$name-$proto"; then
            run_pass "$name-$proto" "$port" "$clean" "$skip" $(ps_option "$proto")
            stop_proxies
        else
            echo "run-mtr: FAILED: the proxy for $name-$proto did not start"; failures=$((failures + 1))
        fi
    done
}

wants() { [[ " $PASSES " == *" $1 "* ]]; }
ps_option() { [[ $1 == ps ]] && echo --ps-protocol; }

# ---------------------------------------------------------------- main
[[ -x $SY_BINARY ]] || { echo "run-mtr: no proxy binary at $SY_BINARY (build first)"; exit 1; }
[[ -x $MTR_DIR/mariadb-test-run ]] || { echo "run-mtr: $MTR_DIR/mariadb-test-run missing (apt-get install mariadb-test)"; exit 1; }
echo "run-mtr: $(grep -cvE '^\s*(#|$)' "$SELECTION") tests from $SELECTION; passes: $PASSES; work dir $WORK"

start_server || { echo "run-mtr: could not start the server"; exit 1; }
SRV_CLEAN="$WORK/state-server $SRV/sock"

if wants direct; then
    for proto in $PROTOCOLS; do
        run_pass "direct-$proto" "$SERVER_PORT" "$SRV_CLEAN" /dev/null $(ps_option "$proto")
    done
fi
if wants proxy; then
    proxied_passes proxy start_server_proxy "$PROXY_PORT" "$SRV_CLEAN" /dev/null
fi
if wants topology; then
    if prepare_topology; then
        proxied_passes topology start_topology_proxy "$TOPO_PORT" "$WORK/state-sandbox ${SB_SOCKS[*]}" \
            "$HERE/topology-excluded.txt"
    else
        echo "run-mtr: FAILED: the topology could not be prepared"; failures=$((failures + 1))
    fi
    restore_topology || { echo "run-mtr: FAILED: the sandbox was not given back intact"; failures=$((failures + 1)); }
fi

if wants direct; then
    for proto in $PROTOCOLS; do
        wants proxy && verdict "direct-$proto" "proxy-$proto"
        wants topology && verdict "direct-$proto" "topology-$proto" "$HERE/topology-excluded.txt"
    done
fi

# mysql_client_test directly and through a fresh proxy: every sub-test that
# passes directly must pass through the proxy.
if wants client; then
    if [[ -x $HERE/client_test.sh ]]; then
        export SY_CLIENT_TEST_VARDIR=$VARDIR
        mkdir -p "$VARDIR"
        log "mysql_client_test direct"
        "$HERE/client_test.sh" 127.0.0.1 "$SERVER_PORT" root "" direct > "$WORK/ct-direct.log" 2>&1
        cat "$WORK/ct-direct.log"
        # Back to the baseline: the sub-tests leave globals changed
        # (autocommit, query_cache_type, general_log) and accounts behind.
        "$HERE/clean-server.sh" clean "$WORK/state-server" "$SRV/sock" ||
            echo "run-mtr: cleaning the server after mysql_client_test failed"
        # The accounts the sub-tests log in or change user to, as on the
        # server; test_bug31669's password (2048 x 'c') is too long for an
        # INI line, so that account is given by its native-password hash.
        EXTRA_USERS="[user.mysqltest_pw]
password = password
[user.mysqltest_no_pw]
password =
[user.bbbbbbbbbbbbbbbb]
password_hash = $(python3 -c 'import hashlib; print("*" + hashlib.sha1(hashlib.sha1(b"c" * 2048).digest()).hexdigest().upper())')
"
        if start_server_proxy client-proxy; then
            log "mysql_client_test through the proxy"
            "$HERE/client_test.sh" 127.0.0.1 "$PROXY_PORT" root "" proxy > "$WORK/ct-proxy.log" 2>&1
            cat "$WORK/ct-proxy.log"
            stop_proxies
            EXTRA_USERS=""
            lost=$(comm -13 <(sed -n 's/^--- client_test direct: FAILED //p' "$WORK/ct-direct.log" | sort) \
                            <(sed -n 's/^--- client_test proxy: FAILED //p' "$WORK/ct-proxy.log" | sort))
            if grep -q '^client_test proxy: [0-9]* passed' "$WORK/ct-proxy.log"; then
                report_verdict "client_test verdict" "$lost" "client_test direct" "client_test proxy"
            else
                echo "client_test verdict: FAILED, no summary from client_test.sh"; failures=$((failures + 1))
            fi
        else
            echo "run-mtr: FAILED: the proxy for mysql_client_test did not start"; failures=$((failures + 1))
        fi
    else
        # CLIENT_TEST: test/mtr/client_test.sh (mysql_client_test direct and
        # through the proxy, by another branch) is not in this tree yet.
        echo "run-mtr: mysql_client_test not run: test/mtr/client_test.sh is missing"
    fi
fi

echo "run-mtr: total time $(( $(date +%s) - T0 ))s"
((failures == 0))
