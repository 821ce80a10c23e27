"""Result sets and MariaDB protocol features look the same through the proxy as
directly from the server: stored procedures whose status flags carry
SERVER_STATUS_CURSOR_EXISTS from an internal cursor, SIGNAL/RESIGNAL after a
result, ROW-typed variables; extended column metadata (format=json); progress
reports; COM_STMT_BULK_EXECUTE (driven by MariaDB's own mysql_client_test).

Each check runs the same thing against the primary directly and through the
proxy and compares what the client got."""

import os
import re
import subprocess
from pathlib import Path

import pymysql
import pytest

from sy_helpers import (APP_PW, APP_USER, PRIMARY_PORT, REPO, backend, mariadb_cli,  # noqa: F401
                        TcpRelay, unique, wait_for, xproxy)
from test_causal import slow_replicas  # noqa: F401

# Procedures whose results broke clients through the proxy: an internal
# cursor leaves SERVER_STATUS_CURSOR_EXISTS in the status of the result set
# that follows, which is no COM_STMT_EXECUTE cursor.
PROCEDURES = {
    "cursor_then_select": """
        CREATE PROCEDURE {p}() BEGIN
          DECLARE x INT; DECLARE c CURSOR FOR SELECT a FROM {t};
          OPEN c; FETCH c INTO x; CLOSE c; SELECT x; END""",
    "cursor_left_open": """
        CREATE PROCEDURE {p}() BEGIN
          DECLARE x INT; DECLARE c CURSOR FOR SELECT a FROM {t};
          OPEN c; FETCH c INTO x; SELECT x, 'open'; SELECT a FROM {t}; END""",
    "signal_after_result": """
        CREATE PROCEDURE {p}() BEGIN
          DECLARE x INT; DECLARE c CURSOR FOR SELECT a FROM {t};
          OPEN c; FETCH c INTO x; CLOSE c; SELECT x;
          SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'after a result'; END""",
    "resignal_after_result": """
        CREATE PROCEDURE {p}() BEGIN
          DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN SELECT 'handler'; RESIGNAL; END;
          SELECT a FROM {t};
          SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'resignalled'; END""",
    "row_variable": """
        CREATE PROCEDURE {p}() BEGIN
          DECLARE r ROW TYPE OF {t}; DECLARE c CURSOR FOR SELECT a FROM {t};
          OPEN c; FETCH c INTO r; CLOSE c; SELECT r.a; SELECT r.a + 1 AS b; END""",
}


@pytest.fixture
def proc(sandbox):
    """factory(kind) -> name of a procedure of that kind over a one-row table."""
    made = []

    def factory(kind):
        name, table = unique("p"), unique("t")
        sandbox.sql("primary", f"CREATE TABLE test.{table} (a INT); "
                               f"INSERT INTO test.{table} VALUES (10)")
        body = PROCEDURES[kind].format(p=f"test.{name}", t=f"test.{table}")
        sandbox.sql("primary", f"DELIMITER //\n{body} //\nDELIMITER ;\n")
        made.append((name, table))
        return name

    yield factory
    for name, table in made:
        sandbox.sql("primary", f"DROP PROCEDURE IF EXISTS test.{name}; "
                               f"DROP TABLE IF EXISTS test.{table}")


def pymysql_results(port, sql):
    """Every result set of sql (rows, or the error code that ended them), then
    whether the connection still answers."""
    got = []
    with pymysql.connect(host="127.0.0.1", port=port, user="app", password="app_pw",
                         database="test", autocommit=True, read_timeout=30) as c:
        with c.cursor() as cur:
            try:
                cur.execute(sql)
                got.append(cur.fetchall())
                while cur.nextset():
                    got.append(cur.fetchall())
            except pymysql.MySQLError as e:
                got.append(("error", e.args[0]))
            cur.execute("SELECT 'still here'")
            got.append(cur.fetchall())
    return got


@pytest.mark.parametrize("kind", sorted(PROCEDURES))
def test_procedure_results_as_direct_pymysql(sy, proc, kind):
    name = proc(kind)
    direct = pymysql_results(PRIMARY_PORT, f"CALL {name}()")
    assert pymysql_results(sy.port, f"CALL {name}()") == direct


