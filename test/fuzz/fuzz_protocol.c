/* libFuzzer target for protocol/: every parser gets the input, and the
 * result tracker follows it as a backend response, once in one piece and
 * once split at input-derived boundaries; both runs must agree.
 * Input layout: byte 0 picks the command and capabilities, byte 1 seeds the
 * chunk sizes, the rest is the data. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/auth.h"
#include "protocol/handshake.h"
#include "protocol/packet.h"
#include "protocol/result_tracker.h"

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond))                                                                         \
            __builtin_trap();                                                                \
    } while (0)

static const uint8_t COMMANDS[] = {COM_QUERY,      COM_STMT_EXECUTE, COM_STMT_PREPARE,
                                   COM_STMT_FETCH, COM_FIELD_LIST,   COM_STATISTICS,
                                   COM_PING,       COM_CHANGE_USER};

static void fuzz_packet_parsers(const uint8_t *d, size_t n)
{
    struct ok_packet ok;
    struct err_packet err;
    uint16_t w, s;
    uint64_t v;
    const uint8_t *str;

    ok_packet_parse(d, n, CLIENT_PROTOCOL_41, &ok);
    if (ok_packet_parse(d, n, CLIENT_PROTOCOL_41 | CLIENT_SESSION_TRACK, &ok) == 0) {
        CHECK(!ok.info || ok.info + ok.info_len <= d + n);
        CHECK(!ok.session_state || ok.session_state + ok.session_state_len <= d + n);
    }
    if (err_packet_parse(d, n, &err) == 0)
        CHECK(err.message + err.message_len == d + n);
    eof_packet_parse(d, n, &w, &s);
    lenenc_int_read(d, n, &v, NULL);
    if (lenenc_str_read(d, n, &str, &v) > 0)
        CHECK(str + v <= d + n);
}

/* A parsed response built again must parse to the same fields. */
static void fuzz_response_roundtrip(const struct handshake_response *r)
{
    static uint8_t buf[1 << 17];
    char user[256], db[256], plugin[256];
    struct handshake_response again;
    struct handshake_response_out o = {
        .capabilities = r->capabilities, .max_packet = r->max_packet, .charset = r->charset,
        .username = user, .auth_response = r->auth_response,
        .auth_response_len = r->auth_response_len, .database = r->database ? db : NULL,
        .auth_plugin = r->auth_plugin ? plugin : NULL, .attrs = r->attrs, .attrs_len = r->attrs_len,
    };
    size_t len;

    if (r->username_len >= sizeof(user) || r->database_len >= sizeof(db) ||
        r->auth_plugin_len >= sizeof(plugin))
        return;
    memcpy(user, r->username, r->username_len + 1);
    if (r->database)
        memcpy(db, r->database, r->database_len + 1);
    if (r->auth_plugin)
        memcpy(plugin, r->auth_plugin, r->auth_plugin_len + 1);
    len = handshake_response_build(buf, sizeof(buf), 1, &o);
    if (len == 0)
        return;
    CHECK(handshake_response_parse(buf + 4, len - 4, &again) == 0);
    CHECK(again.username_len == r->username_len && again.auth_response_len == r->auth_response_len);
    CHECK(memcmp(again.auth_response, r->auth_response, r->auth_response_len) == 0);
    CHECK(again.attrs_len == r->attrs_len || !r->attrs);
}

static void fuzz_connection_phase(const uint8_t *d, size_t n)
{
    struct server_handshake hs;
    struct handshake_response r;
    struct auth_switch as;

    if (server_handshake_parse(d, n, &hs) == 0)
        CHECK(hs.scramble_len <= sizeof(hs.scramble));
    if (handshake_response_parse(d, n, &r) == 0 && !r.is_ssl_request)
        fuzz_response_roundtrip(&r);
    if (auth_switch_parse(d, n, &as) == 0)
        CHECK(as.data + as.data_len <= d + n);
}

/* Feeds the whole response, resuming after LOCAL INFILE requests. */
static size_t track(struct result_tracker *rt, const uint8_t *d, size_t n, uint32_t seed,
                    bool chunked, enum rt_status *st)
{
    size_t pos = 0;

    *st = RT_CONTINUE;
    while (pos < n) {
        size_t len = n - pos;
        if (chunked) {
            seed = seed * 1664525u + 1013904223u;
            size_t c = 1 + (seed >> 24) % 64;
            len = c < len ? c : len;
        }
        pos += result_tracker_consume(rt, d + pos, len, st);
        if (*st == RT_LOCAL_INFILE)
            result_tracker_infile_done(rt);
        else if (*st != RT_CONTINUE)
            break;
    }
    return pos;
}

static void fuzz_tracker(uint8_t selector, uint8_t seed, const uint8_t *d, size_t n)
{
    static struct result_tracker a, b;
    uint32_t caps = CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS | CLIENT_MULTI_RESULTS;
    enum rt_status sa, sb;

    if (selector & 0x08)
        caps |= CLIENT_DEPRECATE_EOF;
    if (selector & 0x10)
        caps |= CLIENT_SESSION_TRACK;
    result_tracker_start(&a, COMMANDS[selector % sizeof(COMMANDS)], caps);
    result_tracker_start(&b, COMMANDS[selector % sizeof(COMMANDS)], caps);
    size_t used_a = track(&a, d, n, seed, false, &sa);
    size_t used_b = track(&b, d, n, seed, true, &sb);
    CHECK(sa == sb && used_a == used_b && used_a <= n);
    CHECK(a.status == b.status && a.saw_status == b.saw_status && a.is_error == b.is_error);
    CHECK(a.err_code == b.err_code && strcmp(a.err_message, b.err_message) == 0);
    CHECK(a.affected_rows == b.affected_rows && a.last_insert_id == b.last_insert_id);
    CHECK(a.result_sets == b.result_sets && a.stmt_id == b.stmt_id);
    CHECK(a.session_state_len == b.session_state_len && a.last_seq == b.last_seq);
}

static void fuzz_parsers(const uint8_t *d, size_t n)
{
    fuzz_packet_parsers(d, n);
    fuzz_connection_phase(d, n);
}

/* The parsers see the raw bytes, and the payload of the logical packet they
 * start with, if complete (gathered into a buffer of exactly its size). */
static void fuzz_framed(const uint8_t *d, size_t n)
{
    size_t wire, payload;
    uint8_t *out;

    fuzz_parsers(d, n);
    if (!logical_packet_span(d, n, &wire, &payload))
        return;
    CHECK(wire <= n && payload + PACKET_HEADER_LEN <= wire);
    out = malloc(payload ? payload : 1);
    logical_packet_gather(d, wire, out);
    fuzz_parsers(out, payload);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    fuzz_framed(data + 2, size - 2);
    fuzz_tracker(data[0], data[1], data + 2, size - 2);
    return 0;
}
