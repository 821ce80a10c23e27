/* Routing policy: every step of the decision order in route.h, overrides,
 * read-only transactions, and session state updates from server status
 * flags and successful statements. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "protocol/packet.h"
#include "router/classify.h"
#include "router/route.h"

static struct classification cls(const char *sql)
{
    struct classification c;
    classify_query(sql, strlen(sql), sql_charset_default(), &c);
    return c;
}

static struct session_route_state fresh(void)
{
    struct session_route_state s;
    session_route_state_init(&s, true);
    return s;
}

#define OK_STATUS SERVER_STATUS_AUTOCOMMIT
#define TRX_STATUS (SERVER_STATUS_IN_TRANS | SERVER_STATUS_AUTOCOMMIT)

/* Route sql, then record that it ran with the given outcome. */
static struct route_decision run(struct session_route_state *s, const char *sql, bool ok,
                                 uint16_t status)
{
    struct classification c = cls(sql);
    struct route_decision d = route_statement(&c, s);
    session_route_state_update(s, &c, &d, ok, true, status);
    return d;
}

static void expect(const char *sql, const struct session_route_state *s, enum route_target t,
                   const char *reason)
{
    struct classification c = cls(sql);
    struct route_decision d = route_statement(&c, s);
    assert_int_equal(d.target, t);
    assert_non_null(d.reason);
    if (reason != NULL)
        assert_string_equal(d.reason, reason);
}

static void test_init(void **state)
{
    (void)state;
    struct session_route_state s = fresh();
    assert_false(s.in_transaction);
    assert_true(s.autocommit);
    assert_int_equal(s.temp_tables, 0);
    assert_false(s.tables_locked);
    assert_int_equal(s.named_locks, 0);
    assert_false(s.xa_active);
    assert_false(s.read_only_trx);
    assert_int_equal(s.override, ROUTE_AUTO);
    assert_true(s.read_only_trx_on_replica);
    session_route_state_init(&s, false);
    assert_false(s.read_only_trx_on_replica);
    assert_true(s.autocommit);
    session_route_state_init(NULL, true);
}

/* step 8 */
static void test_plain(void **state)
{
    (void)state;
    struct session_route_state s = fresh();
    expect("SELECT 1", &s, ROUTE_REPLICA, "plain SELECT");
    expect("SHOW TABLES", &s, ROUTE_REPLICA, "SHOW");
    expect("UPDATE t SET a = 1", &s, ROUTE_PRIMARY, "write statement");
    expect("SELECT * FROM t FOR UPDATE", &s, ROUTE_PRIMARY, "SELECT ... FOR UPDATE");
    expect("SELECT IS_FREE_LOCK('a')", &s, ROUTE_PRIMARY, "named lock function");
    expect("SELECT LAST_INSERT_ID()", &s, ROUTE_PRIMARY, "LAST_INSERT_ID()");
    expect("", &s, ROUTE_PRIMARY, "empty statement");
    assert_int_equal(route_statement(NULL, &s).target, ROUTE_PRIMARY);
    struct classification c = cls("SELECT 1");
    assert_int_equal(route_statement(&c, NULL).target, ROUTE_REPLICA);
}

/* step 3: every pin, and that it beats hints, LAST and read-only trx */
static void test_pinning(void **state)
{
    (void)state;
    static const char *const reasons[] = {
        "inside a transaction",  "autocommit is off",         "session has temporary tables",
        "LOCK TABLES is active", "session holds named locks", "XA transaction",
    };
    for (int i = 0; i < 6; i++) {
        struct session_route_state s = fresh();
        s.in_transaction = i == 0;
        s.autocommit = i != 1;
        s.temp_tables = i == 2 ? 2 : 0;
        s.tables_locked = i == 3;
        s.named_locks = i == 4 ? 1 : 0;
        s.xa_active = i == 5;
        expect("SELECT 1", &s, ROUTE_PRIMARY, reasons[i]);
        expect("/* route=replica */ SELECT 1", &s, ROUTE_PRIMARY, reasons[i]);
        expect("SHOW WARNINGS", &s, ROUTE_PRIMARY, reasons[i]);
        expect("START TRANSACTION READ ONLY", &s, ROUTE_PRIMARY, reasons[i]);
        s.override = ROUTE_FORCE_REPLICA;
        expect("SELECT 1", &s, ROUTE_PRIMARY, reasons[i]);
    }
}

