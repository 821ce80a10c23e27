"""Transparency of session state, pinning and last-statement information through the proxy.

Every test asserts the result AND where the statement ran (@@port: 3310 primary,
3311/3312 replicas). Expected values come from the same statements on a direct
connection to the primary, so the tests follow MariaDB's own answers.
"""

import pymysql
import pytest

from sy_helpers import (PRIMARY_PORT, REPLICA_PORT_SET, RoutingProxy, connect, error_code, execute,
                        on_replicas, one, ports_of, proxy_factory, rows, scalar, sync_replicas,
                        unique)

PROBE_ROUNDS = 6  # reads per check: round-robin over 2 replicas hits each at least twice


@pytest.fixture
def routing_proxy(sandbox, tmp_path, request):
    """Factory: routing_proxy(routing={...}, **settings) -> started proxy with extra [routing] keys."""
    yield from proxy_factory(request, lambda i, routing=None, **settings: RoutingProxy(
        tmp_path / f"rproxy{i}", routing=routing, **settings))


@pytest.fixture
def table7(sandbox):
    """test.<unique> (id AUTO_INCREMENT, v INT) with 7 rows, present on both replicas."""
    name = unique("ss")
    sandbox.sql("primary", f"CREATE TABLE test.{name} (id INT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL);"
                           f"INSERT INTO test.{name} (v) VALUES (10),(20),(30),(40),(50),(60),(70)")
    sync_replicas(sandbox)
    yield name
    sandbox.sql("primary", f"DROP TABLE IF EXISTS test.{name}")


def dbconn(sy, **kw):
    """Connection through the proxy, database test unless told otherwise."""
    kw.setdefault("database", "test")
    return sy.connect(**kw)


def assert_on_primary(conn, n=3):
    got = ports_of(conn, n)
    assert got == [PRIMARY_PORT] * n, f"reads ran on {got}, expected the primary only"


def assert_rotating(conn, n=PROBE_ROUNDS):
    got = ports_of(conn, n)
    assert set(got) == REPLICA_PORT_SET, f"reads ran on {got}, expected both replicas"


# --------------------------------------------------------------------------- session state

# (id, connect kwargs, statements, probe whose last column is @@port)
SESSION_CASES = [
    ("set_names_latin1", {}, ["SET NAMES latin1"],
     "SELECT @@character_set_client, @@character_set_connection, @@character_set_results,"
     " @@collation_connection, @@port"),
    # The handshake says latin1: SET CHARACTER SET utf8mb4 must be visible on top of it.
    ("set_character_set_utf8mb4", {"charset": "latin1"}, ["SET CHARACTER SET utf8mb4"],
     "SELECT @@character_set_client, @@character_set_connection, @@character_set_results,"
     " @@collation_connection, @@port"),
    # ANSI_QUOTES: "port" is the derived table's column (7), not a string.
    ("sql_mode_ansi_quotes", {}, ["SET SESSION sql_mode='ANSI_QUOTES'"],
     "SELECT @@sql_mode, \"port\", @@port FROM (SELECT 7 AS port) AS d"),
    ("time_zone", {}, ["SET time_zone='+05:00'"],
     "SELECT @@time_zone, FROM_UNIXTIME(0), @@port"),
    # MariaDB 10.11 has @@tx_isolation; @@transaction_isolation only exists from 11.1 on.
    ("isolation_level", {}, ["SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"],
     "SELECT @@tx_isolation, @@port"),
    ("user_variable", {}, ["SET @x = 42"], "SELECT @x, @@port"),
    ("multi_assignment", {}, ["SET @x = 1, SESSION time_zone = '+01:00', @y = @x + 1"],
     "SELECT @x, @y, @@time_zone, @@port"),
    ("use_test", {"database": None}, ["USE test"],
     "SELECT DATABASE(), COUNT(*) >= 0, @@port FROM t_where"),
    ("all_in_order", {"database": None},
     ["SET NAMES latin1", "USE test", "SET @x = 'one'", "SET time_zone='+05:00'",
      "SET SESSION sql_mode='ANSI_QUOTES'", "SET @x = CONCAT(@x, '-two')",
      "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", "SET time_zone='-03:00'"],
     "SELECT @@character_set_results, DATABASE(), @x, @@time_zone, @@sql_mode, @@tx_isolation,"
     " \"port\", @@port FROM (SELECT 7 AS port) AS d"),
]


