"""Lag, health and writers: heartbeat lag, recover_intervals, down_after, statements in
flight on a dying backend, active-passive switchover, discover_roles, active-active.

Every test restores the reference topology in a finally block (sandbox.sh reset-roles:
primary writable, replicas read_only and replicating with no delay)."""

import random
import signal
import re
import threading
import time

import pymysql
import pytest

from sy_helpers import (MONITOR_INTERVAL_MS, PRIMARY_PORT, REPLICA_PORTS, Loop, backend,
                        connect, execute, free_port, http_only_admin_section, metric_value, one,
                        promote, restore_roles, scalar, set_read_only, sync_replicas, unique,
                        wait_for, xproxy)  # noqa: F401

INTERVAL = MONITOR_INTERVAL_MS / 1000.0
MARGIN = 0.5
HB_TABLE = "test.sy_heartbeat"
STANDBY_PORT = REPLICA_PORTS["replica1"]


def reads(conn, n):
    return [scalar(conn, "SELECT @@port") for _ in range(n)]


# --------------------------------------------------------------------------- lag

@pytest.fixture
def heartbeat_table(sandbox):
    """The heartbeat table the monitor writes, and the monitor account's rights on it (the
    sandbox's monitor account only has REPLICATION CLIENT, SLAVE MONITOR, PROCESS)."""
    sandbox.sql("primary", f"CREATE TABLE IF NOT EXISTS {HB_TABLE} "
                           "(id INT PRIMARY KEY, ts DATETIME(6) NOT NULL); "
                           f"GRANT SELECT, INSERT, UPDATE ON {HB_TABLE} TO 'monitor'@'%'")
    sync_replicas(sandbox)
    try:
        yield HB_TABLE
    finally:
        sandbox.sql("primary", f"REVOKE SELECT, INSERT, UPDATE ON {HB_TABLE} FROM 'monitor'@'%'; "
                               f"DROP TABLE IF EXISTS {HB_TABLE}")
        sandbox.set_delay("replica1", 0)


def test_heartbeat_lag_and_recover_intervals(xproxy, sandbox, heartbeat_table):
    """max_replication_lag=0.5 with a heartbeat: a replica 2 s behind gets no reads; once it has
    caught up it returns only after recover_intervals good checks.

    MASTER_DELAY counts from the binlog's whole-second timestamps, so a delay of 1 s can make a
    heartbeat written at x.9 s look only 0.1 s old: 2 s keeps the lag above 1 s at all times."""
    recover = 5
    sy = xproxy(max_replication_lag=0.5,
                keys={"monitor": {"heartbeat_table": heartbeat_table, "recover_intervals": recover}})
    with sy.connect() as c:
        # An idle primary: without the heartbeat, Seconds_Behind_Master would stay 0 here.
        sandbox.set_delay("replica1", 2)

        def only_replica2():
            return reads(c, 20) == [3312] * 20

        wait_for(only_replica2, 30, interval=INTERVAL,
                 what="the delayed replica1 to leave the read rotation")
        t_end = time.monotonic() + 1.0
        while time.monotonic() < t_end:
            assert reads(c, 4) == [3312] * 4, "replica1 (2 s delay, limit 0.5 s) got a read"
            time.sleep(INTERVAL / 2)

        # Counted from before the change: replica1 cannot be caught up earlier, and the change
        # (STOP/CHANGE/START, relay log applied at once) may take long on a loaded machine,
        # while the monitor already counts good checks.
        t_caught = time.monotonic()
        sandbox.set_delay("replica1", 0)
        seen_back = None
        while time.monotonic() - t_caught < recover * INTERVAL + 3:
            if 3311 in reads(c, 2):
                seen_back = time.monotonic() - t_caught
                break
            time.sleep(0.02)
    assert seen_back is not None, "replica1 never came back after catching up"
    print(f"replica1 back in rotation {seen_back:.2f}s after catching up")
    # The first good check counts: at least (recover - 1) more intervals must pass.
    assert seen_back >= (recover - 1) * INTERVAL - 0.1, \
        f"replica1 returned {seen_back:.2f}s after catching up; recover_intervals={recover} x {INTERVAL}s"
    assert_counted_back(sy, "replica1", recover)