/* steps 2 and 7: PROXY SET route */
static void test_overrides(void **state)
{
    (void)state;
    struct session_route_state s = fresh();
    s.override = ROUTE_FORCE_PRIMARY;
    expect("SELECT 1", &s, ROUTE_PRIMARY, "PROXY SET route = primary");
    expect("/* route=replica */ SELECT 1", &s, ROUTE_PRIMARY, "PROXY SET route = primary");
    expect("SHOW WARNINGS", &s, ROUTE_PRIMARY, "PROXY SET route = primary");
    expect("START TRANSACTION READ ONLY", &s, ROUTE_PRIMARY, "PROXY SET route = primary");
    s.in_transaction = true; /* step 2 comes before the pins */
    expect("SELECT 1", &s, ROUTE_PRIMARY, "PROXY SET route = primary");

    s = fresh();
    s.override = ROUTE_FORCE_REPLICA;
    expect("SELECT 1", &s, ROUTE_REPLICA, "PROXY SET route = replica");
    expect("UPDATE t SET a = 1", &s, ROUTE_REPLICA, "PROXY SET route = replica");
    expect("/* route=primary */ SELECT 1", &s, ROUTE_REPLICA, "PROXY SET route = replica");
    expect("SHOW WARNINGS", &s, ROUTE_LAST, "about the previous statement"); /* step 4 first */
    expect("SET NAMES utf8", &s, ROUTE_PRIMARY, "session SET");             /* step 6 first */
    expect("BEGIN", &s, ROUTE_PRIMARY, "BEGIN");

    s = fresh();
    s.override = ROUTE_AUTO;
    expect("UPDATE t SET a = 1", &s, ROUTE_PRIMARY, "write statement");
}

/* step 4 */
static void test_last(void **state)
{
    (void)state;
    struct session_route_state s = fresh();
    static const char *const sqls[] = {
        "SELECT FOUND_ROWS()",   "SELECT ROW_COUNT()",      "SELECT @@warning_count",
        "SELECT @@error_count",  "SHOW WARNINGS",           "SHOW ERRORS LIMIT 1",
        "SHOW COUNT(*) WARNINGS", "/* route=primary */ SHOW WARNINGS",
        "/* route=replica */ SHOW ERRORS",
    };
    for (size_t i = 0; i < sizeof sqls / sizeof sqls[0]; i++)
        expect(sqls[i], &s, ROUTE_LAST, "about the previous statement");
    expect("INSERT INTO t VALUES (1); SELECT ROW_COUNT()", &s, ROUTE_PRIMARY, NULL);
    expect("SELECT FOUND_ROWS(), GET_LOCK('a', 1)", &s, ROUTE_PRIMARY, "named lock function");
    expect("SELECT @@identity", &s, ROUTE_PRIMARY, "session-specific variable");
}

/* step 6: stateful statements stay on the primary whatever hint or override */
static void test_primary_only(void **state)
{
    (void)state;
    static const char *const sqls[] = {
        "SET NAMES utf8",          "USE db",
        "BEGIN",                   "START TRANSACTION",
        "CREATE TEMPORARY TABLE t (a INT)", "DROP TEMPORARY TABLE t",
        "LOCK TABLES t READ",      "UNLOCK TABLES",
        "SELECT GET_LOCK('a', 1)", "SELECT RELEASE_LOCK('a')",
        "SELECT RELEASE_ALL_LOCKS()", "XA START 'x'",
        "XA COMMIT 'x'",           "KILL 5",
        "SET autocommit = 1",      "SET GLOBAL x = 1",
    };
    for (size_t i = 0; i < sizeof sqls / sizeof sqls[0]; i++) {
        struct session_route_state s = fresh();
        struct classification c = cls(sqls[i]);
        struct route_decision d = route_statement(&c, &s);
        assert_int_equal(d.target, ROUTE_PRIMARY);
        assert_ptr_equal(d.reason, c.reason);
        assert_false(d.begins_read_only_trx);
        s.override = ROUTE_FORCE_REPLICA;
        c.flags |= CLS_HINT_REPLICA;
        c.is_read = true;
        assert_int_equal(route_statement(&c, &s).target, ROUTE_PRIMARY);
    }
}

