/* Statement digests: same shape, same number; the digest memory stays
 * bounded and forgets the least recently used. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "router/classify.h"
#include "router/sql_keywords.h"
#include "router/statement_digest.h"
#include <strings.h>

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

/* The digest text of sql. */
static uint64_t statement_digest_text_hash(const char *sql)
{
    struct digest_text d;
    statement_digest_text(sql, strlen(sql), &d);
    return d.hash;
}

static const char *text_of(const char *sql)
{
    static struct digest_text d;
    statement_digest_text(sql, strlen(sql), &d);
    assert_int_equal(d.hash, statement_digest(sql, strlen(sql)));
    assert_int_equal(d.len, strlen(d.text));
    return d.text;
}

static void test_text_replaces_literals(void **state)
{
    (void)state;
    assert_string_equal(text_of("select c from sbtest1 where id=4711"),
                        "SELECT c FROM sbtest1 WHERE id = ?");
    assert_string_equal(text_of("SELECT * FROM t WHERE a = 'secret' AND b = \"x\" AND c = 1.5e3"),
                        "SELECT * FROM t WHERE a = ? AND b = ? AND c = ?");
    assert_string_equal(text_of("UPDATE t SET x = -5, y = x - 2 WHERE k >= 0x1F LIMIT 10"),
                        "UPDATE t SET x = ?, y = x - ? WHERE k >= ? LIMIT ?");
    assert_string_equal(text_of("SELECT 3.25, .5, 1., ?, t.5"), "SELECT ?, ?, ?, ?, t.5");
}

static void test_text_collapses_in_lists(void **state)
{
    (void)state;
    assert_string_equal(text_of("SELECT a FROM t WHERE id IN (1, 2, 3) AND s in ('a','b')"),
                        "SELECT a FROM t WHERE id IN (...) AND s IN (...)");
    assert_int_equal(statement_digest_text_hash("SELECT a FROM t WHERE id IN (1)"),
                     statement_digest_text_hash("SELECT a FROM t WHERE id IN (1, -2, 3, 4)"));
    /* a subquery or a column list is no literal list */
    assert_string_equal(text_of("SELECT a FROM t WHERE id IN (SELECT id FROM u WHERE k = 7)"),
                        "SELECT a FROM t WHERE id IN (SELECT id FROM u WHERE k = ?)");
    assert_string_equal(text_of("SELECT 1 IN (a, 2)"), "SELECT ? IN (a, ?)");
}

static void test_text_normalises_comments_space_case(void **state)
{
    (void)state;
    const char *want = "SELECT COUNT(*), `Name` FROM t.u WHERE x <> @v AND @@session.sql_mode IS NOT NULL";
    assert_string_equal(text_of("select /* hi */ count ( * ) ,`Name`\n\tfrom t . u -- tail\n"
                                "where x<>@v and @@session.sql_mode is not null"),
                        want);
    assert_string_equal(text_of(want), want); /* a digest is its own digest */
    assert_string_equal(text_of("INSERT INTO t(a, b) VALUES (1, 'x'); # done"),
                        "INSERT INTO t(a, b) VALUES (?, ?);");
    assert_string_equal(text_of(""), "");
}

static void test_text_never_holds_a_literal(void **state)
{
    (void)state;
    const char *t = text_of("SET PASSWORD = PASSWORD('hunter2'); SELECT 'unterminated hunter3");
    assert_null(strstr(t, "hunter"));
    assert_string_equal(t, "SET PASSWORD = PASSWORD(?); SELECT");
}

static void test_text_is_bounded(void **state)
{
    (void)state;
    static char sql[4 * DIGEST_TEXT_MAX];
    size_t n = 0;
    n += (size_t)sprintf(sql, "SELECT a");
    while (n + 16 < sizeof sql)
        n += (size_t)sprintf(sql + n, ", column%zu", n);
    struct digest_text d;
    statement_digest_text(sql, n, &d);
    assert_true(d.truncated);
    assert_int_equal(d.len, DIGEST_TEXT_MAX - 1);
    assert_int_equal(d.len, strlen(d.text));
    sql[n - 1] = sql[n - 1] == '1' ? '2' : '1'; /* the hash still sees the end */
    assert_int_not_equal(d.hash, statement_digest(sql, n));
}

/* The classifier builds the digest from its own lexing: the same number as
 * statement_digest, for the shapes whose tokens are held or taken back. */
static void test_classifier_gives_the_same_digest(void **state)
{
    (void)state;
    static const char *const sqls[] = {
        "SELECT c FROM sbtest1 WHERE id=4711",
        "SELECT a FROM t WHERE id IN (1, -2.5, .5, +3) AND b IN (1, a)",
        "SELECT - .5, -x, a-1, a - -1, 1., t.5, NULL-1, ?",
        "SELECT 1 IN (SELECT 2) ; INSERT INTO t VALUES (-1, 'x')",
        "SELECT a >= 1 AND b > = 2 FROM t WHERE c IN ('x'",
        "SELECT 'open",
        "",
    };
    for (size_t i = 0; i < sizeof sqls / sizeof sqls[0]; i++) {
        struct classification c;
        classify_query_digest(sqls[i], strlen(sqls[i]), sql_charset_default(), &c);
        assert_int_equal(c.digest, digest(sqls[i]));
        classify_query(sqls[i], strlen(sqls[i]), sql_charset_default(), &c);
        assert_int_equal(c.digest, 0);
    }
}

/* A literal that starts with a dot is followed by a space like any other. */
static void test_text_after_a_dot_literal(void **state)
{
    (void)state;
    assert_string_equal(text_of("select .5 from t"), "SELECT ? FROM t");
    assert_string_equal(text_of("select -.5 as x"), "SELECT ? AS x");
}

static void test_keyword_lists_are_sorted(void **state)
{
    (void)state;
    size_t n;
    const char *const *k = sql_keyword_list(&n);
    for (size_t i = 1; i < n; i++)
        assert_true(strcasecmp(k[i - 1], k[i]) < 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(sql_word_kind(k[i], strlen(k[i])), SQL_WORD_KEYWORD);
    k = sql_function_list(&n);
    for (size_t i = 1; i < n; i++)
        assert_true(strcasecmp(k[i - 1], k[i]) < 0);
    for (size_t i = 0; i < n; i++)
        assert_int_not_equal(sql_word_kind(k[i], strlen(k[i])), SQL_WORD_NAME);
    assert_int_equal(sql_word_kind("straight_join", 13), SQL_WORD_KEYWORD);
    assert_int_equal(sql_word_kind("Count", 5), SQL_WORD_FUNCTION);
    assert_int_equal(sql_word_kind("SELECTX", 6), SQL_WORD_KEYWORD);
    assert_int_equal(sql_word_kind("SELECTX", 7), SQL_WORD_NAME);
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
        cmocka_unit_test(test_text_replaces_literals),
        cmocka_unit_test(test_text_collapses_in_lists),
        cmocka_unit_test(test_text_normalises_comments_space_case),
        cmocka_unit_test(test_text_never_holds_a_literal),
        cmocka_unit_test(test_text_is_bounded),
        cmocka_unit_test(test_classifier_gives_the_same_digest),
        cmocka_unit_test(test_text_after_a_dot_literal),
        cmocka_unit_test(test_keyword_lists_are_sorted),
        cmocka_unit_test(test_memory_remembers),
        cmocka_unit_test(test_memory_is_bounded_lru),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
