#!/usr/bin/env bash
# switchyard test sandbox: one MariaDB primary and two GTID replicas on loopback.
#
#   primary  127.0.0.1:3310  server_id=1  binlog on
#   replica1 127.0.0.1:3311  server_id=2  read_only, replicates from primary
#   replica2 127.0.0.1:3312  server_id=3  read_only, replicates from primary
#
# Data, sockets, logs and pid files live under ${SY_SANDBOX_DIR:-/tmp/switchyard-sandbox}:
#   $DIR/NAME/data  $DIR/NAME/tmp  $DIR/NAME/my.cnf  $DIR/NAME.sock  $DIR/NAME.pid  $DIR/NAME.err
#
# TLS: every server has ssl_cert/ssl_key/ssl_ca from $DIR/tls (ca.pem, server-cert.pem,
# server-key.pem; a CA and a server certificate for IP:127.0.0.1 and DNS:localhost that
# 'start' makes with openssl when missing). Plaintext clients still work
# (require_secure_transport stays off).
#
# Usage: sandbox.sh start | stop | status | check | destroy
#        sandbox.sh kill NAME | restart NAME | wait-replica NAME
#        sandbox.sh tls-ca    (prints the path of the CA that signed the servers' certificate)
#        sandbox.sh enable-tls CERT KEY CA   (install these files as the servers' TLS files
#                                  and restart each running server once: MariaDB 10.11 reads
#                                  ssl_* only at startup)
#        sandbox.sh sql NAME "SQL" [extra mariadb client args]
#        sandbox.sh reset-roles   (primary writable, replicas read_only and replicating
#                                  from the primary with no delay; after switchover tests)
# NAME is primary, replica1 or replica2.
#
# Accounts (created on the primary, replicated): app/app_pw (ALL on test.*, sbtest.*),
# monitor/monitor_pw (REPLICATION CLIENT, SLAVE MONITOR, PROCESS), repl/repl_pw
# (REPLICATION SLAVE). root logs in through the unix socket only.
set -euo pipefail

DIR=${SY_SANDBOX_DIR:-/tmp/switchyard-sandbox}
NAMES=(primary replica1 replica2)
declare -A PORT=([primary]=3310 [replica1]=3311 [replica2]=3312)
declare -A SID=([primary]=1 [replica1]=2 [replica2]=3)
SOURCE=primary   # the instance the replicas replicate from
SERVER_USER=$(id -un)   # the servers run as this user
START_TIMEOUT=${SY_SANDBOX_START_TIMEOUT:-90}
REPL_TIMEOUT=${SY_SANDBOX_REPL_TIMEOUT:-60}

MARIADBD=$(command -v mariadbd || echo /usr/sbin/mariadbd)
INSTALL_DB=$(command -v mariadb-install-db || echo /usr/bin/mariadb-install-db)
CLIENT=$(command -v mariadb || command -v mysql)

TLS_DIR=$DIR/tls

log() { echo "sandbox: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }

valid_name() {
    case "${1:-}" in primary|replica1|replica2) return 0 ;; esac
    die "unknown instance '${1:-}' (want primary, replica1 or replica2)"
}

sock() { echo "$DIR/$1.sock"; }
pidfile() { echo "$DIR/$1.pid"; }

# Run SQL as root over the instance's socket, batch mode, no column names.
q() {
    local name=$1; shift
    "$CLIENT" --no-defaults --socket="$(sock "$name")" -uroot --batch --skip-column-names \
        --connect-timeout=5 -e "$*"
}

pid_of() {
    local f; f=$(pidfile "$1")
    [[ -s $f ]] || return 1
    local p; p=$(<"$f")
    [[ $p =~ ^[0-9]+$ ]] && kill -0 "$p" 2>/dev/null || return 1
    # Guard against a recycled pid: it must be a mariadbd.
    [[ $(cat /proc/"$p"/comm 2>/dev/null) == mariadbd || $(cat /proc/"$p"/comm 2>/dev/null) == mysqld ]] || return 1
    echo "$p"
}

is_running() { pid_of "$1" >/dev/null; }
accepts() { q "$1" "SELECT 1" >/dev/null 2>&1; }

