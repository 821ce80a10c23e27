"""config/grafana-dashboard.json and config/prometheus.yml: every metric the dashboard
queries is a series the running proxy exports on /metrics."""

import json
import re
from pathlib import Path

import yaml

from sy_helpers import connect, wait_for, xproxy  # noqa: F401 - xproxy is a fixture
from test_admin import http_get
from test_query_digest import digest_proxy

CONFIG = Path(__file__).resolve().parents[2] / "config"
METRIC_RE = re.compile(r"\bswitchyard_[a-z_]+")


def dashboard_metrics():
    dash = json.loads((CONFIG / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    assert exprs
    return {m for e in exprs for m in METRIC_RE.findall(e)}


def exported(body):
    """Names of the samples on a /metrics page (not only the # HELP lines)."""
    return {m.group(1) for m in re.finditer(r"^([a-z_:]+)[{ ]", body, re.M)}


def missing(wanted, body):
    return sorted(wanted - exported(body))


def test_every_dashboard_metric_is_exported(xproxy):
    p = digest_proxy(xproxy)
    with connect(p.port) as c, c.cursor() as cur:
        cur.execute("SELECT 1")

    def page():
        status, body = http_get(p, "/metrics")
        assert status == 200
        return body

    # the lag series appears once the monitor has measured the replicas
    body = wait_for(lambda: (lambda b: b if "switchyard_replication_lag_seconds{" in b else None)(page()),
                    20, what="replication lag on /metrics")
    wanted = dashboard_metrics()
    assert len(wanted) >= 12, wanted
    assert missing(wanted, body) == []
    # Negative control: the same check finds a name the proxy does not export.
    assert missing(wanted | {"switchyard_no_such_series"}, body) == ["switchyard_no_such_series"]


def test_prometheus_scrapes_the_metrics_path():
    cfg = yaml.safe_load((CONFIG / "prometheus.yml").read_text())
    job = cfg["scrape_configs"][0]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"]
