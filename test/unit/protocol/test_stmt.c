#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "protocol/packet.h"
#include "protocol/stmt.h"

#define MYSQL_TYPE_LONG 0x03
#define MYSQL_TYPE_VAR_STRING 0xFD

/* Execute of statement 7 with 3 parameters (LONG 42, NULL, 'hi'), types bound. */
static const uint8_t BOUND[] = {
    0x17, 0x07, 0x00, 0x00, 0x00, /* command, stmt id */
    CURSOR_TYPE_READ_ONLY,        /* flags */
    0x01, 0x00, 0x00, 0x00,       /* iterations */
    0x02,                         /* NULL bitmap: parameter 1 */
    0x01,                         /* new_params_bound */
    MYSQL_TYPE_LONG, 0x00, MYSQL_TYPE_VAR_STRING, 0x00, MYSQL_TYPE_VAR_STRING, 0x00,
    0x2a, 0x00, 0x00, 0x00, 0x02, 'h', 'i', /* values */
};
#define BOUND_FIXED 10
#define BOUND_TYPES_AT 12

/* The same execute sent again without types. */
static const uint8_t UNBOUND[] = {
    0x17, 0x07, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x02, 'h', 'i',
};

static void assert_same_execute(const struct stmt_execute *a, const struct stmt_execute *b)
{
    assert_int_equal(a->flags, b->flags);
    assert_int_equal(a->iterations, b->iterations);
    assert_int_equal(a->null_bitmap_len, b->null_bitmap_len);
    assert_memory_equal(a->null_bitmap, b->null_bitmap, a->null_bitmap_len);
    assert_int_equal(a->values_len, b->values_len);
    if (a->values_len)
        assert_memory_equal(a->values, b->values, a->values_len);
}

/* Builds src for stmt_id into buf and parses the result back. */
static void rebuild(uint8_t *buf, size_t cap, uint32_t stmt_id, const struct stmt_execute *src,
                    const uint8_t *types, size_t types_len, uint16_t num_params,
                    struct stmt_execute *out)
{
    size_t n = stmt_execute_build(buf, cap, stmt_id, src, types, types_len);

    assert_int_equal(n, stmt_execute_build_size(src, types_len));
    assert_int_equal(packet_payload_len(buf), n - PACKET_HEADER_LEN);
    assert_int_equal(packet_seq(buf), 0);
    assert_int_equal(stmt_execute_parse(buf + 4, n - 4, num_params, out), 0);
    assert_int_equal(out->stmt_id, stmt_id);
}

static void test_parse_bound(void **state)
{
    struct stmt_execute e;
    (void)state;
    assert_int_equal(stmt_execute_parse(BOUND, sizeof(BOUND), 3, &e), 0);
    assert_int_equal(e.stmt_id, 7);
    assert_int_equal(e.flags, CURSOR_TYPE_READ_ONLY);
    assert_int_equal(e.iterations, 1);
    assert_ptr_equal(e.null_bitmap, BOUND + BOUND_FIXED);
    assert_int_equal(e.null_bitmap_len, 1);
    assert_true(e.new_params_bound);
    assert_ptr_equal(e.types, BOUND + BOUND_TYPES_AT);
    assert_int_equal(e.types_len, 6);
    assert_ptr_equal(e.values, BOUND + BOUND_TYPES_AT + 6);
    assert_int_equal(e.values_len, 7);
}

static void test_rebuild_bound(void **state)
{
    uint8_t buf[64];
    struct stmt_execute e, again;
    (void)state;
    assert_int_equal(stmt_execute_parse(BOUND, sizeof(BOUND), 3, &e), 0);
    rebuild(buf, sizeof(buf), 0xA1B2C3D4, &e, e.types, e.types_len, 3, &again);
    assert_same_execute(&e, &again);
    assert_true(again.new_params_bound);
    assert_int_equal(again.types_len, e.types_len);
    assert_memory_equal(again.types, e.types, e.types_len);
    /* only the id differs from the original */
    assert_memory_equal(buf + 4 + 5, BOUND + 5, sizeof(BOUND) - 5);
    assert_memory_equal(buf + 5, "\xD4\xC3\xB2\xA1", 4);
}

