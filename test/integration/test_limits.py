"""Limits on what one client can make the proxy hold: [proxy] connect_timeout (a login
that never ends), [proxy] max_allowed_packet (ERR 1153 before buffering a huge command),
and back-pressure on a LOAD DATA LOCAL file while the backend is slow."""

import os
import select
import socket
import struct
import threading
import time

import pymysql
import pytest

from sy_helpers import (APP_USER, PRIMARY_PORT, connect, free_port, http_only_admin_section,
                        metric_value, read_raw_packet, scalar, unique, wait_for,
                        xproxy)  # noqa: F401 - xproxy is a fixture

LOGIN_TIMEOUTS = "switchyard_login_timeouts_total"
OPEN = "switchyard_client_connections"
ER_NET_PACKET_TOO_LARGE = 1153
ER_CON_COUNT_ERROR = 1040


def start(xproxy, proxy_keys=None, wait_replicas=True):
    """A proxy with [proxy] keys and an [admin] section (for /metrics); .http_port set."""
    admin_port, http_port = free_port(), free_port()
    p = xproxy(keys={"proxy": proxy_keys or {}},
               extra=http_only_admin_section(admin_port, http_port), wait_replicas=wait_replicas)
    p.http_port = http_port
    return p


def greeted_socket(port):
    """A raw connection that has read the proxy's greeting and sends nothing."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    _, payload = read_raw_packet(s)
    assert payload[0] == 10, f"expected a handshake, got {payload[:16]!r}"
    return s


def closed_by_peer(sock, timeout):
    """True once the peer closed sock (EOF or reset) within timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([sock], [], [], 0.5)
        if not r:
            continue
        try:
            if sock.recv(4096) == b"":
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/PID/status")


# --------------------------------------------------------------------------- connect_timeout

def test_silent_and_trickled_logins_are_closed(xproxy):
    p = start(xproxy, {"connect_timeout": 2})
    silent = greeted_socket(p.port)
    trickle = greeted_socket(p.port)
    stop = threading.Event()

    def send_slowly():
        # A handshake response announcing 64 bytes, one byte a second: it would take
        # more than a minute to finish.
        data = struct.pack("<I", 64)[:3] + b"\x01" + b"\x00" * 64
        for b in data:
            if stop.is_set():
                return
            try:
                trickle.send(bytes([b]))
            except OSError:
                return
            stop.wait(1)

    t = threading.Thread(target=send_slowly, daemon=True)
    t.start()
    try:
        assert closed_by_peer(silent, 30), "a silent connection was not closed"
        assert closed_by_peer(trickle, 30), "a handshake sent a byte a second was not closed"
    finally:
        stop.set()
        t.join(10)
        silent.close()
        trickle.close()
    wait_for(lambda: metric_value(p.http_port, LOGIN_TIMEOUTS) == 2, 10,
             what=lambda: f"{LOGIN_TIMEOUTS} == 2 (now {metric_value(p.http_port, LOGIN_TIMEOUTS)})")
    assert p.log_text().count("no login within connect_timeout = 2 s") == 2, p.log_tail()
    with p.connect() as c:  # a real client logs in well within the limit
        assert scalar(c, "SELECT 1") == 1


def test_silent_sockets_do_not_lock_out_real_clients(xproxy):
    p = start(xproxy, {"connect_timeout": 2, "max_connections": 20})
    wait_for(lambda: metric_value(p.http_port, OPEN) == 0, 10, what=f"{OPEN} == 0")
    socks = [greeted_socket(p.port) for _ in range(20)]
    try:
        with pytest.raises(pymysql.err.OperationalError) as e:
            p.connect().close()
        assert e.value.args[0] == ER_CON_COUNT_ERROR

        def real_client_gets_in():
            try:
                with p.connect() as c:
                    return scalar(c, "SELECT 1") == 1
            except pymysql.err.OperationalError as err:
                assert err.args[0] == ER_CON_COUNT_ERROR, err
                return False

        wait_for(real_client_gets_in, 30, interval=0.5,
                 what="a real client to get in once the silent sockets are dropped")
        for s in socks:
            assert closed_by_peer(s, 30)
    finally:
        for s in socks:
            s.close()
    assert metric_value(p.http_port, LOGIN_TIMEOUTS) == 20


# --------------------------------------------------------------------------- max_allowed_packet

def refused_at_once(conn, first_chunks, trickle_deadline=30):
    """Send first_chunks (raw bytes of a command's start, ending where the proxy can tell it
    is too large: more would be unread at the close, which then resets the connection and may
    lose the ERR), then a byte every half second until the proxy answers; the (seq, payload)
    of its answer."""
    sock = conn._sock
    sock.sendall(first_chunks)
    deadline = time.monotonic() + trickle_deadline
    while time.monotonic() < deadline:
        r, _, _ = select.select([sock], [], [], 0.5)
        if r:
            return read_raw_packet(sock)
        try:
            sock.send(b"x")
        except OSError:
            pass
    raise AssertionError(f"no answer within {trickle_deadline} s to a too large command")


