"""Protocol-level behaviour: authentication, the CLI, error pass-through, hostile clients,
packets over 16 MiB, multiple result sets."""

import os
import socket
import struct
import subprocess
import time

import pymysql
import pymysql.cursors
import pytest

from sy_helpers import (APP_PW, APP_USER, PRIMARY_PORT, REPLICA_PORT_SET, REPLICA_PORTS, connect,
                        one, scalar, unique, wait_for, xproxy)  # noqa: F401  (xproxy is a fixture)


# --------------------------------------------------------------------------- auth

@pytest.mark.parametrize("user, password", [("app", "wrong_pw"), ("app", ""), ("nobody", "app_pw")])
def test_bad_credentials_rejected_with_1045(sy, user, password):
    with pytest.raises(pymysql.err.OperationalError) as ei:
        connect(sy.port, user=user, password=password)
    assert ei.value.args[0] == 1045, ei.value.args
    # The proxy keeps serving.
    with sy.connect() as c:
        assert scalar(c, "SELECT 1") == 1


# --------------------------------------------------------------------------- CLI

def cli(port, sql, *extra):
    return subprocess.run(
        ["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{port}", "-uapp", "-papp_pw", "-N", *extra,
         "-e", sql],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)


def test_mariadb_cli_batch_mode(sy, sandbox):
    for _ in range(2):
        p = cli(sy.port, "SELECT @@port")
        assert p.returncode == 0, p.stderr
        assert int(p.stdout.strip()) in REPLICA_PORT_SET, p.stdout

    tag = unique()
    p = cli(sy.port, f"INSERT INTO test.t_where (port, tag) VALUES (@@port, '{tag}')")
    assert p.returncode == 0, p.stderr
    assert sandbox.sql("primary", f"SELECT port FROM test.t_where WHERE tag='{tag}'") == [["3310"]]

    def count():
        p = cli(sy.port, f"SELECT COUNT(*) FROM test.t_where WHERE tag='{tag}'")
        assert p.returncode == 0, p.stderr
        return p.stdout.strip() == "1"

    wait_for(count, 10, interval=0.1, what="the CLI-inserted row to be read back through the proxy")

    # Several statements in one -e run one by one on their right backends.
    p = cli(sy.port, "SELECT @@port; BEGIN; SELECT @@port; COMMIT; SELECT @@port")
    assert p.returncode == 0, p.stderr
    ports = [int(x) for x in p.stdout.split()]
    assert len(ports) == 3 and ports[1] == PRIMARY_PORT, ports
    assert ports[0] in REPLICA_PORT_SET and ports[2] in REPLICA_PORT_SET, ports