/* The types saved from an earlier execute are added to one that omits them. */
static void test_rebuild_unbound_with_saved_types(void **state)
{
    uint8_t buf[64];
    struct stmt_execute e, again;
    const uint8_t *saved = BOUND + BOUND_TYPES_AT;
    (void)state;
    assert_int_equal(stmt_execute_parse(UNBOUND, sizeof(UNBOUND), 3, &e), 0);
    assert_false(e.new_params_bound);
    assert_null(e.types);
    assert_int_equal(e.types_len, 0);
    assert_int_equal(e.values_len, 7);
    rebuild(buf, sizeof(buf), 9, &e, saved, 6, 3, &again);
    assert_same_execute(&e, &again);
    assert_true(again.new_params_bound);
    assert_memory_equal(again.types, saved, 6);
    assert_int_equal(stmt_execute_build_size(&e, 6), sizeof(BOUND) + 4);
}

/* Without parameters there is no bitmap, flag or types; trailing bytes are
 * carried over unchanged. */
static void test_no_params(void **state)
{
    static const uint8_t p[] = {0x17, 1, 0, 0, 0, 0, 1, 0, 0, 0};
    uint8_t buf[32], with_tail[12];
    struct stmt_execute e, again;
    (void)state;
    assert_int_equal(stmt_execute_parse(p, sizeof(p), 0, &e), 0);
    assert_null(e.null_bitmap);
    assert_false(e.new_params_bound);
    assert_int_equal(e.values_len, 0);
    rebuild(buf, sizeof(buf), 1, &e, NULL, 0, 0, &again);
    assert_memory_equal(buf + 4, p, sizeof(p));
    assert_int_equal(packet_payload_len(buf), sizeof(p));
    memcpy(with_tail, p, sizeof(p));
    with_tail[10] = 0xAB;
    with_tail[11] = 0xCD;
    assert_int_equal(stmt_execute_parse(with_tail, sizeof(with_tail), 0, &e), 0);
    assert_int_equal(e.values_len, 2);
    rebuild(buf, sizeof(buf), 1, &e, NULL, 0, 0, &again);
    assert_memory_equal(buf + 4, with_tail, sizeof(with_tail));
}

/* Nine parameters need a two-byte bitmap. */
static void test_nine_params(void **state)
{
    uint8_t p[10 + 2 + 1 + 18 + 3] = {0x17, 5, 0, 0, 0, 0, 1, 0, 0, 0, 0xFF, 0x01, 1};
    uint8_t buf[64];
    struct stmt_execute e, again;
    (void)state;
    for (int i = 0; i < 9; i++)
        p[13 + 2 * i] = MYSQL_TYPE_LONG;
    assert_int_equal(stmt_execute_parse(p, sizeof(p), 9, &e), 0);
    assert_int_equal(e.null_bitmap_len, 2);
    assert_int_equal(e.types_len, 18);
    assert_int_equal(e.values_len, 3);
    rebuild(buf, sizeof(buf), 5, &e, e.types, e.types_len, 9, &again);
    assert_memory_equal(buf + 4, p, sizeof(p));
    /* 8 parameters would make it a one-byte bitmap: the layout shifts */
    assert_int_equal(stmt_execute_parse(p, sizeof(p), 8, &e), 0);
    assert_int_equal(e.null_bitmap_len, 1);
    assert_true(e.new_params_bound); /* any non-zero byte counts as bound */
}

static void test_parse_malformed(void **state)
{
    uint8_t bad[sizeof(BOUND)];
    struct stmt_execute e;
    (void)state;
    /* everything up to the end of the types is required */
    for (size_t cut = 0; cut < BOUND_TYPES_AT + 6; cut++)
        assert_int_equal(stmt_execute_parse(BOUND, cut, 3, &e), -1);
    for (size_t cut = BOUND_TYPES_AT + 6; cut <= sizeof(BOUND); cut++)
        assert_int_equal(stmt_execute_parse(BOUND, cut, 3, &e), 0);
    for (size_t cut = 0; cut < BOUND_FIXED + 2; cut++)
        assert_int_equal(stmt_execute_parse(UNBOUND, cut, 3, &e), -1);
    assert_int_equal(stmt_execute_parse(UNBOUND, BOUND_FIXED - 1, 0, &e), -1);
    /* too many parameters for the bytes given */
    assert_int_equal(stmt_execute_parse(BOUND, sizeof(BOUND), 100, &e), -1);
    assert_int_equal(stmt_execute_parse(BOUND, sizeof(BOUND), 65535, &e), -1);
    memcpy(bad, BOUND, sizeof(bad));
    bad[0] = COM_STMT_FETCH;
    assert_int_equal(stmt_execute_parse(bad, sizeof(bad), 3, &e), -1);
    assert_int_equal(stmt_execute_parse(NULL, 0, 0, &e), -1);
}

