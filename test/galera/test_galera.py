"""The proxy in front of a real Galera cluster (two nodes) and an async replica of one
node: Galera states route traffic, active-active and active-passive writers, reads on the
replica and on the nodes, certification conflicts as the server reports them."""

import pymysql
import pytest

from conftest import ADMIN_PW, ADMIN_USER, NODES, REPLICA
from sy_helpers import (MONITOR_INTERVAL_MS, Loop, connect, error_code, execute, metrics_text,
                        scalar, unique, wait_for)

G1, G2 = NODES["galera1"], NODES["galera2"]


def backends(p):
    """SHOW BACKENDS as {name: {column: value}}."""
    with connect(p.admin_port, user=ADMIN_USER, password=ADMIN_PW) as c, c.cursor() as cur:
        cur.execute("SHOW BACKENDS")
        cols = [d[0] for d in cur.description]
        return {r[0]: dict(zip(cols, r)) for r in cur.fetchall()}


def state_is(p, name, state):
    return backends(p)[name]["state"] == state


def write_ports(conn, n, tag):
    """Ports of the nodes that ran n autocommit inserts of this connection."""
    for _ in range(n):
        execute(conn, "INSERT INTO test.g_where (port, tag) VALUES (@@port, %s)", (tag,))
    return set(r[0] for r in galera_rows(f"SELECT port FROM test.g_where WHERE tag = '{tag}'"))


def galera_rows(sql):
    """Rows of sql on a live node with wsrep_sync_wait on: all writes committed anywhere."""
    for port in (G1, G2):
        try:
            c = connect(port)
        except pymysql.err.OperationalError:
            continue
        with c, c.cursor() as cur:
            cur.execute("SET SESSION wsrep_sync_wait = 1")
            cur.execute(sql)
            return cur.fetchall()
    raise AssertionError("no Galera node accepts connections")


def read_ports(conn, n):
    return set(scalar(conn, "SELECT @@port") for _ in range(n))


def test_monitor_shows_galera_state(gproxy, galera):
    p = gproxy()
    wait_for(lambda: state_is(p, "galera1", "up") and state_is(p, "galera2", "up"), 10,
             what="both nodes up")
    b = backends(p)
    for n in NODES:
        assert "Galera: Synced, primary component of 3" in b[n]["reason"], b[n]
    assert 'switchyard_backend_state{backend="galera2",state="up"} 1' in metrics_text(p.http_port)


def test_active_active_writes_alternate(gproxy):
    p = gproxy(routing={"writers": "active-active"}, threads=1)
    with p.connect() as c:
        assert write_ports(c, 8, unique("aa")) == {G1, G2}


def test_write_affinity_session_keeps_one_node(gproxy):
    p = gproxy(routing={"writers": "active-active", "write_affinity": "session"}, threads=1)
    seen = set()
    for _ in range(4):
        with p.connect() as c:
            ports = write_ports(c, 5, unique("aff"))
            assert len(ports) == 1, ports
            seen |= ports
    # Sessions still spread over both nodes: the affinity is per session only.
    assert seen == {G1, G2}


def test_transaction_stays_on_one_node(gproxy):
    p = gproxy(routing={"writers": "active-active"}, threads=1)
    tag = unique("trx")
    with p.connect(autocommit=False) as c:
        for _ in range(6):
            execute(c, "INSERT INTO test.g_where (port, tag) VALUES (@@port, %s)", (tag,))
        c.commit()
    assert len(set(r[0] for r in galera_rows(f"SELECT port FROM test.g_where WHERE tag='{tag}'"))) == 1


def test_active_passive_writes_stay_then_move_when_writer_dies(gproxy, galera):
    p = gproxy(routing={"writers": "active-passive"})
    with p.connect() as c:
        ports = write_ports(c, 6, unique("ap"))
    assert len(ports) == 1, ports
    writer = ports.pop()
    victim = "galera1" if writer == G1 else "galera2"
    other = G2 if writer == G1 else G1
    galera.kill(victim)
    errors = []

    def moved():
        try:
            with p.connect() as c:
                return write_ports(c, 1, unique("ap2")) == {other}
        except pymysql.err.MySQLError as e:
            errors.append(e.args)
            return False

    wait_for(moved, 10, interval=MONITOR_INTERVAL_MS / 1000,
             what=lambda: f"writes on the other node (last errors {errors[-2:]})")
    with p.connect() as c:
        assert write_ports(c, 4, unique("ap3")) == {other}
    assert state_is(p, victim, "down")


