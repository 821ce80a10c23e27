"""Several proxies behind HAProxy: two switchyard instances with the same configuration (only
their ports differ), HAProxy in TCP mode health-checking each one's GET /health ([admin]
http_listen), and a client loop through HAProxy while one switchyard is killed with SIGKILL.
The clients must go on through the other proxy after at most about a second of failures."""

import csv
import io
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from sy_helpers import Loop, connect, free_port, port_accepts, scalar, wait_for, xproxy  # noqa: F401

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
RUN_SECONDS = 10.0
KILL_AT = 4.5              # seconds into the run
MAX_FAILURE_STREAK = 1.5   # seconds: "about a second" of failed new connections, with slack
CHECK_INTER_MS = 200


def admin_section(admin_port, http_port):
    return (f"[admin]\nlisten = 127.0.0.1:{admin_port}\npassword = admin_pw\n"
            f"http_listen = 127.0.0.1:{http_port}\nallow = 127.0.0.1/32\n")


def health(http_port):
    """HTTP status of GET /health, or None when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/health", timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


class HAProxy:
    def __init__(self, workdir, port, servers):
        """servers: [(name, mysql_port, http_port)]."""
        self.dir = Path(workdir)
        self.port = port
        # A unix socket path must stay short: not under pytest's tmp_path.
        self.sockdir = Path(tempfile.mkdtemp(prefix="sy-ha-"))
        self.sock = self.sockdir / "haproxy.sock"
        self.cfg = self.dir / "haproxy.cfg"
        self.log_path = self.dir / "haproxy.log"
        lines = [
            "global",
            f"    stats socket {self.sock} mode 600 level admin",
            "    maxconn 2000",
            "",
            "defaults",
            "    mode tcp",
            "    timeout connect 1s",
            "    timeout client 60s",
            "    timeout server 60s",
            "    timeout check 1s",
            "    retries 3",
            "    option redispatch 1",
            "",
            "frontend mysql",
            f"    bind 127.0.0.1:{port}",
            "    default_backend switchyard",
            "",
            "backend switchyard",
            "    balance roundrobin",
            "    option httpchk GET /health",
            "    http-check expect status 200",
            "    default-server on-marked-down shutdown-sessions",
        ]
        lines += [f"    server {name} 127.0.0.1:{mport} check port {hport} "
                  f"inter {CHECK_INTER_MS}ms fall 2 rise 2"
                  for name, mport, hport in servers]
        self.cfg.write_text("\n".join(lines) + "\n")
        self.proc = None

    def start(self):
        c = subprocess.run([HAPROXY, "-c", "-f", str(self.cfg)], capture_output=True, text=True,
                           timeout=30)
        assert c.returncode == 0, f"haproxy -c rejects {self.cfg}:\n{c.stdout}{c.stderr}"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([HAPROXY, "-db", "-f", str(self.cfg)], stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 10
        while not (port_accepts(self.port) and self.sock.exists()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"haproxy does not listen on {self.port} (exit {self.proc.poll()}):\n"
                            f"{self.log_tail()}")
            time.sleep(0.05)
        return self

    def command(self, cmd):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(str(self.sock))
            s.sendall(cmd.encode() + b"\n")
            out = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        return out.decode(errors="replace")

    def servers(self):
        """{server name: row of `show stat` as a dict} for the switchyard backend."""
        text = self.command("show stat").lstrip("# ")
        return {r["svname"]: r for r in csv.DictReader(io.StringIO(text))
                if r["pxname"] == "switchyard" and r["svname"] not in ("FRONTEND", "BACKEND")}

    def server_of_client_port(self, client_port):
        """Name of the server the session from 127.0.0.1:client_port goes to, or None."""
        for line in self.command("show sess").splitlines():
            if f"src=127.0.0.1:{client_port} " in line + " ":
                for field in line.split():
                    if field.startswith("srv="):
                        return field[4:]
        return None

    def log_tail(self, n=40):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self._log.close()
        shutil.rmtree(self.sockdir, ignore_errors=True)


@pytest.fixture
def haproxy_factory(tmp_path):
    if not Path(HAPROXY).exists():
        pytest.fail(f"haproxy not found ({HAPROXY}); test/install-deps.sh installs it")
    started = []

    def factory(servers):
        h = HAProxy(tmp_path, free_port(), servers)
        started.append(h)
        return h.start()

    yield factory
    for h in started:
        h.stop()


def failure_streaks(results, errors):
    """Runs of consecutive failures: [(t_first_error, t_next_success or None, n_errors)]."""
    events = sorted([(t, True) for t, _ in results] + [(t, False) for t, _ in errors])
    streaks, start, n = [], None, 0
    for t, ok in events:
        if not ok:
            if start is None:
                start, n = t, 0
            n += 1
        elif start is not None:
            streaks.append((start, t, n))
            start = None
    if start is not None:
        streaks.append((start, None, n))
    return streaks


def test_clients_survive_one_proxy_killed_behind_haproxy(xproxy, haproxy_factory, record_property):
    # Two proxies, same topology and settings; each has its own listen, admin and HTTP ports.
    proxies, http_ports = [], []
    for _ in range(2):
        hport = free_port()
        p = xproxy(extra=admin_section(free_port(), hport))
        proxies.append(p)
        http_ports.append(hport)
    for hport in http_ports:
        wait_for(lambda: health(hport) == 200, 10, what=f"GET /health on {hport} to answer 200")

    names = ["sy0", "sy1"]
    ha = haproxy_factory([(n, p.port, h) for n, p, h in zip(names, proxies, http_ports)])
    wait_for(lambda: all(s["status"] == "UP" and s["check_status"] == "L7OK"
                         for s in ha.servers().values()), 10,
             what="haproxy to see both proxies UP with a passing /health check")

    def new_connection(_):
        c = connect(ha.port, connect_timeout=2, read_timeout=5, write_timeout=5)
        try:
            return scalar(c, "SELECT @@port")
        finally:
            c.close()

    held = {"conn": None, "connects": 0}

    def long_lived(_):
        if held["conn"] is None:
            held["conn"] = connect(ha.port, connect_timeout=2, read_timeout=5, write_timeout=5)
            held["connects"] += 1
        try:
            return scalar(held["conn"], "SELECT @@port")
        except Exception:
            try:
                held["conn"].close()
            except Exception:  # noqa: BLE001
                pass
            held["conn"] = None
            raise

    # The long-lived connection first, so we know which proxy it goes through: kill that one.
    long_lived(0)
    lport = held["conn"]._sock.getsockname()[1]
    target = ha.server_of_client_port(lport) or "sy0"
    victim = proxies[names.index(target)]
    survivor_http = http_ports[1 - names.index(target)]

    t0 = time.monotonic()
    with Loop(new_connection, name="new-conn", pause=0.02) as fresh, \
            Loop(long_lived, name="long-lived", pause=0.05) as steady:
        time.sleep(KILL_AT)
        before = {n: int(s["stot"]) for n, s in ha.servers().items()}
        victim.expect_exit = True  # teardown: only look for sanitizer reports
        victim.proc.send_signal(signal.SIGKILL)
        t_kill = time.monotonic()
        victim.proc.wait(5)
        wait_for(lambda: ha.servers()[target]["status"].startswith("DOWN"), 5,
                 what=f"haproxy to mark {target} DOWN")
        t_down = time.monotonic() - t_kill
        time.sleep(max(0.0, RUN_SECONDS - (time.monotonic() - t0)))
    if held["conn"] is not None:
        held["conn"].close()

    streaks = failure_streaks(fresh.results, fresh.errors)
    longest = max(((end if end is not None else time.monotonic()) - start
                   for start, end, _ in streaks), default=0.0)
    summary = (f"killed {target} at {t_kill - t0:.1f}s, haproxy marked it DOWN after {t_down:.2f}s; "
               f"new connections: {len(fresh.results)} ok, {len(fresh.errors)} failed, "
               f"longest failure streak {longest:.2f}s; "
               f"long-lived connection: {len(steady.results)} ok, {len(steady.errors)} failed, "
               f"{held['connects']} connects; sessions per proxy before the kill: {before}")
    print(summary)
    record_property("ha_summary", summary)
    errs = "\n".join(f"  +{t - t0:.2f}s {e!r}" for t, e in (fresh.errors + steady.errors)[:20])

    # Round-robin reached both proxies before the kill.
    assert all(n > 0 for n in before.values()), f"{summary}\nnot both proxies got sessions"
    # Nothing failed before the kill.
    early = [e for t, e in fresh.errors + steady.errors if t < t_kill]
    assert not early, f"{summary}\nerrors before the kill:\n{errs}"
    # New connections: at most about a second of failures, and they work again afterwards.
    assert longest <= MAX_FAILURE_STREAK, f"{summary}\n{errs}"
    assert streaks == [] or streaks[-1][1] is not None, f"{summary}\nstill failing at the end:\n{errs}"
    late_ok = [r for t, r in fresh.results if t > t_kill + MAX_FAILURE_STREAK]
    assert len(late_ok) >= 20, f"{summary}\ntoo few new connections after the kill"
    # The long-lived connection: at most one error, then it reconnects and goes on.
    assert len(steady.errors) <= 1, f"{summary}\n{errs}"
    assert steady.since(t_kill + MAX_FAILURE_STREAK), f"{summary}\nlong-lived connection did not recover"
    assert held["connects"] == 1 + len(steady.errors), summary
    # The survivor still reports a writer.
    assert health(survivor_http) == 200, summary
