#include "protocol/packet.h"

#include <string.h>

void packet_write_header(uint8_t *hdr, uint32_t payload_len, uint8_t seq)
{
    write_u24(hdr, payload_len);
    hdr[3] = seq;
}

uint16_t read_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

uint32_t read_u24(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16);
}

uint32_t read_u32(const uint8_t *p) { return read_u24(p) | ((uint32_t)p[3] << 24); }

uint64_t read_u64(const uint8_t *p) { return (uint64_t)read_u32(p) | ((uint64_t)read_u32(p + 4) << 32); }

void write_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void write_u24(uint8_t *p, uint32_t v)
{
    write_u16(p, (uint16_t)v);
    p[2] = (uint8_t)(v >> 16);
}

void write_u32(uint8_t *p, uint32_t v)
{
    write_u24(p, v);
    p[3] = (uint8_t)(v >> 24);
}

static void write_u64(uint8_t *p, uint64_t v)
{
    write_u32(p, (uint32_t)v);
    write_u32(p + 4, (uint32_t)(v >> 32));
}

size_t lenenc_int_read(const uint8_t *p, size_t len, uint64_t *out, bool *is_null)
{
    if (is_null)
        *is_null = false;
    if (len == 0)
        return 0;
    switch (p[0]) {
    case 0xFB:
        if (is_null)
            *is_null = true;
        return 0;
    case 0xFC:
        if (len < 3)
            return 0;
        *out = read_u16(p + 1);
        return 3;
    case 0xFD:
        if (len < 4)
            return 0;
        *out = read_u24(p + 1);
        return 4;
    case 0xFE:
        if (len < 9)
            return 0;
        *out = read_u64(p + 1);
        return 9;
    case 0xFF:
        return 0;
    default:
        *out = p[0];
        return 1;
    }
}

size_t lenenc_int_size(uint64_t v)
{
    if (v < 0xFB)
        return 1;
    if (v <= 0xFFFF)
        return 3;
    if (v <= 0xFFFFFF)
        return 4;
    return 9;
}

size_t lenenc_int_write(uint8_t *p, size_t cap, uint64_t v)
{
    size_t n = lenenc_int_size(v);
    if (cap < n)
        return 0;
    switch (n) {
    case 1:
        p[0] = (uint8_t)v;
        break;
    case 3:
        p[0] = 0xFC;
        write_u16(p + 1, (uint16_t)v);
        break;
    case 4:
        p[0] = 0xFD;
        write_u24(p + 1, (uint32_t)v);
        break;
    default:
        p[0] = 0xFE;
        write_u64(p + 1, v);
        break;
    }
    return n;
}

size_t lenenc_str_read(const uint8_t *p, size_t len, const uint8_t **str, uint64_t *str_len)
{
    uint64_t n;
    size_t used = lenenc_int_read(p, len, &n, NULL);
    if (used == 0 || n > len - used)
        return 0;
    *str = p + used;
    *str_len = n;
    return used + (size_t)n;
}

/* The part of an OK packet after status/warnings. With session tracking the
 * info string is length-encoded (servers omit it when empty and nothing
 * follows) and may be followed by the session-state block. */
static int ok_parse_tail(const uint8_t *p, size_t len, uint32_t caps, struct ok_packet *out)
{
    uint64_t n;
    size_t used;

    if (!(caps & CLIENT_SESSION_TRACK)) {
        out->info = p;
        out->info_len = len;
        return 0;
    }
    if (len == 0)
        return 0;
    used = lenenc_str_read(p, len, &out->info, &n);
    if (used == 0)
        return -1;
    out->info_len = (size_t)n;
    if (!(out->status & SERVER_SESSION_STATE_CHANGED) || used == len)
        return 0;
    if (lenenc_str_read(p + used, len - used, &out->session_state, &n) == 0)
        return -1;
    out->session_state_len = (size_t)n;
    return 0;
}

int ok_packet_parse(const uint8_t *payload, size_t len, uint32_t caps, struct ok_packet *out)
{
    size_t pos = 1, used;

    memset(out, 0, sizeof(*out));
    if (len < 1 || (payload[0] != PACKET_OK && payload[0] != PACKET_EOF))
        return -1;
    used = lenenc_int_read(payload + pos, len - pos, &out->affected_rows, NULL);
    if (used == 0)
        return -1;
    pos += used;
    used = lenenc_int_read(payload + pos, len - pos, &out->last_insert_id, NULL);
    if (used == 0)
        return -1;
    pos += used;
    if (caps & CLIENT_PROTOCOL_41) {
        if (len - pos < 4)
            return -1;
        out->status = read_u16(payload + pos);
        out->warnings = read_u16(payload + pos + 2);
        pos += 4;
    } else if (caps & CLIENT_TRANSACTIONS) {
        if (len - pos < 2)
            return -1;
        out->status = read_u16(payload + pos);
        pos += 2;
    }
    return ok_parse_tail(payload + pos, len - pos, caps, out);
}

