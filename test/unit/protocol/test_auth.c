#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "protocol/auth.h"

static const uint8_t SCRAMBLE[20] = "abcdefgh0123456789XY";

/* Vectors computed independently (Python hashlib); caching_sha2_password:
 * SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) || nonce), as MySQL 8 defines it. */
static const uint8_t APP_PW_STAGE1[SHA1_LEN] = {
    0x47, 0x8f, 0x03, 0x6c, 0xc2, 0x36, 0x81, 0x87, 0xbe, 0x39,
    0x46, 0x1c, 0x73, 0x6d, 0x70, 0xbe, 0x6a, 0x84, 0xf1, 0xef};
static const char APP_PW_HASH[] = "*95BE1A04B76EE9AB97CEE8436421F2D15539B738";
static const uint8_t APP_PW_REPLY[SHA1_LEN] = {
    0x4f, 0xb6, 0xf8, 0x3b, 0xa7, 0xf0, 0x55, 0x45, 0x7a, 0xd8,
    0x70, 0x3a, 0xc3, 0xc6, 0x6f, 0x60, 0x29, 0x25, 0xd6, 0xc9};
static const uint8_t APP_PW_SHA2_REPLY[SHA256_LEN] = {
    0xe2, 0x78, 0xcf, 0xb4, 0xb8, 0xf6, 0xbc, 0xad, 0xf0, 0xaa, 0xac, 0xec, 0xca, 0x3c, 0x85, 0xfc,
    0xd7, 0xfc, 0xe7, 0x57, 0xc5, 0x69, 0x89, 0x63, 0x5b, 0x21, 0xae, 0x2c, 0x11, 0x6a, 0xc4, 0xd2};

static void test_stages_and_hash(void **state)
{
    uint8_t s1[SHA1_LEN], s2[SHA1_LEN], parsed[SHA1_LEN];
    (void)state;
    native_password_stage1("app_pw", 6, s1);
    assert_memory_equal(s1, APP_PW_STAGE1, SHA1_LEN);
    native_password_stage2(s1, s2);
    assert_int_equal(native_password_hash_parse(APP_PW_HASH, parsed), 0);
    assert_memory_equal(parsed, s2, SHA1_LEN);
    /* the well-known MySQL PASSWORD('password'), in lower case */
    native_password_stage1("password", 8, s1);
    native_password_stage2(s1, s2);
    assert_int_equal(native_password_hash_parse("*2470c0c06dee42fd1618bb99005adca2ec9d1e19", parsed), 0);
    assert_memory_equal(parsed, s2, SHA1_LEN);
}

static void test_hash_parse_rejects(void **state)
{
    uint8_t out[SHA1_LEN];
    (void)state;
    assert_int_equal(native_password_hash_parse(NULL, out), -1);
    assert_int_equal(native_password_hash_parse("", out), -1);
    assert_int_equal(native_password_hash_parse(APP_PW_HASH + 1, out), -1); /* no '*' */
    assert_int_equal(native_password_hash_parse("*95BE1A04B76EE9AB97CEE8436421F2D15539B73", out), -1);
    assert_int_equal(native_password_hash_parse("*95BE1A04B76EE9AB97CEE8436421F2D15539B7388", out), -1);
    assert_int_equal(native_password_hash_parse("*95BE1A04B76EE9AB97CEE8436421F2D15539B73G", out), -1);
    assert_int_equal(native_password_hash_parse("*95BE1A04B76EE9AB97CEE8436421F2D15539B7 8", out), -1);
    assert_int_equal(native_password_hash_parse("#95BE1A04B76EE9AB97CEE8436421F2D15539B738", out), -1);
}

static void test_reply_and_check(void **state)
{
    uint8_t reply[SHA1_LEN], stage2[SHA1_LEN], recovered[SHA1_LEN];
    (void)state;
    native_password_reply(APP_PW_STAGE1, SCRAMBLE, sizeof(SCRAMBLE), reply);
    assert_memory_equal(reply, APP_PW_REPLY, SHA1_LEN);
    assert_int_equal(native_password_hash_parse(APP_PW_HASH, stage2), 0);
    assert_true(native_password_check(reply, SHA1_LEN, SCRAMBLE, sizeof(SCRAMBLE), stage2, false,
                                      recovered));
    assert_memory_equal(recovered, APP_PW_STAGE1, SHA1_LEN);
    /* a trailing NUL after the scramble does not change the result */
    uint8_t with_nul[21];
    memcpy(with_nul, SCRAMBLE, 20);
    with_nul[20] = 0;
    assert_true(native_password_check(reply, SHA1_LEN, with_nul, 21, stage2, false, recovered));
}

