#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "protocol/handshake.h"
#include "protocol/packet.h"

static const uint8_t SCRAMBLE[SCRAMBLE_LEN] = "abcdefgh0123456789XY";

#define BASE_CAPS                                                                        \
    (CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH | \
     CLIENT_TRANSACTIONS)

static void test_greeting_roundtrip(void **state)
{
    uint8_t buf[256];
    struct server_handshake hs;
    const uint32_t caps = BASE_CAPS | CLIENT_CONNECT_WITH_DB | CLIENT_DEPRECATE_EOF | CLIENT_SSL;
    (void)state;
    size_t n = server_handshake_build(buf, sizeof(buf), "8.0.36-switchyard", 77, SCRAMBLE, caps,
                                      45, SERVER_STATUS_AUTOCOMMIT);
    assert_true(n > 0);
    assert_int_equal(packet_seq(buf), 0);
    assert_int_equal(packet_payload_len(buf), n - 4);
    assert_int_equal(server_handshake_parse(buf + 4, n - 4, &hs), 0);
    assert_int_equal(hs.protocol_version, 10);
    assert_string_equal(hs.server_version, "8.0.36-switchyard");
    assert_int_equal(hs.connection_id, 77);
    assert_int_equal(hs.scramble_len, SCRAMBLE_LEN);
    assert_memory_equal(hs.scramble, SCRAMBLE, SCRAMBLE_LEN);
    assert_int_equal(hs.capabilities, caps);
    assert_int_equal(hs.charset, 45);
    assert_int_equal(hs.status, SERVER_STATUS_AUTOCOMMIT);
    assert_int_equal(hs.auth_plugin_len, strlen(AUTH_PLUGIN_NATIVE));
    assert_string_equal(hs.auth_plugin, AUTH_PLUGIN_NATIVE);
    /* the 10 reserved bytes (MariaDB filler + extended caps) are zero */
    const uint8_t *reserved = buf + 4 + 1 + strlen("8.0.36-switchyard") + 1 + 4 + 8 + 1 + 2 + 1 + 2 + 2 + 1;
    for (int i = 0; i < 10; i++)
        assert_int_equal(reserved[i], 0);
    assert_int_equal(reserved[-1], 21);
    /* too small a buffer, and every truncation of the payload */
    assert_int_equal(server_handshake_build(buf, n - 1, "8.0.36-switchyard", 77, SCRAMBLE, caps, 45, 2), 0);
    for (size_t cut = 0; cut < n - 4 - 23; cut++)
        if (cut != 1 + 18 + 15) /* old servers stop after the lower caps */
            assert_int_equal(server_handshake_parse(buf + 4, cut, &hs), -1);
}

/* A MariaDB 10.11 greeting written out per the protocol docs: "5.5.5-"
 * version prefix, CLIENT_LONG_PASSWORD cleared to announce extended
 * capabilities in the last 4 reserved bytes. */
static void test_greeting_mariadb(void **state)
{
    static const uint8_t g[] = {
        0x0a, '5', '.', '5', '.', '5', '-', '1', '0', '.', '1', '1', '.', '6', '-', 'M', 'a',
        'r', 'i', 'a', 'D', 'B', 0x00,                   /* version */
        0x2a, 0x00, 0x00, 0x00,                          /* connection id 42 */
        '7', 'P', 'x', 'L', ':', '#', 'x', 'a', 0x00,    /* part 1 + filler */
        0xfe, 0xf7,                                      /* caps lower */
        0x2d,                                            /* charset 45 */
        0x02, 0x00,                                      /* status */
        0xff, 0x81,                                      /* caps upper */
        0x15,                                            /* auth data len 21 */
        0, 0, 0, 0, 0, 0, 0x1d, 0x00, 0x00, 0x00,        /* filler, ext caps */
        '$', 'q', 'Z', 'm', '<', '(', 'h', 'V', 'u', 'R', 'o', 'S', 0x00, /* part 2 */
        'm', 'y', 's', 'q', 'l', '_', 'n', 'a', 't', 'i', 'v', 'e', '_', 'p', 'a', 's', 's',
        'w', 'o', 'r', 'd', 0x00,
    };
    struct server_handshake hs;
    (void)state;
    assert_int_equal(server_handshake_parse(g, sizeof(g), &hs), 0);
    assert_string_equal(hs.server_version, "5.5.5-10.11.6-MariaDB");
    assert_int_equal(hs.connection_id, 42);
    assert_int_equal(hs.scramble_len, 20);
    assert_memory_equal(hs.scramble, "7PxL:#xa$qZm<(hVuRoS", 20);
    /* progress, bulk, extended and cached metadata in bits 32-63 */
    assert_true(hs.capabilities == (0x1dull << 32 | 0x81fff7fe));
    assert_true(hs.capabilities & MARIADB_CLIENT_EXTENDED_METADATA);
    assert_true(hs.capabilities & CLIENT_PLUGIN_AUTH);
    assert_false(hs.capabilities & CLIENT_LONG_PASSWORD);
    assert_int_equal(hs.charset, 45);
    assert_int_equal(hs.status, 2);
    assert_string_equal(hs.auth_plugin, AUTH_PLUGIN_NATIVE);
    /* plugin name without its NUL is malformed */
    assert_int_equal(server_handshake_parse(g, sizeof(g) - 1, &hs), -1);
    /* an ERR packet or another protocol version */
    const uint8_t err[] = {0xff, 0x15, 0x04, 'x'};
    assert_int_equal(server_handshake_parse(err, sizeof(err), &hs), -1);
    assert_string_equal(hs.auth_plugin, "");
}

