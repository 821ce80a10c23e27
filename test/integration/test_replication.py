"""Replication awareness: lagging and stopped replicas leave the read rotation."""

import threading
import time

import pymysql
import pytest

from sy_helpers import (ERR_RE_NO_REPLICA, MONITOR_INTERVAL_MS, PRIMARY_PORT, connect,
                        scalar, unique, wait_for)

INTERVAL = MONITOR_INTERVAL_MS / 1000.0
MARGIN = 0.5  # seconds on top of the monitor intervals: scheduling, sanitizer builds, 2 cores


class Heartbeat:
    """Writes on the primary twice a second, so a delayed replica shows a growing lag."""

    def __init__(self, sandbox):
        sandbox.sql("primary", "CREATE TABLE IF NOT EXISTS test.heartbeat "
                               "(id INT PRIMARY KEY, ts DATETIME(6)); "
                               "INSERT IGNORE INTO test.heartbeat VALUES (1, NOW(6))")
        self.stop_ev = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            with connect(PRIMARY_PORT) as c, c.cursor() as cur:
                while not self.stop_ev.is_set():
                    cur.execute("UPDATE test.heartbeat SET ts=NOW(6) WHERE id=1")
                    self.stop_ev.wait(0.5)
        except Exception as e:  # noqa: BLE001
            self.error = e

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_ev.set()
        self.thread.join(5)


def read_ports(proxy, n):
    with proxy.connect() as c:
        return [scalar(c, "SELECT @@port") for _ in range(n)]


def test_lagging_replica_leaves_and_rejoins_rotation(proxy, sandbox):
    sy = proxy(max_replication_lag=1)
    t_start = time.monotonic()
    try:
        with Heartbeat(sandbox) as hb:
            sandbox.set_delay("replica1", 4)
            wait_for(lambda: (sandbox.lag("replica1") or 0) > 1, 15, interval=0.1,
                     what="replica1 to report lag > 1")
            # The monitor must notice within two intervals.
            time.sleep(2 * INTERVAL + MARGIN)
            ports = read_ports(sy, 20)
            assert ports == [3312] * 20, f"reads during lag: {ports}"
            assert hb.error is None, hb.error

            sandbox.set_delay("replica1", 0)
            wait_for(lambda: sandbox.lag("replica1") == 0, 15, interval=0.1,
                     what="replica1 to catch up")
            sandbox.wait_replica("replica1")
            seen = set()

            def back():
                seen.update(read_ports(sy, 4))
                return 3311 in seen

            wait_for(back, 2 * INTERVAL + 3, interval=INTERVAL,
                     what="reads to reach replica1 again after it caught up")
            assert hb.error is None, hb.error
    finally:
        sandbox.set_delay("replica1", 0)
    assert time.monotonic() - t_start < 40


def test_stopped_replica_leaves_rotation(proxy, sandbox):
    sy = proxy()
    old = sy.connect()  # a session that already used both replicas
    try:
        assert set(scalar(old, "SELECT @@port") for _ in range(4)) == {3311, 3312}
        sandbox.kill("replica1")
        time.sleep(3 * INTERVAL + MARGIN)
        with sy.connect() as c:
            ports = [scalar(c, "SELECT @@port") for _ in range(50)]
        assert ports == [3312] * 50, ports
        # The older session must not stumble over its dead backend connection either.
        ports = [scalar(old, "SELECT @@port") for _ in range(10)]
        assert ports == [3312] * 10, ports
    finally:
        old.close()
        sandbox.restart("replica1")
    # Back in rotation once it runs again.
    sy.wait_replicas_eligible({3311, 3312})


def test_no_replica_fallback_primary_and_error(proxy, sandbox):
    fallback = proxy(read_fallback="primary")
    strict = proxy(read_fallback="error")
    c_strict = strict.connect()
    try:
        sandbox.kill("replica1")
        sandbox.kill("replica2")
        time.sleep(3 * INTERVAL + MARGIN)

        with fallback.connect() as c:
            assert [scalar(c, "SELECT @@port") for _ in range(10)] == [PRIMARY_PORT] * 10

        for conn in (c_strict, strict.connect()):
            with pytest.raises(pymysql.MySQLError) as ei:
                scalar(conn, "SELECT @@port")
            msg = str(ei.value.args[-1])
            assert ERR_RE_NO_REPLICA.search(msg), f"unclear error for a read with no replica: {ei.value.args}"
            # The session stays usable: writes still go to the primary.
            tag = unique()
            with conn.cursor() as cur:
                assert cur.execute("INSERT INTO test.t_where (port, tag) VALUES (@@port, %s)", (tag,)) == 1
            assert sandbox.sql("primary", f"SELECT port FROM test.t_where WHERE tag='{tag}'") == [["3310"]]
            # ... and so do reads inside a transaction.
            conn.begin()
            assert scalar(conn, "SELECT @@port") == PRIMARY_PORT
            conn.commit()
            conn.close()
    finally:
        sandbox.restart("replica1")
        sandbox.restart("replica2")
    fallback.wait_replicas_eligible({3311, 3312})
