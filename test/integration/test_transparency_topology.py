"""Through the proxy in front of the replica topology, a session sees what it would see
on the primary alone (differences found by mariadb-test-run through the topology)."""

import pytest

from sy_helpers import PRIMARY_PORT, connect, execute, scalar, sync_replicas, unique


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
