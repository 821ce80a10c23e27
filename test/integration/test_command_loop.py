"""The client session's command loop under hostile pipelines: a million
pipelined commands after a huge one must not crash the proxy (it used to
recurse once per command), every answer arrives in order, and other clients
are served meanwhile; commands pipelined with the login are answered; a
backend lost in the middle of a packet closes the client's connection
instead of writing an ERR inside that packet."""

import hashlib
import socket
import struct
import threading
import time

import pymysql
import pytest

from sy_helpers import APP_PW, APP_USER, scalar, unique, wait_for

COM_QUERY = 0x03
COM_PING = 0x0E


def packet(seq, payload):
    return struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload


class PacketReader:
    """Reads MySQL packets from a socket through a large buffer."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.pos = 0

    def _fill(self, n):
        while len(self.buf) - self.pos < n:
            if self.pos > 1 << 20:
                del self.buf[:self.pos]
                self.pos = 0
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("the proxy closed the connection")
            self.buf += chunk

    def exact(self, n):
        self._fill(n)
        out = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return out

    def packet(self):
        hdr = self.exact(4)
        length = hdr[0] | hdr[1] << 8 | hdr[2] << 16
        return hdr[3], self.exact(length)


def read_result_set(reader):
    """One text result set without CLIENT_DEPRECATE_EOF; returns (raw bytes, rows)."""
    raw = bytearray()
    expect_seq = 1

    def next_packet():
        nonlocal expect_seq
        seq, body = reader.packet()
        assert seq == expect_seq & 0xFF, f"sequence id {seq}, expected {expect_seq & 0xFF}"
        expect_seq += 1
        raw.extend(packet(seq, body))
        return body

    first = next_packet()
    assert first[0] not in (0x00, 0xFF), f"expected a result set, got {first[:64]!r}"
    for _ in range(first[0]):
        next_packet()
    assert next_packet()[0] == 0xFE  # end of the column definitions
    rows = []
    while True:
        body = next_packet()
        if body[0] == 0xFE and len(body) < 9:
            return bytes(raw), rows
        assert body[0] != 0xFF, f"ERR inside the result: {body!r}"
        rows.append(body)


def expect_repeats(reader, template, count):
    """The next count answers are each exactly template (same packets, same sequence ids)."""
    total = len(template) * count
    chunk_answers = max(1, (1 << 20) // len(template))
    done = 0
    while done < count:
        n = min(chunk_answers, count - done)
        got = reader.exact(len(template) * n)
        if got != template * n:
            for i in range(n):
                part = got[i * len(template):(i + 1) * len(template)]
                assert part == template, (
                    f"answer {done + i + 1} of {count} differs: {part[:64]!r} != {template[:64]!r}")
        done += n
    return total


def logged_in_socket(sy):
    """A socket after a real login (pymysql), ready for raw packets."""
    c = sy.connect()
    assert scalar(c, "SELECT 1") == 1
    c._sock.settimeout(120)
    return c


def read_ok(reader):
    seq, body = reader.packet()
    return packet(seq, body)


def read_one_row_result_set(reader):
    raw, rows = read_result_set(reader)
    assert len(rows) == 1, rows
    return raw


def flood(sy, payload_first, first_check, command, count, read_answer, template_check):
    """Send payload_first plus count copies of command in one sendall while a second
    client is served; check the first answers, then that every other answer is the
    same bytes as the first (same packets, same sequence ids), in order. Returns the
    worst latency of the other client."""
    c = logged_in_socket(sy)
    sock = c._sock
    other = sy.connect()
    assert scalar(other, "SELECT 1") == 1
    data = packet(0, payload_first) + packet(0, command) * count
    failures = []

    def send():
        try:
            sock.sendall(data)
        except Exception as e:  # noqa: BLE001 - reported below
            failures.append(f"send: {e!r}")

    reader_done = threading.Event()

    def read():
        try:
            reader = PacketReader(sock)
            first_check(reader)
            template = read_answer(reader)
            template_check(template)
            expect_repeats(reader, template, count - 1)
        except Exception as e:  # noqa: BLE001 - reported below
            failures.append(f"read: {e!r}")
        finally:
            reader_done.set()

    started = time.monotonic()
    threads = [threading.Thread(target=send, daemon=True), threading.Thread(target=read, daemon=True)]
    for t in threads:
        t.start()
    worst = 0.0
    answered_meanwhile = 0
    while not reader_done.is_set() and time.monotonic() - started < 600:
        t0 = time.monotonic()
        other.ping(reconnect=False)
        assert scalar(other, "SELECT 2") == 2
        dt = time.monotonic() - t0
        if not reader_done.is_set():
            answered_meanwhile += 1
            worst = max(worst, dt)
    for t in threads:
        t.join(timeout=600)
    elapsed = time.monotonic() - started
    print(f"\n{count} pipelined commands answered in {elapsed:.1f}s; the other client was answered "
          f"{answered_meanwhile} times meanwhile, worst {worst * 1000:.1f} ms")
    assert not failures, failures
    assert answered_meanwhile >= 1, "the other client got no answer while the flood ran"
    assert worst < 2.0, f"the other client waited {worst:.2f}s for an answer during the flood"
    # The flooded session still works, and so does the proxy.
    c.ping(reconnect=False)
    assert scalar(c, "SELECT 3") == 3
    assert scalar(other, "SELECT 4") == 4
    c.close()
    other.close()
    assert sy.alive(), f"switchyard died:\n{sy.log_tail()}"
    return worst


def check_ok(template):
    assert template[3] == 1 and template[4] == 0x00, f"expected OK with sequence id 1: {template!r}"


@pytest.fixture
def sy1(proxy):
    """One worker thread, so that the other client shares the flooded session's loop."""
    return proxy(threads=1)


