"""sysbench oltp_read_write through the proxy in front of Galera, active-active: the run
finishes; certification conflicts are ERROR 1213 as the server sends them, which sysbench
counts as ignored errors and retries."""

import re

from conftest import NODES
from sy_helpers import wait_for
from test_sysbench import sysbench


def test_oltp_read_write_active_active(gproxy, galera):
    port = NODES["galera1"]
    sysbench("oltp_read_write", port, "cleanup")
    prep = sysbench("oltp_read_write", port, "prepare")
    assert prep.returncode == 0, prep.stdout + prep.stderr
    wait_for(lambda: galera.sql("galera2", "SELECT COUNT(*) FROM sbtest.sbtest2")[0][0] == "1000",
             30, what="sbtest tables on galera2")
    p = gproxy(routing={"writers": "active-active"})
    run = sysbench("oltp_read_write", p.port, "run", "--threads=4", "--time=15",
                   "--db-ps-mode=disable", "--mysql-ignore-errors=1213,1205,1020", timeout=180)
    out = run.stdout + run.stderr
    assert run.returncode == 0 and "FATAL" not in out, out[-4000:]
    trx = int(re.search(r"^\s*transactions:\s+(\d+)", run.stdout, re.M).group(1))
    ignored = int(re.search(r"^\s*ignored errors:\s+(\d+)", run.stdout, re.M).group(1))
    reconnects = re.search(r"^\s*reconnects:\s+(\d+)", run.stdout, re.M).group(1)
    print(f"sysbench through the proxy, active-active: {trx} transactions, "
          f"{ignored} conflicts (ERROR 1213/1205 as sent by the server)")
    assert trx > 0 and reconnects == "0", out[-4000:]
    sysbench("oltp_read_write", port, "cleanup")
