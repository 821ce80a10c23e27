"""Causal reads (read-your-writes) with slow replicas.

Both replicas get MASTER_DELAY=2, so a row written on the primary reaches them
1-2 s later (measured directly by the `slow_replicas` fixture, which fails the
test if the sandbox manipulation did not take). max_replication_lag is 30, so
the monitor keeps the delayed replicas eligible for reads: the only thing
between a session and its own stale read is the proxy's causal-reads logic.
"""

import threading
import time

import pytest

from sy_helpers import (PRIMARY_PORT, REPLICA_PORT_SET, REPLICA_PORTS, free_port,
                        http_only_admin_section, metric_value, one, scalar, sync_replicas,
                        unique, xproxy)  # noqa: F401

DELAY = 2
TABLE = "test.sy_causal"
LAG_OK = 30  # max_replication_lag: delayed replicas stay eligible


@pytest.fixture
def slow_replicas(sandbox):
    sandbox.sql("primary", f"CREATE TABLE IF NOT EXISTS {TABLE} "
                           "(id INT AUTO_INCREMENT PRIMARY KEY, tag VARCHAR(64), KEY(tag))")
    sync_replicas(sandbox)
    try:
        for name in REPLICA_PORTS:
            sandbox.set_delay(name, DELAY)
        # Validate the manipulation itself: half a second after a write on the primary, the
        # row must still be missing on both replicas (MASTER_DELAY=N holds every event back
        # ~N s on MariaDB 10.11).
        for name in REPLICA_PORTS:
            assert sandbox.replica_status(name).get("SQL_Delay") == str(DELAY)
        token = unique("stale")
        sandbox.sql("primary", f"REPLACE INTO test.sandbox_check VALUES (120, '{token}')")
        time.sleep(0.5)
        for name in REPLICA_PORTS:
            got = sandbox.sql(name, "SELECT token FROM test.sandbox_check WHERE id=120")
            assert got != [[token]], f"MASTER_DELAY={DELAY} did not make {name} stale"
        yield sandbox
    finally:
        for name in REPLICA_PORTS:
            sandbox.set_delay(name, 0)
        sandbox.ensure_healthy()
        sandbox.sql("primary", f"DROP TABLE IF EXISTS {TABLE}")


def causal_proxy(xproxy, **routing):
    return xproxy(keys={"routing": routing}, max_replication_lag=LAG_OK)


def write_then_read(conn):
    """INSERT a unique row, immediately SELECT it back. Returns (seen, port, read seconds)."""
    tag = unique("c")
    with conn.cursor() as cur:
        assert cur.execute(f"INSERT INTO {TABLE} (tag) VALUES (%s)", (tag,)) == 1
    t0 = time.monotonic()
    row = one(conn, f"SELECT COUNT(*), @@port FROM {TABLE} WHERE tag=%s", (tag,))
    return row[0] == 1, row[1], time.monotonic() - t0


def idle_reader(sy, stop, out):
    """A session that never writes: its reads must stay on replicas and never wait."""
    try:
        with sy.connect() as c:
            while not stop.is_set():
                t0 = time.monotonic()
                port = scalar(c, "SELECT @@port")
                out.append((port, time.monotonic() - t0))
                stop.wait(0.05)
    except Exception as e:  # noqa: BLE001
        out.append((e, None))


def test_gtid_waits_for_replica(xproxy, slow_replicas):
    """causal_reads=gtid, timeout 5 s > delay: every read sees its row, on a replica, after
    waiting for it; 4 sessions x 5 iterations in parallel (20 in ~10 s)."""
    sy = causal_proxy(xproxy, causal_reads="gtid", causal_reads_timeout_ms=5000)
    results, errors = [], []

    def worker():
        try:
            with sy.connect() as c:
                for _ in range(5):
                    results.append(write_then_read(c))
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    stop, idle = threading.Event(), []
    bystander = threading.Thread(target=idle_reader, args=(sy, stop, idle))
    bystander.start()
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    stop.set()
    bystander.join(10)

    assert not errors, errors
    assert len(results) == 20
    assert all(seen for seen, _, _ in results), f"a session missed its own write: {results}"
    ports = [p for _, p, _ in results]
    assert set(ports) <= REPLICA_PORT_SET, f"causal reads left the replicas: {ports}"
    waits = sorted(round(w, 2) for _, _, w in results)
    # The replica is 1-2 s behind: the proxy must have waited for it, never up to the timeout.
    assert waits[0] >= 0.3, f"reads did not wait for the replica: {waits}"
    assert waits[-1] < 4.5, f"reads waited too long: {waits}"

    assert idle and all(isinstance(p, int) for p, _ in idle), f"bystander failed: {idle[-3:]}"
    assert set(p for p, _ in idle) <= REPLICA_PORT_SET, f"bystander reads: {idle}"
    slow = [w for _, w in idle if w > 0.3]
    assert not slow, f"a session with no writes waited for other sessions' writes: {slow}"


def test_gtid_after_the_client_turns_tracking_off(xproxy, slow_replicas):
    """The client empties its own session_track_system_variables: its OKs then name no GTID,
    and the proxy must learn each write's position another way; it still reads its writes."""
    sy = causal_proxy(xproxy, causal_reads="gtid", causal_reads_timeout_ms=5000)
    with sy.connect() as c:
        with c.cursor() as cur:
            cur.execute("SET SESSION session_track_system_variables = ''")
        results = [write_then_read(c) for _ in range(4)]
    assert all(seen for seen, _, _ in results), f"a session missed its own write: {results}"


