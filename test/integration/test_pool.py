"""Backend connections outlive sessions (issue 11, [proxy] multiplexing): a
session that ends gives its idle connections back to the worker's pool, reset,
and the next session that logs in the same way is served from there without a
backend login. It must not be able to tell: no variable, temporary table,
transaction, lock or account of the session before it survives."""

import pymysql
import pytest

from sy_helpers import (APP_PW, APP_USER, PRIMARY_PORT, connect, free_port,
                        http_only_admin_section, metric_value, scalar, sync_replicas,
                        temporary_account, unique, wait_for, xproxy)  # noqa: F401 - xproxy is a fixture
from test_robustness_session import RawClient, err_code

OTHER_USER, OTHER_PW = "sy_pool_ro", "sy_pool_ro_pw"


def start(xproxy, multiplexing="on", users=None):
    """One worker (so every client meets the same pool), the primary only, admin + HTTP."""
    admin_port, http_port = free_port(), free_port()
    p = xproxy(threads=1, replicas=(), users=users,
               keys={"proxy": {"multiplexing": multiplexing}},
               extra=http_only_admin_section(admin_port, http_port))
    p.admin_port, p.http_port = admin_port, http_port
    return p


def pool_row(p, backend="primary"):
    """SHOW POOLS of one backend as a dict."""
    with connect(p.admin_port, user="admin", password="admin_pw") as c, c.cursor() as cur:
        cur.execute("SHOW POOLS")
        names = [d[0] for d in cur.description]
        for row in cur.fetchall():
            if row[0] == backend:
                return dict(zip(names, row))
    raise AssertionError(f"SHOW POOLS has no row for {backend}")


def wait_idle(p, n=1):
    """Until n connections wait in the pool: a client that just left is given back
    asynchronously (reset first)."""
    wait_for(lambda: int(pool_row(p)["idle"]) >= n, timeout=30, what=f"{n} idle pooled")


def backend_thread(port, **kw):
    """The backend connection id one new client gets (CONNECTION_ID() runs on the server)."""
    with connect(port, **kw) as c:
        return scalar(c, "SELECT CONNECTION_ID()")


def test_sequential_clients_share_one_backend_connection(xproxy):
    p = start(xproxy)
    ids = set()
    for _ in range(20):
        ids.add(backend_thread(p.port))
        wait_idle(p)
    assert len(ids) == 1, f"20 clients one after the other used backend threads {ids}"
    row = pool_row(p)
    assert int(row["reuses"]) >= 19 and int(row["logins"]) == 1, row
    assert metric_value(p.http_port, 'switchyard_pool_reuses_total{backend="primary"}') >= 19


def test_multiplexing_off_opens_a_connection_per_client(xproxy):
    p = start(xproxy, multiplexing="off")
    ids = set()
    for _ in range(10):
        with connect(p.port) as c:
            ids.add(scalar(c, "SELECT CONNECTION_ID()"))
        wait_for(lambda: int(pool_row(p)["connections"]) == 0, timeout=30,
                 what="the client's backend connection closed")
    assert len(ids) == 10
    assert int(pool_row(p)["reuses"]) == 0


@pytest.fixture
def pool_table(sandbox):
    table = unique("t_pool")
    sandbox.sql("primary", f"CREATE TABLE test.{table} (id INT PRIMARY KEY)")
    yield table
    sandbox.sql("primary", f"DROP TABLE IF EXISTS test.{table}")


def test_the_next_session_sees_nothing_of_the_last(xproxy, pool_table):
    p = start(xproxy)
    lock = unique("pool_lock")
    with connect(p.port, autocommit=False, database="test") as a, a.cursor() as cur:
        first = scalar(a, "SELECT CONNECTION_ID()")
        cur.execute("SET @left_behind = 42")
        cur.execute("SET SESSION sql_mode = 'ANSI_QUOTES'")
        cur.execute("SET NAMES latin1")
        cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE")
        cur.execute("CREATE TEMPORARY TABLE test.tmp_pool (x INT)")
        cur.execute(f"INSERT INTO test.{pool_table} VALUES (1)")  # never committed
        cur.execute(f"SELECT GET_LOCK('{lock}', 0)")
        assert cur.fetchone()[0] == 1
        global_sql_mode = scalar(a, "SELECT @@GLOBAL.sql_mode")
    wait_idle(p)
    with connect(p.port, database="test") as b, b.cursor() as cur:
        assert scalar(b, "SELECT CONNECTION_ID()") == first, "not served from the pool"
        assert scalar(b, "SELECT @left_behind") is None
        assert scalar(b, "SELECT @@SESSION.sql_mode") == global_sql_mode
        assert scalar(b, "SELECT @@character_set_client") == "utf8mb4"
        assert scalar(b, "SELECT @@SESSION.tx_isolation") == scalar(b, "SELECT @@GLOBAL.tx_isolation")
        assert scalar(b, "SELECT @@in_transaction") == 0
        assert scalar(b, f"SELECT COUNT(*) FROM test.{pool_table}") == 0
        assert scalar(b, f"SELECT IS_FREE_LOCK('{lock}')") == 1
        assert scalar(b, "SELECT DATABASE()") == "test"
        with pytest.raises(pymysql.err.ProgrammingError) as e:
            cur.execute("SELECT * FROM test.tmp_pool")
        assert e.value.args[0] == 1146


