"""Helpers for switchyard's integration tests against a real MariaDB sandbox.

- ``Sandbox``: wraps ``test/sandbox/sandbox.sh``; root SQL over the instances'
  unix sockets, kill/restart, replica status and MASTER_DELAY.
- ``Proxy``: starts the switchyard binary (``$SY_BINARY``, default
  ``build/switchyard``) with a generated INI on a free port; at teardown it gets
  SIGTERM and must exit 0 within a few seconds with no sanitizer report.

The fixtures using them are in conftest.py.
"""

import os
import re
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pymysql
import pytest

REPO = Path(__file__).resolve().parents[2]
SANDBOX_SH = REPO / "test" / "sandbox" / "sandbox.sh"
SANDBOX_DIR = Path(os.environ.get("SY_SANDBOX_DIR", "/tmp/switchyard-sandbox"))
SY_BINARY = Path(os.environ.get("SY_BINARY", REPO / "build" / "switchyard"))

PRIMARY_PORT = 3310
REPLICA_PORTS = {"replica1": 3311, "replica2": 3312}
PORTS = {"primary": PRIMARY_PORT, **REPLICA_PORTS}
APP_USER, APP_PW = "app", "app_pw"

MONITOR_INTERVAL_MS = 200
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")

# Sanitizer settings for an instrumented binary run outside run-tests.sh.
os.environ.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
os.environ.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")


# Every deadline is stretched by this factor: a condition is polled until it
# holds, so a longer deadline costs nothing when things work, and CI is a
# loaded 2-core machine running the proxy under ASan.
DEADLINE_SCALE = float(os.environ.get("SY_DEADLINE_SCALE", "4"))