static void test_hints(void **state)
{
    (void)state;
    struct session_route_state s = fresh();
    expect("/* route=primary */ SELECT 1", &s, ROUTE_PRIMARY, "hint");
    expect("/* route=replica */ SELECT * FROM t FOR UPDATE", &s, ROUTE_REPLICA, "hint");
    expect("/* route=replica */ UPDATE t SET a = 1", &s, ROUTE_REPLICA, "hint");
    expect("/* route=primary */ /* route=replica */ SELECT 1", &s, ROUTE_PRIMARY, "hint");
    expect("/* route=replica */ SET NAMES utf8", &s, ROUTE_PRIMARY, "session SET");
    struct classification c = {.is_read = true, .flags = CLS_HINT_PRIMARY, .reason = "x"};
    assert_int_equal(route_statement(&c, &s).target, ROUTE_PRIMARY);
}

/* step 5 and step 1: a read-only transaction runs on one replica */
static void test_read_only_trx(void **state)
{
    (void)state;
    struct session_route_state s = fresh();
    struct route_decision d = run(&s, "START TRANSACTION READ ONLY", true, TRX_STATUS);
    assert_int_equal(d.target, ROUTE_REPLICA);
    assert_string_equal(d.reason, "START TRANSACTION READ ONLY");
    assert_true(d.begins_read_only_trx);
    assert_true(s.read_only_trx);
    assert_true(s.in_transaction);
    d = run(&s, "SELECT 1", true, TRX_STATUS);
    assert_int_equal(d.target, ROUTE_TRX_REPLICA);
    assert_string_equal(d.reason, "read-only transaction");
    assert_false(d.begins_read_only_trx);
    expect("SELECT * FROM t FOR UPDATE", &s, ROUTE_TRX_REPLICA, "read-only transaction");
    expect("SHOW WARNINGS", &s, ROUTE_TRX_REPLICA, "read-only transaction");
    s.override = ROUTE_FORCE_PRIMARY; /* step 1 comes first */
    expect("SELECT 1", &s, ROUTE_TRX_REPLICA, "read-only transaction");
    s.override = ROUTE_AUTO;
    /* a failed statement with no status keeps the transaction */
    struct classification c = cls("SELECT nope");
    session_route_state_update(&s, &c, NULL, false, false, 0);
    assert_true(s.read_only_trx);
    d = run(&s, "COMMIT", true, OK_STATUS);
    assert_int_equal(d.target, ROUTE_TRX_REPLICA);
    assert_false(s.read_only_trx);
    assert_false(s.in_transaction);
    expect("SELECT 1", &s, ROUTE_REPLICA, "plain SELECT");

    /* the BEGIN itself failed, with a status without IN_TRANS */
    s = fresh();
    run(&s, "START TRANSACTION READ ONLY", false, OK_STATUS);
    assert_false(s.read_only_trx);
    /* succeeded but the server says no transaction: nothing to stay on */
    run(&s, "START TRANSACTION READ ONLY", true, OK_STATUS);
    assert_false(s.read_only_trx);
}

static void test_read_only_trx_off(void **state)
{
    (void)state;
    struct session_route_state s;
    session_route_state_init(&s, false);
    struct route_decision d = run(&s, "START TRANSACTION READ ONLY", true, TRX_STATUS);
    assert_int_equal(d.target, ROUTE_PRIMARY);
    assert_string_equal(d.reason, "BEGIN");
    assert_false(d.begins_read_only_trx);
    assert_false(s.read_only_trx);
    expect("SELECT 1", &s, ROUTE_PRIMARY, "inside a transaction");
    /* a plain BEGIN never goes to a replica */
    s = fresh();
    d = run(&s, "START TRANSACTION READ WRITE", true, TRX_STATUS);
    assert_int_equal(d.target, ROUTE_PRIMARY);
    assert_false(s.read_only_trx);
}

