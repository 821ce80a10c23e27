#!/usr/bin/env bash
# Stands in for mariadb-test (mariadb-test-run takes it from $MYSQL_TEST).
# Before each test that mariadb-test-run starts, it puts the server back into
# its baseline state (clean-server.sh), so every test starts clean even after
# one that failed half-way: with --extern, mariadb-test-run neither restarts
# the server nor runs its own check (include/check-testcase.test).
# mariadb-test started from inside a test (exec $MYSQL_TEST) runs as it is.
#
#   SY_MTR_CLEAN="STATE_DIR SOCKET [REPLICA_SOCKET...]"  arguments of clean-server.sh clean
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
real=${SY_MTR_MYSQLTEST:-$(command -v mariadb-test || command -v mysqltest)}

if [[ -z ${SY_MTR_IN_TEST:-} ]]; then
    export SY_MTR_IN_TEST=1
    # shellcheck disable=SC2086
    "$here/clean-server.sh" clean $SY_MTR_CLEAN >&2 ||
        { echo "mysqltest-wrapper: could not clean the server before the test" >&2; exit 1; }
fi
exec "$real" "$@"
