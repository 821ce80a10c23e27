/* libFuzzer target for protocol/: every parser gets the input, and the
 * result tracker follows it as a backend response, once in one piece and
 * once split at input-derived boundaries; both runs must agree. The GTID
 * functions get it as a session-state block and as two strings.
 * Input layout: byte 0 picks the command and capabilities, byte 1 seeds the
 * chunk sizes and is the parameter count for COM_STMT_EXECUTE, the rest is
 * the data. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/auth.h"
#include "protocol/gtid.h"
#include "protocol/handshake.h"
#include "protocol/packet.h"
#include "protocol/result_tracker.h"
#include "protocol/session_schema.h"
#include "protocol/session_track.h"
#include "protocol/stmt.h"

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

static bool within(const void *p, size_t len, const uint8_t *d, size_t n)
{
    const uint8_t *b = p;
    return !b || (b >= d && b <= d + n && len <= (size_t)(d + n - b));
}

static void fuzz_change_user(const uint8_t *d, size_t n, uint32_t caps)
{
    struct change_user cu;

    if (change_user_parse(d, n, caps, &cu) < 0)
        return;
    CHECK(within(cu.username, cu.username_len + 1, d, n));
    CHECK(within(cu.auth_response, cu.auth_response_len, d, n));
    CHECK(within(cu.database, cu.database_len + 1, d, n));
    CHECK(within(cu.auth_plugin, cu.auth_plugin_len + 1, d, n));
    CHECK(within(cu.attrs, cu.attrs_len, d, n));
    CHECK(cu.attrs || cu.attrs_len == 0);
}

/* Rebuilt with another id and the types bound (made up when the input had
 * none), split and framed back, it must parse to the same parts. */
static void fuzz_execute_roundtrip(const struct stmt_execute *e, uint16_t num_params)
{
    static uint8_t made_up[2 * 256];
    const uint8_t *types = e->new_params_bound ? e->types : made_up;
    size_t types_len = 2 * (size_t)num_params, wire, payload;
    size_t size = stmt_execute_build_size(e, types_len);
    uint8_t *buf = malloc(size), *out = malloc(size);
    struct stmt_execute again;

    CHECK(buf && out);
    CHECK(stmt_execute_build(buf, size, ~e->stmt_id, e, types, types_len) == size);
    CHECK(stmt_execute_build(buf, size - 1, ~e->stmt_id, e, types, types_len) == 0);
    CHECK(logical_packet_span(buf, size, &wire, &payload) == 1 && wire == size);
    logical_packet_gather(buf, wire, out);
    CHECK(stmt_execute_parse(out, payload, num_params, &again) == 0);
    CHECK(again.stmt_id == ~e->stmt_id && again.flags == e->flags);
    CHECK(again.iterations == e->iterations && again.null_bitmap_len == e->null_bitmap_len);
    CHECK(again.new_params_bound == (num_params > 0) && again.types_len == types_len);
    CHECK(again.values_len == e->values_len);
    CHECK(!e->null_bitmap_len || memcmp(again.null_bitmap, e->null_bitmap, e->null_bitmap_len) == 0);
    CHECK(!types_len || memcmp(again.types, types, types_len) == 0);
    CHECK(!e->values_len || memcmp(again.values, e->values, e->values_len) == 0);
    free(buf);
    free(out);
}

static void fuzz_stmt(const uint8_t *d, size_t n, uint16_t num_params)
{
    struct stmt_execute e;

    if (stmt_execute_parse(d, n, num_params, &e) < 0)
        return;
    CHECK(within(e.null_bitmap, e.null_bitmap_len, d, n) && within(e.types, e.types_len, d, n));
    CHECK(e.values + e.values_len == d + n);
    CHECK(e.stmt_id == stmt_id_read(d + 1));
    fuzz_execute_roundtrip(&e, num_params);
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
    a.want_first_value = b.want_first_value = (selector & 0x20) != 0;
    size_t used_a = track(&a, d, n, seed, false, &sa);
    size_t used_b = track(&b, d, n, seed, true, &sb);
    CHECK(sa == sb && used_a == used_b && used_a <= n);
    CHECK(a.status == b.status && a.saw_status == b.saw_status && a.is_error == b.is_error);
    CHECK(a.err_code == b.err_code && strcmp(a.err_message, b.err_message) == 0);
    CHECK(a.affected_rows == b.affected_rows && a.last_insert_id == b.last_insert_id);
    CHECK(a.result_sets == b.result_sets && a.stmt_id == b.stmt_id);
    CHECK(a.session_state_len == b.session_state_len && a.last_seq == b.last_seq);
    CHECK(a.has_first_value == b.has_first_value && strcmp(a.first_value, b.first_value) == 0);
    CHECK(a.want_first_value || (!a.has_first_value && a.first_value[0] == '\0'));
}

