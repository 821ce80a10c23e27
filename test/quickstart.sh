#!/usr/bin/env bash
# switchyard quick start, on a fresh Debian 12 machine:
#
#   sudo test/quickstart.sh        install deps, build, start 3 MariaDB servers + the proxy
#   sudo test/quickstart.sh galera the same with two Galera nodes + an async replica
#                                  (config/galera.ini; ports 3320-3322)
#   sudo test/quickstart.sh stop   stop the proxy and the servers
#
# Then: mysql -h127.0.0.1 -P6033 -uapp -papp_pw
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
    exec sudo -E "$0" "$@"
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export SY_SANDBOX_DIR=${SY_SANDBOX_DIR:-/tmp/switchyard-sandbox}
DIR=$SY_SANDBOX_DIR
PIDFILE=$DIR/switchyard.pid
LOG=$DIR/switchyard.log
TOPOLOGY=()                 # sandbox.sh's topology argument: none, or galera
if [[ ${1:-} == galera ]]; then TOPOLOGY=(galera); shift; fi
CONFIG=${SY_CONFIG:-config/${TOPOLOGY[0]:-sandbox}.ini}
# The port clients use: from the config's "listen = host:port" (6033 in config/sandbox.ini).
LISTEN_PORT=$(sed -nE 's/^[[:space:]]*listen[[:space:]]*=[[:space:]]*[^;#[:space:]]*:([0-9]+).*/\1/p' "$CONFIG" 2>/dev/null | head -1)
LISTEN_PORT=${LISTEN_PORT:-6033}

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

proxy_pid() {
    [[ -s $PIDFILE ]] || return 1
    local p; p=$(<"$PIDFILE")
    kill -0 "$p" 2>/dev/null && [[ $(cat /proc/"$p"/comm 2>/dev/null) == switchyard* ]] || return 1
    echo "$p"
}

stop_proxy() {
    local p
    if p=$(proxy_pid); then
        kill -TERM "$p"
        for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$p" 2>/dev/null && kill -KILL "$p"
        echo "switchyard (pid $p) stopped"
    fi
    rm -f "$PIDFILE"
}

if [[ ${1:-} == stop ]]; then
    stop_proxy
    test/sandbox/sandbox.sh stop
    test/sandbox/sandbox.sh stop galera
    exit 0
elif [[ -n ${1:-} ]]; then
    echo "usage: $0 [galera | stop]" >&2
    exit 2
fi

say "Installing dependencies (apt)"
test/install-deps.sh

say "Building switchyard (Release, build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSY_TESTS=OFF >/dev/null
cmake --build build -j "$(nproc)" --target switchyard

say "Starting the MariaDB sandbox ${TOPOLOGY[*]:-(primary :3310, replicas :3311 :3312)}"
test/sandbox/sandbox.sh start "${TOPOLOGY[@]}"

say "Starting switchyard on 127.0.0.1:$LISTEN_PORT"
stop_proxy
build/switchyard --check -c "$CONFIG"
mkdir -p "$DIR"
setsid build/switchyard -c "$CONFIG" </dev/null >>"$LOG" 2>&1 &
echo $! > "$PIDFILE"

client=$(command -v mysql || command -v mariadb)
ok=0
for _ in $(seq 150); do
    if ! proxy_pid >/dev/null; then
        echo "switchyard exited; last lines of $LOG:" >&2
        tail -n 30 "$LOG" >&2
        exit 1
    fi
    if "$client" --no-defaults -h127.0.0.1 -P"$LISTEN_PORT" -uapp -papp_pw -N -e 'SELECT 1' >/dev/null 2>&1; then
        ok=1; break
    fi
    sleep 0.2
done
if ((ok == 0)); then
    echo "switchyard does not answer on 127.0.0.1:$LISTEN_PORT after 30s; last lines of $LOG:" >&2
    tail -n 30 "$LOG" >&2
    exit 1
fi

cat <<EOF

switchyard is running (pid $(<"$PIDFILE"), log: $LOG, config: $CONFIG).

Connect:
    mysql -h127.0.0.1 -P$LISTEN_PORT -uapp -papp_pw test

Reads go round-robin to the replicas, writes and transactions to the primary:
    mysql -h127.0.0.1 -P$LISTEN_PORT -uapp -papp_pw -e 'SELECT @@port'     # 3311 or 3312
    mysql -h127.0.0.1 -P$LISTEN_PORT -uapp -papp_pw -e 'BEGIN; SELECT @@port; COMMIT'   # 3310

The servers directly: primary 127.0.0.1:3310, replicas :3311 and :3312 (user app / app_pw);
    test/sandbox/sandbox.sh status      state and replication lag
    test/sandbox/sandbox.sh kill replica1 / restart replica1

Stop everything:
    sudo test/quickstart.sh stop
EOF
