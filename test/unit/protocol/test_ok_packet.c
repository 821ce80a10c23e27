#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "protocol/ok_packet.h"
#include "protocol/packet.h"

/* An OK packet as MariaDB sends it with session tracking: affected 3,
 * insert id 7, status IN_TRANS | STATE_CHANGED, 1 warning, info, and a
 * session-state block (last_gtid = 0-1-5). */
static const uint8_t tracked[] = {
    0x00, 0x03, 0x07, 0x01, 0x40, 0x01, 0x00,
    0x05, 'h', 'e', 'l', 'l', 'o',
    0x10, 0x00, 0x0e, 0x09, 'l', 'a', 's', 't', '_', 'g', 't', 'i', 'd', 0x05,
    '0', '-', '1', '-', '5',
};

static size_t packet_of(uint8_t *buf, const uint8_t *payload, size_t n, uint8_t seq)
{
    packet_write_header(buf, (uint32_t)n, seq);
    memcpy(buf + PACKET_HEADER_LEN, payload, n);
    return PACKET_HEADER_LEN + n;
}

/* MariaDB keeps the info length-encoded for every client. */
static void test_untrack_mariadb_keeps_lenenc_info(void **state)
{
    (void)state;
    uint8_t in[64], out[64];
    size_t n = packet_of(in, tracked, sizeof tracked, 3);
    size_t m = ok_packet_untrack(in, n, true, out, sizeof out);
    static const uint8_t want[] = {0x00, 0x03, 0x07, 0x01, 0x00, 0x01, 0x00,
                                   0x05, 'h',  'e',  'l',  'l',  'o'};
    assert_int_equal(m, PACKET_HEADER_LEN + sizeof want);
    assert_int_equal(packet_seq(out), 3);
    assert_memory_equal(out + PACKET_HEADER_LEN, want, sizeof want);
}

/* MySQL sends it plain, to the end of the packet. */
static void test_untrack_mysql_plain_info(void **state)
{
    (void)state;
    uint8_t in[64], out[64];
    size_t n = packet_of(in, tracked, sizeof tracked, 3);
    size_t m = ok_packet_untrack(in, n, false, out, sizeof out);
    static const uint8_t want[] = {0x00, 0x03, 0x07, 0x01, 0x00, 0x01, 0x00,
                                   'h',  'e',  'l',  'l',  'o'};
    assert_int_equal(m, PACKET_HEADER_LEN + sizeof want);
    assert_int_equal(packet_payload_len(out), sizeof want);
    assert_int_equal(packet_seq(out), 3);
    assert_memory_equal(out + PACKET_HEADER_LEN, want, sizeof want);

    struct ok_packet ok;
    assert_int_equal(ok_packet_parse(out + PACKET_HEADER_LEN, sizeof want, CLIENT_PROTOCOL_41, &ok),
                     0);
    assert_int_equal(ok.affected_rows, 3);
    assert_int_equal(ok.last_insert_id, 7);
    assert_int_equal(ok.status, SERVER_STATUS_IN_TRANS);
    assert_int_equal(ok.warnings, 1);
    assert_int_equal(ok.info_len, 5);
}

static void test_untrack_in_place(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t n = packet_of(buf, tracked, sizeof tracked, 9);
    size_t m = ok_packet_untrack(buf, n, true, buf, n);
    assert_true(m > 0 && m < n);
    assert_int_equal(packet_seq(buf), 9);
    assert_memory_equal(buf + PACKET_HEADER_LEN + 7, "\x05hello", 6);
}

/* A short OK (nothing after warnings) and the 0xFE OK that ends a result set
 * under CLIENT_DEPRECATE_EOF keep their first byte and fields. */
static void test_untrack_short_and_eof_ok(void **state)
{
    (void)state;
    static const uint8_t shortok[] = {0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00};
    static const uint8_t feok[] = {0xFE, 0x00, 0x00, 0x22, 0x40, 0x00, 0x00, 0x00, 0x03,
                                   0x00, 0x01, 0x30};
    uint8_t in[64], out[64];
    size_t n = packet_of(in, shortok, sizeof shortok, 1);
    assert_int_equal(ok_packet_untrack(in, n, true, out, sizeof out), n);
    assert_memory_equal(out, in, n);

    n = packet_of(in, feok, sizeof feok, 5);
    size_t m = ok_packet_untrack(in, n, false, out, sizeof out);
    assert_int_equal(m, PACKET_HEADER_LEN + 7);
    assert_int_equal(out[PACKET_HEADER_LEN], 0xFE);
    assert_int_equal(read_u16(out + PACKET_HEADER_LEN + 3), 0x0022);
}

static void test_untrack_refuses_malformed(void **state)
{
    (void)state;
    uint8_t in[64], out[64];
    static const uint8_t bad[] = {0x00, 0x01, 0x00, 0x02, 0x40, 0x00, 0x00, 0x09, 'x'};
    size_t n = packet_of(in, bad, sizeof bad, 1);
    assert_int_equal(ok_packet_untrack(in, n, true, out, sizeof out), 0);
    n = packet_of(in, tracked, sizeof tracked, 1);
    assert_int_equal(ok_packet_untrack(in, n - 1, true, out, sizeof out), 0); /* length disagrees */
    assert_int_equal(ok_packet_untrack(in, n, true, out, 8), 0);               /* no room */
}

static void test_eof_untrack_clears_flag(void **state)
{
    (void)state;
    uint8_t eof[] = {0xFE, 0x00, 0x00, 0x0a, 0x40};
    eof_packet_untrack(eof, sizeof eof);
    assert_int_equal(read_u16(eof + 3), 0x000a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_untrack_mariadb_keeps_lenenc_info),
        cmocka_unit_test(test_untrack_mysql_plain_info),
        cmocka_unit_test(test_untrack_in_place),
        cmocka_unit_test(test_untrack_short_and_eof_ok),
        cmocka_unit_test(test_untrack_refuses_malformed),
        cmocka_unit_test(test_eof_untrack_clears_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
