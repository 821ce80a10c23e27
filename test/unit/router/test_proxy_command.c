/* PROXY statements: the accepted forms, malformed ones, and texts that are
 * not PROXY statements at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "router/proxy_command.h"

static const char E_FORMS[] = "expected PROXY SET route = primary|replica [NAME]|auto, PROXY SHOW "
                              "route or PROXY EXPLAIN <statement>";

struct pc_case {
    const char *sql;
    enum proxy_command_kind kind;
    enum route_override route; /* SET_ROUTE */
    const char *stmt;          /* EXPLAIN: expected statement; INVALID: expected error */
};

static const struct pc_case cases[] = {
    {"PROXY SET route = primary", PROXY_CMD_SET_ROUTE, ROUTE_FORCE_PRIMARY, NULL},
    {"PROXY SET route = replica", PROXY_CMD_SET_ROUTE, ROUTE_FORCE_REPLICA, NULL},
    {"PROXY SET route = auto", PROXY_CMD_SET_ROUTE, ROUTE_AUTO, NULL},
    {"proxy set route=primary", PROXY_CMD_SET_ROUTE, ROUTE_FORCE_PRIMARY, NULL},
    {"Proxy Set Route=Replica;", PROXY_CMD_SET_ROUTE, ROUTE_FORCE_REPLICA, NULL},
    {"  PROXY SET route = AUTO ;  \n", PROXY_CMD_SET_ROUTE, ROUTE_AUTO, NULL},
    {"/* c */ PROXY /* c */ SET route = primary -- done", PROXY_CMD_SET_ROUTE, ROUTE_FORCE_PRIMARY,
     NULL},
    {"# c\nPROXY SET route = 'replica'", PROXY_CMD_SET_ROUTE, ROUTE_FORCE_REPLICA, NULL},
    {"PROXY SHOW route", PROXY_CMD_SHOW_ROUTE, ROUTE_AUTO, NULL},
    {"proxy show ROUTE ;", PROXY_CMD_SHOW_ROUTE, ROUTE_AUTO, NULL},
    {"PROXY EXPLAIN SELECT 1", PROXY_CMD_EXPLAIN, ROUTE_AUTO, "SELECT 1"},
    {"proxy explain   SELECT * FROM t FOR UPDATE ;  ", PROXY_CMD_EXPLAIN, ROUTE_AUTO,
     "SELECT * FROM t FOR UPDATE"},
    {"PROXY EXPLAIN /* route=replica */ UPDATE t SET a = 1;", PROXY_CMD_EXPLAIN, ROUTE_AUTO,
     "/* route=replica */ UPDATE t SET a = 1"},
    {"PROXY EXPLAIN\n\tSELECT 1; SELECT 2", PROXY_CMD_EXPLAIN, ROUTE_AUTO, "SELECT 1; SELECT 2"},
    {"PROXY EXPLAIN SELECT ';'", PROXY_CMD_EXPLAIN, ROUTE_AUTO, "SELECT ';'"},
    {"PROXY EXPLAIN PROXY SHOW route", PROXY_CMD_EXPLAIN, ROUTE_AUTO, "PROXY SHOW route"},

    {"PROXY EXPLAIN", PROXY_CMD_INVALID, ROUTE_AUTO, "PROXY EXPLAIN needs a statement"},
    {"PROXY EXPLAIN ;  ", PROXY_CMD_INVALID, ROUTE_AUTO, "PROXY EXPLAIN needs a statement"},
    {"PROXY", PROXY_CMD_INVALID, ROUTE_AUTO, E_FORMS},
    {"PROXY;", PROXY_CMD_INVALID, ROUTE_AUTO, E_FORMS},
    {"PROXY SET", PROXY_CMD_INVALID, ROUTE_AUTO, E_FORMS},
    {"PROXY SET route", PROXY_CMD_INVALID, ROUTE_AUTO, E_FORMS},
    {"PROXY SET route =", PROXY_CMD_INVALID, ROUTE_AUTO, E_FORMS},
    {"PROXY SET route = master", PROXY_CMD_INVALID, ROUTE_AUTO, E_FORMS},
    {"PROXY SET route primary", PROXY_CMD_INVALID, ROUTE_AUTO, E_FORMS},
    {"PROXY SET mode = primary", PROXY_CMD_INVALID, ROUTE_AUTO, E_FORMS},
    {"PROXY SET route = primary replica", PROXY_CMD_INVALID, ROUTE_AUTO, E_FORMS},
    {"PROXY SET route = primary;;", PROXY_CMD_INVALID, ROUTE_AUTO, E_FORMS},
    {"PROXY SET route = primary; SELECT 1", PROXY_CMD_INVALID, ROUTE_AUTO, E_FORMS},
    {"PROXY SET route = 'primary", PROXY_CMD_INVALID, ROUTE_AUTO, E_FORMS},
    {"PROXY SHOW", PROXY_CMD_INVALID, ROUTE_AUTO, E_FORMS},
    {"PROXY SHOW routes", PROXY_CMD_INVALID, ROUTE_AUTO, E_FORMS},
    {"PROXY SHOW route now", PROXY_CMD_INVALID, ROUTE_AUTO, E_FORMS},
    {"PROXY HELP", PROXY_CMD_INVALID, ROUTE_AUTO, E_FORMS},
    {"proxy 1", PROXY_CMD_INVALID, ROUTE_AUTO, E_FORMS},
    {"/*!PROXY EXPLAIN SELECT 1 */", PROXY_CMD_INVALID, ROUTE_AUTO, E_FORMS},

    {"", PROXY_CMD_NONE, ROUTE_AUTO, NULL},
    {"   ", PROXY_CMD_NONE, ROUTE_AUTO, NULL},
    {"/* PROXY SHOW route */", PROXY_CMD_NONE, ROUTE_AUTO, NULL},
    {"-- PROXY SHOW route", PROXY_CMD_NONE, ROUTE_AUTO, NULL},
    {"SELECT 1", PROXY_CMD_NONE, ROUTE_AUTO, NULL},
    {"SELECT proxy FROM t", PROXY_CMD_NONE, ROUTE_AUTO, NULL},
    {"PROXYSET route = primary", PROXY_CMD_NONE, ROUTE_AUTO, NULL},
    {"PROXY_SHOW route", PROXY_CMD_NONE, ROUTE_AUTO, NULL},
    {"`PROXY` SHOW route", PROXY_CMD_NONE, ROUTE_AUTO, NULL},
    {"'PROXY SHOW route'", PROXY_CMD_NONE, ROUTE_AUTO, NULL},
    {"(PROXY SHOW route)", PROXY_CMD_NONE, ROUTE_AUTO, NULL},
    {"SET route = primary", PROXY_CMD_NONE, ROUTE_AUTO, NULL},
    {"/* unterminated PROXY", PROXY_CMD_NONE, ROUTE_AUTO, NULL},
};

