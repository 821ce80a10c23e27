"""GET / on [admin] http_listen: the status page. Rendered by a real browser (headless
Chromium) against the sandbox under load: a screenshot is produced and the rendered text
names every backend with its state; the HTML is well-formed (parsed as XML)."""

import re
import shutil
import subprocess
import threading
import xml.etree.ElementTree as ET

import pytest

from sy_helpers import (backend, connect, default_backends, free_port, wait_for,
                        xproxy)  # noqa: F401 - xproxy is a fixture
from test_admin import admin_section, http_get
from test_pool import pool_row, start as pool_proxy
from test_query_digest import digest_proxy

CHROMIUM = shutil.which("chromium")


class Load:
    """Point selects and writes through the proxy from a thread until stopped."""

    def __init__(self, port):
        self.port, self.stop, self.count = port, threading.Event(), 0
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        with connect(self.port) as c, c.cursor() as cur:
            while not self.stop.is_set():
                cur.execute("SELECT @@port, %s", (self.count,))
                self.count += 1

    def close(self):
        self.stop.set()
        self.thread.join(30)


def backend_rows(root):
    """{backend: state} from the page's backends table."""
    table = root.find(".//table[@id='backends']")
    rows = {}
    for tr in table.findall("tr")[1:]:
        cells = ["".join(td.itertext()) for td in tr.findall("td")]
        rows[cells[0]] = cells[3]
    return rows


def pool_rows(root):
    """{backend: {column: int}} from the page's pools table."""
    table = root.find(".//table[@id='pools']")
    assert table is not None, "the page has no pools table"
    trs = table.findall("tr")
    names = ["".join(th.itertext()) for th in trs[0].findall("th")]
    return {cells[0]: dict(zip(names[1:], map(int, cells[1:])))
            for cells in (["".join(td.itertext()) for td in tr.findall("td")] for tr in trs[1:])}


def browser(*args):
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                           "--hide-scrollbars", *args], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (test/install-deps.sh)")
def test_status_page_in_a_browser_under_load(xproxy, tmp_path):
    p = digest_proxy(xproxy)
    load = Load(p.port)
    try:
        wait_for(lambda: load.count > 50, 30, what="load through the proxy")
        status, page = http_get(p, "/")
        assert status == 200
        root = ET.fromstring(page)  # well-formed, or this raises
        assert root.tag == "html"
        assert backend_rows(root) == {"primary": "up", "replica1": "up", "replica2": "up"}
        assert root.find(".//svg[@id='routes']") is not None
        assert "SELECT @@port, ?" in page  # the top statements table

        shot = tmp_path / "status.png"
        r = browser(f"--screenshot={shot}", "--window-size=1280,1100",
                    f"http://127.0.0.1:{p.http_port}/")
        assert shot.exists(), r.stderr[-2000:]
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10000
        # What the browser rendered: each backend's row reads "name role address state".
        dom = browser("--dump-dom", f"http://127.0.0.1:{p.http_port}/").stdout
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", dom))
        for name in ("primary", "replica1", "replica2"):
            assert re.search(rf"\b{name} (primary|replica) 127\.0\.0\.1:\d+ up\b", text), text[:3000]
    finally:
        load.close()


def test_status_page_shows_a_down_backend(xproxy):
    """Negative control for the state check: a backend nothing listens for is not up."""
    admin_port, http_port = free_port(), free_port()
    backends = default_backends() + [backend("ghost", "replica", free_port())]
    p = xproxy(backends=backends, extra=admin_section(admin_port, http_port),
               wait_replicas=False)
    p.http_port = http_port

    def ghost_state():
        return backend_rows(ET.fromstring(http_get(p, "/")[1])).get("ghost")

    wait_for(lambda: ghost_state() == "down", 30, what="ghost shown down")
    assert "ghost" in http_get(p, "/")[1]


def test_status_page_sums_up_sessions(xproxy):
    """Sessions at a glance: open, in a transaction, pinned and why; counted, not guessed."""
    admin_port, http_port = free_port(), free_port()
    p = xproxy(extra=admin_section(admin_port, http_port))
    p.http_port = http_port

    def summary():
        root = ET.fromstring(http_get(p, "/")[1])
        return "".join(root.find(".//p[@id='sessions']").itertext())

    # negative control; the start-up check's connection may still be closing
    wait_for(lambda: summary().startswith("0 open, 0 in a transaction, 0 pinned"), 30,
             what="no session open")
    with connect(p.port) as idle, connect(p.port) as trx, connect(p.port) as temp:
        idle.cursor().execute("SELECT 1")
        trx.cursor().execute("BEGIN")
        temp.cursor().execute("CREATE TEMPORARY TABLE test.status_tmp (id INT)")
        wait_for(lambda: summary().startswith("3 open, 1 in a transaction, 2 pinned"), 30,
                 what="3 sessions, 1 in a transaction, 2 pinned")
        assert re.search(r"\(.*transaction.*: 1, .*temporary.*: 1\)", summary()), summary()


def test_status_page_works_with_metrics_off(xproxy):
    """[admin] metrics = off: GET /metrics is 404 saying how to enable it; the status page and
    /health still work. Reloading with metrics = on brings /metrics back (the control)."""
    p = digest_proxy(xproxy, metrics="off")
    with connect(p.port) as c, c.cursor() as cur:
        cur.execute("SELECT 'off' AS metrics_test")
    status, body = http_get(p, "/metrics")
    assert status == 404 and body.count("\n") == 1, (status, body)
    assert "metrics = on" in body and "[admin]" in body, body
    status, page = http_get(p, "/")
    assert status == 200
    root = ET.fromstring(page)
    assert backend_rows(root) == {"primary": "up", "replica1": "up", "replica2": "up"}
    assert "SELECT ? AS metrics_test" in page
    assert http_get(p, "/health")[0] == 200

    p.reload(text=p.ini.read_text().replace("metrics = off", "metrics = on"))
    wait_for(lambda: http_get(p, "/metrics")[0] == 200, 30, what="/metrics on after the reload")
    assert "switchyard_backend_up" in http_get(p, "/metrics")[1]


def test_status_page_shows_the_pools(xproxy):
    """[proxy] multiplexing = on, one worker, the primary only: clients one after the other,
    each running a statement, are served from the pool. The page's Pools section says
    multiplexing is on and shows the connection idle and the reuses, the same figures as
    SHOW POOLS."""
    p = pool_proxy(xproxy)

    def page():
        return ET.fromstring(http_get(p, "/")[1])

    for i in range(5):
        with connect(p.port) as c, c.cursor() as cur:
            cur.execute("SELECT %s AS pool_page", (i,))
            assert cur.fetchone() == (i,)
        # the connection is given back (reset first) after the client has gone
        wait_for(lambda: pool_rows(page())["primary"]["idle"] >= 1, 30,
                 what="an idle pooled connection on the page")
    root = page()
    assert "".join(root.find(".//p[@id='multiplexing']").itertext()).startswith(
        "multiplexing on"), ET.tostring(root)
    row = pool_rows(root)["primary"]
    assert row["idle"] >= 1 and row["reuses"] > 0, row
    assert row["in use"] == row["open"] - row["idle"], row
    admin = pool_row(p)
    assert row == {"open": int(admin["connections"]), "idle": int(admin["idle"]),
                   "in use": int(admin["in_use"]), "logins": int(admin["logins"]),
                   "reuses": int(admin["reuses"])}, (row, admin)
