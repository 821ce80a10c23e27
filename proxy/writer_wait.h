/* Statements bound for the writer that could not even be sent to it (it
 * refused the connection, or broke before the statement went out) wait here
 * for the monitor to name a writer, for at most [routing] writer_wait_ms,
 * instead of failing at once: a failover then costs the client a delay, not
 * an error. Statements already sent stay failed: whether they ran is
 * unknown. Per worker; its timer looks every WRITER_WAIT_TICK_MS while
 * something waits and wakes a waiter when a newer topology is published or
 * its deadline passed. */
#ifndef SY_PROXY_WRITER_WAIT_H
#define SY_PROXY_WRITER_WAIT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define WRITER_WAIT_TICK_MS 20

struct worker;
struct client_session;
struct backend_conn;

struct writer_waiter {
    struct writer_waiter *prev, *next;
    bool queued;
    uint64_t deadline_ms; /* 0: this command has not waited yet */
    uint64_t version;     /* the topology the statement last failed under */
    /* what the last failure said, for the client if no writer comes */
    int backend;
    uint16_t code;
    char sqlstate[6];
    char *message; /* heap, only while the command waits or failed over */
};

struct writer_wait_list {
    uv_timer_t timer;
    struct writer_waiter *head;
    struct worker *w;
    bool closed;
};

int writer_wait_init(struct writer_wait_list *l, struct worker *w);
/* The worker stops: the timer closes; nothing is added from now on. */
void writer_wait_close(struct writer_wait_list *l);
/* The waiter's session is closing: never wake it. Idempotent. */
void writer_wait_cancel(struct writer_wait_list *l, struct writer_waiter *ww);

/* A new command, or the session closes: what the last one waited for is
 * forgotten (and its message freed). */
void writer_wait_forget(struct writer_waiter *ww);

/* The session's statement failed on its writer (bc) with what the failure
 * said, and was never sent there. True when it now waits for a writer (or
 * went on at once to another writable primary); false when the failure
 * stands and the caller reports it. */
bool session_wait_for_writer(struct client_session *s, struct backend_conn *bc, uint16_t code,
                             const char *sqlstate, const char *message);

#endif