def assert_counted_back(sy, name, recover):
    """The monitor's log: the replica's last change to UP came after `recover` good checks,
    whatever it went through on the way (LAGGING, or BROKEN while its threads restarted)."""
    ups = [l for l in sy.log_text().splitlines() if f"backend {name} " in l and "-> UP" in l]
    assert ups, f"no change to UP for {name} in the log:\n{sy.log_tail()}"
    assert f"under the limit for {recover} check(s)" in ups[-1], \
        f"{name} came back without {recover} good checks: {ups[-1]}"


def test_stopped_replication_owes_recover_intervals(xproxy, sandbox):
    """A replica whose replication was stopped (BROKEN) returns only after recover_intervals
    good checks: right after START SLAVE it may report a lag of 0 before it has fetched what
    it missed."""
    recover = 5
    sy = xproxy(keys={"monitor": {"recover_intervals": recover}})
    try:
        with sy.connect() as c:
            sandbox.sql("replica1", "STOP SLAVE")
            wait_for(lambda: reads(c, 20) == [3312] * 20, 30, interval=INTERVAL,
                     what="replica1 with stopped replication to leave the read rotation")
            wait_for(lambda: "backend replica1 (127.0.0.1:3311): UP -> BROKEN" in sy.log_text(),
                     30, interval=INTERVAL, what="the monitor to log replica1 BROKEN")
            t_start = time.monotonic()
            sandbox.sql("replica1", "START SLAVE")
            wait_for(lambda: 3311 in reads(c, 2), recover * INTERVAL + 30, interval=0.02,
                     what="replica1 to return after START SLAVE")
            seen_back = time.monotonic() - t_start
        assert seen_back >= (recover - 1) * INTERVAL - 0.1, \
            f"replica1 returned {seen_back:.2f}s after START SLAVE; recover_intervals={recover}"
        assert_counted_back(sy, "replica1", recover)
    finally:
        sandbox.sql("replica1", "START SLAVE")


# --------------------------------------------------------------------------- dead backends

def test_dead_replica_reads_never_fail(xproxy, sandbox):
    """Kill a replica under a read load: no client sees an error, before or after DOWN."""
    down_after = 3
    sy = xproxy(keys={"monitor": {"down_after": down_after}})
    long_lived = sy.connect()

    def read_long(_):
        return scalar(long_lived, "SELECT @@port")

    def read_new(_):
        with sy.connect() as c:
            return scalar(c, "SELECT @@port")

    try:
        with Loop(read_long, "long", pause=0.005) as l1, Loop(read_new, "new", pause=0.005) as l2:
            time.sleep(0.3)
            sandbox.kill("replica1")
            t_kill = time.monotonic()
            time.sleep((down_after + 2) * INTERVAL + MARGIN)
            t_down = t_kill + (down_after + 1) * INTERVAL + MARGIN
            late = l1.since(t_down) + l2.since(t_down)
            sandbox.restart("replica1")
            t_up = time.monotonic()
            wait_for(lambda: 3311 in l1.since(t_up) and 3311 in l2.since(t_up), 5,
                     what="reads to reach replica1 again after its restart")
        assert not l1.errors and not l2.errors, \
            f"client errors while a replica died: {[e for _, e in l1.errors + l2.errors][:5]}"
        assert late and set(late) == {3312}, f"reads after replica1 was DOWN: {sorted(set(late))}"
        assert len(l1.results) > 20 and len(l2.results) > 10
    finally:
        long_lived.close()
        if not sandbox.alive("replica1"):
            sandbox.restart("replica1")


def running_on(sandbox, name, prefix):
    n = sandbox.sql(name, "SELECT COUNT(*) FROM information_schema.processlist "
                          f"WHERE info LIKE '{prefix}%'")[0][0]
    return n != "0"


