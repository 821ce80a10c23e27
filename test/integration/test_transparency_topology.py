"""Through the proxy in front of the replica topology, a session sees what it would see
on the primary alone (differences found by mariadb-test-run through the topology)."""

import threading

import pytest

from sy_helpers import (PRIMARY_PORT, TcpRelay, backend, connect, execute, relay_pump, scalar,
                        sync_replicas, unique, wait_for, xproxy)  # noqa: F401


@pytest.fixture
def trigger_table(sandbox):
    """A table whose BEFORE INSERT trigger adds each new value to @sum, as in
    main.create_drop_trigger."""
    name = f"test.{unique('trg')}"
    sandbox.sql("primary", f"CREATE TABLE {name} (val INT PRIMARY KEY); "
                           f"CREATE TRIGGER {name}_bi BEFORE INSERT ON {name} "
                           "FOR EACH ROW SET @sum = @sum + NEW.val")
    sync_replicas(sandbox)
    yield name
    sandbox.sql("primary", f"DROP TABLE IF EXISTS {name}")


def sum_after_inserts(conn, table):
    """@sum after a successful INSERT of three rows and a failing one whose trigger ran
    for both rows before the duplicate key stopped it."""
    execute(conn, "SET @sum = 0")
    execute(conn, f"INSERT INTO {table} VALUES (10), (20), (30)")
    seen = [scalar(conn, "SELECT @sum")]
    with pytest.raises(Exception):
        execute(conn, f"INSERT INTO {table} VALUES (5), (10)")
    seen.append(scalar(conn, "SELECT @sum + 0"))
    return seen


def test_user_variable_set_by_trigger(sy, trigger_table, sandbox):
    """A trigger changes @sum on the primary; the proxy's replayed copy on a replica
    still says 0, so the read of @sum must run on the primary."""
    direct = connect(PRIMARY_PORT)
    try:
        expected = sum_after_inserts(direct, trigger_table)
    finally:
        direct.close()
    sandbox.sql("primary", f"DELETE FROM {trigger_table}")
    sync_replicas(sandbox)
    assert expected == [60, 75]
    conn = sy.connect()
    try:
        assert sum_after_inserts(conn, trigger_table) == expected
        # statements without user variables still go to the replicas
        assert scalar(conn, "SELECT @@port") != PRIMARY_PORT
    finally:
        conn.close()


# ------------------------------------------------ a backend connection out of step

MARKER = b"sy_out_of_step_marker"
# an OK packet with sequence number 2: the server's answer to nothing
STRAY_OK = bytes([7, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0])


class StrayPacketRelay(TcpRelay):
    """A TCP relay to the primary that, after a query naming MARKER, sends one
    OK packet more with the server's next bytes (its answer to that query)."""

    def connected(self, client, server):
        armed = threading.Event()

        def watch(data):
            if MARKER in data:
                armed.set()
            return data

        def inject(data):
            if armed.is_set():
                armed.clear()
                return data + STRAY_OK
            return data

        threading.Thread(target=relay_pump, args=(client, server, watch), daemon=True).start()
        threading.Thread(target=relay_pump, args=(server, client, inject), daemon=True).start()


def test_backend_out_of_step_serves_nothing_more(xproxy):
    """The backend sends a packet after its complete answer: the client keeps that
    answer, gets no extra ERR (which it would read as the answer to its next
    statement), and the next statements run on a fresh backend connection."""
    relay = StrayPacketRelay()
    try:
        sy = xproxy(backends=[backend("primary", "primary", relay.port)], replicas=())
        conn = sy.connect()
        try:
            before = scalar(conn, "SELECT CONNECTION_ID()")
            assert scalar(conn, f"SELECT '{MARKER.decode()}'") == MARKER.decode()
            ids = set()
            for i in range(3):
                assert scalar(conn, f"SELECT {i} + 1") == i + 1
                ids.add(scalar(conn, "SELECT CONNECTION_ID()"))
            assert len(ids) == 1 and before not in ids
        finally:
            conn.close()
        wait_for(lambda: "backend sent data after the response" in sy.log_tail(200), 10,
                 what="the proxy's warning")
    finally:
        relay.close()


def test_session_default_engine_reads_the_primary_copy(sy, sandbox):
    """A session's default_storage_engine does not reach the replicas with its CREATE
    TABLE (they use their own default, here InnoDB): that session's reads stay on the
    primary, where the table has the engine it asked for."""
    table = f"test.{unique('eng')}"
    conn = sy.connect()
    try:
        execute(conn, "SET SESSION default_storage_engine = MyISAM")
        execute(conn, f"CREATE TABLE {table} (a INT)")
        sync_replicas(sandbox)
        for _ in range(4):
            assert "ENGINE=MyISAM" in conn_show_create(conn, table)
        assert scalar(conn, "SELECT @@port") == PRIMARY_PORT
    finally:
        conn.close()
        sandbox.sql("primary", f"DROP TABLE IF EXISTS {table}")


def conn_show_create(conn, table):
    with conn.cursor() as cur:
        cur.execute(f"SHOW CREATE TABLE {table}")
        return cur.fetchone()[1]
