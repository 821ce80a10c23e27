"""The proxy seen by a real C client: test/integration/c_client/sy_client_test.c
(MariaDB Connector/C, <mysql.h>) run against a proxy, one pytest per C test.

Each C test checks results and where every statement ran (@@port): binary
prepared statements (all types, long data, cursors, reset/close), multi-statements
and CALL, LOAD DATA LOCAL INFILE, change_user, reset_connection, COM_STATISTICS /
COM_FIELD_LIST / KILL, session state, pinning, backend connections killed under
a prepared statement (reconnect, replay, re-prepare), client auth plugins
(caching_sha2_password, client_ed25519: auth switch), and PROXY statements.

The binary is built by CMake into $SY_BUILD_DIR (default build-asan):
    $SY_BUILD_DIR/test/integration/c_client/sy_client_test
Run it by hand against the primary to check a test itself:
    sy_client_test --direct --port 3310 all
"""

import os
import re
import subprocess
from pathlib import Path

import pytest

from sy_helpers import APP_PW, APP_USER, PRIMARY_PORT, REPLICA_PORTS, REPO

SOURCE = Path(__file__).resolve().parent / "c_client" / "sy_client_test.c"
# The registry in the C source: TEST(name, proxy_only), in run order.
C_TESTS = re.findall(r"^\s*TEST\((\w+),", SOURCE.read_text(), re.M)
BUILD_DIR = Path(os.environ.get("SY_BUILD_DIR", REPO / "build-asan"))
CLIENT = BUILD_DIR / "test" / "integration" / "c_client" / "sy_client_test"


@pytest.fixture(scope="module")
def client_binary():
    if not CLIENT.exists():
        pytest.fail(f"{CLIENT} does not exist: build the sy_client_test target"
                    " (or set SY_BUILD_DIR)")
    return CLIENT


def run_client(binary, port, *names, direct=False, timeout=180):
    cmd = [str(binary), "--host", "127.0.0.1", "--port", str(port),
           "--user", APP_USER, "--password", APP_PW, "--db", "test",
           "--primary-port", str(PRIMARY_PORT),
           "--replica-ports", ",".join(str(p) for p in sorted(REPLICA_PORTS.values()))]
    if direct:
        cmd.append("--direct")
    cmd += names
    env = dict(os.environ)
    # The client may be built with ASan: report memory errors, not the
    # allocations a failing test leaves behind.
    env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=1"
    try:
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout, env=env)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{' '.join(cmd)} did not finish in {timeout}s:\n{e.stdout}\n{e.stderr}")


def test_c_client_tests_are_registered():
    assert len(C_TESTS) >= 30 and len(set(C_TESTS)) == len(C_TESTS), C_TESTS


def test_c_client_direct(sandbox, client_binary):
    """Every C test against the primary itself (where-it-ran checks for replicas off):
    a failure here is a bug in the test or the environment, not in the proxy."""
    r = run_client(client_binary, PRIMARY_PORT, "all", direct=True)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    for name in C_TESTS:
        assert re.search(rf"^ok {name}\b", r.stdout, re.M), out


@pytest.mark.parametrize("name", C_TESTS)
def test_c_client(name, proxy, client_binary):
    sy = proxy()
    r = run_client(client_binary, sy.port, name)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert re.search(rf"^ok {name}\b", r.stdout, re.M), out
