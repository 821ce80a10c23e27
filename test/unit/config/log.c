/* proxy/log.c output: text lines with control characters escaped, JSON one
 * object per line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proxy/log.h"

static char captured[4096];

/* Runs one log call with stderr sent to a temp file, and reads it back. */
#define CAPTURE(call)                                                                          \
    do {                                                                                       \
        char tmp[] = "/tmp/sy_log_test_XXXXXX";                                                \
        int fd = mkstemp(tmp);                                                                 \
        assert_true(fd >= 0);                                                                  \
        fflush(stderr);                                                                        \
        int saved = dup(STDERR_FILENO);                                                        \
        dup2(fd, STDERR_FILENO);                                                               \
        call;                                                                                  \
        fflush(stderr);                                                                        \
        dup2(saved, STDERR_FILENO);                                                            \
        close(saved);                                                                          \
        ssize_t n = pread(fd, captured, sizeof captured - 1, 0);                               \
        captured[n > 0 ? n : 0] = '\0';                                                        \
        close(fd);                                                                             \
        unlink(tmp);                                                                           \
    } while (0)

/* "2026-01-02T03:04:05.678Z": checks the shape, not the time. */
static void expect_timestamp(const char *s)
{
    const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ";
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != shape[i])
            fail_msg("bad timestamp in '%s'", captured);
}

static void test_text(void **state)
{
    (void)state;
    log_set_format(LOG_FORMAT_TEXT);
    log_set_level(LOG_INFO);
    CAPTURE(log_warn("backend %s is %s", "db1", "DOWN"));
    expect_timestamp(captured);
    assert_string_equal(captured + 24, " WARN  backend db1 is DOWN\n");
}

static void test_json(void **state)
{
    (void)state;
    log_set_format(LOG_FORMAT_JSON);
    log_set_level(LOG_INFO);
    CAPTURE(log_info("query \"%s\"\n\x01 \\", "x"));
    assert_int_equal(strncmp(captured, "{\"ts\":\"", 7), 0);
    expect_timestamp(captured + 7);
    assert_string_equal(captured + 31,
                        "\",\"level\":\"info\",\"msg\":\"query \\\"x\\\"\\n\\u0001 \\\\\"}\n");
    log_set_format(LOG_FORMAT_TEXT);
}

static void test_level_filter(void **state)
{
    (void)state;
    log_set_format(LOG_FORMAT_JSON);
    log_set_level(LOG_ERROR);
    CAPTURE(log_warn("hidden"));
    assert_string_equal(captured, "");
    CAPTURE(log_error("shown"));
    assert_non_null(strstr(captured, "\"level\":\"error\",\"msg\":\"shown\"}\n"));
    log_set_level(LOG_INFO);
    log_set_format(LOG_FORMAT_TEXT);
}

/* A message longer than the buffer is cut, and the line is still one JSON
 * object. */
static void test_json_long(void **state)
{
    (void)state;
    char big[3000];
    memset(big, '"', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    log_set_format(LOG_FORMAT_JSON);
    CAPTURE(log_info("%s", big));
    size_t len = strlen(captured);
    assert_true(len > 1000);
    assert_string_equal(captured + len - 5, "\\\"\"}\n"); /* ends with an escaped quote */
    log_set_format(LOG_FORMAT_TEXT);
}

/* A client-supplied string with a newline cannot forge a second line. */
static void test_text_escapes_controls(void **state)
{
    (void)state;
    log_set_format(LOG_FORMAT_TEXT);
    log_set_level(LOG_INFO);
    CAPTURE(log_info("access denied for user '%s'", "bob\n2026-01-01T00:00:00.000Z INFO  FAKE\r\x1b[2J\x7f\t"));
    expect_timestamp(captured);
    assert_string_equal(captured + 24, " INFO  access denied for user "
                                       "'bob\\n2026-01-01T00:00:00.000Z INFO  FAKE\\r\\x1b[2J\\x7f\\t'\n");
}

static void test_escape_controls_cut(void **state)
{
    (void)state;
    char out[8];
    assert_int_equal(log_escape_controls(out, sizeof out, "ab\x01\x02"), 6);
    assert_string_equal(out, "ab\\x01");
    assert_int_equal(log_escape_controls(out, sizeof out, "abcdef\n"), 6);
    assert_string_equal(out, "abcdef"); /* never half an escape */
    assert_int_equal(log_escape_controls(out, sizeof out, "caf\xc3\xa9"), 5);
    assert_string_equal(out, "caf\xc3\xa9"); /* UTF-8 passes unchanged */
    assert_int_equal(log_escape_controls(out, 0, "x"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_level_filter),
        cmocka_unit_test(test_json_long),
        cmocka_unit_test(test_text_escapes_controls),
        cmocka_unit_test(test_escape_controls_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