def expect_packet_too_large(payload):
    assert payload[0] == 0xFF, f"expected ERR, got {payload[:16]!r}"
    code = struct.unpack("<H", payload[1:3])[0]
    assert code == ER_NET_PACKET_TOO_LARGE, payload
    assert payload[3:9] == b"#08S01", payload
    assert b"max_allowed_packet" in payload


def test_too_large_command_is_refused_without_being_read(xproxy):
    p = start(xproxy, {"max_allowed_packet": "8M"})
    conn = p.connect()
    rss_before = rss_kib(p.proc.pid)
    # The first 16 MiB - 1 chunk of a 70 MiB COM_QUERY: more than 8M already.
    head = b"\xff\xff\xff\x00" + b"\x03SELECT '" + b"a" * 1000
    seq, payload = refused_at_once(conn, head)
    expect_packet_too_large(payload)
    assert closed_by_peer(conn._sock, 30), "the proxy kept the connection open after 1153"
    assert rss_kib(p.proc.pid) - rss_before < 16 * 1024, "the proxy buffered the command"
    assert "larger than max_allowed_packet = 8388608" in p.log_text()
    conn._sock.close()


def test_split_command_refused_when_a_later_chunk_goes_over(xproxy):
    p = start(xproxy, {"max_allowed_packet": "20M"})
    conn = p.connect()
    full = 0xFFFFFF
    first = b"\xff\xff\xff\x00" + b"\x03SELECT '" + b"a" * (full - 9)
    second = struct.pack("<I", 8 << 20)[:3] + b"\x01"
    seq, payload = refused_at_once(conn, first + second)
    expect_packet_too_large(payload)
    conn._sock.close()


def test_command_under_max_allowed_packet_runs(xproxy):
    p = start(xproxy)  # default 64M, like the sandbox servers
    n = 60 << 20
    with p.connect(max_allowed_packet=128 << 20) as c:
        assert scalar(c, "SELECT LENGTH('" + "a" * n + "')") == n
        assert scalar(c, "SELECT 1") == 1


# --------------------------------------------------------------------------- LOAD DATA LOCAL

FILE_BYTES = 128 << 20
ROW = b"," + b"p" * 1000 + b"\n"


def test_load_data_local_waits_for_a_slow_backend(xproxy, tmp_path):
    """The primary stops reading the file (its first row waits for a row lock held by another
    connection): the proxy must stop reading the client too, so the client can only push a
    bounded amount, far less than the file. Nothing is stored (the first row then is a
    duplicate, the others fail a CHECK: LOAD DATA LOCAL skips both with a warning), so
    the replicas get no rows."""
    p = start(xproxy)
    table = unique("infile")
    fifo = tmp_path / "data.fifo"
    os.mkfifo(fifo)
    with p.connect() as c:
        c.cursor().execute(
            f"CREATE TABLE test.{table} (id INT PRIMARY KEY, pad TEXT, CHECK (id <= 1))")
    blocker = connect(PRIMARY_PORT, autocommit=False)
    loader = p.connect(local_infile=True, read_timeout=120, write_timeout=120)
    written = [0]
    result = {}

    def write_file():
        with open(fifo, "wb") as f:  # opens once the client reads the file
            i = 1
            while written[0] < FILE_BYTES:
                chunk = b"".join(str(i + k).encode() + ROW for k in range(1000))
                i += 1000
                f.write(chunk)
                written[0] += len(chunk)

    def load():
        try:
            loader.cursor().execute(
                f"LOAD DATA LOCAL INFILE '{fifo}' INTO TABLE test.{table} FIELDS TERMINATED BY ','")
            result["ok"] = True
        except pymysql.err.MySQLError as e:
            result["error"] = e

    writer = threading.Thread(target=write_file, daemon=True)
    runner = threading.Thread(target=load, daemon=True)
    try:
        blocker.cursor().execute(f"INSERT INTO test.{table} VALUES (1, 'held')")
        writer.start()
        runner.start()
        # Wait until the client's writes stall (or the whole file went through).
        last, still_since = -1, time.monotonic()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and written[0] < FILE_BYTES:
            if written[0] != last:
                last, still_since = written[0], time.monotonic()
            elif written[0] > 0 and time.monotonic() - still_since > 3:
                break
            time.sleep(0.2)
        pushed = written[0]
        blocker.commit()  # the load goes on, and takes the rest of the file
        writer.join(120)
        runner.join(120)
        assert not runner.is_alive(), "LOAD DATA did not end once the row lock was released"
    finally:
        blocker.close()
    assert pushed < FILE_BYTES // 2, (
        f"the client pushed {pushed >> 20} MiB of a {FILE_BYTES >> 20} MiB file while the "
        "backend read nothing: the proxy kept reading it")
    assert written[0] >= FILE_BYTES
    assert result == {"ok": True}, result
    assert scalar(loader, f"/* route=primary */ SELECT COUNT(*) FROM test.{table}") == 1  # the blocker's row
    loader.close()
    with p.connect() as c:
        c.cursor().execute(f"DROP TABLE test.{table}")


# --------------------------------------------------------------------------- streamed statements