def test_a_reader_leaves_its_connection_as_it_found_it(xproxy, sandbox):
    """A client that only read leaves its connection to the next one as it is: no
    COM_RESET_CONNECTION, nor the COM_INIT_DB that follows one (the server's
    Com_change_db does not move). One that left a user variable, a prepared statement,
    warnings (also in a result set's EOF) or an error has it reset (Com_change_db
    moves), and the next client, on that same connection, sees none of it."""
    p = start(xproxy)

    def change_dbs():
        return int(sandbox.sql("primary", "SHOW GLOBAL STATUS LIKE 'Com_change_db'")[0][1])

    def logins():
        return int(pool_row(p)["logins"])

    def read_once():
        with connect(p.port, database="test") as c:
            assert scalar(c, "SELECT 1") == 1
        wait_idle(p)

    read_once()
    before, logged_in = change_dbs(), logins()
    for _ in range(10):
        read_once()
    assert change_dbs() == before, "a connection that only served reads was reset"
    assert logins() == logged_in
    for left in ("SELECT @pool_var := 7", "PREPARE pool_stmt FROM 'SELECT 1'",
                 "SELECT CAST('x' AS SIGNED)", "SELECT * FROM test.no_such_pool_table"):
        before, logged_in = change_dbs(), logins()
        with connect(p.port, database="test") as a, a.cursor() as cur:
            try:
                cur.execute(left)
            except pymysql.err.MySQLError as e:
                assert e.args[0] == 1146, e.args
        wait_idle(p)
        with connect(p.port, database="test") as b, b.cursor() as cur:
            cur.execute("SHOW WARNINGS")
            assert cur.fetchall() == (), left
            assert scalar(b, "SELECT @pool_var") is None, left
            with pytest.raises(pymysql.err.MySQLError) as e:
                cur.execute("EXECUTE pool_stmt")
            assert e.value.args[0] == 1243, (left, e.value.args)
        wait_idle(p)
        assert change_dbs() > before and logins() == logged_in, f"not reset after {left!r}"


def test_a_session_that_changed_database_gets_a_clean_one_back(xproxy):
    """A client that logged in to test and went elsewhere with USE: the pooled connection is
    taken back to test before the next client of test gets it."""
    p = start(xproxy)
    with connect(p.port, database="test") as a, a.cursor() as cur:
        first = scalar(a, "SELECT CONNECTION_ID()")
        cur.execute("USE information_schema")
        assert scalar(a, "SELECT DATABASE()") == "information_schema"
    wait_idle(p)
    with connect(p.port, database="test") as b:
        assert scalar(b, "SELECT CONNECTION_ID()") == first
        assert scalar(b, "SELECT DATABASE()") == "test"


def test_no_database_is_never_left_behind(xproxy):
    """A client without a database that chose one with USE: no command takes a connection
    back to "no database", so it is closed, not pooled."""
    p = start(xproxy)
    with connect(p.port) as a, a.cursor() as cur:
        first = scalar(a, "SELECT CONNECTION_ID()")
        cur.execute("USE test")
    wait_for(lambda: int(pool_row(p)["connections"]) == 0, timeout=30,
             what="the connection closed instead of pooled")
    with connect(p.port) as b:
        assert scalar(b, "SELECT CONNECTION_ID()") != first
        assert scalar(b, "SELECT DATABASE()") is None


@pytest.fixture
def other_account(sandbox):
    """An account that may only read test.*."""
    yield from temporary_account(sandbox, OTHER_USER, OTHER_PW, "SELECT ON test.*")


def test_accounts_never_share_a_pooled_connection(xproxy, other_account, pool_table):
    p = start(xproxy, users={APP_USER: APP_PW, OTHER_USER: OTHER_PW})
    app_thread = backend_thread(p.port)
    wait_idle(p)
    with connect(p.port, user=OTHER_USER, password=OTHER_PW) as c, c.cursor() as cur:
        assert scalar(c, "SELECT CONNECTION_ID()") != app_thread
        assert scalar(c, "SELECT CURRENT_USER()").startswith(OTHER_USER + "@")
        with pytest.raises(pymysql.err.OperationalError) as e:
            cur.execute(f"INSERT INTO test.{pool_table} VALUES (7)")
        assert e.value.args[0] == 1142
    assert int(pool_row(p)["idle"]) >= 1  # the app connection still waits for an app session


