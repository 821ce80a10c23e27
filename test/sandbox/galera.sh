# The Galera topology of the sandbox, sourced by sandbox.sh when a command names
# 'galera' or one of its instances; it redefines what differs from the
# primary/replica topology and keeps the rest (kill, stop, sql, TLS, accounts).
#
#   galera1  127.0.0.1:3320  Galera node, bootstraps the cluster  gcomm 4567, IST 4568, SST 4569
#   galera2  127.0.0.1:3321  Galera node, joins galera1            gcomm 4577, IST 4578, SST 4579
#   greplica 127.0.0.1:3322  asynchronous GTID replica of galera1 (read_only)
#   garbd                    Galera arbitrator (gcomm 4587): the third vote, so that the
#                            surviving node of two keeps a primary component
#
# Both nodes: wsrep_gtid_mode=ON with the cluster's wsrep_gtid_domain_id 20, a
# gtid_domain_id of their own (21, 22) for local writes, log_slave_updates so the
# replica sees the writes of both, rsync state transfer.
#
# Usage: sandbox.sh start galera | stop galera | status galera | check galera | destroy galera
#        sandbox.sh kill NAME | restart NAME | wait-synced NAME | sql NAME "SQL"
# NAME is galera1, galera2 or greplica. Restarting a node while the other runs
# rejoins it (IST or SST); with the other node down it bootstraps a new cluster.
# Data lives in ${SY_SANDBOX_DIR}/galera.

DIR=$DIR/galera
TLS_DIR=$DIR/tls
# The servers run as mysql when root starts them: wsrep_sst_rsync starts an rsync daemon without a uid,
# and one started by root writes as 'nobody', which cannot write the joiner's files.
[[ $(id -u) -eq 0 ]] && SERVER_USER=${SY_GALERA_USER:-mysql}
NAMES=(galera1 galera2 greplica)
NODES=(galera1 galera2)
declare -A PORT=([galera1]=3320 [galera2]=3321 [greplica]=3322)
declare -A SID=([galera1]=20 [galera2]=21 [greplica]=22)
declare -A GCOMM=([galera1]=4567 [galera2]=4577)
declare -A DOMAIN=([galera1]=21 [galera2]=22 [greplica]=23)
SOURCE=galera1
GALERA_PROVIDER=${SY_GALERA_PROVIDER:-/usr/lib/galera/libgalera_smm.so}
SYNC_TIMEOUT=${SY_GALERA_SYNC_TIMEOUT:-120}

valid_name() {
    case "${1:-}" in galera1|galera2|greplica) return 0 ;; esac
    die "unknown instance '${1:-}' (want galera1, galera2 or greplica)"
}

is_node() { [[ $1 == galera1 || $1 == galera2 ]]; }

other_node() { [[ $1 == galera1 ]] && echo galera2 || echo galera1; }

role_cnf() {
    local name=$1 d=$2
    echo "gtid_domain_id=${DOMAIN[$name]}"
    if ! is_node "$name"; then
        replica_cnf "$name" "$d"
        return
    fi
    local base=${GCOMM[$name]}
    echo "log_bin=$d/data/$name-bin"
    echo "log_slave_updates=ON"
    echo "binlog_format=ROW"
    echo "default_storage_engine=InnoDB"
    echo "innodb_autoinc_lock_mode=2"
    echo "wsrep_on=ON"
    echo "wsrep_provider=$GALERA_PROVIDER"
    echo "wsrep_cluster_name=switchyard_sandbox"
    echo "wsrep_cluster_address=gcomm://127.0.0.1:${GCOMM[galera1]},127.0.0.1:${GCOMM[galera2]}"
    echo "wsrep_node_name=$name"
    echo "wsrep_node_address=127.0.0.1:$base"
    echo "wsrep_provider_options=\"base_host=127.0.0.1;base_port=$base;ist.recv_addr=127.0.0.1:$((base + 1));gcache.size=64M;evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S;evs.install_timeout=PT4S\""
    echo "wsrep_sst_method=rsync"
    echo "wsrep_sst_receive_address=127.0.0.1:$((base + 2))"
    echo "wsrep_gtid_mode=ON"
    echo "wsrep_gtid_domain_id=20"
    echo "wsrep_slave_threads=2"
    # The servers' ssl_* would make rsync SST want stunnel; loopback needs no encryption.
    echo "[sst]"
    echo "ssl-mode=DISABLED"
}