def wait_for(pred, timeout, interval=0.05, what="condition"):
    """Poll pred() until it returns a truthy value; return it, or fail after timeout
    (times DEADLINE_SCALE)."""
    timeout *= DEADLINE_SCALE
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = pred()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - report the last one on timeout
            last_exc = e
        if time.monotonic() >= deadline:
            msg = f"timed out after {timeout}s waiting for {what}"
            if last_exc is not None:
                msg += f" (last error: {last_exc!r})"
            pytest.fail(msg)
        time.sleep(interval)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_accepts(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def unique(prefix="t"):
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def connect(port, user=APP_USER, password=APP_PW, autocommit=True, **kw):
    """pymysql connection with timeouts so a hanging proxy fails a test instead of blocking it.

    autocommit=True matters: pymysql's default (False) sends SET AUTOCOMMIT=0 at
    connect, which would rightly pin every statement to the primary.
    """
    kw.setdefault("connect_timeout", 10)
    kw.setdefault("read_timeout", 60)
    kw.setdefault("write_timeout", 60)
    return pymysql.connect(host="127.0.0.1", port=port, user=user, password=password,
                           autocommit=autocommit, **kw)


def relay_pump(src, dst, transform=lambda data: data):
    """Copy what src sends to dst (each chunk through transform) until either side
    closes; then shut both down. For relays between the proxy and a server."""
    try:
        while (data := src.recv(65536)):
            dst.sendall(transform(data))
    except OSError:
        pass
    for sock in (src, dst):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class TcpRelay:
    """Listens on a free port; each connection gets its own connection to the primary (or
    to target_port), handed to self.connected(client, server) (default: copy both ways)."""

    def __init__(self, target_port=PRIMARY_PORT):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connected(client, socket.create_connection(("127.0.0.1", self.target_port)))

    def connected(self, client, server):
        for a, b in ((client, server), (server, client)):
            threading.Thread(target=relay_pump, args=(a, b), daemon=True).start()

    def close(self):
        self.listener.close()


def one(conn, sql, args=None):
    """First row of a query's result."""
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchone()


def scalar(conn, sql, args=None):
    row = one(conn, sql, args)
    return None if row is None else row[0]


# --------------------------------------------------------------------------- sandbox

class Sandbox:
    ports = PORTS
    dir = SANDBOX_DIR  # where the instances' sockets are

    def run(self, *args, check=True, timeout=180):
        p = subprocess.run([str(SANDBOX_SH), *args], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout)
        if check and p.returncode != 0:
            pytest.fail(f"sandbox.sh {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
        return p

    def sql(self, name, sql):
        """Run SQL as root over NAME's socket; return rows as lists of strings (NULL -> None)."""
        p = subprocess.run(
            ["mariadb", "--no-defaults", f"--socket={self.dir / (name + '.sock')}", "-uroot",
             "--batch", "--skip-column-names", "--connect-timeout=5", "-e", sql],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise RuntimeError(f"root SQL on {name} failed: {sql!r}: {p.stderr.strip()}")
        return [[None if f == "NULL" else f for f in line.split("\t")]
                for line in p.stdout.splitlines()]

    def replica_status(self, name):
        """SHOW SLAVE STATUS of NAME as a dict by column name (NULL -> None), {} when not a replica."""
        p = subprocess.run(
            ["mariadb", "--no-defaults", f"--socket={self.dir / (name + '.sock')}", "-uroot",
             "--batch", "--connect-timeout=5", "-e", "SHOW SLAVE STATUS"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError(f"SHOW SLAVE STATUS on {name} failed: {p.stderr.strip()}")
        lines = p.stdout.splitlines()
        if len(lines) < 2:
            return {}
        cols, vals = lines[0].split("\t"), lines[1].split("\t")
        return {c: (None if v == "NULL" else v) for c, v in zip(cols, vals)}

    def lag(self, name):
        v = self.replica_status(name).get("Seconds_Behind_Master")
        return None if v is None else int(v)

    def kill(self, name):
        self.run("kill", name)

    def restart(self, name):
        self.run("restart", name)

    def wait_replica(self, name):
        self.run("wait-replica", name)

    def set_delay(self, name, seconds):
        self.sql(name, f"STOP SLAVE; CHANGE MASTER TO MASTER_DELAY={int(seconds)}; START SLAVE")

    def alive(self, name):
        try:
            self.sql(name, "SELECT 1")
            return True
        except Exception:  # noqa: BLE001
            return False

    def ensure_healthy(self):
        """Bring the topology back to the reference state: all up, no delay, replicating."""
        for name in PORTS:
            if not self.alive(name):
                self.restart(name)  # waits until it accepts (and replicates, for a replica)
        for name in REPLICA_PORTS:
            st = self.replica_status(name)
            changed = False
            if st.get("SQL_Delay") not in ("0", None):
                self.set_delay(name, 0)
                changed = True
            elif st.get("Slave_IO_Running") != "Yes" or st.get("Slave_SQL_Running") != "Yes":
                self.sql(name, "START SLAVE")
                changed = True
            if changed or st.get("Seconds_Behind_Master") not in ("0",):
                self.wait_replica(name)


# --------------------------------------------------------------------------- proxy

DEFAULT_SETTINGS = dict(
    threads=2,
    max_replication_lag=10,
    read_fallback="primary",
    interval_ms=MONITOR_INTERVAL_MS,
    connect_timeout_ms=500,
    replicas=("replica1", "replica2"),
    extra="",
)


# SY_TEST_MULTIPLEXING=off runs the suite with [proxy] multiplexing = off (a test that sets
# the key itself keeps its own value).
MULTIPLEXING = os.environ.get("SY_TEST_MULTIPLEXING", "")


def make_ini(port, **settings):
    s = {**DEFAULT_SETTINGS, **settings}
    lines = [
        "# generated by test/integration/sy_helpers.py",
        "[proxy]",
        f"listen = 127.0.0.1:{port}",
        f"threads = {s['threads']}",
    ] + ([f"multiplexing = {MULTIPLEXING}"] if MULTIPLEXING else []) + [
        "",
        "[monitor]",
        "user = monitor",
        "password = monitor_pw",
        f"interval_ms = {s['interval_ms']}",
        f"connect_timeout_ms = {s['connect_timeout_ms']}",
        f"max_replication_lag = {s['max_replication_lag']}",
        "",
        "[routing]",
        f"read_fallback = {s['read_fallback']}",
        "",
        "[backend.primary]",
        "role = primary",
        "host = 127.0.0.1",
        f"port = {PRIMARY_PORT}",
        "",
    ]
    for name in s["replicas"]:
        lines += [
            f"[backend.{name}]",
            "role = replica",
            "host = 127.0.0.1",
            f"port = {REPLICA_PORTS[name]}",
            "weight = 1",
            "",
        ]
    lines += ["[user.app]", f"password = {APP_PW}", ""]
    if s["extra"]:
        lines.append(s["extra"])
    return "\n".join(lines) + "\n"


def listen_addresses(ini_text):
    """(host, port) of every listener an INI configures: [proxy] listen, [admin] listen and
    http_listen. The proxy is ready when all of them accept."""
    found = []
    for m in re.finditer(r"^\s*(?:http_)?listen\s*=\s*(\S+):(\d+)\s*(?:[;#].*)?$", ini_text, re.M):
        host = m.group(1).strip("[]")
        found.append(("127.0.0.1" if host in ("0.0.0.0", "*", "") else host, int(m.group(2))))
    return found


class Proxy:
    def __init__(self, workdir, **settings):
        self.port = free_port()
        self.settings = {**DEFAULT_SETTINGS, **settings}
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ini = self.dir / "switchyard.ini"
        self.ini.write_text(make_ini(self.port, **settings))
        self.log_path = self.dir / "switchyard.stderr"
        self.proc = None
        self.exit_code = None

    def start(self, wait_replicas=True):
        if not SY_BINARY.exists():
            pytest.fail(f"proxy binary {SY_BINARY} does not exist (build it, or set SY_BINARY)")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([str(SY_BINARY), "-c", str(self.ini)],
                                     stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 20
        for host, port in listen_addresses(self.ini.read_text()) or [("127.0.0.1", self.port)]:
            while not port_accepts(port, host):
                if self.proc.poll() is not None:
                    pytest.fail(f"switchyard exited with {self.proc.returncode} at startup:\n{self.log_tail()}")
                if time.monotonic() > deadline:
                    pytest.fail(f"switchyard does not listen on {host}:{port} after 20s:\n{self.log_tail()}")
                time.sleep(0.05)
        if wait_replicas:
            self.wait_replicas_eligible(set(REPLICA_PORTS[n] for n in self.settings["replicas"]))
        return self

    def wait_replicas_eligible(self, ports, timeout=10):
        """Wait until reads through the proxy have reached every port in `ports`."""
        seen = set()

        def pred():
            with self.connect() as c:
                for _ in range(2 * len(ports) + 2):
                    seen.add(scalar(c, "SELECT @@port"))
            return ports <= seen

        wait_for(pred, timeout, interval=MONITOR_INTERVAL_MS / 1000,
                 what=lambda: f"reads through the proxy to reach {sorted(ports)} (seen {sorted(seen)})")

    def connect(self, **kw):
        return connect(self.port, **kw)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, n=60):
        return "\n".join(self.log_text().splitlines()[-n:])

    def stop(self, timeout=10):
        """SIGTERM; returns the exit code (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.exit_code = None
                self._log.close()
                return None
        self.exit_code = self.proc.returncode
        self._log.close()
        return self.exit_code

    def check_clean_exit(self):
        problems = []
        was_alive = self.alive()
        code = self.stop()
        if not was_alive:
            problems.append(f"switchyard had already exited (code {self.exit_code}) before teardown")
        elif code is None:
            problems.append("switchyard did not exit within 10s of SIGTERM (killed)")
        elif code != 0:
            problems.append(f"switchyard exited with {code} after SIGTERM")
        text = self.log_text()
        for marker in SANITIZER_MARKERS:
            if marker in text:
                problems.append(f"sanitizer report on stderr: {marker!r}")
        return problems


REPLICA_PORT_SET = set(REPLICA_PORTS.values())


def replica_ports():
    return set(REPLICA_PORT_SET)


ERR_RE_NO_REPLICA = re.compile(r"no .*replica|replica.*(available|eligible)|eligible", re.I)


# --------------------------------------------------------------------------- added helpers
# (session state, PROXY statements, differential and prepared-statement tests)

def add_routing_keys(ini_text, routing):
    """INI text with `key = value` lines from the dict `routing` added to its [routing] section."""
    if not routing:
        return ini_text
    lines = ini_text.splitlines()
    at = lines.index("[routing]") + 1
    lines[at:at] = [f"{k} = {v}" for k, v in routing.items()]
    return "\n".join(lines) + "\n"


class RoutingProxy(Proxy):
    """A Proxy whose generated INI has extra keys in [routing], e.g.
    RoutingProxy(dir, routing={"read_only_transactions": "primary"})."""

    def __init__(self, workdir, routing=None, **settings):
        super().__init__(workdir, **settings)
        self.ini.write_text(add_routing_keys(self.ini.read_text(), routing))


def stop_proxies(proxies, failed=False):
    """Stop started proxies as the `proxy` fixture does; return the problems found (list of text)."""
    problems = []
    for p in proxies:
        for prob in p.check_clean_exit():
            problems.append(f"{prob}\n--- {p.log_path} (tail) ---\n{p.log_tail()}")
    if failed:
        for p in proxies:
            print(f"\n--- switchyard log {p.log_path} (tail) ---\n{p.log_tail(80)}")
    return problems


def rows(conn, sql, args=None):
    """All rows of a query's result (tuple of tuples)."""
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def execute(conn, sql, args=None):
    """Run one statement; return the affected-row count pymysql reports."""
    with conn.cursor() as cur:
        return cur.execute(sql, args)


def error_code(conn, sql, args=None):
    """Run a statement that must fail; return its MariaDB error code (fails the test if it succeeds)."""
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            cur.fetchall()
    except pymysql.err.MySQLError as e:
        return e.args[0]
    pytest.fail(f"{sql!r} succeeded; an error was expected")


def ports_of(conn, n, sql="SELECT @@port"):
    """Run sql (first column @@port) n times; the list of ports."""
    return [scalar(conn, sql) for _ in range(n)]


def on_replicas(conn, sql, n=6, args=None):
    """Run sql, whose LAST column is @@port, n times. Assert every run was on a replica and that
    both replicas were hit; return {port: set of the other columns as tuples}."""
    seen = {}
    for _ in range(n):
        row = one(conn, sql, args)
        seen.setdefault(row[-1], set()).add(tuple(row[:-1]))
    assert set(seen) == REPLICA_PORT_SET, f"{sql!r} ran on ports {sorted(seen)}, expected both replicas"
    return seen


def primary_gtid_pos(sandbox):
    return sandbox.sql("primary", "SELECT @@gtid_binlog_pos")[0][0] or ""


def sync_replicas(sandbox, timeout=10):
    """Wait until every replica has applied everything the primary has binlogged so far."""
    pos = primary_gtid_pos(sandbox)
    if not pos:
        return
    for name in REPLICA_PORTS:
        got = sandbox.sql(name, f"SELECT MASTER_GTID_WAIT('{pos}', {int(timeout)})")[0][0]
        assert got == "0", f"{name} did not reach GTID {pos} within {timeout}s (MASTER_GTID_WAIT={got})"


def temporary_account(sandbox, user, password, grants):
    """Body of a fixture (use it with `yield from`): account USER@'%' with GRANTS (as in
    GRANT ... TO, e.g. "SELECT ON test.*") on every server for the test, dropped after it."""
    sandbox.sql("primary", f"CREATE USER IF NOT EXISTS {user}@'%' IDENTIFIED BY "
                           f"'{password}'; GRANT {grants} TO {user}@'%'")
    sync_replicas(sandbox)
    yield
    sandbox.sql("primary", f"DROP USER IF EXISTS {user}@'%'")


def mariadb_cli(port, sql, *args, timeout=30):
    """Run the mariadb CLI in batch mode (no --comments) against 127.0.0.1:port as app."""
    return subprocess.run(["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{port}", f"-u{APP_USER}",
                           f"-p{APP_PW}", "--connect-timeout=10", *args, "-e", sql],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)


def global_status(sandbox, name, var):
    """SHOW GLOBAL STATUS value of var on backend NAME, as int."""
    return int(sandbox.sql(name, f"SHOW GLOBAL STATUS LIKE '{var}'")[0][1])


# --------------------------------------------------------------------------- added helpers
# (issue 4: causal reads, failover, writers, reload, shutdown, chaos)

def backend(name, role, port, **keys):
    """One [backend.NAME] section for XProxy: backend("standby", "primary", 3311, weight=2)."""
    return {"name": name, "role": role, "port": port, **keys}


def default_backends(replicas=("replica1", "replica2")):
    return [backend("primary", "primary", PRIMARY_PORT)] + \
           [backend(n, "replica", REPLICA_PORTS[n], weight=1) for n in replicas]


def make_xini(port, keys=None, backends=None, users=None, extra="", **settings):
    """INI text built from parts. keys: {"proxy"|"monitor"|"routing": {key: value}} added to
    those sections; backends: list of backend(...) dicts (default: primary + the replicas of
    `settings`); users: {name: password} (default {"app": APP_PW}); extra: raw text at the end."""
    s = {**DEFAULT_SETTINGS, **settings}
    keys = keys or {}
    if backends is None:
        backends = default_backends(s["replicas"])
    if users is None:
        users = {APP_USER: APP_PW}
    sec = {
        "proxy": {"listen": f"127.0.0.1:{port}", "threads": s["threads"],
                  **({"multiplexing": MULTIPLEXING} if MULTIPLEXING else {})},
        "monitor": {"user": "monitor", "password": "monitor_pw", "interval_ms": s["interval_ms"],
                    "connect_timeout_ms": s["connect_timeout_ms"],
                    "max_replication_lag": s["max_replication_lag"]},
        "routing": {"read_fallback": s["read_fallback"]},
    }
    lines = ["# generated by test/integration/sy_helpers.py (make_xini)"]
    for name, kv in sec.items():
        kv = {**kv, **keys.get(name, {})}
        lines.append(f"[{name}]")
        lines += [f"{k} = {v}" for k, v in kv.items()]
        lines.append("")
    for b in backends:
        lines.append(f"[backend.{b['name']}]")
        lines += [f"role = {b['role']}", "host = 127.0.0.1", f"port = {b['port']}"]
        lines += [f"{k} = {v}" for k, v in b.items() if k not in ("name", "role", "port")]
        lines.append("")
    for u, pw in users.items():
        lines += [f"[user.{u}]", f"password = {pw}", ""]
    if extra:
        lines.append(extra)
    return "\n".join(lines) + "\n"


class XProxy(Proxy):
    """A Proxy whose INI is built by make_xini (extra section keys, any backends, users).

    reload(**parts) rewrites the INI (same listen port) and sends SIGHUP. A test that makes
    the proxy exit on purpose sets expect_exit = True: teardown then only looks for sanitizer
    reports."""

    def __init__(self, workdir, keys=None, backends=None, users=None, extra="", **settings):
        super().__init__(workdir, **settings)
        self.parts = dict(keys=keys, backends=backends, users=users, extra=extra)
        self.expect_exit = False
        self.ini.write_text(self.ini_text())

    def ini_text(self, **parts):
        p = {**self.parts, **parts}
        settings = {k: v for k, v in self.settings.items() if k != "extra"}
        return make_xini(self.port, **p, **settings)

    def replica_ports(self):
        bks = self.parts["backends"]
        if bks is None:
            return set(REPLICA_PORTS[n] for n in self.settings["replicas"])
        return set(b["port"] for b in bks if b["role"] == "replica")

    def start(self, wait_replicas=True):
        if wait_replicas is True:
            wait_replicas = self.replica_ports()
        super().start(wait_replicas=False)
        if wait_replicas:
            self.wait_replicas_eligible(set(wait_replicas))
        return self

    def write_raw(self, text):
        self.ini.write_text(text)

    def reload(self, text=None, **parts):
        """Rewrite the INI (text, or the parts changed) and send SIGHUP. Returns the log length
        before the signal, so a test can look at what the reload logged."""
        if text is None:
            self.parts.update(parts)
            text = self.ini_text()
        self.ini.write_text(text)
        mark = len(self.log_text())
        self.proc.send_signal(signal.SIGHUP)
        return mark

    def log_since(self, mark):
        return self.log_text()[mark:]

    def check_clean_exit(self):
        if not self.expect_exit:
            return super().check_clean_exit()
        if self.proc is not None and self.proc.poll() is None:
            self.stop()
        elif self.proc is not None:
            self.exit_code = self.proc.returncode
            self._log.close()
        text = self.log_text()
        return [f"sanitizer report on stderr: {m!r}" for m in SANITIZER_MARKERS if m in text]


def proxy_factory(request, make):
    """Body of a fixture that starts proxies on demand (use it with `yield from`): yields
    start(*args, wait_replicas=True, **kw), which starts make(i, *args, **kw), i being how
    many it started before; after the test stops them all and fails the test when one
    died or logged a sanitizer report."""
    started = []

    def start(*args, wait_replicas=True, **kw):
        p = make(len(started), *args, **kw)
        started.append(p)
        return p.start(wait_replicas=wait_replicas)

    yield start
    rep = getattr(request.node, "rep_call", None)
    problems = stop_proxies(started, failed=rep is not None and rep.failed)
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


def kept_healthy(sandbox):
    """Body of a fixture (use it with `yield from`) yielding sandbox, checked healthy
    before the test and restored after it."""
    sandbox.ensure_healthy()
    yield sandbox
    sandbox.ensure_healthy()


@pytest.fixture
def xproxy(sandbox, tmp_path, request):
    """Factory like `proxy`, for XProxy: xproxy(keys=..., backends=..., users=..., **settings).
    Import it into a test module to use it."""
    yield from proxy_factory(request, lambda i, **kw: XProxy(tmp_path / f"xproxy{i}", **kw))


def route_port(conn, where="primary"):
    """@@port of the backend a /* route=WHERE */ hint reaches (where writes go, for primary)."""
    return scalar(conn, f"/* route={where} */ SELECT @@port")


def set_read_only(sandbox, name, on):
    sandbox.sql(name, f"SET GLOBAL read_only={1 if on else 0}")


def read_only(sandbox, name):
    return sandbox.sql(name, "SELECT @@global.read_only")[0][0] == "1"


def promote(sandbox, name):
    """Make replica NAME a writable standalone server (stops its replication)."""
    sandbox.sql(name, "STOP SLAVE; SET GLOBAL read_only=0")


def restore_roles(sandbox):
    """Back to the reference topology: primary writable, replicas read_only and replicating
    from the primary with no delay (sandbox.sh reset-roles), then ensure_healthy()."""
    for name in PORTS:
        if not sandbox.alive(name):
            sandbox.restart(name)
    sandbox.run("reset-roles", timeout=120)
    sandbox.ensure_healthy()


def replica_staleness(sandbox, name, table="test.sandbox_check", timeout=10.0):
    """Measured directly: seconds between a write on the primary and its arrival on NAME.
    The row (id 100 + server port % 100) of `table` (id INT PK, token VARCHAR) is replaced."""
    token = unique("stale")
    rid = 100 + PORTS[name] % 100
    sandbox.sql("primary", f"REPLACE INTO {table} VALUES ({rid}, '{token}')")
    t0 = time.monotonic()
    with connect(PORTS[name]) as c:
        while time.monotonic() - t0 < timeout:
            if scalar(c, f"SELECT token FROM {table} WHERE id={rid}") == token:
                return time.monotonic() - t0
            time.sleep(0.01)
    return None


class Loop:
    """Background thread calling fn(i) until stopped; records (t, result) and (t, exception)."""

    def __init__(self, fn, name="loop", pause=0.0):
        import threading
        self.fn, self.pause = fn, pause
        self.results, self.errors = [], []
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self):
        i = 0
        while not self.stop_ev.is_set():
            try:
                self.results.append((time.monotonic(), self.fn(i)))
            except Exception as e:  # noqa: BLE001 - the test inspects them
                self.errors.append((time.monotonic(), e))
            i += 1
            if self.pause:
                self.stop_ev.wait(self.pause)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.stop_ev.set()
        self.thread.join(30)

    def since(self, t):
        return [r for ts, r in self.results if ts >= t]


# --------------------------------------------------------------------------- added helpers
# (firewall, limits, logs: test_firewall_limits.py)

def http_only_admin_section(admin_port, http_port, user="admin", password="admin_pw"):
    """An [admin] section (admin port and HTTP /metrics on loopback) for XProxy(extra=...)."""
    return (f"[admin]\nlisten = 127.0.0.1:{admin_port}\nuser = {user}\npassword = {password}\n"
            f"http_listen = 127.0.0.1:{http_port}\n")


def metrics_text(http_port, timeout=10):
    """GET /metrics on 127.0.0.1:http_port; the body (fails the test unless the answer is 200)."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=timeout)
    try:
        conn.request("GET", "/metrics")
        r = conn.getresponse()
        body = r.read().decode()
    finally:
        conn.close()
    assert r.status == 200, f"GET /metrics answered {r.status}: {body[:200]}"
    return body


def metric_value(http_port, sample):
    """Value of one sample of /metrics, named with its labels exactly as printed, e.g.
    'switchyard_refused_connections_total{reason="firewall"}'; None when absent."""
    for line in metrics_text(http_port).splitlines():
        if line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        if name == sample:
            return float(value)
    return None


def read_raw_packet(sock):
    """(sequence id, payload) of one MySQL packet read from a socket; fails on EOF."""
    def need(n):
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            assert chunk, f"connection closed after {len(buf)} of {n} bytes"
            buf += chunk
        return buf
    head = need(4)
    return head[3], need(head[0] | head[1] << 8 | head[2] << 16)
