"""The proxy in front of a real Galera cluster (two nodes) and an async replica of one
node: Galera states route traffic, active-active and active-passive writers, reads on the
replica and on the nodes, certification conflicts as the server reports them."""

import re
import threading
import time

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


class Load:
    """THREADS client threads through proxy p, each inserting a row and reading it back
    (autocommit, so every statement is routed on its own); .done[k] counts thread k's
    rounds, .errors collects (time.monotonic(), error args) of what failed and .failed[k]
    counts thread k's failures."""

    def __init__(self, p, threads=4):
        self.p, self.tag = p, unique("load")
        self.done, self.errors, self.failed = [0] * threads, [], [0] * threads
        self.loops = [Loop(self.round_of(k), name=f"load{k}") for k in range(threads)]

    def round_of(self, k):
        conn = []

        def one_round(i):
            try:
                conn or conn.append(self.p.connect(read_timeout=30, write_timeout=30))
                execute(conn[0], "INSERT INTO test.g_where (port, tag) VALUES (@@port, %s)",
                        (self.tag,))
                scalar(conn[0], "SELECT COUNT(*) FROM test.g_where WHERE tag = %s", (self.tag,))
                self.done[k] += 1
            except pymysql.err.MySQLError as e:
                self.errors.append((time.monotonic(), e.args))
                self.failed[k] += 1
                conn and conn.pop().close()
                raise
        return one_round

    def __enter__(self):
        for lp in self.loops:
            lp.__enter__()
        return self

    def __exit__(self, *exc):
        for lp in self.loops:
            lp.stop()

    def wait_rounds(self, n, what):
        """Until every thread has run n more rounds: statements routed before now are over."""
        goal = [d + n for d in self.done]
        wait_for(lambda: all(d >= g for d, g in zip(self.done, goal)), 60,
                 what=lambda: f"{n} more load rounds per thread ({what}); errors {self.errors[-3:]}")


def statements(p, name):
    return int(backends(p)[name]["statements"])


def galera_sample(p, series, name):
    """The value of switchyard_galera_SERIES{backend="NAME"} in /metrics, or None."""
    prefix = f'switchyard_galera_{series}{{backend="{name}"}} '
    for line in metrics_text(p.http_port).splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix):])
    return None


def log_round(p, pattern):
    """The monitor round logged on the first line of the proxy's log matching pattern."""
    for line in p.log_text().splitlines():
        if re.search(pattern, line):
            return int(re.search(r"\(round (\d+)\)$", line).group(1))
    raise AssertionError(f"no log line matches {pattern!r}:\n{p.log_tail()}")


def test_active_passive_writer_moves_within_two_rounds(gproxy, galera):
    """Under load, killing the writing node in active-passive moves the writes to the other
    node in the monitor round that takes the dead one down, the second round that found it
    failing (down_after = 2): within two monitor intervals of the kill, counted by the round
    numbers in the proxy's log. A client gets an error only for the statement it had in flight
    at the kill (at most one per thread): the ones sent after it wait for the new writer
    (writer_wait_ms); after the move every statement succeeds, on the other node."""
    p = gproxy(routing={"writers": "active-passive"}, monitor={"down_after": 2})
    with p.connect() as c:
        ports = write_ports(c, 6, unique("ap"))
    assert len(ports) == 1, ports
    writer = ports.pop()
    victim, other = ("galera1", "galera2") if writer == G1 else ("galera2", "galera1")
    with Load(p) as load:
        load.wait_rounds(10, "load before the kill")
        galera.kill(victim)
        wait_for(lambda: f"writes move from '{victim}' to '{other}'" in p.log_text(), 30,
                 what="the writer change in the log")
        moved_at = time.monotonic()
        load.wait_rounds(20, "load after the move")
    first_failed = log_round(p, rf"backend {victim} .*: still UP, check failed 1/2")
    down = log_round(p, rf"backend {victim} .*: UP -> DOWN")
    moved = log_round(p, rf"writers: writes move from '{victim}' to '{other}'")
    assert (first_failed, moved) == (down - 1, down)
    late = [e for t, e in load.errors if t > moved_at]
    assert late == [], late
    assert max(load.failed) <= 1, (load.failed, load.errors)
    print(f"errors before the move: {len(load.errors)}: {dict(e for _, e in load.errors)}")
    with p.connect() as c:
        assert write_ports(c, 4, unique("ap3")) == {NODES[other]}
    assert state_is(p, victim, "down")