static void test_status_flags(void **state)
{
    (void)state;
    struct session_route_state s = fresh();
    run(&s, "BEGIN", true, TRX_STATUS);
    assert_true(s.in_transaction);
    assert_true(s.autocommit);
    run(&s, "COMMIT", true, OK_STATUS);
    assert_false(s.in_transaction);
    run(&s, "SET autocommit = 0", true, 0);
    assert_false(s.autocommit);
    expect("SELECT 1", &s, ROUTE_PRIMARY, "autocommit is off");
    struct classification c = cls("SET autocommit = 1");
    session_route_state_update(&s, &c, NULL, false, false, 0);
    assert_false(s.autocommit);
    session_route_state_update(&s, &c, NULL, true, true, OK_STATUS);
    assert_true(s.autocommit);
    session_route_state_update(NULL, &c, NULL, true, true, 0);
    session_route_state_update(&s, NULL, NULL, true, true, OK_STATUS);
}

static void test_temp_tables(void **state)
{
    (void)state;
    struct session_route_state s = fresh();
    run(&s, "CREATE TEMPORARY TABLE a (x INT)", false, OK_STATUS);
    assert_int_equal(s.temp_tables, 0); /* failed: nothing was created */
    run(&s, "CREATE TEMPORARY TABLE a (x INT)", true, OK_STATUS);
    run(&s, "CREATE TEMPORARY TABLE b (x INT)", true, OK_STATUS);
    run(&s, "CREATE TEMPORARY TABLE c (x INT)", true, OK_STATUS);
    assert_int_equal(s.temp_tables, 3);
    expect("SELECT 1", &s, ROUTE_PRIMARY, "session has temporary tables");
    run(&s, "DROP TEMPORARY TABLE a", false, OK_STATUS);
    assert_int_equal(s.temp_tables, 3);
    run(&s, "DROP TEMPORARY TABLE IF EXISTS a, b", true, OK_STATUS);
    assert_int_equal(s.temp_tables, 1);
    run(&s, "DROP TABLE c", true, OK_STATUS); /* may be the temp table: stay pinned */
    assert_int_equal(s.temp_tables, 1);
    run(&s, "DROP TEMPORARY TABLE c, d, e", true, OK_STATUS);
    assert_int_equal(s.temp_tables, 0); /* not below 0 */
    expect("SELECT 1", &s, ROUTE_REPLICA, NULL);
}

static void test_table_locks(void **state)
{
    (void)state;
    struct session_route_state s = fresh();
    run(&s, "LOCK TABLES t READ", true, OK_STATUS);
    assert_true(s.tables_locked);
    expect("SELECT 1", &s, ROUTE_PRIMARY, "LOCK TABLES is active");
    run(&s, "UNLOCK TABLES", false, OK_STATUS);
    assert_true(s.tables_locked);
    run(&s, "UNLOCK TABLES", true, OK_STATUS);
    assert_false(s.tables_locked);
    expect("SELECT 1", &s, ROUTE_REPLICA, NULL);
}