def test_change_user_never_keeps_the_first_accounts_privileges(xproxy, other_account,
                                                               pool_table):
    """COM_CHANGE_USER on a session whose app connection goes back to the pool: the
    statements after it run with the second account's privileges only."""
    p = start(xproxy, users={APP_USER: APP_PW, OTHER_USER: OTHER_PW})
    raw = RawClient(p.port, APP_USER, APP_PW)
    try:
        insert = f"\x03INSERT INTO test.{pool_table} VALUES (1)".encode()
        assert raw.command(insert)[0] == 0x00  # the app account may write
        assert raw.change_user(OTHER_USER, OTHER_PW)[0] == 0x00
        assert err_code(raw.command(f"\x03INSERT INTO test.{pool_table} VALUES (2)".encode())) \
            == 1142
    finally:
        raw.close()
    with connect(PRIMARY_PORT) as direct:
        assert scalar(direct, f"SELECT COUNT(*) FROM test.{pool_table}") == 1


def test_pooled_connections_killed_on_the_server_are_replaced(xproxy, sandbox):
    p = start(xproxy)
    threads = set()
    clients = [connect(p.port) for _ in range(3)]
    for c in clients:
        threads.add(scalar(c, "SELECT CONNECTION_ID()"))
    for c in clients:
        c.close()
    wait_idle(p, 3)
    for t in threads:
        sandbox.sql("primary", f"KILL {t}")
    wait_for(lambda: int(pool_row(p)["idle"]) == 0, timeout=30,
             what="the pool noticed its connections were killed")
    with connect(p.port) as c:
        assert scalar(c, "SELECT CONNECTION_ID()") not in threads
        assert scalar(c, "SELECT 1") == 1


ADMIN_USER, ADMIN_PW = "sy_pool_admin", "sy_pool_admin_pw"


@pytest.fixture
def admin_account(sandbox):
    """An account that may SET GLOBAL, through the proxy."""
    sandbox.sql("primary", f"CREATE USER IF NOT EXISTS {ADMIN_USER}@'%' IDENTIFIED BY "
                           f"'{ADMIN_PW}'; GRANT ALL ON *.* TO {ADMIN_USER}@'%' WITH GRANT OPTION")
    sync_replicas(sandbox)
    yield
    sandbox.sql("primary", "SET GLOBAL max_join_size = DEFAULT; SET GLOBAL autocommit = 1; "
                           f"DROP USER IF EXISTS {ADMIN_USER}@'%'")


def test_a_set_global_through_the_proxy_reaches_the_next_session(xproxy, admin_account):
    """A pooled connection keeps the session defaults of when it was reset. After a SET GLOBAL
    through the proxy the next session gets the new defaults, as a new login would
    (mysql_client_test test_bug20023)."""
    p = start(xproxy, users={APP_USER: APP_PW, ADMIN_USER: ADMIN_PW})
    first = backend_thread(p.port)
    wait_idle(p)
    with connect(p.port, user=ADMIN_USER, password=ADMIN_PW) as c:
        assert scalar(c, "SELECT @@session.sql_big_selects") == 1
        c.cursor().execute("SET GLOBAL max_join_size = 10000")
    with connect(p.port) as c:
        assert scalar(c, "SELECT @@session.max_join_size") == 10000
        assert scalar(c, "SELECT @@session.sql_big_selects") == 0
        assert scalar(c, "SELECT CONNECTION_ID()") != first, "a connection reset before it"


def test_the_login_reports_autocommit_after_a_set_global(xproxy, admin_account):
    """A session ends and its connection waits in the pool; then @@global.autocommit = 0
    through the proxy. The next session has autocommit off, as after a new login
    (mysql_client_test test_connect_autocommit)."""
    p = start(xproxy, users={APP_USER: APP_PW, ADMIN_USER: ADMIN_PW})
    first = backend_thread(p.port, database="test", autocommit=None)
    wait_idle(p)
    with connect(p.port, user=ADMIN_USER, password=ADMIN_PW) as c:
        c.cursor().execute("SET GLOBAL autocommit = 0")
    c = pymysql.connect(host="127.0.0.1", port=p.port, user=APP_USER, password=APP_PW,
                        database="test", autocommit=None)
    try:
        assert scalar(c, "SELECT @@autocommit") == 0
        c.cursor().execute("DO 1")  # pymysql takes the status flags from OK packets
        assert not c.server_status & 0x0002, f"status says autocommit on: {c.server_status:#x}"
        assert scalar(c, "SELECT CONNECTION_ID()") != first, "a connection reset before it"
    finally:
        c.close()


def test_a_grant_through_the_proxy_reaches_the_next_session(xproxy, admin_account, sandbox):
    """Global privileges are copied into a connection at its login: after a GRANT through
    the proxy the next session has the new privilege, as a new login would."""
    p = start(xproxy, users={APP_USER: APP_PW, ADMIN_USER: ADMIN_PW})
    backend_thread(p.port)
    wait_idle(p)
    try:
        with connect(p.port, user=ADMIN_USER, password=ADMIN_PW) as c:
            c.cursor().execute(f"GRANT SUPER ON *.* TO {APP_USER}@'%'")
        with connect(p.port) as c:
            c.cursor().execute("SET GLOBAL max_join_size = DEFAULT")  # 1227 without SUPER
    finally:
        sandbox.sql("primary", f"REVOKE SUPER ON *.* FROM {APP_USER}@'%'")
