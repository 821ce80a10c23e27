"""Result sets and MariaDB protocol features look the same through the proxy as
directly from the server: stored procedures whose status flags carry
SERVER_STATUS_CURSOR_EXISTS from an internal cursor, SIGNAL/RESIGNAL after a
result, ROW-typed variables; extended column metadata (format=json); progress
reports; COM_STMT_BULK_EXECUTE (driven by MariaDB's own mysql_client_test).

Each check runs the same thing against the primary directly and through the
proxy and compares what the client got."""

import pymysql
import pytest

from sy_helpers import PRIMARY_PORT, mariadb_cli, unique

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
