/* The INI file as a plain struct: loaded with inih, validated, defaults
 * applied. proxy/ consumes it; nothing here does network I/O. */
#ifndef SY_CONFIG_CONFIG_H
#define SY_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_BACKENDS 64
#define CONFIG_MAX_USERS 256
#define CONFIG_NAME_MAX 64
#define CONFIG_HOST_MAX 256
#define CONFIG_SECRET_MAX 128

enum backend_role { ROLE_PRIMARY, ROLE_REPLICA };
enum read_fallback { READ_FALLBACK_PRIMARY, READ_FALLBACK_ERROR };
/* How far read-your-writes reaches: the writes of this proxy (global), of
 * every proxy and client of the primary (universal), of the session (gtid,
 * primary_window), or none (off). */
enum causal_reads { CAUSAL_GTID, CAUSAL_PRIMARY_WINDOW, CAUSAL_OFF, CAUSAL_GLOBAL, CAUSAL_UNIVERSAL };
enum writers_mode { WRITERS_ACTIVE_PASSIVE, WRITERS_ACTIVE_ACTIVE };
/* Active-active: a writer per statement, or one per session (Galera, fewer conflicts). */
enum write_affinity { WRITE_AFFINITY_STATEMENT, WRITE_AFFINITY_SESSION };
/* Reads on Galera nodes that do not take this session's writes, or only on replicas. */
enum galera_reads { GALERA_READS_ANY, GALERA_READS_REPLICAS };

/* An address range for allow/deny lists: IPv4 or IPv6 with a prefix. */
struct cidr {
    int family;       /* AF_INET or AF_INET6 */
    uint8_t addr[16]; /* network byte order; IPv4 uses the first 4 bytes */
    int prefix;       /* 0..32 or 0..128 */
};

#define CONFIG_MAX_CIDRS 64
struct cidr_list {
    struct cidr items[CONFIG_MAX_CIDRS];
    size_t n;
};

enum backend_tls { BACKEND_TLS_OFF, BACKEND_TLS_ON, BACKEND_TLS_VERIFY };
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

struct backend_config {
    char name[CONFIG_NAME_MAX];
    enum backend_role role;
    char host[CONFIG_HOST_MAX];
    uint16_t port;
    int weight;                 /* >= 1 */
    double max_replication_lag; /* seconds; the [monitor] value unless overridden */
    enum backend_tls tls;       /* tls = off | on | verify (default off) */
    bool galera;                /* galera = on: a Galera node, monitored by its wsrep state */
    int max_connections;        /* connections the proxy holds open to it; 0 = no limit */
    int line;                   /* line of the section header */
};

struct user_config {
    char name[CONFIG_NAME_MAX];
    bool has_password;          /* plain password known: can answer any backend */
    char password[CONFIG_SECRET_MAX];
    uint8_t stage2[20];         /* SHA1(SHA1(pw)): from password or password_hash */
    int max_connections;        /* 0 = no limit of its own */
    int line;
};

struct proxy_config {
    char listen_host[CONFIG_HOST_MAX]; /* default 127.0.0.1 */
    uint16_t listen_port;              /* default 6033 */
    int threads;                       /* 0 = number of CPUs */
    int shutdown_timeout_ms;           /* [proxy] shutdown_timeout_ms, default 10000 */
    struct cidr_list allow;            /* [proxy] allow: empty = everyone not denied */
    struct cidr_list deny;             /* [proxy] deny */
    int max_connections;               /* [proxy] max_connections, 0 = no limit (default 0) */
    int client_idle_timeout;           /* [proxy] seconds, 0 = never (default 0) */
    int connect_timeout;               /* [proxy] seconds for a whole login (default 10) */
    size_t max_allowed_packet;         /* [proxy] bytes of one command (default 64 MiB) */
    bool multiplexing;                 /* [proxy] backend connections shared between statements */
    int pool_idle_timeout;             /* [proxy] seconds an unused pooled connection stays (60) */
    int pool_wait_timeout_ms;          /* [proxy] how long a statement waits for a backend at its
                                          max_connections (10000; 0: fails at once) */
    int pool_check_after_ms;           /* [proxy] a pooled connection idle this long is pinged
                                          before a session uses it (5000; 0: never) */

