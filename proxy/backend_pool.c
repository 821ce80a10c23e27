#include "proxy/backend_pool.h"

#include <string.h>

#include "protocol/packet.h"
#include "proxy/backend_conn.h"
#include "proxy/backend_limit.h"
#include "proxy/client_session.h"
#include "proxy/log.h"
#include "proxy/proxy.h"
#include "proxy/session.h"
#include "proxy/stats.h"
#include "proxy/topology.h"

void backend_pool_init(struct backend_pool *p) { memset(p, 0, sizeof *p); }

static void unlink_idle(struct backend_conn *bc)
{
    struct backend_pool *p = bc->pool;
    if (!bc->pooled)
        return;
    if (bc->pool_prev)
        bc->pool_prev->pool_next = bc->pool_next;
    else
        p->idle[bc->index] = bc->pool_next;
    if (bc->pool_next)
        bc->pool_next->pool_prev = bc->pool_prev;
    bc->pool_prev = bc->pool_next = NULL;
    bc->pooled = false;
    atomic_fetch_sub(&bc->stats->pool_idle[bc->index], 1);
    if (bc->parked_by) {
        /* it goes elsewhere, or closes: what it held for its session is gone */
        session_pool_took_held(bc->parked_by, bc);
        bc->parked_by->parked[bc->index] = NULL;
        bc->parked_by = NULL;
    }
}

/* Most recently given back first: it is the one most likely still warm on
 * the server, and the oldest ones age out. */
static void push_idle(struct backend_conn *bc, uint64_t now_ms)
{
    struct backend_pool *p = bc->pool;
    bc->pool_prev = NULL;
    bc->pool_next = p->idle[bc->index];
    if (bc->pool_next)
        bc->pool_next->pool_prev = bc;
    p->idle[bc->index] = bc;
    bc->pooled = true;
    bc->idle_since_ms = now_ms;
    atomic_fetch_add(&bc->stats->pool_idle[bc->index], 1);
}

static bool backend_is_down(const struct topology *t, int index)
{
    return t && (size_t)index < t->n && t->backend[index].state == BACKEND_DOWN;
}

/* Nothing of a command may be in flight: the reset must be the only thing
 * the server answers next. */
static bool reusable(const struct backend_pool *p, const struct client_session *s,
                     const struct backend_conn *bc)
{
    /* MariaDB 10.11: after COM_RESET_CONNECTION a Galera node no longer does
     * causal reads (wsrep_sync_wait) on that connection, and read-your-writes
     * there depends on them. */
    if (client_session_config(s)->backends[bc->index].galera)
        return false;
    if (p->closing || !client_session_config(s)->multiplexing || bc->state != BC_READY ||
        bc->write_pending || bc->next_queued || bc->rlen != bc->rdone ||
        backend_conn_queued(bc) != 0 || bc->gen != client_session_config_gen(s))
        return false;
    /* Without a login database it goes back only where the session never
     * chose one: no command takes a connection back to "no database". */
    return bc->login_db[0] || (!s->current_db[0] && !(bc->needs_reset && bc->db_moved));
}

void backend_pool_give(struct backend_pool *p, struct client_session *s, struct backend_conn *bc)
{
    if (!reusable(p, s, bc)) {
        backend_conn_close(bc);
        return;
    }
    bc->session = NULL;
    bc->globals_seen = atomic_load(&s->w->proxy->globals_changed);
    bc->pool_step = POOL_RESET;
    /* a failure closes it */
    backend_conn_send_bounded(bc, COM_RESET_CONNECTION, (const uint8_t *)"", 0);
}

void backend_pool_answered(struct backend_conn *bc, bool ok)
{
    if (!ok || bc->pool->closing) {
        backend_conn_close(bc);
        return;
    }
    if (bc->pool_step == POOL_RESET && bc->login_db[0]) {
        bc->pool_step = POOL_INIT_DB; /* the reset keeps whatever USE chose */
        backend_conn_send_bounded(bc, COM_INIT_DB, (const uint8_t *)bc->login_db,
                                  strlen(bc->login_db));
        return;
    }
    bc->pool_step = POOL_NONE;
    bc->needs_reset = bc->db_moved = false;
    /* The next session's login OK reports these flags (autocommit follows
     * @@global.autocommit as it is now, not as it was at the first login). */
    if (bc->tracker.saw_status)
        bc->login_status = bc->tracker.status;
    backend_conn_forget_session_state(bc);
    push_idle(bc, backend_conn_now(bc));
    backend_limit_freed(bc->limit, bc->index);
}

void backend_pool_lost(struct backend_conn *bc) { unlink_idle(bc); }

/* Logged in as s would log in: the same account (under the same
 * configuration), capabilities (they shape every response), character set
 * and database. */
static bool same_login(const struct backend_conn *bc, const struct client_session *s)
{
    const struct session_login *login = client_session_login(s);
    return bc->gen == client_session_config_gen(s) && bc->login_caps == login->caps &&
           bc->login_charset == login->charset && strcmp(bc->login_user, login->user) == 0 &&
           strcmp(bc->login_db, login->db) == 0;
}

/* A SET GLOBAL, GRANT or REVOKE succeeded since it was reset: it still has
 * the old session defaults and global privileges, which a new login would
 * not. */
static bool stale_defaults(const struct backend_conn *bc, const struct client_session *s)
{
    return bc->globals_seen != atomic_load(&s->w->proxy->globals_changed);
}

/* Another session's state is on it: after a reset it is back in its login
 * database only through COM_INIT_DB, which cannot choose "no database". */
static bool usable_by(const struct backend_conn *bc, const struct client_session *s)
{
    return same_login(bc, s) && !(bc->carries_state && bc->db_moved && !s->login.db[0]);
}

