#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "protocol/handshake.h"
#include "protocol/packet.h"
#include "protocol/result_tracker.h"
#include "protocol/resultset.h"

#define CAPS (CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS | CLIENT_MULTI_RESULTS)
#define CAPS_DE (CAPS | CLIENT_DEPRECATE_EOF)
#define STATUS (SERVER_STATUS_AUTOCOMMIT | SERVER_STATUS_IN_TRANS)

static char long_value[300]; /* needs a 3-byte length prefix */

static const char *const COLUMNS[] = {"name", "value"};

/* Two columns, three rows: a NULL, an empty string and a 299-byte value. */
static size_t build(uint8_t *buf, size_t cap, uint64_t caps, bool *overflow)
{
    const char *const rows[3][2] = {{"a", "1"}, {"b", NULL}, {"", long_value}};
    struct resultset_writer w;

    memset(long_value, 'x', sizeof(long_value) - 1);
    resultset_begin(&w, buf, cap, 1, caps, 2);
    for (unsigned i = 0; i < 2; i++)
        resultset_column(&w, COLUMNS[i]);
    resultset_columns_end(&w);
    for (unsigned i = 0; i < 3; i++)
        resultset_row(&w, rows[i], 2);
    resultset_end(&w, STATUS);
    *overflow = w.overflow;
    return w.len;
}

/* Reads packet after packet, checking each sequence id. */
struct cursor {
    const uint8_t *buf;
    size_t len, pos;
    uint8_t seq;
};

static const uint8_t *next_packet(struct cursor *c, size_t *n)
{
    assert_true(c->len - c->pos >= PACKET_HEADER_LEN);
    *n = packet_payload_len(c->buf + c->pos);
    assert_int_equal(packet_seq(c->buf + c->pos), c->seq++);
    assert_true(c->len - c->pos - PACKET_HEADER_LEN >= *n);
    c->pos += PACKET_HEADER_LEN + *n;
    return c->buf + c->pos - *n;
}

static size_t expect_str(const uint8_t *p, size_t len, const char *want)
{
    const uint8_t *s;
    uint64_t n;
    size_t used = lenenc_str_read(p, len, &s, &n);
    assert_true(used > 0);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(s, want, n);
    return used;
}

/* With MariaDB's extended metadata an empty type-info string follows org_name. */
static void check_column(const uint8_t *p, size_t n, const char *name, uint64_t caps)
{
    static const uint8_t fixed[] = {0x0c, 45, 0, 0x00, 0x10, 0, 0, 0xFD, 0, 0, 0, 0, 0};
    const char *const strs[] = {"def", "", "", "", name, name, ""};
    unsigned nstrs = (caps & MARIADB_CLIENT_EXTENDED_METADATA) ? 7 : 6;
    size_t pos = 0;

    for (unsigned i = 0; i < nstrs; i++)
        pos += expect_str(p + pos, n - pos, strs[i]);
    assert_int_equal(n - pos, sizeof(fixed));
    assert_memory_equal(p + pos, fixed, sizeof(fixed));
}

static void check_row(const uint8_t *p, size_t n, const char *a, const char *b)
{
    size_t pos = expect_str(p, n, a);
    if (b)
        pos += expect_str(p + pos, n - pos, b);
    else
        assert_int_equal(p[pos++], 0xFB);
    assert_int_equal(pos, n);
}

static void check_eof(const uint8_t *p, size_t n, uint16_t status)
{
    uint16_t warnings, st;
    assert_int_equal(eof_packet_parse(p, n, &warnings, &st), 0);
    assert_int_equal(n, 5);
    assert_int_equal(warnings, 0);
    assert_int_equal(st, status);
}

