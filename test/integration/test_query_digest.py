"""The query digest: statements counted by shape (digest text, account, database), where
they ran and why, through SHOW QUERIES / RESET QUERIES on the admin port and the top
shapes on /metrics; bounded by [admin] digest_max_entries; never a literal shown."""

import re

import pymysql
import pytest

from sy_helpers import connect, free_port, unique, wait_for, xproxy  # noqa: F401 - fixture
from test_admin import admin_connect, admin_error, admin_rows, admin_section, http_get

SECRET = "hunter2-secret-7f3a"
SECRET_NUMBER = "987654321987"
SECRET_HEX = "5EC2E7C0DE42"


def digest_proxy(xproxy, threads=2, **admin_keys):
    admin_port, http_port = free_port(), free_port()
    extra = admin_section(admin_port, http_port)
    extra += "".join(f"{k} = {v}\n" for k, v in admin_keys.items())
    p = xproxy(extra=extra, threads=threads)
    p.admin_port, p.http_port = admin_port, http_port
    return p


def queries(p, sql="SHOW QUERIES"):
    """SHOW QUERIES rows as dicts."""
    cols, rows = admin_rows(p, sql)
    return [dict(zip(cols, r)) for r in rows]


def by_text(p, text):
    found = [q for q in queries(p) if q["digest_text"] == text]
    return found[0] if found else None


def metrics_text(p):
    status, body = http_get(p, "/metrics")
    assert status == 200
    return body