def direct_answer(kwargs, statements, probe):
    """(answer after statements, answer on a fresh session) on a direct primary connection."""
    with connect(PRIMARY_PORT, **{"database": "test", **kwargs}) as c:
        baseline = None
        try:
            baseline = one(c, probe)[:-1]
        except pymysql.err.MySQLError:
            pass  # e.g. no database selected yet
        for s in statements:
            execute(c, s)
        return one(c, probe)[:-1], baseline


@pytest.mark.parametrize("kwargs,statements,probe",
                         [c[1:] for c in SESSION_CASES], ids=[c[0] for c in SESSION_CASES])
def test_session_state_visible_on_both_replicas(sy, kwargs, statements, probe):
    expected, baseline = direct_answer(kwargs, statements, probe)
    assert expected != baseline, "test is meaningless: the statements change nothing visible"
    with dbconn(sy, **kwargs) as c:
        if kwargs.get("database", "x") is not None:
            on_replicas(c, probe)  # replica connections exist before the change
        for s in statements:
            execute(c, s)
        seen = on_replicas(c, probe, n=PROBE_ROUNDS)
        assert seen == {p: {tuple(expected)} for p in REPLICA_PORT_SET}
        # and on the primary (PROXY-free way: inside a transaction)
        execute(c, "BEGIN")
        row = one(c, probe)
        execute(c, "COMMIT")
        assert row[-1] == PRIMARY_PORT and tuple(row[:-1]) == tuple(expected)


def test_set_statement_for_is_not_session_state(sy):
    """MariaDB's SET STATEMENT var=value FOR <stmt> changes var for that one statement only."""
    with dbconn(sy) as c:
        assert_rotating(c)
        r = one(c, "SET STATEMENT max_statement_time = 7 FOR SELECT @@max_statement_time, 42, @@port")
        assert r[:2] == (7, 42)
        execute(c, "SET @after_set_statement = 1")
        seen = on_replicas(c, "SELECT @@max_statement_time, @after_set_statement, @@port")
        assert seen == {p: {(0, 1)} for p in REPLICA_PORT_SET}
        # FOR UPDATE runs on the primary; FROM DUAL gives one row whatever the tables hold
        assert one(c, "SELECT @@max_statement_time, @@port FROM DUAL FOR UPDATE") == (0, PRIMARY_PORT)


def test_failed_set_is_not_replayed(sy):
    with dbconn(sy) as c:
        assert_rotating(c)
        assert error_code(c, "SET time_zone = 'Not/AZone'") == 1298
        assert error_code(c, "USE sy_no_such_database") in (1044, 1049)  # app: 1044 access denied
        execute(c, "SET @ok = 'yes'")
        seen = on_replicas(c, "SELECT @ok, DATABASE(), @@time_zone = @@global.time_zone, @@port")
        assert seen == {p: {("yes", "test", 1)} for p in REPLICA_PORT_SET}


def test_pymysql_select_db(sy):
    with dbconn(sy) as c:
        assert on_replicas(c, "SELECT DATABASE(), @@port") == {p: {("test",)} for p in REPLICA_PORT_SET}
        c.select_db("sbtest")  # COM_INIT_DB
        assert on_replicas(c, "SELECT DATABASE(), @@port") == {p: {("sbtest",)} for p in REPLICA_PORT_SET}
        c.select_db("test")
        seen = on_replicas(c, "SELECT DATABASE(), COUNT(*) >= 0, @@port FROM t_where")
        assert seen == {p: {("test", 1)} for p in REPLICA_PORT_SET}


def test_pymysql_autocommit_toggle(sy):
    with dbconn(sy) as c:
        assert_rotating(c)
        c.autocommit(False)  # SET AUTOCOMMIT = 0
        assert one(c, "SELECT @@autocommit, @@port") == (0, PRIMARY_PORT)
        assert_on_primary(c)
        c.commit()
        assert_on_primary(c)  # autocommit still off
        c.autocommit(True)
        assert on_replicas(c, "SELECT @@autocommit, @@port") == {p: {(1,)} for p in REPLICA_PORT_SET}


UNREPLAYABLE = "session state cannot be replayed on replicas"


def assert_pinned_unreplayable(c):
    """The proxy cannot give the replicas this state, so it keeps the session on the primary."""
    assert one(c, "PROXY EXPLAIN SELECT 1")[1] == UNREPLAYABLE
    assert set(ports_of(c, 4)) == {PRIMARY_PORT}


