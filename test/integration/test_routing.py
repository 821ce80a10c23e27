"""Where statements run: reads round-robin on replicas, writes and transactions on the primary,
session state (USE, SET) replayed on replicas."""

from collections import Counter

import pytest

from sy_helpers import PRIMARY_PORT, REPLICA_PORT_SET, scalar, one, unique, wait_for


def ports_of(conn, n, sql="SELECT @@port"):
    return [scalar(conn, sql) for _ in range(n)]


def test_reads_round_robin_over_replicas(sy):
    with sy.connect() as c:
        ports = ports_of(c, 100)
    counts = Counter(ports)
    assert PRIMARY_PORT not in counts, f"reads reached the primary: {counts}"
    assert counts == {3311: 50, 3312: 50}, f"not an exact round-robin: {counts}"


def test_insert_runs_on_primary(sy, sandbox):
    tag = unique()
    with sy.connect() as c:
        with c.cursor() as cur:
            n = cur.execute("INSERT INTO test.t_where (port, tag) VALUES (@@port, %s)", (tag,))
            assert n == 1
    rows = sandbox.sql("primary", f"SELECT port FROM test.t_where WHERE tag='{tag}'")
    assert rows == [["3310"]]


def test_update_and_delete_run_on_primary(sy, sandbox):
    tag = unique()
    with sy.connect() as c, c.cursor() as cur:
        cur.execute("INSERT INTO test.t_where (port, tag) VALUES (0, %s)", (tag,))
        assert cur.execute("UPDATE test.t_where SET port=@@port WHERE tag=%s", (tag,)) == 1
        assert sandbox.sql("primary", f"SELECT port FROM test.t_where WHERE tag='{tag}'") == [["3310"]]
        assert cur.execute("DELETE FROM test.t_where WHERE tag=%s", (tag,)) == 1
    assert sandbox.sql("primary", f"SELECT COUNT(*) FROM test.t_where WHERE tag='{tag}'") == [["0"]]


@pytest.mark.parametrize("begin", ["BEGIN", "START TRANSACTION", "START TRANSACTION READ WRITE"])
def test_reads_in_transaction_run_on_primary(sy, begin):
    with sy.connect() as c:
        with c.cursor() as cur:
            cur.execute(begin)
            assert ports_of(c, 4) == [PRIMARY_PORT] * 4
            cur.execute("COMMIT")
        # Transaction over: reads go back to the replicas.
        assert set(ports_of(c, 4)) == REPLICA_PORT_SET


def test_read_only_transaction_runs_on_one_replica(sy):
    with sy.connect() as c:
        with c.cursor() as cur:
            cur.execute("START TRANSACTION READ ONLY")
            ports = ports_of(c, 6)
            assert len(set(ports)) == 1 and ports[0] in REPLICA_PORT_SET, ports
            cur.execute("COMMIT")
        assert set(ports_of(c, 4)) == REPLICA_PORT_SET


def test_pymysql_begin_commit_rollback(sy):
    with sy.connect() as c:
        c.begin()
        assert ports_of(c, 3) == [PRIMARY_PORT] * 3
        c.commit()
        assert set(ports_of(c, 4)) == REPLICA_PORT_SET
        c.begin()
        assert ports_of(c, 2) == [PRIMARY_PORT] * 2
        c.rollback()
        assert set(ports_of(c, 4)) == REPLICA_PORT_SET


def test_autocommit_off_pins_reads_to_primary(sy):
    with sy.connect() as c:
        assert set(ports_of(c, 4)) == REPLICA_PORT_SET
        with c.cursor() as cur:
            cur.execute("SET autocommit=0")
            assert ports_of(c, 4) == [PRIMARY_PORT] * 4
            cur.execute("COMMIT")
            # Still autocommit=0: the next statement opens a new transaction.
            assert ports_of(c, 3) == [PRIMARY_PORT] * 3
            cur.execute("SET autocommit=1")
        assert set(ports_of(c, 4)) == REPLICA_PORT_SET


def test_pymysql_autocommit_false_session_stays_on_primary(sy):
    # pymysql's default (autocommit=False) sends SET AUTOCOMMIT = 0 at connect.
    with sy.connect(autocommit=False) as c:
        assert ports_of(c, 4) == [PRIMARY_PORT] * 4
        c.rollback()


def test_use_database_replayed_on_replicas(sy):
    with sy.connect() as c:
        # Open both replica connections first, so the USE must be replayed on existing ones too.
        assert set(ports_of(c, 2)) == REPLICA_PORT_SET
        with c.cursor() as cur:
            cur.execute("USE test")
        rows = [one(c, "SELECT DATABASE(), @@port") for _ in range(4)]
        assert {r[0] for r in rows} == {"test"}, rows
        assert {r[1] for r in rows} == REPLICA_PORT_SET, rows
        with c.cursor() as cur:
            cur.execute("USE sbtest")
        rows = [one(c, "SELECT DATABASE(), @@port") for _ in range(4)]
        assert {r[0] for r in rows} == {"sbtest"}, rows
        assert {r[1] for r in rows} == REPLICA_PORT_SET, rows