@pytest.fixture
def table(xproxy):
    p = digest_proxy(xproxy)
    name = unique("dg")
    with connect(p.port) as c, c.cursor() as cur:
        cur.execute(f"CREATE TABLE test.{name} (id INT PRIMARY KEY, v VARCHAR(64))")
        cur.execute(f"INSERT INTO test.{name} VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    p.table = f"test.{name}"
    yield p
    with connect(p.port) as c, c.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS test.{name}")


def test_show_queries_counts_shapes_where_and_why(table):
    p, t = table, table.table
    with connect(p.port) as c, c.cursor() as cur:
        for i in range(12):
            cur.execute(f"select v from {t}  where id = {i % 3 + 1}")
        cur.execute(f"SELECT v FROM {t} WHERE id IN (1, 2, 3)")
        cur.execute(f"SELECT v FROM {t} WHERE id IN (2)")
        cur.execute(f"UPDATE {t} SET v = 'z' WHERE id = 3")
        with pytest.raises(pymysql.err.ProgrammingError):
            cur.execute("SELECT * FROM test.no_such_table_dg WHERE k = 5")
    point = wait_for(lambda: by_text(p, f"SELECT v FROM {t} WHERE id = ?"), 10,
                     what="the point select in SHOW QUERIES")
    assert point["count"] == "12" and point["user"] == "app"
    assert point["on_replicas"] == "12" and point["on_primary"] == "0", point
    assert point["rows_sent"] == "12" and point["errors"] == "0"
    assert re.fullmatch(r"(replica[12]=\d+ ?)+", point["where"]), point["where"]
    assert point["reason"] and point["first_seen"] and point["last_seen"]
    assert float(point["min_ms"]) <= float(point["avg_ms"]) <= float(point["max_ms"])
    in_list = by_text(p, f"SELECT v FROM {t} WHERE id IN (...)")
    assert in_list["count"] == "2" and in_list["rows_sent"] == "4"
    update = by_text(p, f"UPDATE {t} SET v = ? WHERE id = ?")
    assert update["on_primary"] == "1" and update["on_replicas"] == "0"
    failed = queries(p, "SHOW QUERIES ORDER BY errors LIMIT 1")
    assert len(failed) == 1
    assert failed[0]["digest_text"] == "SELECT * FROM test.no_such_table_dg WHERE k = ?"
    assert failed[0]["errors"] == "1"
    assert queries(p, "SHOW QUERIES ORDER BY count LIMIT 1")[0]["digest_text"] == point["digest_text"]
    liked = queries(p, "SHOW QUERIES LIKE 'update%'")
    assert [q["digest_text"] for q in liked] == [update["digest_text"]]
    assert len(queries(p, "SHOW QUERIES LIMIT 2")) == 2
    # A wrong option is an ERR 1064 naming what the admin port knows.
    code, msg = admin_error(p, "SHOW QUERIES ORDER BY rows")
    assert code == 1064 and "SHOW QUERIES" in msg


def test_no_literal_is_ever_shown(table):
    """Passwords, strings, numbers, hex and comments never reach SHOW QUERIES, /metrics or
    the status page; the statements that carried them (some refused: app may not manage
    accounts) are there by shape."""
    p, t = table, table.table
    with connect(p.port) as c, c.cursor() as cur:
        cur.execute(f"SELECT v FROM {t} WHERE v = '{SECRET}' OR id = {SECRET_NUMBER}")
        cur.execute(f"UPDATE {t} SET v = \"{SECRET}\" WHERE id = -{SECRET_NUMBER}")
        cur.execute(f"SELECT v FROM {t} WHERE v IN ('{SECRET}', 'x{SECRET}')")
        cur.execute(f"SELECT v FROM {t} WHERE HEX(v) = X'{SECRET_HEX}' OR id = 0x{SECRET_HEX}")
        cur.execute(f"SELECT /* {SECRET} */ 1 -- {SECRET}\n AS col_{SECRET_NUMBER}")
        for sql in (f"CREATE USER 'dg_nobody'@'%' IDENTIFIED BY '{SECRET}'",
                    f"SET PASSWORD FOR 'dg_nobody'@'%' = PASSWORD('{SECRET}')",
                    f"ALTER USER 'dg_nobody'@'%' IDENTIFIED BY '{SECRET}'"):
            with pytest.raises(pymysql.err.MySQLError):
                cur.execute(sql)

    def everything():
        return repr(queries(p)) + metrics_text(p) + http_get(p, "/")[1]

    wait_for(lambda: "SET PASSWORD FOR" in repr(queries(p)), 10,
             what="the statements in the digest")
    shown = everything()
    assert "col_" in shown and "IDENTIFIED BY" in shown
    for literal in (SECRET, SECRET_HEX):
        assert literal not in shown
    # Negative control: an identifier is no literal and is shown, so the search works.
    assert f"col_{SECRET_NUMBER}" in shown
    assert SECRET_NUMBER not in shown.replace(f"col_{SECRET_NUMBER}", "")


def test_digest_keys_by_the_current_database(table, sandbox):
    """USE, COM_INIT_DB, CREATE DATABASE + USE and COM_CHANGE_USER move the session's
    statements to the new default database's row; the login's database is only the first."""
    from test_transparency_login import CConn

    p, fresh = table, unique("dgdb")
    sandbox.sql("primary", f"GRANT ALL PRIVILEGES ON {fresh}.* TO 'app'@'%'")
    try:
        with connect(p.port) as c, c.cursor() as cur:
            cur.execute("SELECT 1 AS in_db")      # no database yet
            cur.execute("USE test")
            cur.execute("SELECT 2 AS in_db")
            c.select_db("sbtest")                 # COM_INIT_DB
            cur.execute("SELECT 3 AS in_db")
            cur.execute(f"CREATE DATABASE {fresh}")
            cur.execute(f"USE {fresh}")
            cur.execute("SELECT 4 AS in_db")
            cur.execute("SELECT 5 AS in_db")
        cc = CConn(p.port, "app", "app_pw", "test")
        assert cc.connected, cc.error
        cc.rows("USE sbtest")
        cc.rows("SELECT 6 AS in_db")
        assert cc.change_user("app", "app_pw", fresh) == (0, "")
        cc.rows("SELECT 7 AS in_db")
        cc.close()

        def counts():
            return {q["db"]: int(q["count"]) for q in queries(p)
                    if q["digest_text"] == "SELECT ? AS in_db"}
        want = {None: 1, "test": 1, "sbtest": 2, fresh: 3}  # NULL: no database
        wait_for(lambda: sum(counts().values()) >= 7, 10, what="the 7 statements counted")
        assert counts() == want
    finally:
        sandbox.sql("primary", f"DROP DATABASE IF EXISTS {fresh}; "
                               f"REVOKE ALL PRIVILEGES ON {fresh}.* FROM 'app'@'%'")


def test_reset_connection_keeps_the_current_database(table):
    """COM_RESET_CONNECTION keeps the server's current database (MariaDB 10.11 does); the
    proxy's does too: the digest keys by it, and a replica connection opened after the
    reset is brought to it."""
    p = table
    with connect(p.port, database="test") as c, c.cursor() as cur:
        cur.execute("USE information_schema")
        c._execute_command(0x1f, b"")   # COM_RESET_CONNECTION: the other backends are dropped
        c._read_ok_packet()
        cur.execute("SELECT 8 AS after_reset")
        seen = set()
        for _ in range(6):              # reads, spread over the replicas
            cur.execute("SELECT DATABASE(), @@port")
            db, port = cur.fetchone()
            assert db == "information_schema", (db, port)
            seen.add(port)
        assert seen - {3310}, "no read reached a replica"

    def keyed():
        return [q["db"] for q in queries(p) if q["digest_text"] == "SELECT ? AS after_reset"]
    wait_for(lambda: keyed(), 10, what="the statement counted")
    assert keyed() == ["information_schema"]


def test_refused_change_user_keeps_the_current_database(table):
    """A refused COM_CHANGE_USER leaves the session as it was, database included (MariaDB
    10.11 does), though the proxy dropped its backends: a replica connection opened after it
    is brought to that database."""
    from test_transparency_login import CConn

    cc = CConn(table.port, "app", "app_pw", "test")
    assert cc.connected, cc.error
    try:
        cc.rows("USE information_schema")
        assert cc.change_user("app", "wrong_pw", "test")[0] == 1045
        shown = {cc.rows("SELECT CONCAT(DATABASE(), ' on ', @@port)")[0] for _ in range(6)}
        assert {s.split(" on ")[0] for s in shown} == {"information_schema"}, shown
        assert any(not s.endswith(" on 3310") for s in shown), "no read reached a replica"
    finally:
        cc.close()


def test_reset_queries_empties_the_digest(table):
    p, t = table, table.table
    with connect(p.port) as c, c.cursor() as cur:
        cur.execute(f"SELECT v FROM {t} WHERE id = 1")
    wait_for(lambda: by_text(p, f"SELECT v FROM {t} WHERE id = ?"), 10, what="a digest row")
    with admin_connect(p) as c, c.cursor() as cur:
        cur.execute("RESET QUERIES")
    assert queries(p) == []


def test_digest_is_bounded_and_folds_the_least_used(xproxy):
    p = digest_proxy(xproxy, threads=1, digest_max_entries=16)
    with connect(p.port) as c, c.cursor() as cur:
        before = sum(int(q["count"]) for q in queries(p))  # the client's own login statements
        for _ in range(5):
            cur.execute("SELECT 1 AS often")
        for i in range(60):
            cur.execute(f"SELECT {i} AS shape_{i}")
    # the worker counts a statement once its answer is on its way: the last may lag a little
    rows = wait_for(lambda: (lambda r: r if sum(int(q["count"]) for q in r) - before >= 65
                             else None)(queries(p)), 10, what="the last statement counted")
    # one worker here: at most 16 shapes plus the other row
    assert len(rows) <= 17, len(rows)
    other = [q for q in rows if q["digest_text"].startswith("other (")]
    assert len(other) == 1 and int(other[0]["count"]) > 0, rows
    folded = int(re.search(r"\((\d+) least used", other[0]["digest_text"]).group(1))
    assert folded > 0
    total = sum(int(q["count"]) for q in rows)
    assert total - before == 65
    assert any(q["digest_text"] == "SELECT ? AS often" for q in rows)
    m = metrics_text(p)
    assert re.search(r"^switchyard_query_digest_folded_total (\d+)$", m, re.M).group(1) == str(folded)


def test_metrics_export_a_bounded_top(xproxy):
    p = digest_proxy(xproxy)
    with connect(p.port) as c, c.cursor() as cur:
        for i in range(40):
            cur.execute(f"SELECT {i} AS top_{i}")
    m = metrics_text(p)
    series = re.findall(r"^switchyard_query_digest_statements_total\{.*\} \d+$", m, re.M)
    assert len(series) == 20
    assert int(re.search(r"^switchyard_query_digest_shapes (\d+)$", m, re.M).group(1)) >= 40


def test_query_digest_off_counts_nothing(xproxy):
    p = digest_proxy(xproxy, query_digest="off")
    with connect(p.port) as c, c.cursor() as cur:
        for i in range(5):
            cur.execute(f"SELECT {i} AS off_{i}")
    assert queries(p) == []
    _, rows = admin_rows(p, "SHOW CONFIG")
    assert ("admin", "query_digest", "off") in [tuple(r) for r in rows]
