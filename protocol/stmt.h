/* Prepared-statement packets. The proxy owns the statement ids its clients
 * see and maps them to each backend's own ids, so it rewrites ids in place
 * and, when a backend has never seen a statement's parameter types (the
 * client bound them on an execute that ran elsewhere), rebuilds the execute
 * packet with the types bound. */
#ifndef SY_PROTOCOL_STMT_H
#define SY_PROTOCOL_STMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CURSOR_TYPE_READ_ONLY 0x01

/* COM_STMT_EXECUTE payload, parsed. Pointers point into the payload. */
struct stmt_execute {
    uint32_t stmt_id;
    uint8_t flags;              /* cursor type */
    uint32_t iterations;
    const uint8_t *null_bitmap; /* (num_params + 7) / 8 bytes; NULL when num_params == 0 */
    size_t null_bitmap_len;
    bool new_params_bound;
    const uint8_t *types;       /* 2 bytes per parameter when new_params_bound */
    size_t types_len;
    const uint8_t *values;      /* the rest of the packet */
    size_t values_len;
};

/* payload starts with the command byte (0x17). num_params comes from the
 * statement's PREPARE_OK. Returns 0, or -1 when malformed/truncated. */
int stmt_execute_parse(const uint8_t *payload, size_t len, uint16_t num_params,
                       struct stmt_execute *out);

/* Size of the whole packet (headers included, split into 16 MiB physical
 * packets when needed) that stmt_execute_build would write. */
size_t stmt_execute_build_size(const struct stmt_execute *src, size_t types_len);

/* Write a complete COM_STMT_EXECUTE packet (seq 0) for stmt_id with
 * new_params_bound = 1 and the given types, copying flags, iterations, the
 * NULL bitmap and the values from src. Returns total bytes, or 0 if cap is
 * too small. */
size_t stmt_execute_build(uint8_t *buf, size_t cap, uint32_t stmt_id,
                          const struct stmt_execute *src, const uint8_t *types, size_t types_len);

/* COM_STMT_BULK_EXECUTE (MariaDB, MARIADB_CLIENT_STMT_BULK_OPERATIONS): the
 * command byte 0xFA, stmt id, flags u16, the parameter types (2 bytes each)
 * when STMT_BULK_FLAG_CLIENT_SEND_TYPES, then rows of indicator + value per
 * parameter. Pointers point into the payload. */
#define STMT_BULK_FLAG_SEND_UNIT_RESULTS 64
#define STMT_BULK_FLAG_CLIENT_SEND_TYPES 128

struct stmt_bulk {
    uint32_t stmt_id;
    uint16_t flags;
    const uint8_t *types; /* NULL unless STMT_BULK_FLAG_CLIENT_SEND_TYPES */
    size_t types_len;
    const uint8_t *rows;
    size_t rows_len;
};

/* payload starts with the command byte. Returns 0, or -1 when truncated. */
int stmt_bulk_parse(const uint8_t *payload, size_t len, uint16_t num_params, struct stmt_bulk *out);

/* Size of the whole packet stmt_bulk_build writes (headers included). */
size_t stmt_bulk_build_size(const struct stmt_bulk *src, size_t types_len);

/* Write a complete COM_STMT_BULK_EXECUTE packet (seq 0) for stmt_id with
 * the given types sent (STMT_BULK_FLAG_CLIENT_SEND_TYPES), copying the other
 * flags and the rows from src. Returns total bytes, or 0 if cap is too
 * small. */
size_t stmt_bulk_build(uint8_t *buf, size_t cap, uint32_t stmt_id, const struct stmt_bulk *src,
                       const uint8_t *types, size_t types_len);

/* The statement id of COM_STMT_EXECUTE / BULK_EXECUTE / SEND_LONG_DATA /
 * CLOSE / RESET / FETCH sits right after the command byte. */
uint32_t stmt_id_read(const uint8_t *payload_after_command);
void stmt_id_write(uint8_t *payload_after_command, uint32_t id);

#endif