static void test_named_locks(void **state)
{
    (void)state;
    struct session_route_state s = fresh();
    expect("SELECT GET_LOCK('a', 1)", &s, ROUTE_PRIMARY, "named lock function");
    run(&s, "SELECT GET_LOCK('a', 1), GET_LOCK('b', 1)", true, OK_STATUS);
    assert_int_equal(s.named_locks, 2);
    expect("SELECT 1", &s, ROUTE_PRIMARY, "session holds named locks");
    run(&s, "SELECT RELEASE_LOCK('a')", false, OK_STATUS);
    assert_int_equal(s.named_locks, 2);
    run(&s, "SELECT RELEASE_LOCK('a')", true, OK_STATUS);
    assert_int_equal(s.named_locks, 1);
    run(&s, "SELECT IS_USED_LOCK('b')", true, OK_STATUS);
    assert_int_equal(s.named_locks, 1);
    run(&s, "SELECT RELEASE_LOCK('b'), RELEASE_LOCK('c')", true, OK_STATUS);
    assert_int_equal(s.named_locks, 0);
    expect("SELECT 1", &s, ROUTE_REPLICA, NULL);
    run(&s, "DO GET_LOCK('a', 1)", true, OK_STATUS);
    run(&s, "DO GET_LOCK('a', 1)", true, OK_STATUS);
    assert_int_equal(s.named_locks, 2);
    run(&s, "SELECT RELEASE_ALL_LOCKS()", true, OK_STATUS);
    assert_int_equal(s.named_locks, 0);
    /* locks taken after RELEASE_ALL_LOCKS in the same text stay counted */
    run(&s, "SELECT RELEASE_ALL_LOCKS(), GET_LOCK('z', 1)", true, OK_STATUS);
    assert_int_equal(s.named_locks, 1);
}

static void test_xa(void **state)
{
    (void)state;
    struct session_route_state s = fresh();
    run(&s, "XA START 'x'", false, OK_STATUS);
    assert_false(s.xa_active);
    struct route_decision d = run(&s, "XA START 'x'", true, OK_STATUS);
    assert_int_equal(d.target, ROUTE_PRIMARY);
    assert_true(s.xa_active);
    expect("SELECT 1", &s, ROUTE_PRIMARY, "XA transaction");
    run(&s, "XA END 'x'", true, OK_STATUS);
    run(&s, "XA PREPARE 'x'", true, OK_STATUS);
    assert_true(s.xa_active);
    run(&s, "XA COMMIT 'x'", true, OK_STATUS);
    assert_false(s.xa_active);
    run(&s, "XA BEGIN 'y'", true, OK_STATUS);
    run(&s, "XA ROLLBACK 'y'", true, OK_STATUS);
    assert_false(s.xa_active);
    expect("SELECT 1", &s, ROUTE_REPLICA, NULL);
}

/* a statement whose session effect a replica cannot redo pins the session */
static void test_unreplayable(void **state)
{
    (void)state;
    struct session_route_state s = fresh();
    run(&s, "SELECT @a := 1", false, OK_STATUS);
    assert_false(s.unreplayable_state);
    run(&s, "SET @b = 2", true, OK_STATUS);
    expect("SELECT 1", &s, ROUTE_REPLICA, NULL);
    run(&s, "SELECT @a := 1", true, OK_STATUS);
    assert_true(s.unreplayable_state);
    expect("SELECT 1", &s, ROUTE_PRIMARY, "session state cannot be replayed on replicas");
    s = fresh();
    run(&s, "SET @t = NOW()", true, OK_STATUS);
    expect("SELECT @t", &s, ROUTE_PRIMARY, "session state cannot be replayed on replicas");
    s = fresh();
    run(&s, "SELECT a INTO @x FROM t", true, OK_STATUS);
    assert_true(s.unreplayable_state);
}

/* Item 6: CALL / EXECUTE may set state the proxy cannot see; the session
 * stays on the primary afterwards, also when the statement failed. */
static void test_hidden_state(void **state)
{
    (void)state;
    static const char *const texts[] = {"CALL p()", "EXECUTE IMMEDIATE 'SET @a = 1'",
                                        "EXECUTE s", "PREPARE s FROM @sql"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        for (int ok = 0; ok <= 1; ok++) {
            struct session_route_state s = fresh();
            assert_int_equal(run(&s, texts[i], ok, OK_STATUS).target, ROUTE_PRIMARY);
            expect("SELECT @pv", &s, ROUTE_PRIMARY,
                   "after CALL or EXECUTE: state the proxy cannot see");
            s.override = ROUTE_FORCE_REPLICA;
            expect("SELECT @pv", &s, ROUTE_PRIMARY, NULL);
        }
    }
    struct session_route_state s = fresh();
    run(&s, "PREPARE s FROM 'SELECT 1'", true, OK_STATUS);
    expect("SELECT 1", &s, ROUTE_REPLICA, NULL);
    s.override = ROUTE_FORCE_REPLICA;
    expect("CALL p()", &s, ROUTE_PRIMARY, "CALL");
    s = fresh();
    session_route_state_restart(&s, true);
    run(&s, "CALL p()", true, OK_STATUS);
    session_route_state_restart(&s, true); /* a new connection forgets it */
    expect("SELECT 1", &s, ROUTE_REPLICA, NULL);
}

