"""[proxy] allow / deny (ERR 1130 before anything is read), [proxy] and [user.NAME]
max_connections (ERR 1040 / 1203), client_idle_timeout, [log] format / level / slow_ms,
and what `switchyard --check` says about bad firewall, admin and TLS settings."""

import json
import select
import socket
import struct
import subprocess
import time

import pymysql
import pytest

from sy_helpers import (APP_PW, APP_USER, SY_BINARY, connect, free_port,
                        http_only_admin_section, make_xini, metric_value, read_raw_packet,
                        scalar, sync_replicas, wait_for, xproxy)  # noqa: F401 - xproxy is a fixture

FIREWALL = 'switchyard_refused_connections_total{reason="firewall"}'
LIMIT = 'switchyard_refused_connections_total{reason="limit"}'
OPEN = "switchyard_client_connections"


def start(xproxy, proxy_keys=None, wait_replicas=True, users=None, log=None, extra_text=""):
    """A proxy with [proxy] keys `proxy_keys`, an [admin] section (for /metrics) and an optional
    [log] section; .http_port set."""
    admin_port, http_port = free_port(), free_port()
    extra = http_only_admin_section(admin_port, http_port) + extra_text
    if log:
        extra += "\n[log]\n" + "".join(f"{k} = {v}\n" for k, v in log.items())
    p = xproxy(keys={"proxy": proxy_keys or {}}, users=users, extra=extra,
               wait_replicas=wait_replicas)
    p.http_port = http_port
    return p


def wait_open(p, n, timeout=5):
    """Wait until the proxy counts exactly n open client connections."""
    wait_for(lambda: metric_value(p.http_port, OPEN) == n, timeout,
             what=f"{OPEN} == {n} (now {metric_value(p.http_port, OPEN)})")


def login_error(port, user=APP_USER, password=APP_PW):
    """(code, message) of a pymysql login that must fail."""
    with pytest.raises(pymysql.err.MySQLError) as e:
        connect(port, user=user, password=password, connect_timeout=5).close()
    return e.value.args


# --------------------------------------------------------------------------- firewall

def test_deny_refuses_before_reading(xproxy):
    p = start(xproxy, {"deny": "127.0.0.1/32"}, wait_replicas=False)
    # start() returns once every listener accepts; its one probe of the app port is refused
    # asynchronously: count from after that refusal
    wait_for(lambda: metric_value(p.http_port, FIREWALL) == 1
             and "firewall: refused 127.0.0.1" in p.log_text(), 10,
             what="start()'s probe to be refused and counted")
    base, mark = metric_value(p.http_port, FIREWALL), len(p.log_text())
    # raw socket: the very first packet is ERR 1130 (no greeting), then the proxy closes
    with socket.create_connection(("127.0.0.1", p.port), timeout=5) as s:
        seq, body = read_raw_packet(s)
        assert body[0] == 0xFF, f"first packet is not an ERR: {body!r}"
        assert struct.unpack("<H", body[1:3])[0] == 1130, body
        assert seq == 0
        assert s.recv(100) == b"", "the proxy did not close the refused connection"
    # pymysql
    code, msg = login_error(p.port)
    assert code == 1130, msg
    wait_for(lambda: p.log_since(mark).count("firewall: refused 127.0.0.1") == 2, 5,
             what="two 'firewall: refused 127.0.0.1' lines in the log")
    assert metric_value(p.http_port, FIREWALL) == base + 2
    assert metric_value(p.http_port, LIMIT) == 0


@pytest.mark.parametrize("allow,refused", [
    ("10.0.0.0/8", True),
    ("127.0.0.0/8", False),
    ("::1/128", True),          # an IPv6 range does not match an IPv4 client
    ("10.0.0.0/8, 127.0.0.1", False),
])
def test_allow_list(xproxy, allow, refused):
    p = start(xproxy, {"allow": allow}, wait_replicas=not refused)
    base, mark = metric_value(p.http_port, FIREWALL), len(p.log_text())
    if refused:
        code, msg = login_error(p.port)
        assert code == 1130, msg
        wait_for(lambda: "firewall: refused 127.0.0.1" in p.log_since(mark), 5,
                 what="'firewall: refused' in the log")
        assert metric_value(p.http_port, FIREWALL) == base + 1
    else:
        with p.connect() as c:
            assert scalar(c, "SELECT 1") == 1
        assert "firewall: refused" not in p.log_text()
        assert metric_value(p.http_port, FIREWALL) == 0


