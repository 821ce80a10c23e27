#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "protocol/gtid.h"
#include "protocol/packet.h"
#include "protocol/session_schema.h"

#define UUID_A "3E11FA47-71CA-11E1-9E33-C80AA9429562"
#define UUID_B "2174B383-5441-11E8-B90A-C80AA9429562"
#define EXEC_A UUID_A ":1-100"

/* A session-state block under construction. */
struct block {
    uint8_t b[1024];
    size_t len;
};

static void put_lenenc_str(uint8_t *p, size_t *len, const void *s, size_t n)
{
    *len += lenenc_int_write(p + *len, 16, n);
    memcpy(p + *len, s, n);
    *len += n;
}

/* Entry: type, lenenc length, data. */
static void b_entry(struct block *b, uint8_t type, const uint8_t *data, size_t n)
{
    b->b[b->len++] = type;
    put_lenenc_str(b->b, &b->len, data, n);
}

static void b_sysvar(struct block *b, const char *name, const char *value)
{
    uint8_t data[512];
    size_t n = 0;
    put_lenenc_str(data, &n, name, strlen(name));
    put_lenenc_str(data, &n, value, strlen(value));
    b_entry(b, SESSION_TRACK_SYSTEM_VARIABLES, data, n);
}

static void b_gtids(struct block *b, const char *set)
{
    uint8_t data[512] = {0}; /* encoding specification 0 */
    size_t n = 1;
    put_lenenc_str(data, &n, set, strlen(set));
    b_entry(b, SESSION_TRACK_GTIDS, data, n);
}

static int find(const struct block *b, char *out, size_t cap, enum gtid_flavor *flavor)
{
    return session_track_find_gtid(b->b, b->len, out, cap, flavor);
}

static void test_find_mariadb(void **state)
{
    struct block b = {.len = 0};
    enum gtid_flavor flavor = GTID_MYSQL;
    char out[64];
    (void)state;
    b_sysvar(&b, "last_gtid", "0-1-100");
    assert_int_equal(find(&b, out, sizeof(out), &flavor), 1);
    assert_string_equal(out, "0-1-100");
    assert_int_equal(flavor, GTID_MARIADB);
    /* among other variables and a schema change */
    b.len = 0;
    b_sysvar(&b, "autocommit", "ON");
    b_entry(&b, SESSION_TRACK_SCHEMA, (const uint8_t *)"\x04shop", 5);
    b_sysvar(&b, "last_gtid", "1-2-7");
    b_sysvar(&b, "character_set_client", "utf8mb4");
    assert_int_equal(find(&b, out, sizeof(out), &flavor), 1);
    assert_string_equal(out, "1-2-7");
    /* exactly fits: 5 chars + NUL */
    assert_int_equal(find(&b, out, 6, &flavor), 1);
}

static void test_find_absent_or_empty(void **state)
{
    struct block b = {.len = 0};
    enum gtid_flavor flavor;
    char out[64];
    (void)state;
    assert_int_equal(find(&b, out, sizeof(out), &flavor), 0);
    b_sysvar(&b, "last_gtid", "");
    assert_int_equal(find(&b, out, sizeof(out), &flavor), 0);
    b_sysvar(&b, "autocommit", "OFF");
    b_entry(&b, 2, (const uint8_t *)"\x01\x31", 2); /* state change */
    b_entry(&b, 5, (const uint8_t *)"\x08________", 9); /* transaction state */
    b_entry(&b, 4, (const uint8_t *)"\x00", 1);    /* characteristics */
    assert_int_equal(find(&b, out, sizeof(out), &flavor), 0);
    b.len = 0;
    b_gtids(&b, "");
    assert_int_equal(find(&b, out, sizeof(out), &flavor), 0);
}

static void test_find_mysql(void **state)
{
    struct block b = {.len = 0};
    enum gtid_flavor flavor = GTID_MARIADB;
    char out[64];
    (void)state;
    b_gtids(&b, UUID_A ":23");
    assert_int_equal(find(&b, out, sizeof(out), &flavor), 1);
    assert_string_equal(out, UUID_A ":23");
    assert_int_equal(flavor, GTID_MYSQL);
    b.len = 0;
    b_entry(&b, SESSION_TRACK_SCHEMA, (const uint8_t *)"\x04shop", 5);
    b_gtids(&b, UUID_B ":5");
    assert_int_equal(find(&b, out, sizeof(out), &flavor), 1);
    assert_string_equal(out, UUID_B ":5");
}

