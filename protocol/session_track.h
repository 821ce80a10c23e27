/* The entries of an OK packet's session-state block (CLIENT_SESSION_TRACK):
 * one walk over "type, lenenc data" for every reader of the block (GTID,
 * schema). Pure; never reads past the block. */
#ifndef SY_PROTOCOL_SESSION_TRACK_H
#define SY_PROTOCOL_SESSION_TRACK_H

#include <stddef.h>
#include <stdint.h>

/* Session-state entry types. */
#define SESSION_TRACK_SYSTEM_VARIABLES 0
#define SESSION_TRACK_SCHEMA 1
#define SESSION_TRACK_STATE_CHANGE 2
#define SESSION_TRACK_GTIDS 3

struct session_track_iter {
    const uint8_t *p;
    size_t left;
};

/* One entry: its type and its data, pointing into the block. */
struct session_track_entry {
    uint8_t type;
    const uint8_t *data;
    size_t len;
};

/* block: the bytes after the OK's lenenc session-state length. */
void session_track_begin(struct session_track_iter *it, const uint8_t *block, size_t len);

/* Returns 1 with the next entry in *e, 0 at the end of the block, -1 when
 * the entry's length is missing or runs past the block (the iterator then
 * stays at that entry and keeps answering -1). */
int session_track_next(struct session_track_iter *it, struct session_track_entry *e);

#endif
