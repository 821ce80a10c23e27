/* A worker's backend connections between sessions. A session that ends (or
 * starts afresh: COM_CHANGE_USER, COM_RESET_CONNECTION) gives back each
 * connection that is idle; it is reset (COM_RESET_CONNECTION ends its
 * transaction, variables, temporary tables, locks and prepared statements,
 * keeping the login's character set) and put back into the login's
 * database, then waits here for the next session that logs in the same way:
 * same account, capabilities, character set and database. That session is
 * served without a backend login and cannot tell. One pool per worker, so
 * no locks. */
#ifndef SY_PROXY_BACKEND_POOL_H
#define SY_PROXY_BACKEND_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

struct backend_conn;
struct config_gen;
struct client_session;
struct topology;

struct backend_pool {
    struct backend_conn *idle[CONFIG_MAX_BACKENDS]; /* most recently given back first */
    bool closing; /* the worker stops: nothing is kept any more */
};

void backend_pool_init(struct backend_pool *p);
/* The session is done with bc: keep it for another session when it is
 * clean and may be, else close it. */
void backend_pool_give(struct backend_pool *p, struct client_session *s, struct backend_conn *bc);
/* A connection to backend index for s, now s's: the one s parked there
 * (its state intact), else an idle one logged in as s would log in (clean,
 * or another session's, then with needs_reset set; one held for its session
 * only if may_take_held: no other connection can be opened); NULL when none
 * is. */
struct backend_conn *backend_pool_take(struct backend_pool *p, struct client_session *s, int index,
                                       bool may_take_held);
/* Between statements (session_multiplex.c): bc may wait in the pool with
 * s's state on it (nothing in flight, not a Galera node). */
bool backend_pool_may_park(const struct backend_pool *p, const struct client_session *s,
                           const struct backend_conn *bc);
/* bc, s's, waits idle in the pool with s's state: s takes it back as it is,
 * another session (s is busy elsewhere, or gone) after a reset. */
void backend_pool_park(struct backend_pool *p, struct client_session *s, struct backend_conn *bc);
/* s lets go of its parked bc (it closes, starts afresh or reloads): bc stays
 * idle, and whoever takes it resets it. */
void backend_pool_unpark(struct backend_conn *bc);
/* s needs a connection to backend index, which is at its limit
 * (backend_limit.h): true when an idle one s can take is there, or when the
 * one unused longest, of no use to s, was closed to make room; false when
 * none is idle. */
bool backend_pool_make_room(struct backend_pool *p, struct client_session *s, int index);
/* bc belongs to no session and its answer to the pool's own command came
 * (ok: an OK): go on resetting it, or keep it, or close it. */
void backend_pool_answered(struct backend_conn *bc, bool ok);
/* bc belongs to no session and broke or was closed by the server. */
void backend_pool_lost(struct backend_conn *bc);
/* Once a second: close connections unused for longer than
 * pool_idle_timeout, to backends the monitor has DOWN, or opened under an
 * older configuration. */
void backend_pool_sweep(struct backend_pool *p, const struct config_gen *gen,
                        const struct topology *t, uint64_t now_ms);
/* The worker stops: close everything and keep nothing from now on. */
void backend_pool_close_all(struct backend_pool *p);

#endif
