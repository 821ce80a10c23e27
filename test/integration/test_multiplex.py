"""Multiplexing between statements (issue 11): a session's backend connections wait in the
worker's pool between its statements, so many clients share a few connections. A session
takes its own connection back as it left it; another session gets it reset, with its own
state replayed. Whatever lives on one connection (a transaction, temporary tables, locks)
pins the session to it. The servers are watched directly, never trusted to the proxy's own
counters."""

import resource
import struct
from concurrent.futures import ThreadPoolExecutor

import pymysql
import pytest

from sy_helpers import (APP_PW, APP_USER, PRIMARY_PORT, REPLICA_PORTS, backend, connect, execute,
                        free_port,
                        http_only_admin_section, metric_value, scalar, temporary_account, unique,
                        wait_for, xproxy)  # noqa: F401 - xproxy is a fixture
from test_pool import pool_row
from test_pool_limit import Watch
from sy_helpers import read_raw_packet
from test_robustness_session import RawClient, err_code, send_packet

MUX_USER, MUX_PW = "sy_mux", "sy_mux_pw"


@pytest.fixture
def mux_account(sandbox):
    """An account only these tests use: its connections on a server are the proxy's."""
    yield from temporary_account(sandbox, MUX_USER, MUX_PW, "ALL ON test.*")


def start(xproxy, max_connections, replicas=(), wait_ms=120000, threads=1, multiplexing="on"):
    """threads workers; every backend has max_connections (per worker its share)."""
    admin_port, http_port = free_port(), free_port()
    backends = [backend("primary", "primary", PRIMARY_PORT, max_connections=max_connections)]
    backends += [backend(n, "replica", REPLICA_PORTS[n], max_connections=max_connections)
                 for n in replicas]
    p = xproxy(threads=threads, replicas=replicas, backends=backends,
               users={APP_USER: APP_PW, MUX_USER: MUX_PW},
               keys={"proxy": {"pool_wait_timeout_ms": wait_ms, "multiplexing": multiplexing}},
               extra=http_only_admin_section(admin_port, http_port))
    p.admin_port, p.http_port = admin_port, http_port
    return p


def client(p, **kw):
    return connect(p.port, user=MUX_USER, password=MUX_PW, **kw)


def sessions(p):
    """SHOW SESSIONS as dicts."""
    with connect(p.admin_port, user="admin", password="admin_pw") as c, c.cursor() as cur:
        cur.execute("SHOW SESSIONS")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


def explain_connection(c):
    """The connection column of PROXY EXPLAIN: whether the session keeps its connections."""
    with c.cursor() as cur:
        cur.execute("PROXY EXPLAIN SELECT 1")
        names = [d[0] for d in cur.description]
        return dict(zip(names, cur.fetchone()))["connection"]


