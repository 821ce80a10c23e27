#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "proxy/gtid_mark.h"

static void expect_mark(struct gtid_mark *m, const char *want)
{
    char out[512];
    assert_int_equal(gtid_mark_format(m, out, sizeof out), (int)strlen(want));
    assert_string_equal(out, want);
}

static void test_empty(void **state)
{
    (void)state;
    struct gtid_mark m = {0};
    expect_mark(&m, "");
    assert_int_equal(gtid_mark_raise(&m, ""), 0);
    expect_mark(&m, "");
}

/* Per domain only ever up, whatever order the GTIDs come in. */
static void test_raise_per_domain(void **state)
{
    (void)state;
    struct gtid_mark m = {0};
    assert_int_equal(gtid_mark_raise(&m, "0-1-100"), 0);
    expect_mark(&m, "0-1-100");
    assert_int_equal(gtid_mark_raise(&m, "0-1-99"), 0);
    expect_mark(&m, "0-1-100");
    assert_int_equal(gtid_mark_raise(&m, "7-2-5, 0-3-101"), 0);
    expect_mark(&m, "0-3-101,7-2-5");
    assert_int_equal(gtid_mark_raise(&m, "7-2-4"), 0);
    expect_mark(&m, "0-3-101,7-2-5");
}

static void test_malformed_leaves_mark(void **state)
{
    (void)state;
    struct gtid_mark m = {0};
    assert_int_equal(gtid_mark_raise(&m, "0-1-10"), 0);
    const char *bad[] = {"x", "0-1", "0-1-2,", "0-1-2 3-4-5", "-1-2-3", "0-1-99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(gtid_mark_raise(&m, bad[i]), -1);
    expect_mark(&m, "0-1-10");
}

/* More domains than slots: the mark cannot name every write any more, and
 * says so rather than give a position that misses some. */
static void test_overflow(void **state)
{
    (void)state;
    struct gtid_mark m = {0};
    char gtid[32], out[1024];
    for (int d = 0; d < GTID_MARK_DOMAINS; d++) {
        snprintf(gtid, sizeof gtid, "%d-1-1", d);
        assert_int_equal(gtid_mark_raise(&m, gtid), 0);
    }
    assert_true(gtid_mark_format(&m, out, sizeof out) > 0);
    assert_int_equal(gtid_mark_raise(&m, "99-1-1"), -1);
    assert_int_equal(gtid_mark_format(&m, out, sizeof out), -1);
}

static void test_too_small_buffer(void **state)
{
    (void)state;
    struct gtid_mark m = {0};
    char out[8];
    assert_int_equal(gtid_mark_raise(&m, "0-1-1000000"), 0);
    assert_int_equal(gtid_mark_format(&m, out, sizeof out), -1);
    assert_string_equal(out, "");
}

struct racer {
    struct gtid_mark *m;
    int domain, from;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    char gtid[64];
    for (int i = 0; i < 20000; i++) {
        snprintf(gtid, sizeof gtid, "%d-1-%d", r->domain, r->from + i * 4);
        gtid_mark_raise(r->m, gtid);
    }
    return NULL;
}

/* Workers raising at once, the same and different domains: every domain ends
 * at the highest sequence any of them reported. */
static void test_concurrent(void **state)
{
    (void)state;
    struct gtid_mark m = {0};
    struct racer r[4] = {{&m, 0, 1}, {&m, 0, 2}, {&m, 5, 3}, {&m, 0, 4}};
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    char out[128];
    assert_true(gtid_mark_format(&m, out, sizeof out) > 0);
    assert_true(strcmp(out, "0-1-80000,5-1-79999") == 0 || strcmp(out, "5-1-79999,0-1-80000") == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),         cmocka_unit_test(test_raise_per_domain),
        cmocka_unit_test(test_malformed_leaves_mark), cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_too_small_buffer),      cmocka_unit_test(test_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
