#include "protocol/session_schema.h"

#include <string.h>

#include "protocol/packet.h"
#include "protocol/session_track.h"

int session_track_find_schema(const uint8_t *block, size_t len, char *out, size_t cap)
{
    const uint8_t *name = NULL;
    uint64_t name_len = 0;
    struct session_track_iter it;
    struct session_track_entry e;
    int rc;

    session_track_begin(&it, block, len);
    while ((rc = session_track_next(&it, &e)) == 1)
        if (e.type == SESSION_TRACK_SCHEMA && lenenc_str_read(e.data, e.len, &name, &name_len) == 0)
            return -1;
    if (rc < 0)
        return -1;
    if (name == NULL)
        return 0;
    if (name_len >= cap || memchr(name, '\0', (size_t)name_len) != NULL)
        return -1;
    memcpy(out, name, (size_t)name_len);
    out[name_len] = '\0';
    return 1;
}
