#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "protocol/packet.h"

#define CAPS41 (CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS)

static void test_fixed_ints(void **state)
{
    uint8_t b[8];
    (void)state;
    write_u16(b, 0xBEEF);
    assert_int_equal(read_u16(b), 0xBEEF);
    write_u24(b, 0xABCDEF);
    assert_int_equal(read_u24(b), 0xABCDEF);
    write_u32(b, 0xDEADBEEF);
    assert_int_equal(read_u32(b), 0xDEADBEEF);
    assert_int_equal(b[0], 0xEF);
    const uint8_t q[8] = {1, 2, 3, 4, 5, 6, 7, 0x80};
    assert_true(read_u64(q) == 0x8007060504030201ull);
    packet_write_header(b, 0x123456, 7);
    assert_int_equal(packet_payload_len(b), 0x123456);
    assert_int_equal(packet_seq(b), 7);
}

static void check_lenenc(uint64_t v, size_t want_size)
{
    uint8_t b[9];
    uint64_t out = 0;
    bool is_null = true;

    assert_int_equal(lenenc_int_size(v), want_size);
    assert_int_equal(lenenc_int_write(b, sizeof(b), v), want_size);
    assert_int_equal(lenenc_int_write(b, want_size - 1, v), 0);
    assert_int_equal(lenenc_int_read(b, want_size, &out, &is_null), want_size);
    assert_false(is_null);
    assert_true(out == v);
    /* truncated by one byte */
    assert_int_equal(lenenc_int_read(b, want_size - 1, &out, NULL), 0);
}

static void test_lenenc_edges(void **state)
{
    (void)state;
    check_lenenc(0, 1);
    check_lenenc(250, 1);
    check_lenenc(251, 3);
    check_lenenc(0xFFFF, 3);
    check_lenenc(0x10000, 4);
    check_lenenc(0xFFFFFF, 4);
    check_lenenc(0x1000000, 9);
    check_lenenc(UINT64_MAX, 9);
}

static void test_lenenc_special(void **state)
{
    uint64_t v;
    bool is_null = false;
    const uint8_t null_b[] = {0xFB}, bad[] = {0xFF, 0, 0};
    (void)state;
    assert_int_equal(lenenc_int_read(null_b, 1, &v, &is_null), 0);
    assert_true(is_null);
    assert_int_equal(lenenc_int_read(bad, 3, &v, &is_null), 0);
    assert_false(is_null);
    assert_int_equal(lenenc_int_read(bad, 0, &v, NULL), 0);
}

static void test_lenenc_str(void **state)
{
    const uint8_t s[] = {3, 'a', 'b', 'c', 'x'};
    const uint8_t *str;
    uint64_t n;
    (void)state;
    assert_int_equal(lenenc_str_read(s, sizeof(s), &str, &n), 4);
    assert_int_equal(n, 3);
    assert_memory_equal(str, "abc", 3);
    assert_int_equal(lenenc_str_read(s, 3, &str, &n), 0);
    const uint8_t empty[] = {0};
    assert_int_equal(lenenc_str_read(empty, 1, &str, &n), 1);
    assert_int_equal(n, 0);
    /* length that would wrap when added to the position */
    const uint8_t huge[] = {0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 'a'};
    assert_int_equal(lenenc_str_read(huge, sizeof(huge), &str, &n), 0);
}

static void test_ok_roundtrip(void **state)
{
    uint8_t buf[64];
    struct ok_packet ok;
    (void)state;
    size_t n = ok_packet_build(buf, sizeof(buf), 2, CAPS41, 300, 0x1000000, 0x0003, 5);
    assert_int_equal(n, 4 + 1 + 3 + 9 + 4);
    assert_int_equal(packet_payload_len(buf), n - 4);
    assert_int_equal(packet_seq(buf), 2);
    assert_int_equal(ok_packet_parse(buf + 4, n - 4, CAPS41, &ok), 0);
    assert_true(ok.affected_rows == 300);
    assert_true(ok.last_insert_id == 0x1000000);
    assert_int_equal(ok.status, 3);
    assert_int_equal(ok.warnings, 5);
    assert_int_equal(ok.info_len, 0);
    assert_null(ok.session_state);
    /* the same packet parses under session tracking (info omitted) */
    assert_int_equal(ok_packet_parse(buf + 4, n - 4, CAPS41 | CLIENT_SESSION_TRACK, &ok), 0);
    assert_int_equal(ok.status, 3);
    assert_int_equal(ok_packet_build(buf, n - 1, 2, CAPS41, 300, 0x1000000, 3, 5), 0);
    /* truncated */
    for (size_t cut = 0; cut < n - 4; cut++)
        assert_int_equal(ok_packet_parse(buf + 4, cut, CAPS41, &ok), -1);
}

