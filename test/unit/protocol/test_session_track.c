#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "protocol/session_track.h"

/* Every entry in order, then the end; the entries point into the block. */
static void test_walks_every_entry(void **state)
{
    static const uint8_t block[] = {
        SESSION_TRACK_SCHEMA, 0x05, 0x04, 's', 'h', 'o', 'p',
        SESSION_TRACK_STATE_CHANGE, 0x01, '1',
        7, 0x00, /* an unknown type with empty data is still an entry */
        SESSION_TRACK_GTIDS, 0xFC, 0x02, 0x00, 0x00, 'x',
    };
    struct session_track_iter it;
    struct session_track_entry e;
    (void)state;
    session_track_begin(&it, block, sizeof block);
    assert_int_equal(session_track_next(&it, &e), 1);
    assert_int_equal(e.type, SESSION_TRACK_SCHEMA);
    assert_ptr_equal(e.data, block + 2);
    assert_int_equal(e.len, 5);
    assert_int_equal(session_track_next(&it, &e), 1);
    assert_int_equal(e.type, SESSION_TRACK_STATE_CHANGE);
    assert_memory_equal(e.data, "1", 1);
    assert_int_equal(session_track_next(&it, &e), 1);
    assert_int_equal(e.type, 7);
    assert_int_equal(e.len, 0);
    /* two-byte length (0xFC 0x0002) */
    assert_int_equal(session_track_next(&it, &e), 1);
    assert_int_equal(e.type, SESSION_TRACK_GTIDS);
    assert_ptr_equal(e.data, block + 16);
    assert_int_equal(e.len, 2);
    assert_int_equal(session_track_next(&it, &e), 0);
    assert_int_equal(session_track_next(&it, &e), 0);
}

static void test_empty_block(void **state)
{
    struct session_track_iter it;
    struct session_track_entry e;
    (void)state;
    session_track_begin(&it, NULL, 0);
    assert_int_equal(session_track_next(&it, &e), 0);
    session_track_begin(&it, (const uint8_t *)"", 0);
    assert_int_equal(session_track_next(&it, &e), 0);
}

/* Walks a copy of block[0..len) on the heap, so ASan sees any read past it.
 * Returns the last result of next (0 or -1) and counts the entries. */
static int walk(const uint8_t *block, size_t len, int *entries)
{
    uint8_t *copy = malloc(len ? len : 1);
    struct session_track_iter it;
    struct session_track_entry e;
    int rc;

    assert_non_null(copy);
    memcpy(copy, block, len);
    *entries = 0;
    session_track_begin(&it, copy, len);
    while ((rc = session_track_next(&it, &e)) == 1) {
        assert_true(e.data >= copy && e.data + e.len <= copy + len);
        (*entries)++;
    }
    /* an error is sticky: asking again never moves on */
    if (rc < 0)
        assert_int_equal(session_track_next(&it, &e), -1);
    free(copy);
    return rc;
}

static void test_malformed_lengths(void **state)
{
    static const uint8_t good[] = {SESSION_TRACK_SCHEMA, 0x05, 0x04, 's', 'h', 'o', 'p',
                                   SESSION_TRACK_SYSTEM_VARIABLES, 0xFC, 0x03, 0x00, 1, 'a', 0};
    static const struct {
        const char *what;
        uint8_t b[12];
        size_t len;
    } bad[] = {
        {"type without a length", {SESSION_TRACK_SCHEMA}, 1},
        {"length past the block", {SESSION_TRACK_SCHEMA, 0x09, 's', 'h'}, 4},
        {"0xFF is no length", {SESSION_TRACK_SCHEMA, 0xFF, 0}, 3},
        {"0xFB (NULL) is no length", {SESSION_TRACK_SCHEMA, 0xFB, 0}, 3},
        {"two-byte length cut", {SESSION_TRACK_SCHEMA, 0xFC, 0x01}, 3},
        {"eight-byte length cut", {SESSION_TRACK_SCHEMA, 0xFE, 1, 0, 0, 0}, 6},
        {"eight-byte length beyond any size",
         {SESSION_TRACK_SCHEMA, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 'x'}, 11},
    };
    int entries;
    (void)state;
    assert_int_equal(walk(good, sizeof good, &entries), 0);
    assert_int_equal(entries, 2);
    /* every cut inside the second entry breaks it; the first still comes out */
    for (size_t cut = 8; cut < sizeof good; cut++) {
        assert_int_equal(walk(good, cut, &entries), -1);
        assert_int_equal(entries, 1);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        print_message("%s\n", bad[i].what);
        assert_int_equal(walk(bad[i].b, bad[i].len, &entries), -1);
        assert_int_equal(entries, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walks_every_entry),
        cmocka_unit_test(test_empty_block),
        cmocka_unit_test(test_malformed_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
