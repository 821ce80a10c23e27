"""Routing rules of issue 8: state made where the proxy cannot see it (CALL,
EXECUTE IMMEDIATE), several temporary tables in one batch, latin1 whitespace,
server-wide status on the primary and PROXY SET route = replica NAME."""

from pymysql.constants import CLIENT

from sy_helpers import (PRIMARY_PORT, REPLICA_PORT_SET, REPLICA_PORTS, error_code, execute,
                        global_status, on_replicas, one, ports_of, rows, scalar, unique)


def dbconn(sy, **kw):
    kw.setdefault("database", "test")
    return sy.connect(**kw)


def explain(conn, stmt):
    """(classification, reason, target, backend) of PROXY EXPLAIN stmt."""
    return rows(conn, "PROXY EXPLAIN " + stmt)[0][:4]


def run_batch(conn, sql):
    """Run a multi-statement text and read every result."""
    with conn.cursor() as cur:
        cur.execute(sql)
        while cur.nextset():
            pass


# --- item 6: CALL and EXECUTE IMMEDIATE pin the session -----------------------

def test_state_set_by_a_procedure_is_read_on_the_primary(sy, sandbox):
    p = unique("p")
    with dbconn(sy) as ddl:  # its body's CREATE TEMPORARY pins this connection
        execute(ddl, f"CREATE PROCEDURE test.{p}() BEGIN SET @pv = 42; "
                     f"CREATE TEMPORARY TABLE test.{p}_tmp (a INT); "
                     f"INSERT INTO test.{p}_tmp VALUES (7); END")
    with dbconn(sy) as c:
        try:
            assert set(ports_of(c, 4)) == REPLICA_PORT_SET
            execute(c, f"CALL test.{p}()")
            for _ in range(4):
                assert one(c, "SELECT @pv, @@port") == (42, PRIMARY_PORT)
                assert one(c, f"SELECT a, @@port FROM test.{p}_tmp") == (7, PRIMARY_PORT)
            _, reason, target, _ = explain(c, "SELECT 1")
            assert target == "primary"
            assert reason == "after CALL or EXECUTE: state the proxy cannot see"
        finally:
            sandbox.sql("primary", f"DROP PROCEDURE IF EXISTS test.{p}")


def test_a_failed_call_still_pins(sy, sandbox):
    p = unique("p")
    with dbconn(sy) as c:
        execute(c, f"CREATE PROCEDURE test.{p}() BEGIN SET @pf = 5; "
                   f"SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'half done'; END")
        try:
            assert error_code(c, f"CALL test.{p}()") == 1644
            assert ports_of(c, 4) == [PRIMARY_PORT] * 4
            assert one(c, "SELECT @pf, @@port") == (5, PRIMARY_PORT)
        finally:
            sandbox.sql("primary", f"DROP PROCEDURE IF EXISTS test.{p}")


def test_execute_immediate_pins(sy):
    with dbconn(sy) as c:
        execute(c, "EXECUTE IMMEDIATE 'SET @ei = 3'")
        for _ in range(4):
            assert one(c, "SELECT @ei, @@port") == (3, PRIMARY_PORT)


# --- item 7: every temporary table of a batch counts -------------------------

def test_two_temporary_tables_in_one_batch(sy):
    with dbconn(sy, client_flag=CLIENT.MULTI_STATEMENTS) as c:
        run_batch(c, "CREATE TEMPORARY TABLE ta (a INT); CREATE TEMPORARY TABLE tb (a INT)")
        execute(c, "DROP TEMPORARY TABLE ta")
        for _ in range(4):
            assert one(c, "SELECT COUNT(*), @@port FROM tb") == (0, PRIMARY_PORT)
        execute(c, "DROP TEMPORARY TABLE tb")
        assert set(ports_of(c, 4)) == REPLICA_PORT_SET


# --- item 8: the connection's character set ---------------------------------

def test_latin1_nbsp_is_whitespace(sy):
    with dbconn(sy, charset="latin1") as c:
        assert set(ports_of(c, 4)) == REPLICA_PORT_SET
        # a SET the proxy recognises is replayed on the replicas (before any statement that
        # goes to the primary: after one, reads of user variables stay there)
        execute(c, "SET\xa0@nb = 5")
        assert on_replicas(c, "SELECT @nb, @@port") == {p: {(5,)} for p in REPLICA_PORT_SET}
        for _ in range(4):
            assert scalar(c, "SELECT @@port FROM (SELECT 1) AS x FOR\xa0UPDATE") == PRIMARY_PORT


def test_set_names_latin1_changes_the_lexing(sy):
    with dbconn(sy) as c:  # utf8mb4 at login
        execute(c, "SET NAMES latin1")
        with c.cursor() as cur:
            for _ in range(4):
                cur.execute("SELECT @@port FROM (SELECT 1) AS x FOR\xa0UPDATE".encode("latin1"))
                assert cur.fetchone()[0] == PRIMARY_PORT


# --- item 10: server-wide status on the primary, a chosen replica -----------

def test_server_wide_status_goes_to_the_primary(sy, sandbox):
    with dbconn(sy) as c:
        for _ in range(4):
            assert rows(c, "SHOW GLOBAL VARIABLES LIKE 'port'") == (("port", str(PRIMARY_PORT)),)
            assert scalar(c, "SELECT @@global.read_only") == 0
        for stmt in ("SHOW GLOBAL STATUS", "SHOW GLOBAL VARIABLES", "SELECT @@global.read_only",
                     "SHOW ENGINE INNODB STATUS", "SHOW OPEN TABLES"):
            assert explain(c, stmt)[2:] == ("primary", "primary"), stmt
        names = ("primary", *REPLICA_PORTS)
        before = {n: global_status(sandbox, n, "Com_show_status") for n in names}
        for _ in range(4):
            assert len(rows(c, "SHOW GLOBAL STATUS")) > 100
        after = {n: global_status(sandbox, n, "Com_show_status") for n in names}
        # each server counts its own SHOW GLOBAL STATUS LIKE of the measurement too
        assert {n: after[n] - before[n] for n in names} == {"primary": 5, "replica1": 1,
                                                             "replica2": 1}


def test_route_to_a_named_replica(sy):
    with dbconn(sy) as c:
        execute(c, "PROXY SET route = replica replica2")
        assert scalar(c, "PROXY SHOW route") == "replica replica2"
        assert ports_of(c, 8) == [REPLICA_PORTS["replica2"]] * 8
        assert rows(c, "SHOW GLOBAL VARIABLES LIKE 'port'") == (
            ("port", str(REPLICA_PORTS["replica2"])),)
        assert explain(c, "SELECT 1")[3] == "replica2"
        assert error_code(c, "PROXY SET route = replica nosuch") == 1231
        assert error_code(c, "PROXY SET route = replica primary") == 1231
        assert scalar(c, "PROXY SHOW route") == "replica replica2"  # unchanged
        execute(c, "PROXY SET route = replica")
        assert scalar(c, "PROXY SHOW route") == "replica"
        assert set(ports_of(c, 4)) == REPLICA_PORT_SET
        execute(c, "PROXY SET route = auto")
        assert set(ports_of(c, 4)) == REPLICA_PORT_SET
