"""Logging in and changing user through the proxy answer as the server does
(issue 9, transparency): a database that does not exist (1049) or that the
account may not use (1044) is refused at connect time, a failed
COM_CHANGE_USER keeps the connection as the old account, the server's own
status flags (autocommit) reach the client, and COM_DEBUG gets the server's
answer. Each test compares with a direct connection to the sandbox primary;
the C-level cases use MariaDB Connector/C through ctypes."""

import ctypes
import hashlib
import socket
import struct

import pymysql
import pytest

from sy_helpers import (APP_PW, APP_USER, PRIMARY_PORT, REPLICA_PORTS, backend, free_port,
                        mariadb_cli, scalar, wait_for, xproxy)  # noqa: F401
from test_auth_raw import greeting_scramble, read_packet
from test_tls import client_tls, pki, ssl_arg, tproxy  # noqa: F401

ALL_USER, ALL_PW = "sy_login_all", "all_pw"  # SELECT on every database: gets 1049, not 1044
MISSING_DB = "sy_login_no_such_db"

# Connector/C constants (mysql.h, mariadb_com.h).
MYSQL_SET_CHARSET_NAME = 7
MARIADB_CONNECTION_SERVER_STATUS = 30
SERVER_STATUS_AUTOCOMMIT = 0x0002
ER_UNKNOWN_COM_ERROR = 1047

CLIENT_LONG_PASSWORD = 0x1
CLIENT_CONNECT_WITH_DB = 0x8
CLIENT_PROTOCOL_41 = 0x200
CLIENT_TRANSACTIONS = 0x2000
CLIENT_SECURE_CONNECTION = 0x8000
CLIENT_MULTI_RESULTS = 0x20000
CLIENT_PLUGIN_AUTH = 0x80000


# --------------------------------------------------------------------------- Connector/C

def _load_libmariadb():
    lib = ctypes.CDLL("libmariadb.so.3")
    vp, cp = ctypes.c_void_p, ctypes.c_char_p
    sigs = {
        "mysql_init": (vp, [vp]),
        "mysql_options": (ctypes.c_int, [vp, ctypes.c_int, vp]),
        "mysql_real_connect": (vp, [vp, cp, cp, cp, cp, ctypes.c_uint, cp, ctypes.c_ulong]),
        "mysql_change_user": (ctypes.c_char, [vp, cp, cp, cp]),
        "mysql_select_db": (ctypes.c_int, [vp, cp]),
        "mysql_query": (ctypes.c_int, [vp, cp]),
        "mysql_store_result": (vp, [vp]),
        "mysql_fetch_row": (ctypes.POINTER(cp), [vp]),
        "mysql_free_result": (None, [vp]),
        "mysql_dump_debug_info": (ctypes.c_int, [vp]),
        "mysql_errno": (ctypes.c_uint, [vp]),
        "mysql_error": (cp, [vp]),
        "mariadb_get_infov": (ctypes.c_char, [vp, ctypes.c_int, vp]),
        "mysql_close": (None, [vp]),
    }
    for name, (res, args) in sigs.items():
        f = getattr(lib, name)
        f.restype, f.argtypes = res, args
    return lib


LIB = _load_libmariadb()


def _b(s):
    return None if s is None else s.encode()


