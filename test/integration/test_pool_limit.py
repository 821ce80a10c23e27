"""[backend.NAME] max_connections and [proxy] pool_wait_timeout_ms (issue 11): the proxy
holds at most that many connections open to a backend (per worker its share; one worker
here). A session that needs one more waits in a first-come queue for a connection to come
back, for at most pool_wait_timeout_ms, then gets ERR 1040 naming the keys; the session
stays usable. The server is watched from a direct connection, never trusted to the proxy's
own counters."""

import socket
import threading

import pymysql
import pytest

from sy_helpers import (PRIMARY_PORT, REPLICA_PORTS, backend, connect, execute, free_port,
                        http_only_admin_section, metric_value, scalar, temporary_account,
                        wait_for, xproxy)  # noqa: F401 - xproxy is a fixture
from test_pool import pool_row
from test_robustness_session import send_packet

CAP_USER, CAP_PW = "sy_cap", "sy_cap_pw"


@pytest.fixture
def cap_account(sandbox):
    """An account only these tests use: its connections on the server are the proxy's."""
    yield from temporary_account(sandbox, CAP_USER, CAP_PW, "ALL ON test.*")


def start(xproxy, max_connections, wait_ms, replicas=(), replica_keys=None):
    """One worker, so its share is the whole max_connections of the primary."""
    admin_port, http_port = free_port(), free_port()
    backends = [backend("primary", "primary", PRIMARY_PORT, max_connections=max_connections)]
    backends += [backend(n, "replica", REPLICA_PORTS[n], **(replica_keys or {}).get(n, {}))
                 for n in replicas]
    p = xproxy(threads=1, replicas=replicas, wait_replicas=False, backends=backends,
               users={CAP_USER: CAP_PW},
               keys={"proxy": {"pool_wait_timeout_ms": wait_ms}},
               extra=http_only_admin_section(admin_port, http_port))
    p.admin_port, p.http_port = admin_port, http_port
    return p


def client(p, **kw):
    return connect(p.port, user=CAP_USER, password=CAP_PW, **kw)


def server_connections(port=PRIMARY_PORT):
    """Connections of the test account on the server, counted there."""
    with connect(port, user="monitor", password="monitor_pw") as c:
        return scalar(c, "SELECT COUNT(*) FROM information_schema.processlist "
                         f"WHERE user = '{CAP_USER}'")


class Watch:
    """Polls the server's count of the account's connections in a thread; keeps the most."""

    def __init__(self, port=PRIMARY_PORT, user=CAP_USER):
        self.port, self.user, self.most, self.stop = port, user, 0, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        with connect(self.port, user="monitor", password="monitor_pw") as c:
            while not self.stop.is_set():
                n = scalar(c, "SELECT COUNT(*) FROM information_schema.processlist "
                              f"WHERE user = '{self.user}'")
                self.most = max(self.most, n)

    def done(self):
        self.stop.set()
        self.thread.join(timeout=60)
        return self.most


def holder(p):
    """A session that holds a connection to the primary: autocommit off pins it there (a
    session that is not pinned gives its connection back after each statement)."""
    c = client(p, autocommit=False)
    assert scalar(c, "SELECT 1") == 1
    return c


def run_in_thread(fn):
    """Run fn in a thread; the result is what it returned or the exception it raised."""
    out = {}

    def body():
        try:
            out["value"] = fn()
        except Exception as e:  # noqa: BLE001 - handed to the test
            out["error"] = e
    t = threading.Thread(target=body, daemon=True)
    t.start()
    return t, out


def sleeper(p):
    with client(p) as c:
        return scalar(c, "SELECT /*route=primary*/ SLEEP(0.5)")


def waiting(p):
    return int(pool_row(p)["waiting"])


def test_the_primary_never_sees_more_than_max_connections(xproxy, cap_account):
    p = start(xproxy, max_connections=2, wait_ms=120000)
    watch = Watch()
    holders = [holder(p), holder(p)]
    workers = [run_in_thread(lambda: sleeper(p)) for _ in range(10)]
    wait_for(lambda: waiting(p) == 10, timeout=60, what="10 statements waiting for a connection")
    assert server_connections() == 2
    for h in holders:
        h.close()
    for t, out in workers:
        t.join(timeout=240)
        assert "error" not in out, out
        assert out.get("value") == 0, out
    assert watch.done() <= 2, "the server saw more connections than max_connections"
    row = pool_row(p)
    assert int(row["max_connections"]) == 2, row
    assert int(row["waits"]) >= 10 and int(row["waiting"]) == 0, row
    assert int(row["wait_timeouts"]) == 0, row
    assert int(row["connections"]) <= 2, row
    assert metric_value(p.http_port, 'switchyard_pool_waits_total{backend="primary"}') >= 10
    assert metric_value(p.http_port, 'switchyard_backend_max_connections{backend="primary"}') == 2
    assert metric_value(p.http_port, 'switchyard_pool_wait_seconds_total{backend="primary"}') > 0


def test_concurrent_clients_all_succeed_within_the_limit(xproxy, cap_account):
    """Ten clients at once, each one SLEEP(0.5) and gone: all succeed, at most 2 at a time
    on the server."""
    p = start(xproxy, max_connections=2, wait_ms=120000)
    watch = Watch()
    start_line = threading.Barrier(10)

    def one():
        start_line.wait(timeout=60)
        return sleeper(p)
    workers = [run_in_thread(one) for _ in range(10)]
    for t, out in workers:
        t.join(timeout=240)
        assert out.get("value") == 0, out
    assert watch.done() <= 2, "the server saw more connections than max_connections"


