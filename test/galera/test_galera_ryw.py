"""Read-your-writes with galera_reads = any: a row written through the proxy is seen
by the very next read, also on the Galera node that did not write it."""

import threading
from collections import Counter

import pymysql

from conftest import NODES
from sy_helpers import APP_PW, APP_USER, execute, metrics_text, unique, wait_for

ROUNDS = 120


def insert_then_read(p, rounds):
    """(stale reads, Counter of the ports that served the reads) over ROUNDS rounds of
    an insert on one connection and a read of that row on a new one (a session keeps
    the backend it reads from: new ones spread over all of them)."""
    stale, served = 0, Counter()
    with p.connect() as w:
        for _ in range(rounds):
            tag = unique("ryw")
            execute(w, "INSERT INTO test.g_where (port, tag) VALUES (@@port, %s)", (tag,))
            with p.connect() as r, r.cursor() as cur:
                cur.execute("SELECT COUNT(*), @@port FROM test.g_where WHERE tag = %s", (tag,))
                n, port = cur.fetchone()
            stale += n != 1
            served[port] += 1
    return stale, served


def non_writer(p):
    """Name of the Galera node that is not the writer, from the proxy's log."""
    writer = [line for line in p.log_text().splitlines() if "takes the writes" in line][-1]
    return "galera2" if "'galera1'" in writer else "galera1"


def causal_reads_done(galera, name):
    return int(galera.wsrep(name)["wsrep_causal_reads"])


def test_read_your_writes_on_the_other_node(gproxy, galera):
    """Each read on the non-writing node first waited there (a causal read the node
    counts in wsrep_causal_reads) and saw the row."""
    p = gproxy(routing={"writers": "active-passive", "galera_reads": "any",
                        "causal_reads": "global"})
    other = non_writer(p)
    before = causal_reads_done(galera, other)
    stale, served = insert_then_read(p, ROUNDS)
    waits = causal_reads_done(galera, other) - before
    on_other = served[NODES[other]]
    print(f"galera_reads = any: {stale} stale of {ROUNDS} reads, served by {dict(served)}, "
          f"{on_other} on the non-writing node {other}, which did {waits} causal waits")
    assert on_other >= ROUNDS // 10, served
    assert waits >= on_other
    assert stale == 0


class HeldApplier:
    """A root session on a Galera node holding LOCK TABLES test.g_where READ: the node
    stays Synced and serves reads, but its applier cannot write that table, so rows
    written on the other node are missing there until release()."""

    def __init__(self, galera, name):
        self.conn = pymysql.connect(unix_socket=str(galera.dir / f"{name}.sock"), user="root",
                                    autocommit=True)
        execute(self.conn, "LOCK TABLES test.g_where READ")

    def release(self):
        execute(self.conn, "UNLOCK TABLES")
        self.conn.close()


def waiting_reads(galera, name):
    """How many sessions on node name are in the proxy's causal wait now."""
    return int(galera.sql(name, "SELECT COUNT(*) FROM information_schema.processlist"
                                " WHERE info LIKE 'SET STATEMENT wsrep_sync_wait%'")[0][0])


def read_on(p, port, tag, attempts=40):
    """(rows with tag, port) of the first read of a new proxy connection that lands on
    port; raises when none of attempts did."""
    for _ in range(attempts):
        with p.connect() as r, r.cursor() as cur:
            cur.execute("SELECT COUNT(*), @@port FROM test.g_where WHERE tag = %s", (tag,))
            n, served = cur.fetchone()
        if served == port:
            return n
    raise AssertionError(f"no read landed on port {port} in {attempts} connections")


def test_control_without_causal_reads_the_held_node_is_stale(gproxy, galera):
    p = gproxy(routing={"writers": "active-passive", "galera_reads": "any",
                        "causal_reads": "off"})
    other = non_writer(p)
    held = HeldApplier(galera, other)
    try:
        with p.connect() as w:
            stale = 0
            for _ in range(3):
                tag = unique("stale")
                execute(w, "INSERT INTO test.g_where (port, tag) VALUES (@@port, %s)", (tag,))
                stale += read_on(p, NODES[other], tag) == 0
    finally:
        held.release()
    print(f"causal_reads = off, applier of {other} held: {stale} of 3 reads there stale")
    assert stale == 3