# --------------------------------------------------------------------------- limits

def test_proxy_max_connections(xproxy):
    p = start(xproxy, {"max_connections": 3})
    wait_open(p, 0)  # the start-up check's connection is gone
    conns = [p.connect() for _ in range(3)]
    try:
        code, msg = login_error(p.port)
        assert code == 1040 and "Too many connections" in msg, (code, msg)
        for c in conns:
            assert scalar(c, "SELECT 1") == 1
        assert metric_value(p.http_port, LIMIT) == 1
        assert "max_connections = 3 reached" in p.log_text()
        conns.pop().close()
        wait_open(p, 2)
        with p.connect() as c:
            assert scalar(c, "SELECT 2") == 2
        for c in conns:
            assert scalar(c, "SELECT 3") == 3
    finally:
        for c in conns:
            c.close()


@pytest.fixture
def other_user(sandbox):
    sandbox.sql("primary", "CREATE USER IF NOT EXISTS other@'%' IDENTIFIED BY 'other_pw'")
    sync_replicas(sandbox)
    yield "other", "other_pw"
    sandbox.sql("primary", "DROP USER IF EXISTS other@'%'")


def test_user_max_connections(xproxy, other_user):
    ouser, opw = other_user
    # [user.app] comes from extra, with its own limit; [user.other] has none
    p = start(xproxy, users={ouser: opw},
              extra_text=f"[user.{APP_USER}]\npassword = {APP_PW}\nmax_connections = 2\n")
    wait_open(p, 0)
    apps = [p.connect() for _ in range(2)]
    others = []
    try:
        code, msg = login_error(p.port)
        assert code == 1203, (code, msg)
        for _ in range(3):  # another account is not limited by app's limit
            others.append(connect(p.port, user=ouser, password=opw))
        for c in others:
            assert scalar(c, "SELECT 1") == 1
        for c in apps:
            assert scalar(c, "SELECT 1") == 1
        assert "refused user 'app'" in p.log_text()
        assert metric_value(p.http_port, LIMIT) == 1
        apps.pop().close()
        wait_open(p, 4)
        apps.append(p.connect())
        assert scalar(apps[-1], "SELECT 1") == 1
    finally:
        for c in apps + others:
            c.close()


def test_client_idle_timeout(xproxy):
    p = start(xproxy, {"client_idle_timeout": 2})
    idle, busy = p.connect(), p.connect()
    try:
        assert scalar(idle, "SELECT 1") == 1
        t0 = time.monotonic()
        closed_at = None
        while time.monotonic() - t0 < 4.0:
            assert scalar(busy, "SELECT 1") == 1
            if closed_at is None:
                r, _, _ = select.select([idle._sock], [], [], 0)
                if r:
                    closed_at = time.monotonic() - t0
            time.sleep(0.5)
        assert closed_at is not None, "the idle connection was not closed within 4 s"
        assert 1.9 <= closed_at <= 3.6, f"idle connection closed after {closed_at:.2f} s"
        with pytest.raises(pymysql.err.OperationalError) as e:
            scalar(idle, "SELECT 1")
        assert e.value.args[0] in (2013, 2006), e.value.args
        assert scalar(busy, "SELECT 2") == 2  # kept querying every 0.5 s: still open
        assert "idle for more than client_idle_timeout = 2 s" in p.log_text()
    finally:
        idle.close()
        busy.close()


# --------------------------------------------------------------------------- logs