# A CA and a server certificate (SAN IP:127.0.0.1, DNS:localhost) in $TLS_DIR, made once.
ensure_tls() {
    [[ -s $TLS_DIR/ca.pem && -s $TLS_DIR/server-cert.pem && -s $TLS_DIR/server-key.pem ]] && return 0
    command -v openssl >/dev/null || die "openssl is needed to make the sandbox's TLS certificates"
    local t; t=$(mktemp -d "$DIR/.tls.XXXXXX")
    {
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
            -keyout "$t/ca-key.pem" -out "$t/ca.pem" -subj "/CN=switchyard sandbox CA" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
        openssl req -newkey rsa:2048 -nodes -sha256 -keyout "$t/server-key.pem" \
            -out "$t/server.csr" -subj "/CN=localhost" &&
        printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
            "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" > "$t/ext.cnf" &&
        openssl x509 -req -in "$t/server.csr" -CA "$t/ca.pem" -CAkey "$t/ca-key.pem" \
            -CAcreateserial -days 3650 -sha256 -extfile "$t/ext.cnf" -out "$t/server-cert.pem"
    } > "$t/openssl.log" 2>&1 || { cat "$t/openssl.log" >&2; rm -rf "$t"; die "making TLS certificates failed"; }
    rm -f "$t/server.csr" "$t/ext.cnf" "$t/ca.srl" "$t/openssl.log"
    rm -rf "$TLS_DIR"
    mv "$t" "$TLS_DIR"
    chmod 755 "$TLS_DIR"
    log "made TLS certificates in $TLS_DIR"
}

write_cnf() {
    local name=$1 d="$DIR/$1"
    mkdir -p "$d/data" "$d/tmp"
    ensure_tls
    {
        echo "[mariadbd]"
        echo "user=$SERVER_USER"
        echo "datadir=$d/data"
        echo "tmpdir=$d/tmp"
        echo "socket=$(sock "$name")"
        echo "pid_file=$(pidfile "$name")"
        echo "log_error=$DIR/$name.err"
        echo "port=${PORT[$name]}"
        echo "bind_address=127.0.0.1"
        echo "server_id=${SID[$name]}"
        echo "skip_name_resolve"
        echo "performance_schema=OFF"
        echo "innodb_buffer_pool_size=128M"
        echo "innodb_log_file_size=48M"
        echo "innodb_flush_log_at_trx_commit=2"
        echo "sync_binlog=0"
        echo "max_allowed_packet=64M"
        echo "max_connections=500"
        echo "gtid_strict_mode=ON"
        echo "character_set_server=utf8mb4"
        echo "collation_server=utf8mb4_general_ci"
        echo "ssl_ca=$TLS_DIR/ca.pem"
        echo "ssl_cert=$TLS_DIR/server-cert.pem"
        echo "ssl_key=$TLS_DIR/server-key.pem"
        role_cnf "$name" "$d"
    } > "$d/my.cnf"
    own_files
}

# Everything in $DIR belongs to the servers' user (galera.sh runs them as mysql).
own_files() {
    [[ $(id -un) == "$SERVER_USER" ]] || chown -R "$SERVER_USER:" "$DIR"
}

# The lines of my.cnf that depend on the instance's role (galera.sh has its own).
role_cnf() {
    local name=$1 d=$2
    if [[ $name == "$SOURCE" ]]; then
        echo "log_bin=$d/data/$name-bin"
        echo "binlog_format=ROW"
    else
        replica_cnf "$name" "$d"
    fi
}

replica_cnf() {
    local name=$1 d=$2
    echo "skip_log_bin"
    echo "read_only=ON"
    echo "relay_log=$d/data/$name-relay-bin"
    echo "relay_log_recovery=ON"
    echo "slave_max_allowed_packet=1G"
}

bootstrap() {
    local name=$1 d="$DIR/$1"
    rm -rf "$d"
    write_cnf "$name"
    if ! "$INSTALL_DB" --defaults-file="$d/my.cnf" --user="$SERVER_USER" \
            --auth-root-authentication-method=socket --skip-test-db \
            > "$DIR/$name.install.log" 2>&1; then
        tail -n 30 "$DIR/$name.install.log" >&2
        return 1
    fi
}

