/* MySQL wire-format basics: packet headers, length-encoded values, and the
 * generic OK / ERR / EOF packets. Pure functions over byte arrays: no I/O,
 * no allocation. */
#ifndef SY_PROTOCOL_PACKET_H
#define SY_PROTOCOL_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PACKET_HEADER_LEN 4
/* A physical packet carrying exactly this many payload bytes is continued by
 * the next one (payloads of 16 MiB and more are split). */
#define PACKET_MAX_PAYLOAD 0xFFFFFFu

/* Capability flags (subset the proxy reasons about). */
#define CLIENT_LONG_PASSWORD 0x00000001u
#define CLIENT_FOUND_ROWS 0x00000002u
#define CLIENT_LONG_FLAG 0x00000004u
#define CLIENT_CONNECT_WITH_DB 0x00000008u
#define CLIENT_NO_SCHEMA 0x00000010u
#define CLIENT_COMPRESS 0x00000020u
#define CLIENT_ODBC 0x00000040u
#define CLIENT_LOCAL_FILES 0x00000080u
#define CLIENT_IGNORE_SPACE 0x00000100u
#define CLIENT_PROTOCOL_41 0x00000200u
#define CLIENT_INTERACTIVE 0x00000400u
#define CLIENT_SSL 0x00000800u
#define CLIENT_IGNORE_SIGPIPE 0x00001000u
#define CLIENT_TRANSACTIONS 0x00002000u
#define CLIENT_RESERVED 0x00004000u
#define CLIENT_SECURE_CONNECTION 0x00008000u
#define CLIENT_MULTI_STATEMENTS 0x00010000u
#define CLIENT_MULTI_RESULTS 0x00020000u
#define CLIENT_PS_MULTI_RESULTS 0x00040000u
#define CLIENT_PLUGIN_AUTH 0x00080000u
#define CLIENT_CONNECT_ATTRS 0x00100000u
#define CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA 0x00200000u
#define CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS 0x00400000u
#define CLIENT_SESSION_TRACK 0x00800000u
#define CLIENT_DEPRECATE_EOF 0x01000000u

/* Server status flags (OK and EOF packets). */
#define SERVER_STATUS_IN_TRANS 0x0001u
#define SERVER_STATUS_AUTOCOMMIT 0x0002u
#define SERVER_MORE_RESULTS_EXISTS 0x0008u
#define SERVER_STATUS_CURSOR_EXISTS 0x0040u
#define SERVER_STATUS_LAST_ROW_SENT 0x0080u
#define SERVER_PS_OUT_PARAMS 0x1000u
#define SERVER_STATUS_IN_TRANS_READONLY 0x2000u
#define SERVER_SESSION_STATE_CHANGED 0x4000u

/* Command bytes. */
enum mysql_command {
    COM_SLEEP = 0x00,
    COM_QUIT = 0x01,
    COM_INIT_DB = 0x02,
    COM_QUERY = 0x03,
    COM_FIELD_LIST = 0x04,
    COM_CREATE_DB = 0x05,
    COM_DROP_DB = 0x06,
    COM_REFRESH = 0x07,
    COM_SHUTDOWN = 0x08,
    COM_STATISTICS = 0x09,
    COM_PROCESS_INFO = 0x0a,
    COM_CONNECT = 0x0b,
    COM_PROCESS_KILL = 0x0c,
    COM_DEBUG = 0x0d,
    COM_PING = 0x0e,
    COM_TIME = 0x0f,
    COM_DELAYED_INSERT = 0x10,
    COM_CHANGE_USER = 0x11,
    COM_BINLOG_DUMP = 0x12,
    COM_TABLE_DUMP = 0x13,
    COM_CONNECT_OUT = 0x14,
    COM_REGISTER_SLAVE = 0x15,
    COM_STMT_PREPARE = 0x16,
    COM_STMT_EXECUTE = 0x17,
    COM_STMT_SEND_LONG_DATA = 0x18,
    COM_STMT_CLOSE = 0x19,
    COM_STMT_RESET = 0x1a,
    COM_SET_OPTION = 0x1b,
    COM_STMT_FETCH = 0x1c,
    COM_DAEMON = 0x1d,
    COM_BINLOG_DUMP_GTID = 0x1e,
    COM_RESET_CONNECTION = 0x1f,
    COM_STMT_BULK_EXECUTE = 0xfa, /* MariaDB */
};

/* Error codes the proxy itself sends. */
#define ER_ACCESS_DENIED_ERROR 1045
#define ER_UNKNOWN_COM_ERROR 1047
#define ER_HANDSHAKE_ERROR 1043
#define ER_OUT_OF_RESOURCES 1041
#define ER_NET_PACKET_TOO_LARGE 1153
#define ER_UNKNOWN_ERROR 1105
#define ER_SERVER_SHUTDOWN 1053
#define ER_NOT_SUPPORTED_AUTH_MODE 1251
#define ER_NOT_SUPPORTED_YET 1235
#define ER_CON_COUNT_ERROR 1040
#define ER_HOST_NOT_PRIVILEGED 1130
#define ER_TOO_MANY_USER_CONNECTIONS 1203
#define ER_SECURE_TRANSPORT_REQUIRED 3159
#define ER_WRONG_VALUE_FOR_VAR 1231
#define ER_LOCK_WAIT_TIMEOUT 1205 /* what the server says when a causal read times out */
/* A backend that cannot be reached or is lost. Server codes, not the client
 * library's own 2003/2013: libmariadb reads an ERR packet with a code in the
 * client range 2000-2999 as "Received malformed packet" (2027). */