/* Item 7: every CREATE TEMPORARY TABLE of a batch counts. */
static void test_temp_tables_in_batch(void **state)
{
    (void)state;
    struct session_route_state s = fresh();
    run(&s, "CREATE TEMPORARY TABLE a (x INT); CREATE TEMPORARY TABLE b (x INT)", true,
        OK_STATUS);
    assert_int_equal(s.temp_tables, 2);
    run(&s, "DROP TEMPORARY TABLE a", true, OK_STATUS);
    expect("SELECT * FROM b", &s, ROUTE_PRIMARY, "session has temporary tables");
    run(&s, "DROP TEMPORARY TABLE b", true, OK_STATUS);
    expect("SELECT 1", &s, ROUTE_REPLICA, NULL);
    run(&s, "CREATE TEMPORARY TABLE a (x INT); CREATE TEMPORARY TABLE b (x INT); "
            "DROP TEMPORARY TABLE a",
        true, OK_STATUS);
    assert_int_equal(s.temp_tables, 1);
}

/* Item 10: PROXY SET route = replica NAME sends every replica read to it. */
static void test_named_replica(void **state)
{
    (void)state;
    struct session_route_state s = fresh();
    struct classification c = cls("SELECT @@port");
    assert_int_equal(route_statement(&c, &s).replica, -1);
    s.override = ROUTE_FORCE_REPLICA;
    s.override_replica = 2;
    struct route_decision d = route_statement(&c, &s);
    assert_int_equal(d.target, ROUTE_REPLICA);
    assert_int_equal(d.replica, 2);
    c = cls("SHOW GLOBAL STATUS");
    d = route_statement(&c, &s);
    assert_int_equal(d.replica, 2);
    c = cls("SET @a = 1");
    d = route_statement(&c, &s);
    assert_int_equal(d.target, ROUTE_PRIMARY);
    session_route_state_restart(&s, true);
    assert_int_equal(s.override, ROUTE_FORCE_REPLICA);
    assert_int_equal(s.override_replica, 2);
    s.override = ROUTE_AUTO;
    c = cls("SHOW GLOBAL STATUS");
    assert_int_equal(route_statement(&c, &s).target, ROUTE_PRIMARY);
}

/* Item 8: SET NAMES that succeeded changes how later statements lex. */
static void test_charset_follows_set_names(void **state)
{
    (void)state;
    struct session_route_state s = fresh();
    s.charset = sql_charset_default();
    run(&s, "SET NAMES latin1", false, OK_STATUS);
    assert_ptr_equal(s.charset, sql_charset_default());
    run(&s, "SET NAMES latin1", true, OK_STATUS);
    assert_ptr_equal(s.charset, sql_charset_by_name("latin1", 6));
    run(&s, "SET character_set_client = 'sjis'", true, OK_STATUS);
    assert_ptr_equal(s.charset, sql_charset_by_name("SJIS", 4));
    run(&s, "SET NAMES DEFAULT", true, OK_STATUS);
    assert_null(s.charset);
    run(&s, "SET CHARACTER SET utf8mb4", true, OK_STATUS);
    assert_ptr_equal(s.charset, sql_charset_default());
    run(&s, "SET GLOBAL character_set_client = latin1", true, OK_STATUS);
    assert_ptr_equal(s.charset, sql_charset_default());
    session_route_state_restart(&s, true);
    assert_ptr_equal(s.charset, sql_charset_default());
}

/* A write may run triggers (or stored functions) that assign user variables
 * on the primary: from then on a statement that reads one runs there, also
 * when the write failed part-way; a lone SET is replayed and changes nothing. */
