#include "protocol/handshake.h"

#include <string.h>

#include "protocol/packet.h"

/* Bounds-checked reading over one payload. */
struct reader {
    const uint8_t *p;
    size_t len;
    size_t pos;
};

static size_t rd_left(const struct reader *r) { return r->len - r->pos; }

/* A NUL-terminated string: sets *s / *n (length without the NUL). */
static int rd_cstr(struct reader *r, const char **s, size_t *n)
{
    const uint8_t *nul = memchr(r->p + r->pos, 0, rd_left(r));
    if (!nul)
        return -1;
    *s = (const char *)(r->p + r->pos);
    *n = (size_t)(nul - (r->p + r->pos));
    r->pos += *n + 1;
    return 0;
}

static int rd_bytes(struct reader *r, size_t n, const uint8_t **out)
{
    if (rd_left(r) < n)
        return -1;
    *out = r->p + r->pos;
    r->pos += n;
    return 0;
}

static int rd_lenenc_str(struct reader *r, const uint8_t **s, size_t *n)
{
    uint64_t len;
    size_t used = lenenc_str_read(r->p + r->pos, rd_left(r), s, &len);
    if (used == 0)
        return -1;
    *n = (size_t)len;
    r->pos += used;
    return 0;
}

/* Bounds-checked writing of one packet; the header is filled at the end. */
struct writer {
    uint8_t *p;
    size_t cap;
    size_t pos;
    bool overflow;
};

static void wr_bytes(struct writer *w, const void *src, size_t n)
{
    if (w->overflow || w->cap - w->pos < n) {
        w->overflow = true;
        return;
    }
    if (n)
        memcpy(w->p + w->pos, src, n);
    w->pos += n;
}

static void wr_u8(struct writer *w, uint8_t v) { wr_bytes(w, &v, 1); }

static void wr_u16(struct writer *w, uint16_t v)
{
    uint8_t b[2];
    write_u16(b, v);
    wr_bytes(w, b, 2);
}

static void wr_u32(struct writer *w, uint32_t v)
{
    uint8_t b[4];
    write_u32(b, v);
    wr_bytes(w, b, 4);
}

static void wr_zeros(struct writer *w, size_t n)
{
    static const uint8_t zeros[32];
    wr_bytes(w, zeros, n);
}

/* String plus its NUL terminator. */
static void wr_cstr(struct writer *w, const char *s) { wr_bytes(w, s ? s : "", (s ? strlen(s) : 0) + 1); }

static void wr_lenenc(struct writer *w, uint64_t v)
{
    uint8_t b[9];
    wr_bytes(w, b, lenenc_int_write(b, sizeof(b), v));
}

static struct writer wr_begin(uint8_t *buf, size_t cap)
{
    struct writer w = {buf, cap, PACKET_HEADER_LEN, cap < PACKET_HEADER_LEN};
    return w;
}

/* Writes the header; 0 when the packet did not fit (in cap or in one
 * physical packet). */
static size_t wr_finish(struct writer *w, uint8_t seq)
{
    size_t payload = w->pos - PACKET_HEADER_LEN;
    if (w->overflow || payload >= PACKET_MAX_PAYLOAD)
        return 0;
    packet_write_header(w->p, (uint32_t)payload, seq);
    return w->pos;
}

/* Part 2 of the auth-plugin-data: max(13, auth_len - 8) bytes, whose
 * trailing NUL is not part of the scramble. */
static int parse_scramble_part2(struct reader *r, uint8_t auth_len, struct server_handshake *out)
{
    size_t n = auth_len > 21 ? (size_t)auth_len - 8 : 13;
    const uint8_t *part2;

    if (rd_bytes(r, n, &part2) < 0)
        return -1;
    if (part2[n - 1] == 0)
        n--;
    if (n > sizeof(out->scramble) - 8)
        return -1;
    memcpy(out->scramble + 8, part2, n);
    out->scramble_len += n;
    return 0;
}