def test_2000_clients_share_20_connections_per_backend(xproxy, mux_account, sandbox):
    """2,000 clients connected at once, each running a write and reads: no backend ever
    sees more than max_connections = 20 of them, and every statement succeeds."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4500:  # 2,000 client sockets here; the proxy raises its own limit
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    table = unique("t_mux")
    sandbox.sql("primary", f"CREATE TABLE test.{table} (id INT AUTO_INCREMENT PRIMARY KEY, "
                           "who INT NOT NULL)")
    replicas = ("replica1", "replica2")
    p = start(xproxy, max_connections=20, replicas=replicas)
    watches = {"primary": Watch(PRIMARY_PORT, MUX_USER)}
    watches.update({n: Watch(REPLICA_PORTS[n], MUX_USER) for n in replicas})
    clients = [client(p, database="test") for _ in range(2000)]
    try:
        def work(k):
            c = clients[k]
            with c.cursor() as cur:
                cur.execute(f"INSERT INTO {table} (who) VALUES (%s)", (k,))
                assert cur.lastrowid > 0
                cur.execute("SELECT @@port")
                port = cur.fetchone()[0]
                cur.execute("SELECT 1 + %s", (k,))
                assert cur.fetchone()[0] == 1 + k
            return port
        with ThreadPoolExecutor(max_workers=40) as pool:
            ports = list(pool.map(work, range(2000)))
    finally:
        for c in clients:
            c.close()
    most = {n: w.done() for n, w in watches.items()}
    assert all(m <= 20 for m in most.values()), f"connections seen on the servers: {most}"
    assert set(ports) <= set(REPLICA_PORTS[n] for n in replicas), set(ports)
    with connect(PRIMARY_PORT) as direct:
        assert scalar(direct, f"SELECT COUNT(DISTINCT who) FROM test.{table}") == 2000
    for row in (pool_row(p, n) for n in ("primary",) + replicas):
        assert int(row["wait_timeouts"]) == 0, row
    sandbox.sql("primary", f"DROP TABLE test.{table}")


def own_state(k):
    """What client k sets: distinct values a shared connection would mix up."""
    return {"v": f"client-{k}", "wait_timeout": 1000 + k,
            "charset": "latin1" if k % 2 else "utf8mb4",
            "db": "information_schema" if k % 3 == 0 else "test"}


def set_state(c, k):
    st = own_state(k)
    with c.cursor() as cur:
        cur.execute(f"SET @v = '{st['v']}'")
        cur.execute(f"SET SESSION wait_timeout = {st['wait_timeout']}")
        cur.execute(f"SET NAMES {st['charset']}")
        cur.execute(f"USE {st['db']}")


def read_state(c):
    with c.cursor() as cur:
        cur.execute("SELECT @v, @@SESSION.wait_timeout, @@character_set_client, DATABASE()")
        v, wt, cs, db = cur.fetchone()
    return {"v": v, "wait_timeout": wt, "charset": cs, "db": db}


def test_session_state_follows_each_client_between_connections(xproxy, mux_account):
    """12 clients on 2 connections, statements interleaved: each statement may run on a
    connection another client used last (reset, then the client's state replayed), yet every
    client always sees its own variables, character set and database."""
    p = start(xproxy, max_connections=2)
    clients = [client(p, database="test") for _ in range(12)]
    try:
        for k, c in enumerate(clients):
            set_state(c, k)
        moved = int(pool_row(p)["reuses"])
        for _ in range(5):
            for k, c in enumerate(clients):
                assert read_state(c) == own_state(k), f"client {k}"
        assert int(pool_row(p)["reuses"]) - moved >= 50, "clients did not move: nothing tested"
        assert int(pool_row(p)["connections"]) <= 2
    finally:
        for c in clients:
            c.close()


def test_a_connection_left_in_another_database_comes_back_to_the_login_one(xproxy,
                                                                         mux_account):
    """a's replica connection replayed its USE information_schema, then a went back to test
    on the primary only: b, who takes that connection, must be in its own login database,
    not where the connection happened to be."""
    p = start(xproxy, max_connections=1, replicas=("replica1",))
    a = client(p, database="test")
    try:
        execute(a, "USE information_schema")
        assert scalar(a, "SELECT DATABASE()") == "information_schema"  # on replica1
        execute(a, "USE test")  # on the primary; replica1's connection is still elsewhere
        with client(p, database="test") as b:
            for _ in range(3):
                assert scalar(b, "SELECT DATABASE()") == "test"
        assert scalar(a, "SELECT DATABASE()") == "test"
    finally:
        a.close()


class PsClient(RawClient):
    """Prepared statements by hand (classic EOF packets): prepare, execute with string
    parameters, rows of one string column."""

    def packets_until_eof(self):
        while True:
            _, body = read_raw_packet(self.sock)
            if body[0] == 0xFE and len(body) < 9:
                return

    def prepare(self, sql):
        send_packet(self.sock, 0, b"\x16" + sql.encode())
        _, body = read_raw_packet(self.sock)
        assert body[0] == 0x00, f"prepare failed: {body!r}"
        stmt_id, cols, params = struct.unpack("<IHH", body[1:9])
        if params:
            self.packets_until_eof()
        if cols:
            self.packets_until_eof()
        return stmt_id, params

    def execute(self, stmt_id, *params):
        """Rows (one string column each) of an execute; the ERR's code when it failed."""
        out = struct.pack("<IBI", stmt_id, 0, 1)
        out += bytes((len(params) + 7) // 8) + b"\x01" + b"\xfd\x00" * len(params)
        for v in params:
            out += bytes([len(v)]) + v.encode()
        send_packet(self.sock, 0, b"\x17" + out)
        _, body = read_raw_packet(self.sock)
        if body[0] == 0xFF:
            return err_code(body)
        self.packets_until_eof()  # column definitions
        rows = []
        while True:
            _, body = read_raw_packet(self.sock)
            if body[0] == 0xFE and len(body) < 9:
                return rows
            rows.append(body[3:3 + body[2]].decode())

    def query(self, sql):
        body = self.command(b"\x03" + sql.encode())
        assert body[0] == 0x00, f"{sql}: {body!r}"


def test_prepared_statements_follow_each_client_between_connections(xproxy, mux_account):
    """8 clients, each with its own prepared statement (its own text) and user variable, on 2
    connections: every execute runs the client's statement with its variable, prepared again
    wherever the client's statements land."""
    p = start(xproxy, max_connections=2)
    clients = [PsClient(p.port, MUX_USER, MUX_PW) for _ in range(8)]
    try:
        stmts = []
        for k, c in enumerate(clients):
            c.query(f"SET @v = 'var{k}'")
            stmts.append(c.prepare(f"SELECT CONCAT('stmt{k}:', ?, ':', @v)")[0])
        for rnd in range(5):
            for k, c in enumerate(clients):
                assert c.execute(stmts[k], f"r{rnd}") == [f"stmt{k}:r{rnd}:var{k}"]
        for k, c in enumerate(clients):
            send_packet(c.sock, 0, b"\x19" + struct.pack("<I", stmts[k]))  # COM_STMT_CLOSE
            assert c.execute(stmts[k], "x") == 1243  # unknown statement handler
    finally:
        for c in clients:
            c.close()


def test_a_transaction_keeps_its_connection_and_its_state_to_itself(xproxy, mux_account,
                                                                      sandbox):
    table = unique("t_mux")
    sandbox.sql("primary", f"CREATE TABLE test.{table} (id INT PRIMARY KEY)")
    p = start(xproxy, max_connections=2)
    a, b = client(p, database="test"), client(p, database="test")
    try:
        with a.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute(f"INSERT INTO {table} VALUES (1)")
            cur.execute("SET @mine = 'a'")
            a_conn = scalar(a, "SELECT CONNECTION_ID()")
        pinned = [s["pinned"] for s in sessions(p) if s["user"] == MUX_USER]
        assert "inside a transaction" in pinned, pinned
        assert metric_value(p.http_port,
                            'switchyard_sessions_pinned{reason="inside a transaction"}') == 1
        assert explain_connection(a) == "pinned: inside a transaction"
        assert explain_connection(b) == "shared: back to the pool after each statement"
        for _ in range(10):  # b never gets a's connection while a's transaction is open
            assert scalar(b, "SELECT CONNECTION_ID()") != a_conn
            assert scalar(b, "SELECT @mine") is None
            assert scalar(b, f"SELECT COUNT(*) FROM {table}") == 0
        assert scalar(a, "SELECT CONNECTION_ID()") == a_conn
        assert scalar(a, f"SELECT COUNT(*) FROM {table}") == 1
        with a.cursor() as cur:
            cur.execute("COMMIT")
        wait_for(lambda: scalar(b, f"SELECT COUNT(*) FROM {table}") == 1, timeout=30,
                 what="the committed row")
    finally:
        a.close()
        b.close()
    sandbox.sql("primary", f"DROP TABLE test.{table}")


def test_temporary_tables_and_locks_pin_the_session(xproxy, mux_account):
    """With one connection to share, a session holding a temporary table (or a named lock)
    keeps it: another client's statement waits and then gets ERR 1040, and gets through once
    the pin ends."""
    p = start(xproxy, max_connections=1, wait_ms=1000)
    a, b = client(p, database="test"), client(p, database="test")
    lock = unique("mux_lock")
    try:
        for pin, unpin in ((["CREATE TEMPORARY TABLE tmp_mux (x INT)"], "DROP TEMPORARY TABLE tmp_mux"),
                           ([f"SELECT GET_LOCK('{lock}', 0)"], f"SELECT RELEASE_LOCK('{lock}')")):
            with a.cursor() as cur:
                for sql in pin:
                    cur.execute(sql)
            with pytest.raises(pymysql.err.OperationalError) as e:
                scalar(b, "SELECT 1")
            assert e.value.args[0] == 1040, e.value.args
            with a.cursor() as cur:
                cur.execute(unpin)
            assert scalar(b, "SELECT 1") == 1
    finally:
        a.close()
        b.close()


def test_the_previous_statement_is_asked_about_where_it_ran(xproxy, mux_account, sandbox):
    """ROW_COUNT(), SHOW WARNINGS and LAST_INSERT_ID() after a write answer about that write,
    while other clients keep running in between."""
    table = unique("t_mux")
    sandbox.sql("primary", f"CREATE TABLE test.{table} (id INT AUTO_INCREMENT PRIMARY KEY, "
                           "v TINYINT)")
    p = start(xproxy, max_connections=3)
    a = client(p, database="test")
    others = [client(p, database="test") for _ in range(4)]
    try:
        def busy():
            for o in others:
                assert scalar(o, "SELECT 1") == 1
        with a.cursor() as cur:
            cur.execute(f"INSERT INTO {table} (v) VALUES (1), (2), (3)")
            first_id = cur.lastrowid
            busy()
            assert scalar(a, "SELECT ROW_COUNT()") == 3
            cur.execute(f"INSERT IGNORE INTO {table} (v) VALUES (1000)")  # out of range: warns
            busy()
            cur.execute("SHOW WARNINGS")
            assert [r[1] for r in cur.fetchall()] == [1264]
            busy()
            assert scalar(a, "SELECT LAST_INSERT_ID()") == first_id + 3
    finally:
        a.close()
        for o in others:
            o.close()
    sandbox.sql("primary", f"DROP TABLE test.{table}")


def test_a_full_pool_that_took_what_a_session_held_says_so(xproxy, mux_account, sandbox):
    """One connection for two clients: when the other client needs it, a's LAST_INSERT_ID()
    and ROW_COUNT() are gone with it, and a gets an ERR saying so instead of the answer of a
    connection that never ran its statements; a's next statements run as usual."""
    table = unique("t_mux")
    sandbox.sql("primary", f"CREATE TABLE test.{table} (id INT AUTO_INCREMENT PRIMARY KEY, "
                           "v INT)")
    p = start(xproxy, max_connections=1)
    a, b = client(p, database="test"), client(p, database="test")
    try:
        execute(a, f"INSERT INTO {table} (v) VALUES (1)")
        assert scalar(b, "SELECT 1") == 1  # takes the one connection, held for a
        with pytest.raises(pymysql.err.MySQLError) as e:
            scalar(a, "SELECT LAST_INSERT_ID()")
        assert e.value.args[0] == 1105 and "LAST_INSERT_ID()" in e.value.args[1], e.value.args
        assert execute(a, f"UPDATE {table} SET v = 2") == 1
        assert scalar(b, "SELECT 2") == 2
        with pytest.raises(pymysql.err.MySQLError) as e:
            scalar(a, "SELECT ROW_COUNT()")
        assert e.value.args[0] == 1105 and "row counts" in e.value.args[1], e.value.args
        assert scalar(a, f"SELECT v FROM {table}") == 2
    finally:
        a.close()
        b.close()
    sandbox.sql("primary", f"DROP TABLE test.{table}")


def test_multiplexing_off_keeps_each_clients_connections(xproxy, mux_account):
    p = start(xproxy, max_connections=0, multiplexing="off")
    clients = [client(p) for _ in range(4)]
    try:
        ids = [scalar(c, "SELECT CONNECTION_ID()") for c in clients]
        assert len(set(ids)) == 4
        assert explain_connection(clients[0]) == "kept (multiplexing = off)"
        for _ in range(3):
            assert [scalar(c, "SELECT CONNECTION_ID()") for c in clients] == ids
    finally:
        for c in clients:
            c.close()