def test_statement_in_flight_on_dying_replica(xproxy, sandbox):
    """A read running on a replica that dies gets ERR 1158 naming the backend; the session goes on."""
    sy = xproxy()
    c = sy.connect(read_timeout=20)
    victim = None
    try:
        assert set(reads(c, 4)) == {3311, 3312}
        out = {}

        def run():
            try:
                out["row"] = one(c, "SELECT SLEEP(3), @@port")
            except Exception as e:  # noqa: BLE001
                out["err"] = e

        t = threading.Thread(target=run)
        t.start()
        victim = wait_for(lambda: next((n for n in REPLICA_PORTS
                                        if running_on(sandbox, n, "SELECT SLEEP(3)")), None),
                          2, what="SELECT SLEEP(3) to run on a replica")
        t_kill = time.monotonic()
        sandbox.kill(victim)
        t.join(10)
        assert not t.is_alive(), "the client hangs after its replica died"
        took = time.monotonic() - t_kill
        survivor = ({"replica1", "replica2"} - {victim}).pop()
        err = out.get("err")
        if err is None:
            # The proxy re-ran the read elsewhere (no byte of the answer had been sent): also a
            # correct outcome for a read, as long as the answer comes from a live server.
            row = out["row"]
            assert row is not None and row[1] == REPLICA_PORTS[survivor], \
                f"the statement 'succeeded' on a killed server: {out}"
            print(f"in-flight read on {victim} was retried on {survivor} ({took:.1f}s)")
        else:
            assert took < 2, f"the error came {took:.1f}s after the kill"
            assert isinstance(err, pymysql.err.OperationalError), repr(err)
            code, msg = err.args[0], str(err.args[-1])
            assert code in (1158, 2013, 2006), f"unexpected error {err.args}"
            assert victim in msg, f"the error does not name the backend {victim}: {err.args}"
            print(f"in-flight read on {victim}: ERR {code} {msg!r} ({took:.1f}s)")
        # The same session keeps working.
        assert scalar(c, "SELECT 1") == 1
        time.sleep(4 * INTERVAL + MARGIN)
        assert set(reads(c, 6)) == {REPLICA_PORTS[survivor]}
    finally:
        c.close()
        if victim and not sandbox.alive(victim):
            sandbox.restart(victim)


def test_primary_dies_in_transaction(xproxy, sandbox):
    """A transaction on a primary that dies gets an error; the session works once it is back."""
    sy = xproxy()
    c = sy.connect(read_timeout=20)
    tag1, tag2 = unique("tx"), unique("after")
    ins = "INSERT INTO test.t_where (port, tag) VALUES (@@port, %s)"
    try:
        c.begin()
        assert execute(c, ins, (tag1,)) == 1
        sandbox.kill("primary")
        t0 = time.monotonic()
        with pytest.raises(pymysql.err.MySQLError) as ei:
            execute(c, ins, (tag1 + "b",))
            c.commit()
        assert time.monotonic() - t0 < 5
        assert isinstance(ei.value, pymysql.err.OperationalError), repr(ei.value)
        assert "primary" in str(ei.value.args[-1]), f"error does not name the backend: {ei.value.args}"
        sandbox.restart("primary")

        def works():
            return execute(c, ins, (tag2,)) == 1

        # The same connection: the proxy must have kept the client session open.
        wait_for(works, 10, interval=INTERVAL, what="the session to work again after the primary came back")
        assert scalar(c, "SELECT 1") == 1
        got = sandbox.sql("primary", f"SELECT tag FROM test.t_where WHERE tag IN ('{tag1}', '{tag2}')")
        assert got == [[tag2]], f"after the crash: {got} (the open transaction must be lost)"
    finally:
        c.close()
        if not sandbox.alive("primary"):
            sandbox.restart("primary")


# --------------------------------------------------------------------------- writers

W_TABLE = "test.sy_writers"


