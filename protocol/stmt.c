#include "protocol/stmt.h"

#include <string.h>

#include "protocol/packet.h"

/* Command byte, stmt id, flags, iteration count. */
#define EXECUTE_FIXED_LEN (1 + 4 + 1 + 4)
/* Command byte, stmt id, flags. */
#define BULK_FIXED_LEN (1 + 4 + 2)

uint32_t stmt_id_read(const uint8_t *payload_after_command) { return read_u32(payload_after_command); }

void stmt_id_write(uint8_t *payload_after_command, uint32_t id) { write_u32(payload_after_command, id); }

/* The parameter types (2 bytes each) at *pos, then the rest of the packet:
 * the layout an execute and a bulk execute share once types are sent. */
static int take_types_and_rest(const uint8_t *p, size_t len, size_t pos, uint16_t num_params,
                               const uint8_t **types, size_t *types_len, const uint8_t **rest,
                               size_t *rest_len)
{
    *types_len = 2 * (size_t)num_params;
    if (len - pos < *types_len)
        return -1;
    *types = p + pos;
    pos += *types_len;
    *rest = p + pos;
    *rest_len = len - pos;
    return 0;
}

/* NULL bitmap, new-params-bound flag and, when bound, the types. */
static int parse_params(const uint8_t *p, size_t len, uint16_t num_params, struct stmt_execute *out)
{
    size_t bitmap_len = ((size_t)num_params + 7) / 8;
    size_t pos = bitmap_len + 1;

    if (len < pos)
        return -1;
    out->null_bitmap = p;
    out->null_bitmap_len = bitmap_len;
    /* Servers take any non-zero byte as "bound". */
    out->new_params_bound = p[bitmap_len] != 0;
    if (out->new_params_bound)
        return take_types_and_rest(p, len, pos, num_params, &out->types, &out->types_len,
                                   &out->values, &out->values_len);
    out->values = p + pos;
    out->values_len = len - pos;
    return 0;
}

int stmt_execute_parse(const uint8_t *payload, size_t len, uint16_t num_params,
                       struct stmt_execute *out)
{
    memset(out, 0, sizeof(*out));
    if (len < EXECUTE_FIXED_LEN || payload[0] != COM_STMT_EXECUTE)
        return -1;
    out->stmt_id = stmt_id_read(payload + 1);
    out->flags = payload[5];
    out->iterations = read_u32(payload + 6);
    if (num_params > 0)
        return parse_params(payload + EXECUTE_FIXED_LEN, len - EXECUTE_FIXED_LEN, num_params, out);
    /* Without parameters the server ignores anything after the fixed part;
     * it is kept as values so a rebuild forwards the same bytes. */
    out->values = payload + EXECUTE_FIXED_LEN;
    out->values_len = len - EXECUTE_FIXED_LEN;
    return 0;
}

/* A statement has parameters exactly when it has a NULL bitmap; then the
 * bound-flag byte and the types follow it. */
static size_t execute_payload_len(const struct stmt_execute *src, size_t types_len)
{
    size_t params = src->null_bitmap_len ? src->null_bitmap_len + 1 + types_len : 0;
    return EXECUTE_FIXED_LEN + params + src->values_len;
}

/* A payload of n bytes takes n / 16M full physical packets plus a shorter
 * last one, which is empty when n is an exact multiple. */
static size_t wire_len(size_t payload_len)
{
    return payload_len + PACKET_HEADER_LEN * (payload_len / PACKET_MAX_PAYLOAD + 1);
}

size_t stmt_execute_build_size(const struct stmt_execute *src, size_t types_len)
{
    return wire_len(execute_payload_len(src, types_len));
}

/* Writes a logical packet's payload piecewise, starting a new physical
 * packet (header included) whenever the current one is full. */
struct split_writer {
    uint8_t *buf;
    size_t pos;
    size_t payload_left; /* payload bytes not yet written */
    size_t packet_left;  /* room left in the current physical packet */
    uint32_t last_len;   /* payload length of the last header written */
    uint8_t seq;
};

static void sw_header(struct split_writer *w)
{
    w->last_len = w->payload_left < PACKET_MAX_PAYLOAD ? (uint32_t)w->payload_left
                                                       : PACKET_MAX_PAYLOAD;
    packet_write_header(w->buf + w->pos, w->last_len, w->seq++);
    w->pos += PACKET_HEADER_LEN;
    w->packet_left = w->last_len;
}