# Galera's view of a node: "ready state cluster_status", e.g. "ON 4 Primary".
wsrep_view() {
    q "$1" "SELECT MAX(IF(VARIABLE_NAME='WSREP_READY',VARIABLE_VALUE,NULL)),
                   MAX(IF(VARIABLE_NAME='WSREP_LOCAL_STATE',VARIABLE_VALUE,NULL)),
                   MAX(IF(VARIABLE_NAME='WSREP_CLUSTER_STATUS',VARIABLE_VALUE,NULL)),
                   MAX(IF(VARIABLE_NAME='WSREP_CLUSTER_SIZE',VARIABLE_VALUE,NULL))
            FROM information_schema.GLOBAL_STATUS" 2>/dev/null | tr '\t' ' '
}

synced() { [[ $(wsrep_view "$1") == "ON 4 Primary"* ]]; }

# Wait until node NAME is Synced in a primary component.
wait_synced() {
    local name=$1 deadline=$(( $(date +%s) + SYNC_TIMEOUT ))
    while (( $(date +%s) < deadline )); do
        synced "$name" && return 0
        if ! is_running "$name" && [[ -s $(pidfile "$name") ]]; then
            log "$name exited; tail of $DIR/$name.err:"; tail -n 30 "$DIR/$name.err" >&2 || true
            return 1
        fi
        sleep 0.2
    done
    log "$name not Synced after ${SYNC_TIMEOUT}s (ready/state/status/size: $(wsrep_view "$name")); tail of $DIR/$name.err:"
    tail -n 30 "$DIR/$name.err" >&2 || true
    return 1
}

# Starts a node: bootstrapping a new cluster when the other node is not running
# (its grastate.dat is marked safe: this is a test sandbox), joining otherwise.
launch_node() {
    local name=$1 d="$DIR/$1"
    is_running "$name" && return 0
    local extra=()
    if ! is_running "$(other_node "$name")"; then
        extra=(--wsrep-new-cluster)
        [[ -f $d/data/grastate.dat ]] && sed -i 's/^safe_to_bootstrap:.*/safe_to_bootstrap: 1/' "$d/data/grastate.dat"
    fi
    write_cnf "$name"
    rm -f "$(sock "$name")" "$(pidfile "$name")"
    setsid "$MARIADBD" --defaults-file="$d/my.cnf" "${extra[@]}" </dev/null >>"$DIR/$name.out" 2>&1 &
}

start_instance() {
    if is_node "$1"; then
        launch_node "$1" && wait_accepting "$1" && wait_synced "$1"
    else
        launch "$1" && wait_accepting "$1"
    fi
}

garbd_pid() {
    local p; p=$(cat "$DIR/garbd.pid" 2>/dev/null) || return 1
    [[ $p =~ ^[0-9]+$ && $(cat /proc/"$p"/comm 2>/dev/null) == garbd ]] || return 1
    echo "$p"
}

# The arbitrator joins whichever node runs; it holds no data.
start_garbd() {
    garbd_pid >/dev/null && return 0
    command -v garbd >/dev/null || die "garbd not found: install galera-arbitrator-4"
    # In $DIR: garbd writes its gvwstate.dat into the working directory.
    (cd "$DIR" && exec setsid garbd -n garbd -g switchyard_sandbox \
        -a "gcomm://127.0.0.1:${GCOMM[galera1]},127.0.0.1:${GCOMM[galera2]}" \
        -o "base_host=127.0.0.1;base_port=4587;evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S;evs.install_timeout=PT4S" \
        -l "$DIR/garbd.log" </dev/null >>"$DIR/garbd.out" 2>&1) &
    echo $! > "$DIR/garbd.pid"
    local deadline=$(( $(date +%s) + SYNC_TIMEOUT ))
    while (( $(date +%s) < deadline )); do
        [[ $(wsrep_view galera1) == *" 3" || $(wsrep_view galera2) == *" 3" ]] && return 0
        garbd_pid >/dev/null || { tail -n 20 "$DIR/garbd.log" >&2; die "garbd exited"; }
        sleep 0.2
    done
    die "garbd did not join the cluster in ${SYNC_TIMEOUT}s (log: $DIR/garbd.log)"
}