static void test_check_rejects(void **state)
{
    uint8_t reply[SHA1_LEN], stage2[SHA1_LEN], recovered[SHA1_LEN], other[SHA1_LEN];
    (void)state;
    assert_int_equal(native_password_hash_parse(APP_PW_HASH, stage2), 0);
    native_password_stage1("wrong", 5, other);
    native_password_reply(other, SCRAMBLE, sizeof(SCRAMBLE), reply);
    assert_false(native_password_check(reply, SHA1_LEN, SCRAMBLE, sizeof(SCRAMBLE), stage2, false, recovered));
    /* right password, other scramble */
    native_password_reply(APP_PW_STAGE1, (const uint8_t *)"ZZZZZZZZZZZZZZZZZZZZ", 20, reply);
    assert_false(native_password_check(reply, SHA1_LEN, SCRAMBLE, sizeof(SCRAMBLE), stage2, false, recovered));
    native_password_reply(APP_PW_STAGE1, SCRAMBLE, sizeof(SCRAMBLE), reply);
    reply[7] ^= 1;
    assert_false(native_password_check(reply, SHA1_LEN, SCRAMBLE, sizeof(SCRAMBLE), stage2, false, recovered));
    assert_false(native_password_check(reply, 19, SCRAMBLE, sizeof(SCRAMBLE), stage2, false, recovered));
    assert_false(native_password_check(reply, 0, SCRAMBLE, sizeof(SCRAMBLE), stage2, false, recovered));
}

static void test_empty_password(void **state)
{
    uint8_t reply[SHA1_LEN] = {0}, zeros[SHA1_LEN] = {0}, recovered[SHA1_LEN];
    (void)state;
    assert_true(native_password_check(NULL, 0, SCRAMBLE, sizeof(SCRAMBLE), zeros, true, recovered));
    assert_memory_equal(recovered, zeros, SHA1_LEN);
    assert_false(native_password_check(reply, SHA1_LEN, SCRAMBLE, sizeof(SCRAMBLE), zeros, true, recovered));
}

static void test_caching_sha2(void **state)
{
    uint8_t reply[SHA256_LEN];
    (void)state;
    caching_sha2_reply("app_pw", 6, SCRAMBLE, sizeof(SCRAMBLE), reply);
    assert_memory_equal(reply, APP_PW_SHA2_REPLY, SHA256_LEN);
}

static void test_caching_sha2_check(void **state)
{
    uint8_t reply[SHA256_LEN + 1];
    static const uint8_t other_nonce[20] = "ABCDEFGH0123456789xy";
    (void)state;
    memcpy(reply, APP_PW_SHA2_REPLY, SHA256_LEN);
    reply[SHA256_LEN] = 0;
    assert_true(caching_sha2_check(reply, SHA256_LEN, "app_pw", 6, SCRAMBLE, sizeof(SCRAMBLE)));
    /* a trailing NUL after the 20-byte nonce is ignored, as in caching_sha2_reply */
    assert_true(caching_sha2_check(reply, SHA256_LEN, "app_pw", 6, (const uint8_t *)"abcdefgh0123456789XY", 21));
    assert_false(caching_sha2_check(reply, SHA256_LEN, "app_pw", 6, other_nonce, sizeof(other_nonce)));
    assert_false(caching_sha2_check(reply, SHA256_LEN, "app_pX", 6, SCRAMBLE, sizeof(SCRAMBLE)));
    assert_false(caching_sha2_check(reply, SHA256_LEN, "app_p", 5, SCRAMBLE, sizeof(SCRAMBLE)));
    /* wrong lengths: the right 32 bytes with one more, one less, none */
    assert_false(caching_sha2_check(reply, SHA256_LEN + 1, "app_pw", 6, SCRAMBLE, sizeof(SCRAMBLE)));
    assert_false(caching_sha2_check(reply, SHA256_LEN - 1, "app_pw", 6, SCRAMBLE, sizeof(SCRAMBLE)));
    assert_false(caching_sha2_check(reply, 0, "", 0, SCRAMBLE, sizeof(SCRAMBLE)));
    /* a flipped bit anywhere, first and last byte included */
    for (size_t i = 0; i < SHA256_LEN; i++) {
        reply[i] ^= 0x01;
        assert_false(caching_sha2_check(reply, SHA256_LEN, "app_pw", 6, SCRAMBLE, sizeof(SCRAMBLE)));
        reply[i] ^= 0x01;
    }
}

static void test_scramble_generate(void **state)
{
    uint8_t a[SHA1_LEN], b[SHA1_LEN], big[1000];
    (void)state;
    assert_int_equal(scramble_generate(a, sizeof(a)), 0);
    assert_int_equal(scramble_generate(b, sizeof(b)), 0);
    assert_memory_not_equal(a, b, sizeof(a));
    assert_int_equal(scramble_generate(big, sizeof(big)), 0);
    for (size_t i = 0; i < sizeof(big); i++)
        assert_in_range(big[i], 0x21, 0x7E);
    assert_int_equal(scramble_generate(big, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stages_and_hash),
        cmocka_unit_test(test_hash_parse_rejects),
        cmocka_unit_test(test_reply_and_check),
        cmocka_unit_test(test_check_rejects),
        cmocka_unit_test(test_empty_password),
        cmocka_unit_test(test_caching_sha2),
        cmocka_unit_test(test_caching_sha2_check),
        cmocka_unit_test(test_scramble_generate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