def test_log_json_level_and_slow(xproxy):
    p = start(xproxy, {"deny": "127.0.0.2/32"},
              log={"format": "json", "level": "warn", "slow_ms": 200})
    with p.connect() as c:
        assert scalar(c, "SELECT 1 AS fast_marker") == 1
        scalar(c, "SELECT SLEEP(0.3) AS slow_marker")
        scalar(c, "SELECT SLEEP(0.3) /* IDENTIFIED BY 'x' */")
    # a WARN that is not a slow line: the firewall refusing 127.0.0.2
    with socket.create_connection(("127.0.0.1", p.port), timeout=5,
                                  source_address=("127.0.0.2", 0)) as s:
        assert struct.unpack("<H", read_raw_packet(s)[1][1:3])[0] == 1130
    wait_for(lambda: p.log_text().count("slow") >= 2 and "firewall" in p.log_text(), 5,
             what="two slow lines and the firewall line in the log")
    # stop now so the shutdown's lines are parsed too
    p.expect_exit = True
    assert p.stop() == 0, p.log_tail()
    lines = p.log_text().splitlines()
    assert lines, "the proxy logged nothing"
    entries = []
    for line in lines:
        try:
            obj = json.loads(line)
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r}")
        assert isinstance(obj, dict) and {"ts", "level", "msg"} <= set(obj), line
        entries.append(obj)
    levels = {e["level"] for e in entries}
    assert levels <= {"warn", "error"}, f"levels below warn logged: {levels}"
    msgs = [e["msg"] for e in entries]
    slow = [m for m in msgs if "slow" in m]
    assert len(slow) == 2, slow
    assert any("SELECT SLEEP(0.3) AS slow_marker" in m for m in slow), slow
    assert not any("fast_marker" in m for m in msgs), msgs
    hidden = [m for m in slow if "slow_marker" not in m]
    assert len(hidden) == 1 and "hidden" in hidden[0], hidden
    assert "IDENTIFIED" not in hidden[0] and "'x'" not in hidden[0], hidden
    assert any("firewall: refused 127.0.0.2" in m for m in msgs), msgs


# --------------------------------------------------------------------------- --check

BAD_CHECKS = {
    # name: (keys for make_xini, extra text, start of the line --check must name, words)
    "deny_bad_address": ({"proxy": {"deny": "300.1.2.3/8"}}, "", "deny = ", ("deny", "300.1.2.3/8")),
    "admin_without_password": ({}, "[admin]\nlisten = 127.0.0.1:6032\nuser = admin\n", "[admin]",
                               ("[admin]", "password")),
    "tls_require_without_cert": ({}, "[tls]\nrequire = on\n", "require = on", ("require", "cert")),
}


@pytest.mark.parametrize("name", sorted(BAD_CHECKS))
def test_check_rejects(tmp_path, name):
    keys, extra, line_text, words = BAD_CHECKS[name]
    f = tmp_path / f"{name}.ini"
    text = make_xini(16033, keys=keys, extra=extra)
    f.write_text(text)
    p = subprocess.run([str(SY_BINARY), "--check", "-c", str(f)], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=30)
    out = p.stdout + p.stderr
    assert p.returncode != 0, out
    lines = text.splitlines()
    line = next(i for i, ln in enumerate(lines, 1) if ln.startswith(line_text))
    assert f"{f}:{line}:" in out, f"expected '{f}:{line}:' in:\n{out}"
    for w in words:
        assert w in out, f"expected {w!r} in:\n{out}"


def test_slow_log_hidden_note_is_complete(xproxy):
    """The note that replaces a hidden statement is printed whole, not cut."""
    p = start(xproxy, log={"slow_ms": 200})
    with p.connect() as c:
        scalar(c, "SELECT SLEEP(0.3) /* PASSWORD('x') */")
    wait_for(lambda: "slow:" in p.log_text(), 5, what="the slow line in the log")
    line = next(ln for ln in p.log_text().splitlines() if "slow:" in ln)
    assert "PASSWORD" not in line and "'x'" not in line, line
    assert line.endswith("(statement hidden: it may hold a password)"), line