def expect_1040(c, sql, wait_ms):
    with pytest.raises(pymysql.err.OperationalError) as e:
        c.cursor().execute(sql)
    code, message = e.value.args
    assert code == 1040, e.value.args
    assert "backend 'primary'" in message, message
    assert "[backend.primary] max_connections = 2" in message, message
    assert f"[proxy] pool_wait_timeout_ms = {wait_ms}" in message, message


@pytest.mark.parametrize("wait_ms", [1000, 0])
def test_an_exhausted_backend_fails_the_statement_and_the_session_recovers(xproxy, cap_account,
                                                                           wait_ms):
    p = start(xproxy, max_connections=2, wait_ms=wait_ms)
    holders = []
    for _ in range(2):
        h = client(p, autocommit=False)
        h.cursor().execute("SELECT 1")  # autocommit off: a transaction, on the primary
        holders.append(h)
    late = client(p)
    expect_1040(late, "SELECT /*route=primary*/ 1", wait_ms)
    assert int(pool_row(p)["wait_timeouts"]) >= 1
    assert metric_value(p.http_port,
                        'switchyard_pool_wait_timeouts_total{backend="primary"}') >= 1
    for h in holders:
        h.commit()
        h.close()
    assert scalar(late, "SELECT /*route=primary*/ 2") == 2
    assert server_connections() <= 2


def test_a_login_with_a_database_waits_for_room_too(xproxy, cap_account):
    """A database named at login is checked on the primary: at its limit the login waits,
    then fails with the same ERR; once there is room, logins pass again."""
    p = start(xproxy, max_connections=2, wait_ms=1000)
    holders = [holder(p), holder(p)]
    with pytest.raises(pymysql.err.OperationalError) as e:
        client(p, database="test")
    assert e.value.args[0] == 1040, e.value.args
    assert "max_connections = 2" in e.value.args[1]
    holders[0].close()
    with client(p, database="test") as c:
        assert scalar(c, "SELECT DATABASE()") == "test"
    holders[1].close()


def raw_login(p):
    """A pymysql login, then its socket used by hand: a command sent, its answer never read."""
    c = client(p)
    return c, c._sock


def test_a_client_that_leaves_the_queue_does_not_break_it(xproxy, cap_account):
    p = start(xproxy, max_connections=1, wait_ms=120000)
    h = holder(p)
    gone, sock = raw_login(p)
    send_packet(sock, 0, b"\x03SELECT /*route=primary*/ 1")
    wait_for(lambda: waiting(p) == 1, timeout=60, what="the first waiter queued")
    t, out = run_in_thread(lambda: scalar(client(p), "SELECT /*route=primary*/ 7"))
    wait_for(lambda: waiting(p) == 2, timeout=60, what="the second waiter queued")
    sock.shutdown(socket.SHUT_RDWR)
    sock.close()
    wait_for(lambda: waiting(p) == 1, timeout=60, what="the client that left, out of the queue")
    h.close()
    t.join(timeout=120)
    assert out.get("value") == 7, out
    wait_for(lambda: waiting(p) == 0, timeout=60, what="the queue empty")
    with client(p) as c:
        assert scalar(c, "SELECT /*route=primary*/ 8") == 8


def test_waiters_get_an_error_when_the_proxy_stops(xproxy, cap_account):
    """SIGTERM while statements wait for a connection: they get an ERR (or their connection
    closes) and the proxy exits cleanly (teardown checks the exit code and sanitizers)."""
    p = start(xproxy, max_connections=1, wait_ms=120000)
    h = holder(p)
    workers = [run_in_thread(lambda: scalar(client(p), "SELECT /*route=primary*/ 1"))
               for _ in range(3)]
    wait_for(lambda: waiting(p) == 3, timeout=60, what="3 statements waiting")
    p.expect_exit = True  # stopped here: teardown only looks for sanitizer reports
    assert p.stop(timeout=60) == 0
    for t, out in workers:
        t.join(timeout=60)
        err = out.get("error")
        assert isinstance(err, pymysql.err.OperationalError), out
        assert err.args[0] in (1053, 2013), err.args
    h.close()


def test_a_read_prefers_a_replica_with_room(xproxy, cap_account, sandbox):
    """replica1 holds its one connection: reads go to replica2 instead of waiting."""
    p = start(xproxy, max_connections=0, wait_ms=0, replicas=("replica1", "replica2"),
              replica_keys={"replica1": {"max_connections": 1}})
    wait_for(lambda: all(r["state"] == "up" for r in backends(p)), timeout=60,
             what="both replicas up")
    keep = client(p)
    for _ in range(10):  # a read-only transaction keeps its replica's connection
        execute(keep, "START TRANSACTION READ ONLY")
        if scalar(keep, "SELECT @@port") == REPLICA_PORTS["replica1"]:
            break
        execute(keep, "COMMIT")
    else:
        pytest.fail("no read-only transaction of the holding session reached replica1")
    for _ in range(6):
        with client(p) as c:
            assert scalar(c, "SELECT @@port") == REPLICA_PORTS["replica2"]
    assert int(pool_row(p, "replica1")["wait_timeouts"]) == 0
    keep.close()


def backends(p):
    with connect(p.admin_port, user="admin", password="admin_pw") as c, c.cursor() as cur:
        cur.execute("SHOW BACKENDS")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]
