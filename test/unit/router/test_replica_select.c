/* Smooth weighted round-robin: exact interleaving and proportions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "router/replica_select.h"

static void count_picks(const int *weights, size_t n, int picks, int *counts)
{
    struct wrr_state st;
    wrr_init(&st);
    for (size_t i = 0; i < n; i++)
        counts[i] = 0;
    for (int k = 0; k < picks; k++) {
        int i = wrr_pick(&st, weights, n);
        assert_true(i >= 0 && (size_t)i < n);
        counts[i]++;
    }
}

static void test_equal_alternates(void **state)
{
    (void)state;
    const int w[2] = {1, 1};
    struct wrr_state st;
    wrr_init(&st);
    int prev = -1, counts[2] = {0, 0};
    for (int k = 0; k < 100; k++) {
        int i = wrr_pick(&st, w, 2);
        assert_true(i == 0 || i == 1);
        assert_int_not_equal(i, prev);
        prev = i;
        counts[i]++;
    }
    assert_int_equal(counts[0], 50);
    assert_int_equal(counts[1], 50);
}

static void test_two_to_one(void **state)
{
    (void)state;
    const int w[2] = {2, 1};
    struct wrr_state st;
    wrr_init(&st);
    /* smooth: a, b, a repeating, never b twice in a row */
    const int expected[6] = {0, 1, 0, 0, 1, 0};
    for (int k = 0; k < 6; k++)
        assert_int_equal(wrr_pick(&st, w, 2), expected[k]);
    int counts[2];
    count_picks(w, 2, 300, counts);
    assert_int_equal(counts[0], 200);
    assert_int_equal(counts[1], 100);
}

static void test_three_way(void **state)
{
    (void)state;
    const int w[3] = {5, 1, 1};
    int counts[3];
    count_picks(w, 3, 700, counts);
    assert_int_equal(counts[0], 500);
    assert_int_equal(counts[1], 100);
    assert_int_equal(counts[2], 100);
}

static void test_ineligible(void **state)
{
    (void)state;
    const int w[3] = {1, 0, 1};
    int counts[3];
    count_picks(w, 3, 100, counts);
    assert_int_equal(counts[1], 0);
    assert_int_equal(counts[0], 50);
    assert_int_equal(counts[2], 50);
    const int neg[2] = {-3, 4};
    count_picks(neg, 2, 10, counts);
    assert_int_equal(counts[0], 0);
    assert_int_equal(counts[1], 10);
}

static void test_none(void **state)
{
    (void)state;
    struct wrr_state st;
    wrr_init(&st);
    const int w[3] = {0, 0, 0};
    assert_int_equal(wrr_pick(&st, w, 3), -1);
    assert_int_equal(wrr_pick(&st, w, 0), -1);
    assert_int_equal(wrr_pick(&st, NULL, 3), -1);
    assert_int_equal(wrr_pick(NULL, w, 3), -1);
}

/* A replica that drops out and comes back starts fresh, and the others keep
 * sharing the load meanwhile. */
static void test_eligibility_changes(void **state)
{
    (void)state;
    struct wrr_state st;
    wrr_init(&st);
    int w[2] = {1, 1};
    for (int k = 0; k < 3; k++)
        (void)wrr_pick(&st, w, 2);
    w[0] = 0;
    for (int k = 0; k < 5; k++)
        assert_int_equal(wrr_pick(&st, w, 2), 1);
    assert_int_equal(st.current[0], 0);
    w[0] = 1;
    int counts[2] = {0, 0};
    for (int k = 0; k < 100; k++)
        counts[wrr_pick(&st, w, 2)]++;
    assert_int_equal(counts[0], 50);
    assert_int_equal(counts[1], 50);
}

static void test_max_entries(void **state)
{
    (void)state;
    int w[WRR_MAX + 8];
    for (size_t i = 0; i < WRR_MAX + 8; i++)
        w[i] = 1;
    struct wrr_state st;
    wrr_init(&st);
    for (int k = 0; k < 1000; k++) {
        int i = wrr_pick(&st, w, WRR_MAX + 8); /* clamped to WRR_MAX */
        assert_true(i >= 0 && i < WRR_MAX);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal_alternates), cmocka_unit_test(test_two_to_one),
        cmocka_unit_test(test_three_way),        cmocka_unit_test(test_ineligible),
        cmocka_unit_test(test_none),             cmocka_unit_test(test_eligibility_changes),
        cmocka_unit_test(test_max_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