class Writes:
    """Rows written through the proxy carry the @@port they ran on; read back directly."""

    def __init__(self, sandbox):
        self.sandbox = sandbox
        sandbox.sql("primary", f"CREATE TABLE IF NOT EXISTS {W_TABLE} "
                               "(id BIGINT PRIMARY KEY, port INT, tag VARCHAR(64))")
        sync_replicas(sandbox)
        self.direct = {}

    def write(self, conn):
        """INSERT one row through conn; return the row id (random: no key collisions between
        servers that are written directly)."""
        rid = random.getrandbits(62)
        assert execute(conn, f"INSERT INTO {W_TABLE} VALUES (%s, @@port, %s)", (rid, "w")) == 1
        return rid

    def where(self, rid):
        """The port where row rid was written (it exists there, and on that server's replicas)."""
        for port in (STANDBY_PORT, PRIMARY_PORT):
            if port not in self.direct:
                self.direct[port] = connect(port)
            got = scalar(self.direct[port], f"SELECT port FROM {W_TABLE} WHERE id=%s", (rid,))
            if got is not None:
                return got
        return None

    def write_port(self, conn):
        return self.where(self.write(conn))

    def close(self):
        for c in self.direct.values():
            c.close()
        self.sandbox.sql("primary", f"DROP TABLE IF EXISTS {W_TABLE}")


@pytest.fixture
def writes(sandbox):
    w = Writes(sandbox)
    try:
        yield w
    finally:
        restore_roles(sandbox)
        w.close()


def two_primaries():
    return [backend("primary", "primary", PRIMARY_PORT),
            backend("standby", "primary", STANDBY_PORT),
            backend("replica2", "replica", REPLICA_PORTS["replica2"], weight=1)]


def wait_writes_on(writes, conn, port, timeout):
    def moved():
        try:
            return writes.write_port(conn) == port
        except pymysql.err.MySQLError:
            return False  # during the switch the old primary refuses writes (read-only)
    wait_for(moved, timeout, interval=INTERVAL / 2, what=f"writes to go to {port}")


def test_active_passive_switchover(xproxy, sandbox, writes):
    sy = xproxy(backends=two_primaries(), keys={"routing": {"writers": "active-passive"}})
    with sy.connect() as c:
        assert [writes.write_port(c) for _ in range(4)] == [PRIMARY_PORT] * 4
        # The DBA's switchover: old primary read-only, standby stops replicating and is writable.
        set_read_only(sandbox, "primary", True)
        promote(sandbox, "replica1")
        wait_writes_on(writes, c, STANDBY_PORT, 6 * INTERVAL + 2)
        assert [writes.write_port(c) for _ in range(4)] == [STANDBY_PORT] * 4
        # Both writable: writes stay where they are, and the log says so loudly.
        mark = len(sy.log_text())
        set_read_only(sandbox, "primary", False)
        time.sleep(5 * INTERVAL + MARGIN)
        assert [writes.write_port(c) for _ in range(4)] == [STANDBY_PORT] * 4
        loud = [ln for ln in sy.log_text()[mark:].splitlines()
                if (" WARN " in ln or " ERROR " in ln) and "writ" in ln.lower()]
        assert loud, f"no warning about two writable primaries:\n{sy.log_text()[mark:]}"
        print("\n".join(loud))
        # Standby read-only again: the old primary is the only writable one and gets the writes.
        set_read_only(sandbox, "replica1", True)
        wait_writes_on(writes, c, PRIMARY_PORT, 6 * INTERVAL + 2)
    assert sy.alive()


def test_discover_roles(xproxy, sandbox, writes):
    """discover_roles = on: the writer is whichever backend has read_only=OFF, whatever the file says."""
    sy = xproxy(keys={"monitor": {"discover_roles": "on"}})
    with sy.connect() as c:
        assert [writes.write_port(c) for _ in range(3)] == [PRIMARY_PORT] * 3
        set_read_only(sandbox, "primary", True)
        promote(sandbox, "replica1")  # declared role = replica in the file
        wait_writes_on(writes, c, STANDBY_PORT, 6 * INTERVAL + 2)
        assert [writes.write_port(c) for _ in range(3)] == [STANDBY_PORT] * 3
        set_read_only(sandbox, "replica1", True)
        set_read_only(sandbox, "primary", False)
        wait_writes_on(writes, c, PRIMARY_PORT, 6 * INTERVAL + 2)