/* The proxy's greeting with MariaDB's extended capabilities: CLIENT_MYSQL
 * left out, the 4 bytes at the end of the reserved filler, as a MariaDB
 * server writes them (and Connector/C reads them). */
static void test_greeting_extended_caps(void **state)
{
    uint8_t buf[256];
    struct server_handshake hs;
    const uint64_t caps = BASE_CAPS | MARIADB_CLIENT_PROGRESS | MARIADB_CLIENT_EXTENDED_METADATA;
    (void)state;
    size_t n = server_handshake_build(buf, sizeof(buf), "10.11.6-MariaDB", 7, SCRAMBLE, caps, 45,
                                      SERVER_STATUS_AUTOCOMMIT);
    assert_true(n > 0);
    assert_int_equal(server_handshake_parse(buf + 4, n - 4, &hs), 0);
    assert_true(hs.capabilities == (caps & ~(uint64_t)CLIENT_MYSQL));
    const uint8_t *reserved =
        buf + 4 + 1 + strlen("10.11.6-MariaDB") + 1 + 4 + 8 + 1 + 2 + 1 + 2 + 2 + 1;
    assert_false(read_u16(reserved - 8) & CLIENT_MYSQL);
    assert_int_equal(read_u32(reserved + 6), 0x09);
}

/* A MariaDB client answers with its extended capabilities in the last 4
 * filler bytes when it leaves CLIENT_MYSQL out; with CLIENT_MYSQL set the
 * filler means nothing. The SSL request carries the same 32 bytes. */
static void test_response_extended_caps(void **state)
{
    uint8_t buf[256], ssl[64];
    struct handshake_response r;
    const uint64_t ext = MARIADB_CLIENT_STMT_BULK_OPERATIONS | MARIADB_CLIENT_EXTENDED_METADATA;
    struct handshake_response_out out = {
        .capabilities = (BASE_CAPS & ~(uint64_t)CLIENT_MYSQL) | ext, .max_packet = 1 << 24,
        .charset = 33, .username = "app", .auth_response = SCRAMBLE,
        .auth_response_len = SCRAMBLE_LEN, .auth_plugin = AUTH_PLUGIN_NATIVE,
    };
    (void)state;
    size_t n = handshake_response_build(buf, sizeof(buf), 1, &out);
    assert_true(n > 0);
    assert_int_equal(read_u32(buf + 4 + 28), ext >> 32);
    assert_int_equal(handshake_response_parse(buf + 4, n - 4, &r), 0);
    assert_true(r.capabilities == out.capabilities);
    assert_string_equal(r.username, "app");
    size_t m = ssl_request_build(ssl, sizeof(ssl), 1, &out);
    assert_int_equal(m, 4 + 32);
    assert_memory_equal(ssl + 4, buf + 4, 32);
    /* CLIENT_MYSQL set: the filler is not read */
    buf[4] |= CLIENT_MYSQL;
    assert_int_equal(handshake_response_parse(buf + 4, n - 4, &r), 0);
    assert_true(r.capabilities == (BASE_CAPS & 0xffffffffu));
}

static size_t build_response(uint8_t *buf, size_t cap, uint32_t caps, const char *db,
                             const char *plugin, const uint8_t *attrs, size_t attrs_len,
                             const uint8_t *auth, size_t auth_len)
{
    struct handshake_response_out out = {
        .capabilities = caps, .max_packet = 1 << 24, .charset = 33, .username = "app",
        .auth_response = auth, .auth_response_len = auth_len, .database = db,
        .auth_plugin = plugin, .attrs = attrs, .attrs_len = attrs_len,
    };
    return handshake_response_build(buf, cap, 1, &out);
}

