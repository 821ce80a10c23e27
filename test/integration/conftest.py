"""pytest fixtures for the integration suite; helpers live in sy_helpers.py."""

import pytest

from sy_helpers import Proxy, Sandbox, kept_healthy


@pytest.fixture(scope="session")
def sandbox_session():
    sb = Sandbox()
    sb.run("start", timeout=300)
    sb.sql("primary", "CREATE TABLE IF NOT EXISTS test.t_where ("
                      " id INT AUTO_INCREMENT PRIMARY KEY, port INT, tag VARCHAR(64), KEY(tag))")
    sb.ensure_healthy()
    return sb


@pytest.fixture
def sandbox(sandbox_session):
    """The session's sandbox, checked healthy before the test and restored after it."""
    yield from kept_healthy(sandbox_session)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture
def proxy(sandbox, tmp_path, request):
    """Factory: proxy(**settings) -> started Proxy. Settings: see DEFAULT_SETTINGS."""
    started = []

    def factory(wait_replicas=True, **settings):
        p = Proxy(tmp_path / f"proxy{len(started)}", **settings)
        started.append(p)
        return p.start(wait_replicas=wait_replicas)

    yield factory

    problems = []
    for p in started:
        for prob in p.check_clean_exit():
            problems.append(f"{prob}\n--- {p.log_path} (tail) ---\n{p.log_tail()}")
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        for p in started:
            print(f"\n--- switchyard log {p.log_path} (tail) ---\n{p.log_tail(80)}")
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture
def sy(proxy):
    """A proxy with the default settings (both replicas, lag limit 10 s, fallback primary)."""
    return proxy()


