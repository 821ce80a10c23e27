/* config/json: escaping log messages into JSON strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config/json.h"

struct escape_case {
    const char *in;
    const char *out;
};

static const struct escape_case cases[] = {
    {"", ""},
    {"plain text", "plain text"},
    {"say \"hi\"", "say \\\"hi\\\""},
    {"C:\\dir", "C:\\\\dir"},
    {"a\nb\rc\td", "a\\nb\\rc\\td"},
    {"\x01\x1f", "\\u0001\\u001f"},
    {"\b\f", "\\u0008\\u000c"},
    {"del\x7f", "del\x7f"},                      /* allowed raw in JSON */
    {"/path", "/path"},
    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
    {"bad \xff byte", "bad \\ufffd byte"},
    {"cut \xc3", "cut \\ufffd"},                 /* sequence ends at the NUL */
    {"\xc3(", "\\ufffd("},                       /* continuation byte missing */
    {"\xc0\xaf", "\\ufffd\\ufffd"},              /* overlong '/' */
    {"\xe0\x80\xaf", "\\ufffd\\ufffd\\ufffd"},   /* overlong, 3 bytes */
    {"\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd"},   /* UTF-16 surrogate */
    {"\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd"}, /* above U+10FFFF */
    {"\x80", "\\ufffd"},                         /* lone continuation byte */
};

static void test_escape(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[128];
        size_t n = json_escape(out, sizeof out, cases[i].in);
        if (strcmp(out, cases[i].out) != 0 || n != strlen(out))
            fail_msg("case %zu: got '%s' (%zu), want '%s'", i, out, n, cases[i].out);
    }
}

/* A full buffer cuts before an escape or a UTF-8 character, never inside. */
static void test_truncation(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(json_escape(out, 4, "a\"b"), 3);
    assert_string_equal(out, "a\\\"");
    assert_int_equal(json_escape(out, 3, "a\"b"), 1);
    assert_string_equal(out, "a");
    assert_int_equal(json_escape(out, 6, "ab\x01"), 2);
    assert_string_equal(out, "ab");
    assert_int_equal(json_escape(out, 3, "a\xc3\xa9"), 1);
    assert_string_equal(out, "a");
    assert_int_equal(json_escape(out, 1, "abc"), 0);
    assert_string_equal(out, "");
    out[0] = 'x';
    assert_int_equal(json_escape(out, 0, "abc"), 0);
    assert_int_equal(out[0], 'x'); /* nothing written */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