    /* [admin]: enabled when the section is present */
    bool admin_enabled;
    char admin_listen_host[CONFIG_HOST_MAX]; /* listen, default 127.0.0.1:6032 */
    uint16_t admin_listen_port;
    char admin_user[CONFIG_NAME_MAX];        /* default admin */
    bool admin_has_password;
    char admin_password[CONFIG_SECRET_MAX];
    uint8_t admin_stage2[20];                /* from password or password_hash */
    char admin_http_host[CONFIG_HOST_MAX];   /* http_listen; "" = no HTTP endpoint */
    uint16_t admin_http_port;
    struct cidr_list admin_allow;            /* allow: default 127.0.0.1/32, ::1/128 */
    bool query_digest;                       /* query_digest: statements per shape, default on */
    bool metrics;                            /* metrics: GET /metrics on http_listen, default on */
    int digest_max_entries;                  /* digest_max_entries: per worker, default 5000 */

    /* [log] */
    int log_level;                 /* level = debug | info | warn | error (LOG_* of proxy/log.h), default info */
    enum log_format log_format;    /* format = text | json, default text */
    int slow_ms;                   /* slow_ms: log statements slower than this; 0 = off */

    /* [tls] */
    char tls_cert[256];            /* cert: PEM file; with key, clients may use TLS */
    char tls_key[256];
    char tls_ca[256];              /* ca: for backends with tls = verify */
    bool tls_require;              /* require = on: refuse clients without TLS */

    char monitor_user[CONFIG_NAME_MAX];       /* default monitor */
    char monitor_password[CONFIG_SECRET_MAX]; /* default monitor_pw */
    int monitor_interval_ms;                  /* default 1000 */
    int monitor_connect_timeout_ms;           /* default 1000 */
    double max_replication_lag;               /* default 10 (seconds, fractions allowed) */
    char heartbeat_table[2 * CONFIG_NAME_MAX + 2]; /* "db.table", "" = no heartbeat */
    int recover_intervals;                    /* default 2: checks under the limit to come back */
    int down_after;                           /* default 3: failed checks before DOWN */
    bool discover_roles;                      /* default off: roles from @@read_only */

    enum read_fallback read_fallback; /* default primary */
    bool read_only_transactions_on_replica; /* [routing] read_only_transactions, default replica */
    enum causal_reads causal_reads;         /* default global */
    int causal_reads_timeout_ms;            /* default 1000 */
    int causal_window_ms;                   /* primary_window: default 1000 */
    enum writers_mode writers;              /* default active-passive */
    enum write_affinity write_affinity;     /* [routing] write_affinity, default statement */
    enum galera_reads galera_reads;         /* [routing] galera_reads, default any */
    int writer_wait_ms; /* [routing] writer_wait_ms, default 10000: a write that found no
                           writer waits this long for one (0: fails at once) */

    struct backend_config backends[CONFIG_MAX_BACKENDS];
    size_t n_backends;
    struct user_config users[CONFIG_MAX_USERS];
    size_t n_users;
};

/* Problems found while loading, each "FILE:LINE: message". */
#define CONFIG_MAX_ERRORS 64
struct config_errors {
    char msg[CONFIG_MAX_ERRORS][400];
    size_t count;
    size_t dropped; /* errors beyond CONFIG_MAX_ERRORS */
};

/* Load and validate path into cfg (defaults applied first). Returns 0 when the
 * file is valid; otherwise -1 with every problem in errs (a missing or
 * unreadable file is one error naming the file). */
int config_load(const char *path, struct proxy_config *cfg, struct config_errors *errs);

/* Index of the user named name, or -1. */
int config_find_user(const struct proxy_config *cfg, const char *name, size_t len);

#endif
