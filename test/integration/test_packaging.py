"""Packaging: the shipped INI files pass --check, `cmake --install` lays out the binary, the
systemd unit and the example configuration, and systemd accepts the unit."""

import re
import shutil
import subprocess

import pytest

from sy_helpers import REPO, SY_BINARY

BUILD_DIR = SY_BINARY.parent  # build-asan/ under run-tests.sh


def check(ini):
    if not SY_BINARY.exists():
        pytest.fail(f"proxy binary {SY_BINARY} does not exist (build it, or set SY_BINARY)")
    return subprocess.run([str(SY_BINARY), "--check", "-c", str(ini)], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("name", ["production.ini", "example.ini"])
def test_check_accepts_shipped_ini(name):
    ini = REPO / "config" / name
    assert ini.exists(), f"{ini} is missing"
    p = check(ini)
    assert p.returncode == 0, f"--check rejects {ini}:\n{p.stdout}{p.stderr}"


def configured_prefix():
    cache = (BUILD_DIR / "CMakeCache.txt").read_text()
    m = re.search(r"^CMAKE_INSTALL_PREFIX:PATH=(.*)$", cache, re.M)
    assert m, f"no CMAKE_INSTALL_PREFIX in {BUILD_DIR / 'CMakeCache.txt'}"
    return m.group(1)


def test_cmake_install_lays_out_binary_unit_and_example(tmp_path):
    if not (BUILD_DIR / "cmake_install.cmake").exists():
        pytest.fail(f"{BUILD_DIR} is not a configured CMake build directory")
    prefix = tmp_path / "root"
    p = subprocess.run(["cmake", "--install", str(BUILD_DIR), "--prefix", str(prefix)],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr

    binary = prefix / "bin" / "switchyard"
    unit = prefix / "lib" / "systemd" / "system" / "switchyard.service"
    example = prefix / "etc" / "switchyard" / "switchyard.ini.example"
    for f in (binary, unit, example):
        assert f.is_file(), f"{f} was not installed:\n{p.stdout}"
    assert binary.stat().st_mode & 0o111, f"{binary} is not executable"
    v = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30)
    assert v.returncode == 0, v.stdout + v.stderr
    assert example.read_text() == (REPO / "config" / "production.ini").read_text()

    text = unit.read_text()
    assert "@" not in re.sub(r"^#.*$", "", text, flags=re.M), f"unsubstituted variable in {unit}"
    installed_bin = f"{configured_prefix()}/bin/switchyard"
    for line in (f"ExecStartPre={installed_bin} --check -c /etc/switchyard/switchyard.ini",
                 f"ExecStart={installed_bin} -c /etc/switchyard/switchyard.ini",
                 "ExecReload=/bin/kill -HUP $MAINPID", "Type=simple", "KillSignal=SIGTERM",
                 "Restart=on-failure", "User=switchyard", "NoNewPrivileges=yes",
                 "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                 "LimitNOFILE=65536"):
        assert line in text.splitlines(), f"{unit} lacks {line!r}"
    m = re.search(r"^TimeoutStopSec=(\d+)$", text, re.M)
    assert m and int(m.group(1)) * 1000 > 10000, "TimeoutStopSec must exceed shutdown_timeout_ms"

    # systemd's own check. The unit names the binary under the configured prefix, which
    # need not exist here: verify a copy that points at the binary just installed.
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed: unit not verified by systemd")
    copy = tmp_path / "verify" / "switchyard.service"
    copy.parent.mkdir()
    copy.write_text(text.replace(installed_bin, str(binary)))
    a = subprocess.run(["systemd-analyze", "verify", str(copy)], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=60)
    out = a.stdout + a.stderr
    assert a.returncode == 0, f"systemd-analyze verify rejects the unit:\n{out}"
    assert "switchyard.service" not in out, f"systemd-analyze verify warns about the unit:\n{out}"