@pytest.mark.parametrize("assign", ["SELECT @a := 5", "SELECT 5 INTO @a"])
def test_user_variable_assigned_in_select_stays_visible(sy, assign):
    """`SELECT @a := 5` changes session state like SET does; every later read must see it."""
    with dbconn(sy) as c:
        assert_rotating(c)
        execute(c, assign)
        assert_pinned_unreplayable(c)
        assert all(one(c, "SELECT @a, @@port") == (5, PRIMARY_PORT) for _ in range(4))


def test_user_variable_from_query_keeps_its_value(sy, sandbox, table7):
    """SET @v = (SELECT ...) is evaluated once, when it runs: a replica must not re-evaluate it
    against newer data when the state is replayed there."""
    with dbconn(sy) as c:
        assert_rotating(c)
        execute(c, f"SET @v = (SELECT SUM(v) FROM test.{table7})")
        execute(c, f"INSERT INTO test.{table7} (v) VALUES (1000)")
        sync_replicas(sandbox)
        # a replica would re-evaluate the query on newer data: the session stays on the primary
        assert_pinned_unreplayable(c)
        assert all(one(c, "SELECT @v, @@port") == (280, PRIMARY_PORT) for _ in range(4))
    with dbconn(sy) as c:
        execute(c, f"SET @v = (SELECT SUM(v) FROM test.{table7})")
        execute(c, f"DELETE FROM test.{table7} WHERE v = 1000")
        sync_replicas(sandbox)
        assert_pinned_unreplayable(c)
        assert all(one(c, "SELECT @v, @@port") == (1280, PRIMARY_PORT) for _ in range(4))


# --------------------------------------------------------------------------- pinning

def test_temporary_table_pins_until_dropped(sy):
    with dbconn(sy) as c:
        assert_rotating(c)
        execute(c, "CREATE TEMPORARY TABLE sy_tmp1 (a INT)")
        execute(c, "INSERT INTO sy_tmp1 VALUES (1), (2)")
        assert_on_primary(c)
        assert one(c, "SELECT COUNT(*), @@port FROM sy_tmp1") == (2, PRIMARY_PORT)
        execute(c, "CREATE TEMPORARY TABLE sy_tmp2 (a INT)")
        execute(c, "DROP TEMPORARY TABLE sy_tmp1")
        assert_on_primary(c)  # sy_tmp2 still exists
        execute(c, "DROP TEMPORARY TABLE sy_tmp2")
        assert_rotating(c)
        # one statement dropping two
        execute(c, "CREATE TEMPORARY TABLE sy_tmp3 (a INT)")
        execute(c, "CREATE TEMPORARY TABLE sy_tmp4 (a INT)")
        assert_on_primary(c)
        execute(c, "DROP TEMPORARY TABLE sy_tmp3, sy_tmp4")
        assert_rotating(c)


def test_drop_temporary_table_if_exists_of_missing_table_keeps_pin(sy):
    """DROP TEMPORARY TABLE IF EXISTS of a table that does not exist drops nothing."""
    with dbconn(sy) as c:
        execute(c, "CREATE TEMPORARY TABLE sy_tmp_keep (a INT)")
        execute(c, "DROP TEMPORARY TABLE IF EXISTS sy_tmp_never_created")
        assert_on_primary(c)
        assert one(c, "SELECT COUNT(*), @@port FROM sy_tmp_keep") == (0, PRIMARY_PORT)
        execute(c, "DROP TEMPORARY TABLE sy_tmp_keep")
        assert_rotating(c)


def test_lock_tables_pins_until_unlock(sy):
    with dbconn(sy) as c:
        assert_rotating(c)
        execute(c, "LOCK TABLES t_where READ")
        assert_on_primary(c)
        assert one(c, "SELECT COUNT(*) >= 0, @@port FROM t_where") == (1, PRIMARY_PORT)
        execute(c, "UNLOCK TABLES")
        assert_rotating(c)


def test_named_locks_pin_until_released(sy):
    a, b = unique("lk"), unique("lk")
    with dbconn(sy) as c:
        assert_rotating(c)
        assert one(c, "SELECT GET_LOCK(%s, 5), @@port", (a,)) == (1, PRIMARY_PORT)
        assert one(c, "SELECT GET_LOCK(%s, 5), @@port", (b,)) == (1, PRIMARY_PORT)
        assert_on_primary(c)
        assert one(c, "SELECT RELEASE_LOCK(%s), @@port", (a,)) == (1, PRIMARY_PORT)
        assert_on_primary(c)  # b still held
        assert one(c, "SELECT RELEASE_LOCK(%s), @@port", (b,)) == (1, PRIMARY_PORT)
        assert_rotating(c)
        assert scalar(c, "SELECT GET_LOCK(%s, 5)", (a,)) == 1
        assert scalar(c, "SELECT GET_LOCK(%s, 5)", (b,)) == 1
        assert_on_primary(c)
        assert one(c, "SELECT RELEASE_ALL_LOCKS(), @@port") == (2, PRIMARY_PORT)
        assert_rotating(c)