static void test_ok_info_and_session_state(void **state)
{
    const uint8_t plain[] = {0x00, 1, 0, 0x02, 0x00, 0, 0, 'R', 'o', 'w', 's'};
    const uint8_t tracked[] = {0xFE, 0, 0, 0x02, 0x40, 0, 0, 2, 'h', 'i', 4, 1, 2, 'a', 'b'};
    struct ok_packet ok;
    (void)state;
    assert_int_equal(ok_packet_parse(plain, sizeof(plain), CAPS41, &ok), 0);
    assert_int_equal(ok.info_len, 4);
    assert_memory_equal(ok.info, "Rows", 4);
    assert_int_equal(ok_packet_parse(tracked, sizeof(tracked), CAPS41 | CLIENT_SESSION_TRACK, &ok), 0);
    assert_int_equal(ok.status, 0x4002);
    assert_int_equal(ok.info_len, 2);
    assert_memory_equal(ok.info, "hi", 2);
    assert_int_equal(ok.session_state_len, 4);
    assert_memory_equal(ok.session_state, "\x01\x02" "ab", 4);
    /* session-state block claims more than is there */
    assert_int_equal(ok_packet_parse(tracked, sizeof(tracked) - 1, CAPS41 | CLIENT_SESSION_TRACK, &ok), -1);
    const uint8_t wrong[] = {0x01, 0, 0, 0, 0, 0, 0};
    assert_int_equal(ok_packet_parse(wrong, sizeof(wrong), CAPS41, &ok), -1);
}

static void test_err_roundtrip(void **state)
{
    uint8_t buf[64];
    struct err_packet err;
    (void)state;
    size_t n = err_packet_build(buf, sizeof(buf), 1, 1045, "28000", "Access denied");
    assert_int_equal(n, 4 + 9 + 13);
    assert_int_equal(err_packet_parse(buf + 4, n - 4, &err), 0);
    assert_int_equal(err.code, 1045);
    assert_string_equal(err.sqlstate, "28000");
    assert_int_equal(err.message_len, 13);
    assert_memory_equal(err.message, "Access denied", 13);
    /* message cut to the buffer */
    n = err_packet_build(buf, 20, 1, 1105, "HY000", "a long message that does not fit");
    assert_int_equal(n, 20);
    assert_int_equal(err_packet_parse(buf + 4, n - 4, &err), 0);
    assert_int_equal(err.message_len, 7);
    assert_int_equal(err_packet_build(buf, 12, 1, 1105, "HY000", "x"), 0);
    /* a bad sqlstate argument falls back to HY000 */
    n = err_packet_build(buf, sizeof(buf), 1, 1105, "X", "m");
    assert_int_equal(err_packet_parse(buf + 4, n - 4, &err), 0);
    assert_string_equal(err.sqlstate, "HY000");
}

static void test_err_without_sqlstate(void **state)
{
    const uint8_t p[] = {0xFF, 0x10, 0x04, 'T', 'o', 'o'};
    const uint8_t cut[] = {0xFF, 0x10, 0x04, '#', '2', '8'};
    struct err_packet err;
    (void)state;
    assert_int_equal(err_packet_parse(p, sizeof(p), &err), 0);
    assert_int_equal(err.code, 1040);
    assert_string_equal(err.sqlstate, "HY000");
    assert_int_equal(err.message_len, 3);
    assert_int_equal(err_packet_parse(cut, sizeof(cut), &err), -1);
    assert_int_equal(err_packet_parse(p, 2, &err), -1);
}

static void test_eof_roundtrip(void **state)
{
    uint8_t buf[16];
    uint16_t w = 0, s = 0;
    (void)state;
    size_t n = eof_packet_build(buf, sizeof(buf), 5, 2, SERVER_MORE_RESULTS_EXISTS);
    assert_int_equal(n, 9);
    assert_true(packet_is_eof(buf + 4, 5));
    assert_int_equal(eof_packet_parse(buf + 4, 5, &w, &s), 0);
    assert_int_equal(w, 2);
    assert_int_equal(s, SERVER_MORE_RESULTS_EXISTS);
    assert_int_equal(eof_packet_parse(buf + 4, 3, &w, &s), -1);
    uint8_t big[9] = {0xFE};
    assert_false(packet_is_eof(big, 9));
    assert_false(packet_is_eof(big, 0));
    assert_int_equal(eof_packet_build(buf, 8, 0, 0, 0), 0);
}