# A fresh start: every instance's data removed and its system tables installed
# anew, all instances in parallel.
reinstall_all() {
    local n p pids=() rc=0
    for n in "${NAMES[@]}"; do rm -rf "${DIR:?}/$n"; done
    rm -f "$DIR"/.setup-done "$DIR"/*.err "$DIR"/*.out
    mkdir -p "$DIR"
    for n in "${NAMES[@]}"; do bootstrap "$n" & pids+=($!); done
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    ((rc == 0)) || die "mariadb-install-db failed (logs: $DIR/*.install.log)"
}

launch() {
    local name=$1 d="$DIR/$1"
    [[ -d $d/data/mysql ]] || die "$name has no data directory; run 'sandbox.sh start'"
    is_running "$name" && return 0
    write_cnf "$name"   # settings of this script version apply to existing data too
    rm -f "$(sock "$name")" "$(pidfile "$name")"
    # setsid + all fds redirected: the server outlives the caller and never holds its pipes.
    setsid "$MARIADBD" --defaults-file="$d/my.cnf" </dev/null >>"$DIR/$name.out" 2>&1 &
}

wait_accepting() {
    local name=$1 deadline=$(( $(date +%s) + START_TIMEOUT ))
    while (( $(date +%s) < deadline )); do
        if accepts "$name"; then return 0; fi
        # Give the pid file a moment to appear before declaring the server dead.
        if [[ -s $(pidfile "$name") ]] && ! is_running "$name"; then
            log "$name exited during startup; tail of $DIR/$name.err:"
            tail -n 30 "$DIR/$name.err" >&2 || true
            return 1
        fi
        sleep 0.1
    done
    log "$name did not accept connections within ${START_TIMEOUT}s; tail of $DIR/$name.err:"
    tail -n 30 "$DIR/$name.err" >&2 || true
    return 1
}

# Field of SHOW SLAVE STATUS by column name (never by position).
replica_field() {
    local name=$1 field=$2
    "$CLIENT" --no-defaults --socket="$(sock "$name")" -uroot --connect-timeout=5 \
        -e "SHOW SLAVE STATUS\G" 2>/dev/null | awk -v f="$field" -F': ' '
        { k=$1; gsub(/^ +/, "", k) } k==f { v=$0; sub(/^[^:]*: ?/, "", v); print v; exit }'
}

replicating() {
    [[ $(replica_field "$1" Slave_IO_Running) == Yes && $(replica_field "$1" Slave_SQL_Running) == Yes ]]
}

setup_primary() {
    q primary "RESET MASTER" && setup_accounts primary
}

# Databases, accounts and the check table on NAME; they reach the others by replication.
setup_accounts() {
    q "$1" "
        CREATE DATABASE IF NOT EXISTS test;
        CREATE DATABASE IF NOT EXISTS sbtest;
        CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY 'app_pw';
        GRANT ALL PRIVILEGES ON test.* TO 'app'@'%';
        GRANT ALL PRIVILEGES ON sbtest.* TO 'app'@'%';
        CREATE USER IF NOT EXISTS 'monitor'@'%' IDENTIFIED BY 'monitor_pw';
        GRANT REPLICATION CLIENT, SLAVE MONITOR, PROCESS ON *.* TO 'monitor'@'%';
        CREATE USER IF NOT EXISTS 'repl'@'%' IDENTIFIED BY 'repl_pw';
        GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%';
        CREATE TABLE IF NOT EXISTS test.sandbox_check (id INT PRIMARY KEY, token VARCHAR(64)) ENGINE=InnoDB;
    "
}

setup_replica() {
    q "$1" "
        STOP SLAVE;
        CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${PORT[$SOURCE]},
            MASTER_USER='repl', MASTER_PASSWORD='repl_pw',
            MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_DELAY=0;
        START SLAVE;
    "
}

# Wait until NAME's IO and SQL threads run and a fresh row written on the primary
# has arrived there.
wait_replica() {
    local name=$1 token=${2:-}
    local deadline=$(( $(date +%s) + REPL_TIMEOUT ))
    if [[ -z $token ]]; then
        token="$(date +%s%N)-$$-$name"
        q "$SOURCE" "REPLACE INTO test.sandbox_check VALUES (${SID[$name]}, '$token')"
    fi
    while (( $(date +%s) < deadline )); do
        if replicating "$name" &&
           [[ $(q "$name" "SELECT token FROM test.sandbox_check WHERE id=${SID[$name]}" 2>/dev/null) == "$token" ]]; then
            return 0
        fi
        sleep 0.1
    done
    log "$name does not replicate after ${REPL_TIMEOUT}s: IO=$(replica_field "$name" Slave_IO_Running)" \
        "SQL=$(replica_field "$name" Slave_SQL_Running)" \
        "IO_error='$(replica_field "$name" Last_IO_Error)' SQL_error='$(replica_field "$name" Last_SQL_Error)'"
    return 1
}

healthy() {
    local n
    for n in "${NAMES[@]}"; do
        is_running "$n" && accepts "$n" || return 1
    done
    replicating replica1 && replicating replica2 || return 1
    [[ -n $(q primary "SELECT 1 FROM mysql.user WHERE user='app'" 2>/dev/null) ]]
}

stop_one() {
    local name=$1 p
    p=$(pid_of "$name") || return 0
    kill -TERM "$p" 2>/dev/null || true
    local i
    for ((i = 0; i < 600; i++)); do
        kill -0 "$p" 2>/dev/null || { rm -f "$(sock "$name")"; return 0; }
        sleep 0.1
    done
    log "$name (pid $p) did not stop in 60s; killing"
    kill -KILL "$p" 2>/dev/null || true
}

cmd_start() {
    local t0; t0=$(now)
    mkdir -p "$DIR"
    ensure_tls   # before the parallel bootstraps, which all write my.cnf
    if healthy; then
        log "already running and healthy ($DIR)"
        return 0
    fi
    local n
    # Existing, set-up sandbox with some instances down: bring them back first.
    if [[ -f $DIR/.setup-done ]]; then
        for n in "${NAMES[@]}"; do launch "$n"; done
        local ok=1
        for n in "${NAMES[@]}"; do wait_accepting "$n" || ok=0; done
        if ((ok)) && REPL_TIMEOUT=20 wait_replica replica1 && REPL_TIMEOUT=20 wait_replica replica2; then
            log "restarted existing sandbox in $(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}')s"
            return 0
        fi
        log "existing sandbox is broken; rebuilding from scratch"
    fi
    for n in "${NAMES[@]}"; do stop_one "$n"; done
    reinstall_all
    local t1; t1=$(now)

    for n in "${NAMES[@]}"; do launch "$n"; done
    for n in "${NAMES[@]}"; do wait_accepting "$n" || die "$n did not start"; done
    local t2; t2=$(now)

    setup_primary || die "account/database setup on the primary failed"
    setup_replica replica1 || die "replication setup on replica1 failed"
    setup_replica replica2 || die "replication setup on replica2 failed"
    wait_replica replica1 || die "replica1 does not replicate"
    wait_replica replica2 || die "replica2 does not replicate"
    touch "$DIR/.setup-done"
    local t3; t3=$(now)
    awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN{
        printf "sandbox: started in %.1fs (install-db %.1fs, server start %.1fs, accounts+replication %.1fs)\n",
               d-a, b-a, c-b, d-c }' >&2
}

cmd_stop() {
    local n pids=()
    for n in "${NAMES[@]}"; do stop_one "$n" & pids+=($!); done
    for p in "${pids[@]}"; do wait "$p" || true; done
    log "stopped"
}

cmd_status() {
    local n rc=0
    for n in "${NAMES[@]}"; do
        local p state extra=""
        if p=$(pid_of "$n"); then
            if accepts "$n"; then state="running (pid $p)"; else state="not accepting (pid $p)"; rc=1; fi
            if [[ $n != primary ]] && accepts "$n"; then
                extra=" io=$(replica_field "$n" Slave_IO_Running) sql=$(replica_field "$n" Slave_SQL_Running)"
                extra+=" lag=$(replica_field "$n" Seconds_Behind_Master) delay=$(replica_field "$n" SQL_Delay)"
            fi
        else
            state="stopped"; rc=1
        fi
        printf '%-9s 127.0.0.1:%s  %s%s\n' "$n" "${PORT[$n]}" "$state" "$extra"
    done
    return $rc
}

cmd_kill() {
    valid_name "$1"
    local p
    if ! p=$(pid_of "$1"); then log "$1 is not running"; return 0; fi
    kill -KILL "$p"
    while kill -0 "$p" 2>/dev/null; do sleep 0.05; done
    rm -f "$(sock "$1")"
    log "killed $1 (pid $p)"
}

cmd_restart() {
    valid_name "$1"
    stop_one "$1"
    launch "$1"
    wait_accepting "$1" || die "$1 did not start"
    if [[ $1 == primary ]]; then
        wait_replica replica1 || true
        wait_replica replica2 || true
    else
        wait_replica "$1" || die "$1 does not replicate after restart"
    fi
    log "restarted $1"
}

# Undo switchover experiments: the primary writable, each replica read_only and
# replicating from the primary (MASTER_DELAY 0), then wait until they have caught up.
cmd_reset_roles() {
    local n
    for n in "${NAMES[@]}"; do accepts "$n" || die "$n is not running; 'sandbox.sh start' first"; done
    q primary "SET GLOBAL read_only=0"
    for n in replica1 replica2; do
        q "$n" "SET GLOBAL read_only=1"
        setup_replica "$n"
    done
    wait_replica replica1 || die "replica1 does not replicate after reset-roles"
    wait_replica replica2 || die "replica2 does not replicate after reset-roles"
    log "roles reset: primary writable, replicas read_only and replicating"
}

# MariaDB 10.11 has no runtime switch for ssl_cert/ssl_key/ssl_ca (read-only; FLUSH SSL
# only re-reads the same files): install the files, then restart each running server once.
cmd_enable_tls() {
    local cert=${1:?usage: sandbox.sh enable-tls CERT KEY CA} key=${2:?usage: sandbox.sh enable-tls CERT KEY CA}
    local ca=${3:?usage: sandbox.sh enable-tls CERT KEY CA} f
    for f in "$cert" "$key" "$ca"; do [[ -r $f ]] || die "cannot read $f"; done
    mkdir -p "$TLS_DIR"
    cp "$ca" "$TLS_DIR/ca.pem.new" && cp "$cert" "$TLS_DIR/server-cert.pem.new" && cp "$key" "$TLS_DIR/server-key.pem.new"
    mv "$TLS_DIR/ca.pem.new" "$TLS_DIR/ca.pem"
    mv "$TLS_DIR/server-cert.pem.new" "$TLS_DIR/server-cert.pem"
    mv "$TLS_DIR/server-key.pem.new" "$TLS_DIR/server-key.pem"
    rm -f "$TLS_DIR/ca-key.pem"   # no longer the key of this CA
    local n
    for n in "${NAMES[@]}"; do
        if is_running "$n"; then cmd_restart "$n"; else write_cnf "$n"; fi
    done
    log "TLS files installed from $cert, $key, $ca"
}

cmd_sql() {
    valid_name "${1:-}"
    local name=$1; shift
    local sql=${1:?usage: sandbox.sh sql NAME \"SQL\"}; shift
    "$CLIENT" --no-defaults --socket="$(sock "$name")" -uroot --batch "$@" -e "$sql"
}

# The second topology (two Galera nodes and an async replica): 'sandbox.sh CMD galera',
# or a command naming one of its instances. galera.sh redefines what differs.
case "${2:-}" in galera|galera1|galera2|greplica) source "$(dirname "$0")/galera.sh" ;; esac

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    check) healthy ;;
    destroy) cmd_stop; rm -rf "${DIR:?}"; log "removed $DIR" ;;
    kill) cmd_kill "${2:-}" ;;
    restart) cmd_restart "${2:-}" ;;
    wait-replica) valid_name "${2:-}"; wait_replica "$2" ;;
    sql) shift; cmd_sql "$@" ;;
    reset-roles) cmd_reset_roles ;;
    tls-ca) mkdir -p "$DIR"; ensure_tls; echo "$TLS_DIR/ca.pem" ;;
    enable-tls) shift; cmd_enable_tls "$@" ;;
    *)
        sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'
        exit 2 ;;
esac