class CConn:
    """One Connector/C connection; connect() fills errno/error when it fails."""

    def __init__(self, port, user, password, db=None):
        self.h = LIB.mysql_init(None)
        assert self.h, "mysql_init failed"
        ok = LIB.mysql_real_connect(self.h, b"127.0.0.1", _b(user), _b(password), _b(db), port,
                                    None, 0)
        self.connected = bool(ok)
        self.errno, self.error = self.last_error()

    def last_error(self):
        return LIB.mysql_errno(self.h), (LIB.mysql_error(self.h) or b"").decode()

    def rows(self, sql):
        assert LIB.mysql_query(self.h, sql.encode()) == 0, self.last_error()
        res = LIB.mysql_store_result(self.h)
        out = []
        if res:
            while True:
                row = LIB.mysql_fetch_row(res)
                if not row:
                    break
                out.append(row[0].decode() if row[0] is not None else None)
            LIB.mysql_free_result(res)
        return out

    def change_user(self, user, password, db):
        rc = LIB.mysql_change_user(self.h, _b(user), _b(password), _b(db))
        return (0, "") if rc == b"\0" else self.last_error()

    def set_charset(self, name):
        assert LIB.mysql_options(self.h, MYSQL_SET_CHARSET_NAME, ctypes.c_char_p(_b(name))) == 0

    def server_status(self):
        v = ctypes.c_uint(0)
        assert LIB.mariadb_get_infov(self.h, MARIADB_CONNECTION_SERVER_STATUS,
                                     ctypes.byref(v)) == b"\0"
        return v.value

    def close(self):
        LIB.mysql_close(self.h)


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def all_user(sandbox_session):
    sandbox_session.sql("primary", f"CREATE USER IF NOT EXISTS '{ALL_USER}'@'%' "
                                   f"IDENTIFIED BY '{ALL_PW}'; "
                                   f"GRANT SELECT ON *.* TO '{ALL_USER}'@'%'")
    return ALL_USER


@pytest.fixture
def lp(xproxy, all_user):
    """A proxy that knows app and the account with SELECT on every database."""
    return xproxy(users={APP_USER: APP_PW, ALL_USER: ALL_PW})


def pymysql_refusal(port, user, password, db):
    with pytest.raises(pymysql.err.OperationalError) as e:
        pymysql.connect(host="127.0.0.1", port=port, user=user, password=password, database=db,
                        connect_timeout=10, read_timeout=60)
    return e.value.args


# --------------------------------------------------------------------------- login

def test_unknown_database_is_refused_at_connect(lp):
    direct = pymysql_refusal(PRIMARY_PORT, ALL_USER, ALL_PW, MISSING_DB)
    assert direct[0] == 1049, direct
    assert pymysql_refusal(lp.port, ALL_USER, ALL_PW, MISSING_DB) == direct


def test_database_not_allowed_is_refused_at_connect(lp):
    direct = pymysql_refusal(PRIMARY_PORT, APP_USER, APP_PW, "mysql")
    assert direct[0] == 1044, direct
    assert pymysql_refusal(lp.port, APP_USER, APP_PW, "mysql") == direct


def test_cli_reports_the_database_error_before_any_statement(lp):
    direct = mariadb_cli(PRIMARY_PORT, "SELECT 'ran'", MISSING_DB)
    through = mariadb_cli(lp.port, "SELECT 'ran'", MISSING_DB)
    assert direct.returncode != 0 and "1044" in direct.stderr, direct
    assert (through.returncode, through.stdout, through.stderr) == \
        (direct.returncode, direct.stdout, direct.stderr)


def test_tls_client_gets_the_database_error_at_connect(tproxy, pki):  # noqa: F811
    p = tproxy(tls=client_tls(pki))
    direct = pymysql_refusal(PRIMARY_PORT, APP_USER, APP_PW, "mysql")
    with pytest.raises(pymysql.err.OperationalError) as e:
        pymysql.connect(host="127.0.0.1", port=p.port, user=APP_USER, password=APP_PW,
                        database="mysql", ssl=ssl_arg(pki.ca.cert), connect_timeout=10,
                        read_timeout=60)
    assert e.value.args == direct


def test_login_with_a_database_while_the_primary_is_down(xproxy):
    """Nothing to check the database with: the login succeeds as before, and
    reads still go to the replicas."""
    replicas = [backend(n, "replica", port, weight=1) for n, port in REPLICA_PORTS.items()]
    p = xproxy(backends=[backend("primary", "primary", free_port())] + replicas)
    c = pymysql.connect(host="127.0.0.1", port=p.port, user=APP_USER, password=APP_PW,
                        database="test", autocommit=True, connect_timeout=10, read_timeout=60)
    try:
        assert scalar(c, "SELECT @@port") in set(REPLICA_PORTS.values())
    finally:
        c.close()


