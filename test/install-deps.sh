#!/usr/bin/env bash
# Install everything switchyard needs to build, test and benchmark on Debian 12.
# Idempotent, noninteractive; run as root or through sudo.
# The distro's mariadb service is never needed: the sandbox runs its own
# mariadbd instances (test/sandbox/sandbox.sh), so it is kept from starting.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
    exec sudo -E "$0" "$@"
fi

export DEBIAN_FRONTEND=noninteractive

PKGS=(
    build-essential cmake gcc clang libclang-rt-dev llvm pkg-config
    libuv1-dev libmariadb-dev libinih-dev libcmocka-dev libssl-dev
    mariadb-server mariadb-client mariadb-test sysbench haproxy linux-perf   # perf: digest_bench.sh
    # mariadb-test: mariadb-test-run and mysql_client_test (test/mtr/run-mtr.sh)
    python3 python3-pymysql python3-pytest python3-yaml chromium
    procps iproute2 openssl
    galera-4 galera-arbitrator-4 rsync   # the Galera sandbox (test/sandbox/galera.sh)
)

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

if ((${#missing[@]} == 0)); then
    echo "install-deps: all packages already installed"
else
    echo "install-deps: installing ${missing[*]}"
    # Keep package scripts from starting the distro mariadb/haproxy services.
    policy=/usr/sbin/policy-rc.d
    had_policy=0
    [[ -e $policy ]] && had_policy=1
    if ((had_policy == 0)); then
        printf '#!/bin/sh\nexit 101\n' > "$policy"
        chmod 755 "$policy"
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt-get update -q
    apt-get install -y -q --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}"
fi

# If a distro service started anyway (e.g. installed earlier by someone else),
# it may hold port 3306 or /run/mysqld; our sandbox does not use either, so just
# make sure it does not get in the way of anything when it is not wanted.
if [[ ${SY_STOP_DISTRO_MARIADB:-1} == 1 ]] && pgrep -x mariadbd -u mysql >/dev/null 2>&1; then
    echo "install-deps: stopping the distro mariadb service (not needed)"
    service mariadb stop >/dev/null 2>&1 || true
fi

# Sanity: what the suites need is reachable from the system python.
/usr/bin/python3 -c 'import pymysql, pytest, yaml' || {
    echo "install-deps: python3-pymysql/python3-pytest/python3-yaml not importable from /usr/bin/python3" >&2
    exit 1
}
for t in cmake clang mariadbd mariadb mariadb-install-db sysbench haproxy; do
    command -v "$t" >/dev/null 2>&1 || [[ -x /usr/sbin/$t ]] || {
        echo "install-deps: $t missing after install" >&2; exit 1; }
done
echo "install-deps: ok"