def test_active_active(xproxy, sandbox, writes):
    """Two writable servers (no Galera here: replica1 made writable, still replicating; rows
    have random ids so its local writes never collide with replicated ones): autocommit writes
    alternate, a transaction stays on one server."""
    set_read_only(sandbox, "replica1", False)
    sy = xproxy(backends=two_primaries(), keys={"routing": {"writers": "active-active"}})
    with sy.connect() as c:
        time.sleep(2 * INTERVAL)
        ports = [writes.write_port(c) for _ in range(8)]
        assert set(ports) == {PRIMARY_PORT, STANDBY_PORT}, ports
        assert min(ports.count(PRIMARY_PORT), ports.count(STANDBY_PORT)) >= 3, ports
        for _ in range(4):
            c.begin()
            a, b = writes.write(c), writes.write(c)
            c.commit()
            pa, pb = writes.where(a), writes.where(b)
            assert pa is not None and pa == pb, f"one transaction on two servers: {pa}, {pb}"


# --------------------------------------------------------------------------- writer_wait_ms

def writes_through_failover(sandbox, writes, sy, threads=4):
    """THREADS clients insert rows through sy, each on its own connection, while the writing
    primary is killed and the standby promoted (the DBA's failover). Returns the errors per
    thread; every acknowledged row is checked to exist on one of the two servers."""
    acked, errors = [[] for _ in range(threads)], [[] for _ in range(threads)]
    stop = threading.Event()

    def client(k):
        c = None
        while not stop.is_set():
            try:
                c = c or sy.connect(read_timeout=60)
                rid = random.getrandbits(62)
                execute(c, f"INSERT INTO {W_TABLE} VALUES (%s, @@port, %s)", (rid, "fo"))
                acked[k].append(rid)
            except pymysql.err.MySQLError as e:
                errors[k].append(e.args)
                if isinstance(e, pymysql.err.InterfaceError) or e.args[0] in (2006, 2013):
                    c = None  # the client's own connection broke: a new one

    ts = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(threads)]
    for t in ts:
        t.start()
    try:
        wait_for(lambda: all(len(a) >= 5 for a in acked), 30, what="writes before the kill")
        sandbox.kill("primary")
        promote(sandbox, "replica1")
        wait_for(lambda: re.search(r"writes move from 'primary' to 'standby'|'standby' takes the "
                                   r"writes", sy.log_text()), 30,
                 what="the writer change in the proxy's log")
        goal = [len(a) + 5 for a in acked]
        wait_for(lambda: all(len(a) >= g for a, g in zip(acked, goal)), 60,
                 what=lambda: f"writes after the move; errors {errors}")
    finally:
        stop.set()
        for t in ts:
            t.join(90)
    assert not any(t.is_alive() for t in ts), "a client thread hangs"
    sandbox.restart("primary")
    missing = [rid for a in acked for rid in a if writes.where(rid) is None]
    assert missing == [], f"{len(missing)} acknowledged rows are on neither server"
    kinds = sorted({(e[0], e[-1]) for errs in errors for e in errs})
    print(f"acknowledged {sum(map(len, acked))} rows; errors per thread "
          f"{[len(e) for e in errors]}: {kinds[:3]}")
    return errors


def test_writes_wait_for_the_new_writer(xproxy, sandbox, writes):
    """The writer is killed under load: only a statement in flight at the kill fails (at most
    one per client); the ones after it wait for the monitor to name the standby and run
    there. Every acknowledged row exists."""
    sy = xproxy(backends=two_primaries(), keys={"routing": {"writers": "active-passive"}})
    errors = writes_through_failover(sandbox, writes, sy)
    assert all(len(e) <= 1 for e in errors), errors
    assert "waiting up to 10000 ms for a writer" in sy.log_text()


