"""Chaos on Galera: for SY_GALERA_CHAOS_SECONDS (default 60; test/run-tests.sh: 300), 8
client threads insert a unique row through the proxy (active-active, write_affinity =
session) and read it back at once through another connection (causal reads, galera_reads
= any), while galera1, galera2 and greplica are killed (SIGKILL) at random every
SY_GALERA_CHAOS_EVERY seconds (default 10, jittered) and restarted one at a time by a
restarter thread: several instances may be down at once, never both nodes.

Expected: every acknowledged insert is on the surviving nodes at the end (0 lost), no read
misses its own row (0 stale), every client call returns (0 hangs: bounded read timeouts),
and the proxy is alive. SY_GALERA_CHAOS_CAUSAL=off is the negative control for stale reads
(the async replica then serves reads that miss rows)."""

import os
import queue
import random
import threading
import time
from collections import Counter

import pymysql

from conftest import GALERA_PORTS, REPLICA
from sy_helpers import execute, one, unique, wait_for

DURATION = float(os.environ.get("SY_GALERA_CHAOS_SECONDS", "60"))
CAUSAL = os.environ.get("SY_GALERA_CHAOS_CAUSAL", "global")
READS = os.environ.get("SY_GALERA_CHAOS_READS", "any")  # galera_reads
EVERY = float(os.environ.get("SY_GALERA_CHAOS_EVERY", "10"))  # seconds between kills
THREADS = 8
TABLE = "test.g_chaos"
T0 = time.monotonic()  # stale reads and kills/restarts carry seconds since: which followed which


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
                    again = one(r, f"SELECT COUNT(*), @@port FROM {TABLE} WHERE tag = %s", (tag,))
                    self.stale.append((tag, port, round(time.monotonic() - T0, 2), again))
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


class Chaos(threading.Thread):
    """Every EVERY seconds (jittered) kills one of the instances that may be killed, at
    random, and hands it to a restarter that restarts victims one at a time (sandbox.sh
    restart waits until a node is Synced or the replica replicates). A node may be killed
    only while the other one is up and Synced."""

    def __init__(self, galera, rnd):
        super().__init__(daemon=True)
        self.galera, self.rnd = galera, rnd
        self.stop_ev = threading.Event()
        self.down = queue.Queue()
        self.pending = set()  # killed, not restarted yet
        self.lock = threading.Lock()
        self.kills, self.skipped, self.restart_seconds, self.failures = [], 0, [], []
        self.events = []
        self.restarter = threading.Thread(target=self.restart_all, daemon=True)

    def may_kill(self, name):
        if name in self.pending:
            return False
        if name == REPLICA[0]:
            return True
        other = "galera2" if name == "galera1" else "galera1"
        if other in self.pending:
            return False
        try:
            return self.galera.wsrep(other).get("wsrep_local_state") == "4"
        except RuntimeError:
            return False

    def run(self):
        self.restarter.start()
        while not self.stop_ev.wait(self.rnd.uniform(0.5, 1.5) * EVERY):
            with self.lock:
                allowed = [n for n in sorted(GALERA_PORTS) if self.may_kill(n)]
                if not allowed:
                    self.skipped += 1
                    continue
                victim = self.rnd.choice(allowed)
                self.pending.add(victim)
            self.galera.kill(victim)
            self.kills.append(victim)
            self.events.append((round(time.monotonic() - T0, 2), "kill", victim))
            self.down.put(victim)
        self.down.put(None)

    def restart_all(self):
        while (victim := self.down.get()) is not None:
            t0 = time.monotonic()
            try:
                self.galera.restart(victim)
            except BaseException as e:  # noqa: BLE001 - pytest.fail too; the test reports it
                self.failures.append(f"restart {victim}: {e}")
                self.stop_ev.set()
                return
            self.restart_seconds.append(round(time.monotonic() - t0, 1))
            self.events.append((round(time.monotonic() - T0, 2), "up", victim))
            with self.lock:
                self.pending.discard(victim)

    def finish(self):
        self.stop_ev.set()
        self.join(60)
        self.restarter.join(900)
        assert not self.restarter.is_alive(), "a restart hangs"
        assert not self.failures, self.failures


def test_galera_chaos(gproxy, galera):
    galera.sql("galera1", f"CREATE TABLE IF NOT EXISTS {TABLE} (id INT AUTO_INCREMENT "
                          "PRIMARY KEY, tag VARCHAR(64) UNIQUE)")
    p = gproxy(routing={"writers": "active-active", "write_affinity": "session",
                        "causal_reads": CAUSAL, "galera_reads": READS})
    stop = threading.Event()
    clients = [Client(p, stop) for _ in range(THREADS)]
    for c in clients:
        c.start()
    chaos = Chaos(galera, random.Random(int(os.environ.get("SY_GALERA_CHAOS_SEED", "12"))))
    chaos.start()
    stop.wait(DURATION)
    chaos.finish()
    stop.set()
    for c in clients:
        c.join(120)
        assert not c.is_alive(), "a client hangs"
    assert p.alive(), p.log_tail()
    galera.ensure_healthy()
    acked = [t for c in clients for t in c.acked]
    stale = [s for c in clients for s in c.stale]
    print(f"{DURATION:.0f} s: kills {dict(Counter(chaos.kills))} ({len(chaos.kills)}, "
          f"one per {DURATION / max(len(chaos.kills), 1):.1f} s; {chaos.skipped} skipped: "
          f"none could be killed); restarts took {chaos.restart_seconds} s; "
          f"acknowledged {len(acked)}; stale {len(stale)}; "
          f"client errors {sum(len(c.errors) for c in clients)}")
    assert acked and chaos.kills

    def lost_on(node):
        return set(acked) - set(r[0] for r in galera.sql(node, f"SELECT tag FROM {TABLE}"))

    for node in ("galera1", "galera2"):  # a node applies what it certified a moment later
        wait_for(lambda: not lost_on(node), 30, what=f"every acknowledged row on {node}")
    assert not stale, (stale[:5], chaos.events, p.log_path)