class PeakRss:
    """Samples the proxy's VmRSS in a thread while a block runs; .growth_kib is the peak over
    the value at the start."""

    def __init__(self, pid):
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def __enter__(self):
        self.start = self.peak = rss_kib(self.pid)
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()
        return self

    def sample(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.01)

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(10)
        self.peak = max(self.peak, rss_kib(self.pid))
        self.growth_kib = self.peak - self.start


STREAMED_BOUND_KIB = 24 * 1024  # a 40 MiB statement held whole costs 80 MiB and more


def test_large_insert_is_streamed_to_the_primary_not_held(xproxy):
    """A 40 MiB INSERT (a split packet: three chunks) goes to the primary as it arrives: it is
    stored intact while the proxy grows by far less than the statement."""
    import hashlib
    p = start(xproxy)
    table = unique("stream")
    data = os.urandom(20 << 20).hex()  # 40 MiB of text
    with p.connect(max_allowed_packet=128 << 20, read_timeout=120, write_timeout=120) as c:
        c.cursor().execute(f"CREATE TABLE test.{table} (id INT PRIMARY KEY, b LONGTEXT)")
        with PeakRss(p.proc.pid) as rss:
            c.cursor().execute(f"INSERT INTO test.{table} VALUES (1, '{data}')")
        assert scalar(c, "SELECT 1") == 1
        assert scalar(c, f"/* route=primary */ SELECT COUNT(*) FROM test.{table}") == 1
    with connect(PRIMARY_PORT) as direct:
        row = direct.cursor()
        row.execute(f"SELECT LENGTH(b), SHA2(b, 256) FROM test.{table} WHERE id = 1")
        assert row.fetchone() == (len(data), hashlib.sha256(data.encode()).hexdigest())
    assert rss.growth_kib < STREAMED_BOUND_KIB, (
        f"the proxy grew by {rss.growth_kib >> 10} MiB for a 40 MiB statement: it held it")


def test_large_select_is_streamed_and_answered(xproxy):
    """A 5 MiB SELECT of one literal is streamed (to the writer) and still answered right; the
    session goes on normally, reads included."""
    import hashlib
    p = start(xproxy)
    literal = os.urandom(5 << 19).hex()  # 5 MiB
    with p.connect(max_allowed_packet=128 << 20, read_timeout=120, write_timeout=120) as c:
        assert scalar(c, f"SELECT SHA2('{literal}', 256)") == hashlib.sha256(
            literal.encode()).hexdigest()
        assert scalar(c, "SELECT 1") == 1
        assert scalar(c, f"SELECT LENGTH('{literal}')") == len(literal)
        assert scalar(c, "SELECT 2") == 2


def test_large_session_variable_pins_the_session(xproxy):
    """SET of a 2 MiB user variable is streamed, so it cannot be logged for replay: the session
    stays on the writer, where the variable is."""
    p = start(xproxy)
    value = "v" * (2 << 20)
    with p.connect(max_allowed_packet=128 << 20) as c:
        c.cursor().execute(f"SET @big = '{value}'")
        assert scalar(c, "SELECT LENGTH(@big)") == len(value)


def test_state_after_a_streamed_statement_in_a_batch_is_kept(xproxy):
    """Only a streamed statement's first bytes are classified: a SET and a temporary table
    later in the same multi-statement must still be there for the next reads."""
    p = start(xproxy)
    tag = "s" * (2 << 20)
    with p.connect(max_allowed_packet=128 << 20,
                   client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS) as c:
        with c.cursor() as cur:
            cur.execute(f"SELECT LENGTH('{tag}'); SET @after = 42; "
                        "CREATE TEMPORARY TABLE test.tmp_after_stream (a INT)")
            while cur.nextset():
                pass
        assert scalar(c, "SELECT @after") == 42
        assert scalar(c, "SELECT COUNT(*) FROM test.tmp_after_stream") == 0
        assert scalar(c, "SELECT @@port") == PRIMARY_PORT


def test_backend_lost_while_a_statement_streams_closes_the_client(xproxy):
    """The client has sent 2 MiB of a 5 MiB INSERT and waits: the proxy has already routed it
    and sent those bytes on. When the primary's connection dies, the client's connection is
    closed (the rest of its statement must not run as commands), and the proxy goes on."""
    p = start(xproxy)
    conn = p.connect()
    total = 5 << 20
    text = b"INSERT INTO test.nowhere VALUES ('" + b"z" * (total - 40)
    head = struct.pack("<I", total + 1)[:3] + b"\x00" + b"\x03" + text[:2 << 20]
    with connect(PRIMARY_PORT) as direct:
        def app_threads():
            cur = direct.cursor()
            cur.execute("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = %s",
                        (APP_USER,))
            return {r[0] for r in cur.fetchall()}

        before = app_threads()

        def streaming_thread():
            new = app_threads() - before
            return new and new.pop()

        conn._sock.sendall(head)
        victim = wait_for(streaming_thread, 30, what="the proxy's connection to the primary")
        direct.cursor().execute(f"KILL {victim}")
    assert closed_by_peer(conn._sock, 60), "the client was left waiting after the backend died"
    conn._sock.close()
    with p.connect() as c:
        assert scalar(c, "SELECT 1") == 1