static void test_logical_span_simple(void **state)
{
    const uint8_t b[] = {3, 0, 0, 0, 'a', 'b', 'c', 1, 0, 0, 1, 'x'};
    size_t wire, payload;
    (void)state;
    assert_int_equal(logical_packet_span(b, sizeof(b), &wire, &payload), 1);
    assert_int_equal(wire, 7);
    assert_int_equal(payload, 3);
    assert_int_equal(logical_packet_span(b, 6, &wire, &payload), 0);
    assert_int_equal(logical_packet_span(b, 3, &wire, &payload), 0);
}

/* Two physical packets: 0xFFFFFF bytes, then `tail` bytes. */
static void test_logical_span_split(void **state)
{
    const size_t tail = 10, total = 4 + PACKET_MAX_PAYLOAD + 4 + tail;
    uint8_t *b = malloc(total + 5), *out = malloc(PACKET_MAX_PAYLOAD + tail);
    size_t wire, payload;
    (void)state;
    memset(b, 'r', total + 5);
    packet_write_header(b, PACKET_MAX_PAYLOAD, 0);
    packet_write_header(b + 4 + PACKET_MAX_PAYLOAD, (uint32_t)tail, 1);
    b[4] = 'A';
    b[4 + PACKET_MAX_PAYLOAD + 4] = 'B';
    assert_int_equal(logical_packet_span(b, total - 1, &wire, &payload), 0);
    assert_int_equal(logical_packet_span(b, 4 + PACKET_MAX_PAYLOAD, &wire, &payload), 0);
    assert_int_equal(logical_packet_span(b, total + 5, &wire, &payload), 1);
    assert_int_equal(wire, total);
    assert_int_equal(payload, PACKET_MAX_PAYLOAD + tail);
    logical_packet_gather(b, wire, out);
    assert_int_equal(out[0], 'A');
    assert_int_equal(out[PACKET_MAX_PAYLOAD], 'B');
    assert_int_equal(out[PACKET_MAX_PAYLOAD + tail - 1], 'r');
    /* exactly 0xFFFFFF bytes: an empty packet ends the chain */
    packet_write_header(b + 4 + PACKET_MAX_PAYLOAD, 0, 1);
    assert_int_equal(logical_packet_span(b, total, &wire, &payload), 1);
    assert_int_equal(wire, 8 + PACKET_MAX_PAYLOAD);
    assert_int_equal(payload, PACKET_MAX_PAYLOAD);
    free(b);
    free(out);
}

/* What arrived so far announces: the proxy refuses too large a command and
 * sizes its buffer from this before the packet is complete. */
static void test_logical_announced(void **state)
{
    uint8_t b[4 + 8 + 4] = {0};
    size_t announced, need;
    (void)state;
    assert_int_equal(logical_packet_announced(b, 3, &announced, &need), 0);
    packet_write_header(b, 8, 0);
    assert_int_equal(logical_packet_announced(b, 4, &announced, &need), 1);
    assert_int_equal(announced, 8);
    assert_int_equal(need, 12);
    /* a full chunk announces more to come: the next header is needed */
    packet_write_header(b, PACKET_MAX_PAYLOAD, 0);
    assert_int_equal(logical_packet_announced(b, 6, &announced, &need), 1);
    assert_int_equal(announced, PACKET_MAX_PAYLOAD);
    assert_int_equal(need, 4 + PACKET_MAX_PAYLOAD);
    const size_t first = 4 + PACKET_MAX_PAYLOAD;
    uint8_t *big = calloc(1, first + 4);
    packet_write_header(big, PACKET_MAX_PAYLOAD, 0);
    assert_int_equal(logical_packet_announced(big, first, &announced, &need), 1);
    assert_int_equal(announced, PACKET_MAX_PAYLOAD);
    assert_int_equal(need, first + 4);
    packet_write_header(big + first, PACKET_MAX_PAYLOAD, 1);
    assert_int_equal(logical_packet_announced(big, first + 4, &announced, &need), 1);
    assert_int_equal(announced, 2 * (size_t)PACKET_MAX_PAYLOAD);
    assert_int_equal(need, 2 * first);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_ints),
        cmocka_unit_test(test_lenenc_edges),
        cmocka_unit_test(test_lenenc_special),
        cmocka_unit_test(test_lenenc_str),
        cmocka_unit_test(test_ok_roundtrip),
        cmocka_unit_test(test_ok_info_and_session_state),
        cmocka_unit_test(test_err_roundtrip),
        cmocka_unit_test(test_err_without_sqlstate),
        cmocka_unit_test(test_eof_roundtrip),
        cmocka_unit_test(test_logical_span_simple),
        cmocka_unit_test(test_logical_span_split),
        cmocka_unit_test(test_logical_announced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
