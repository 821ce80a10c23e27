/* Statement digests: same shape, same number; the digest memory stays
 * bounded and forgets the least recently used. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "router/statement_digest.h"

static uint64_t digest(const char *sql) { return statement_digest(sql, strlen(sql)); }

static void test_literals_whitespace_comments_case(void **state)
{
    (void)state;
    uint64_t d = digest("SELECT f('x')");
    assert_int_equal(d, digest("select  F( 'other value' )"));
    assert_int_equal(d, digest("SELECT /* a comment */ f(\"y\")"));
    assert_int_equal(d, digest("SELECT\n\tf('x') -- trailing\n"));
    assert_int_equal(digest("SELECT * FROM t WHERE id = 1"),
                     digest("SELECT * FROM t WHERE id = 12345"));
}

static void test_different_shapes_differ(void **state)
{
    (void)state;
    uint64_t d = digest("SELECT f('x')");
    assert_int_not_equal(d, digest("SELECT g('x')"));
    assert_int_not_equal(d, digest("SELECT f('x', 'y')"));
    assert_int_not_equal(d, digest("SELECT f(@x)"));
    assert_int_not_equal(d, digest("SELECT f"));
    assert_int_not_equal(digest("SELECT a FROM t"), digest("SELECT `a` FROM t"));
    assert_int_not_equal(digest(""), 0);
}

static void test_unterminated_text_has_a_digest(void **state)
{
    (void)state;
    assert_int_not_equal(digest("SELECT 'open"), digest("SELECT"));
    assert_int_not_equal(digest("SELECT 'open"), 0);
}

static void test_memory_remembers(void **state)
{
    (void)state;
    struct digest_memory *m = calloc(1, sizeof *m);
    assert_non_null(m);
    uint64_t d = digest("SELECT f('x')");
    assert_false(digest_memory_has(m, d));
    digest_memory_add(m, d);
    assert_true(digest_memory_has(m, d));
    assert_true(digest_memory_has(m, digest("SELECT f('z')")));
    assert_false(digest_memory_has(m, digest("SELECT g('x')")));
    digest_memory_add(m, d);
    assert_int_equal(m->count, 1);
    free(m);
}

static void test_memory_is_bounded_lru(void **state)
{
    (void)state;
    struct digest_memory *m = calloc(1, sizeof *m);
    assert_non_null(m);
    /* Digests that all fall into set 0: the fifth evicts the least recently used. */
    uint64_t d[DIGEST_MEMORY_WAYS + 1];
    for (int i = 0; i <= DIGEST_MEMORY_WAYS; i++)
        d[i] = (uint64_t)(i + 1) * DIGEST_MEMORY_SETS;
    for (int i = 0; i < DIGEST_MEMORY_WAYS; i++)
        digest_memory_add(m, d[i]);
    assert_true(digest_memory_has(m, d[0])); /* d[1] is now the oldest */
    digest_memory_add(m, d[DIGEST_MEMORY_WAYS]);
    assert_false(digest_memory_has(m, d[1]));
    assert_true(digest_memory_has(m, d[0]));
    assert_true(digest_memory_has(m, d[DIGEST_MEMORY_WAYS]));
    /* Many more than fit: never more than the capacity. */
    for (uint64_t i = 1; i < 100000; i++)
        digest_memory_add(m, i * 0x9e3779b97f4a7c15ull);
    assert_true(m->count <= (size_t)DIGEST_MEMORY_SETS * DIGEST_MEMORY_WAYS);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literals_whitespace_comments_case),
        cmocka_unit_test(test_different_shapes_differ),
        cmocka_unit_test(test_unterminated_text_has_a_digest),
        cmocka_unit_test(test_memory_remembers),
        cmocka_unit_test(test_memory_is_bounded_lru),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
