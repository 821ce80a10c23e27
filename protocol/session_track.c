#include "protocol/session_track.h"

#include "protocol/packet.h"

void session_track_begin(struct session_track_iter *it, const uint8_t *block, size_t len)
{
    it->p = block;
    it->left = block ? len : 0;
}

/* Errors leave the iterator where it was, so a caller that goes on asking
 * cannot walk past the broken entry into bytes that are not an entry. */
int session_track_next(struct session_track_iter *it, struct session_track_entry *e)
{
    const uint8_t *data;
    uint64_t data_len;
    size_t used;

    if (it->left == 0)
        return 0;
    used = lenenc_str_read(it->p + 1, it->left - 1, &data, &data_len);
    if (used == 0)
        return -1;
    e->type = it->p[0];
    e->data = data;
    e->len = (size_t)data_len;
    it->p += 1 + used;
    it->left -= 1 + used;
    return 1;
}
