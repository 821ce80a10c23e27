"""sysbench oltp_read_write through the proxy in front of Galera, active-active: the run
finishes; certification conflicts reach sysbench as the server sends them (ERROR 1213
"Deadlock found when trying to get lock; try restarting transaction"), which it ignores
and retries. Every error sysbench ignored is checked (its debug log names each one), and
the nodes' own figures (wsrep_local_cert_failures, wsrep_local_bf_aborts, Innodb_deadlocks)
are printed beside them and bound them."""

import re
from collections import Counter

from conftest import NODES
from sy_helpers import wait_for
from test_sysbench import sysbench

DEADLOCK = "Deadlock found when trying to get lock; try restarting transaction"
# Each ends a client's transaction with 1213: a commit that failed certification, a local
# transaction aborted by a replicated one, a plain InnoDB deadlock.
CONFLICT_STATUS = ("wsrep_local_cert_failures", "wsrep_local_bf_aborts", "Innodb_deadlocks")


def conflicts(galera):
    """{(node, status variable): value} of the nodes' conflict counters."""
    names = ", ".join(f"'{v}'" for v in CONFLICT_STATUS)
    return {(n, v): int(val) for n in NODES
            for v, val in galera.sql(n, f"SHOW GLOBAL STATUS WHERE Variable_name IN ({names})")}


def ignored_errors(log):
    """(code, message) of every error sysbench's debug log says it ignored; the log folds
    repeats into "(last message repeated N times)"."""
    seen, last = [], None
    for line in log.splitlines():
        m = re.search(r"Ignoring error (\d+) (.*?), $", line)
        repeated = re.fullmatch(r"\s*\(last message repeated (\d+) times\)\s*", line)
        if m:
            last = (m.group(1), m.group(2))
            seen.append(last)
        elif repeated and last:
            seen += [last] * int(repeated.group(1))
        elif line.strip():
            last = None
    return seen


def test_oltp_read_write_active_active(gproxy, galera):
    port = NODES["galera1"]
    sysbench("oltp_read_write", port, "cleanup")
    prep = sysbench("oltp_read_write", port, "prepare")
    assert prep.returncode == 0, prep.stdout + prep.stderr
    wait_for(lambda: galera.sql("galera2", "SELECT COUNT(*) FROM sbtest.sbtest2")[0][0] == "1000",
             30, what="sbtest tables on galera2")
    p = gproxy(routing={"writers": "active-active"})
    before = conflicts(galera)
    run = sysbench("oltp_read_write", p.port, "run", "--threads=4", "--time=15",
                   "--db-ps-mode=disable", "--mysql-ignore-errors=1213,1205,1020",
                   "--verbosity=5", timeout=180)
    server = {k: v - before[k] for k, v in conflicts(galera).items()}
    out = run.stdout + run.stderr
    assert run.returncode == 0 and "FATAL" not in out, out[-4000:]
    trx = int(re.search(r"^\s*transactions:\s+(\d+)", run.stdout, re.M).group(1))
    ignored = int(re.search(r"^\s*ignored errors:\s+(\d+)", run.stdout, re.M).group(1))
    reconnects = re.search(r"^\s*reconnects:\s+(\d+)", run.stdout, re.M).group(1)
    seen = ignored_errors(out)
    codes = Counter(int(code) for code, _ in seen)
    print(f"sysbench through the proxy, active-active: {trx} transactions, {ignored} ignored "
          f"errors, by code {dict(codes)}; the nodes counted {server}")
    assert trx > 0 and reconnects == "0", out[-4000:]
    assert len(seen) == ignored, out[-4000:]
    # Only certification conflicts, each with the server's own message (no proxy prefix).
    assert set(seen) <= {("1213", DEADLOCK)}, seen[:5]
    assert ignored <= sum(server.values()), (ignored, server)
    sysbench("oltp_read_write", port, "cleanup")
