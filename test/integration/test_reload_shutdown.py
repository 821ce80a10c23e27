"""SIGHUP reload under load (topology, weights, a bad file, a new user) and SIGTERM drain."""

import signal
import threading
import time

import pymysql
import pytest

from sy_helpers import (APP_PW, APP_USER, PRIMARY_PORT, REPLICA_PORTS, Loop, backend, connect,
                        execute, one, port_accepts, scalar, unique,
                        wait_for, xproxy)  # noqa: F401

SETTLE = 0.3  # a reload is read between the signal and the sessions' next statements


def read_write(conn, tag):
    port = scalar(conn, "SELECT @@port")
    assert execute(conn, "INSERT INTO test.t_where (port, tag) VALUES (@@port, %s)", (tag,)) == 1
    return port


def replicas(w1=1, w2=1, with_replica2=True):
    bks = [backend("primary", "primary", PRIMARY_PORT),
           backend("replica1", "replica", REPLICA_PORTS["replica1"], weight=w1)]
    if with_replica2:
        bks.append(backend("replica2", "replica", REPLICA_PORTS["replica2"], weight=w2))
    return bks


def test_sighup_reload_under_load(xproxy, sandbox):
    sy = xproxy(backends=replicas())
    tag = unique("reload")
    long_lived = sy.connect()
    user, user_pw = "sy_reload_user", "sy_reload_pw"
    sandbox.sql("primary", f"DROP USER IF EXISTS '{user}'@'%'; "
                           f"CREATE USER '{user}'@'%' IDENTIFIED BY '{user_pw}'; "
                           f"GRANT SELECT ON test.* TO '{user}'@'%'")

    def per_connection(_):
        with sy.connect() as c:
            return read_write(c, tag)

    try:
        with Loop(lambda _: read_write(long_lived, tag), "long", pause=0.01) as l1, \
                Loop(per_connection, "new", pause=0.01) as l2:

            def ports_since(t):
                return l1.since(t) + l2.since(t)

            time.sleep(0.5)
            assert set(ports_since(0)) == set(REPLICA_PORTS.values())

            # 1. replica2 removed from the file: no more reads there, no client error.
            sy.reload(backends=replicas(with_replica2=False))
            t1 = time.monotonic() + SETTLE
            time.sleep(1.5)
            got = ports_since(t1)
            assert len(got) > 10 and set(got) == {3311}, f"reads after removing replica2: {sorted(set(got))}"

            # 2. added back: reads reach it again.
            sy.reload(backends=replicas())
            t2 = time.monotonic()
            wait_for(lambda: 3312 in ports_since(t2), 5, what="reads to reach replica2 after re-adding it")

            # 3. weights 3:1.
            sy.reload(backends=replicas(w1=3, w2=1))
            t3 = time.monotonic() + SETTLE
            time.sleep(2.0)
            got = ports_since(t3)
            share = got.count(3311) / max(1, len(got))
            assert len(got) > 20 and 0.62 <= share <= 0.88, f"replica1 share {share:.2f} of {len(got)} with weight 3:1"

            # 4. a file with an error: rejected whole, the log says why, the old config stays.
            bad = sy.ini_text(backends=replicas(w1=1, w2=1)).replace(
                "[routing]\n", "[routing]\nbogus_reload_key = 1\n")
            mark = sy.reload(text=bad)
            wait_for(lambda: "bogus_reload_key" in sy.log_since(mark), 3,
                     what="the log to name the bad key")
            t4 = time.monotonic() + SETTLE
            time.sleep(1.5)
            assert sy.alive()
            got = ports_since(t4)
            share = got.count(3311) / max(1, len(got))
            assert set(got) == {3311, 3312} and share >= 0.62, \
                f"after a rejected reload, share {share:.2f} (the 3:1 weights must stay)"

            # 5. a [user.x] added: new logins with it work.
            with pytest.raises(pymysql.err.OperationalError) as ei:
                connect(sy.port, user=user, password=user_pw).close()
            assert ei.value.args[0] == 1045, ei.value.args
            sy.reload(users={APP_USER: APP_PW, user: user_pw})

            def login():
                with connect(sy.port, user=user, password=user_pw) as c:
                    return scalar(c, "SELECT @@port") in REPLICA_PORTS.values()

            wait_for(login, 3, interval=0.1, what=f"login as {user} after the reload")

        errors = [e for _, e in l1.errors + l2.errors]
        assert not errors, f"{len(errors)} client errors during reloads: {errors[:5]}"
        assert len(l1.results) > 50 and len(l2.results) > 20
        assert sy.alive()
    finally:
        long_lived.close()
        sandbox.sql("primary", f"DROP USER IF EXISTS '{user}'@'%'")


# --------------------------------------------------------------------------- shutdown

def start_query(conn, sql):
    out = {}

    def run():
        t0 = time.monotonic()
        try:
            out["row"] = one(conn, sql)
        except Exception as e:  # noqa: BLE001
            out["err"] = e
        out["took"] = time.monotonic() - t0

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


def refused(port):
    """True when a new client cannot get a working session (refused or closed at once)."""
    if not port_accepts(port):
        return True
    try:
        with connect(port, connect_timeout=2, read_timeout=2) as c:
            scalar(c, "SELECT 1")
    except pymysql.err.MySQLError:
        return True
    return False


def test_sigterm_drains_running_statement(xproxy, sandbox):
    sy = xproxy()
    busy, idle = sy.connect(), sy.connect()
    try:
        assert scalar(idle, "SELECT 1") == 1
        t, out = start_query(busy, "SELECT SLEEP(2), 'done'")
        time.sleep(0.4)
        t0 = time.monotonic()
        sy.expect_exit = True
        sy.proc.send_signal(signal.SIGTERM)
        time.sleep(0.1)
        t_refuse = time.monotonic()
        assert refused(sy.port), "a new connection was accepted after SIGTERM"
        assert time.monotonic() - t_refuse < 1.0
        t.join(10)
        assert out.get("row") == (0, "done"), f"the running statement did not complete: {out}"
        code = sy.proc.wait(timeout=10)
        took = time.monotonic() - t0
        assert code == 0, f"exit code {code}"
        assert 1.0 <= took < 4.0, f"exited {took:.2f}s after SIGTERM (the statement needed ~1.6 s more)"
    finally:
        busy.close()
        idle.close()


def test_sigterm_shutdown_timeout(xproxy, sandbox):
    sy = xproxy(keys={"proxy": {"shutdown_timeout_ms": 500}})
    busy = sy.connect(read_timeout=30)
    try:
        t, out = start_query(busy, "SELECT SLEEP(5)")
        time.sleep(0.4)
        t0 = time.monotonic()
        sy.expect_exit = True
        sy.proc.send_signal(signal.SIGTERM)
        code = sy.proc.wait(timeout=10)
        took = time.monotonic() - t0
        assert code == 0, f"exit code {code}"
        assert 0.4 <= took < 2.0, f"exited {took:.2f}s after SIGTERM with shutdown_timeout_ms=500"
        t.join(5)
        assert not t.is_alive(), "the client hangs after the proxy exited"
        assert "err" in out, f"the client got a result from a statement cut at shutdown: {out}"
        assert isinstance(out["err"], pymysql.err.MySQLError), repr(out["err"])
    finally:
        busy.close()
