"""A pooled backend connection that waited idle longer than [proxy] pool_check_after_ms is
pinged before a session uses it (issue 11): a firewall, a NAT or a server may have dropped it
without a word, and a statement sent there would wait forever. One that does not answer
within [monitor] connect_timeout_ms is replaced, and the statement, which never went out,
runs on a new connection. The primary sits behind a relay that can swallow one connection's
bytes both ways, as a dropped NAT entry does."""

import struct
import threading
import time

import pymysql
import pytest

from sy_helpers import (APP_PW, APP_USER, PRIMARY_PORT, TcpRelay, backend, connect, free_port,
                        http_only_admin_section, metric_value, scalar,
                        xproxy)  # noqa: F401 - xproxy is a fixture
from test_pool import pool_row


class SilencingRelay(TcpRelay):
    """Knows each relayed connection by the id the server's greeting gives it; silence(id)
    makes that connection drop whatever either side sends from then on, closing nothing."""

    def __init__(self, target_port):
        self.silenced = set()
        self.greeted = set()  # server connection ids seen in a greeting
        self.lock = threading.Lock()
        super().__init__(target_port)

    def connected(self, client, server):
        conn = {"id": None}
        threading.Thread(target=self._pump, args=(server, client, conn, True), daemon=True).start()
        threading.Thread(target=self._pump, args=(client, server, conn, False), daemon=True).start()

    def _pump(self, src, dst, conn, from_server):
        try:
            while (data := src.recv(65536)):
                if from_server and conn["id"] is None and len(data) > 5:
                    # greeting: header(4), protocol version(1), server version NUL, thread id
                    end = data.index(b"\0", 5)
                    conn["id"] = struct.unpack_from("<I", data, end + 1)[0]
                    with self.lock:
                        self.greeted.add(conn["id"])
                with self.lock:
                    silent = conn["id"] in self.silenced
                if not silent:
                    dst.sendall(data)
        except OSError:
            pass

    def silence(self, connection_id):
        with self.lock:
            assert connection_id in self.greeted, (connection_id, self.greeted)
            self.silenced.add(connection_id)


def start(xproxy, relay, check_after_ms):
    admin_port, http_port = free_port(), free_port()
    p = xproxy(threads=1, replicas=(), backends=[backend("primary", "primary", relay.port)],
               users={APP_USER: APP_PW},
               keys={"proxy": {"pool_check_after_ms": check_after_ms},
                     "monitor": {"connect_timeout_ms": 3000}},
               extra=http_only_admin_section(admin_port, http_port))
    p.admin_port, p.http_port = admin_port, http_port
    return p


def let_time_pass(seconds):
    """The pooled connection must have waited idle this long: time itself is the condition."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        time.sleep(until - time.monotonic())


@pytest.fixture
def relay(sandbox):
    r = SilencingRelay(PRIMARY_PORT)
    yield r
    r.close()


def test_a_silently_dropped_pooled_connection_is_replaced(xproxy, relay):
    p = start(xproxy, relay, check_after_ms=300)
    with connect(p.port, database="test", read_timeout=30) as c:
        first = scalar(c, "SELECT CONNECTION_ID()")  # its connection now waits in the pool
        assert scalar(c, "SELECT CONNECTION_ID()") == first  # taken back, not checked yet
        relay.silence(first)
        let_time_pass(0.6)
        second = scalar(c, "SELECT CONNECTION_ID()")
        assert second != first
        assert scalar(c, "SELECT 1") == 1
        assert scalar(c, "SELECT DATABASE()") == "test"
    assert int(pool_row(p)["broken"]) == 1
    assert metric_value(p.http_port, 'switchyard_pool_broken_total{backend="primary"}') == 1
    assert "was dead before the statement went out" in p.log_text()


def test_an_answering_pooled_connection_is_kept_after_its_check(xproxy, relay):
    p = start(xproxy, relay, check_after_ms=300)
    with connect(p.port, database="test") as c:
        first = scalar(c, "SELECT CONNECTION_ID()")
        let_time_pass(0.6)
        assert scalar(c, "SELECT CONNECTION_ID()") == first
    assert int(pool_row(p)["broken"]) == 0


def test_control_without_the_check_the_statement_is_lost_in_the_silence(xproxy, relay):
    """pool_check_after_ms = 0: the statement goes out on the dropped connection and no
    answer ever comes; the client gives up on its own read timeout."""
    p = start(xproxy, relay, check_after_ms=0)
    with connect(p.port, database="test", read_timeout=5) as c:
        first = scalar(c, "SELECT CONNECTION_ID()")
        relay.silence(first)
        let_time_pass(0.6)
        with pytest.raises(pymysql.err.OperationalError) as e:
            scalar(c, "SELECT CONNECTION_ID()")
        assert e.value.args[0] == 2013, e.value.args
    assert int(pool_row(p)["broken"]) == 0


def test_a_reset_that_never_answers_frees_its_place(xproxy, relay):
    """A session leaves and its connection is reset for the pool, but the network has
    dropped it: the reset is bounded too, so the connection closes and its place under
    max_connections = 1 goes to the next statement (without the bound it would hold the
    place forever, and the next statement would wait pool_wait_timeout_ms for ERR 1040)."""
    admin_port, http_port = free_port(), free_port()
    p = xproxy(threads=1, replicas=(),
               backends=[backend("primary", "primary", relay.port, max_connections=1)],
               users={APP_USER: APP_PW},
               keys={"proxy": {"pool_check_after_ms": 0, "pool_wait_timeout_ms": 60000},
                     "monitor": {"connect_timeout_ms": 3000}},
               extra=http_only_admin_section(admin_port, http_port))
    with connect(p.port, database="test") as a:
        with a.cursor() as cur:
            cur.execute("SET @left = 1")  # state: the connection is reset when a leaves
        first = scalar(a, "SELECT CONNECTION_ID()")
        relay.silence(first)
    with connect(p.port, database="test", read_timeout=50) as b:
        assert scalar(b, "SELECT CONNECTION_ID()") != first
        assert scalar(b, "SELECT @left") is None
    assert "a pooled connection failed: a pooled connection did not answer" in p.log_text()
