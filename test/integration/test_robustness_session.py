"""Robustness of one session against what clients do (issue 8): a stored
function that writes, called from a SELECT (replica connections are READ
ONLY; a read-only refusal is retried on the writer and remembered), KILL
CONNECTION of a session streaming a result, COM_CHANGE_USER and the per-user
max_connections, and COM_STMT_BULK_EXECUTE."""

import hashlib
import socket
import struct
import time

import pymysql
import pytest

from sy_helpers import (APP_PW, APP_USER, PRIMARY_PORT, REPLICA_PORTS, connect, free_port,
                        http_only_admin_section, metric_value, read_raw_packet, rows, scalar,
                        sync_replicas, unique, wait_for, xproxy)  # noqa: F401 - xproxy is a fixture

RETRIES = "switchyard_readonly_retries_total"
ADMIN_USER, ADMIN_PW = "sy_global", "sy_global_pw"


def start(xproxy, users=None, extra_text=""):
    """A proxy with an [admin] section (for /metrics); .http_port set."""
    admin_port, http_port = free_port(), free_port()
    p = xproxy(users=users, extra=http_only_admin_section(admin_port, http_port) + extra_text)
    p.http_port = http_port
    return p


# --------------------------------------------------------------------------- raw protocol

CLIENT_LONG_PASSWORD = 0x1
CLIENT_PROTOCOL_41 = 0x200
CLIENT_SECURE_CONNECTION = 0x8000
CLIENT_PLUGIN_AUTH = 0x80000
RAW_CAPS = CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH
MARIADB_CLIENT_STMT_BULK_OPERATIONS = 1 << 2  # of the extended capabilities


def send_packet(sock, seq, payload):
    sock.sendall(struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload)


def native_reply(password, scramble):
    h1 = hashlib.sha1(password.encode()).digest()
    h2 = hashlib.sha1(scramble + hashlib.sha1(h1).digest()).digest()
    return bytes(a ^ b for a, b in zip(h1, h2))


def parse_greeting(payload):
    """(connection id, 20-byte scramble, capabilities, MariaDB extended capabilities)."""
    pos = payload.index(b"\0", 1) + 1
    conn_id = struct.unpack("<I", payload[pos:pos + 4])[0]
    part1 = payload[pos + 4:pos + 12]
    pos += 12 + 1  # scramble part 1, filler
    caps_lo = struct.unpack("<H", payload[pos:pos + 2])[0]
    caps_hi = struct.unpack("<H", payload[pos + 5:pos + 7])[0]
    pos += 2 + 1 + 2 + 2 + 1  # caps, charset, status, caps, auth data length
    ext_caps = struct.unpack("<I", payload[pos + 6:pos + 10])[0]
    pos += 10
    return conn_id, part1 + payload[pos:pos + 12], caps_lo | caps_hi << 16, ext_caps


class RawClient:
    """A client speaking the protocol by hand: login, COM_CHANGE_USER, any command."""

    def __init__(self, port, user, password):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        _, greeting = read_raw_packet(self.sock)
        self.conn_id, self.scramble, self.caps, self.ext_caps = parse_greeting(greeting)
        reply = native_reply(password, self.scramble)
        send_packet(self.sock, 1, struct.pack("<IIB", RAW_CAPS, 1 << 24, 45) + b"\0" * 23
                    + user.encode() + b"\0" + bytes([len(reply)]) + reply
                    + b"mysql_native_password\0")
        _, body = read_raw_packet(self.sock)
        assert body[0] == 0x00, f"login as {user} failed: {body!r}"

    def command(self, payload):
        """Send one command (seq 0); the first packet of the answer."""
        send_packet(self.sock, 0, payload)
        return read_raw_packet(self.sock)[1]

    def change_user(self, user, password):
        reply = native_reply(password, self.scramble)
        return self.command(b"\x11" + user.encode() + b"\0" + bytes([len(reply)]) + reply
                            + b"\0" + struct.pack("<H", 45) + b"mysql_native_password\0")

    def close(self):
        self.sock.close()


def err_code(body):
    assert body[0] == 0xFF, f"expected an ERR, got {body!r}"
    return struct.unpack("<H", body[1:3])[0]


# --------------------------------------------------------------------------- item 9