static void check_case(const struct pc_case *w)
{
    struct proxy_command pc;
    parse_proxy_command(w->sql, strlen(w->sql), &pc);
    if (pc.kind != w->kind)
        fprintf(stderr, "\"%s\": kind %d, want %d\n", w->sql, (int)pc.kind, (int)w->kind);
    assert_int_equal(pc.kind, w->kind);
    if (w->kind == PROXY_CMD_SET_ROUTE)
        assert_int_equal(pc.route, w->route);
    if (w->kind == PROXY_CMD_EXPLAIN) {
        assert_true(pc.stmt >= w->sql && pc.stmt + pc.stmt_len <= w->sql + strlen(w->sql));
        assert_int_equal(pc.stmt_len, strlen(w->stmt));
        assert_memory_equal(pc.stmt, w->stmt, pc.stmt_len);
    }
    if (w->kind == PROXY_CMD_INVALID)
        assert_string_equal(pc.error, w->stmt);
}

static void test_table(void **state)
{
    (void)state;
    size_t n = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < n; i++)
        check_case(&cases[i]);
    assert_true(n >= 25);
}

/* The text is not NUL-terminated: the length decides. */
static void test_lengths(void **state)
{
    (void)state;
    struct proxy_command pc;
    const char *sql = "PROXY SHOW route garbage";
    parse_proxy_command(sql, 16, &pc);
    assert_int_equal(pc.kind, PROXY_CMD_SHOW_ROUTE);
    parse_proxy_command(sql, 10, &pc);
    assert_int_equal(pc.kind, PROXY_CMD_INVALID);
    parse_proxy_command(sql, 4, &pc);
    assert_int_equal(pc.kind, PROXY_CMD_NONE);
    sql = "PROXY EXPLAIN SELECT 1;xyz";
    parse_proxy_command(sql, 23, &pc);
    assert_int_equal(pc.kind, PROXY_CMD_EXPLAIN);
    assert_int_equal(pc.stmt_len, 8);
    static const char nul[] = "PROXY SHOW\0route";
    parse_proxy_command(nul, sizeof nul - 1, &pc);
    assert_int_equal(pc.kind, PROXY_CMD_INVALID);
    parse_proxy_command(NULL, 0, &pc);
    assert_int_equal(pc.kind, PROXY_CMD_NONE);
    parse_proxy_command("PROXY SHOW route", 16, NULL);
}

/* PROXY SET route = replica NAME names one backend; other values take none. */
static void test_replica_name(void **state)
{
    (void)state;
    static const struct {
        const char *sql;
        const char *name; /* NULL: no name; "" : invalid */
    } cases[] = {
        {"PROXY SET route = replica replica2", "replica2"},
        {"proxy set route = REPLICA `replica-2`;", "replica-2"},
        {"PROXY SET route = replica 'r1' ; ", "r1"},
        {"PROXY SET route = replica", NULL},
        {"PROXY SET route = replica;", NULL},
        {"PROXY SET route = primary replica2", ""},
        {"PROXY SET route = replica a b", ""},
        {"PROXY SET route = replica ''", ""},
        {"PROXY SET route = replica (r1)", ""},
        {"PROXY SET route = replica r1; SELECT 1", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct proxy_command pc;
        parse_proxy_command(cases[i].sql, strlen(cases[i].sql), &pc);
        const char *want = cases[i].name;
        if (want != NULL && want[0] == '\0') {
            assert_int_equal(pc.kind, PROXY_CMD_INVALID);
            continue;
        }
        assert_int_equal(pc.kind, PROXY_CMD_SET_ROUTE);
        assert_int_equal(pc.route, ROUTE_FORCE_REPLICA);
        if (want == NULL) {
            assert_null(pc.replica);
        } else {
            assert_int_equal(pc.replica_len, strlen(want));
            assert_memory_equal(pc.replica, want, pc.replica_len);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_replica_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