def test_writer_wait_ms_0_fails_at_once(xproxy, sandbox, writes):
    """The same failover with writer_wait_ms = 0: every statement between the kill and the
    move fails (what the test above would see without the wait)."""
    sy = xproxy(backends=two_primaries(),
                keys={"routing": {"writers": "active-passive", "writer_wait_ms": 0}})
    errors = writes_through_failover(sandbox, writes, sy)
    assert max(len(e) for e in errors) >= 2, errors


def test_a_write_waits_while_the_primary_restarts(xproxy, sandbox):
    """One primary, killed and restarted: a write sent while it is down runs once it is back
    (the wait is long enough); one sent with a short wait fails after it, saying why. Both
    are counted."""
    admin_port, http_port = free_port(), free_port()
    sy = xproxy(keys={"routing": {"writer_wait_ms": 120000}},
                extra=http_only_admin_section(admin_port, http_port))
    short = xproxy(keys={"routing": {"writer_wait_ms": 1500}})
    tag = unique("wait")
    result = []
    c, d = sy.connect(read_timeout=150), short.connect(read_timeout=60)
    try:
        sandbox.kill("primary")

        def write():
            try:
                result.append(execute(c, "INSERT INTO test.t_where (port, tag) VALUES (@@port, %s)",
                                      (tag,)))
            except pymysql.err.MySQLError as e:
                result.append(e)

        t = threading.Thread(target=write, daemon=True)
        t.start()
        wait_for(lambda: metric_value(http_port, "switchyard_writer_waits_total") == 1, 30,
                 what="the write to wait for a writer")
        with pytest.raises(pymysql.err.OperationalError) as ei:
            execute(d, "INSERT INTO test.t_where (port, tag) VALUES (@@port, 'short')")
        assert "writer_wait_ms" in str(ei.value.args[-1]) and "primary" in str(ei.value.args[-1]), \
            ei.value.args
        assert t.is_alive() and result == [], result
        sandbox.restart("primary")
        t.join(150)
        assert result == [1], result
        assert sandbox.sql("primary", f"SELECT port FROM test.t_where WHERE tag = '{tag}'") == \
            [[str(PRIMARY_PORT)]]
        assert metric_value(http_port, "switchyard_writer_wait_timeouts_total") == 0
    finally:
        c.close()
        d.close()
        if not sandbox.alive("primary"):
            sandbox.restart("primary")


def test_a_waiting_write_is_told_at_shutdown(xproxy, sandbox):
    """SIGTERM while a write waits for a writer: the client gets an ERR saying the statement
    did not run (not a cut connection when shutdown_timeout_ms ends), and the proxy exits."""
    admin_port, http_port = free_port(), free_port()
    sy = xproxy(keys={"routing": {"writer_wait_ms": 120000},
                      "proxy": {"shutdown_timeout_ms": 120000}},
                extra=http_only_admin_section(admin_port, http_port))
    c = sy.connect(read_timeout=150)
    result = []
    try:
        sandbox.kill("primary")

        def write():
            try:
                result.append(execute(c, "INSERT INTO test.t_where (port, tag) VALUES (@@port, %s)",
                                      (unique("shutdown"),)))
            except pymysql.err.MySQLError as e:
                result.append(e)

        t = threading.Thread(target=write, daemon=True)
        t.start()
        wait_for(lambda: metric_value(http_port, "switchyard_writer_waits_total") == 1, 30,
                 what="the write to wait for a writer")
        sy.expect_exit = True
        sy.proc.send_signal(signal.SIGTERM)
        t.join(60)
        assert len(result) == 1 and isinstance(result[0], pymysql.err.OperationalError), result
        assert result[0].args[0] == 1053 and "did not run" in result[0].args[1], result[0].args
        assert sy.proc.wait(timeout=60) == 0
    finally:
        c.close()
        sandbox.restart("primary")
