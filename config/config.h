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
enum causal_reads { CAUSAL_GTID, CAUSAL_PRIMARY_WINDOW, CAUSAL_OFF };
enum writers_mode { WRITERS_ACTIVE_PASSIVE, WRITERS_ACTIVE_ACTIVE };

struct backend_config {
    char name[CONFIG_NAME_MAX];
    enum backend_role role;
    char host[CONFIG_HOST_MAX];
    uint16_t port;
    int weight;                 /* >= 1 */
    double max_replication_lag; /* seconds; the [monitor] value unless overridden */
    int line;                   /* line of the section header */
};

struct user_config {
    char name[CONFIG_NAME_MAX];
    bool has_password;          /* plain password known: can answer any backend */
    char password[CONFIG_SECRET_MAX];
    uint8_t stage2[20];         /* SHA1(SHA1(pw)): from password or password_hash */
    int line;
};

struct proxy_config {
    char listen_host[CONFIG_HOST_MAX]; /* default 127.0.0.1 */
    uint16_t listen_port;              /* default 6033 */
    int threads;                       /* 0 = number of CPUs */
    int shutdown_timeout_ms;           /* [proxy] shutdown_timeout_ms, default 10000 */

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
    enum causal_reads causal_reads;         /* default gtid */
    int causal_reads_timeout_ms;            /* default 1000 */
    int causal_window_ms;                   /* primary_window: default 1000 */
    enum writers_mode writers;              /* default active-passive */

    struct backend_config backends[CONFIG_MAX_BACKENDS];
    size_t n_backends;
    struct user_config users[CONFIG_MAX_USERS];
    size_t n_users;
};

/* Problems found while loading, each "FILE:LINE: message". */
#define CONFIG_MAX_ERRORS 64
struct config_errors {
    char msg[CONFIG_MAX_ERRORS][320];
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