static void test_build_rejects(void **state)
{
    uint8_t buf[64];
    struct stmt_execute e;
    size_t size;
    (void)state;
    assert_int_equal(stmt_execute_parse(BOUND, sizeof(BOUND), 3, &e), 0);
    size = stmt_execute_build_size(&e, 6);
    for (size_t cap = 0; cap < size; cap++)
        assert_int_equal(stmt_execute_build(buf, cap, 1, &e, e.types, 6), 0);
    assert_int_equal(stmt_execute_build(buf, size, 1, &e, e.types, 6), size);
    /* types that do not fit the NULL bitmap, or none at all */
    assert_int_equal(stmt_execute_build(buf, sizeof(buf), 1, &e, e.types, 5), 0);
    assert_int_equal(stmt_execute_build(buf, sizeof(buf), 1, &e, e.types, 18), 0);
    assert_int_equal(stmt_execute_build(buf, sizeof(buf), 1, &e, NULL, 0), 0);
    assert_int_equal(stmt_execute_parse(BOUND, BOUND_FIXED, 0, &e), 0);
    assert_int_equal(stmt_execute_build(buf, sizeof(buf), 1, &e, BOUND + BOUND_TYPES_AT, 2), 0);
}

/* An execute whose payload is payload_len bytes (2 parameters, bound):
 * built split, framed back with logical_packet_span, gathered and parsed. */
static void check_split(size_t payload_len, size_t npackets)
{
    const size_t head = BOUND_FIXED + 1 + 1 + 4;
    size_t values_len = payload_len - head, wire, plen;
    uint8_t *src = malloc(payload_len), *buf, *gathered;
    struct stmt_execute e, again;
    size_t n;

    assert_non_null(src);
    memcpy(src, (const uint8_t[]){0x17, 3, 0, 0, 0, 0, 1, 0, 0, 0, 0x00, 0x01, 3, 0, 0xFD, 0}, head);
    for (size_t i = 0; i < values_len; i++)
        src[head + i] = (uint8_t)(i * 7 + i / 251);
    assert_int_equal(stmt_execute_parse(src, payload_len, 2, &e), 0);
    n = stmt_execute_build_size(&e, 4);
    assert_int_equal(n, payload_len + 4 * npackets);
    buf = malloc(n);
    gathered = malloc(payload_len);
    assert_non_null(buf);
    assert_non_null(gathered);
    assert_int_equal(stmt_execute_build(buf, n, 0x10203040, &e, e.types, 4), n);
    for (size_t i = 0, pos = 0; i < npackets; i++) {
        size_t want = i + 1 < npackets ? PACKET_MAX_PAYLOAD : payload_len % PACKET_MAX_PAYLOAD;
        assert_int_equal(packet_payload_len(buf + pos), want);
        assert_int_equal(packet_seq(buf + pos), i);
        pos += 4 + want;
    }
    assert_int_equal(logical_packet_span(buf, n, &wire, &plen), 1);
    assert_int_equal(wire, n);
    assert_int_equal(plen, payload_len);
    logical_packet_gather(buf, wire, gathered);
    assert_int_equal(stmt_execute_parse(gathered, plen, 2, &again), 0);
    assert_int_equal(again.stmt_id, 0x10203040);
    assert_same_execute(&e, &again);
    assert_memory_equal(again.types, e.types, 4);
    /* one byte short of the full size is refused */
    assert_int_equal(stmt_execute_build(buf, n - 1, 1, &e, e.types, 4), 0);
    free(src);
    free(buf);
    free(gathered);
}

static void test_split_large(void **state)
{
    (void)state;
    check_split(PACKET_MAX_PAYLOAD - 1, 1);
    check_split(PACKET_MAX_PAYLOAD, 2);          /* full packet + empty one */
    check_split(PACKET_MAX_PAYLOAD + 1000, 2);   /* > 16 MiB */
    check_split(2 * (size_t)PACKET_MAX_PAYLOAD, 3);
}

/* Bulk execute of statement 9 with 2 parameters (LONG, VAR_STRING), two
 * rows (42, 'hi') and (NULL, 'x'); types sent. */