@pytest.fixture
def global_account(sandbox):
    """An account with ALL ON *.* (READ_ONLY ADMIN included: read_only does not stop it), a
    table, and a stored function that inserts into it the server_id it runs on."""
    table, fn = unique("t_ro"), unique("f_ins")
    sandbox.sql("primary", f"CREATE USER IF NOT EXISTS {ADMIN_USER}@'%' IDENTIFIED BY '{ADMIN_PW}';"
                           f" GRANT ALL ON *.* TO {ADMIN_USER}@'%';"
                           f" CREATE TABLE test.{table} (id INT AUTO_INCREMENT PRIMARY KEY,"
                           f" v VARCHAR(64), server_id INT)")
    sandbox.sql("primary", f"DELIMITER //\nCREATE FUNCTION test.{fn}(x VARCHAR(64)) RETURNS INT DETERMINISTIC MODIFIES SQL DATA"
                           f" BEGIN INSERT INTO test.{table} (v, server_id) VALUES (x, @@server_id);"
                           f" RETURN 7; END//")
    sync_replicas(sandbox)
    yield table, fn
    sandbox.sql("primary", f"DROP FUNCTION IF EXISTS test.{fn}; DROP TABLE IF EXISTS test.{table}")
    sync_replicas(sandbox)


def server_ids(sandbox, name, table):
    return sorted(int(r[0]) for r in sandbox.sql(name, f"SELECT server_id FROM test.{table}"))


def test_function_that_writes_runs_on_the_primary(xproxy, sandbox, global_account):
    table, fn = global_account
    p = start(xproxy, users={APP_USER: APP_PW, ADMIN_USER: ADMIN_PW})
    primary_id = int(sandbox.sql("primary", "SELECT @@server_id")[0][0])
    with connect(p.port, user=ADMIN_USER, password=ADMIN_PW) as c:
        assert scalar(c, "SELECT @@port") in REPLICA_PORTS.values()  # reads do reach replicas
        assert scalar(c, f"SELECT test.{fn}('first')") == 7
        wait_for(lambda: metric_value(p.http_port, RETRIES) == 1, 10, what="one retry counted")
        # the same shape goes to the primary at once: no second refusal
        assert scalar(c, f"SELECT test.{fn}( 'second' )") == 7
        explain = rows(c, f"PROXY EXPLAIN SELECT test.{fn}('third')")
        assert "remembered: refused as read-only by a replica" in str(explain), explain
        # the client never sees the proxy's READ ONLY, and cannot undo it
        assert scalar(c, "SELECT @@tx_read_only") == 0  # transaction_read_only: MariaDB 11.1 on
        with c.cursor() as cur:
            cur.execute("SET SESSION TRANSACTION READ WRITE")
        assert scalar(c, f"SELECT 1 + test.{fn}('after read write')") == 8
        wait_for(lambda: metric_value(p.http_port, RETRIES) == 2, 10, what="the new shape retried")
        assert scalar(c, "SELECT @@port") in REPLICA_PORTS.values()
    assert metric_value(p.http_port, RETRIES) == 2
    assert server_ids(sandbox, "primary", table) == [primary_id] * 3
    sync_replicas(sandbox)
    for name in REPLICA_PORTS:  # only what replication brought: nothing written there
        assert server_ids(sandbox, name, table) == [primary_id] * 3, name


def test_readonly_refusal_inside_a_transaction_is_not_retried(xproxy, sandbox, global_account):
    table, fn = global_account
    p = start(xproxy, users={APP_USER: APP_PW, ADMIN_USER: ADMIN_PW})
    with connect(p.port, user=ADMIN_USER, password=ADMIN_PW) as c:
        with c.cursor() as cur:
            cur.execute("START TRANSACTION READ ONLY")
            assert scalar(c, "SELECT @@port") in REPLICA_PORTS.values()
            with pytest.raises(pymysql.err.MySQLError) as e:
                cur.execute(f"SELECT test.{fn}('in trx')")
            assert e.value.args[0] == 1792, e.value.args
            cur.execute("ROLLBACK")
    assert metric_value(p.http_port, RETRIES) == 0
    assert server_ids(sandbox, "primary", table) == []


# --------------------------------------------------------------------------- item 11