stop_garbd() {
    local p; p=$(garbd_pid) || return 0
    kill -TERM "$p"
    local i
    for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
}

cmd_stop() {
    local n pids=()
    stop_garbd
    for n in "${NAMES[@]}"; do stop_one "$n" & pids+=($!); done
    for p in "${pids[@]}"; do wait "$p" || true; done
    log "stopped"
}

healthy() {
    local n
    garbd_pid >/dev/null || return 1
    for n in "${NAMES[@]}"; do is_running "$n" && accepts "$n" || return 1; done
    synced galera1 && synced galera2 && replicating greplica || return 1
    [[ -n $(q galera1 "SELECT 1 FROM mysql.user WHERE user='app'" 2>/dev/null) ]]
}

cmd_start() {
    local t0; t0=$(now)
    mkdir -p "$DIR"
    ensure_tls
    if healthy; then log "galera sandbox already running and healthy ($DIR)"; return 0; fi
    local n
    if [[ -f $DIR/.setup-done ]]; then
        local ok=1
        stop_garbd
        for n in "${NAMES[@]}"; do start_instance "$n" || { ok=0; break; }; done
        if ((ok)) && start_garbd && follow_a_node; then
            log "restarted existing galera sandbox in $(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}')s"
            return 0
        fi
        log "existing galera sandbox is broken; rebuilding from scratch"
    fi
    cmd_stop
    reinstall_all
    start_instance galera1 || die "galera1 did not bootstrap the cluster"
    setup_accounts galera1 || die "account/database setup on galera1 failed"
    start_instance galera2 || die "galera2 did not join the cluster"
    start_garbd
    start_instance greplica || die "greplica did not start"
    setup_replica greplica || die "replication setup on greplica failed"
    wait_replica greplica || die "greplica does not replicate"
    touch "$DIR/.setup-done"
    awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "sandbox: galera started in %.1fs\n", b-a}' >&2
}

cmd_status() {
    local n rc=0
    for n in "${NAMES[@]}"; do
        local p state extra=""
        if p=$(pid_of "$n"); then
            if accepts "$n"; then state="running (pid $p)"; else state="not accepting (pid $p)"; rc=1; fi
            if accepts "$n" && is_node "$n"; then
                extra=" wsrep ready/state/status/size: $(wsrep_view "$n")"
            elif accepts "$n"; then
                extra=" io=$(replica_field "$n" Slave_IO_Running) sql=$(replica_field "$n" Slave_SQL_Running)"
                extra+=" lag=$(replica_field "$n" Seconds_Behind_Master)"
            fi
        else
            state="stopped"; rc=1
        fi
        printf '%-9s 127.0.0.1:%s  %s%s\n' "$n" "${PORT[$n]}" "$state" "$extra"
    done
    if p=$(garbd_pid); then echo "garbd     arbitrator      running (pid $p)"; else echo "garbd     stopped"; rc=1; fi
    return $rc
}

cmd_restart() {
    valid_name "$1"
    stop_one "$1"
    start_instance "$1" || die "$1 did not start"
    if [[ $1 == greplica ]]; then
        follow_a_node || die "greplica does not replicate after restart"
    elif is_running greplica; then
        follow_a_node || true
    fi
    log "restarted $1"
}

# greplica follows galera1, or galera2 when galera1 cannot serve its GTID position
# (a node that rejoined by state transfer has the donor's binlogs): GTIDs of the
# cluster's domain are the same on both nodes.
follow_a_node() {
    REPL_TIMEOUT=15 wait_replica greplica 2>/dev/null && return 0
    local src
    for src in galera1 galera2 galera1; do
        accepts "$src" || continue
        SOURCE=$src
        setup_replica greplica && REPL_TIMEOUT=20 wait_replica greplica && {
            log "greplica replicates from $src"; return 0; }
    done
    return 1
}

cmd_reset_roles() { die "reset-roles is for the primary/replica topology"; }

case "${1:-}" in
    wait-synced) valid_name "${2:-}"; wait_synced "$2"; exit ;;
    wait-replica) [[ ${2:-} == greplica ]] || die "wait-replica: only greplica replicates"
                  follow_a_node; exit ;;
esac