static void test_user_vars_after_write(void **state)
{
    (void)state;
    static const char reason[] = "user variables may have changed on the primary";
    for (int ok = 0; ok <= 1; ok++) {
        struct session_route_state s = fresh();
        run(&s, "SET @sum = 0", true, OK_STATUS);
        expect("SELECT @sum", &s, ROUTE_REPLICA, NULL);
        run(&s, "SELECT a FROM t1", true, OK_STATUS);
        expect("SELECT @sum", &s, ROUTE_REPLICA, NULL);
        run(&s, "INSERT INTO t1 VALUES (10), (20)", ok, OK_STATUS);
        expect("SELECT @sum", &s, ROUTE_PRIMARY, reason);
        expect("SELECT a FROM t1 WHERE a > @sum", &s, ROUTE_PRIMARY, reason);
        expect("/* route=replica */ SELECT @sum", &s, ROUTE_PRIMARY, reason);
        s.override = ROUTE_FORCE_REPLICA;
        expect("SELECT @sum", &s, ROUTE_PRIMARY, reason);
        expect("SELECT a FROM t1", &s, ROUTE_REPLICA, NULL);
        s.override = ROUTE_AUTO;
        expect("SELECT a FROM t1", &s, ROUTE_REPLICA, NULL);
        expect("SELECT @@sql_mode", &s, ROUTE_REPLICA, NULL);
        session_route_state_restart(&s, true);
        expect("SELECT @sum", &s, ROUTE_REPLICA, NULL);
    }
    struct session_route_state s = fresh();
    run(&s, "SET @a = 1; INSERT INTO t1 VALUES (1)", true, OK_STATUS);
    expect("SELECT @a", &s, ROUTE_PRIMARY, reason);
    /* Commands that are not statements (prepare, ping...) run nothing. */
    s = fresh();
    session_route_state_update(&s, NULL, NULL, true, true, OK_STATUS);
    expect("SELECT @a", &s, ROUTE_REPLICA, NULL);
    /* A write forced onto a replica did not run on the primary. */
    s.override = ROUTE_FORCE_REPLICA;
    run(&s, "INSERT INTO t1 VALUES (1)", false, OK_STATUS);
    s.override = ROUTE_AUTO;
    expect("SELECT @a", &s, ROUTE_REPLICA, NULL);
}

/* The session's default engine is not replicated with CREATE TABLE: a session
 * that sets it (in any spelling, not GLOBAL) stays on the primary. */
static void test_default_engine_pins(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "SET default_storage_engine = MyISAM", "SET @@session.default_storage_engine = 'MyISAM'",
        "SET SESSION storage_engine = HEAP", "SET sql_mode = '', DEFAULT_STORAGE_ENGINE = Default",
        "SET @@default_storage_engine = HEAP"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        struct session_route_state s = fresh();
        run(&s, texts[i], true, OK_STATUS);
        expect("SELECT * FROM t1", &s, ROUTE_PRIMARY,
               "session state cannot be replayed on replicas");
    }
    struct session_route_state s = fresh();
    run(&s, "SET GLOBAL default_storage_engine = MyISAM", true, OK_STATUS);
    run(&s, "SET default_tmp_storage_engine = MyISAM", true, OK_STATUS);
    expect("SELECT * FROM t1", &s, ROUTE_REPLICA, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init),          cmocka_unit_test(test_plain),
        cmocka_unit_test(test_pinning),       cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_last),          cmocka_unit_test(test_primary_only),
        cmocka_unit_test(test_hints),         cmocka_unit_test(test_read_only_trx),
        cmocka_unit_test(test_read_only_trx_off), cmocka_unit_test(test_status_flags),
        cmocka_unit_test(test_temp_tables),   cmocka_unit_test(test_table_locks),
        cmocka_unit_test(test_named_locks),   cmocka_unit_test(test_xa), cmocka_unit_test(test_unreplayable),
        cmocka_unit_test(test_hidden_state), cmocka_unit_test(test_temp_tables_in_batch),
        cmocka_unit_test(test_named_replica), cmocka_unit_test(test_charset_follows_set_names),
        cmocka_unit_test(test_user_vars_after_write), cmocka_unit_test(test_default_engine_pins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
