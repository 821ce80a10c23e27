#!/usr/bin/env bash
# The switchyard test command:  sudo test/run-tests.sh
#
# On a fresh Debian 12 machine it installs the dependencies, builds with
# ASan+UBSan (build-asan/), runs the unit tests (ctest), builds the fuzzers with
# clang (build-fuzz/) and runs each for a while over its seed corpus, starts the
# MariaDB sandbox (1 primary + 2 replicas), runs the integration tests (pytest)
# against the sanitizer build of the proxy, and stops the sandbox.
#
# Environment knobs (all optional):
#   SY_SKIP_DEPS=1          don't run test/install-deps.sh
#   SY_SKIP_FUZZ=1          don't build/run the fuzzers
#   SY_FUZZ_SECONDS=60      run time of each fuzzer
#   SY_KEEP_SANDBOX=1       leave the sandbox running at the end
#   SY_PYTEST_ARGS="-k lag" extra pytest arguments
#   SY_SKIP_MTR=1           don't run MariaDB's test suite through the proxy (test/mtr/run-mtr.sh)
#   SY_SKIP_GALERA=1        don't start the Galera sandbox nor run test/galera
#   SY_GALERA_CHAOS_SECONDS=300  length of the Galera chaos test (the issue's five minutes)
#   JOBS=N                  build parallelism (default: number of CPUs)
#
# The last line is "N passed, N failed": unit + integration tests + the verdicts
# of MariaDB's test suite through the proxy (one per compared pass); a failed
# step (build, fuzzer, sandbox) also counts as one failure. Exit status 0 only if
# everything passed.
set -uo pipefail

if [[ $(id -u) -ne 0 ]]; then
    exec sudo -E "$0" "$@"
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

JOBS=${JOBS:-$(nproc)}
FUZZ_SECONDS=${SY_FUZZ_SECONDS:-60}
PY=/usr/bin/python3          # the distro python: it has python3-pymysql and python3-pytest
export DEBIAN_FRONTEND=noninteractive
export PYTHONDONTWRITEBYTECODE=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export SY_BINARY="$ROOT/build-asan/switchyard"

WORK=$(mktemp -d /tmp/switchyard-tests.XXXXXX)
T0=$(date +%s)

unit_pass=0 unit_fail=0 int_pass=0 int_fail=0 fuzz_pass=0 mtr_pass=0 mtr_fail=0
failed_steps=()

section() { printf '\n==== %s  [+%ss]\n' "$*" "$(( $(date +%s) - T0 ))"; }
step_failed() { failed_steps+=("$1"); echo "run-tests: FAILED: $1" >&2; }