static void test_response_full(void **state)
{
    static const uint8_t attrs[] = {10, 4, '_', 'p', 'i', 'd', 4, '1', '2', '3', '4'};
    uint8_t buf[512];
    struct handshake_response r;
    const uint32_t caps = BASE_CAPS | CLIENT_CONNECT_WITH_DB | CLIENT_CONNECT_ATTRS;
    (void)state;
    size_t n = build_response(buf, sizeof(buf), caps, "shop", AUTH_PLUGIN_NATIVE, attrs,
                              sizeof(attrs), SCRAMBLE, SCRAMBLE_LEN);
    assert_true(n > 0);
    assert_int_equal(packet_seq(buf), 1);
    assert_int_equal(handshake_response_parse(buf + 4, n - 4, &r), 0);
    assert_int_equal(r.capabilities, caps);
    assert_int_equal(r.max_packet, 1 << 24);
    assert_int_equal(r.charset, 33);
    assert_false(r.is_ssl_request);
    assert_string_equal(r.username, "app");
    assert_int_equal(r.username_len, 3);
    assert_int_equal(r.auth_response_len, SCRAMBLE_LEN);
    assert_memory_equal(r.auth_response, SCRAMBLE, SCRAMBLE_LEN);
    assert_string_equal(r.database, "shop");
    assert_int_equal(r.database_len, 4);
    assert_string_equal(r.auth_plugin, AUTH_PLUGIN_NATIVE);
    assert_int_equal(r.attrs_len, sizeof(attrs));
    assert_memory_equal(r.attrs, attrs, sizeof(attrs));
    /* a client may stop after any whole field, but never inside the attrs */
    for (size_t cut = 33; cut < n - 4; cut++)
        if (handshake_response_parse(buf + 4, cut, &r) == 0)
            assert_null(r.attrs);
    /* attribute block whose last value overruns its length */
    buf[n - 5] = 9;
    assert_int_equal(handshake_response_parse(buf + 4, n - 4, &r), -1);
}

static void test_response_minimal(void **state)
{
    uint8_t buf[256];
    struct handshake_response r;
    (void)state;
    size_t n = build_response(buf, sizeof(buf), CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION,
                              "ignored", "ignored", NULL, 0, NULL, 0);
    assert_int_equal(n, 4 + 32 + 4 + 1);
    assert_int_equal(handshake_response_parse(buf + 4, n - 4, &r), 0);
    assert_string_equal(r.username, "app");
    assert_int_equal(r.auth_response_len, 0);
    assert_null(r.database);
    assert_null(r.auth_plugin);
    assert_null(r.attrs);
}

static void test_response_lenenc_auth(void **state)
{
    uint8_t auth[300], buf[512];
    struct handshake_response r;
    const uint32_t caps = BASE_CAPS | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT_CONNECT_ATTRS;
    (void)state;
    memset(auth, 0xAB, sizeof(auth));
    size_t n = build_response(buf, sizeof(buf), caps, NULL, AUTH_PLUGIN_CACHING_SHA2, NULL, 0,
                              auth, sizeof(auth));
    assert_true(n > 0);
    assert_int_equal(handshake_response_parse(buf + 4, n - 4, &r), 0);
    assert_int_equal(r.auth_response_len, sizeof(auth));
    assert_memory_equal(r.auth_response, auth, sizeof(auth));
    assert_string_equal(r.auth_plugin, AUTH_PLUGIN_CACHING_SHA2);
    assert_int_equal(r.attrs_len, 1); /* empty block written for a NULL attrs */
    /* 300 bytes do not fit a 1-byte length */
    assert_int_equal(build_response(buf, sizeof(buf), BASE_CAPS, NULL, NULL, NULL, 0, auth, sizeof(auth)), 0);
    assert_int_equal(build_response(buf, 100, caps, NULL, NULL, NULL, 0, auth, sizeof(auth)), 0);
}

