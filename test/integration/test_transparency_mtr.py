"""Differences MariaDB's own test suite (mariadb-test-run) found between the
server and the proxy, each reproduced here without the suite."""

from sy_helpers import backend, free_port, mariadb_cli, xproxy  # noqa: F401


def test_unreachable_backend_error_reaches_a_mariadb_client_intact(xproxy):
    """The error for a backend that cannot be reached carries a server error code: MariaDB's
    client library turns an ERR packet with one of its own codes (2003, 2013) into
    'ERROR 2027: Received malformed packet' and drops the message."""
    dead_port = free_port()
    sy = xproxy(backends=[backend("primary", "primary", dead_port)], wait_replicas=False)
    out = mariadb_cli(sy.port, "SELECT 1")
    assert out.returncode != 0, out
    assert "2027" not in out.stderr and "malformed" not in out.stderr, out.stderr
    assert "ERROR 1429" in out.stderr, out.stderr
    assert "primary" in out.stderr and str(dead_port) in out.stderr, out.stderr
