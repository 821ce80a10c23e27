"""What the proxy sends on its own must not change what the client sees.

With causal_reads = gtid the proxy learns each write's GTID from the write's own OK
packet (its backend connections always negotiate CLIENT_SESSION_TRACK), so it sends no
`SELECT @@last_gtid` of its own; a client that did not negotiate session tracking gets
those OK packets rewritten into the format it expects. Every test runs with a client that
negotiates CLIENT_SESSION_TRACK and with one that does not (the mariadb CLI and
mariadb-test do not).
"""

import pytest
from pymysql.constants import CLIENT, COMMAND

from sy_helpers import (PRIMARY_PORT, one, rows, scalar, sync_replicas, unique,
                        xproxy)  # noqa: F401
from sy_helpers import connect as connect_port

TABLE = "test.sy_invisible"
SESSION_STATE_CHANGED = 0x4000

CLIENTS = {"tracking": CLIENT.SESSION_TRACK, "plain": 0}


@pytest.fixture
def table(sandbox):
    sandbox.sql("primary", f"CREATE TABLE IF NOT EXISTS {TABLE} "
                           "(id INT AUTO_INCREMENT PRIMARY KEY, tag VARCHAR(64), v VARCHAR(3))")
    sync_replicas(sandbox)
    yield TABLE
    sandbox.sql("primary", f"DROP TABLE IF EXISTS {TABLE}")


@pytest.fixture(params=sorted(CLIENTS))
def client_flag(request):
    return CLIENTS[request.param]


def gtid_proxy(xproxy):
    return xproxy(keys={"routing": {"causal_reads": "gtid", "causal_reads_timeout_ms": 5000}})


def connect(sy, client_flag, **kw):
    return sy.connect(client_flag=client_flag | kw.pop("extra_flags", 0), **kw)


def connect_direct(client_flag):
    return connect_port(PRIMARY_PORT, client_flag=client_flag)


def insert_rows(conn, tag, n):
    with conn.cursor() as cur:
        values = ", ".join(["(%s, 'a')"] * n)
        assert cur.execute(f"INSERT INTO {TABLE} (tag, v) VALUES {values}", (tag,) * n) == n


def test_profiles_list_only_the_clients_statements(xproxy, table, client_flag):
    """SHOW PROFILES on the writer after writes and causal reads lists the client's
    statements and nothing of the proxy's (no SELECT @@last_gtid, no tracking SET), also
    after a write that committed nothing (its OK names no GTID: the last one still holds)."""
    sy = gtid_proxy(xproxy)
    tag = unique("prof")
    with connect(sy, client_flag) as c:
        rows(c, "SET profiling = 1")
        insert_rows(c, tag, 1)
        assert scalar(c, f"SELECT COUNT(*) FROM {TABLE} WHERE tag = %s", (tag,)) == 1
        insert_rows(c, tag, 1)
        assert scalar(c, f"SELECT COUNT(*) FROM {TABLE} WHERE tag = %s", (tag,)) == 2
        rows(c, f"UPDATE {TABLE} SET v = 'x' WHERE tag = 'no such tag'")  # commits nothing
        assert scalar(c, f"SELECT COUNT(*) FROM {TABLE} WHERE tag = %s", (tag,)) == 2
        queries = [r[2] for r in rows(c, "/* route=primary */ SHOW PROFILES")]
    assert sum("INSERT INTO" in q for q in queries) == 2, queries
    assert sum("UPDATE" in q for q in queries) == 1, queries
    assert not [q for q in queries if "last_gtid" in q or "session_track" in q], queries


def ok_view(conn, tag):
    """What a client reads in the OKs of an UPDATE, of a batch of two UPDATEs and a SELECT,
    and of SET NAMES (which changes tracked variables): (info messages, status flags)."""
    insert_rows(conn, tag, 2)
    messages, flags = [], []
    with conn.cursor() as cur:
        assert cur.execute(f"UPDATE {TABLE} SET v = 'b' WHERE tag = %s", (tag,)) == 2
        messages.append(conn._result.message)
        flags.append(conn.server_status)
        cur.execute(f"UPDATE {TABLE} SET v = 'c' WHERE tag = %s; "
                    f"UPDATE {TABLE} SET v = 'd' WHERE tag = %s; SELECT 1", (tag, tag))
        messages.append(conn._result.message)
        assert cur.nextset()
        messages.append(conn._result.message)
        assert cur.nextset()
        assert cur.fetchall() == ((1,),)
        assert not cur.nextset()
        cur.execute("SET NAMES utf8mb4")
        flags.append(conn.server_status)
    return messages, flags


def info_of(message):
    """MariaDB length-encodes an OK's info for every client; pymysql keeps the raw rest."""
    return message[1:1 + message[0]]


def test_ok_packets_in_the_clients_format(xproxy, sandbox, table, client_flag):
    """The OKs a client reads through the proxy are in the format the server gives that
    client directly: the same info string (UPDATE's "Rows matched"), also in the OKs
    between the results of a batch, and for a client without session tracking no
    SERVER_SESSION_STATE_CHANGED flag and no session-state block."""
    sy = gtid_proxy(xproxy)
    flags = client_flag | CLIENT.MULTI_STATEMENTS
    with sy.connect(client_flag=flags) as c:
        through, through_flags = ok_view(c, unique("ok"))
    with connect_direct(flags) as c:
        direct, direct_flags = ok_view(c, unique("ok"))
    assert [info_of(m) for m in through] == [info_of(m) for m in direct]
    assert info_of(direct[0]).startswith(b"Rows matched: 2")
    if client_flag & CLIENT.SESSION_TRACK:
        assert through_flags[1] & SESSION_STATE_CHANGED
        return
    assert through == direct
    assert [f & SESSION_STATE_CHANGED for f in through_flags] == [0, 0]
    assert [f & SESSION_STATE_CHANGED for f in direct_flags] == [0, 0]


