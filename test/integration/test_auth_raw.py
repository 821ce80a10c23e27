"""Client authentication at the raw protocol level: what a MySQL 8 client
does (caching_sha2_password fast path in its first packet), which the
MariaDB client libraries on this machine never send."""

import hashlib
import socket
import struct

from sy_helpers import APP_PW, APP_USER

CLIENT_LONG_PASSWORD = 0x1
CLIENT_PROTOCOL_41 = 0x200
CLIENT_SECURE_CONNECTION = 0x8000
CLIENT_PLUGIN_AUTH = 0x80000
CLIENT_PLUGIN_AUTH_LENENC = 0x200000


def read_packet(sock):
    head = b""
    while len(head) < 4:
        chunk = sock.recv(4 - len(head))
        assert chunk, "proxy closed the connection"
        head += chunk
    length = head[0] | head[1] << 8 | head[2] << 16
    body = b""
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        assert chunk, "proxy closed the connection"
        body += chunk
    return head[3], body


def send_packet(sock, seq, payload):
    sock.sendall(struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload)


def greeting_scramble(payload):
    """The 20-byte scramble of a protocol-10 greeting."""
    version_end = payload.index(b"\0", 1)
    pos = version_end + 1 + 4  # connection id
    part1 = payload[pos:pos + 8]
    pos += 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10  # filler, caps, charset, status, caps, len, reserved
    part2 = payload[pos:pos + 12]
    return part1 + part2


def sha2_reply(password, nonce):
    p1 = hashlib.sha256(password.encode()).digest()
    p2 = hashlib.sha256(hashlib.sha256(p1).digest() + nonce).digest()
    return bytes(a ^ b for a, b in zip(p1, p2))


def login(port, password):
    """Log in the way a MySQL 8 client does; returns the packets the proxy answered with."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        _, greeting = read_packet(sock)
        nonce = greeting_scramble(greeting)
        caps = (CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION |
                CLIENT_PLUGIN_AUTH | CLIENT_PLUGIN_AUTH_LENENC)
        reply = sha2_reply(password, nonce)
        payload = (struct.pack("<IIB", caps, 1 << 24, 45) + b"\0" * 23 + APP_USER.encode() + b"\0"
                   + bytes([len(reply)]) + reply + b"caching_sha2_password\0")
        send_packet(sock, 1, payload)
        answers = []
        while True:
            _, body = read_packet(sock)
            answers.append(body)
            if body[0] in (0x00, 0xFF):
                return answers


def test_caching_sha2_fast_path(sy):
    answers = login(sy.port, APP_PW)
    assert answers[0] == b"\x01\x03", answers  # fast auth succeeded
    assert answers[-1][0] == 0x00, answers


def test_caching_sha2_wrong_password(sy):
    answers = login(sy.port, APP_PW + "x")
    assert answers[-1][0] == 0xFF
    assert struct.unpack("<H", answers[-1][1:3])[0] == 1045