def test_rejoining_node_gets_no_traffic_until_synced(gproxy, galera):
    """Under load (active-active), galera2 is killed and restarted: from the kill until the
    monitor sees it Synced again its statement counter in the proxy stands still and no
    client statement fails, also while it is reachable but still joining; once UP it gets
    traffic again. The joiner is reachable for a few tenths of a second only, so the monitor
    sees it BROKEN with a Galera state on the way in some runs and goes straight from DOWN to
    UP in others: the run says which; test_monitor_galera judges every joining state.
    Negative control (by hand, galera = off on galera2): it is UP while joining and clients
    get 1047 "WSREP has not yet prepared node for application use"."""
    p = gproxy(routing={"writers": "active-active"})
    with Load(p) as load:
        load.wait_rounds(10, "load before the kill")
        galera.kill("galera2")
        wait_for(lambda: state_is(p, "galera2", "down"), 30, what="galera2 down")
        load.wait_rounds(2, "statements routed before the kill are over")
        frozen, frozen_at = statements(p, "galera2"), time.monotonic()
        restart = threading.Thread(target=galera.restart, args=("galera2",), daemon=True)
        restart.start()
        samples = []  # SHOW BACKENDS of galera2 until it is up

        def up():
            b = backends(p)["galera2"]
            samples.append((b["state"], b["reason"], int(b["statements"])))
            return b["state"] == "up"

        wait_for(up, 400, interval=0.05, what="galera2 up after its restart")
        restart.join(400)
        # A sample followed by one that still is not up was taken before any snapshot had
        # galera2 UP: nothing could have been routed to it by then.
        before_up = samples[:-2]
        assert [n for _, _, n in before_up if n != frozen] == [], before_up
        wait_for(lambda: statements(p, "galera2") > frozen, 30, what="traffic on galera2 again")
    # Errors only for statements sent to galera2 before it was down; a statement that
    # reached it while joining would fail (1047 WSREP has not yet prepared node ...).
    late = [e for t, e in load.errors if t > frozen_at]
    assert late == [], late
    joining = re.findall(r"backend galera2 .*: DOWN -> BROKEN: (Galera: [^(]*)", p.log_text())
    print(f"galera2 on its way back: {joining or 'not seen joining'}; {len(samples)} samples, "
          f"{sum(st == 'broken' for st, _, _ in before_up)} of them broken; "
          f"client errors {len(load.errors)}")


def test_desynced_node_gets_no_traffic(gproxy, galera):
    """Under load through the proxy, SET GLOBAL wsrep_desync = ON on galera2 (what an
    operator does before a backup) takes it out: SHOW BACKENDS and /metrics say why, and its
    statement counter stands still while the load goes on; OFF brings traffic back."""
    p = gproxy(routing={"writers": "active-active"})
    with Load(p) as load:
        before = statements(p, "galera2")
        load.wait_rounds(20, "control")
        assert statements(p, "galera2") > before  # control: galera2 takes traffic
        assert galera_sample(p, "desync", "galera2") == 0
        assert galera_sample(p, "local_state", "galera2") == 4
        galera.sql("galera2", "SET GLOBAL wsrep_desync = ON")
        wait_for(lambda: state_is(p, "galera2", "broken"), 10, what="galera2 broken while desynced")
        assert "desynced (wsrep_desync=ON" in backends(p)["galera2"]["reason"]
        load.wait_rounds(2, "statements routed before the change are over")
        frozen = statements(p, "galera2")
        load.wait_rounds(40, "load while desynced")
        assert statements(p, "galera2") == frozen, backends(p)["galera2"]
        assert galera_sample(p, "desync", "galera2") == 1
        assert galera_sample(p, "local_state", "galera2") == 2  # Donor/Desynced
        assert 0 <= galera_sample(p, "flow_control_paused_ratio", "galera1") <= 1
        galera.sql("galera2", "SET GLOBAL wsrep_desync = OFF")
        wait_for(lambda: state_is(p, "galera2", "up"), 20, what="galera2 up once Synced again")
        wait_for(lambda: statements(p, "galera2") > frozen, 30, what="traffic on galera2 again")
        assert galera_sample(p, "desync", "galera2") == 0
    assert load.errors == []


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