static const uint8_t BULK_TYPED[] = {
    0xFA, 0x09, 0x00, 0x00, 0x00, /* command, stmt id */
    0x80, 0x00,                   /* flags: STMT_BULK_FLAG_CLIENT_SEND_TYPES */
    MYSQL_TYPE_LONG, 0x00, MYSQL_TYPE_VAR_STRING, 0x00,
    0x00, 0x2a, 0x00, 0x00, 0x00, 0x00, 0x02, 'h', 'i', /* row 1: indicator + value */
    0x01, 0x00, 0x01, 'x',                              /* row 2: NULL, 'x' */
};
#define BULK_ROWS_AT 11

/* The same rows, without types. */
static const uint8_t BULK_UNTYPED[] = {
    0xFA, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x2a, 0x00, 0x00, 0x00, 0x00, 0x02, 'h', 'i',
    0x01, 0x00, 0x01, 'x',
};

static void test_bulk_parse(void **state)
{
    struct stmt_bulk b;
    (void)state;
    assert_int_equal(stmt_bulk_parse(BULK_TYPED, sizeof BULK_TYPED, 2, &b), 0);
    assert_int_equal(b.stmt_id, 9);
    assert_int_equal(b.flags, STMT_BULK_FLAG_CLIENT_SEND_TYPES);
    assert_int_equal(b.types_len, 4);
    assert_memory_equal(b.types, BULK_TYPED + 7, 4);
    assert_ptr_equal(b.rows, BULK_TYPED + BULK_ROWS_AT);
    assert_int_equal(b.rows_len, sizeof BULK_TYPED - BULK_ROWS_AT);
    assert_int_equal(stmt_bulk_parse(BULK_UNTYPED, sizeof BULK_UNTYPED, 2, &b), 0);
    assert_null(b.types);
    assert_int_equal(b.rows_len, sizeof BULK_UNTYPED - 7);
    /* truncated: the fixed part, the types; another command */
    assert_int_equal(stmt_bulk_parse(BULK_TYPED, 6, 2, &b), -1);
    assert_int_equal(stmt_bulk_parse(BULK_TYPED, 10, 2, &b), -1);
    assert_int_equal(stmt_bulk_parse(BOUND, sizeof BOUND, 3, &b), -1);
}

/* Rebuilt for a backend that never saw the types: its id, the types and
 * the flag added, the rows unchanged - the typed packet, id aside. */
static void test_bulk_rebuild_with_types(void **state)
{
    uint8_t buf[64];
    struct stmt_bulk b;
    (void)state;
    assert_int_equal(stmt_bulk_parse(BULK_UNTYPED, sizeof BULK_UNTYPED, 2, &b), 0);
    size_t size = stmt_bulk_build_size(&b, 4);
    assert_int_equal(size, 4 + sizeof BULK_TYPED);
    assert_int_equal(stmt_bulk_build(buf, sizeof buf, 0x0102, &b, BULK_TYPED + 7, 4), size);
    assert_int_equal(packet_payload_len(buf), sizeof BULK_TYPED);
    assert_int_equal(packet_seq(buf), 0);
    assert_int_equal(stmt_id_read(buf + 5), 0x0102);
    assert_memory_equal(buf + 4 + 5, BULK_TYPED + 5, sizeof BULK_TYPED - 5);
    assert_int_equal(stmt_bulk_build(buf, size - 1, 9, &b, BULK_TYPED + 7, 4), 0);
    assert_int_equal(stmt_bulk_build(buf, sizeof buf, 9, &b, BULK_TYPED + 7, 3), 0);
}

static void test_stmt_id(void **state)
{
    uint8_t p[5] = {0x19, 0, 0, 0, 0};
    (void)state;
    stmt_id_write(p + 1, 0x01020304);
    assert_memory_equal(p, "\x19\x04\x03\x02\x01", 5);
    assert_int_equal(stmt_id_read(p + 1), 0x01020304);
    stmt_id_write(p + 1, 0xFFFFFFFF);
    assert_int_equal(stmt_id_read(p + 1), 0xFFFFFFFF);
    assert_int_equal(p[0], 0x19);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_bound),
        cmocka_unit_test(test_rebuild_bound),
        cmocka_unit_test(test_rebuild_unbound_with_saved_types),
        cmocka_unit_test(test_no_params),
        cmocka_unit_test(test_nine_params),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_build_rejects),
        cmocka_unit_test(test_split_large),
        cmocka_unit_test(test_bulk_parse),
        cmocka_unit_test(test_bulk_rebuild_with_types),
        cmocka_unit_test(test_stmt_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