int err_packet_parse(const uint8_t *payload, size_t len, struct err_packet *out)
{
    size_t pos = 3;

    if (len < 3 || payload[0] != PACKET_ERR)
        return -1;
    out->code = read_u16(payload + 1);
    if (len > 3 && payload[3] == '#') {
        if (len < 9)
            return -1;
        memcpy(out->sqlstate, payload + 4, 5);
        pos = 9;
    } else {
        memcpy(out->sqlstate, "HY000", 5);
    }
    out->sqlstate[5] = '\0';
    out->message = payload + pos;
    out->message_len = len - pos;
    return 0;
}

bool packet_is_eof(const uint8_t *payload, size_t len)
{
    return len >= 1 && len < 9 && payload[0] == PACKET_EOF;
}

int eof_packet_parse(const uint8_t *payload, size_t len, uint16_t *warnings, uint16_t *status)
{
    if (!packet_is_eof(payload, len) || len < 5)
        return -1;
    *warnings = read_u16(payload + 1);
    *status = read_u16(payload + 3);
    return 0;
}

size_t ok_packet_build(uint8_t *buf, size_t cap, uint8_t seq, uint32_t caps,
                       uint64_t affected_rows, uint64_t last_insert_id,
                       uint16_t status, uint16_t warnings)
{
    size_t need = PACKET_HEADER_LEN + 1 + lenenc_int_size(affected_rows) +
                  lenenc_int_size(last_insert_id) + ((caps & CLIENT_PROTOCOL_41) ? 4 : 0);
    size_t pos = PACKET_HEADER_LEN;

    if (cap < need)
        return 0;
    buf[pos++] = PACKET_OK;
    pos += lenenc_int_write(buf + pos, cap - pos, affected_rows);
    pos += lenenc_int_write(buf + pos, cap - pos, last_insert_id);
    if (caps & CLIENT_PROTOCOL_41) {
        write_u16(buf + pos, status);
        write_u16(buf + pos + 2, warnings);
        pos += 4;
    }
    packet_write_header(buf, (uint32_t)(pos - PACKET_HEADER_LEN), seq);
    return pos;
}

/* The message is cut to what fits in cap (and in one physical packet). */
size_t err_packet_build(uint8_t *buf, size_t cap, uint8_t seq, uint16_t code,
                        const char *sqlstate, const char *message)
{
    const size_t fixed = PACKET_HEADER_LEN + 9;
    size_t msg_len = message ? strlen(message) : 0;

    if (cap < fixed)
        return 0;
    if (msg_len > cap - fixed)
        msg_len = cap - fixed;
    if (msg_len > PACKET_MAX_PAYLOAD - 1 - 9)
        msg_len = PACKET_MAX_PAYLOAD - 1 - 9;
    if (!sqlstate || strlen(sqlstate) != 5)
        sqlstate = "HY000";
    buf[4] = PACKET_ERR;
    write_u16(buf + 5, code);
    buf[7] = '#';
    memcpy(buf + 8, sqlstate, 5);
    if (msg_len)
        memcpy(buf + fixed, message, msg_len);
    packet_write_header(buf, (uint32_t)(9 + msg_len), seq);
    return fixed + msg_len;
}

size_t eof_packet_build(uint8_t *buf, size_t cap, uint8_t seq, uint16_t warnings, uint16_t status)
{
    if (cap < PACKET_HEADER_LEN + 5)
        return 0;
    packet_write_header(buf, 5, seq);
    buf[4] = PACKET_EOF;
    write_u16(buf + 5, warnings);
    write_u16(buf + 7, status);
    return PACKET_HEADER_LEN + 5;
}

int logical_packet_span(const uint8_t *buf, size_t len, size_t *wire_len, size_t *payload_len)
{
    size_t pos = 0, total = 0;
    uint32_t plen;

    do {
        if (len - pos < PACKET_HEADER_LEN)
            return 0;
        plen = packet_payload_len(buf + pos);
        if (len - pos - PACKET_HEADER_LEN < plen)
            return 0;
        pos += PACKET_HEADER_LEN + plen;
        total += plen;
    } while (plen == PACKET_MAX_PAYLOAD);
    *wire_len = pos;
    *payload_len = total;
    return 1;
}

int logical_packet_announced(const uint8_t *buf, size_t len, size_t *payload_announced,
                             size_t *wire_needed)
{
    size_t pos = 0, total = 0;
    uint32_t plen;

    do {
        if (len - pos < PACKET_HEADER_LEN) {
            if (pos == 0)
                return 0;
            *payload_announced = total;
            *wire_needed = pos + PACKET_HEADER_LEN;
            return 1;
        }
        plen = packet_payload_len(buf + pos);
        total += plen;
        pos += PACKET_HEADER_LEN + plen;
    } while (plen == PACKET_MAX_PAYLOAD && pos <= len);
    *payload_announced = total;
    *wire_needed = pos;
    return 1;
}

void logical_packet_gather(const uint8_t *buf, size_t wire_len, uint8_t *out)
{
    size_t pos = 0;

    while (wire_len - pos >= PACKET_HEADER_LEN) {
        uint32_t plen = packet_payload_len(buf + pos);
        if (plen > wire_len - pos - PACKET_HEADER_LEN)
            return;
        if (plen) {
            memcpy(out, buf + pos + PACKET_HEADER_LEN, plen);
            out += plen;
        }
        pos += PACKET_HEADER_LEN + plen;
        if (plen < PACKET_MAX_PAYLOAD)
            return;
    }
}
