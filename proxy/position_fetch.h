/* causal_reads = universal: the primary's current GTID position, asked by
 * one thread for every worker. A read takes a ticket; a fetch sent after
 * the ticket was taken answers it, so every write acknowledged to anyone
 * before the read arrived is in the answer. Reads that arrive while a fetch
 * is in flight share the next one: one round trip to the primary serves
 * however many reads came in meanwhile. */
#ifndef SY_PROXY_POSITION_FETCH_H
#define SY_PROXY_POSITION_FETCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "protocol/gtid.h"

struct proxy;
struct worker;

/* A read waiting for a position, on its worker's list. */
struct position_waiter {
    struct position_waiter *prev, *next;
    uint64_t ticket;
    bool waiting;
    /* On the worker's loop: ok false when the primary could not be asked. */
    void (*done)(struct position_waiter *w, bool ok, const char *position, bool mysql);
};

struct position_fetch {
    struct proxy *proxy;
    uv_thread_t thread;
    uv_mutex_t lock;
    uv_cond_t wake;
    bool running, stopping;
    uint64_t wanted;   /* tickets handed out */
    uint64_t asked;    /* tickets the fetch in flight (or the last one) answers */
    uint64_t answered; /* tickets answered by the last result */
    bool ok, mysql;
    char position[GTID_TEXT_MAX];
    atomic_uint_fast64_t fetches; /* round trips to the primary, for SHOW STATS */
};

int position_fetch_start(struct position_fetch *pf, struct proxy *p);
void position_fetch_stop(struct position_fetch *pf);

/* Queue w on worker wk; w->done runs on wk's loop once answered. */
void position_fetch_wait(struct position_fetch *pf, struct worker *wk, struct position_waiter *w);
/* The waiter's session is closing: never call it back. */
void position_fetch_cancel(struct worker *wk, struct position_waiter *w);
/* Worker wk was signalled: call back the waiters a fetch answered. */
void position_fetch_deliver(struct position_fetch *pf, struct worker *wk);

#endif
