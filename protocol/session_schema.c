#include "protocol/session_schema.h"

#include <string.h>

#include "protocol/gtid.h"
#include "protocol/packet.h"

int session_track_find_schema(const uint8_t *block, size_t len, char *out, size_t cap)
{
    const uint8_t *name = NULL;
    uint64_t name_len = 0;
    size_t pos = 0;

    while (pos < len) {
        const uint8_t *data;
        uint64_t data_len;
        size_t used = lenenc_str_read(block + pos + 1, len - pos - 1, &data, &data_len);
        if (used == 0)
            return -1;
        if (block[pos] == SESSION_TRACK_SCHEMA &&
            lenenc_str_read(data, (size_t)data_len, &name, &name_len) == 0)
            return -1;
        pos += 1 + used;
    }
    if (name == NULL)
        return 0;
    if (name_len >= cap || memchr(name, '\0', (size_t)name_len) != NULL)
        return -1;
    memcpy(out, name, (size_t)name_len);
    out[name_len] = '\0';
    return 1;
}