def test_desynced_node_gets_no_traffic(gproxy, galera):
    p = gproxy(routing={"writers": "active-active"}, threads=1)
    with p.connect() as c:
        assert G2 in write_ports(c, 6, unique("pre"))  # control: galera2 takes writes
        assert G2 in read_ports(c, 12)                  # ... and reads
    galera.sql("galera2", "SET GLOBAL wsrep_desync = ON")
    wait_for(lambda: state_is(p, "galera2", "broken"), 10, what="galera2 broken while desynced")
    assert "Donor/Desynced" in backends(p)["galera2"]["reason"]
    with p.connect() as c:
        assert write_ports(c, 8, unique("desync")) == {G1}
        assert G2 not in read_ports(c, 12)
    galera.sql("galera2", "SET GLOBAL wsrep_desync = OFF")
    wait_for(lambda: state_is(p, "galera2", "up"), 20, what="galera2 up once Synced again")
    with p.connect() as c:
        assert G2 in write_ports(c, 6, unique("post"))


def test_reads_on_replica_and_other_node_and_galera_reads_replicas(gproxy):
    p = gproxy(routing={"writers": "active-passive"}, threads=1)
    with p.connect() as c:
        writer = write_ports(c, 1, unique("w")).pop()
    other = G2 if writer == G1 else G1
    with p.connect() as c:
        assert read_ports(c, 12) == {REPLICA[1], other}
    q = gproxy(routing={"writers": "active-passive", "galera_reads": "replicas"}, threads=1)
    with q.connect() as c:
        assert read_ports(c, 12) == {REPLICA[1]}


def test_lagging_replica_is_dropped(gproxy, galera):
    p = gproxy(routing={"writers": "active-passive", "galera_reads": "replicas"},
               max_replication_lag=1)
    galera.set_delay(REPLICA[0], 4)
    writes = connect(G1)
    # A delayed replica shows lag only while the source writes.
    with Loop(lambda i: execute(writes, "REPLACE INTO test.sandbox_check VALUES (99, NOW(6))"),
              pause=0.2):
        wait_for(lambda: state_is(p, REPLICA[0], "lagging"), 20, what="replica lagging")
        with p.connect() as c:
            assert REPLICA[1] not in read_ports(c, 8)
    writes.close()
    galera.set_delay(REPLICA[0], 0)
    wait_for(lambda: state_is(p, REPLICA[0], "up"), 30, what="replica up again")


def test_read_your_writes_on_replica(gproxy, galera):
    """Every read right after a write sees it on the async replica; the control with
    causal_reads = off on a delayed replica sees it missing. (Reads on the Galera nodes:
    test_galera_ryw.py.)"""
    galera.set_delay(REPLICA[0], 2)
    off = gproxy(routing={"writers": "active-passive", "galera_reads": "replicas",
                          "causal_reads": "off"}, wait_replicas=False)
    with off.connect() as c:
        tag = unique("stale")
        execute(c, "INSERT INTO test.g_where (port, tag) VALUES (@@port, %s)", (tag,))
        assert scalar(c, "SELECT COUNT(*) FROM test.g_where WHERE tag = %s", (tag,)) == 0
    galera.set_delay(REPLICA[0], 0)
    galera.wait_replica(REPLICA[0])
    p = gproxy(routing={"writers": "active-passive", "galera_reads": "replicas",
                        "causal_reads": "global"})
    stale = 0
    with p.connect() as w, p.connect() as r:
        for _ in range(40):
            tag = unique("ryw")
            execute(w, "INSERT INTO test.g_where (port, tag) VALUES (@@port, %s)", (tag,))
            stale += scalar(r, "SELECT COUNT(*) FROM test.g_where WHERE tag = %s", (tag,)) != 1
        assert read_ports(r, 12) - {G1, G2, REPLICA[1]} == set()
    assert stale == 0


def test_certification_conflict_reaches_client_as_sent(gproxy, galera):
    """Two transactions on different nodes update one row: the second commit fails
    certification, and the client gets the server's ER_LOCK_DEADLOCK unchanged."""
    galera.sql("galera1", "CREATE TABLE IF NOT EXISTS test.g_cert (id INT PRIMARY KEY, v INT);"
                          " REPLACE INTO test.g_cert VALUES (1, 0)")
    p = gproxy(routing={"writers": "active-active"}, threads=1)
    a, b = p.connect(autocommit=False), p.connect(autocommit=False)
    try:
        execute(a, "UPDATE test.g_cert SET v = v + 1 WHERE id = 1")
        port_a = scalar(a, "SELECT @@port")
        for _ in range(4):  # round-robin: b's transaction lands on the other node
            execute(b, "SELECT v FROM test.g_cert WHERE id = 1")  # pins b to its writer
            if scalar(b, "SELECT @@port") != port_a:
                break
            b.rollback()
        assert scalar(b, "SELECT @@port") != port_a
        b.rollback()
        execute(b, "UPDATE test.g_cert SET v = v + 10 WHERE id = 1")
        a.commit()
        with pytest.raises(pymysql.err.MySQLError) as e:
            b.commit()
        assert e.value.args[0] == 1213, e.value.args
        assert "Deadlock" in e.value.args[1], e.value.args
    finally:
        a.close()
        b.close()