def test_autocommit_0_pins_until_autocommit_1(sy):
    with dbconn(sy) as c:
        assert_rotating(c)
        execute(c, "SET autocommit=0")
        assert_on_primary(c)
        execute(c, "COMMIT")
        assert_on_primary(c)
        execute(c, "SET autocommit=1")
        assert_rotating(c)


@pytest.mark.parametrize("finish", [["XA END '{x}'", "XA PREPARE '{x}'", "XA COMMIT '{x}'"],
                                    ["XA END '{x}'", "XA COMMIT '{x}' ONE PHASE"],
                                    ["XA END '{x}'", "XA ROLLBACK '{x}'"]],
                         ids=["two_phase", "one_phase", "rollback"])
def test_xa_transaction_pins_until_it_ends(sy, sandbox, finish):
    xid, tag = unique("xa"), unique()
    with dbconn(sy) as c:
        assert_rotating(c)
        execute(c, f"XA START '{xid}'")
        assert_on_primary(c)
        execute(c, "INSERT INTO t_where (port, tag) VALUES (@@port, %s)", (tag,))
        assert one(c, "SELECT COUNT(*), @@port FROM t_where WHERE tag=%s", (tag,)) == (1, PRIMARY_PORT)
        for s in finish:
            execute(c, s.format(x=xid))
        assert_rotating(c)
    committed = "ROLLBACK" not in finish[-1]
    assert sandbox.sql("primary", f"SELECT COUNT(*) FROM test.t_where WHERE tag='{tag}'") == \
        [["1" if committed else "0"]]


@pytest.mark.parametrize("begin,end", [("BEGIN", "COMMIT"), ("START TRANSACTION", "ROLLBACK"),
                                       ("START TRANSACTION READ WRITE", "COMMIT"),
                                       ("BEGIN WORK", "ROLLBACK WORK")])
def test_transaction_with_errors_stays_on_primary(sy, begin, end):
    tag = unique()
    with dbconn(sy) as c:
        assert_rotating(c)
        execute(c, begin)
        assert_on_primary(c)
        execute(c, "INSERT INTO t_where (port, tag) VALUES (@@port, %s)", (tag,))
        assert error_code(c, "SELECT * FROM sy_no_such_table") == 1146
        assert_on_primary(c)
        assert error_code(c, "SELEC 1") == 1064
        assert one(c, "SELECT @@in_transaction, @@port") == (1, PRIMARY_PORT)
        id_ = scalar(c, "SELECT id FROM t_where WHERE tag=%s", (tag,))
        assert error_code(c, "INSERT INTO t_where (id, port, tag) VALUES (%s, 0, 'dup')", (id_,)) == 1062
        assert one(c, "SELECT COUNT(*), @@port FROM t_where WHERE tag=%s", (tag,)) == (1, PRIMARY_PORT)
        execute(c, end)
        assert_rotating(c)
        assert one(c, "SELECT @@in_transaction, @@port")[0] == 0


def test_read_only_transaction_runs_on_one_replica(sy, table7):
    with dbconn(sy) as c:
        for _ in range(2):  # twice: the rotation must continue after the transaction
            assert_rotating(c)
            execute(c, "START TRANSACTION READ ONLY")
            got = ports_of(c, 5)
            assert len(set(got)) == 1 and got[0] in REPLICA_PORT_SET, f"read-only trx ran on {got}"
            port = got[0]
            assert one(c, "SELECT @@in_transaction, @@port") == (1, port)
            assert one(c, f"SELECT SUM(v), @@port FROM {table7}") == (280, port)
            # A write fails: on the primary MariaDB says 1792 (read-only transaction), on a
            # read_only replica it says 1290 first.
            assert error_code(c, f"INSERT INTO {table7} (v) VALUES (1)") in (1792, 1290)
            assert one(c, "SELECT @@in_transaction, @@port") == (1, port)
            execute(c, "COMMIT")
            assert_rotating(c)
        execute(c, "START TRANSACTION READ ONLY")
        port = scalar(c, "SELECT @@port")
        execute(c, "ROLLBACK")
        assert port in REPLICA_PORT_SET
        assert_rotating(c)


