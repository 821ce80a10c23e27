#include "protocol/resultset.h"

#include <string.h>

#include "protocol/handshake.h"
#include "protocol/packet.h"

#define CHARSET_UTF8MB4_GENERAL_CI 45
#define COLUMN_TYPE_VAR_STRING 0xFD
/* Display length announced for every column: VARCHAR(1024) in utf8mb4. */
#define COLUMN_LENGTH (1024 * 4)
/* Length of the fixed fields that follow org_name in a column definition. */
#define COLUMN_FIXED_FIELDS_LEN 0x0c
#define NULL_VALUE 0xFB

static void put(struct resultset_writer *w, const void *src, size_t n)
{
    if (w->overflow || w->cap - w->len < n) {
        w->overflow = true;
        return;
    }
    if (n)
        memcpy(w->buf + w->len, src, n);
    w->len += n;
}

static void put_u8(struct resultset_writer *w, uint8_t v) { put(w, &v, 1); }

static void put_u16(struct resultset_writer *w, uint16_t v)
{
    uint8_t b[2];
    write_u16(b, v);
    put(w, b, 2);
}

static void put_u32(struct resultset_writer *w, uint32_t v)
{
    uint8_t b[4];
    write_u32(b, v);
    put(w, b, 4);
}

static void put_lenenc(struct resultset_writer *w, uint64_t v)
{
    uint8_t b[9];
    put(w, b, lenenc_int_write(b, sizeof(b), v));
}

static void put_lenenc_str(struct resultset_writer *w, const char *s)
{
    size_t n = strlen(s);
    put_lenenc(w, n);
    put(w, s, n);
}

/* Reserves the header; returns where the packet starts. */
static size_t packet_open(struct resultset_writer *w)
{
    size_t start = w->len;
    static const uint8_t hdr[PACKET_HEADER_LEN];
    put(w, hdr, sizeof(hdr));
    return start;
}

/* Fills the header of the packet opened at start. A payload of 16 MiB or
 * more would need splitting, which these small answers never need: it is
 * reported as overflow. */
static void packet_close(struct resultset_writer *w, size_t start)
{
    size_t payload = w->len - start - PACKET_HEADER_LEN;

    if (w->overflow)
        return;
    if (payload >= PACKET_MAX_PAYLOAD) {
        w->overflow = true;
        return;
    }
    packet_write_header(w->buf + start, (uint32_t)payload, w->seq++);
}

void resultset_begin(struct resultset_writer *w, uint8_t *buf, size_t cap, uint8_t seq,
                     uint64_t caps, unsigned ncolumns)
{
    size_t start;

    *w = (struct resultset_writer){.buf = buf, .cap = cap, .seq = seq, .caps = caps};
    start = packet_open(w);
    put_lenenc(w, ncolumns);
    packet_close(w, start);
}

void resultset_column(struct resultset_writer *w, const char *name)
{
    size_t start = packet_open(w);

    put_lenenc_str(w, "def");
    put_lenenc_str(w, ""); /* schema */
    put_lenenc_str(w, ""); /* table */
    put_lenenc_str(w, ""); /* org_table */
    put_lenenc_str(w, name);
    put_lenenc_str(w, name); /* org_name */
    if (w->caps & MARIADB_CLIENT_EXTENDED_METADATA)
        put_lenenc_str(w, ""); /* extended type info: none */
    put_u8(w, COLUMN_FIXED_FIELDS_LEN);
    put_u16(w, CHARSET_UTF8MB4_GENERAL_CI);
    put_u32(w, COLUMN_LENGTH);
    put_u8(w, COLUMN_TYPE_VAR_STRING);
    put_u16(w, 0); /* flags */
    put_u8(w, 0);  /* decimals */
    put_u16(w, 0); /* filler */
    packet_close(w, start);
}

/* Classic EOF: 0xFE, warnings, status. */
static void put_eof(struct resultset_writer *w, uint16_t status)
{
    size_t start = packet_open(w);

    put_u8(w, PACKET_EOF);
    put_u16(w, 0);
    put_u16(w, status);
    packet_close(w, start);
}

/* The status is not known yet here; the terminator carries the final one. */
void resultset_columns_end(struct resultset_writer *w)
{
    if (!(w->caps & CLIENT_DEPRECATE_EOF))
        put_eof(w, 0);
}

void resultset_row(struct resultset_writer *w, const char *const *values, unsigned n)
{
    size_t start = packet_open(w);

    for (unsigned i = 0; i < n; i++) {
        if (values[i])
            put_lenenc_str(w, values[i]);
        else
            put_u8(w, NULL_VALUE);
    }
    packet_close(w, start);
}

/* Under CLIENT_DEPRECATE_EOF an OK packet whose header byte is 0xFE (not
 * 0x00) ends the rows, so clients can tell it from a row. */
void resultset_end(struct resultset_writer *w, uint16_t status)
{
    size_t n;

    if (!(w->caps & CLIENT_DEPRECATE_EOF)) {
        put_eof(w, status);
        return;
    }
    if (w->overflow)
        return;
    n = ok_packet_build(w->buf + w->len, w->cap - w->len, w->seq, w->caps, 0, 0, status, 0);
    if (n == 0) {
        w->overflow = true;
        return;
    }
    w->buf[w->len + PACKET_HEADER_LEN] = PACKET_EOF;
    w->len += n;
    w->seq++;
}