static void test_response_old_auth_and_ssl(void **state)
{
    uint8_t buf[256];
    struct handshake_response r;
    (void)state;
    size_t n = build_response(buf, sizeof(buf), CLIENT_PROTOCOL_41, NULL, NULL, NULL, 0,
                              (const uint8_t *)"pw", 2);
    assert_int_equal(handshake_response_parse(buf + 4, n - 4, &r), 0);
    assert_int_equal(r.auth_response_len, 2);
    assert_memory_equal(r.auth_response, "pw", 2);
    /* 32-byte SSL request */
    memset(buf, 0, sizeof(buf));
    write_u32(buf, CLIENT_PROTOCOL_41 | CLIENT_SSL);
    assert_int_equal(handshake_response_parse(buf, 32, &r), 0);
    assert_true(r.is_ssl_request);
    write_u32(buf, CLIENT_PROTOCOL_41);
    assert_int_equal(handshake_response_parse(buf, 32, &r), -1);
    write_u32(buf, CLIENT_SSL); /* pre-4.1 */
    assert_int_equal(handshake_response_parse(buf, 40, &r), -1);
    assert_int_equal(handshake_response_parse(buf, 31, &r), -1);
}

static void test_auth_switch(void **state)
{
    uint8_t buf[128];
    struct auth_switch as;
    (void)state;
    size_t n = auth_switch_build(buf, sizeof(buf), 2, AUTH_PLUGIN_NATIVE, SCRAMBLE, SCRAMBLE_LEN);
    assert_int_equal(n, 4 + 1 + 22 + 21);
    assert_int_equal(packet_seq(buf), 2);
    assert_int_equal(auth_switch_parse(buf + 4, n - 4, &as), 0);
    assert_int_equal(as.plugin_len, strlen(AUTH_PLUGIN_NATIVE));
    assert_string_equal(as.plugin, AUTH_PLUGIN_NATIVE);
    assert_int_equal(as.data_len, SCRAMBLE_LEN);
    assert_memory_equal(as.data, SCRAMBLE, SCRAMBLE_LEN);
    const uint8_t nodata[] = {0xFE, 'x', 0};
    assert_int_equal(auth_switch_parse(nodata, sizeof(nodata), &as), 0);
    assert_int_equal(as.data_len, 0);
    assert_int_equal(auth_switch_parse(nodata, 2, &as), -1);
    assert_int_equal(auth_switch_parse(nodata, 1, &as), -1);
    assert_int_equal(auth_switch_build(buf, 20, 2, AUTH_PLUGIN_NATIVE, SCRAMBLE, SCRAMBLE_LEN), 0);
}

/* COM_CHANGE_USER payload (no command byte): user, 1-byte-length auth,
 * database, charset, plugin, attributes. */
static const uint8_t CHANGE_USER[] = {
    'a', 'p', 'p', 0, 20, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', '0', '1', '2', '3', '4', '5',
    '6', '7', '8', '9', 'X', 'Y', 's', 'h', 'o', 'p', 0, 45, 0,
    'm', 'y', 's', 'q', 'l', '_', 'n', 'a', 't', 'i', 'v', 'e', '_', 'p', 'a', 's', 's', 'w',
    'o', 'r', 'd', 0, 10, 4, '_', 'p', 'i', 'd', 4, '1', '2', '3', '4'};
#define CU_DB_END 30      /* after the database's NUL */
#define CU_PLUGIN_END 54  /* after the plugin's NUL */
#define CU_CAPS (BASE_CAPS | CLIENT_CONNECT_ATTRS)

static void test_change_user_full(void **state)
{
    struct change_user cu;
    (void)state;
    assert_int_equal(change_user_parse(CHANGE_USER, sizeof(CHANGE_USER), CU_CAPS, &cu), 0);
    assert_int_equal(cu.username_len, 3);
    assert_string_equal(cu.username, "app");
    assert_int_equal(cu.auth_response_len, SCRAMBLE_LEN);
    assert_memory_equal(cu.auth_response, SCRAMBLE, SCRAMBLE_LEN);
    assert_int_equal(cu.database_len, 4);
    assert_string_equal(cu.database, "shop");
    assert_int_equal(cu.charset, 45);
    assert_int_equal(cu.auth_plugin_len, strlen(AUTH_PLUGIN_NATIVE));
    assert_string_equal(cu.auth_plugin, AUTH_PLUGIN_NATIVE);
    assert_ptr_equal(cu.attrs, CHANGE_USER + CU_PLUGIN_END);
    assert_int_equal(cu.attrs_len, sizeof(CHANGE_USER) - CU_PLUGIN_END);
}

/* A client may stop after the database, the charset or the plugin; any
 * other cut is truncation. */