static void test_find_malformed(void **state)
{
    struct block b = {.len = 0};
    enum gtid_flavor flavor;
    char out[64];
    (void)state;
    b_sysvar(&b, "last_gtid", "0-1-100");
    for (size_t cut = 1; cut < b.len; cut++)
        assert_int_equal(session_track_find_gtid(b.b, cut, out, sizeof(out), &flavor), -1);
    /* a good entry followed by a broken one */
    b.b[b.len++] = SESSION_TRACK_SCHEMA;
    assert_int_equal(find(&b, out, sizeof(out), &flavor), -1);
    /* entry data shorter than the name/value inside claim */
    b.len = 0;
    b_entry(&b, 0, (const uint8_t *)"\x09last_gtid\x05" "0-1", 14);
    assert_int_equal(find(&b, out, sizeof(out), &flavor), -1);
    /* MySQL entry: unknown encoding, or missing the set */
    b.len = 0;
    b_entry(&b, 3, (const uint8_t *)"\x01\x01x", 3);
    assert_int_equal(find(&b, out, sizeof(out), &flavor), -1);
    b.len = 0;
    b_entry(&b, 3, (const uint8_t *)"", 0);
    assert_int_equal(find(&b, out, sizeof(out), &flavor), -1);
    /* a NUL inside the value */
    b.len = 0;
    b_entry(&b, 3, (const uint8_t *)"\x00\x03" "1\0002", 5);
    assert_int_equal(find(&b, out, sizeof(out), &flavor), -1);
    /* 0xFF is no length */
    b.len = 0;
    b.b[b.len++] = 0;
    b.b[b.len++] = 0xFF;
    assert_int_equal(find(&b, out, sizeof(out), &flavor), -1);
}

static void test_find_too_long(void **state)
{
    struct block b = {.len = 0};
    enum gtid_flavor flavor;
    char out[9];
    (void)state;
    b_sysvar(&b, "last_gtid", "0-1-1000"); /* 8 chars: 8 bytes leave no room for the NUL */
    assert_int_equal(find(&b, out, 8, &flavor), -1);
    assert_int_equal(find(&b, out, 0, &flavor), -1);
    assert_int_equal(find(&b, out, 9, &flavor), 1);
    assert_string_equal(out, "0-1-1000");
}

static void test_mariadb_covered(void **state)
{
    (void)state;
    assert_true(mariadb_gtid_covered("0-1-100", "0-1-100"));
    assert_true(mariadb_gtid_covered("0-1-101", "0-1-100"));
    assert_false(mariadb_gtid_covered("0-1-99", "0-1-100"));
    /* another server id in the same domain still orders by sequence */
    assert_true(mariadb_gtid_covered("0-2-150", "0-1-100"));
    /* multi-domain positions */
    assert_true(mariadb_gtid_covered("0-1-100,1-2-7", "1-2-7"));
    assert_true(mariadb_gtid_covered("0-1-100,1-2-7", "0-1-50"));
    assert_false(mariadb_gtid_covered("0-1-100,1-2-6", "1-2-7"));
    assert_true(mariadb_gtid_covered("0-1-100,1-2-7", "0-1-100,1-2-7"));
    assert_false(mariadb_gtid_covered("0-1-100,1-2-7", "0-1-100,1-2-8"));
    assert_true(mariadb_gtid_covered("0-1-100, 1-2-7\n", "1-2-7"));
    /* domain missing, empty position */
    assert_false(mariadb_gtid_covered("0-1-100", "2-1-1"));
    assert_false(mariadb_gtid_covered("", "0-1-1"));
    /* big numbers */
    assert_true(mariadb_gtid_covered("4294967295-4294967295-18446744073709551615",
                                     "4294967295-1-18446744073709551614"));
}

static void test_mariadb_garbage(void **state)
{
    static const char *const bad[] = {
        "",         "0-1",       "0-1-",     "-1-100",  "0-1-100,", "0-1-100,,1-2-3",
        "0-1-x",    "a-b-c",     "0 -1-100", "0-1-1 0", "0-1-100;", "4294967296-1-100",
        "0-1-18446744073709551616",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(mariadb_gtid_covered("0-1-100", bad[i]));
        if (bad[i][0] != '\0') /* an empty position is valid */
            assert_false(mariadb_gtid_covered(bad[i], "0-1-1"));
    }
    /* garbage after a covering entry still makes it not covered */
    assert_false(mariadb_gtid_covered("0-1-100,zz", "0-1-1"));
}

