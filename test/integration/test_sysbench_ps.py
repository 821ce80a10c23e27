"""sysbench through the proxy with server-side prepared statements (--db-ps-mode=auto) and
without, on its own tables (test.sbtest1, test.sbtest2) so it never collides with
test_sysbench.py (sbtest.*)."""

import re
import subprocess

import pytest

from sy_helpers import PRIMARY_PORT, REPLICA_PORTS, global_status, sync_replicas

TABLES, SIZE, DB = 2, 1000, "test"


def sysbench(test, port, command, *extra, timeout=120):
    cmd = ["sysbench", test, "--db-driver=mysql", "--mysql-host=127.0.0.1", f"--mysql-port={port}",
           "--mysql-user=app", "--mysql-password=app_pw", f"--mysql-db={DB}",
           f"--tables={TABLES}", f"--table-size={SIZE}", *extra, command]
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)


def check_run(p):
    """Exit 0, no FATAL, no reconnects, ignored errors <= max(5, 1% of transactions);
    returns the number of queries."""
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-4000:]
    assert "FATAL" not in out, out[-4000:]
    trx = re.search(r"^\s*transactions:\s+(\d+)", p.stdout, re.M)
    queries = re.search(r"^\s*queries:\s+(\d+)", p.stdout, re.M)
    ignored = re.search(r"^\s*ignored errors:\s+(\d+)", p.stdout, re.M)
    reconnects = re.search(r"^\s*reconnects:\s+(\d+)", p.stdout, re.M)
    assert trx and queries and ignored and reconnects, p.stdout[-4000:]
    assert int(queries.group(1)) > 0, p.stdout[-4000:]
    assert reconnects.group(1) == "0", p.stdout[-4000:]
    assert int(ignored.group(1)) <= max(5, int(trx.group(1)) // 100), p.stdout[-4000:]
    return int(queries.group(1))


@pytest.fixture(scope="module")
def ps_tables(sandbox_session):
    """test.sbtest1..2 with 1000 rows each, prepared on the primary and replicated."""
    sysbench("oltp_read_write", PRIMARY_PORT, "cleanup")
    p = sysbench("oltp_read_write", PRIMARY_PORT, "prepare")
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    sync_replicas(sandbox_session, timeout=30)
    yield
    sysbench("oltp_read_write", PRIMARY_PORT, "cleanup")


@pytest.mark.parametrize("ps_mode", ["auto", "disable"])
def test_sysbench_oltp_read_write_ps_mode(sy, ps_tables, ps_mode):
    p = sysbench("oltp_read_write", sy.port, "run", "--threads=4", "--time=10",
                 f"--db-ps-mode={ps_mode}", "--report-interval=0")
    check_run(p)


def test_sysbench_point_select_prepared_on_replicas(sy, ps_tables, sandbox):
    before = {n: global_status(sandbox, n, "Com_stmt_execute") for n in REPLICA_PORTS}
    p = sysbench("oltp_point_select", sy.port, "run", "--threads=4", "--time=4",
                 "--db-ps-mode=auto", "--skip_trx=on", "--report-interval=0")
    queries = check_run(p)
    grew = {n: global_status(sandbox, n, "Com_stmt_execute") - before[n] for n in REPLICA_PORTS}
    # Prepared point selects are reads: they must have executed on both replicas, and
    # (nearly) all of them there.
    assert all(d > 0 for d in grew.values()), f"Com_stmt_execute growth on replicas: {grew}"
    assert sum(grew.values()) >= queries * 0.9, f"{grew} of {queries} queries executed on replicas"