@pytest.mark.parametrize("mode", ["gtid", "global", "universal"])
def test_timeout_falls_back_to_primary(xproxy, slow_replicas, mode):
    """causal_reads_timeout_ms=300 < delay: the read gives up waiting and runs on the primary
    (its answer from the replica, sent right behind the wait, is dropped); counted."""
    http_port = free_port()
    sy = xproxy(keys={"routing": {"causal_reads": mode, "causal_reads_timeout_ms": 300}},
                max_replication_lag=LAG_OK, extra=http_only_admin_section(free_port(), http_port))
    results = []
    with sy.connect() as c:
        for _ in range(12):
            results.append(write_then_read(c))
        # No write since the last read: once the replicas have caught up, reads return there.
        time.sleep(DELAY + 0.5)
        later = set(scalar(c, "SELECT @@port") for _ in range(4))
    assert all(seen for seen, _, _ in results), f"a session missed its own write: {results}"
    # MASTER_DELAY counts whole seconds (event time, clock difference), so now and then a
    # row reaches a replica within the 300 ms wait: that read rightly stays there.
    fell_back = [p for _, p, _ in results if p == PRIMARY_PORT]
    assert len(fell_back) >= len(results) // 2, results
    waits = [round(w, 2) for _, _, w in results]
    assert max(waits) < 1.5, f"fallback to the primary took too long: {waits}"
    assert later == REPLICA_PORT_SET, f"reads after the replicas caught up: {later}"
    assert metric_value(http_port, "switchyard_causal_timeouts_total") >= len(fell_back)


@pytest.mark.parametrize("mode", ["gtid", "global"])
def test_read_that_wrote_counts_as_a_write(xproxy, slow_replicas, mode):
    """SELECT NEXT VALUE FOR runs on the primary and refills the sequence's cache (a binlogged
    write, reported only in the status of the result set's EOF to pymysql): the next read
    of the sequence on a replica must see the refill."""
    sy = causal_proxy(xproxy, causal_reads=mode, causal_reads_timeout_ms=5000)
    seq = "test.sy_causal_seq"
    try:
        with sy.connect() as c:
            with c.cursor() as cur:
                cur.execute(f"CREATE OR REPLACE SEQUENCE {seq}")
            assert one(c, f"SELECT next_not_cached_value, @@port FROM {seq}")[0] == 1
            assert scalar(c, f"SELECT NEXT VALUE FOR {seq}") == 1
            value, port = one(c, f"SELECT next_not_cached_value, @@port FROM {seq}")
            assert port in REPLICA_PORT_SET
            assert value == 1001, f"the replica read missed the refill ({mode})"
            # In a transaction: the COMMIT's OK names no GTID, which must not make the
            # refill's (hidden in the SELECT's EOF) look learned.
            with c.cursor() as cur:
                cur.execute("START TRANSACTION")
                cur.execute(f"SELECT COUNT(NEXTVAL({seq})) FROM test.seq_1_to_1500")
                cur.execute("COMMIT")
            value, port = one(c, f"SELECT next_not_cached_value, @@port FROM {seq}")
            assert port in REPLICA_PORT_SET
            assert value == 2001, f"the replica read missed the refills of a transaction ({mode})"
    finally:
        slow_replicas.sql("primary", f"DROP SEQUENCE IF EXISTS {seq}")


def test_universal_reads_share_position_fetches(xproxy, sandbox):
    """16 sessions reading at once: reads that arrive while the primary's position is being
    fetched share the next fetch, so there are fewer fetches than reads (each read still
    gets a fetch sent after it arrived)."""
    http_port = free_port()
    sy = xproxy(keys={"routing": {"causal_reads": "universal"}},
                extra=http_only_admin_section(free_port(), http_port))
    errors = []

    def reader():
        try:
            with sy.connect() as c:
                for _ in range(50):
                    assert scalar(c, "SELECT @@port") in REPLICA_PORT_SET
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    fetches = metric_value(http_port, "switchyard_causal_position_fetches_total")
    assert 1 <= fetches < 16 * 50, fetches


def test_off_shows_real_staleness(xproxy, slow_replicas):
    """causal_reads=off: the same loop misses its own row (the staleness is real)."""
    sy = causal_proxy(xproxy, causal_reads="off")
    misses, results = 0, []
    with sy.connect() as c:
        for _ in range(20):
            seen, port, took = write_then_read(c)
            results.append((seen, port, round(took, 3)))
            assert port in REPLICA_PORT_SET, results
            assert took < 0.5, f"causal_reads=off must not wait: {results}"
            if not seen:
                misses += 1
                break
    assert misses >= 1, f"no stale read with causal_reads=off and MASTER_DELAY={DELAY}: {results}"


def test_primary_window(xproxy, slow_replicas):
    """primary_window: reads within causal_window_ms of the session's write go to the primary."""
    sy = causal_proxy(xproxy, causal_reads="primary_window", causal_window_ms=3000)
    with sy.connect() as c, sy.connect() as other:
        assert set(scalar(c, "SELECT @@port") for _ in range(4)) == REPLICA_PORT_SET
        seen, port, took = write_then_read(c)
        t_write = time.monotonic() - took
        assert seen and port == PRIMARY_PORT, (seen, port)
        assert took < 0.5
        # Another session is not affected by this one's write.
        assert set(scalar(other, "SELECT @@port") for _ in range(4)) == REPLICA_PORT_SET
        time.sleep(1.0)
        assert [scalar(c, "SELECT @@port") for _ in range(3)] == [PRIMARY_PORT] * 3
        assert time.monotonic() - t_write < 2.8, "too slow to check inside the window"
        time.sleep(max(0.0, t_write + 3.0 + 0.5 - time.monotonic()))
        after = set(scalar(c, "SELECT @@port") for _ in range(4))
        assert after == REPLICA_PORT_SET, f"reads after the window: {after}"
