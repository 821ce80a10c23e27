"""Command-line interface of the switchyard binary: --check, --version, --help."""

import subprocess

import pytest

from sy_helpers import REPO, SY_BINARY


def run(*args, timeout=30):
    if not SY_BINARY.exists():
        pytest.fail(f"proxy binary {SY_BINARY} does not exist (build it, or set SY_BINARY)")
    return subprocess.run([str(SY_BINARY), *args], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)


GOOD_HEAD = """[proxy]
listen = 127.0.0.1:6033
threads = 2

[monitor]
user = monitor
password = monitor_pw
interval_ms = 200

[backend.primary]
role = primary
host = 127.0.0.1
port = 3310
"""

# (file body, line number that --check must point at)
BAD_FILES = {
    "non_numeric_threads": ("[proxy]\nlisten = 127.0.0.1:6033\nthreads = banana\n", 3),
    "bad_listen_port": ("[proxy]\nlisten = 127.0.0.1:99999\n", 2),
    "bad_role": (GOOD_HEAD + "\n[backend.r1]\nrole = leader\nhost = 127.0.0.1\nport = 3311\n",
                 GOOD_HEAD.count("\n") + 3),
    "ini_syntax_error": (GOOD_HEAD + "this line is not ini\n", GOOD_HEAD.count("\n") + 1),
    "bad_read_fallback": (GOOD_HEAD + "\n[routing]\nread_fallback = maybe\n", GOOD_HEAD.count("\n") + 3),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_check_rejects_bad_file_with_file_and_line(tmp_path, name):
    body, line = BAD_FILES[name]
    f = tmp_path / f"{name}.ini"
    f.write_text(body)
    p = run("--check", "-c", str(f))
    out = p.stdout + p.stderr
    assert p.returncode != 0, out
    assert f"{f}:{line}" in out, f"expected '{f}:{line}' in output:\n{out}"


def test_check_rejects_missing_file(tmp_path):
    p = run("--check", "-c", str(tmp_path / "nope.ini"))
    assert p.returncode != 0
    assert "nope.ini" in p.stdout + p.stderr


def test_check_accepts_sandbox_ini():
    ini = REPO / "config" / "sandbox.ini"
    assert ini.exists(), f"{ini} is missing"
    p = run("--check", "-c", str(ini))
    assert p.returncode == 0, p.stdout + p.stderr


def test_check_accepts_generated_test_ini(tmp_path):
    from sy_helpers import make_ini
    f = tmp_path / "t.ini"
    f.write_text(make_ini(16033, max_replication_lag=1, read_fallback="error"))
    p = run("--check", "-c", str(f))
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_version_and_help(flag):
    p = run(flag)
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout + p.stderr
    assert out.strip(), f"{flag} printed nothing"
    if flag == "--version":
        assert "switchyard" in out.lower()
