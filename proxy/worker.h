/* A worker: one thread, one uv_loop, its own SO_REUSEPORT listener. It owns
 * its sessions and their backend connections, so the data path takes no
 * locks. */
#ifndef SY_PROXY_WORKER_H
#define SY_PROXY_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "proxy/backend_limit.h"
#include "proxy/backend_pool.h"
#include "proxy/buffer_pool.h"
#include "proxy/position_fetch.h"
#include "proxy/proxy.h"
#include "proxy/query_digest.h"
#include "proxy/stats.h"
#include "proxy/writer_wait.h"
#include "router/replica_select.h"

struct client_session;

/* Something with work to do that must not run on the stack of whoever found
 * it (a session whose next pipelined command waits, or whose turn is over):
 * the worker runs it from its own loop, once per turn, in the order queued.
 * Embedded in its owner; run() gets it back. */
struct runnable {
    struct runnable *prev, *next;
    void (*run)(struct runnable *r);
    bool queued;
};

struct worker {
    int index;
    struct proxy *proxy;
    uv_loop_t loop;
    uv_thread_t thread;
    uv_tcp_t listener;
    uv_async_t stop_async;
    uv_async_t kill_async; /* KILL CONNECTION from another worker marked a session */
    uv_async_t position_async; /* the primary's position arrived (position_fetch.h) */
    bool position_closed;      /* position_async is closed: under positions.lock */
    struct position_waiter *position_waiters;
    uv_timer_t shutdown_timer; /* running statements get this long to finish */
    uv_timer_t idle_timer;     /* once a second: client_idle_timeout, connect_timeout */
    struct topology *topology; /* this worker's reference to the newest snapshot */
    struct wrr_state wrr;      /* replica rotation shared by this worker's sessions */
    struct wrr_state writer_wrr; /* active-active writer rotation */
    struct client_session *sessions; /* intrusive list, for shutdown */
    uv_check_t run_check; /* after each poll: give every runnable one turn */
    uv_idle_t run_idle;   /* active while some are runnable: poll must not block */
    struct runnable *run_head, *run_tail;
    size_t run_count;
    struct worker_stats stats;
    /* read buffers, taken while bytes are pending (buffer_pool.h) */
    struct buffer_pool backend_buffers; /* BACKEND_RBUF_SIZE */
    struct buffer_pool client_buffers;  /* CLIENT_IN_MIN */
    struct buffer_pool cipher_buffers;  /* TRANSPORT_CIPHER_READ */
    struct backend_pool pool;           /* backend connections between sessions */
    struct backend_limit limits;        /* sessions waiting for a backend's max_connections */
    struct query_digest digest;
    struct writer_wait_list writer_waits; /* writes waiting for a writer (writer_wait.h) */
    int stopping;
};

/* Creates the listening socket (so bind errors are reported before any
 * thread starts) and the loop. Returns 0, or -1 after logging why. */
int worker_init(struct worker *w, int index, struct proxy *proxy);
int worker_start(struct worker *w);
/* Asks the worker to close its listener and sessions; thread-safe. */
void worker_stop(struct worker *w);
void worker_join(struct worker *w);

/* A session left the worker's list: when stopping and none is left, the
 * loop may end. */
void worker_session_gone(struct worker *w);

/* Queue r (at the tail) for a turn from the loop; idempotent. */
void worker_make_runnable(struct worker *w, struct runnable *r);
/* Take r off the queue (it closed, or has nothing to do); idempotent. */
void worker_forget_runnable(struct worker *w, struct runnable *r);

/* The snapshot to route with now. */
struct topology *worker_topology(struct worker *w);

#endif