#define ER_CONNECT_TO_FOREIGN_DATA_SOURCE 1429
#define ER_NET_READ_ERROR 1158

/* Header of one physical packet. */
static inline uint32_t packet_payload_len(const uint8_t *hdr)
{
    return (uint32_t)hdr[0] | ((uint32_t)hdr[1] << 8) | ((uint32_t)hdr[2] << 16);
}
static inline uint8_t packet_seq(const uint8_t *hdr) { return hdr[3]; }
void packet_write_header(uint8_t *hdr, uint32_t payload_len, uint8_t seq);

/* Little-endian fixed-width integers. */
uint16_t read_u16(const uint8_t *p);
uint32_t read_u24(const uint8_t *p);
uint32_t read_u32(const uint8_t *p);
uint64_t read_u64(const uint8_t *p);
void write_u16(uint8_t *p, uint16_t v);
void write_u24(uint8_t *p, uint32_t v);
void write_u32(uint8_t *p, uint32_t v);

/* Length-encoded integer at p (at most len bytes available).
 * Returns bytes used (1, 3, 4 or 9), or 0 when truncated or malformed
 * (0xFF, or 0xFB which means NULL in rows: *is_null set if non-NULL ptr). */
size_t lenenc_int_read(const uint8_t *p, size_t len, uint64_t *out, bool *is_null);
/* Writes v; returns bytes written, or 0 if cap is too small. */
size_t lenenc_int_write(uint8_t *p, size_t cap, uint64_t v);
size_t lenenc_int_size(uint64_t v);
/* Length-encoded string: sets *str / *str_len to point into p.
 * Returns bytes used or 0 if truncated. */
size_t lenenc_str_read(const uint8_t *p, size_t len, const uint8_t **str, uint64_t *str_len);

/* Payload classification of a response's first byte. */
#define PACKET_OK 0x00
#define PACKET_EOF 0xFE
#define PACKET_ERR 0xFF
#define PACKET_LOCAL_INFILE 0xFB

struct ok_packet {
    uint64_t affected_rows;
    uint64_t last_insert_id;
    uint16_t status;
    uint16_t warnings;
    const uint8_t *info; /* points into the payload */
    size_t info_len;
    const uint8_t *session_state; /* raw session-state-info block, or NULL */
    size_t session_state_len;
};

struct err_packet {
    uint16_t code;
    char sqlstate[6]; /* 5 chars + NUL; "HY000" when the packet has none */
    const uint8_t *message; /* points into the payload */
    size_t message_len;
};

/* Parse an OK packet payload (first byte 0x00, or 0xFE for the OK that ends a
 * result set under CLIENT_DEPRECATE_EOF). caps = negotiated capabilities.
 * Returns 0, or -1 when malformed. */
int ok_packet_parse(const uint8_t *payload, size_t len, uint32_t caps, struct ok_packet *out);
/* Parse an ERR packet payload (first byte 0xFF). Returns 0 or -1. */
int err_packet_parse(const uint8_t *payload, size_t len, struct err_packet *out);
/* Parse a classic EOF payload (0xFE, len < 9): warnings and status. */
int eof_packet_parse(const uint8_t *payload, size_t len, uint16_t *warnings, uint16_t *status);
/* True when payload is a classic EOF packet (0xFE and fewer than 9 bytes). */
bool packet_is_eof(const uint8_t *payload, size_t len);

/* Build whole packets (header included) into buf. Return total bytes written,
 * or 0 if cap is too small. */
size_t ok_packet_build(uint8_t *buf, size_t cap, uint8_t seq, uint32_t caps,
                       uint64_t affected_rows, uint64_t last_insert_id,
                       uint16_t status, uint16_t warnings);
/* message is NUL-terminated; sqlstate is 5 chars. Long messages are cut. */
size_t err_packet_build(uint8_t *buf, size_t cap, uint8_t seq, uint16_t code,
                        const char *sqlstate, const char *message);
size_t eof_packet_build(uint8_t *buf, size_t cap, uint8_t seq, uint16_t warnings, uint16_t status);

/* Client-side framing: find one complete logical packet (one or more
 * physical packets, the last shorter than PACKET_MAX_PAYLOAD) at the start of
 * buf. Returns 1 and sets *wire_len (bytes incl. all headers) and
 * *payload_len (sum of payloads) when complete; 0 when more bytes are needed. */
int logical_packet_span(const uint8_t *buf, size_t len, size_t *wire_len, size_t *payload_len);
/* Copy the payload of a complete logical packet found by logical_packet_span
 * into out (payload_len bytes), dropping the headers in between. */
void logical_packet_gather(const uint8_t *buf, size_t wire_len, uint8_t *out);
/* What the headers at the start of buf announce for the logical packet they
 * begin, complete or not: the payload bytes announced so far (each chunk whose
 * header has arrived) and the wire bytes needed to hold every announced chunk
 * (plus the next header when the last one seen is full). Returns 0 when not
 * even the first header is there. */
int logical_packet_announced(const uint8_t *buf, size_t len, size_t *payload_announced,
                             size_t *wire_needed);

#endif