static void test_mysql_covered(void **state)
{
    const char *exec = UUID_A ":1-5:11-18,\n" UUID_B ":1-3";
    (void)state;
    assert_true(mysql_gtid_covered(exec, UUID_A ":1"));
    assert_true(mysql_gtid_covered(exec, UUID_A ":5"));
    assert_true(mysql_gtid_covered(exec, UUID_A ":11-18"));
    assert_true(mysql_gtid_covered(exec, UUID_A ":2-4:12"));
    assert_false(mysql_gtid_covered(exec, UUID_A ":6"));
    assert_false(mysql_gtid_covered(exec, UUID_A ":19"));
    assert_false(mysql_gtid_covered(exec, UUID_A ":4-11"));
    assert_false(mysql_gtid_covered(exec, UUID_A ":1-5:11-19"));
    /* several uuids, either order, lower case, spacing */
    assert_true(mysql_gtid_covered(exec, UUID_B ":3, " UUID_A ":17"));
    assert_false(mysql_gtid_covered(exec, UUID_B ":4, " UUID_A ":17"));
    assert_true(mysql_gtid_covered(exec, "2174b383-5441-11e8-b90a-c80aa9429562:2"));
    assert_true(mysql_gtid_covered(" 2174b383-5441-11e8-b90a-c80aa9429562:1-3\n", UUID_B ":2"));
    assert_true(mysql_gtid_covered(UUID_A ":1-5,\r\n\t " UUID_B ":1-3", UUID_B ":3"));
    /* a uuid unknown to executed, an empty executed set */
    assert_false(mysql_gtid_covered(UUID_A ":1-100", UUID_B ":1"));
    assert_false(mysql_gtid_covered("", UUID_B ":1"));
    /* adjacent or unsorted intervals, and the same uuid listed twice */
    assert_true(mysql_gtid_covered(UUID_A ":6-10:1-5", UUID_A ":3-8"));
    assert_true(mysql_gtid_covered(UUID_A ":1-5," UUID_B ":1," UUID_A ":6-9", UUID_A ":1-9"));
    assert_true(mysql_gtid_covered(UUID_A ":1-9223372036854775807", UUID_A ":9223372036854775807"));
}

static void test_mysql_malformed(void **state)
{
    static const char *const bad[] = {
        "",
        UUID_A,
        UUID_A ":",
        UUID_A ":0",
        UUID_A ":5-3",
        UUID_A ":1-",
        UUID_A ":1,",
        UUID_A ":1:",
        UUID_A ":1 x",
        UUID_A ":9223372036854775808",
        "3E11FA47-71CA-11E1-9E33-C80AA942956:1",
        "3E11FA4771CA-11E1-9E33-C80AA9429562-:1",
        "3G11FA47-71CA-11E1-9E33-C80AA9429562:1",
        UUID_A ":tag:1",
        UUID_A " :1",
    };
    const char *exec = EXEC_A;
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(mysql_gtid_covered(exec, bad[i]));
        if (bad[i][0] != '\0') /* an empty executed set is valid */
            assert_false(mysql_gtid_covered(bad[i], UUID_A ":1"));
    }
    assert_false(mysql_gtid_covered(EXEC_A ", garbage", UUID_A ":1"));
}

/* The query digest keys statements by the database the last schema entry names. */
static void test_find_schema(void **state)
{
    struct block b = {.len = 0};
    char out[8];
    (void)state;
    b_sysvar(&b, "autocommit", "ON");
    assert_int_equal(session_track_find_schema(b.b, b.len, out, sizeof out), 0);
    b_entry(&b, SESSION_TRACK_SCHEMA, (const uint8_t *)"\x04shop", 5);
    b_entry(&b, SESSION_TRACK_SCHEMA, (const uint8_t *)"\x04mall", 5);
    b_sysvar(&b, "last_gtid", "1-2-7");
    assert_int_equal(session_track_find_schema(b.b, b.len, out, sizeof out), 1);
    assert_string_equal(out, "mall");
    assert_int_equal(session_track_find_schema(b.b, b.len, out, 4), -1); /* no room */
    assert_int_equal(session_track_find_schema(b.b, b.len - 1, out, sizeof out), -1); /* cut */
    b.len = 0;
    b_entry(&b, SESSION_TRACK_SCHEMA, (const uint8_t *)"\x09shop", 5); /* name overruns */
    assert_int_equal(session_track_find_schema(b.b, b.len, out, sizeof out), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_mariadb),    cmocka_unit_test(test_find_absent_or_empty),
        cmocka_unit_test(test_find_mysql),      cmocka_unit_test(test_find_malformed),
        cmocka_unit_test(test_find_too_long),   cmocka_unit_test(test_mariadb_covered),
        cmocka_unit_test(test_mariadb_garbage), cmocka_unit_test(test_mysql_covered),
        cmocka_unit_test(test_mysql_malformed), cmocka_unit_test(test_find_schema),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
