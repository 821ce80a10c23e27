/* The admin interface: one thread with its own uv_loop serving the MySQL
 * protocol on [admin] listen (SHOW BACKENDS, SET BACKEND ... OFFLINE, ...)
 * and, when http_listen is set, GET /metrics and /health on the same loop.
 * It only reads the workers' counters and the shared topology, and writes
 * the offline list and kill marks under the registry lock. */
#ifndef SY_PROXY_ADMIN_H
#define SY_PROXY_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <uv.h>

#include "proxy/admin_commands.h"
#include "proxy/proxy.h"

struct admin;

/* Binds the listeners (errors are logged and returned before any thread
 * starts) and starts the admin thread. Without an [admin] section *out is
 * NULL and nothing runs. Returns 0 or -1. The listening addresses are the
 * ones of the configuration at start; credentials and the allow list are
 * read from the newest configuration for each connection. */
int admin_start(struct admin **out, struct proxy *p);
/* Closes every admin connection and joins the thread; NULL is fine. */
void admin_stop(struct admin *a);

/* ---- for metrics_http.c, which runs on the admin loop ---- */

/* Every open admin or HTTP connection, in the list of its port, so a full
 * port can make room and the stop can close them all. */
struct admin_link {
    struct admin_link *prev, *next;
    struct admin_conn_list *list;
    void (*close)(struct admin_link *l);
    bool busy; /* logged in, or answering: never closed to make room */
};
/* The connections of one port, newest first, and how many it keeps. */
struct admin_conn_list {
    struct admin_link head; /* circular */
    int count, max;
};
enum admin_port { ADMIN_PORT_MYSQL, ADMIN_PORT_HTTP };
/* Adds l to the connections of port. A full port first closes its oldest
 * connection that is not busy, so idle connections can never lock out a
 * new one; false when every one is busy: the caller then refuses l and
 * closes it (its close removes it again). */
bool admin_link_add(struct admin *a, enum admin_port port, struct admin_link *l);
void admin_link_remove(struct admin_link *l);

/* The client address as text into peer; true when [admin] allow lets it
 * in. */
bool admin_peer_allowed(struct admin *a, const struct sockaddr *sa, char *peer, size_t cap);

/* Bind t (initialised here on loop) to host:port. Returns 0, or -1 after
 * logging why. */
int admin_bind(uv_loop_t *loop, uv_tcp_t *t, const char *host, uint16_t port);

/* A snapshot of the proxy now (admin_state.h); free with
 * admin_snapshot_free. */
int admin_snapshot(struct admin *a, bool sessions, struct admin_snapshot *snap);
/* The proxy the admin interface looks at (the query digest is read there). */
struct proxy *admin_proxy(struct admin *a);
/* What the status page draws over time. */
const struct status_history *admin_history(struct admin *a);

#endif
