/* Builds small text result sets the proxy answers itself (PROXY SHOW,
 * PROXY EXPLAIN, later the admin interface) into a caller's buffer. Every
 * column is a VARCHAR in utf8mb4; NULL values are allowed. */
#ifndef SY_PROTOCOL_RESULTSET_H
#define SY_PROTOCOL_RESULTSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct resultset_writer {
    uint8_t *buf;
    size_t cap;
    size_t len;
    uint8_t seq;   /* next sequence id */
    uint64_t caps; /* negotiated: CLIENT_DEPRECATE_EOF decides EOF vs OK terminators,
                      MARIADB_CLIENT_EXTENDED_METADATA the column layout */
    bool overflow; /* set when something did not fit; the buffer content is then unusable */
};

/* Starts with the column-count packet. seq is the first sequence id (the
 * command's + 1). */
void resultset_begin(struct resultset_writer *w, uint8_t *buf, size_t cap, uint8_t seq,
                     uint64_t caps, unsigned ncolumns);
/* One column definition (catalog "def", name as given, VAR_STRING; no
 * extended type info, which a MariaDB client that was offered it expects). */
void resultset_column(struct resultset_writer *w, const char *name);
/* After the last column: an EOF unless CLIENT_DEPRECATE_EOF. */
void resultset_columns_end(struct resultset_writer *w);
/* One text row of n values; NULL pointers are SQL NULL. */
void resultset_row(struct resultset_writer *w, const char *const *values, unsigned n);
/* The terminator: EOF, or an OK with 0xFE header under CLIENT_DEPRECATE_EOF. */
void resultset_end(struct resultset_writer *w, uint16_t status);

#endif
