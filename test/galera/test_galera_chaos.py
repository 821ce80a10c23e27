"""Chaos on Galera: for SY_GALERA_CHAOS_SECONDS (default 60), 8 client threads insert a
unique row through the proxy (active-active, write_affinity = session) and read it back at
once through another connection, while galera1, galera2 and greplica are killed (SIGKILL)
and restarted at random, one at a time (never both nodes at once).

Expected: every acknowledged insert is on the surviving nodes at the end (0 lost), no read
misses its own row (0 stale), every client call returns (0 hangs: bounded read timeouts),
and the proxy is alive. SY_GALERA_CHAOS_CAUSAL=off is the negative control for stale reads
(the async replica then serves reads that miss rows)."""

import os
import random
import threading
import time

import pymysql

from conftest import GALERA_PORTS
from sy_helpers import execute, one, unique, wait_for

DURATION = float(os.environ.get("SY_GALERA_CHAOS_SECONDS", "60"))
CAUSAL = os.environ.get("SY_GALERA_CHAOS_CAUSAL", "global")
READS = os.environ.get("SY_GALERA_CHAOS_READS", "any")  # galera_reads
THREADS = 8
TABLE = "test.g_chaos"


class Client(threading.Thread):
    def __init__(self, p, stop):
        super().__init__(daemon=True)
        self.p, self.stop_ev = p, stop
        self.acked, self.stale, self.errors = [], [], []

    def run(self):
        w = r = None
        while not self.stop_ev.is_set():
            try:
                w = w or self.p.connect(read_timeout=30, write_timeout=30)
                r = r or self.p.connect(read_timeout=30, write_timeout=30)
                tag = unique("gc")
                execute(w, f"INSERT INTO {TABLE} (tag) VALUES (%s)", (tag,))
                self.acked.append(tag)
                n, port = one(r, f"SELECT COUNT(*), @@port FROM {TABLE} WHERE tag = %s", (tag,))
                if n != 1:
                    self.stale.append((tag, port))
            except pymysql.err.MySQLError as e:
                self.errors.append(e.args)
                for c in (w, r):
                    if c:
                        c.close()
                w = r = None
                time.sleep(0.1)
        for c in (w, r):
            if c:
                c.close()


def test_galera_chaos(gproxy, galera):
    galera.sql("galera1", f"CREATE TABLE IF NOT EXISTS {TABLE} (id INT AUTO_INCREMENT "
                          "PRIMARY KEY, tag VARCHAR(64) UNIQUE)")
    p = gproxy(routing={"writers": "active-active", "write_affinity": "session",
                        "causal_reads": CAUSAL, "galera_reads": READS})
    stop = threading.Event()
    clients = [Client(p, stop) for _ in range(THREADS)]
    for c in clients:
        c.start()
    kills = []
    rnd = random.Random(int(os.environ.get("SY_GALERA_CHAOS_SEED", "12")))
    end = time.monotonic() + DURATION
    while time.monotonic() < end:
        victim = rnd.choice(sorted(GALERA_PORTS))
        galera.kill(victim)
        kills.append(victim)
        galera.restart(victim)  # waits until Synced (nodes) or replicating (replica)
    stop.set()
    for c in clients:
        c.join(120)
        assert not c.is_alive(), "a client hangs"
    assert p.alive(), p.log_tail()
    galera.ensure_healthy()
    acked = [t for c in clients for t in c.acked]
    stale = [s for c in clients for s in c.stale]
    print(f"kills {kills}; acknowledged {len(acked)}; stale {len(stale)}; "
          f"client errors {sum(len(c.errors) for c in clients)}")
    assert acked and kills
    def lost_on(node):
        return set(acked) - set(r[0] for r in galera.sql(node, f"SELECT tag FROM {TABLE}"))

    for node in ("galera1", "galera2"):  # a node applies what it certified a moment later
        wait_for(lambda: not lost_on(node), 30, what=f"every acknowledged row on {node}")
    assert not stale, stale[:5]
