"""Differential test: one deterministic script (differential/script.py, several hundred
statements) run once directly on the primary and once through the proxy, each in one
connection and in its own table namespace (d_dt_* and p_dt_*); every statement must give
the same answer: column names, rows, affected rows, insert id, warning count, or the
same error (code and message).

Reads in autocommit mode only come after a SYNC point (both replicas caught up with the
primary), because replication is asynchronous and read-your-writes is not promised yet.
"""

import importlib.util
from pathlib import Path

import pymysql
import pytest

from sy_helpers import PRIMARY_PORT, connect, sync_replicas

_spec = importlib.util.spec_from_file_location(
    "sy_differential_script", Path(__file__).resolve().parent / "differential" / "script.py")
script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(script)

SEED = 20240611


def drop_tables(sandbox, prefix):
    names = ", ".join(f"test.{prefix}dt_{t}" for t in script.TABLES)
    sandbox.sql("primary", f"DROP TABLE IF EXISTS {names}")


def normalizer(prefix):
    mark = prefix + "dt"

    def norm(v):
        if isinstance(v, str):
            return v.replace(mark, "X_dt")
        if isinstance(v, bytes):
            return v.replace(mark.encode(), b"X_dt")
        if isinstance(v, (tuple, list)):
            return tuple(norm(x) for x in v)
        return v
    return norm


def capture(conn, sql, norm):
    """The answer to one statement, comparable between runs."""
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            desc = cur.description
            warnings = conn._result.warning_count if conn._result is not None else None
            if desc:
                return ("rows", norm([d[0] for d in desc]), norm(cur.fetchall()), warnings)
            return ("ok", cur.rowcount, cur.lastrowid, warnings)
    except pymysql.err.MySQLError as e:
        return ("error", e.args[0], norm(e.args[1]) if len(e.args) > 1 else None)


def run_script(port, prefix, sandbox, stmts):
    """Run the script on a fresh namespace over one connection; list of (index, statement, answer)."""
    drop_tables(sandbox, prefix)
    sync_replicas(sandbox)
    norm = normalizer(prefix)
    out = []
    with connect(port, database="test") as conn:
        for i, s in enumerate(stmts):
            if s == script.SYNC:
                sync_replicas(sandbox)
                continue
            out.append((i, s, capture(conn, s.replace("{P}", prefix), norm)))
    return out


def diff(a, b, limit=8):
    assert len(a) == len(b)
    bad = [(i, s, ra, rb) for (i, s, ra), (_, _, rb) in zip(a, b) if ra != rb]
    lines = [f"{len(bad)} of {len(a)} statements differ; first {min(limit, len(bad))}:"]
    for i, s, ra, rb in bad[:limit]:
        lines.append(f"#{i}: {s}\n    direct: {ra!r}\n    other:  {rb!r}")
    return bad, "\n".join(lines)


@pytest.fixture
def stmts():
    return script.generate(SEED)


@pytest.fixture
def namespaces(sandbox):
    used = []
    yield used
    for p in used:
        drop_tables(sandbox, p)


def test_script_is_deterministic_and_varied(stmts):
    assert stmts == script.generate(SEED)
    sql = [s for s in stmts if s != script.SYNC]
    assert len(sql) >= 300
    kinds = {k: sum(1 for s in sql if s.upper().startswith(k)) for k in
             ("SELECT", "INSERT", "UPDATE", "DELETE", "SET", "SHOW", "CREATE TEMPORARY", "USE", "BEGIN")}
    assert kinds["SELECT"] >= 200 and kinds["INSERT"] >= 20 and kinds["SET"] >= 20, kinds
    assert all(k not in s.upper() for s in sql for k in ("@@PORT", "@@SERVER_ID", "CONNECTION_ID", "NOW("))


def test_direct_run_is_reproducible(sandbox, stmts, namespaces):
    """The script against the primary twice: identical answers (validates the script itself)."""
    namespaces += ["d_", "s_"]
    first = run_script(PRIMARY_PORT, "d_", sandbox, stmts)
    second = run_script(PRIMARY_PORT, "s_", sandbox, stmts)
    bad, text = diff(first, second)
    assert not bad, text
    answers = [r for _, _, r in first]
    assert sum(1 for r in answers if r[0] == "error") >= 10
    assert sum(1 for r in answers if r[0] == "rows" and r[2]) >= 200
    assert any(r[0] == "rows" and r[1] == ("Level", "Code", "Message") and r[2] for r in answers)


def test_proxy_answers_like_the_primary(sy, sandbox, stmts, namespaces):
    namespaces += ["d_", "p_"]
    direct = run_script(PRIMARY_PORT, "d_", sandbox, stmts)
    proxied = run_script(sy.port, "p_", sandbox, stmts)
    bad, text = diff(direct, proxied)
    assert not bad, text