def test_read_only_transaction_on_primary_when_configured(routing_proxy, table7):
    sy = routing_proxy(routing={"read_only_transactions": "primary"})
    with dbconn(sy) as c:
        assert_rotating(c)
        execute(c, "START TRANSACTION READ ONLY")
        assert_on_primary(c, 4)
        assert one(c, f"SELECT SUM(v), @@port FROM {table7}") == (280, PRIMARY_PORT)
        assert error_code(c, f"INSERT INTO {table7} (v) VALUES (1)") == 1792
        execute(c, "COMMIT")
        assert_rotating(c)


# --------------------------------------------------------------------------- last-statement info

def test_sql_calc_found_rows(sy, table7):
    """FOUND_ROWS() runs where the SQL_CALC_FOUND_ROWS SELECT ran (a replica or the primary:
    the spec leaves the SELECT's place to the classifier)."""
    with dbconn(sy) as c:
        for limit in (1, 2, 3, 1):
            r = rows(c, f"SELECT SQL_CALC_FOUND_ROWS id, @@port FROM {table7} ORDER BY id LIMIT {limit}")
            assert [x[0] for x in r] == list(range(1, limit + 1))
            port = r[0][1]
            assert one(c, "SELECT FOUND_ROWS(), @@port") == (7, port)
            assert_rotating(c, 2)  # no pin left behind


def test_found_rows_after_plain_select_on_same_replica(sy, table7):
    with dbconn(sy) as c:
        ports = set()
        for n in (3, 5, 2, 6):
            r = rows(c, f"SELECT id, @@port FROM {table7} WHERE id <= %s", (n,))
            assert len(r) == n
            port = r[0][1]
            assert one(c, "SELECT FOUND_ROWS(), @@port") == (n, port)
            ports.add(port)
        assert ports == REPLICA_PORT_SET


def test_show_warnings_after_warning_select_on_replica(sy):
    with dbconn(sy) as c:
        ports = set()
        for _ in range(4):
            val, port = one(c, "SELECT CAST('abc' AS SIGNED), @@port")
            assert val == 0
            ports.add(port)
            assert rows(c, "SHOW WARNINGS") == (("Warning", 1292, "Truncated incorrect INTEGER value: 'abc'"),)
            assert rows(c, "SHOW COUNT(*) WARNINGS") == ((1,),)
        assert ports == REPLICA_PORT_SET
        # @@warning_count: about the previous statement too
        _, port = one(c, "SELECT 1/0, @@port")
        assert one(c, "SELECT @@warning_count, @@port") == (1, port)


def test_row_count_after_update(sy, table7):
    with dbconn(sy) as c:
        assert_rotating(c)  # the session has replica connections
        assert execute(c, f"UPDATE {table7} SET v = v + 1 WHERE id <= 4") == 4
        assert one(c, "SELECT ROW_COUNT(), @@port") == (4, PRIMARY_PORT)
        assert execute(c, f"DELETE FROM {table7} WHERE id = 7") == 1
        assert_rotating(c, 2)
        # ROW_COUNT() of a SELECT is -1, on whatever server it ran
        port = scalar(c, "SELECT @@port")
        assert one(c, "SELECT ROW_COUNT(), @@port") == (-1, port)


def test_last_insert_id_after_insert_and_replica_read(sy, table7):
    with dbconn(sy) as c, c.cursor() as cur:
        assert_rotating(c)
        cur.execute(f"INSERT INTO {table7} (v) VALUES (99)")
        new_id = cur.lastrowid
        assert new_id == 8
        assert one(c, "SELECT LAST_INSERT_ID(), @@port") == (new_id, PRIMARY_PORT)
        assert_rotating(c)  # plain reads went to replicas in between
        assert one(c, f"SELECT COUNT(*) >= 0, @@port FROM {table7}")[1] in REPLICA_PORT_SET
        assert one(c, "SELECT LAST_INSERT_ID(), @@port") == (new_id, PRIMARY_PORT)
        cur.execute(f"INSERT INTO {table7} (v) VALUES (1), (2), (3)")
        assert cur.lastrowid == 9  # the first id of a multi-row insert
        assert scalar(c, "SELECT @@port") in REPLICA_PORT_SET
        assert one(c, "SELECT LAST_INSERT_ID(), @@port") == (9, PRIMARY_PORT)