/* Everything after the lower capability flags (absent from very old servers). */
static int parse_handshake_tail(struct reader *r, struct server_handshake *out)
{
    const uint8_t *b;
    uint8_t auth_len;

    if (rd_left(r) == 0)
        return 0;
    if (rd_bytes(r, 16, &b) < 0)
        return -1;
    out->charset = b[0];
    out->status = read_u16(b + 1);
    out->capabilities |= (uint32_t)read_u16(b + 3) << 16;
    auth_len = b[5]; /* b[6..16): reserved (MariaDB: filler + extended caps) */
    if (!(out->capabilities & CLIENT_MYSQL))
        out->capabilities |= (uint64_t)read_u32(b + 12) << 32;
    if ((out->capabilities & CLIENT_SECURE_CONNECTION) &&
        parse_scramble_part2(r, auth_len, out) < 0)
        return -1;
    if (!(out->capabilities & CLIENT_PLUGIN_AUTH) || rd_left(r) == 0)
        return 0;
    return rd_cstr(r, &out->auth_plugin, &out->auth_plugin_len);
}

int server_handshake_parse(const uint8_t *payload, size_t len, struct server_handshake *out)
{
    struct reader r = {payload, len, 0};
    const uint8_t *b;
    size_t version_len;

    memset(out, 0, sizeof(*out));
    out->auth_plugin = "";
    if (len < 1 || payload[0] != 10)
        return -1;
    out->protocol_version = payload[0];
    r.pos = 1;
    if (rd_cstr(&r, &out->server_version, &version_len) < 0)
        return -1;
    if (rd_bytes(&r, 4 + 8 + 1 + 2, &b) < 0)
        return -1;
    out->connection_id = read_u32(b);
    memcpy(out->scramble, b + 4, 8);
    out->scramble_len = 8;
    out->capabilities = read_u16(b + 13);
    return parse_handshake_tail(&r, out);
}

size_t server_handshake_build(uint8_t *buf, size_t cap, const char *server_version,
                              uint32_t connection_id, const uint8_t scramble[SCRAMBLE_LEN],
                              uint64_t capabilities, uint8_t charset, uint16_t status)
{
    struct writer w = wr_begin(buf, cap);
    uint32_t extended = (uint32_t)(capabilities >> 32);

    if (extended)
        capabilities &= ~(uint64_t)CLIENT_MYSQL;
    wr_u8(&w, 10);
    wr_cstr(&w, server_version);
    wr_u32(&w, connection_id);
    wr_bytes(&w, scramble, 8);
    wr_u8(&w, 0);
    wr_u16(&w, (uint16_t)capabilities);
    wr_u8(&w, charset);
    wr_u16(&w, status);
    wr_u16(&w, (uint16_t)(capabilities >> 16));
    wr_u8(&w, SCRAMBLE_LEN + 1);
    wr_zeros(&w, 6); /* reserved */
    wr_u32(&w, extended);
    wr_bytes(&w, scramble + 8, SCRAMBLE_LEN - 8);
    wr_u8(&w, 0);
    wr_cstr(&w, AUTH_PLUGIN_NATIVE);
    return wr_finish(&w, 0);
}

static int parse_auth_response(struct reader *r, struct handshake_response *out)
{
    const uint8_t *b;
    const char *s;

    if (out->capabilities & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA)
        return rd_lenenc_str(r, &out->auth_response, &out->auth_response_len);
    if (out->capabilities & CLIENT_SECURE_CONNECTION) {
        if (rd_bytes(r, 1, &b) < 0)
            return -1;
        out->auth_response_len = b[0];
        return rd_bytes(r, b[0], &out->auth_response);
    }
    out->auth_response = r->p + r->pos;
    return rd_cstr(r, &s, &out->auth_response_len);
}

/* The attribute block: lenenc total length, then key/value lenenc strings
 * filling exactly that length. Kept whole (prefix included) for pass-through. */