def test_allowed_database_logs_in_there(lp):
    c = pymysql.connect(host="127.0.0.1", port=lp.port, user=APP_USER, password=APP_PW,
                        database="test", autocommit=True, connect_timeout=10)
    try:
        with c.cursor() as cur:
            cur.execute("SELECT DATABASE()")
            assert cur.fetchone() == ("test",)
    finally:
        c.close()


def raw_login_and_query(port, db, sql):
    """Handshake response and a COM_QUERY in one write, as a pipelining client
    sends them; returns every packet up to the end of the connection's first
    answers (the OK or ERR, and the query's result if it ran)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        _, greeting = read_packet(sock)
        scramble = greeting_scramble(greeting)
        stage1 = hashlib.sha1(APP_PW.encode()).digest()
        mix = hashlib.sha1(scramble + hashlib.sha1(stage1).digest()).digest()
        reply = bytes(a ^ b for a, b in zip(stage1, mix))
        caps = (CLIENT_LONG_PASSWORD | CLIENT_CONNECT_WITH_DB | CLIENT_PROTOCOL_41 |
                CLIENT_TRANSACTIONS | CLIENT_SECURE_CONNECTION | CLIENT_MULTI_RESULTS |
                CLIENT_PLUGIN_AUTH)
        login = (struct.pack("<IIB", caps, 1 << 24, 45) + b"\0" * 23 + APP_USER.encode() +
                 b"\0" + bytes([len(reply)]) + reply + db.encode() + b"\0" +
                 b"mysql_native_password\0")
        query = b"\x03" + sql.encode()
        sock.sendall(struct.pack("<I", len(login))[:3] + b"\x01" + login +
                     struct.pack("<I", len(query))[:3] + b"\x00" + query)
        packets = []
        while True:
            try:
                seq, payload = read_packet(sock)
            except AssertionError:  # closed
                return packets
            packets.append((seq, payload))
            eofs = sum(1 for _, p in packets if p[:1] == b"\xfe")
            if payload[:1] == b"\xff" or eofs == 2:  # column and row EOFs: the result is over
                return packets


def test_pipelined_query_after_a_refused_database_never_runs(lp):
    direct = raw_login_and_query(PRIMARY_PORT, "mysql", "SELECT 1")
    through = raw_login_and_query(lp.port, "mysql", "SELECT 1")
    assert direct[0][1][:3] == b"\xff\x14\x04", direct  # ERR 1044
    assert through == direct


def test_pipelined_query_after_a_good_database_runs_there(lp):
    through = raw_login_and_query(lp.port, "test", "SELECT DATABASE()")
    assert through[0] == (2, through[0][1]) and through[0][1][:1] == b"\x00", through
    assert any(b"test" in payload for _, payload in through[1:]), through


# --------------------------------------------------------------------------- COM_INIT_DB

def test_init_db_errors_match_the_server(lp, all_user):
    for user, pw, db in ((APP_USER, APP_PW, "mysql"), (ALL_USER, ALL_PW, MISSING_DB)):
        got = []
        for port in (PRIMARY_PORT, lp.port):
            c = CConn(port, user, pw, "test")
            assert c.connected, (port, c.error)
            assert LIB.mysql_select_db(c.h, db.encode()) != 0
            got.append((c.last_error(), c.rows("SELECT DATABASE()")))
            c.close()
        assert got[1] == got[0]


# --------------------------------------------------------------------------- COM_CHANGE_USER

def change_user_outcome(port, user, pw, db, charset=None):
    c = CConn(port, APP_USER, APP_PW, "test")
    assert c.connected, (port, c.error)
    try:
        if charset:
            c.set_charset(charset)
        err = c.change_user(user, pw, db)
        return err, c.rows("SELECT CONCAT(CURRENT_USER(), ' in ', IFNULL(DATABASE(), '-'))")
    finally:
        c.close()


@pytest.mark.parametrize("user,pw,db", [
    (ALL_USER, ALL_PW, MISSING_DB),    # 1049
    (APP_USER, APP_PW, "mysql"),       # 1044
    (APP_USER, "wrong_pw", "test"),    # 1045 at the proxy
], ids=["unknown-db", "db-not-allowed", "wrong-password"])
def test_failed_change_user_keeps_the_old_login(lp, user, pw, db):
    direct = change_user_outcome(PRIMARY_PORT, user, pw, db)
    through = change_user_outcome(lp.port, user, pw, db)
    assert direct[0][0] != 0, direct
    assert through[0][0] == direct[0][0]
    if direct[0][0] != 1045:  # 1045 names the client's address, which differs
        assert through[0][1] == direct[0][1]
    assert through[1] == direct[1]


def test_change_user_charset_the_server_refuses(lp):
    direct = change_user_outcome(PRIMARY_PORT, APP_USER, APP_PW, None, charset="ucs2")
    through = change_user_outcome(lp.port, APP_USER, APP_PW, None, charset="ucs2")
    assert direct[0][0] == 1231, direct
    assert through == direct


def test_fourth_failed_change_user_is_refused(lp):
    got = []
    for port in (PRIMARY_PORT, lp.port):
        c = CConn(port, APP_USER, APP_PW, "test")
        assert c.connected, c.error
        codes = [c.change_user(APP_USER, "wrong_pw", "test")[0] for _ in range(4)]
        got.append((codes, c.rows("SELECT CURRENT_USER()")))
        c.close()
    assert got[0][0] == [1045, 1045, 1045, ER_UNKNOWN_COM_ERROR], got
    assert got[1] == got[0]


# --------------------------------------------------------------------------- status, commands

def test_login_reports_the_servers_autocommit(lp, sandbox):
    sandbox.sql("primary", "SET GLOBAL autocommit = 0")
    try:
        got = []
        for port in (PRIMARY_PORT, lp.port):
            c = CConn(port, APP_USER, APP_PW, "test")
            assert c.connected, c.error
            got.append((c.server_status() & SERVER_STATUS_AUTOCOMMIT,
                        c.rows("SELECT @@autocommit")))
            c.close()
    finally:
        sandbox.sql("primary", "SET GLOBAL autocommit = 1")
    assert got[0] == (0, ["0"]), got
    assert got[1] == got[0]


def test_login_without_a_database_reports_the_servers_autocommit(lp, sandbox):
    """No database: the proxy answers the login itself, with the writer's
    @@global.autocommit as its monitor last read it, not always on."""
    def login():
        c = CConn(lp.port, APP_USER, APP_PW)
        assert c.connected, c.error
        got = (c.server_status() & SERVER_STATUS_AUTOCOMMIT, c.rows("SELECT @@autocommit"))
        c.close()
        return got

    sandbox.sql("primary", "SET GLOBAL autocommit = 0")
    try:
        c = CConn(PRIMARY_PORT, APP_USER, APP_PW)
        direct = (c.server_status() & SERVER_STATUS_AUTOCOMMIT, c.rows("SELECT @@autocommit"))
        c.close()
        assert direct == (0, ["0"]), direct
        seen = []
        wait_for(lambda: seen.append(login()) or seen[-1] == direct, 30,
                 what=lambda: f"a login through the proxy reporting autocommit off: {seen[-3:]}")
    finally:
        sandbox.sql("primary", "SET GLOBAL autocommit = 1")
    wait_for(lambda: login() == (SERVER_STATUS_AUTOCOMMIT, ["1"]), 30,
             what="autocommit on again for new logins")


def test_com_debug_gets_the_servers_answer(lp):
    got = []
    for port in (PRIMARY_PORT, lp.port):
        c = CConn(port, APP_USER, APP_PW, "test")
        assert c.connected, c.error
        rc = LIB.mysql_dump_debug_info(c.h)
        got.append((rc, c.last_error(), c.rows("SELECT 1")))
        c.close()
    assert got[1] == got[0]
