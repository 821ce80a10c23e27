"""Fixtures for the Galera tests: the Galera sandbox (sandbox.sh start galera: nodes
galera1 :3320 and galera2 :3321, async replica greplica :3322) and proxies in front of it.
Helpers come from test/integration/sy_helpers.py."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from sy_helpers import (SANDBOX_DIR, Sandbox, XProxy, backend, free_port,  # noqa: E402
                        kept_healthy, proxy_factory)

NODES = {"galera1": 3320, "galera2": 3321}
REPLICA = ("greplica", 3322)
GALERA_PORTS = {**NODES, REPLICA[0]: REPLICA[1]}
ADMIN_USER, ADMIN_PW = "admin", "admin_pw"


class GaleraSandbox(Sandbox):
    ports = GALERA_PORTS
    dir = SANDBOX_DIR / "galera"

    def wsrep(self, name):
        """{status variable: value} of the wsrep_* status of node NAME."""
        return dict(self.sql(name, "SHOW GLOBAL STATUS LIKE 'wsrep%'"))

    def ensure_healthy(self):
        """Both nodes Synced and not desynced, the replica replicating with no delay."""
        for name in GALERA_PORTS:
            if not self.alive(name):
                self.restart(name)
        for name in NODES:
            self.sql(name, "SET GLOBAL wsrep_desync = OFF")
            self.run("wait-synced", name)
        st = self.replica_status(REPLICA[0])
        if st.get("SQL_Delay") not in ("0", None) or st.get("Slave_IO_Running") != "Yes" \
                or st.get("Slave_SQL_Running") != "Yes":
            self.set_delay(REPLICA[0], 0)
        self.wait_replica(REPLICA[0])


@pytest.fixture(scope="session")
def galera_session():
    sb = GaleraSandbox()
    sb.run("start", "galera", timeout=300)
    sb.sql("galera1", "CREATE TABLE IF NOT EXISTS test.g_where ("
                      " id INT AUTO_INCREMENT PRIMARY KEY, port INT, tag VARCHAR(64), KEY(tag))")
    sb.ensure_healthy()
    return sb


@pytest.fixture
def galera(galera_session):
    """The Galera sandbox, healthy before and after the test."""
    yield from kept_healthy(galera_session)


def galera_backends():
    return [backend(n, "primary", p, galera="on") for n, p in NODES.items()] + \
           [backend(REPLICA[0], "replica", REPLICA[1])]


@pytest.fixture
def gproxy(galera, tmp_path, request):
    """Factory: gproxy(routing={...}, monitor={...}, **settings) -> a started XProxy in
    front of the Galera sandbox, with an admin port (.admin_port) and /metrics (.http_port)."""
    def make(i, routing=None, monitor=None, **settings):
        admin_port, http_port = free_port(), free_port()
        extra = (f"[admin]\nlisten = 127.0.0.1:{admin_port}\nuser = {ADMIN_USER}\n"
                 f"password = {ADMIN_PW}\nhttp_listen = 127.0.0.1:{http_port}\n")
        keys = {"routing": routing or {}, "monitor": monitor or {}}
        p = XProxy(tmp_path / f"gproxy{i}", keys=keys, backends=galera_backends(),
                   extra=extra, **settings)
        p.admin_port, p.http_port = admin_port, http_port
        return p

    yield from proxy_factory(request, make)