static int parse_attrs(struct reader *r, const uint8_t **attrs, size_t *attrs_len)
{
    const uint8_t *block, *s;
    size_t block_len, n;
    size_t start = r->pos;
    struct reader kv;

    if (rd_lenenc_str(r, &block, &block_len) < 0)
        return -1;
    kv = (struct reader){block, block_len, 0};
    while (rd_left(&kv) > 0)
        if (rd_lenenc_str(&kv, &s, &n) < 0)
            return -1;
    *attrs = r->p + start;
    *attrs_len = r->pos - start;
    return 0;
}

/* Fields after the auth response, each present only with its capability;
 * a client may stop early (end of packet means the field is absent). */
static int parse_response_optional(struct reader *r, struct handshake_response *out)
{
    uint64_t caps = out->capabilities;

    if ((caps & CLIENT_CONNECT_WITH_DB) && rd_left(r) > 0 &&
        rd_cstr(r, &out->database, &out->database_len) < 0)
        return -1;
    if ((caps & CLIENT_PLUGIN_AUTH) && rd_left(r) > 0 &&
        rd_cstr(r, &out->auth_plugin, &out->auth_plugin_len) < 0)
        return -1;
    if ((caps & CLIENT_CONNECT_ATTRS) && rd_left(r) > 0 &&
        parse_attrs(r, &out->attrs, &out->attrs_len) < 0)
        return -1;
    return 0;
}

int handshake_response_parse(const uint8_t *payload, size_t len, struct handshake_response *out)
{
    struct reader r = {payload, len, 32};

    memset(out, 0, sizeof(*out));
    if (len < 32)
        return -1;
    out->capabilities = read_u32(payload);
    if (!(out->capabilities & CLIENT_MYSQL))
        out->capabilities |= (uint64_t)read_u32(payload + 28) << 32;
    out->max_packet = read_u32(payload + 4);
    out->charset = payload[8];
    if (!(out->capabilities & CLIENT_PROTOCOL_41))
        return -1;
    if (len == 32) {
        out->is_ssl_request = (out->capabilities & CLIENT_SSL) != 0;
        return out->is_ssl_request ? 0 : -1;
    }
    if (rd_cstr(&r, &out->username, &out->username_len) < 0 || parse_auth_response(&r, out) < 0)
        return -1;
    return parse_response_optional(&r, out);
}

static void write_auth_response(struct writer *w, const struct handshake_response_out *in)
{
    if (in->capabilities & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA) {
        wr_lenenc(w, in->auth_response_len);
    } else if (in->capabilities & CLIENT_SECURE_CONNECTION) {
        if (in->auth_response_len > 255)
            w->overflow = true;
        wr_u8(w, (uint8_t)in->auth_response_len);
    } else {
        wr_bytes(w, in->auth_response, in->auth_response_len);
        wr_u8(w, 0);
        return;
    }
    wr_bytes(w, in->auth_response, in->auth_response_len);
}

/* The 32 fixed bytes both the SSL request and the response start with;
 * MariaDB's extended capabilities fill the last 4. */
static void write_response_start(struct writer *w, const struct handshake_response_out *in)
{
    wr_u32(w, (uint32_t)in->capabilities);
    wr_u32(w, in->max_packet);
    wr_u8(w, in->charset);
    wr_zeros(w, 19);
    wr_u32(w, (uint32_t)(in->capabilities >> 32));
}

size_t ssl_request_build(uint8_t *buf, size_t cap, uint8_t seq,
                         const struct handshake_response_out *in)
{
    struct writer w = wr_begin(buf, cap);

    write_response_start(&w, in);
    return wr_finish(&w, seq);
}