/* Which idle connection serves another session best: a clean one, then
 * one with another session's state (reset), and one that holds what its
 * session may ask about next only when nothing else can be had. */
static int take_rank(const struct backend_conn *bc, bool may_take_held)
{
    if (!bc->carries_state)
        return 3;
    if (!bc->held_last && !bc->held_insert_id)
        return 2;
    return may_take_held ? 1 : 0;
}

/* Handed to s for its next command. Idle long, it may have been dropped
 * without a word: the session pings it first. Until the command goes out,
 * one that proves dead is replaced (replace_pooled in client_session.c). */
static struct backend_conn *hand_over(struct backend_conn *bc, struct client_session *s)
{
    int check_after = client_session_config(s)->pool_check_after_ms;
    unlink_idle(bc);
    bc->session = s;
    bc->from_pool = true;
    bc->check_due =
        check_after > 0 && backend_conn_now(bc) - bc->idle_since_ms >= (uint64_t)check_after;
    return bc;
}

struct backend_conn *backend_pool_take(struct backend_pool *p, struct client_session *s, int index,
                                       bool may_take_held)
{
    struct backend_conn *own = s->parked[index];
    if (own) {
        own->parked_by = NULL;
        s->parked[index] = NULL;
        hand_over(own, s);
        own->carries_state = false;
        return own;
    }
    if (p->closing || !client_session_config(s)->multiplexing)
        return NULL;
    struct backend_conn *found = NULL;
    int best = 0;
    for (struct backend_conn *bc = p->idle[index], *next; bc && best < 3; bc = next) {
        next = bc->pool_next;
        if (stale_defaults(bc, s)) {
            unlink_idle(bc);
            backend_conn_close(bc);
            continue;
        }
        int rank = usable_by(bc, s) ? take_rank(bc, may_take_held) : 0;
        if (rank > best) {
            best = rank;
            found = bc;
        }
    }
    if (!found)
        return NULL;
    hand_over(found, s);
    found->needs_reset |= found->carries_state;
    found->carries_state = found->held_last = found->held_insert_id = false;
    stats_add(&found->stats->pool_reuses[index], 1);
    return found;
}

bool backend_pool_may_park(const struct backend_pool *p, const struct client_session *s,
                           const struct backend_conn *bc)
{
    return !p->closing && client_session_config(s)->multiplexing &&
           !client_session_config(s)->backends[bc->index].galera && bc->state == BC_READY &&
           !bc->write_pending && !bc->next_queued && bc->rlen == bc->rdone &&
           backend_conn_queued(bc) == 0 && bc->gen == client_session_config_gen(s) &&
           !bc->login_db_pending;
}

void backend_pool_park(struct backend_pool *p, struct client_session *s, struct backend_conn *bc)
{
    (void)p;
    bc->session = NULL;
    /* Only plain reads ran on it, and the session is as it logged in: it
     * is what a new login would be, and another session of that login
     * takes it without a reset (a client that connects, reads and leaves
     * costs the server no reset). */
    const struct session_login *login = client_session_login(s);
    bc->carries_state =
        bc->dirty || s->log.count > 0 || strcmp(s->current_db, login->db) != 0;
    /* Where it is now may lag behind the session (a USE not replayed
     * there yet): any database, or state that may have chosen one, counts.
     * Not reset yet (taken at a login, never used), it is still where the
     * session before left it. */
    bc->db_moved |= s->current_db[0] != '\0' || s->log.count > 0;
    push_idle(bc, backend_conn_now(bc));
    bc->parked_by = s;
    s->parked[bc->index] = bc;
    backend_limit_freed(bc->limit, bc->index);
}

void backend_pool_unpark(struct backend_conn *bc)
{
    if (bc->parked_by)
        bc->parked_by->parked[bc->index] = NULL;
    bc->parked_by = NULL;
    bc->held_last = bc->held_insert_id = false; /* nobody will ask any more */
}

bool backend_pool_make_room(struct backend_pool *p, struct client_session *s, int index)
{
    struct backend_conn *oldest = NULL;
    if (s->parked[index])
        return true;
    for (struct backend_conn *bc = p->idle[index]; bc; bc = bc->pool_next) {
        if (usable_by(bc, s) && !stale_defaults(bc, s))
            return true;
        oldest = bc;
    }
    if (!oldest)
        return false;
    log_debug("backend %d: closing a pooled connection of user '%s' to make room for session %u",
              index, oldest->login_user, client_session_id(s));
    unlink_idle(oldest);
    backend_conn_close(oldest);
    return true;
}

void backend_pool_sweep(struct backend_pool *p, const struct config_gen *gen,
                        const struct topology *t, uint64_t now_ms)
{
    uint64_t keep_ms = (uint64_t)gen->cfg.pool_idle_timeout * 1000;
    for (int i = 0; i < CONFIG_MAX_BACKENDS; i++) {
        struct backend_conn *bc = p->idle[i];
        while (bc) {
            struct backend_conn *next = bc->pool_next;
            if (bc->gen != gen || !gen->cfg.multiplexing || backend_is_down(t, i) ||
                now_ms - bc->idle_since_ms >= keep_ms) {
                unlink_idle(bc);
                backend_conn_close(bc);
            }
            bc = next;
        }
    }
}

void backend_pool_close_all(struct backend_pool *p)
{
    p->closing = true;
    for (int i = 0; i < CONFIG_MAX_BACKENDS; i++) {
        while (p->idle[i]) {
            struct backend_conn *bc = p->idle[i];
            unlink_idle(bc);
            backend_conn_close(bc);
        }
    }
}