def test_causal_read_on_the_held_node_waits_for_the_row(gproxy, galera):
    """The read lands on the node whose applier is held, waits there, and once the
    applier is let go returns the row: the wait covers visibility, not a position."""
    p = gproxy(routing={"writers": "active-passive", "galera_reads": "any",
                        "causal_reads": "global"}, threads=1)
    other = non_writer(p)
    for _ in range(3):
        held = HeldApplier(galera, other)
        tag = unique("wait")
        try:
            with p.connect() as w:
                execute(w, "INSERT INTO test.g_where (port, tag) VALUES (@@port, %s)", (tag,))
            result = {}
            reader = threading.Thread(target=lambda: result.update(n=read_on(p, NODES[other], tag)))
            reader.start()
            wait_for(lambda: waiting_reads(galera, other), 25,
                     what=f"a causal read waiting on {other}")
        finally:
            held.release()
        reader.join(60)
        assert not reader.is_alive(), "the read did not return after the applier was let go"
        assert result.get("n") == 1, result


def test_proxy_explain_shows_the_causal_wait_on_a_node(gproxy, galera):
    """PROXY EXPLAIN of a read after a write: the read goes to the non-writing node and
    waits there (what route_read does), not 'none'; a write does not wait."""
    p = gproxy(routing={"writers": "active-passive", "galera_reads": "any",
                        "causal_reads": "global"})
    other = non_writer(p)
    with p.connect() as c, c.cursor() as cur:
        execute(c, "INSERT INTO test.g_where (port, tag) VALUES (@@port, %s)", (unique("ex"),))
        cur.execute("PROXY EXPLAIN SELECT COUNT(*) FROM test.g_where")
        cls, _reason, _target, backend, position, wait, kept = cur.fetchone()
        assert (cls, backend) == ("read", other), (cls, backend)
        assert kept == "kept (a Galera node: never pooled)", kept
        assert position != "none" and wait != "no", (position, wait)
        cur.execute("PROXY EXPLAIN INSERT INTO test.g_where (port, tag) VALUES (1, 'x')")
        cls, _reason, _target, backend, position, wait, _kept = cur.fetchone()
        assert cls == "write" and (position, wait) == ("none", "no"), (cls, position, wait)


def causal_timeouts(p):
    line = [ln for ln in metrics_text(p.http_port).splitlines()
            if ln.startswith("switchyard_causal_timeouts_total")][0]
    return int(float(line.split()[-1]))


def session_writing_on(p, port):
    """A proxy connection whose writes (write_affinity = session) go to the node on port."""
    for _ in range(20):
        c = p.connect()
        tag = unique("probe")
        execute(c, "INSERT INTO test.g_where (port, tag) VALUES (@@port, %s)", (tag,))
        with pymysql.connect(host="127.0.0.1", port=port, user=APP_USER, password=APP_PW,
                             autocommit=True) as d, d.cursor() as cur:
            cur.execute("SET SESSION wsrep_sync_wait = 1")
            cur.execute("SELECT port FROM test.g_where WHERE tag = %s", (tag,))
            if cur.fetchone()[0] == port:
                return c
        c.close()
    raise AssertionError(f"no proxy session wrote on port {port} in 20 connections")


def test_read_whose_wait_fails_never_runs_unwaited(gproxy, galera):
    """Active-active, the write on galera2, galera1's applier held past its causal read
    timeout: a read whose wait fails on galera1 (or on the replica of galera1) must not
    run anywhere without a wait, galera1 included as a writer. Every read sees the row."""
    p = gproxy(routing={"writers": "active-active", "write_affinity": "session",
                        "galera_reads": "any", "causal_reads": "global",
                        "causal_reads_timeout_ms": 300})
    w = session_writing_on(p, NODES["galera2"])
    galera.sql("galera1", "SET GLOBAL wsrep_provider_options = 'repl.causal_read_timeout=PT1S'")
    held = HeldApplier(galera, "galera1")
    try:
        before = causal_timeouts(p)
        tag = unique("failed_wait")
        execute(w, "INSERT INTO test.g_where (port, tag) VALUES (@@port, %s)", (tag,))
        seen = []
        for _ in range(12):
            with p.connect(read_timeout=30) as r, r.cursor() as cur:
                cur.execute("SELECT COUNT(*), @@port FROM test.g_where WHERE tag = %s", (tag,))
                seen.append(cur.fetchone())
        failed_waits = causal_timeouts(p) - before
    finally:
        held.release()
        galera.sql("galera1", "SET GLOBAL wsrep_provider_options = 'repl.causal_read_timeout=PT30S'")
        w.close()
    print(f"reads (rows, port): {Counter(seen)}; {failed_waits} failed waits")
    assert failed_waits >= 1, "no read's wait failed: the test did not test the fallback"
    assert all(n == 1 for n, _ in seen), seen
