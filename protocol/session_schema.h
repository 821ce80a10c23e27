/* The default database an OK packet reports when it changed (session
 * tracking, MariaDB's session_track_schema, on by default): a pure
 * function over the OK's session-state block. */
#ifndef SY_PROTOCOL_SESSION_SCHEMA_H
#define SY_PROTOCOL_SESSION_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

/* Walk the block (type, lenenc data entries) for a schema entry (type 1:
 * its data is a lenenc name) and copy the last one NUL-terminated into out.
 * Returns 1 when found, 0 when absent, -1 when the block is malformed or the
 * name does not fit. */
int session_track_find_schema(const uint8_t *block, size_t len, char *out, size_t cap);

#endif