static void sw_put(struct split_writer *w, const void *src, size_t n)
{
    const uint8_t *s = src;

    while (n > 0) {
        if (w->packet_left == 0)
            sw_header(w);
        size_t k = n < w->packet_left ? n : w->packet_left;
        memcpy(w->buf + w->pos, s, k);
        w->pos += k;
        s += k;
        n -= k;
        w->packet_left -= k;
        w->payload_left -= k;
    }
}

/* A full last packet would tell the reader more follows: close with an
 * empty one. */
static void sw_finish(struct split_writer *w)
{
    if (w->last_len == PACKET_MAX_PAYLOAD)
        sw_header(w);
}

/* The types must be 2 bytes for each parameter the NULL bitmap can cover,
 * or the server would read the values at the wrong offset. */
static bool types_match_bitmap(const struct stmt_execute *src, size_t types_len)
{
    if (src->null_bitmap_len == 0)
        return types_len == 0;
    return types_len % 2 == 0 && (types_len / 2 + 7) / 8 == src->null_bitmap_len;
}

size_t stmt_execute_build(uint8_t *buf, size_t cap, uint32_t stmt_id,
                          const struct stmt_execute *src, const uint8_t *types, size_t types_len)
{
    size_t payload_len = execute_payload_len(src, types_len);
    struct split_writer w = {buf, 0, payload_len, 0, 0, 0};
    uint8_t fixed[EXECUTE_FIXED_LEN];
    const uint8_t bound = 1;

    if (!types_match_bitmap(src, types_len) || cap < wire_len(payload_len))
        return 0;
    fixed[0] = COM_STMT_EXECUTE;
    stmt_id_write(fixed + 1, stmt_id);
    fixed[5] = src->flags;
    write_u32(fixed + 6, src->iterations);
    sw_put(&w, fixed, sizeof(fixed));
    if (src->null_bitmap_len) {
        sw_put(&w, src->null_bitmap, src->null_bitmap_len);
        sw_put(&w, &bound, 1);
        sw_put(&w, types, types_len);
    }
    sw_put(&w, src->values, src->values_len);
    sw_finish(&w);
    return w.pos;
}

int stmt_bulk_parse(const uint8_t *payload, size_t len, uint16_t num_params, struct stmt_bulk *out)
{
    size_t pos = BULK_FIXED_LEN;

    memset(out, 0, sizeof(*out));
    if (len < BULK_FIXED_LEN || payload[0] != COM_STMT_BULK_EXECUTE)
        return -1;
    out->stmt_id = stmt_id_read(payload + 1);
    out->flags = read_u16(payload + 5);
    if (out->flags & STMT_BULK_FLAG_CLIENT_SEND_TYPES)
        return take_types_and_rest(payload, len, pos, num_params, &out->types, &out->types_len,
                                   &out->rows, &out->rows_len);
    out->rows = payload + pos;
    out->rows_len = len - pos;
    return 0;
}

size_t stmt_bulk_build_size(const struct stmt_bulk *src, size_t types_len)
{
    return wire_len(BULK_FIXED_LEN + types_len + src->rows_len);
}

size_t stmt_bulk_build(uint8_t *buf, size_t cap, uint32_t stmt_id, const struct stmt_bulk *src,
                       const uint8_t *types, size_t types_len)
{
    size_t payload_len = BULK_FIXED_LEN + types_len + src->rows_len;
    struct split_writer w = {buf, 0, payload_len, 0, 0, 0};
    uint8_t fixed[BULK_FIXED_LEN];

    if (types_len % 2 != 0 || cap < wire_len(payload_len))
        return 0;
    fixed[0] = COM_STMT_BULK_EXECUTE;
    stmt_id_write(fixed + 1, stmt_id);
    write_u16(fixed + 5, (uint16_t)(src->flags | STMT_BULK_FLAG_CLIENT_SEND_TYPES));
    sw_put(&w, fixed, sizeof(fixed));
    sw_put(&w, types, types_len);
    sw_put(&w, src->rows, src->rows_len);
    sw_finish(&w);
    return w.pos;
}
