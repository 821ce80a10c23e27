#include "proxy/session_log.h"

#include <stdlib.h>
#include <string.h>

void session_log_init(struct session_log *log) { memset(log, 0, sizeof *log); }

void session_log_clear(struct session_log *log)
{
    for (size_t i = 0; i < log->count; i++)
        free(log->entries[i].payload);
    log->count = 0;
    log->bytes = 0;
    log->overflow = false;
}

void session_log_free(struct session_log *log)
{
    session_log_clear(log);
    free(log->entries);
    memset(log, 0, sizeof *log);
}

static bool same_as_last(const struct session_log *log, uint8_t command, const uint8_t *payload,
                         size_t len)
{
    if (log->count == 0)
        return false;
    const struct session_log_entry *e = &log->entries[log->count - 1];
    return e->command == command && e->len == len && memcmp(e->payload, payload, len) == 0;
}

int session_log_append(struct session_log *log, uint8_t command, const uint8_t *payload, size_t len)
{
    if (log->overflow)
        return -1;
    if (same_as_last(log, command, payload, len))
        return 0;
    if (log->count >= SESSION_LOG_MAX_ENTRIES || log->bytes + len > SESSION_LOG_MAX_BYTES) {
        log->overflow = true;
        return -1;
    }
    if (log->count == log->cap) {
        size_t cap = log->cap ? log->cap * 2 : 8;
        struct session_log_entry *e = realloc(log->entries, cap * sizeof *e);
        if (!e) {
            log->overflow = true;
            return -1;
        }
        log->entries = e;
        log->cap = cap;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        log->overflow = true;
        return -1;
    }
    memcpy(copy, payload, len);
    log->entries[log->count++] = (struct session_log_entry){command, (uint32_t)len, copy};
    log->bytes += len;
    return 0;
}