static void check_parsed(const uint8_t *buf, size_t len, uint64_t caps)
{
    struct cursor c = {buf, len, 0, 1};
    struct ok_packet ok;
    const uint8_t *p;
    size_t n;

    p = next_packet(&c, &n);
    assert_int_equal(n, 1);
    assert_int_equal(p[0], 2);
    for (unsigned i = 0; i < 2; i++) {
        p = next_packet(&c, &n);
        check_column(p, n, COLUMNS[i], caps);
    }
    if (!(caps & CLIENT_DEPRECATE_EOF)) {
        p = next_packet(&c, &n);
        check_eof(p, n, 0);
    }
    p = next_packet(&c, &n);
    check_row(p, n, "a", "1");
    p = next_packet(&c, &n);
    check_row(p, n, "b", NULL);
    p = next_packet(&c, &n);
    check_row(p, n, "", long_value);
    p = next_packet(&c, &n);
    if (caps & CLIENT_DEPRECATE_EOF) {
        assert_int_equal(p[0], 0xFE);
        assert_int_equal(ok_packet_parse(p, n, (uint32_t)caps, &ok), 0);
        assert_int_equal(ok.affected_rows, 0);
        assert_int_equal(ok.last_insert_id, 0);
        assert_int_equal(ok.status, STATUS);
        assert_int_equal(ok.warnings, 0);
    } else {
        check_eof(p, n, STATUS);
    }
    assert_int_equal(c.pos, len);
}

/* The result tracker, as the proxy's clients would, must find the end
 * exactly at the last byte, with the final status. */
static void check_tracked(const uint8_t *buf, size_t len, uint64_t caps, uint8_t last_seq)
{
    static struct result_tracker rt;
    enum rt_status st;

    result_tracker_start(&rt, COM_QUERY, caps);
    assert_int_equal(result_tracker_consume(&rt, buf, len, &st), len);
    assert_int_equal(st, RT_DONE);
    assert_true(rt.saw_status);
    assert_false(rt.is_error);
    assert_int_equal(rt.status, STATUS);
    assert_int_equal(rt.result_sets, 1);
    assert_int_equal(rt.last_seq, last_seq);
}

static void run_variant(uint64_t caps, unsigned npackets)
{
    uint8_t buf[1024];
    bool overflow;
    size_t len = build(buf, sizeof(buf), caps, &overflow);

    assert_false(overflow);
    check_parsed(buf, len, caps);
    check_tracked(buf, len, caps, (uint8_t)npackets);
}

static void test_classic_eof(void **state)
{
    (void)state;
    /* count, 2 columns, EOF, 3 rows, EOF; first seq 1 */
    run_variant(CAPS, 8);
}

static void test_deprecate_eof(void **state)
{
    (void)state;
    run_variant(CAPS_DE, 7);
    run_variant(CAPS_DE | CLIENT_SESSION_TRACK, 7);
}

static void test_extended_metadata(void **state)
{
    (void)state;
    run_variant(CAPS | MARIADB_CLIENT_EXTENDED_METADATA, 8);
    run_variant(CAPS_DE | MARIADB_CLIENT_EXTENDED_METADATA, 7);
}

/* Every buffer shorter than the result set overflows, the exact size does not. */
static void test_overflow(void **state)
{
    uint8_t buf[1024];
    const uint32_t variants[] = {CAPS, CAPS_DE};
    bool overflow;
    (void)state;

    for (unsigned v = 0; v < 2; v++) {
        size_t len = build(buf, sizeof(buf), variants[v], &overflow);
        assert_false(overflow);
        for (size_t cap = 0; cap < len; cap++) {
            assert_true(build(buf, cap, variants[v], &overflow) <= cap);
            assert_true(overflow);
        }
        assert_int_equal(build(buf, len, variants[v], &overflow), len);
        assert_false(overflow);
    }
}

/* Sequence ids wrap around from 255 to 0. */
static void test_seq_wrap(void **state)
{
    uint8_t buf[64];
    struct resultset_writer w;
    static struct result_tracker rt;
    enum rt_status st;
    (void)state;

    resultset_begin(&w, buf, sizeof(buf), 255, CAPS, 1);
    resultset_column(&w, "c");
    resultset_columns_end(&w);
    resultset_end(&w, SERVER_STATUS_AUTOCOMMIT);
    assert_false(w.overflow);
    assert_int_equal(packet_seq(buf), 255);
    assert_int_equal(w.seq, 3);
    result_tracker_start(&rt, COM_QUERY, CAPS);
    assert_int_equal(result_tracker_consume(&rt, buf, w.len, &st), w.len);
    assert_int_equal(st, RT_DONE);
    assert_int_equal(rt.status, SERVER_STATUS_AUTOCOMMIT);
    assert_int_equal(rt.last_seq, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classic_eof),
        cmocka_unit_test(test_deprecate_eof),
        cmocka_unit_test(test_extended_metadata),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_seq_wrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
