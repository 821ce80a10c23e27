/* Immutable snapshots of what the monitor knows about every backend. The
 * monitor publishes a new one each interval; workers keep a reference to the
 * one they route with and pick up a newer one when the version changes (one
 * atomic load per statement, a mutex only when it changed). */
#ifndef SY_PROXY_TOPOLOGY_H
#define SY_PROXY_TOPOLOGY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "proxy/galera_state.h"

enum backend_state {
    BACKEND_UNKNOWN = 0, /* not checked yet */
    BACKEND_UP,          /* reachable; for replicas: replicating within the lag limit */
    BACKEND_LAGGING,     /* replica over its max_replication_lag */
    BACKEND_BROKEN,      /* replica reachable but not replicating (threads stopped, lag NULL, not a replica) */
    BACKEND_DOWN,        /* unreachable or failing queries */
};

struct backend_status {
    enum backend_state state;
    double lag_seconds; /* -1 when unknown */
    bool read_only;     /* @@read_only */
    bool tracks_last_gtid; /* new sessions track last_gtid (the server's global setting) */
    bool autocommit_off;   /* new sessions start with autocommit off (@@global.autocommit = 0) */
    enum backend_role role; /* effective: from the file, or from @@read_only with discover_roles */
    char gtid_pos[256]; /* MariaDB: @@gtid_slave_pos on replicas, @@gtid_binlog_pos on primaries;
                           "" when unknown */
    char reason[160];   /* why it is in that state, for logs and admin */
    struct galera_state galera; /* Galera nodes (galera = on); .known false otherwise */
};

struct topology {
    atomic_int refs;
    uint64_t version;
    size_t n; /* same order as proxy_config.backends */
    struct backend_status backend[CONFIG_MAX_BACKENDS];
    char server_version[64]; /* primary's version as the server reports it, "" if unknown */
    int writer;              /* active-passive: the backend taking writes, -1 none (writer.c) */
    uint64_t monitor_round;  /* the monitor round that made it, counted from 1; in the logs */
    uint64_t config_number;  /* the configuration generation whose backends these are */
};

struct topology_holder {
    uint64_t config_number; /* stamped on what is published (set before the monitor starts) */
    const struct proxy_config *cfg; /* its backends' names, for the writer log lines */
    pthread_mutex_t lock;
    struct topology *current;
    atomic_uint_fast64_t version;
};

int topology_holder_init(struct topology_holder *h, size_t n_backends);
void topology_holder_destroy(struct topology_holder *h);

/* Monitor side: publish a new snapshot (takes ownership of t, refs set here). */
void topology_publish(struct topology_holder *h, struct topology *t);

/* Worker side: returns *cached if still current, else releases it and takes
 * a reference to the newest snapshot, stores it in *cached and returns it. */
struct topology *topology_refresh(struct topology_holder *h, struct topology **cached);
void topology_release(struct topology *t);

const char *backend_state_name(enum backend_state s);

/* True when a replica may serve reads. */
static inline bool backend_readable(const struct backend_status *s)
{
    return s->state == BACKEND_UP;
}

#endif
