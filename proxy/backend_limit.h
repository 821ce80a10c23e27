/* [backend.NAME] max_connections: the most connections the proxy holds open
 * to a backend (the sessions', the idle pooled ones, those being reset or
 * logging in; not the monitor's). Pools are per worker and take no locks, so
 * each worker keeps to its share: max_connections / workers, rounded down,
 * at least 1. A session that needs one more connection to a backend at its
 * share closes an idle pooled connection it cannot use, if there is one, or
 * waits in this worker's queue for that backend, first come first served,
 * for at most [proxy] pool_wait_timeout_ms. Room comes when a connection to
 * the backend closes or comes back to the pool; the queue's timer hands it
 * to the first waiter from the worker's loop (never from inside the
 * callback that freed it) and fails waiters whose time is up with ERR 1040. */
#ifndef SY_PROXY_BACKEND_LIMIT_H
#define SY_PROXY_BACKEND_LIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h"

/* How often deadlines are checked while something waits. */
#define BACKEND_LIMIT_TICK_MS 50


struct worker;
struct client_session;

struct limit_waiter {
    struct limit_waiter *prev, *next;
    bool queued;
    bool granted;         /* woken because there is room: goes ahead of the queue once */
    int backend;          /* the backend it waits for */
    uint64_t since_ms;    /* 0: the current command has not waited */
    uint64_t deadline_ms;
};

struct backend_limit {
    uv_timer_t timer;
    struct limit_waiter *head[CONFIG_MAX_BACKENDS], *tail[CONFIG_MAX_BACKENDS];
    int waiting; /* in all queues */
    struct worker *w;
    bool closed;
};

int backend_limit_init(struct backend_limit *l, struct worker *w);
/* The worker stops: every waiter gets its ERR now, the timer closes and
 * nobody waits from now on. */
void backend_limit_close(struct backend_limit *l);
/* A worker's share of the backend's max_connections; 0: no limit. Rounded
 * down, the workers together stay within the server's budget; with fewer
 * connections than workers, each still needs one. */
static inline int backend_limit_share(const struct proxy_config *cfg, int index, int workers)
{
    int max = cfg->backends[index].max_connections;
    if (max <= 0)
        return 0;
    int share = workers > 0 ? max / workers : max;
    return share > 0 ? share : 1;
}
/* The waiter's session is closing: it leaves the queue. Idempotent. */
void backend_limit_cancel(struct backend_limit *l, struct limit_waiter *lw);
/* A connection to backend index closed or became idle in the pool. */
void backend_limit_freed(struct backend_limit *l, int index);

/* Before s takes a pooled connection to backend index or opens one: true
 * when it may (an idle connection of no use to s may have been closed for
 * it); false when s now waits (session_room_came() follows) or was refused
 * (session_room_refused() was called). */
bool session_backend_room(struct client_session *s, int index);
/* No connection to index can be opened now: the worker has its share open. */
bool session_backend_at_limit(const struct client_session *s, int index);
/* Whether s would get a connection to index now without waiting. */
bool session_backend_has_room(const struct client_session *s, int index);

#endif
