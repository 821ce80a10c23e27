"""Differences MariaDB's own test suite (mariadb-test-run) found between the
server and the proxy, each reproduced here without the suite."""

import hashlib
import socket
import struct

from sy_helpers import APP_PW, APP_USER, backend, free_port, mariadb_cli, read_raw_packet, xproxy  # noqa: F401

# CLIENT_LONG_PASSWORD | CLIENT_CONNECT_WITH_DB | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION
# | CLIENT_PLUGIN_AUTH
RAW_CAPS = 0x1 | 0x8 | 0x200 | 0x8000 | 0x80000
UCS2_GENERAL_CI = 35
UTF32_GENERAL_CI = 60
UTF16_CROATIAN_CI = 672  # an id above 255: only COM_CHANGE_USER can carry it
LATIN1_SWEDISH_CI = 8


def native_reply(password, greeting):
    """mysql_native_password answer to the 20-byte scramble of a protocol-10 greeting."""
    pos = greeting.index(b"\0", 1) + 1 + 4
    scramble = greeting[pos:pos + 8] + greeting[pos + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10:][:12]
    h1 = hashlib.sha1(password.encode()).digest()
    h3 = hashlib.sha1(scramble + hashlib.sha1(h1).digest()).digest()
    return bytes(a ^ b for a, b in zip(h1, h3)), scramble


def send(sock, seq, payload):
    sock.sendall(struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload)


def raw_login(port, collation):
    """Log in as app with this collation id in the handshake response; returns the socket,
    the scramble, and the proxy's answer (sequence id, payload)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    _, greeting = read_raw_packet(sock)
    reply, scramble = native_reply(APP_PW, greeting)
    send(sock, 1, struct.pack("<IIB", RAW_CAPS, 1 << 24, collation) + b"\0" * 23 + APP_USER.encode()
         + b"\0" + bytes([len(reply)]) + reply + b"test\0mysql_native_password\0")
    return sock, scramble, read_raw_packet(sock)


def err_of(payload):
    """(code, sqlstate, message) of an ERR packet."""
    assert payload[0] == 0xFF, payload
    return struct.unpack("<H", payload[1:3])[0], payload[4:9].decode(), payload[9:].decode()


def test_unreachable_backend_error_reaches_a_mariadb_client_intact(xproxy):
    """The error for a backend that cannot be reached carries a server error code: MariaDB's
    client library turns an ERR packet with one of its own codes (2003, 2013) into
    'ERROR 2027: Received malformed packet' and drops the message."""
    dead_port = free_port()
    sy = xproxy(backends=[backend("primary", "primary", dead_port)], wait_replicas=False)
    out = mariadb_cli(sy.port, "SELECT 1")
    assert out.returncode != 0, out
    assert "2027" not in out.stderr and "malformed" not in out.stderr, out.stderr
    assert "ERROR 1429" in out.stderr, out.stderr
    assert "primary" in out.stderr and str(dead_port) in out.stderr, out.stderr


def test_client_charset_ucs2_is_refused_at_connect(sy):
    """mysql_client_test test_bug58036: a client asking for ucs2 or utf32 as its character set
    gets ERR 1231 in answer to its handshake response, as from MariaDB, instead of a session
    that fails later."""
    for collation, name in ((UCS2_GENERAL_CI, "ucs2"), (UTF32_GENERAL_CI, "utf32")):
        sock, _, (seq, answer) = raw_login(sy.port, collation)
        with sock:
            assert seq == 2
            code, state, msg = err_of(answer)
            assert (code, state) == (1231, "42000"), (code, state, msg)
            assert msg == f"Variable 'character_set_client' can't be set to the value of '{name}'"


def test_change_user_to_ucs2_is_refused_and_the_session_stays(sy):
    """COM_CHANGE_USER with a ucs2/utf16 collation (also an id above 255) gets ERR 1231; the
    session keeps its account and character set."""
    sock, scramble, (_, answer) = raw_login(sy.port, LATIN1_SWEDISH_CI)
    with sock:
        assert answer[0] == 0x00, answer
        for collation, name in ((UCS2_GENERAL_CI, "ucs2"), (UTF16_CROATIAN_CI, "utf16")):
            h1 = hashlib.sha1(APP_PW.encode()).digest()
            h3 = hashlib.sha1(scramble + hashlib.sha1(h1).digest()).digest()
            reply = bytes(a ^ b for a, b in zip(h1, h3))
            send(sock, 0, b"\x11" + APP_USER.encode() + b"\0" + bytes([len(reply)]) + reply
                 + b"test\0" + struct.pack("<H", collation) + b"mysql_native_password\0")
            _, answer = read_raw_packet(sock)
            code, state, msg = err_of(answer)
            assert (code, state) == (1231, "42000"), (code, state, msg)
            assert name in msg, msg
        send(sock, 0, b"\x03SELECT @@character_set_client")
        packets = [read_raw_packet(sock)[1] for _ in range(5)]  # count, column, EOF, row, EOF
        assert packets[3] == b"\x06latin1", packets


def test_com_debug_reaches_the_primary(sy):
    """mysql_client_test test_bug28075 (mysql_dump_debug_info): COM_DEBUG goes to the primary,
    which answers it (here ERR 1227: app lacks SUPER), instead of the proxy's ERR 1047."""
    sock, _, (_, answer) = raw_login(sy.port, LATIN1_SWEDISH_CI)
    with sock:
        assert answer[0] == 0x00, answer
        send(sock, 0, b"\x0d")
        _, answer = read_raw_packet(sock)
        code, _, msg = err_of(answer)
        assert code == 1227 and "SUPER" in msg, (code, msg)
        send(sock, 0, b"\x0e")  # the session goes on: COM_PING
        assert read_raw_packet(sock)[1][0] == 0x00