cleanup() {
    if [[ ${SY_KEEP_SANDBOX:-0} != 1 ]]; then
        "$ROOT/test/sandbox/sandbox.sh" stop >/dev/null 2>&1 || true
        "$ROOT/test/sandbox/sandbox.sh" stop galera >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# ---------------------------------------------------------------- dependencies
if [[ ${SY_SKIP_DEPS:-0} != 1 ]]; then
    section "install dependencies"
    "$ROOT/test/install-deps.sh" || { step_failed "install-deps"; }
fi

# ---------------------------------------------------------------- ASan build + unit tests
section "build with ASan+UBSan (build-asan/)"
asan_ok=0
if cmake -S . -B build-asan -DSY_SANITIZE=ON -DSY_TESTS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        && cmake --build build-asan -j "$JOBS"; then
    asan_ok=1
else
    step_failed "ASan build"
fi

if ((asan_ok)); then
    section "unit tests (ctest)"
    ctest --test-dir build-asan --output-on-failure -j "$JOBS" 2>&1 | tee "$WORK/ctest.log"
    ctest_rc=${PIPESTATUS[0]}
    total=$(sed -nE 's/.* tests passed, ([0-9]+) tests failed out of ([0-9]+).*/\2/p' "$WORK/ctest.log" | tail -1)
    failed=$(sed -nE 's/.* tests passed, ([0-9]+) tests failed out of ([0-9]+).*/\1/p' "$WORK/ctest.log" | tail -1)
    if [[ -n $total ]]; then
        unit_fail=$failed
        unit_pass=$((total - failed))
    elif grep -q "No tests were found" "$WORK/ctest.log"; then
        echo "run-tests: no unit tests registered"
    fi
    if ((ctest_rc != 0)) && ((unit_fail == 0)); then step_failed "ctest (exit $ctest_rc)"; fi
fi

# ---------------------------------------------------------------- fuzzers
if [[ ${SY_SKIP_FUZZ:-0} != 1 ]]; then
    section "build fuzzers with clang (build-fuzz/)"
    if CC=clang cmake -S . -B build-fuzz -DSY_FUZZ=ON -DSY_TESTS=OFF -DCMAKE_C_COMPILER=clang \
            && cmake --build build-fuzz -j "$JOBS"; then
        for target in protocol classify session; do
            bin="build-fuzz/test/fuzz/fuzz_$target"
            section "fuzz_$target for ${FUZZ_SECONDS}s"
            if [[ ! -x $bin ]]; then step_failed "fuzz_$target not built"; continue; fi
            corpus="$WORK/corpus-$target"
            mkdir -p "$corpus" "$WORK/artifacts-$target"
            if [[ -d test/fuzz/corpus/$target ]]; then
                cp -r "test/fuzz/corpus/$target/." "$corpus/"
            else
                echo "run-tests: no seed corpus test/fuzz/corpus/$target; starting empty"
            fi
            if "$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
                    -artifact_prefix="$WORK/artifacts-$target/" "$corpus" > "$WORK/fuzz-$target.log" 2>&1; then
                fuzz_pass=$((fuzz_pass + 1))
                grep -E '^stat::number_of_executed_units|^Done ' "$WORK/fuzz-$target.log" || true
            else
                tail -n 60 "$WORK/fuzz-$target.log"
                for a in "$WORK/artifacts-$target"/*; do
                    [[ -e $a ]] || continue
                    echo "crash input $(basename "$a") (base64):"; base64 -w0 "$a"; echo
                done
                step_failed "fuzz_$target"
            fi
        done
    else
        step_failed "fuzz build"
    fi
fi

# ---------------------------------------------------------------- sandbox + integration tests
section "start the MariaDB sandbox"
sandbox_ok=0
if "$ROOT/test/sandbox/sandbox.sh" start; then
    sandbox_ok=1
    "$ROOT/test/sandbox/sandbox.sh" status || true
else
    step_failed "sandbox start"
fi

# "passed failed" of a pytest junit XML file.
junit_counts() {
    "$PY" - "$1" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
tests = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
print(tests - bad - skipped, bad)
EOF
}

if ((sandbox_ok && asan_ok)); then
    section "integration tests (pytest, proxy: $SY_BINARY)"
    # shellcheck disable=SC2086
    "$PY" -m pytest test/integration -v -p no:cacheprovider --durations=10 \
        --junitxml="$WORK/junit.xml" ${SY_PYTEST_ARGS:-}
    pytest_rc=$?
    if [[ -f $WORK/junit.xml ]]; then
        read -r int_pass int_fail < <(junit_counts "$WORK/junit.xml")
    fi
    if ((pytest_rc != 0)) && ((int_fail == 0)); then step_failed "pytest (exit $pytest_rc)"; fi
elif ((asan_ok == 0)); then
    echo "run-tests: integration tests not run: no proxy binary"
fi

# ---------------------------------------------------------------- MariaDB's test suite
# mariadb-test-run and mysql_client_test directly and through the proxy; each
# "verdict" line (what passes directly passes through the proxy) counts once.
if [[ ${SY_SKIP_MTR:-0} != 1 ]] && ((sandbox_ok && asan_ok)); then
    section "MariaDB's test suite through the proxy (test/mtr/run-mtr.sh)"
    "$ROOT/test/mtr/run-mtr.sh" 2>&1 | tee "$WORK/mtr.log"
    mtr_rc=${PIPESTATUS[0]}
    mtr_pass=$(grep -cE '^(mtr|client_test) verdict .*: ok' "$WORK/mtr.log")
    mtr_fail=$(grep -cE '^(mtr|client_test) verdict .*: (FAILED|not run)' "$WORK/mtr.log")
    if ((mtr_rc != 0)) && ((mtr_fail == 0)); then step_failed "run-mtr (exit $mtr_rc)"; fi
fi

# ---------------------------------------------------------------- summary
if [[ ${SY_KEEP_SANDBOX:-0} != 1 ]]; then
    section "stop the sandbox"
    "$ROOT/test/sandbox/sandbox.sh" stop || true
fi

# ---------------------------------------------------------------- Galera
# Two Galera nodes, an arbitrator and an async replica (sandbox.sh start galera);
# test/galera counts with the integration tests.
galera_pass=0 galera_fail=0
if [[ ${SY_SKIP_GALERA:-0} != 1 ]] && ((asan_ok)); then
    section "Galera sandbox and tests (test/galera)"
    if "$ROOT/test/sandbox/sandbox.sh" start galera; then
        # shellcheck disable=SC2086
        SY_GALERA_CHAOS_SECONDS=${SY_GALERA_CHAOS_SECONDS:-300} \
        "$PY" -m pytest test/galera -v -p no:cacheprovider --durations=5 \
            --junitxml="$WORK/junit-galera.xml" ${SY_PYTEST_ARGS:-}
        galera_rc=$?
        [[ -f $WORK/junit-galera.xml ]] && read -r galera_pass galera_fail < <(junit_counts "$WORK/junit-galera.xml")
        if ((galera_rc != 0)) && ((galera_fail == 0)); then step_failed "pytest galera (exit $galera_rc)"; fi
        [[ ${SY_KEEP_SANDBOX:-0} == 1 ]] || "$ROOT/test/sandbox/sandbox.sh" stop galera || true
    else
        step_failed "galera sandbox start"
    fi
fi
int_pass=$((int_pass + galera_pass)) int_fail=$((int_fail + galera_fail))
section "summary"
echo "unit tests:        $unit_pass passed, $unit_fail failed"
echo "integration tests: $int_pass passed, $int_fail failed"
echo "fuzzers:           $fuzz_pass ran clean"
echo "mariadb-test-run:  $mtr_pass passed, $mtr_fail failed (verdicts: direct vs through the proxy)"
if ((${#failed_steps[@]})); then
    echo "failed steps:      ${failed_steps[*]}"
fi
echo "total time:        $(( $(date +%s) - T0 ))s"
passed=$((unit_pass + int_pass + mtr_pass))
failed=$((unit_fail + int_fail + mtr_fail + ${#failed_steps[@]}))
echo "$passed passed, $failed failed"
((failed == 0))
