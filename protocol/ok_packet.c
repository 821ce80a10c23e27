#include "protocol/ok_packet.h"

#include <string.h>

#include "protocol/packet.h"

#define TRACKED_CAPS (CLIENT_PROTOCOL_41 | CLIENT_SESSION_TRACK)

size_t ok_packet_untrack(const uint8_t *packet, size_t len, bool lenenc_info, uint8_t *out,
                         size_t cap)
{
    struct ok_packet ok;
    if (len < PACKET_HEADER_LEN + 1 || packet_payload_len(packet) != len - PACKET_HEADER_LEN ||
        ok_packet_parse(packet + PACKET_HEADER_LEN, len - PACKET_HEADER_LEN, TRACKED_CAPS, &ok) != 0)
        return 0;
    size_t info_prefix = lenenc_info && ok.info_len > 0 ? lenenc_int_size(ok.info_len) : 0;
    size_t need = PACKET_HEADER_LEN + 1 + lenenc_int_size(ok.affected_rows) +
                  lenenc_int_size(ok.last_insert_id) + 4 + info_prefix + ok.info_len;
    if (need > cap)
        return 0;
    uint8_t *p = out + PACKET_HEADER_LEN;
    *p++ = packet[PACKET_HEADER_LEN];
    p += lenenc_int_write(p, cap - (size_t)(p - out), ok.affected_rows);
    p += lenenc_int_write(p, cap - (size_t)(p - out), ok.last_insert_id);
    write_u16(p, (uint16_t)(ok.status & ~SERVER_SESSION_STATE_CHANGED));
    write_u16(p + 2, ok.warnings);
    p += 4;
    if (info_prefix > 0)
        p += lenenc_int_write(p, info_prefix, ok.info_len);
    if (ok.info_len > 0)
        memmove(p, ok.info, ok.info_len);
    packet_write_header(out, (uint32_t)(need - PACKET_HEADER_LEN), packet_seq(packet));
    return need;
}

void eof_packet_untrack(uint8_t *payload, size_t len)
{
    if (len >= 5 && payload[0] == PACKET_EOF)
        write_u16(payload + 3, (uint16_t)(read_u16(payload + 3) & ~SERVER_SESSION_STATE_CHANGED));
}