def test_mariadb_cli_wrong_password(sy):
    p = subprocess.run(["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{sy.port}", "-uapp", "-pnope",
                        "-e", "SELECT 1"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=30)
    assert p.returncode != 0
    assert "1045" in p.stderr, p.stderr


# --------------------------------------------------------------------------- errors

def test_syntax_error_passes_through(sy):
    with sy.connect() as c:
        for _ in range(3):
            with pytest.raises(pymysql.err.ProgrammingError) as ei:
                scalar(c, "SELEC 1")
            assert ei.value.args[0] == 1064, ei.value.args
            assert scalar(c, "SELECT 41 + 1") == 42
            assert scalar(c, "SELECT @@port") in REPLICA_PORT_SET


def test_missing_table_passes_through(sy):
    with sy.connect() as c:
        for _ in range(3):  # on both replicas
            with pytest.raises(pymysql.err.ProgrammingError) as ei:
                scalar(c, "SELECT * FROM test.no_such_table_xyz")
            assert ei.value.args[0] == 1146, ei.value.args
            assert "no_such_table_xyz" in ei.value.args[1]
        assert scalar(c, "SELECT 1") == 1
        # Errors from the primary too.
        with pytest.raises(pymysql.MySQLError) as ei:
            with c.cursor() as cur:
                cur.execute("INSERT INTO test.no_such_table_xyz VALUES (1)")
        assert ei.value.args[0] == 1146, ei.value.args
        assert scalar(c, "SELECT 1") == 1


def test_error_inside_transaction_keeps_transaction(sy, sandbox):
    tag = unique()
    with sy.connect() as c:
        c.begin()
        with c.cursor() as cur:
            cur.execute("INSERT INTO test.t_where (port, tag) VALUES (@@port, %s)", (tag,))
            with pytest.raises(pymysql.MySQLError):
                cur.execute("SELEC 1")
            # Still inside the transaction: on the primary, and sees its own row.
            assert scalar(c, "SELECT @@port") == PRIMARY_PORT
            assert scalar(c, "SELECT COUNT(*) FROM test.t_where WHERE tag=%s", (tag,)) == 1
        c.rollback()
    assert sandbox.sql("primary", f"SELECT COUNT(*) FROM test.t_where WHERE tag='{tag}'") == [["0"]]


# --------------------------------------------------------------------------- hostile clients

def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def read_packet(s):
    hdr = recv_exact(s, 4)
    length = hdr[0] | hdr[1] << 8 | hdr[2] << 16
    return hdr[3], recv_exact(s, length)


def packet(seq, payload):
    return struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload


def raw_connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    seq, greeting = read_packet(s)
    assert seq == 0 and greeting[0] in (10, 0xFF), greeting[:16]
    return s


def reply_or_close(s, timeout=5):
    """The proxy must answer (ERR) or close; a silent hang fails."""
    s.settimeout(timeout)
    try:
        data = s.recv(65536)
    except ConnectionResetError:
        return b""
    except socket.timeout:
        pytest.fail(f"proxy neither answered nor closed within {timeout}s")
    return data


def assert_still_serving(sy):
    assert sy.alive(), f"switchyard died:\n{sy.log_tail()}"
    with sy.connect() as c:
        assert scalar(c, "SELECT @@port") in REPLICA_PORT_SET
        assert scalar(c, "SELECT 1") == 1


def test_connect_and_close_immediately(sy):
    for _ in range(50):
        s = socket.create_connection(("127.0.0.1", sy.port), timeout=5)
        s.close()
    for _ in range(20):  # with an RST instead of a FIN
        s = socket.create_connection(("127.0.0.1", sy.port), timeout=5)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    assert_still_serving(sy)


def test_garbage_after_greeting(sy):
    rnd = os.urandom(4096)
    # Unframed random bytes.
    s = raw_connect(sy.port)
    s.sendall(rnd)
    s.close()
    # A well-framed handshake response full of garbage: must get an ERR or a close.
    for payload in (rnd[:200], b"\x00" * 40, b"\xff" * 5, b"\x0d\xa2\x00\x00" + b"\xff" * 60):
        s = raw_connect(sy.port)
        s.sendall(packet(1, payload))
        data = reply_or_close(s)
        if data:
            assert data[4] == 0xFF, f"expected an ERR packet or a close, got {data[:32]!r}"
        s.close()
    # A zero-length packet and a wrong sequence number.
    for raw in (packet(1, b""), packet(7, b"\x00" * 40)):
        s = raw_connect(sy.port)
        s.sendall(raw)
        reply_or_close(s)
        s.close()
    assert_still_serving(sy)


def test_disconnect_mid_packet_before_auth(sy):
    for cut in (1, 3, 4, 20):
        s = raw_connect(sy.port)
        s.sendall(packet(1, b"\x00" * 100)[:cut])
        s.close()
    # A header announcing a huge packet, then nothing more.
    s = raw_connect(sy.port)
    s.sendall(b"\xff\xff\xff\x01" + b"\x00" * 10)
    s.close()
    assert_still_serving(sy)


def test_disconnect_mid_packet_after_auth(sy):
    c = sy.connect()
    assert scalar(c, "SELECT 1") == 1
    sock = c._sock
    sock.sendall(packet(0, b"\x03SELECT " + b"1" * 500)[:200])  # COM_QUERY cut short
    sock.close()
    assert_still_serving(sy)


def test_unknown_command_after_auth(sy):
    c = sy.connect()
    assert scalar(c, "SELECT 1") == 1
    sock = c._sock
    sock.sendall(packet(0, b"\x99garbage"))
    data = reply_or_close(sock)
    if data:
        assert data[4] == 0xFF, f"expected an ERR packet or a close, got {data[:32]!r}"
    sock.close()
    assert_still_serving(sy)


def test_client_disconnects_while_result_streams(sy):
    for route in ("", "BEGIN"):  # from a replica, then from the primary
        c = sy.connect(cursorclass=pymysql.cursors.SSCursor)
        cur = c.cursor()  # no context manager: closing an SSCursor would drain the result
        if route:
            cur.execute(route)
        cur.execute("SELECT seq, REPEAT('x', 200) FROM test.seq_1_to_300000")
        for _ in range(10):
            assert cur.fetchone() is not None
        c._sock.close()
        # Make pymysql forget the half-read result so its destructors stay quiet.
        cur._result = c._result = None
        c._sock = c._rfile = None
    assert_still_serving(sy)


# --------------------------------------------------------------------------- big packets

def test_20mib_round_trip(sy, sandbox):
    sandbox.sql("primary", "CREATE TABLE IF NOT EXISTS test.big "
                           "(id INT AUTO_INCREMENT PRIMARY KEY, tag VARCHAR(64), b LONGBLOB)")
    size = 20 * 1024 * 1024
    pattern = "".join(chr(ord("a") + i % 26) for i in range(4093))  # prime length: no alignment luck
    payload = (pattern * (size // len(pattern) + 1))[:size]
    tag = unique()
    try:
        with sy.connect() as c:
            with c.cursor() as cur:
                # > 16 MiB client -> proxy -> primary (split into two packets).
                assert cur.execute("INSERT INTO test.big (tag, b) VALUES (%s, %s)", (tag, payload)) == 1
            assert sandbox.sql("primary", f"SELECT LENGTH(b) FROM test.big WHERE tag='{tag}'") == [[str(size)]]

            # > 16 MiB server -> proxy -> client, from a replica. Applying 20 MiB
            # may take a loaded machine longer than the causal-read wait (the
            # read would then rightly go to the primary): let both replicas
            # have the row first.
            for name in REPLICA_PORTS:
                wait_for(lambda: sandbox.sql(name, f"SELECT LENGTH(b) FROM test.big WHERE tag='{tag}'")
                         == [[str(size)]], 120, interval=0.2, what=f"the 20 MiB row on {name}")
            row = one(c, "SELECT b, @@port FROM test.big WHERE tag=%s", (tag,))
            assert row[1] in REPLICA_PORT_SET
            assert len(row[0]) == size and row[0] == payload.encode()
            # ... and from the primary.
            c.begin()
            row = one(c, "SELECT b, @@port FROM test.big WHERE tag=%s", (tag,))
            c.commit()
            assert row[1] == PRIMARY_PORT
            assert row[0] == payload.encode()
            # A result row built by the server, longer than one packet, with other columns around it.
            row = one(c, "SELECT 1, REPEAT('z', 17000000), 2")
            assert row[0] == 1 and row[2] == 2 and len(row[1]) == 17000000
            # The connection is fine afterwards.
            assert scalar(c, "SELECT @@port") in REPLICA_PORT_SET
    finally:
        sandbox.sql("primary", f"DELETE FROM test.big WHERE tag='{tag}'")


# --------------------------------------------------------------------------- multiple results

PROC = """DELIMITER //
CREATE PROCEDURE IF NOT EXISTS test.two_results()
BEGIN
  SELECT 1 AS a, @@port AS p;
  SELECT 2 AS b, 'second' AS c UNION ALL SELECT 3, 'third';
END //
DELIMITER ;
"""


def all_results(cur):
    results = [cur.fetchall()]
    while cur.nextset():
        results.append(cur.fetchall())
    return results


def test_call_with_two_result_sets(sy, sandbox):
    sandbox.sql("primary", PROC)
    with sy.connect() as c:
        for _ in range(2):
            with c.cursor() as cur:
                cur.execute("CALL test.two_results()")
                results = all_results(cur)
            assert results[0] == ((1, PRIMARY_PORT),), results
            assert results[1] == ((2, "second"), (3, "third")), results
            # Only the final OK may follow.
            assert all(r == () for r in results[2:]), results
        # The session is not stuck in "more results": reads are answered, on the
        # primary, since a procedure may have set state the proxy cannot see.
        assert {scalar(c, "SELECT @@port") for _ in range(4)} == {PRIMARY_PORT}


def test_multi_statement_with_write_goes_to_primary(sy, sandbox):
    tag = unique()
    with sy.connect(client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS) as c:
        with c.cursor() as cur:
            cur.execute(f"INSERT INTO test.t_where (port, tag) VALUES (@@port, '{tag}'); SELECT @@port")
            results = all_results(cur)
        assert results[1] == ((PRIMARY_PORT,),), results
        with c.cursor() as cur:
            cur.execute("SELECT 1; SELECT 2")
            results = all_results(cur)
        assert results[:2] == [((1,),), ((2,),)], results
        assert scalar(c, "SELECT 1") == 1
    assert sandbox.sql("primary", f"SELECT port FROM test.t_where WHERE tag='{tag}'") == [["3310"]]


def test_backend_refuses_login_session_goes_on(xproxy):
    """An account the proxy accepts but the servers do not know: the proxy's
    login succeeds, the first statement gets the backend's own denial (not a
    hang or a dropped connection), and the next statement gets it again."""
    sy = xproxy(users={APP_USER: APP_PW, "ghost": "ghost_pw"})
    with pymysql.connect(host="127.0.0.1", port=sy.port, user="ghost", password="ghost_pw",
                         autocommit=True, connect_timeout=5, read_timeout=10) as c:
        for sql in ("SELECT 1", "INSERT INTO test.t_where (port, tag) VALUES (1, 'ghost')"):
            with pytest.raises(pymysql.err.OperationalError) as e:
                with c.cursor() as cur:
                    cur.execute(sql)
            # For an unknown account MariaDB pretends to run some plugin, chosen
            # per server start: the denial comes as 1045 or 1698.
            assert e.value.args[0] in (1045, 1698), e.value.args
            assert "ghost" in e.value.args[1]
        c.ping(reconnect=False)  # answered by the proxy: the session is still alive
