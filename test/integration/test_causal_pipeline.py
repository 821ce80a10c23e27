"""causal_reads = global sends the replica wait and the read back to back.

A relay in front of replica1 records what the proxy sends on each connection.
The replica is kept from applying a write (a READ lock on the table blocks its
SQL thread, while both replication threads keep running, so the monitor still
calls it healthy). A read that must see the write then waits on the replica,
and the read's own statement must already have reached the replica while the
wait is unanswered: the wait costs no round trip of its own.
"""

import struct
import subprocess
import threading

import pytest

from sy_helpers import (REPLICA_PORTS, SANDBOX_DIR, TcpRelay, backend, connect, relay_pump,
                        scalar, sync_replicas, unique, wait_for, xproxy)  # noqa: F401

TABLE = "test.sy_pipeline"


class RecordingRelay(TcpRelay):
    """Keeps, per connection, what the proxy sent and whether the server answered since."""

    def __init__(self, target_port):
        self.conns = []
        self.lock = threading.Lock()
        super().__init__(target_port)

    def connected(self, client, server):
        log = {"sent": b"", "answered_after": {}}
        with self.lock:
            self.conns.append(log)

        def to_server(data):
            with self.lock:
                log["sent"] += data
            return data

        def to_proxy(data):
            with self.lock:
                log["answered_after"][len(log["sent"])] = True
            return data

        threading.Thread(target=relay_pump, args=(client, server, to_server), daemon=True).start()
        threading.Thread(target=relay_pump, args=(server, client, to_proxy), daemon=True).start()

    def pipelined(self, marker):
        """A connection got the wait and, with no answer in between, marker."""
        with self.lock:
            for log in self.conns:
                sent = log["sent"]
                w = sent.find(b"MASTER_GTID_WAIT")
                m = sent.find(marker, w + 1) if w >= 0 else -1
                if m > 0 and not any(w < at <= m for at in log["answered_after"]):
                    return True
        return False


SLEEPER = "SELECT id FROM information_schema.processlist WHERE info = 'SELECT SLEEP(600)'"


def hold_read_lock(sandbox):
    """A root session on replica1 holding LOCK TABLES ... READ until release_lock()."""
    p = subprocess.Popen(
        ["mariadb", "--no-defaults", f"--socket={SANDBOX_DIR / 'replica1.sock'}", "-uroot",
         "-e", f"LOCK TABLES {TABLE} READ; SELECT SLEEP(600)"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_for(lambda: len(sandbox.sql("replica1", SLEEPER)) == 1, 30,
             what="replica1 holds the read lock")
    return p


def release_lock(sandbox, p):
    """The server would notice the client's exit only after SLEEP(600): kill its session."""
    for (thread_id,) in sandbox.sql("replica1", SLEEPER):
        sandbox.sql("replica1", f"KILL {thread_id}")
    p.terminate()
    p.wait(30)


class PreparedCount:
    """COM_STMT_PREPARE / COM_STMT_EXECUTE by hand over a pymysql connection (pymysql has no
    binary protocol): SELECT COUNT(*) ... WHERE tag = ?, the tag bound as a string."""

    def __init__(self, conn):
        self.conn = conn
        conn._execute_command(0x16, f"SELECT COUNT(*) FROM {TABLE} WHERE tag = ?")
        ok = conn._read_packet().get_all_data()
        assert ok[0] == 0, ok
        self.stmt_id = ok[1:5]
        columns, params = struct.unpack("<HH", ok[5:9])
        for _ in range(params + columns + 2):  # definitions, each run ended by an EOF
            conn._read_packet()

    def __call__(self, tag):
        value = tag.encode()
        payload = (self.stmt_id + b"\x00" + struct.pack("<I", 1) + b"\x00\x01" + b"\xfd\x00" +
                   bytes([len(value)]) + value)
        self.conn._execute_command(0x17, payload)
        self.conn._read_packet()  # column count
        self.conn._read_packet()  # its definition
        self.conn._read_packet()  # EOF
        row = self.conn._read_packet().get_all_data()
        assert row[0] == 0, row
        self.conn._read_packet()  # EOF
        return struct.unpack("<q", row[2:10])[0]  # after the header and the NULL bitmap


@pytest.mark.parametrize("protocol", ["text", "prepared"])
def test_wait_and_read_go_out_together(xproxy, sandbox, protocol):
    sandbox.sql("primary", f"CREATE TABLE IF NOT EXISTS {TABLE} "
                           "(id INT AUTO_INCREMENT PRIMARY KEY, tag VARCHAR(64))")
    sync_replicas(sandbox)
    relay = RecordingRelay(REPLICA_PORTS["replica1"])
    locker = None
    try:
        p = xproxy(backends=[backend("primary", "primary", 3310),
                             backend("replica1", "replica", relay.port)],
                   keys={"routing": {"causal_reads": "global",
                                     "causal_reads_timeout_ms": 120000}},
                   max_replication_lag=600, wait_replicas=False)
        reader = connect(p.port)
        # @@port through the relay is still replica1's: reads reach it (and the connection exists)
        wait_for(lambda: scalar(reader, "SELECT @@port") == REPLICA_PORTS["replica1"], 60,
                 what="reads reach replica1")
        if protocol == "prepared":
            count = PreparedCount(reader)
            assert count("none yet") == 0  # prepared on replica1: the next execute needs no prepare
        else:
            def count(tag):
                return scalar(reader, f"SELECT COUNT(*) FROM {TABLE} WHERE tag = '{tag}'")
        locker = hold_read_lock(sandbox)
        tag = unique("pipe")
        with connect(p.port) as writer, writer.cursor() as cur:
            cur.execute(f"INSERT INTO {TABLE} (tag) VALUES (%s)", (tag,))
        got = []
        t = threading.Thread(target=lambda: got.append(count(tag)))
        t.start()
        wait_for(lambda: relay.pipelined(tag.encode()), 60,
                 what="the read reached replica1 while its wait was unanswered")
        release_lock(sandbox, locker)
        locker = None
        t.join(120)
        assert got == [1], got  # not stale: it waited for the write
    finally:
        if locker:
            release_lock(sandbox, locker)
        relay.close()
        sandbox.sql("primary", f"DROP TABLE IF EXISTS {TABLE}")
