/* Every logged-in session of the proxy, by the id its client saw in the
 * handshake, so that KILL <id> from any worker can find which backend
 * connection runs that session's statement. Touched at login, logout, when
 * a backend connection opens or closes and when the current database
 * changes, never per statement: the busy backend is an atomic the owner
 * updates. */
#ifndef SY_PROXY_SESSION_REGISTRY_H
#define SY_PROXY_SESSION_REGISTRY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"

struct worker;

struct session_entry {
    uint32_t id;
    char user[CONFIG_NAME_MAX];
    struct worker *worker;
    atomic_int busy_backend;                          /* backend running its command, -1 idle */
    atomic_uint thread_id[CONFIG_MAX_BACKENDS];       /* backend connection ids, 0 none */
    atomic_bool kill_requested;
    int client_fd;                                    /* the client's socket, open while
                                                         registered (removed before closing) */
    const char *client;                               /* peer address (the session's, fixed
                                                         at accept), set before registering */
    char db[256];                                     /* current database, under the lock */
    uint64_t started_ms;                              /* uv_now at accept */
    atomic_bool in_transaction;
    _Atomic(const char *) pinned;                     /* why it stays on its writer, or NULL */
    atomic_uint_fast64_t backends_mask;               /* backends it has connections to */
    struct session_entry *next;                       /* hash chain */
};

#define SESSION_REGISTRY_BUCKETS 1024

struct session_registry {
    pthread_mutex_t lock;
    struct session_entry *bucket[SESSION_REGISTRY_BUCKETS];
};

void session_registry_init(struct session_registry *r);
void session_registry_add(struct session_registry *r, struct session_entry *e);
void session_registry_remove(struct session_registry *r, struct session_entry *e);

/* The session's current database changed. */
void session_registry_set_db(struct session_registry *r, struct session_entry *e, const char *db);

/* Logged-in sessions of account user (for [user.*] max_connections). */
int session_registry_count_user(struct session_registry *r, const char *user);

/* What a KILL needs to know about session id, copied under the lock. */
struct session_kill_target {
    bool found;
    bool owner;       /* the killer logged in as the same account */
    struct worker *worker;
    int busy_backend;
    uint32_t busy_thread_id;
};

/* Look up id; when the killer (user) owns it and kill_connection is set, mark
 * it to be closed by its worker, and shut its client socket down at once:
 * as with the server, by the time the killer hears OK the victim's client
 * finds its connection gone (and a client with auto-reconnect reconnects
 * rather than send its next command into a session about to close). user
 * NULL: the admin, who owns every session. */
struct session_kill_target session_registry_kill(struct session_registry *r, uint32_t id,
                                                 const char *user, bool kill_connection);

#endif