def test_kill_connection_of_a_streaming_session(xproxy, sandbox):
    p = start(xproxy)
    marker = unique("stream")
    victim = RawClient(p.port, APP_USER, APP_PW)
    # a result far bigger than the socket buffers, of which the client reads one packet
    first = victim.command(f"\x03SELECT '{marker}', REPEAT('x', 4000)"
                           " FROM test.seq_1_to_5000000".encode())
    assert first[0] not in (0x00, 0xFF), first

    def running():
        n = 0
        for name in ("primary", *REPLICA_PORTS):
            n += int(sandbox.sql(name, "SELECT COUNT(*) FROM information_schema.PROCESSLIST"
                                       f" WHERE INFO LIKE '%{marker}%seq_1_to%'"
                                       " AND INFO NOT LIKE '%PROCESSLIST%'")[0][0])
        return n

    wait_for(lambda: running() == 1, 20, what="the streaming statement on a backend")
    with p.connect() as killer:
        with killer.cursor() as kc:
            kc.execute(f"KILL CONNECTION {victim.conn_id}")  # OK, as the server answers
        assert scalar(killer, "SELECT 1") == 1

    def victim_closed(seconds=120):
        """Read what is left until the proxy closes (True), or give up after seconds."""
        deadline = time.monotonic() + seconds
        victim.sock.settimeout(5)
        while time.monotonic() < deadline:
            try:
                if not victim.sock.recv(1 << 20):
                    return True
            except ConnectionResetError:
                return True
            except socket.timeout:
                pass
        return False

    assert victim_closed(), "the killed session's connection is still open"
    wait_for(lambda: running() == 0, 30, what="the killed statement to stop on the backend")
    victim.close()


# --------------------------------------------------------------------------- item 13

@pytest.fixture
def other_account(sandbox):
    sandbox.sql("primary", "CREATE USER IF NOT EXISTS sy_other@'%' IDENTIFIED BY 'sy_other_pw';"
                           " GRANT ALL ON test.* TO sy_other@'%'")
    sync_replicas(sandbox)
    yield "sy_other", "sy_other_pw"


def test_change_user_respects_user_max_connections(xproxy, other_account):
    ouser, opw = other_account
    p = start(xproxy, users={ouser: opw},
              extra_text=f"[user.{APP_USER}]\npassword = {APP_PW}\nmax_connections = 1\n")
    clients = [RawClient(p.port, ouser, opw) for _ in range(3)]
    try:
        first = clients[0].change_user(APP_USER, APP_PW)
        assert first[0] == 0x00, first
        for c in clients[1:]:  # app already has its one connection
            assert err_code(c.change_user(APP_USER, APP_PW)) == 1203
        with pytest.raises(pymysql.err.MySQLError) as e:
            connect(p.port).close()
        assert e.value.args[0] == 1203, e.value.args
        # changing to the account it already has does not count the session twice
        again = clients[0].change_user(APP_USER, APP_PW)
        assert again[0] == 0x00, again
        answer = clients[0].command(b"\x03SELECT 1")
        assert answer[0] not in (0x00, 0xFF), answer  # a result set
    finally:
        for c in clients:
            c.close()


# --------------------------------------------------------------------------- item 16

def test_stmt_bulk_execute_without_negotiating_it_is_refused_clearly(xproxy):
    """The greeting offers bulk operations (a MariaDB-style greeting); a client that did not
    ask for them gets ERR 1295 for a bulk execute, as from MariaDB."""
    p = start(xproxy)
    c = RawClient(p.port, APP_USER, APP_PW)
    try:
        assert c.ext_caps & MARIADB_CLIENT_STMT_BULK_OPERATIONS
        assert not c.caps & CLIENT_LONG_PASSWORD  # MariaDB's greeting clears CLIENT_MYSQL
        prepared = c.command(b"\x16SELECT ?")
        assert prepared[0] == 0x00, prepared
        stmt_id = struct.unpack("<I", prepared[1:5])[0]
        columns, params = struct.unpack("<HH", prepared[5:9])
        for n in (params, columns):  # their definitions, each list closed by an EOF
            for _ in range(n + 1 if n else 0):
                read_raw_packet(c.sock)
        # bulk: statement id, flags (send types), then one type and one row
        answer = c.command(b"\xfa" + struct.pack("<IH", stmt_id, 128) + b"\x08\x00"
                           + b"\x00" + struct.pack("<q", 5))
        assert err_code(answer) == 1295, answer
        assert b"COM_STMT_BULK_EXECUTE" in answer and b"once per row" in answer, answer
        assert c.command(b"\x03SELECT 1")[0] == 0x01  # the session goes on
    finally:
        c.close()


def test_kill_connection_closes_the_victim_before_answering(sy):
    """As on the server, once KILL CONNECTION is answered the victim's connection is already
    closed: a client with auto-reconnect sees it at once and reconnects, rather than send its
    next command into a session that closes under it (mysql_client_test test_bug17512527)."""
    for _ in range(20):
        with connect(sy.port) as victim, connect(sy.port) as killer:
            victim.ping()
            with killer.cursor() as kc:
                kc.execute(f"KILL CONNECTION {victim.thread_id()}")
            sock = victim._sock
            sock.setblocking(False)
            try:
                got = sock.recv(1)
            except BlockingIOError:
                got = None
            assert got == b"", f"the victim's socket is still open after KILL was answered: {got!r}"
