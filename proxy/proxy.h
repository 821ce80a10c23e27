/* What every worker shares: the configuration (read-only while running), the
 * topology published by the monitor, and counters. */
#ifndef SY_PROXY_PROXY_H
#define SY_PROXY_PROXY_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config/config.h"
#include "proxy/gtid_mark.h"
#include "proxy/position_fetch.h"
#include "proxy/session_registry.h"
#include "proxy/topology.h"

/* One loaded configuration and what is derived from it. SIGHUP makes a new
 * one; older ones are kept until exit because sessions finish their
 * statement with the generation they started it under and logins point
 * into their accounts. */
struct ssl_ctx_st;

struct config_gen {
    struct proxy_config cfg;
    struct ssl_ctx_st *tls_server;        /* [tls] cert/key: clients may use TLS */
    struct ssl_ctx_st *tls_client;        /* backends with tls = on */
    struct ssl_ctx_st *tls_client_verify; /* backends with tls = verify ([tls] ca) */
    struct sockaddr_storage backend_addr[CONFIG_MAX_BACKENDS]; /* resolved when loaded */
    uint64_t number;
    struct config_gen *older;
};

struct proxy {
    _Atomic(struct config_gen *) gen; /* the newest configuration */
    struct topology_holder topology;
    atomic_uint_fast32_t next_session_id;
    struct session_registry sessions; /* for KILL across workers */
    struct worker *workers;           /* for the admin thread's statistics */
    int n_workers;
    /* SET BACKEND name OFFLINE: no new statements there; by backend name so a
     * reload keeps it. Written by the admin thread under the registry lock. */
    char offline[CONFIG_MAX_BACKENDS][CONFIG_NAME_MAX];
    atomic_int n_offline;
    atomic_int connections;           /* client connections open now, all workers */
    /* SET GLOBAL, GRANT and REVOKE statements that succeeded through the
     * proxy: a pooled connection reset before the last one carries old
     * session defaults or global privileges */
    atomic_uint_fast64_t globals_changed;
    struct gtid_mark acknowledged;    /* causal_reads = global: GTIDs of forwarded OKs */
    struct position_fetch positions;  /* causal_reads = universal */
};

/* SET BACKEND name OFFLINE is in force for that backend. */
bool proxy_backend_offline(struct proxy *p, const char *name);

/* The newest configuration generation. */
static inline struct config_gen *proxy_config_gen(struct proxy *p) { return atomic_load(&p->gen); }

#endif
