#!/bin/bash
# Run MariaDB's mysql_client_test (Debian package mariadb-test) against a
# server or a proxy, one sub-test per process, so that one failure (or a
# crash, or a hang) never hides the others. The caller runs it directly and
# through switchyard and compares the two summaries.
#
#   test/mtr/client_test.sh HOST PORT USER PASSWORD LABEL
#
# Prints "client_test LABEL: N passed, N failed (N skipped)", then each
# failure's name and the last lines of its output. Always exits 0 (except
# on a usage error): which failures matter is the caller's decision.
#
# Through switchyard, the accounts the sub-tests log in or change user to
# must be in the proxy's [user.*] sections as on the server, besides USER:
#   [user.mysqltest_pw]     password = password   (test_change_user)
#   [user.mysqltest_no_pw]  password =            (test_change_user)
# test_bug31669 changes user to a 16-character account whose password is
# 2048 characters, more than [user.*] password takes (127): it passes
# directly and fails through the proxy, whatever the proxy does.
#
# Times on this 2-core machine: about 2m40s directly (MariaDB sleeps a second
# after each failed COM_CHANGE_USER), under a minute through the ASan proxy
# (which answers those failures itself).
#
# Environment:
#   SY_CLIENT_TEST_VARDIR   --vardir for the tests (default: a temporary
#                           directory); give the server's secure_file_priv
#                           when the tests run on the server's host
#   SY_CLIENT_TEST_ONLY     space-separated sub-tests to run instead of all
#   SY_CLIENT_TEST_TIMEOUT  seconds one sub-test may take (default 120)
set -u

if [ $# -ne 5 ]; then
    echo "usage: $0 HOST PORT USER PASSWORD LABEL" >&2
    exit 2
fi
host=$1 port=$2 user=$3 password=$4 label=$5
bin=${MYSQL_CLIENT_TEST:-mysql_client_test}
timeout_s=${SY_CLIENT_TEST_TIMEOUT:-120}

if ! command -v "$bin" >/dev/null 2>&1; then
    echo "client_test $label: $bin not found (apt-get install mariadb-test)"
    echo "client_test $label: 0 passed, 0 failed (0 skipped)"
    exit 0
fi

work=$(mktemp -d /tmp/sy-client-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
vardir=${SY_CLIENT_TEST_VARDIR:-$work/var}
mkdir -p "$vardir/tmp" "$vardir/log"

# Sub-tests that cannot run in this setup, whoever is in front (none so far:
# every sub-test runs; those that fail directly for reasons of the setup,
# such as BDB tables or the query cache, fail through the proxy the same way
# and the caller compares the two lists).
skip=" "

if [ -n "${SY_CLIENT_TEST_ONLY:-}" ]; then
    tests=$SY_CLIENT_TEST_ONLY
else
    # "-T" prints a header line, an empty line, then one name per line.
    tests=$("$bin" --no-defaults -T 2>/dev/null | grep '^test_')
fi

passed=0 failed=0 skipped=0
failures=()
for t in $tests; do
    case "$skip" in *" $t "*) skipped=$((skipped + 1)); continue ;; esac
    out="$work/$t.out"
    # Each run starts by (re)creating its database client_test_db and drops
    # it at the end: a failed sub-test leaves nothing for the next one but
    # that database, which the next run recreates.
    if timeout -k 10 "$timeout_s" "$bin" --no-defaults --testcase --silent \
            --host="$host" --port="$port" --user="$user" --password="$password" \
            --vardir="$vardir" "$t" >"$out" 2>&1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failures+=("$t")
        cp "$out" "$work/failed-$t.out"
        # A sub-test that died half-way leaves its tables behind in
        # client_test_db (which the next one only creates IF NOT EXISTS).
        mariadb --no-defaults --host="$host" --port="$port" --user="$user" \
            --password="$password" -e 'DROP DATABASE IF EXISTS client_test_db' >/dev/null 2>&1
    fi
done

echo "client_test $label: $passed passed, $failed failed ($skipped skipped)"
for t in "${failures[@]}"; do
    echo "--- client_test $label: FAILED $t"
    tail -n 8 "$work/failed-$t.out" | sed 's/^/    /'
done
exit 0