size_t handshake_response_build(uint8_t *buf, size_t cap, uint8_t seq,
                                const struct handshake_response_out *in)
{
    struct writer w = wr_begin(buf, cap);

    write_response_start(&w, in);
    wr_cstr(&w, in->username);
    write_auth_response(&w, in);
    if (in->capabilities & CLIENT_CONNECT_WITH_DB)
        wr_cstr(&w, in->database);
    if (in->capabilities & CLIENT_PLUGIN_AUTH)
        wr_cstr(&w, in->auth_plugin);
    if ((in->capabilities & CLIENT_CONNECT_ATTRS) && in->attrs)
        wr_bytes(&w, in->attrs, in->attrs_len);
    else if (in->capabilities & CLIENT_CONNECT_ATTRS)
        wr_u8(&w, 0); /* empty attribute block */
    return wr_finish(&w, seq);
}

int auth_switch_parse(const uint8_t *payload, size_t len, struct auth_switch *out)
{
    struct reader r = {payload, len, 1};

    memset(out, 0, sizeof(*out));
    if (len < 2 || payload[0] != PACKET_EOF)
        return -1;
    if (rd_cstr(&r, &out->plugin, &out->plugin_len) < 0)
        return -1;
    out->data = payload + r.pos;
    out->data_len = rd_left(&r);
    if (out->data_len > 0 && out->data[out->data_len - 1] == 0)
        out->data_len--;
    return 0;
}

/* Without CLIENT_SECURE_CONNECTION the auth response is NUL-terminated. */
static int parse_change_user_auth(struct reader *r, uint32_t caps, struct change_user *out)
{
    const uint8_t *b;
    const char *s;

    if (caps & CLIENT_SECURE_CONNECTION) {
        if (rd_bytes(r, 1, &b) < 0)
            return -1;
        out->auth_response_len = b[0];
        return rd_bytes(r, b[0], &out->auth_response);
    }
    out->auth_response = r->p + r->pos;
    return rd_cstr(r, &s, &out->auth_response_len);
}

/* Charset, plugin and attributes: old clients stop after the database, so
 * each part is read only when bytes remain. */
static int parse_change_user_optional(struct reader *r, uint32_t caps, struct change_user *out)
{
    const uint8_t *b;

    if (rd_left(r) == 0)
        return 0;
    if (rd_bytes(r, 2, &b) < 0)
        return -1;
    out->charset = read_u16(b);
    if ((caps & CLIENT_PLUGIN_AUTH) && rd_left(r) > 0 &&
        rd_cstr(r, &out->auth_plugin, &out->auth_plugin_len) < 0)
        return -1;
    if ((caps & CLIENT_CONNECT_ATTRS) && rd_left(r) > 0 &&
        parse_attrs(r, &out->attrs, &out->attrs_len) < 0)
        return -1;
    return 0;
}

int change_user_parse(const uint8_t *payload, size_t len, uint32_t caps, struct change_user *out)
{
    struct reader r = {payload, len, 0};

    memset(out, 0, sizeof(*out));
    if (rd_cstr(&r, &out->username, &out->username_len) < 0 ||
        parse_change_user_auth(&r, caps, out) < 0 ||
        rd_cstr(&r, &out->database, &out->database_len) < 0)
        return -1;
    return parse_change_user_optional(&r, caps, out);
}

/* The data is followed by a NUL, as servers send the scramble. */
size_t auth_switch_build(uint8_t *buf, size_t cap, uint8_t seq, const char *plugin,
                         const uint8_t *data, size_t data_len)
{
    struct writer w = wr_begin(buf, cap);

    wr_u8(&w, PACKET_EOF);
    wr_cstr(&w, plugin);
    wr_bytes(&w, data, data_len);
    wr_u8(&w, 0);
    return wr_finish(&w, seq);
}

size_t raw_packet_build(uint8_t *buf, size_t cap, uint8_t seq, const uint8_t *payload, size_t len)
{
    struct writer w = wr_begin(buf, cap);

    wr_bytes(&w, payload, len);
    return wr_finish(&w, seq);
}