def test_row_count_found_rows_last_insert_id(xproxy, table, client_flag):
    """ROW_COUNT(), FOUND_ROWS() and LAST_INSERT_ID() after the client's statements are those
    of its statements, with causal reads between them."""
    sy = gtid_proxy(xproxy)
    tag = unique("rc")
    with connect(sy, client_flag) as c:
        insert_rows(c, tag, 3)
        assert scalar(c, "SELECT ROW_COUNT()") == 3
        first_id = scalar(c, "SELECT LAST_INSERT_ID()")
        assert first_id == scalar(c, f"SELECT MIN(id) FROM {TABLE} WHERE tag = %s", (tag,))
        assert scalar(c, "SELECT LAST_INSERT_ID()") == first_id
        assert len(rows(c, f"SELECT id FROM {TABLE} WHERE tag = %s", (tag,))) == 3
        assert scalar(c, "SELECT FOUND_ROWS()") == 3
        with c.cursor() as cur:
            assert cur.execute(f"DELETE FROM {TABLE} WHERE tag = %s", (tag,)) == 3
        assert scalar(c, "SELECT ROW_COUNT()") == 3
        assert scalar(c, f"SELECT COUNT(*) FROM {TABLE} WHERE tag = %s", (tag,)) == 0


def test_warnings_and_diagnostics_of_the_clients_statement(xproxy, table, client_flag):
    """A write's warnings and its diagnostics area survive until the client asks, on a fresh
    session (the proxy sets its connections up first) and after causal reads."""
    sy = gtid_proxy(xproxy)
    tag = unique("w")
    with connect(sy, client_flag) as c:
        rows(c, "SET SESSION sql_mode = ''")
        for _ in range(2):
            with c.cursor() as cur:
                cur.execute(f"INSERT INTO {TABLE} (tag, v) VALUES (%s, 'toolong')", (tag,))
            assert c._result.warning_count == 1
            warnings = rows(c, "SHOW WARNINGS")
            assert [w[1] for w in warnings] == [1265], warnings
            assert scalar(c, "SELECT @@warning_count") == 1
            assert scalar(c, f"SELECT COUNT(*) FROM {TABLE} WHERE tag = %s", (tag,)) >= 1


def test_get_diagnostics_reads_the_clients_statement(xproxy, table, client_flag):
    """GET DIAGNOSTICS goes to the backend that ran the previous statement, and the variables
    it assigns are there for the session's next statements."""
    sy = gtid_proxy(xproxy)
    tag = unique("gd")
    with connect(sy, client_flag) as c:
        rows(c, "SET SESSION sql_mode = ''")
        with c.cursor() as cur:
            cur.execute(f"INSERT INTO {TABLE} (tag, v) VALUES (%s, 'toolong')", (tag,))
        rows(c, "GET DIAGNOSTICS @sy_n = NUMBER")
        rows(c, "GET DIAGNOSTICS CONDITION 1 @sy_errno = MYSQL_ERRNO")
        assert one(c, "SELECT @sy_n, @sy_errno") == (1, 1265)


@pytest.fixture
def global_tracking(sandbox):
    """The primary's new sessions track last_gtid by the server's own setting."""
    before = sandbox.sql("primary", "SELECT @@global.session_track_system_variables")[0][0]
    sandbox.sql("primary", "SET GLOBAL session_track_system_variables = "
                           f"'{before},last_gtid'")
    yield f"{before},last_gtid"
    sandbox.sql("primary", f"SET GLOBAL session_track_system_variables = '{before}'")


def set_statements_seen(conn, tag):
    """Run a write and a read; the session's own count of SET statements and its tracking
    setting, as the server sees them on the connection that wrote."""
    rows(conn, "SET profiling = 1")
    insert_rows(conn, tag, 1)
    assert scalar(conn, f"SELECT COUNT(*) FROM {TABLE} WHERE tag = %s", (tag,)) == 1
    count = rows(conn, "/* route=primary */ SHOW SESSION STATUS LIKE 'Com_set_option'")[0][1]
    tracked = scalar(conn, "/* route=primary */ SELECT @@session.session_track_system_variables")
    return count, tracked


def test_no_tracking_set_when_the_server_tracks_last_gtid(xproxy, table, global_tracking,
                                                          client_flag):
    """With last_gtid in the server's global setting the proxy sends no SET of its own: the
    writer connection counts the client's SET statements only, as a direct one does."""
    sy = gtid_proxy(xproxy)
    with connect(sy, client_flag) as c:
        through = set_statements_seen(c, unique("gt"))
    with connect_direct(client_flag) as c:
        direct = set_statements_seen(c, unique("gt"))
    assert through == direct


def statistics(conn):
    """COM_STATISTICS (mysqladmin status), which pymysql has no method for."""
    conn._execute_command(COMMAND.COM_STATISTICS, b"")
    return conn._read_packet().read_all()


def test_statistics_keeps_the_warnings_of_a_replica_read(xproxy, table, client_flag):
    """COM_STATISTICS between a read that warned (on a replica) and SHOW WARNINGS leaves the
    warnings to ask for, as on a direct connection."""
    sy = gtid_proxy(xproxy)
    with connect(sy, client_flag) as c:
        for _ in range(2):
            assert scalar(c, "SELECT CAST('1x' AS INT)") == 1
            assert statistics(c).startswith(b"Uptime")
            assert [w[1] for w in rows(c, "SHOW WARNINGS")] == [1292]
