/* Routing policy: pinning rules, hints, and session state updates from
 * server status flags and successful statements. */
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
    classify_query(sql, strlen(sql), &c);
    return c;
}

static struct session_route_state fresh(void)
{
    struct session_route_state s;
    session_route_state_init(&s);
    return s;
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
    assert_false(s.temp_tables);
    assert_false(s.tables_locked);
    assert_false(s.named_locks);
}

static void test_plain(void **state)
{
    (void)state;
    struct session_route_state s = fresh();
    expect("SELECT 1", &s, ROUTE_REPLICA, "plain SELECT");
    expect("SHOW TABLES", &s, ROUTE_REPLICA, "SHOW");
    expect("UPDATE t SET a = 1", &s, ROUTE_PRIMARY, "write statement");
    expect("SELECT * FROM t FOR UPDATE", &s, ROUTE_PRIMARY, "SELECT ... FOR UPDATE");
    expect("", &s, ROUTE_PRIMARY, "empty statement");
}

static void test_pinning(void **state)
{
    (void)state;
    struct session_route_state s = fresh();
    s.in_transaction = true;
    expect("SELECT 1", &s, ROUTE_PRIMARY, "inside a transaction");
    expect("/* route=replica */ SELECT 1", &s, ROUTE_PRIMARY, "inside a transaction");
    s = fresh();
    s.autocommit = false;
    expect("SELECT 1", &s, ROUTE_PRIMARY, "autocommit is off");
    s = fresh();
    s.temp_tables = true;
    expect("SELECT 1", &s, ROUTE_PRIMARY, "session has temporary tables");
    s = fresh();
    s.tables_locked = true;
    expect("SELECT 1", &s, ROUTE_PRIMARY, "LOCK TABLES is active");
    s = fresh();
    s.named_locks = true;
    expect("SELECT 1", &s, ROUTE_PRIMARY, "session holds named locks");
    expect("/* route=replica */ SELECT 1", &s, ROUTE_PRIMARY, "session holds named locks");
}

static void test_hints(void **state)
{
    (void)state;
    struct session_route_state s = fresh();
    expect("/* route=primary */ SELECT 1", &s, ROUTE_PRIMARY, "hint");
    expect("/* route=replica */ SELECT * FROM t FOR UPDATE", &s, ROUTE_REPLICA, "hint");
    expect("/* route=replica */ UPDATE t SET a = 1", &s, ROUTE_REPLICA, "hint");
    expect("/* route=primary */ /* route=replica */ SELECT 1", &s, ROUTE_PRIMARY, "hint");
    /* a replica hint does not move session-state statements off the primary */
    expect("/* route=replica */ SET NAMES utf8", &s, ROUTE_PRIMARY, "session SET");
    /* hint primary as a flag alone, even on a classification that says read */
    struct classification c = {.is_read = true, .flags = CLS_HINT_PRIMARY, .reason = "x"};
    assert_int_equal(route_statement(&c, &s).target, ROUTE_PRIMARY);
    assert_int_equal(route_statement(NULL, &s).target, ROUTE_PRIMARY);
}

static void test_status_flags(void **state)
{
    (void)state;
    struct session_route_state s = fresh();
    struct classification c = cls("BEGIN");
    session_route_state_update(&s, &c, true, true, SERVER_STATUS_IN_TRANS | SERVER_STATUS_AUTOCOMMIT);
    assert_true(s.in_transaction);
    assert_true(s.autocommit);
    c = cls("COMMIT");
    session_route_state_update(&s, &c, true, true, SERVER_STATUS_AUTOCOMMIT);
    assert_false(s.in_transaction);
    c = cls("SET autocommit = 0");
    session_route_state_update(&s, &c, true, true, 0);
    assert_false(s.autocommit);
    expect("SELECT 1", &s, ROUTE_PRIMARY, "autocommit is off");
    /* an ERR before any status leaves the flags alone */
    c = cls("SET autocommit = 1");
    session_route_state_update(&s, &c, false, false, 0);
    assert_false(s.autocommit);
    session_route_state_update(&s, &c, true, true, SERVER_STATUS_AUTOCOMMIT);
    assert_true(s.autocommit);
}

static void test_session_pins(void **state)
{
    (void)state;
    struct session_route_state s = fresh();
    struct classification c = cls("CREATE TEMPORARY TABLE t (a INT)");
    session_route_state_update(&s, &c, false, true, SERVER_STATUS_AUTOCOMMIT);
    assert_false(s.temp_tables); /* failed: nothing was created */
    session_route_state_update(&s, &c, true, true, SERVER_STATUS_AUTOCOMMIT);
    assert_true(s.temp_tables);

    s = fresh();
    c = cls("LOCK TABLES t READ");
    session_route_state_update(&s, &c, true, true, SERVER_STATUS_AUTOCOMMIT);
    assert_true(s.tables_locked);
    expect("SELECT 1", &s, ROUTE_PRIMARY, "LOCK TABLES is active");
    c = cls("UNLOCK TABLES");
    session_route_state_update(&s, &c, true, true, SERVER_STATUS_AUTOCOMMIT);
    assert_false(s.tables_locked);
    expect("SELECT 1", &s, ROUTE_REPLICA, NULL);

    s = fresh();
    c = cls("SELECT GET_LOCK('a', 1)");
    expect("SELECT GET_LOCK('a', 1)", &s, ROUTE_PRIMARY, "named lock function");
    session_route_state_update(&s, &c, true, true, SERVER_STATUS_AUTOCOMMIT);
    assert_true(s.named_locks);
    c = cls("SELECT RELEASE_LOCK('a')");
    session_route_state_update(&s, &c, true, true, SERVER_STATUS_AUTOCOMMIT);
    assert_true(s.named_locks); /* pinned for the session */

    session_route_state_update(NULL, &c, true, true, 0);
    session_route_state_init(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init),        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_pinning),     cmocka_unit_test(test_hints),
        cmocka_unit_test(test_status_flags), cmocka_unit_test(test_session_pins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