/* Every entry lies inside the block and the walk ends at its end or at an
 * error; a found GTID is NUL-terminated within cap and not empty, a found
 * schema NUL-terminated within cap. */
static void fuzz_session_track(const uint8_t *d, size_t n)
{
    char out[256];
    enum gtid_flavor flavor;
    struct session_track_iter it;
    struct session_track_entry e;
    int rc;

    session_track_begin(&it, d, n);
    while ((rc = session_track_next(&it, &e)) == 1)
        CHECK(within(e.data, e.len, d, n));
    CHECK(rc == 0 ? it.left == 0 : session_track_next(&it, &e) == -1);
    rc = session_track_find_gtid(d, n, out, sizeof(out), &flavor);
    CHECK(rc >= -1 && rc <= 1);
    if (rc == 1)
        CHECK(out[0] != '\0' && memchr(out, '\0', sizeof(out)) != NULL);
    rc = session_track_find_schema(d, n, out, sizeof(out));
    CHECK(rc >= -1 && rc <= 1);
    if (rc == 1)
        CHECK(memchr(out, '\0', sizeof(out)) != NULL);
}

/* The input as two strings, split at its first NUL. A GTID text covers
 * itself whenever it is well formed. */
static void fuzz_gtid_text(const uint8_t *d, size_t n)
{
    static char a[1 << 12], b[1 << 12];
    const uint8_t *nul = memchr(d, 0, n);
    size_t la = nul ? (size_t)(nul - d) : n, lb = nul ? n - la - 1 : 0;

    if (la >= sizeof(a) || lb >= sizeof(b))
        return;
    memcpy(a, d, la);
    a[la] = '\0';
    memcpy(b, d + n - lb, lb);
    b[lb] = '\0';
    mariadb_gtid_covered(a, b);
    mysql_gtid_covered(a, b);
    if (mariadb_gtid_covered(b, a))
        CHECK(mariadb_gtid_covered(a, a));
    if (mysql_gtid_covered(b, a))
        CHECK(mysql_gtid_covered(a, a));
}

static void fuzz_parsers(const uint8_t *d, size_t n, uint8_t selector, uint8_t num_params)
{
    static const uint32_t CU_CAPS[] = {
        CLIENT_PROTOCOL_41,
        CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_ATTRS,
    };

    fuzz_packet_parsers(d, n);
    fuzz_connection_phase(d, n);
    fuzz_change_user(d, n, CU_CAPS[selector & 1]);
    fuzz_stmt(d, n, num_params);
}

/* The parsers see the raw bytes, and the payload of the logical packet they
 * start with, if complete (gathered into a buffer of exactly its size). */
static void fuzz_framed(const uint8_t *d, size_t n, uint8_t selector, uint8_t num_params)
{
    size_t wire, payload;
    uint8_t *out;

    fuzz_parsers(d, n, selector, num_params);
    if (!logical_packet_span(d, n, &wire, &payload))
        return;
    CHECK(wire <= n && payload + PACKET_HEADER_LEN <= wire);
    out = malloc(payload ? payload : 1);
    logical_packet_gather(d, wire, out);
    fuzz_parsers(out, payload, selector, num_params);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    fuzz_framed(data + 2, size - 2, data[0], data[1]);
    fuzz_tracker(data[0], data[1], data + 2, size - 2);
    fuzz_session_track(data + 2, size - 2);
    fuzz_gtid_text(data + 2, size - 2);
    return 0;
}
