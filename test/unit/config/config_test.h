/* Shared helpers for the config tests: write an INI text to a temp file,
 * load it, and look for an error at a given FILE:LINE. */
#ifndef SY_TEST_CONFIG_TEST_H
#define SY_TEST_CONFIG_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"

/* proxy_config is ~80 KB: keep it off the test stack. */
static struct proxy_config cfg;
static struct config_errors errs;
static char path[64];

/* Loads text from a fresh temp file (removed afterwards; path stays set for
 * building expected messages). */
static inline int load_text(const char *text)
{
    strcpy(path, "/tmp/sy_config_test_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    int rc = config_load(path, &cfg, &errs);
    unlink(path);
    return rc;
}

static inline void print_errors(void)
{
    for (size_t i = 0; i < errs.count; i++)
        print_message("  error: %s\n", errs.msg[i]);
}

/* True if some error starts with "FILE:LINE: " ("FILE: " for line 0) and
 * contains want. */
static inline int has_error(int line, const char *want)
{
    char prefix[96];
    if (line > 0)
        snprintf(prefix, sizeof prefix, "%s:%d: ", path, line);
    else
        snprintf(prefix, sizeof prefix, "%s: ", path);
    for (size_t i = 0; i < errs.count; i++)
        if (strncmp(errs.msg[i], prefix, strlen(prefix)) == 0 && strstr(errs.msg[i], want))
            return 1;
    return 0;
}

static inline void expect_error(int line, const char *want)
{
    if (!has_error(line, want)) {
        print_errors();
        fail_msg("no error at line %d containing \"%s\"", line, want);
    }
}

static inline void expect_valid(const char *text)
{
    int rc = load_text(text);
    if (rc != 0) {
        print_errors();
        fail_msg("expected a valid file");
    }
}

#endif
