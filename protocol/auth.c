#include "protocol/auth.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <string.h>

/* Both plugins use a 20-byte scramble; servers may hand over 21 bytes with
 * the trailing NUL, which is not part of it. */
#define SCRAMBLE_USED 20

void native_password_stage1(const char *password, size_t len, uint8_t stage1[SHA1_LEN])
{
    SHA1((const unsigned char *)password, len, stage1);
}

void native_password_stage2(const uint8_t stage1[SHA1_LEN], uint8_t stage2[SHA1_LEN])
{
    SHA1(stage1, SHA1_LEN, stage2);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int native_password_hash_parse(const char *text, uint8_t stage2[SHA1_LEN])
{
    if (!text || text[0] != '*' || strlen(text) != 1 + 2 * SHA1_LEN)
        return -1;
    for (size_t i = 0; i < SHA1_LEN; i++) {
        int hi = hex_value(text[1 + 2 * i]), lo = hex_value(text[2 + 2 * i]);
        if (hi < 0 || lo < 0)
            return -1;
        stage2[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* SHA1(scramble + stage2), the mask XORed over stage1 in a reply. */
static void native_mask(const uint8_t *scramble, size_t scramble_len,
                        const uint8_t stage2[SHA1_LEN], uint8_t mask[SHA1_LEN])
{
    uint8_t buf[SCRAMBLE_USED + SHA1_LEN];

    if (scramble_len > SCRAMBLE_USED)
        scramble_len = SCRAMBLE_USED;
    if (scramble_len)
        memcpy(buf, scramble, scramble_len);
    memcpy(buf + scramble_len, stage2, SHA1_LEN);
    SHA1(buf, scramble_len + SHA1_LEN, mask);
}

void native_password_reply(const uint8_t stage1[SHA1_LEN], const uint8_t *scramble,
                           size_t scramble_len, uint8_t reply[SHA1_LEN])
{
    uint8_t stage2[SHA1_LEN], mask[SHA1_LEN];

    native_password_stage2(stage1, stage2);
    native_mask(scramble, scramble_len, stage2, mask);
    for (size_t i = 0; i < SHA1_LEN; i++)
        reply[i] = stage1[i] ^ mask[i];
}

/* An empty reply is how clients answer for an empty password; it matches
 * only an account whose password is empty (stage1_out is then zeroed: the
 * backend must be answered with an empty reply too). */
bool native_password_check(const uint8_t *reply, size_t reply_len, const uint8_t *scramble,
                           size_t scramble_len, const uint8_t stage2[SHA1_LEN],
                           bool empty_password, uint8_t stage1_out[SHA1_LEN])
{
    uint8_t mask[SHA1_LEN], stage1[SHA1_LEN], check[SHA1_LEN];

    if (reply_len == 0 || empty_password) {
        memset(stage1_out, 0, SHA1_LEN);
        return reply_len == 0 && empty_password;
    }
    if (reply_len != SHA1_LEN)
        return false;
    native_mask(scramble, scramble_len, stage2, mask);
    for (size_t i = 0; i < SHA1_LEN; i++)
        stage1[i] = reply[i] ^ mask[i];
    native_password_stage2(stage1, check);
    if (CRYPTO_memcmp(check, stage2, SHA1_LEN) != 0)
        return false;
    memcpy(stage1_out, stage1, SHA1_LEN);
    return true;
}

void caching_sha2_reply(const char *password, size_t len, const uint8_t *nonce,
                        size_t nonce_len, uint8_t reply[SHA256_LEN])
{
    uint8_t h1[SHA256_LEN], h2[SHA256_LEN], buf[SHA256_LEN + SCRAMBLE_USED], mask[SHA256_LEN];

    if (nonce_len > SCRAMBLE_USED)
        nonce_len = SCRAMBLE_USED;
    SHA256((const unsigned char *)password, len, h1);
    SHA256(h1, SHA256_LEN, h2);
    memcpy(buf, h2, SHA256_LEN);
    if (nonce_len)
        memcpy(buf + SHA256_LEN, nonce, nonce_len);
    SHA256(buf, SHA256_LEN + nonce_len, mask);
    for (size_t i = 0; i < SHA256_LEN; i++)
        reply[i] = h1[i] ^ mask[i];
}

/* Recomputes the reply the client should have sent; a mismatch must not
 * leak through timing how many leading bytes were right. */
bool caching_sha2_check(const uint8_t *reply, size_t reply_len, const char *password, size_t len,
                        const uint8_t *nonce, size_t nonce_len)
{
    uint8_t expected[SHA256_LEN];
    bool ok;

    if (reply_len != SHA256_LEN)
        return false;
    caching_sha2_reply(password, len, nonce, nonce_len, expected);
    ok = CRYPTO_memcmp(expected, reply, SHA256_LEN) == 0;
    OPENSSL_cleanse(expected, sizeof(expected));
    return ok;
}

/* Uniform over the 94 printable characters 0x21..0x7E: random bytes at or
 * above 2 * 94 are drawn again rather than folded (no modulo bias). */
int scramble_generate(uint8_t *buf, size_t n)
{
    uint8_t pool[64];
    size_t have = 0, used = 0;

    for (size_t i = 0; i < n;) {
        if (used == have) {
            if (RAND_bytes(pool, sizeof(pool)) != 1)
                return -1;
            have = sizeof(pool);
            used = 0;
        }
        uint8_t b = pool[used++];
        if (b < 2 * 94)
            buf[i++] = (uint8_t)(0x21 + b % 94);
    }
    OPENSSL_cleanse(pool, sizeof(pool));
    return 0;
}
