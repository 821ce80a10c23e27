/* Password scrambles. mysql_native_password lets the proxy recover
 * SHA1(password) from a client's reply when it knows only the stored hash
 * SHA1(SHA1(password)), and reuse it to answer a backend's scramble. */
#ifndef SY_PROTOCOL_AUTH_H
#define SY_PROTOCOL_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHA1_LEN 20
#define SHA256_LEN 32

/* stage1 = SHA1(password); stage2 = SHA1(stage1). */
void native_password_stage1(const char *password, size_t len, uint8_t stage1[SHA1_LEN]);
void native_password_stage2(const uint8_t stage1[SHA1_LEN], uint8_t stage2[SHA1_LEN]);

/* Parse "*" + 40 hex digits (either case) into stage2. Returns 0 or -1. */
int native_password_hash_parse(const char *text, uint8_t stage2[SHA1_LEN]);

/* Client reply to scramble: stage1 XOR SHA1(scramble + stage2). */
void native_password_reply(const uint8_t stage1[SHA1_LEN], const uint8_t *scramble,
                           size_t scramble_len, uint8_t reply[SHA1_LEN]);

/* Check a client's 20-byte reply against stage2; on success writes the
 * recovered stage1 and returns true. A reply of another length is false,
 * except the empty reply, which matches only the empty password (stage2 of
 * all zeros is not used for that: pass empty_password=true). For the empty
 * password stage1_out is zeroed: answer the backend with an empty reply.
 * Only the first 20 bytes of the scramble are used (a trailing NUL some
 * servers send after it is ignored). */
bool native_password_check(const uint8_t *reply, size_t reply_len, const uint8_t *scramble,
                           size_t scramble_len, const uint8_t stage2[SHA1_LEN],
                           bool empty_password, uint8_t stage1_out[SHA1_LEN]);

/* caching_sha2_password fast-path reply:
 * SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + nonce). */
void caching_sha2_reply(const char *password, size_t len, const uint8_t *nonce,
                        size_t nonce_len, uint8_t reply[SHA256_LEN]);

/* Server side of the caching_sha2_password fast path: true when reply
 * (32 bytes) is what a client knowing password sends for nonce (20 bytes).
 * Constant time. */
bool caching_sha2_check(const uint8_t *reply, size_t reply_len, const char *password, size_t len,
                        const uint8_t *nonce, size_t nonce_len);

/* Fill buf with n random printable bytes (0x21..0x7E: no NUL, no space),
 * uniformly distributed. Returns 0, or -1 if the RNG fails. */
int scramble_generate(uint8_t *buf, size_t n);

#endif