# A large first packet makes the input buffer large: then the whole pipeline
# sits in it at once (the old loop recursed once per buffered command).
BIG_QUERY = b"\x03SELECT 1 /*" + b"x" * (4 << 20) + b"*/"


def check_big_query(reader):
    _, rows = read_result_set(reader)
    assert rows == [b"\x011"], rows


def test_million_pipelined_pings_after_a_4mib_query(sy1):
    flood(sy1, BIG_QUERY, check_big_query, bytes([COM_PING]), 1_000_000, read_ok, check_ok)


def check_route_rs(template):
    assert template[3] == 1 and b"auto" in template, template


def test_100k_pipelined_proxy_statements_after_a_4mib_query(sy1):
    flood(sy1, BIG_QUERY, check_big_query, b"\x03PROXY SHOW route", 100_000,
          read_one_row_result_set, check_route_rs)


# --------------------------------------------------------------------------- login pipelining

CLIENT_LONG_PASSWORD = 0x1
CLIENT_PROTOCOL_41 = 0x200
CLIENT_SECURE_CONNECTION = 0x8000
CLIENT_PLUGIN_AUTH = 0x80000


def greeting_scramble(payload):
    version_end = payload.index(b"\0", 1)
    pos = version_end + 1 + 4
    part1 = payload[pos:pos + 8]
    pos += 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10
    return part1 + payload[pos:pos + 12]


def native_reply(password, scramble):
    s1 = hashlib.sha1(password.encode()).digest()
    s2 = hashlib.sha1(s1).digest()
    mix = hashlib.sha1(scramble + s2).digest()
    return bytes(a ^ b for a, b in zip(s1, mix))


def test_command_pipelined_with_the_login(sy):
    with socket.create_connection(("127.0.0.1", sy.port), timeout=30) as sock:
        reader = PacketReader(sock)
        _, greeting = reader.packet()
        reply = native_reply(APP_PW, greeting_scramble(greeting))
        caps = CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH
        login = (struct.pack("<IIB", caps, 1 << 24, 45) + b"\0" * 23 + APP_USER.encode() + b"\0"
                 + bytes([len(reply)]) + reply + b"mysql_native_password\0")
        sock.sendall(packet(1, login) + packet(0, b"\x03SELECT 1") + packet(0, b"\x0e"))
        seq, ok = reader.packet()
        assert seq == 2 and ok[0] == 0x00, ok
        _, rows = read_result_set(reader)
        assert rows == [b"\x011"], rows
        seq, pong = reader.packet()
        assert seq == 1 and pong[0] == 0x00, pong


# --------------------------------------------------------------------------- backend lost mid-packet

def test_backend_killed_in_the_middle_of_a_packet(sy, sandbox):
    """A client that has part of a packet gets its connection closed (or, at a
    packet boundary, an ERR): never an ERR inside the packet, which it would
    read as row data and then hang."""

    read_timeout = 20
    marker = unique("midpacket")
    c = sy.connect(cursorclass=pymysql.cursors.SSCursor, read_timeout=read_timeout)
    cur = c.cursor()  # no context manager: closing an SSCursor would drain the result
    # 1 MiB rows, far more than the socket buffers hold: the server blocks
    # in the middle of a row while the client does not read.
    cur.execute(f"SELECT /* route=primary */ /* {marker} */ REPEAT('x', 1048576), seq "
                "FROM test.seq_1_to_300")
    assert cur.fetchone()[1] == 1

    def backend_thread():
        found = sandbox.sql("primary", "SELECT ID FROM information_schema.processlist "
                                       f"WHERE USER = 'app' AND INFO LIKE '%{marker}%'")
        return found and found[0][0]

    thread_id = wait_for(backend_thread, 30, what="the proxy's backend connection running the query")
    sandbox.sql("primary", f"KILL {thread_id}")
    started = time.monotonic()
    with pytest.raises(pymysql.err.OperationalError) as err:
        while cur.fetchone() is not None:
            pass
    waited = time.monotonic() - started
    print(f"\nthe client saw {err.value.args!r} after {waited:.1f}s")
    assert "timed out" not in str(err.value), f"the client hung until its read timeout: {err.value}"
    assert waited < read_timeout
    if c._result is not None:
        c._result.unbuffered_active = False  # else pymysql drains the dead socket at exit
    assert sy.alive(), f"switchyard died:\n{sy.log_tail()}"
    with sy.connect() as fresh:
        assert scalar(fresh, "SELECT 1") == 1
