"""PROXY statements, answered by the proxy itself:
PROXY SET route = primary | replica | auto, PROXY SHOW route, PROXY EXPLAIN <statement>."""

import pymysql
import pytest

from sy_helpers import (PRIMARY_PORT, REPLICA_PORT_SET, REPLICA_PORTS, error_code, execute,
                        mariadb_cli, one, ports_of, rows, scalar, unique)

BACKEND_NAMES = {"primary", *REPLICA_PORTS}  # section names sy_helpers.make_ini writes


def dbconn(sy, **kw):
    kw.setdefault("database", "test")
    return sy.connect(**kw)


def show_route(conn):
    with conn.cursor() as cur:
        cur.execute("PROXY SHOW route")
        r = cur.fetchall()
        assert len(cur.description) == 1, cur.description
    assert len(r) == 1, r
    return r[0][0]


def explain(conn, stmt, prefix="PROXY EXPLAIN "):
    with conn.cursor() as cur:
        cur.execute(prefix + stmt)
        r = cur.fetchall()
        assert len(cur.description) == 7, cur.description
    assert len(r) == 1, r
    cls, reason, target, backend, _position, _wait, _connection = r[0]
    assert cls in ("read", "write"), r
    assert isinstance(reason, str) and reason, r
    assert target in ("primary", "replica"), r
    assert backend in BACKEND_NAMES, r
    return r[0][:4]


def test_route_primary_until_auto(sy):
    with dbconn(sy) as c:
        assert show_route(c) == "auto"
        assert set(ports_of(c, 4)) == REPLICA_PORT_SET
        execute(c, "PROXY SET route = primary")
        assert show_route(c) == "primary"
        assert ports_of(c, 4) == [PRIMARY_PORT] * 4
        assert one(c, "SELECT COUNT(*) >= 0, @@port FROM t_where") == (1, PRIMARY_PORT)
        execute(c, "proxy set route=auto;")  # case, spacing and one trailing ';'
        assert show_route(c) == "auto"
        assert set(ports_of(c, 4)) == REPLICA_PORT_SET


def test_route_is_per_session(sy):
    with dbconn(sy) as a, dbconn(sy) as b:
        execute(a, "PROXY SET route = primary")
        assert ports_of(a, 2) == [PRIMARY_PORT] * 2
        assert show_route(b) == "auto"
        assert set(ports_of(b, 4)) == REPLICA_PORT_SET


def test_route_replica_sends_writes_to_replica(sy, sandbox):
    tag = unique()
    with dbconn(sy) as c:
        execute(c, "PROXY SET route = replica")
        assert show_route(c) == "replica"
        assert set(ports_of(c, 4)) == REPLICA_PORT_SET
        # a plain write goes to a replica, which refuses it (read_only)
        assert error_code(c, "INSERT INTO t_where (port, tag) VALUES (@@port, %s)", (tag,)) == 1290
        assert sandbox.sql("primary", f"SELECT COUNT(*) FROM test.t_where WHERE tag='{tag}'") == [["0"]]
        # session state still goes to the primary (and is replayed on the replicas)
        execute(c, "SET @via_replica_route = 7")
        seen = {}
        for _ in range(4):
            v, port = one(c, "SELECT @via_replica_route, @@port")
            seen.setdefault(port, set()).add(v)
        assert seen == {p: {7} for p in REPLICA_PORT_SET}
        # locks still go to the primary, and pin there
        lk = unique("lk")
        assert one(c, "SELECT GET_LOCK(%s, 5), @@port", (lk,)) == (1, PRIMARY_PORT)
        assert ports_of(c, 2) == [PRIMARY_PORT] * 2
        assert one(c, "SELECT RELEASE_LOCK(%s), @@port", (lk,)) == (1, PRIMARY_PORT)
        # transactions too
        execute(c, "BEGIN")
        assert ports_of(c, 2) == [PRIMARY_PORT] * 2
        execute(c, "INSERT INTO t_where (port, tag) VALUES (@@port, %s)", (tag,))
        execute(c, "COMMIT")
        assert sandbox.sql("primary", f"SELECT port FROM test.t_where WHERE tag='{tag}'") == [["3310"]]
        execute(c, "PROXY SET route = auto")
        tag2 = unique()
        execute(c, "INSERT INTO t_where (port, tag) VALUES (@@port, %s)", (tag2,))
        assert sandbox.sql("primary", f"SELECT port FROM test.t_where WHERE tag='{tag2}'") == [["3310"]]


