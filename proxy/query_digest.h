/* The query digest of a running proxy: each worker counts its own
 * sessions' statements by shape in its own table (query_stats.h), under a
 * lock only the admin thread ever contends for when it merges them. */
#ifndef SY_PROXY_QUERY_DIGEST_H
#define SY_PROXY_QUERY_DIGEST_H

#include <pthread.h>
#include <stdint.h>

#include "proxy/query_stats.h"

struct client_session;
struct proxy;

struct query_digest {
    pthread_mutex_t lock;
    struct query_stats_table table;
};

/* max_rows: [admin] digest_max_entries. Returns 0 or -1. */
int query_digest_init(struct query_digest *d, size_t max_rows);
void query_digest_destroy(struct query_digest *d);

/* Where a statement's answer came from, noted while it runs. */
struct query_outcome {
    int ran_on;    /* backend index, QUERY_STATS_LOCAL when the proxy answered */
    bool error;
    uint64_t rows;
};

/* The session's statement finished after us microseconds: count it (when
 * [admin] query_digest is on and it was a COM_QUERY or an execute). */
void query_digest_note(struct client_session *s, uint64_t us);

/* All workers' tables merged into out (initialised here; query_stats_free
 * it). Returns 0, or -1 when out of memory (out is then partial). */
int query_digest_collect(struct proxy *p, struct query_stats_table *out);
/* RESET QUERIES: every worker's table emptied. */
void query_digest_reset(struct proxy *p);

#endif
