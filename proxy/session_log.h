/* The statements that changed a session's state (SET, USE, COM_INIT_DB), in
 * the order they succeeded on the primary. Every other backend the session
 * uses replays the entries it has not applied yet before its next statement,
 * so a read on a replica sees the same variables and default database. */
#ifndef SY_PROXY_SESSION_LOG_H
#define SY_PROXY_SESSION_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Beyond these the session is pinned to the primary instead of replaying. */
#define SESSION_LOG_MAX_ENTRIES 256
#define SESSION_LOG_MAX_BYTES (256 * 1024)

struct session_log_entry {
    uint8_t command; /* COM_QUERY or COM_INIT_DB */
    uint32_t len;
    uint8_t *payload; /* command argument (SQL text or schema name) */
};

struct session_log {
    struct session_log_entry *entries;
    size_t count;
    size_t cap;
    size_t bytes;
    bool overflow; /* too much state to replay: stay on the primary */
};

void session_log_init(struct session_log *log);
void session_log_free(struct session_log *log);
/* Appends a copy; an entry equal to the last one is not repeated. Returns
 * 0, or -1 when the log overflowed (log->overflow is then set). */
int session_log_append(struct session_log *log, uint8_t command, const uint8_t *payload, size_t len);
/* Forget everything (COM_RESET_CONNECTION). */
void session_log_clear(struct session_log *log);

#endif
