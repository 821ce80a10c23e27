/* The admin statements: parsing them and building their answers. Everything
 * here is pure: it works on a snapshot of plain data (admin_state.c takes
 * it from the running proxy), so the unit tests can feed it made-up
 * topologies and counters. */
#ifndef SY_PROXY_ADMIN_COMMANDS_H
#define SY_PROXY_ADMIN_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "protocol/resultset.h"
#include "proxy/query_stats.h"
#include "proxy/stats.h"
#include "proxy/topology.h"

#define ER_PARSE_ERROR 1064
#define ER_NO_SUCH_THREAD 1094
#define ER_HOST_NOT_PRIVILEGED 1130

/* One backend as the admin sees it: configuration, monitor view, counters. */
struct admin_backend {
    char name[CONFIG_NAME_MAX];
    enum backend_role role; /* effective role when the topology is trusted */
    char host[CONFIG_HOST_MAX];
    uint16_t port;
    int weight;
    enum backend_state state;
    bool writable; /* up, primary, read_only off */
    bool offline;  /* SET BACKEND ... OFFLINE */
    double lag_seconds; /* -1 unknown */
    char gtid_pos[256];
    char reason[160];
    struct galera_state galera; /* Galera nodes: what wsrep said last */
    int64_t connections;
    int64_t pool_idle;                  /* of those, waiting in the pools for a session */
    uint64_t pool_logins, pool_reuses;  /* connections opened; sessions served from a pool */
    uint64_t pool_broken;    /* pooled connections found dead before a statement went out */
    int64_t max_connections; /* what the workers' shares of it add up to; 0: no limit */
    int64_t pool_waiting;    /* statements waiting for room there now */
    uint64_t pool_waits, pool_wait_timeouts, pool_wait_ms; /* backend_limit.h */
    uint64_t statements, errors;
};

/* Per-worker counters summed. */
struct admin_totals {
    uint64_t statements_primary, statements_replica, statements_local;
    uint64_t reads, writes, read_fallbacks, causal_waits, causal_timeouts, readonly_retries;
    uint64_t writer_waits, writer_wait_timeouts;
    uint64_t causal_position_fetches; /* universal: round trips to the primary */
    uint64_t errors_backend, errors_proxy, auth_failures;
    uint64_t refused_firewall, refused_limits, login_timeouts;
    uint64_t bytes_from_clients, bytes_to_clients, sessions_opened;
    int64_t client_connections;
    uint64_t latency_bucket[STATS_LATENCY_BUCKETS];
    uint64_t latency_sum_us;
};

struct admin_session {
    uint32_t id;
    char user[CONFIG_NAME_MAX];
    char client[64];
    uint64_t age_seconds;
    bool in_transaction;
    const char *pinned; /* static text, or NULL */
    uint64_t backends_mask;
    char db[256]; /* current database, "" none */
};

struct admin_snapshot {
    const struct proxy_config *cfg; /* the newest generation's */
    const char *version;            /* switchyard's */
    char server_version[64];        /* the primary's, "" unknown */
    int writer;                     /* backend taking writes, -1 none */
    size_t n_backends;
    struct admin_backend backend[CONFIG_MAX_BACKENDS];
    struct admin_totals totals;
    struct admin_session *sessions; /* only filled for SHOW SESSIONS */
    size_t n_sessions;
    const struct query_stats_table *queries; /* merged digest sorted by time, or NULL */
    const struct status_history *history;    /* lag and statements over time, or NULL */
    uint64_t config_generation;
};

/* Frees what a snapshot owns (the sessions array). */
void admin_snapshot_free(struct admin_snapshot *snap);

struct status_history;

enum admin_command_kind {
    ADMIN_INVALID,
    ADMIN_SHOW_BACKENDS,
    ADMIN_SHOW_SESSIONS,
    ADMIN_SHOW_STATS,
    ADMIN_SHOW_CONFIG,
    ADMIN_SHOW_VERSION,
    ADMIN_SET_BACKEND,
    ADMIN_KILL_SESSION,
    ADMIN_RELOAD,
    ADMIN_SHOW_QUERIES, /* admin_queries.h answers it */
    ADMIN_SHOW_POOLS,
    ADMIN_RESET_QUERIES,
};

struct admin_command {
    enum admin_command_kind kind;
    char backend[CONFIG_NAME_MAX]; /* SET BACKEND */
    bool offline;                  /* SET BACKEND: OFFLINE (true) or ONLINE */
    uint32_t session_id;           /* KILL SESSION */
    enum query_order order;        /* SHOW QUERIES [ORDER BY count|time|errors] */
    uint32_t limit;                /* ... [LIMIT n]; 0 none */
    char pattern[128];             /* ... LIKE 'pattern'; "" none */
};

/* What ERR 1064 says: every statement the admin interface knows. */
extern const char admin_usage[];

/* Parse one statement (case-insensitive words, optional trailing ';').
 * Never fails hard: what it does not know is ADMIN_INVALID. */
struct admin_command admin_parse(const char *sql, size_t len);

/* The lowercase state name SHOW BACKENDS and the metrics use; "offline"
 * wins over what the monitor says. */
const char *admin_state_name(const struct admin_backend *b);

/* Result sets for the SHOW statements, written into w (begun by the caller
 * with resultset_begin; these add the columns, rows and the end). */
void admin_show_backends(struct resultset_writer *w, const struct admin_snapshot *s);
void admin_show_sessions(struct resultset_writer *w, const struct admin_snapshot *s);
void admin_show_stats(struct resultset_writer *w, const struct admin_snapshot *s);
void admin_show_config(struct resultset_writer *w, const struct admin_snapshot *s);
void admin_show_version(struct resultset_writer *w, const struct admin_snapshot *s);
void admin_show_pools(struct resultset_writer *w, const struct admin_snapshot *s);
/* Backend connections to b that a session holds: open less idle in the pools. */
int64_t admin_pool_in_use(const struct admin_backend *b);

/* Pinned sessions of a snapshot (its sessions) counted by reason: the
 * first ADMIN_PIN_REASONS distinct reasons, the rest in other. */
#define ADMIN_PIN_REASONS 8
struct admin_pins {
    const char *reason[ADMIN_PIN_REASONS];
    size_t count[ADMIN_PIN_REASONS];
    size_t n_reasons, other, total;
};
void admin_count_pins(const struct admin_snapshot *s, struct admin_pins *out);
/* How many columns each SHOW answer has (for resultset_begin). */
unsigned admin_show_columns(enum admin_command_kind kind);

/* Latency percentile p (0..100) in milliseconds: the upper bound of the
 * histogram bucket holding it. Returns -1 when there were no statements and
 * INFINITY when it falls in the last (+Inf) bucket. */
double admin_latency_percentile_ms(const struct admin_totals *t, double p);

#endif