def test_com_init_db_replayed_on_replicas(sy):
    with sy.connect() as c:
        assert set(ports_of(c, 2)) == REPLICA_PORT_SET
        c.select_db("test")
        rows = [one(c, "SELECT DATABASE(), @@port") for _ in range(4)]
        assert {r[0] for r in rows} == {"test"}, rows
        assert {r[1] for r in rows} == REPLICA_PORT_SET, rows
        c.select_db("sbtest")
        rows = [one(c, "SELECT DATABASE(), @@port") for _ in range(4)]
        assert {r[0] for r in rows} == {"sbtest"}, rows


def test_database_from_handshake_used_on_replicas(sy):
    with sy.connect(database="test") as c:
        rows = [one(c, "SELECT DATABASE(), @@port") for _ in range(4)]
        assert {r[0] for r in rows} == {"test"}, rows
        assert {r[1] for r in rows} == REPLICA_PORT_SET, rows
        # Unqualified table names resolve in that database on the replicas.
        assert scalar(c, "SELECT COUNT(*) >= 0 FROM t_where") == 1


def test_use_of_missing_database_fails_and_keeps_previous(sy):
    import pymysql
    with sy.connect(database="test") as c:
        with pytest.raises(pymysql.MySQLError) as ei:
            c.select_db("no_such_db_xyz")
        assert ei.value.args[0] in (1044, 1049), ei.value.args
        rows = [one(c, "SELECT DATABASE(), @@port") for _ in range(4)]
        assert {r[0] for r in rows} == {"test"}, rows


@pytest.mark.parametrize("set_sql, check_sql, expected", [
    ("SET @@session.wait_timeout=123", "SELECT @@session.wait_timeout, @@port", 123),
    ("SET SESSION sql_mode='ANSI_QUOTES'", "SELECT @@session.sql_mode, @@port", "ANSI_QUOTES"),
    ("SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci", "SELECT @@collation_connection, @@port",
     "utf8mb4_unicode_ci"),
    ("SET time_zone='+05:30'", "SELECT @@session.time_zone, @@port", "+05:30"),
], ids=["wait_timeout", "sql_mode", "set_names", "time_zone"])
def test_session_variables_replayed_on_replicas(sy, set_sql, check_sql, expected):
    with sy.connect() as c:
        # Once with the replica connections already open, once on a fresh session.
        assert set(ports_of(c, 2)) == REPLICA_PORT_SET
        with c.cursor() as cur:
            cur.execute(set_sql)
        rows = [one(c, check_sql) for _ in range(4)]
        assert {r[0] for r in rows} == {expected}, rows
        assert {r[1] for r in rows} == REPLICA_PORT_SET, rows
    with sy.connect() as c:
        with c.cursor() as cur:
            cur.execute(set_sql)
        rows = [one(c, check_sql) for _ in range(4)]
        assert {r[0] for r in rows} == {expected}, rows
        assert {r[1] for r in rows} == REPLICA_PORT_SET, rows


@pytest.mark.parametrize("sql", [
    "SELECT @@port, GET_LOCK('sy_test_lock', 0), RELEASE_LOCK('sy_test_lock')",
    "SELECT @@port, LAST_INSERT_ID()",
    "SELECT @@port, FOUND_ROWS()",
    "SELECT @sy_x := @@port",
    "SELECT @@port FROM test.t_where LIMIT 1 FOR UPDATE",
    "SELECT @@port FROM test.t_where LIMIT 1 LOCK IN SHARE MODE",
    "/* route=primary */ SELECT @@port",
], ids=["get_lock", "last_insert_id", "found_rows", "user_var_assign", "for_update",
        "lock_in_share_mode", "hint_primary"])
def test_reads_that_must_stay_on_primary(sy, sandbox, sql):
    """DESIGN.md correctness rules: these reads never leave the primary."""
    sandbox.sql("primary", "INSERT INTO test.t_where (port, tag) SELECT 0, 'seed' FROM DUAL "
                           "WHERE NOT EXISTS (SELECT 1 FROM test.t_where)")
    wait_for(lambda: sandbox.sql("replica1", "SELECT COUNT(*) FROM test.t_where")[0][0] != "0"
             and sandbox.sql("replica2", "SELECT COUNT(*) FROM test.t_where")[0][0] != "0",
             10, what="seed row on the replicas")
    with sy.connect() as c:
        for _ in range(3):
            assert scalar(c, sql) == PRIMARY_PORT, sql


def test_route_replica_hint(sy):
    with sy.connect() as c:
        ports = ports_of(c, 4, "/* route=replica */ SELECT @@port")
    assert set(ports) == REPLICA_PORT_SET