static void test_change_user_truncated(void **state)
{
    struct change_user cu;
    (void)state;
    for (size_t cut = 0; cut < sizeof(CHANGE_USER); cut++) {
        int rc = change_user_parse(CHANGE_USER, cut, CU_CAPS, &cu);
        if (cut == CU_DB_END || cut == CU_DB_END + 2 || cut == CU_PLUGIN_END) {
            assert_int_equal(rc, 0);
            assert_int_equal(cu.charset, cut == CU_DB_END ? 0 : 45);
            assert_true(cut == CU_PLUGIN_END ? cu.auth_plugin != NULL : cu.auth_plugin == NULL);
            assert_null(cu.attrs);
            assert_int_equal(cu.attrs_len, 0);
        } else {
            assert_int_equal(rc, -1);
        }
    }
}

/* Without the capabilities, plugin and attributes are not read (the rest is
 * ignored); without CLIENT_SECURE_CONNECTION the auth is NUL-terminated. */
static void test_change_user_caps(void **state)
{
    static const uint8_t old[] = {'u', 0, 'p', 'w', 0, 0, 8, 0, 'x'};
    struct change_user cu;
    (void)state;
    assert_int_equal(change_user_parse(CHANGE_USER, sizeof(CHANGE_USER), BASE_CAPS, &cu), 0);
    assert_non_null(cu.auth_plugin);
    assert_null(cu.attrs);
    assert_int_equal(change_user_parse(CHANGE_USER, sizeof(CHANGE_USER),
                                       CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION, &cu), 0);
    assert_int_equal(cu.charset, 45);
    assert_null(cu.auth_plugin);
    assert_int_equal(cu.auth_plugin_len, 0);
    assert_null(cu.attrs);
    assert_int_equal(change_user_parse(old, sizeof(old), CLIENT_PROTOCOL_41, &cu), 0);
    assert_string_equal(cu.username, "u");
    assert_int_equal(cu.auth_response_len, 2);
    assert_memory_equal(cu.auth_response, "pw", 2);
    assert_int_equal(cu.database_len, 0);
    assert_string_equal(cu.database, "");
    assert_int_equal(cu.charset, 8);
    /* with CLIENT_SECURE_CONNECTION the same bytes read as a 'p'-long auth */
    assert_int_equal(change_user_parse(old, sizeof(old), CLIENT_SECURE_CONNECTION, &cu), -1);
}

static void test_change_user_bad_attrs(void **state)
{
    uint8_t p[sizeof(CHANGE_USER)];
    struct change_user cu;
    (void)state;
    memcpy(p, CHANGE_USER, sizeof(p));
    p[CU_PLUGIN_END] = 11; /* block longer than the packet */
    assert_int_equal(change_user_parse(p, sizeof(p), CU_CAPS, &cu), -1);
    p[CU_PLUGIN_END] = 10;
    p[CU_PLUGIN_END + 6] = 5; /* value overruns the block */
    assert_int_equal(change_user_parse(p, sizeof(p), CU_CAPS, &cu), -1);
    p[CU_PLUGIN_END + 6] = 0xFF; /* invalid length prefix */
    assert_int_equal(change_user_parse(p, sizeof(p), CU_CAPS, &cu), -1);
    p[CU_PLUGIN_END] = 0; /* empty block, then trailing bytes are ignored */
    assert_int_equal(change_user_parse(p, sizeof(p), CU_CAPS, &cu), 0);
    assert_int_equal(cu.attrs_len, 1);
    assert_int_equal(change_user_parse(p, 0, CU_CAPS, &cu), -1);
}

static void test_raw_packet(void **state)
{
    uint8_t buf[16];
    (void)state;
    assert_int_equal(raw_packet_build(buf, sizeof(buf), 3, (const uint8_t *)"hello", 5), 9);
    assert_int_equal(packet_payload_len(buf), 5);
    assert_int_equal(packet_seq(buf), 3);
    assert_memory_equal(buf + 4, "hello", 5);
    assert_int_equal(raw_packet_build(buf, 8, 3, (const uint8_t *)"hello", 5), 0);
    assert_int_equal(raw_packet_build(buf, 4, 3, NULL, 0), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greeting_roundtrip),
        cmocka_unit_test(test_greeting_mariadb),
        cmocka_unit_test(test_greeting_extended_caps),
        cmocka_unit_test(test_response_extended_caps),
        cmocka_unit_test(test_response_full),
        cmocka_unit_test(test_response_minimal),
        cmocka_unit_test(test_response_lenenc_auth),
        cmocka_unit_test(test_response_old_auth_and_ssl),
        cmocka_unit_test(test_auth_switch),
        cmocka_unit_test(test_raw_packet),
        cmocka_unit_test(test_change_user_full),
        cmocka_unit_test(test_change_user_truncated),
        cmocka_unit_test(test_change_user_caps),
        cmocka_unit_test(test_change_user_bad_attrs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