def test_explain_read_and_write(sy):
    with dbconn(sy) as c:
        cls, reason, target, backend = explain(c, "SELECT 1")
        assert (cls, target) == ("read", "replica") and backend in REPLICA_PORTS
        cls, reason, target, backend = explain(c, "INSERT INTO t_where (port) VALUES (1)")
        assert (cls, target, backend) == ("write", "primary", "primary")
        cls, reason, target, backend = explain(c, "select 1 for update", prefix="proxy explain ")
        assert (cls, target, backend) == ("write", "primary", "primary")
        assert "for update" in reason.lower(), reason
        assert explain(c, "SELECT GET_LOCK('x', 0)")[2] == "primary"


def test_explain_does_not_execute(sy, sandbox):
    tag = unique()
    with dbconn(sy) as c:
        cls, _, target, _ = explain(c, f"INSERT INTO t_where (port, tag) VALUES (1, '{tag}')")
        assert (cls, target) == ("write", "primary")
        explain(c, f"DELETE FROM t_where WHERE tag = '{tag}'")
        explain(c, "SET @explained = 1")
        explain(c, "CREATE TEMPORARY TABLE sy_explained (a INT)")
        explain(c, "SELECT GET_LOCK('sy_explained', 0)")
        assert sandbox.sql("primary", f"SELECT COUNT(*) FROM test.t_where WHERE tag='{tag}'") == [["0"]]
        # nothing of the above took effect in the session: no pin, no variable
        seen = {}
        for _ in range(4):
            v, port = one(c, "SELECT @explained, @@port")
            seen.setdefault(port, set()).add(v)
        assert seen == {p: {None} for p in REPLICA_PORT_SET}
        assert scalar(c, "SELECT IS_FREE_LOCK('sy_explained')") == 1


def test_explain_inside_transaction(sy):
    with dbconn(sy) as c:
        execute(c, "BEGIN")
        cls, reason, target, backend = explain(c, "SELECT 1")
        assert (target, backend) == ("primary", "primary")
        assert reason == "inside a transaction"
        execute(c, "COMMIT")
        assert explain(c, "SELECT 1")[2] == "replica"


def test_explain_follows_route_override(sy):
    with dbconn(sy) as c:
        execute(c, "PROXY SET route = primary")
        assert explain(c, "SELECT 1")[2:] == ("primary", "primary")
        execute(c, "PROXY SET route = auto")
        assert explain(c, "SELECT 1")[2] == "replica"


@pytest.mark.parametrize("bad", ["PROXY SET route = sideways", "PROXY SET route", "PROXY SHOW nothing",
                                 "PROXY EXPLAIN", "PROXY", "PROXY FLY"])
def test_malformed_proxy_statement_is_an_error(sy, bad):
    with dbconn(sy) as c:
        with pytest.raises(pymysql.err.MySQLError):
            with c.cursor() as cur:
                cur.execute(bad)
                cur.fetchall()
        # the session still works, the route is unchanged
        assert show_route(c) == "auto"
        assert set(ports_of(c, 4)) == REPLICA_PORT_SET
        assert rows(c, "SELECT 1") == ((1,),)


def test_cli_batch_proxy_set_route(sy):
    p = mariadb_cli(sy.port, "PROXY SET route = primary; SELECT @@port", "-N")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["3310"]
    p = mariadb_cli(sy.port, "PROXY SET route = replica; PROXY SHOW route; SELECT @@port", "-N")
    assert p.returncode == 0, p.stderr
    out = p.stdout.split()
    assert out[0] == "replica" and int(out[1]) in REPLICA_PORT_SET, out
    p = mariadb_cli(sy.port, "PROXY EXPLAIN SELECT 1", "-N", "-B")
    assert p.returncode == 0, p.stderr
    fields = p.stdout.rstrip("\n").split("\t")
    assert len(fields) == 7 and fields[0] == "read" and fields[2] == "replica", fields
