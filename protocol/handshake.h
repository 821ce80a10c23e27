/* Connection-phase packets, both sides: the proxy acts as a server towards
 * clients and as a client towards backends. Parsers point into the caller's
 * payload (no copies); builders write whole packets, header included. */
#ifndef SY_PROTOCOL_HANDSHAKE_H
#define SY_PROTOCOL_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#define SCRAMBLE_LEN 20
#define AUTH_PLUGIN_NATIVE "mysql_native_password"
#define AUTH_PLUGIN_CACHING_SHA2 "caching_sha2_password"

/* A MariaDB server leaves this bit (CLIENT_LONG_PASSWORD) out of its greeting
 * to say that 4 bytes of extended capabilities follow in the greeting's
 * filler; a client that also leaves it out answers with its own extended
 * capabilities in the handshake response's filler. They are carried here
 * as bits 32-63 of a 64-bit capability set. */
#define CLIENT_MYSQL 0x00000001u
#define MARIADB_CLIENT_PROGRESS (1ull << 32)
#define MARIADB_CLIENT_COM_MULTI (1ull << 33)
#define MARIADB_CLIENT_STMT_BULK_OPERATIONS (1ull << 34)
#define MARIADB_CLIENT_EXTENDED_METADATA (1ull << 35)
#define MARIADB_CLIENT_CACHE_METADATA (1ull << 36)
#define MARIADB_CLIENT_BULK_UNIT_RESULTS (1ull << 37)

/* Initial Handshake Packet (protocol version 10), as sent by a server. */
struct server_handshake {
    uint8_t protocol_version;
    const char *server_version; /* points into payload, NUL-terminated there */
    uint32_t connection_id;
    uint8_t scramble[SCRAMBLE_LEN + 12]; /* auth-plugin-data, both parts */
    size_t scramble_len;                 /* usually 20 */
    uint64_t capabilities; /* lower and upper 16 bits; MariaDB's extended ones
                              above, when CLIENT_MYSQL is not set */
    uint8_t charset;
    uint16_t status;
    const char *auth_plugin; /* NULL-safe: "" when absent; points into payload */
    size_t auth_plugin_len;
};

/* Parse a server greeting. Returns 0, or -1 if malformed (also for an ERR
 * packet, which the caller checks first by payload[0] == 0xFF). */
int server_handshake_parse(const uint8_t *payload, size_t len, struct server_handshake *out);

/* Build the proxy's own greeting to a client (seq 0). scramble must be 20
 * bytes with no NUL bytes. Advertises auth plugin mysql_native_password.
 * Extended capabilities (bits 32-63) are announced as MariaDB does: in the
 * filler, with CLIENT_MYSQL left out.
 * Returns total bytes written (header included) or 0 if cap is too small. */
size_t server_handshake_build(uint8_t *buf, size_t cap, const char *server_version,
                              uint32_t connection_id, const uint8_t scramble[SCRAMBLE_LEN],
                              uint64_t capabilities, uint8_t charset, uint16_t status);

/* Handshake Response 41, as sent by a client (also used to detect the short
 * SSL request: is_ssl_request set when the payload is only 32 bytes with
 * CLIENT_SSL). All pointers point into the payload. */
struct handshake_response {
    uint64_t capabilities; /* MariaDB's extended ones in bits 32-63 */
    uint32_t max_packet;
    uint8_t charset;
    int is_ssl_request;
    const char *username; /* NUL-terminated in payload */
    size_t username_len;
    const uint8_t *auth_response;
    size_t auth_response_len;
    const char *database; /* NULL when absent */
    size_t database_len;
    const char *auth_plugin; /* NULL when absent */
    size_t auth_plugin_len;
    const uint8_t *attrs; /* the whole length-encoded attribute block, prefix included; NULL when absent */
    size_t attrs_len;
};

/* Returns 0, or -1 if malformed (pre-4.1 clients are rejected as malformed). */
int handshake_response_parse(const uint8_t *payload, size_t len, struct handshake_response *out);

/* What the proxy sends a backend as the client. */
struct handshake_response_out {
    uint64_t capabilities; /* extended ones (bits 32-63) go into the filler:
                              only for a server that did not offer CLIENT_MYSQL */
    uint32_t max_packet;
    uint8_t charset;
    const char *username;
    const uint8_t *auth_response;
    size_t auth_response_len;
    const char *database;    /* NULL or "" for none */
    const char *auth_plugin; /* NULL for none */
    const uint8_t *attrs;    /* whole attribute block incl. its lenenc length, or NULL */
    size_t attrs_len;
};

/* Build a Handshake Response 41 packet with sequence id seq.
 * Returns total bytes or 0 if cap is too small. */
size_t handshake_response_build(uint8_t *buf, size_t cap, uint8_t seq,
                                const struct handshake_response_out *in);

/* The SSL request that precedes it under TLS: its first 32 bytes
 * (capabilities with CLIENT_SSL, max packet, charset, filler). */
size_t ssl_request_build(uint8_t *buf, size_t cap, uint8_t seq,
                         const struct handshake_response_out *in);

/* Auth Switch Request (0xFE, plugin name, plugin data). */
struct auth_switch {
    const char *plugin;
    size_t plugin_len;
    const uint8_t *data; /* trailing NUL stripped */
    size_t data_len;
};
int auth_switch_parse(const uint8_t *payload, size_t len, struct auth_switch *out);
size_t auth_switch_build(uint8_t *buf, size_t cap, uint8_t seq, const char *plugin,
                         const uint8_t *data, size_t data_len);

/* COM_CHANGE_USER payload (after the command byte): user NUL-terminated,
 * auth response (1-byte length with CLIENT_SECURE_CONNECTION, else
 * NUL-terminated), database NUL-terminated, then optionally charset (2 bytes),
 * auth plugin name (CLIENT_PLUGIN_AUTH) and the attribute block
 * (CLIENT_CONNECT_ATTRS). Pointers point into the payload; absent optional
 * parts are NULL / 0. */
struct change_user {
    const char *username;
    size_t username_len;
    const uint8_t *auth_response;
    size_t auth_response_len;
    const char *database;
    size_t database_len;
    uint16_t charset; /* 0 when absent */
    const char *auth_plugin;
    size_t auth_plugin_len;
    const uint8_t *attrs;
    size_t attrs_len;
};
int change_user_parse(const uint8_t *payload, size_t len, uint32_t caps, struct change_user *out);

/* A raw packet (header + payload bytes as given), e.g. an auth reply. */
size_t raw_packet_build(uint8_t *buf, size_t cap, uint8_t seq, const uint8_t *payload, size_t len);

#endif
