"""The admin interface ([admin] listen, MySQL protocol) and the metrics endpoint
([admin] http_listen): every admin statement, its errors, the separate admin
account, /metrics in Prometheus text format and /health following the primary."""

import hashlib
import http.client
import re
import socket
import struct
import subprocess
import time

import pymysql
import pytest

from sy_helpers import (APP_PW, APP_USER, REPLICA_PORTS, connect, free_port, scalar,
                        wait_for, xproxy)  # noqa: F401 - xproxy is a fixture

ADMIN_USER, ADMIN_PW = "admin", "admin_pw"
SAMPLE_RE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? (\S+)$')


def admin_section(admin_port, http_port, allow=None):
    lines = ["[admin]", f"listen = 127.0.0.1:{admin_port}", f"user = {ADMIN_USER}",
             f"password = {ADMIN_PW}", f"http_listen = 127.0.0.1:{http_port}"]
    if allow:
        lines.append(f"allow = {allow}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def admin(xproxy):
    """A started proxy with the admin interface; .admin_port and .http_port set."""
    admin_port, http_port = free_port(), free_port()
    p = xproxy(extra=admin_section(admin_port, http_port))
    p.admin_port, p.http_port = admin_port, http_port
    return p


def admin_connect(p, user=ADMIN_USER, password=ADMIN_PW):
    return connect(p.admin_port, user=user, password=password)


def admin_rows(p, sql):
    """(column names, rows) of an admin statement."""
    with admin_connect(p) as c, c.cursor() as cur:
        cur.execute(sql)
        return [d[0] for d in cur.description], cur.fetchall()


def admin_error(p, sql):
    with admin_connect(p) as c:
        with pytest.raises(pymysql.err.MySQLError) as e:
            with c.cursor() as cur:
                cur.execute(sql)
        return e.value.args


def http_get(p, path):
    conn = http.client.HTTPConnection("127.0.0.1", p.http_port, timeout=10)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read().decode()
    finally:
        conn.close()


def by_name(cols, rs):
    return {r[0]: dict(zip(cols, r)) for r in rs}


# --------------------------------------------------------------------------- statements

def test_show_backends(admin):
    cols, rs = admin_rows(admin, "SHOW BACKENDS")
    assert cols == ["name", "role", "address", "state", "reason", "lag_seconds", "gtid_position",
                    "weight", "connections", "statements", "errors"]
    b = by_name(cols, rs)
    assert set(b) == {"primary", "replica1", "replica2"}
    assert b["primary"]["role"] == "primary" and b["primary"]["address"] == "127.0.0.1:3310"
    assert b["replica1"]["role"] == "replica"
    for r in b.values():
        assert r["state"] == "up"
    assert b["replica2"]["lag_seconds"] is not None


def test_show_stats_counts_statements(admin):
    with admin.connect() as c:
        for _ in range(4):
            scalar(c, "SELECT 1")
    cols, rs = admin_rows(admin, "show stats;")
    assert cols == ["name", "value"]
    stats = dict(rs)
    for name in ("statements_primary", "statements_replica", "statements_local", "reads",
                 "writes", "read_fallbacks", "causal_waits", "causal_timeouts",
                 "causal_position_fetches", "writer_waits", "writer_wait_timeouts", "errors_backend", "errors_proxy", "auth_failures", "refused_firewall", "refused_limits",
                 "bytes_from_clients", "bytes_to_clients", "sessions_opened",
                 "client_connections", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms"):
        assert name in stats
    assert int(stats["reads"]) >= 4
    assert stats["latency_p99_ms"] is not None


def test_show_config_hides_passwords(admin):
    cols, rs = admin_rows(admin, "SHOW CONFIG")
    assert cols == ["section", "key", "value"]
    cfg = {(s, k): v for s, k, v in rs}
    assert cfg[("admin", "password")] == "***"
    assert cfg[("monitor", "password")] == "***"
    assert cfg[("user.app", "password")] == "***"
    assert cfg[("backend.replica2", "port")] == "3312"
    values = " ".join(str(v) for _, _, v in rs)
    assert ADMIN_PW not in values and APP_PW not in values and "monitor_pw" not in values


def test_show_version(admin):
    cols, rs = admin_rows(admin, "SHOW VERSION")
    assert cols == ["version", "server_version"]
    assert len(rs) == 1 and re.match(r"^\d+\.\d+\.\d+", rs[0][0])
    assert "MariaDB" in (rs[0][1] or "")


def test_show_sessions_and_kill(admin):
    app = admin.connect()
    try:
        sid = app.thread_id()
        scalar(app, "SELECT 1")
        cols, rs = admin_rows(admin, "SHOW SESSIONS")
        assert cols == ["id", "user", "client", "age_seconds", "in_transaction", "pinned",
                        "backends", "db"]
        s = by_name(cols, [(int(r[0]), *r[1:]) for r in rs])
        assert sid in s and s[sid]["user"] == APP_USER and s[sid]["client"] == "127.0.0.1"
        assert s[sid]["db"] is None                       # logged in without a database
        app.cursor().execute("USE test")

        def db_shown():
            cols, rs = admin_rows(admin, "SHOW SESSIONS")
            return by_name(cols, [(int(r[0]), *r[1:]) for r in rs])[sid]["db"]
        wait_for(lambda: db_shown() == "test", 10, what="SHOW SESSIONS shows the database USE chose")
        with admin_connect(admin) as c, c.cursor() as cur:
            cur.execute(f"KILL SESSION {sid}")
        with pytest.raises(pymysql.err.OperationalError):
            scalar(app, "SELECT 1")
    finally:
        app.close()
    assert admin_error(admin, "KILL SESSION 4000000000")[0] == 1094


def test_set_backend_offline_online(admin):
    with admin_connect(admin) as c, c.cursor() as cur:
        cur.execute("SET BACKEND replica1 OFFLINE")
    try:
        b = by_name(*admin_rows(admin, "SHOW BACKENDS"))
        assert b["replica1"]["state"] == "offline"
        with admin.connect() as c:
            ports = {scalar(c, "SELECT @@port") for _ in range(10)}
        # needs the routing side to skip offline backends
        assert ports == {REPLICA_PORTS["replica2"]}
    finally:
        with admin_connect(admin) as c, c.cursor() as cur:
            cur.execute("set backend replica1 online")
    assert by_name(*admin_rows(admin, "SHOW BACKENDS"))["replica1"]["state"] == "up"
    admin.wait_replicas_eligible(set(REPLICA_PORTS.values()))
    assert admin_error(admin, "SET BACKEND nosuch OFFLINE")[0] == 1105


def test_reload(admin):
    mark = len(admin.log_text())
    with admin_connect(admin) as c, c.cursor() as cur:
        cur.execute("RELOAD")
    wait_for(lambda: "reload:" in admin.log_text()[mark:], 10, what="the reload in the log")
    assert admin_rows(admin, "SHOW VERSION")[1]


def test_unknown_statement_and_command(admin):
    code, msg = admin_error(admin, "SELECT 1")
    assert code == 1064 and "SHOW BACKENDS" in msg and "KILL SESSION" in msg
    with admin_connect(admin) as c:
        c.ping()  # COM_PING answers OK
        with pytest.raises(pymysql.err.MySQLError) as e:
            c.select_db("test")  # COM_INIT_DB
        assert e.value.args[0] == 1047


def test_mariadb_cli(admin):
    p = subprocess.run(["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{admin.admin_port}",
                        f"-u{ADMIN_USER}", f"-p{ADMIN_PW}", "--batch", "-e", "SHOW BACKENDS"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert "replica2" in p.stdout


# --------------------------------------------------------------------------- authentication

def test_wrong_password(admin):
    with pytest.raises(pymysql.err.OperationalError) as e:
        admin_connect(admin, password="wrong")
    assert e.value.args[0] == 1045


def test_application_account_refused(admin):
    with pytest.raises(pymysql.err.OperationalError) as e:
        admin_connect(admin, user=APP_USER, password=APP_PW)
    assert e.value.args[0] == 1045
    # and the admin account does not open the application port
    with pytest.raises(pymysql.err.OperationalError):
        connect(admin.port, user=ADMIN_USER, password=ADMIN_PW)


def read_packet(s):
    hdr = b""
    while len(hdr) < 4:
        hdr += s.recv(4 - len(hdr))
    n, seq = hdr[0] | hdr[1] << 8 | hdr[2] << 16, hdr[3]
    body = b""
    while len(body) < n:
        body += s.recv(n - len(body))
    return seq, body


def test_auth_switch_to_native(admin):
    """A client starting with caching_sha2_password is switched to mysql_native_password."""
    s = socket.create_connection(("127.0.0.1", admin.admin_port), timeout=10)
    try:
        read_packet(s)  # greeting
        caps = 0x0200 | 0x8000 | 0x80000  # PROTOCOL_41, SECURE_CONNECTION, PLUGIN_AUTH
        body = (struct.pack("<IIB", caps, 1 << 24, 45) + b"\0" * 23 + ADMIN_USER.encode() + b"\0"
                + bytes([32]) + b"x" * 32 + b"caching_sha2_password\0")
        s.sendall(struct.pack("<I", len(body))[:3] + b"\x01" + body)
        seq, sw = read_packet(s)
        assert sw[0] == 0xFE and sw[1:].startswith(b"mysql_native_password\0")
        scramble = sw[1 + len(b"mysql_native_password\0"):][:20]
        st1 = hashlib.sha1(ADMIN_PW.encode()).digest()
        mix = hashlib.sha1(scramble + hashlib.sha1(st1).digest()).digest()
        reply = bytes(a ^ b for a, b in zip(st1, mix))
        s.sendall(struct.pack("<I", 20)[:3] + bytes([seq + 1]) + reply)
        _, ok = read_packet(s)
        assert ok[0] == 0x00
    finally:
        s.close()


def test_allow_list_refuses(xproxy):
    admin_port, http_port = free_port(), free_port()
    xproxy(extra=admin_section(admin_port, http_port, allow="10.0.0.0/8"), wait_replicas=False)
    with pytest.raises(pymysql.err.OperationalError) as e:
        connect(admin_port, user=ADMIN_USER, password=ADMIN_PW)
    assert e.value.args[0] == 1130
    conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
    conn.request("GET", "/metrics")
    assert conn.getresponse().status == 403
    conn.close()


# --------------------------------------------------------------------------- HTTP

def test_metrics_format(admin):
    with admin.connect() as c:
        scalar(c, "SELECT 1")
    status, text = http_get(admin, "/metrics")
    assert status == 200
    names = set()
    for line in text.splitlines():
        if line.startswith("#"):
            assert line.startswith("# HELP ") or line.startswith("# TYPE "), line
            continue
        m = SAMPLE_RE.match(line)
        assert m, f"not a sample line: {line!r}"
        float(m.group(3))
        names.add(line.split("{")[0].split(" ")[0])
    for n in ("switchyard_backend_up", "switchyard_backend_state",
              "switchyard_replication_lag_seconds", "switchyard_statements_total",
              "switchyard_reads_total", "switchyard_writes_total",
              "switchyard_read_fallbacks_total", "switchyard_causal_waits_total",
              "switchyard_causal_position_fetches_total",
              "switchyard_writer_waits_total", "switchyard_writer_wait_timeouts_total",
              "switchyard_errors_total", "switchyard_refused_connections_total",
              "switchyard_client_connections", "switchyard_backend_connections",
              "switchyard_statement_duration_seconds_bucket",
              "switchyard_statement_duration_seconds_sum",
              "switchyard_statement_duration_seconds_count"):
        assert n in names, n
    assert 'switchyard_backend_up{backend="primary",role="primary"} 1' in text


def test_http_errors(admin):
    assert http_get(admin, "/nope")[0] == 404
    s = socket.create_connection(("127.0.0.1", admin.http_port), timeout=10)
    s.sendall(b"\x16\x03\x01 garbage\r\n\r\n")
    assert s.recv(100).startswith(b"HTTP/1.1 400 ")
    s.close()
    # a request in pieces is answered once complete
    s = socket.create_connection(("127.0.0.1", admin.http_port), timeout=10)
    for part in (b"GET /hea", b"lth HTTP/1.1\r\nHo", b"st: x\r\n\r\n"):
        s.sendall(part)
        time.sleep(0.1)
    assert s.recv(200).startswith(b"HTTP/1.1 200 ")
    s.close()


def test_health_follows_primary(admin, sandbox):
    status, body = http_get(admin, "/health")
    assert (status, body.strip()) == (200, "ok: writes go to primary")
    try:
        sandbox.kill("primary")
        wait_for(lambda: http_get(admin, "/health")[0] == 503, 15, what="/health to say 503")
        status, body = http_get(admin, "/health")
        assert body.startswith("no writable primary: primary is down"), body
    finally:
        sandbox.restart("primary")
        for name in REPLICA_PORTS:
            sandbox.wait_replica(name)
    wait_for(lambda: http_get(admin, "/health")[0] == 200, 15, what="/health back to 200")
