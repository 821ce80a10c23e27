/* A bounded table of statement shapes: per (digest, account, default
 * database) what ran, where, why, how often, how long. Plain data, no
 * locks and no I/O: each worker owns one (query_digest.h), and the admin
 * thread merges copies of them into another. */
#ifndef SY_PROXY_QUERY_STATS_H
#define SY_PROXY_QUERY_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "proxy/stats.h"

#define QUERY_STATS_DB_MAX 65 /* a MariaDB database name is at most 64 characters */
#define QUERY_STATS_LOCAL (-1) /* ran_on: answered by the proxy itself */

/* One finished statement. */
struct query_sample {
    uint64_t hash;           /* statement_digest() */
    const char *text;        /* its digest text, or NULL: the table asks for it when new */
    const char *user, *db;   /* account and default database ("" none) */
    int ran_on;              /* backend index, or QUERY_STATS_LOCAL */
    const char *reason;      /* static text: why it went there */
    bool error;
    uint64_t rows;           /* rows sent to the client */
    uint64_t us;             /* from the command's arrival to its answer's end */
    int64_t now;             /* unix seconds */
};

struct query_stats_row {
    uint64_t hash;
    char user[CONFIG_NAME_MAX];
    char db[QUERY_STATS_DB_MAX];
    char *text; /* owned; NULL in the row that collects folded shapes */
    const char *reason; /* of the latest statement */
    uint64_t count, errors, rows, total_us, min_us, max_us;
    uint64_t by_proxy;
    uint64_t on_backend[CONFIG_MAX_BACKENDS];
    uint64_t latency_bucket[STATS_LATENCY_BUCKETS];
    int64_t first_seen, last_seen;
};

struct query_stats_table {
    size_t max_rows;  /* beyond it, the least used rows are folded into other */
    size_t n;
    struct query_stats_row *rows;
    size_t rows_cap;
    uint32_t *slot;   /* open addressing: row index + 1, 0 empty */
    size_t n_slots;   /* a power of two, at least twice n */
    struct query_stats_row other; /* count 0: nothing folded yet */
    uint64_t folded;  /* rows folded into other so far */
};

/* An empty table; max_rows 0 means unbounded (the admin's merged copy). */
void query_stats_init(struct query_stats_table *t, size_t max_rows);
void query_stats_free(struct query_stats_table *t);
/* Back to empty, keeping max_rows. */
void query_stats_reset(struct query_stats_table *t);

/* Account for one statement. text_of fills the digest text when the shape
 * is new (called at most once, so a known shape costs no text). Returns 0,
 * or -1 when out of memory (the statement is then counted in other). */
typedef const char *(*query_text_fn)(void *ctx);
int query_stats_add(struct query_stats_table *t, const struct query_sample *q,
                    query_text_fn text_of, void *ctx);

/* Add every row of from (and its other row and fold count) into into. */
int query_stats_merge(struct query_stats_table *into, const struct query_stats_table *from);

enum query_order { QUERY_ORDER_COUNT, QUERY_ORDER_TIME, QUERY_ORDER_ERRORS };
/* Sort the rows, the largest first; ties by digest text. The index is
 * dropped (a later add rebuilds it). */
void query_stats_sort(struct query_stats_table *t, enum query_order order);

#endif