@pytest.mark.parametrize("kind", sorted(PROCEDURES))
def test_procedure_results_as_direct_cli(sy, proc, kind):
    name = proc(kind)
    sql = f"CALL {name}(); SELECT 'after'"
    direct = mariadb_cli(PRIMARY_PORT, sql, "-D", "test", "--skip-ssl")
    through = mariadb_cli(sy.port, sql, "-D", "test")
    assert "malformed" not in through.stderr
    assert (through.returncode, through.stdout, through.stderr) == \
        (direct.returncode, direct.stdout, direct.stderr)


# A mariadb-test script run with the text protocol, --ps-protocol (CALL and
# SELECT as prepared statements) and --cursor-protocol (SELECTs through a
# read-only cursor and COM_STMT_FETCH): its output must be the same through
# the proxy as directly.
MARIADB_TEST_SCRIPT = """
CREATE TABLE {t} (a INT); INSERT INTO {t} VALUES (10), (20), (30);
DELIMITER $$;
CREATE PROCEDURE {p}_cursor() BEGIN DECLARE x INT; DECLARE c CURSOR FOR SELECT a FROM {t};
  OPEN c; FETCH c INTO x; CLOSE c; SELECT x; SELECT a, 'again' FROM {t}; END$$
CREATE PROCEDURE {p}_signal() BEGIN DECLARE x INT; DECLARE c CURSOR FOR SELECT a FROM {t};
  OPEN c; FETCH c INTO x; CLOSE c; SELECT x;
  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'after a result'; END$$
CREATE PROCEDURE {p}_resignal() BEGIN
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN SELECT 'handler'; RESIGNAL; END;
  SELECT a FROM {t} ORDER BY a; SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'resignalled'; END$$
CREATE PROCEDURE {p}_row() BEGIN DECLARE r ROW TYPE OF {t};
  DECLARE c CURSOR FOR SELECT a FROM {t} ORDER BY a;
  OPEN c; FETCH c INTO r; CLOSE c; SELECT r.a; SELECT r.a + 1 AS b; END$$
CREATE PROCEDURE {p}_out(OUT y INT) BEGIN DECLARE c CURSOR FOR SELECT a FROM {t} ORDER BY a;
  OPEN c; FETCH c INTO y; SELECT y * 10 AS z; END$$
DELIMITER ;$$
CALL {p}_out(@y);
SELECT @y;
CALL {p}_cursor();
CALL {p}_cursor();
--error 1644
CALL {p}_signal();
--error 1644
CALL {p}_resignal();
CALL {p}_row();
SELECT a FROM {t} ORDER BY a;
SELECT a, a * 2 FROM {t} WHERE a > 10 ORDER BY a;
SELECT 'still here';
DROP PROCEDURE {p}_cursor; DROP PROCEDURE {p}_signal; DROP PROCEDURE {p}_resignal;
DROP PROCEDURE {p}_row; DROP PROCEDURE {p}_out; DROP TABLE {t};
"""


