/* OK and EOF packets as a client that did not negotiate CLIENT_SESSION_TRACK
 * reads them. The proxy's backend connections always track session state
 * (the GTID of each write arrives in its OK), so what a backend sends in the
 * tracking format is rewritten for such a client. */
#ifndef SY_PROTOCOL_OK_PACKET_H
#define SY_PROTOCOL_OK_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* packet: one whole OK packet (header included; first payload byte 0x00, or
 * 0xFE for the OK ending a result set under CLIENT_DEPRECATE_EOF) in the
 * session-tracking format. Writes to out the same packet (same sequence id)
 * as the server would have sent it without tracking: no session-state
 * block, SERVER_SESSION_STATE_CHANGED cleared, and the info string
 * length-encoded (lenenc_info: MariaDB does so for every client) or plain
 * to the end of the packet (MySQL). The result is never longer than the
 * input, and out may be packet itself. Returns its length, or 0 when the
 * packet is malformed or out is too small. */
size_t ok_packet_untrack(const uint8_t *packet, size_t len, bool lenenc_info, uint8_t *out,
                         size_t cap);

/* A classic EOF payload (0xFE, warnings, status): clears
 * SERVER_SESSION_STATE_CHANGED in place. */
void eof_packet_untrack(uint8_t *payload, size_t len);

#endif