def mariadb_test(port, script, protocol):
    p = subprocess.run(["mariadb-test", "--no-defaults", "-h127.0.0.1", f"-P{port}", "-uapp",
                        "-papp_pw", "-Dtest", *([protocol] if protocol else [])],
                       input=script, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


@pytest.mark.parametrize("protocol", ["", "--ps-protocol", "--cursor-protocol"])
def test_mariadb_test_procedures_as_direct(sy, protocol):
    def run(port):
        name = unique("m")
        script = MARIADB_TEST_SCRIPT.format(t=f"{name}_t", p=f"{name}_p")
        rc, out, err = mariadb_test(port, script, protocol)
        return rc, out.replace(name, "NAME"), err.replace(name, "NAME")

    direct = run(PRIMARY_PORT)
    assert direct[0] == 0, direct
    assert run(sy.port) == direct


def column_types(port, sql, *args):
    """The Type: lines of mariadb --column-type-info (MariaDB's extended
    metadata shows there as e.g. 'BLOB (format=json)')."""
    p = mariadb_cli(port, sql, "-D", "test", "--column-type-info", "-t", "--comments", *args)
    assert p.returncode == 0, p.stderr
    return [line.strip() for line in p.stdout.splitlines() if line.strip().startswith("Type:")]


def test_extended_metadata_json_column(sy, sandbox):
    table = unique("t")
    sandbox.sql("primary", f"CREATE TABLE test.{table} (j JSON, u UUID, i INET6, n INT); "
                           f"INSERT INTO test.{table} VALUES ('{{}}', UUID(), '::1', 1)")
    try:
        sql = f"SELECT * FROM test.{table} /* route=primary */"
        direct = column_types(PRIMARY_PORT, sql, "--skip-ssl")
        assert "Type:       BLOB (format=json)" in direct
        assert column_types(sy.port, sql) == direct
    finally:
        sandbox.sql("primary", f"DROP TABLE IF EXISTS test.{table}")


def test_proxy_result_set_under_extended_metadata(sy):
    """A result set the proxy builds itself has the (empty) extended type
    info a client that was offered MARIADB_CLIENT_EXTENDED_METADATA reads."""
    p = mariadb_cli(sy.port, "PROXY SHOW route", "--column-type-info", "-t")
    assert p.returncode == 0, p.stderr
    assert "Field   1:  `route`" in p.stdout
    assert "auto" in p.stdout


class MysqlGreetingRelay(TcpRelay):
    """A TCP relay to the primary that makes its greeting look like a MySQL
    server's: CLIENT_MYSQL set, no extended capabilities."""

    def connected(self, client, server):
        head = self._exact(server, 4)
        body = bytearray(self._exact(server, head[0] | head[1] << 8 | head[2] << 16))
        caps_at = body.index(0, 1) + 1 + 4 + 8 + 1
        body[caps_at] |= 0x01                        # CLIENT_MYSQL
        ext_at = caps_at + 2 + 1 + 2 + 2 + 1 + 6
        body[ext_at:ext_at + 4] = b"\0" * 4  # no extended capabilities
        client.sendall(head + bytes(body))
        super().connected(client, server)

    @staticmethod
    def _exact(sock, n):
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            assert chunk, "primary closed the connection during its greeting"
            buf += chunk
        return buf


def test_backend_without_extended_capabilities_fails_cleanly(xproxy):
    """A session that negotiated MariaDB's extended capabilities cannot be
    carried by a backend that does not offer them: the statement fails with
    a clear ERR, and a client that did not ask for them is served."""
    relay = MysqlGreetingRelay()
    try:
        sy = xproxy(backends=[backend("primary", "primary", relay.port)], replicas=())
        p = mariadb_cli(sy.port, "SELECT 1")
        assert p.returncode != 0
        assert "backend lacks client capabilities" in p.stderr, p.stderr
        with sy.connect() as c:  # pymysql asks for none of them
            with c.cursor() as cur:
                cur.execute("SELECT 1")
                assert cur.fetchall() == ((1,),)
    finally:
        relay.close()


# ------------------------------------------------ MariaDB's mysql_client_test

CT_USER, CT_PW = "sy_client_test", "sy_client_test_pw"
CT_TESTS = ["test_progress_reporting", "test_bulk_autoinc", "test_bulk_delete",
            "test_bulk_replace", "test_mdev_34718_bu", "test_mdev_34718_au",
            "test_mdev_34718_bd", "test_mdev_34718_ad",
            # mariadb_stmt_execute_direct, used once bulk operations are offered:
            # PREPARE and EXECUTE pipelined, the execute naming statement id -1
            "test_execute_direct", "test_mdev19838"]


@pytest.fixture
def ct_account(sandbox):
    """An account mysql_client_test can work with (it creates and drops its
    own database)."""
    sandbox.sql("primary", f"CREATE USER IF NOT EXISTS {CT_USER}@'%' IDENTIFIED BY '{CT_PW}'; "
                           f"GRANT ALL ON *.* TO {CT_USER}@'%'")


@pytest.fixture
def client_test_proxy(ct_account, proxy):
    """A proxy in front of the primary only, for that account."""
    return proxy(replicas=(), extra=f"[user.{CT_USER}]\npassword = {CT_PW}\n")


def mysql_client_test(port, name):
    p = subprocess.run(["mysql_client_test", "--host=127.0.0.1", f"--port={port}",
                        f"--user={CT_USER}", f"--password={CT_PW}", "--silent", name],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout + p.stderr


@pytest.mark.parametrize("name", CT_TESTS)
def test_mysql_client_test_as_direct(client_test_proxy, name):
    rc, out = mysql_client_test(PRIMARY_PORT, name)
    assert rc == 0, f"fails directly against the server:\n{out}"
    rc, out = mysql_client_test(client_test_proxy.port, name)
    assert rc == 0, f"fails through the proxy:\n{out}"


BULK_CLIENT = (Path(os.environ.get("SY_BUILD_DIR", REPO / "build-asan")) / "test" / "integration"
               / "c_client" / "sy_bulk_client")


def bulk_twice(port, table, between=lambda: None):
    """sy_bulk_client's output: two bulk inserts of 3 rows, between() run
    between them, then the table's rows."""
    if not BULK_CLIENT.exists():
        pytest.fail(f"{BULK_CLIENT} does not exist: build the sy_bulk_client target")
    # A failed step returns without freeing the client's handles.
    env = {**os.environ, "ASAN_OPTIONS": "detect_leaks=0"}
    p = subprocess.Popen([str(BULK_CLIENT), "127.0.0.1", str(port), CT_USER, CT_PW, table],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        first = p.stdout.readline()
        assert first == "ready\n", first + p.stdout.read()
        between()
        out, _ = p.communicate("go\n", timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, out
    return out


def test_bulk_execute_after_backend_reconnect(client_test_proxy, sandbox):
    """The second bulk execute carries no parameter types; when it runs on a
    new backend connection (the old one was killed), the statement is
    prepared there again and the proxy adds the types the client sent with
    the first one."""
    table = unique("t")

    def kill_backend_connections():
        ids = sandbox.sql("primary", "SELECT id FROM information_schema.processlist "
                                     f"WHERE user = '{CT_USER}'")
        assert ids, "the proxy holds no backend connection"
        for (i,) in ids:
            sandbox.sql("primary", f"KILL CONNECTION {i}")
        wait_for(lambda: re.search("unsolicited|closed an idle", client_test_proxy.log_text()), 30,
                 what="the proxy to see its backend connection closed")

    sandbox.sql("primary", f"CREATE TABLE test.{table} (a INT PRIMARY KEY, b VARCHAR(8))")
    try:
        direct = bulk_twice(PRIMARY_PORT, table)
        assert direct.split("\n")[:6] == [f"{i} r{i}" for i in range(6)]
        sandbox.sql("primary", f"TRUNCATE TABLE test.{table}")
        assert bulk_twice(client_test_proxy.port, table, kill_backend_connections) == direct
    finally:
        sandbox.sql("primary", f"DROP TABLE IF EXISTS test.{table}")


def test_bulk_write_is_read_causally(ct_account, slow_replicas, xproxy):
    """With causal_reads = gtid a read after a bulk insert waits on the
    replica for the bulk's GTID like after any other write: the rows the
    replicas get 2 s late are there."""
    sy = xproxy(keys={"routing": {"causal_reads": "gtid", "causal_reads_timeout_ms": 10000}},
                max_replication_lag=30, users={APP_USER: APP_PW, CT_USER: CT_PW})
    table = unique("t")
    slow_replicas.sql("primary", f"CREATE TABLE test.{table} (a INT PRIMARY KEY, b VARCHAR(8))")
    try:
        out = bulk_twice(sy.port, table)
        assert out.split("\n")[:6] == [f"{i} r{i}" for i in range(6)], out
    finally:
        slow_replicas.sql("primary", f"DROP TABLE IF EXISTS test.{table}")
