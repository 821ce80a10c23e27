#include "proxy/backend_limit.h"

#include <stdio.h>
#include <string.h>

#include "protocol/packet.h"
#include "proxy/backend_pool.h"
#include "proxy/log.h"
#include "proxy/session.h"

static void on_tick(uv_timer_t *t);

int backend_limit_init(struct backend_limit *l, struct worker *w)
{
    memset(l, 0, sizeof *l);
    l->w = w;
    l->timer.data = l;
    return uv_timer_init(&w->loop, &l->timer);
}

static struct client_session *session_of(struct limit_waiter *lw)
{
    return (struct client_session *)((char *)lw - offsetof(struct client_session, limit_wait));
}

static struct worker_stats *stats_of(struct limit_waiter *lw) { return &session_of(lw)->w->stats; }

/* The command's wait is over (room, refusal or the client left): count its time. */
static void end_wait(struct limit_waiter *lw, uint64_t now)
{
    if (lw->since_ms == 0)
        return;
    stats_add(&stats_of(lw)->pool_wait_ms[lw->backend], now - lw->since_ms);
    lw->since_ms = 0;
}

static void unqueue(struct backend_limit *l, struct limit_waiter *lw)
{
    int i = lw->backend;
    if (lw->prev)
        lw->prev->next = lw->next;
    else
        l->head[i] = lw->next;
    if (lw->next)
        lw->next->prev = lw->prev;
    else
        l->tail[i] = lw->prev;
    lw->prev = lw->next = NULL;
    lw->queued = false;
    l->waiting--;
    atomic_fetch_sub(&stats_of(lw)->pool_waiting[i], 1);
}

void backend_limit_cancel(struct backend_limit *l, struct limit_waiter *lw)
{
    lw->granted = false;
    if (lw->queued)
        unqueue(l, lw);
    end_wait(lw, uv_now(&l->w->loop));
}

static void enqueue(struct backend_limit *l, struct limit_waiter *lw)
{
    int i = lw->backend;
    lw->next = NULL;
    lw->prev = l->tail[i];
    if (lw->prev)
        lw->prev->next = lw;
    else
        l->head[i] = lw;
    l->tail[i] = lw;
    lw->queued = true;
    l->waiting++;
    atomic_fetch_add(&stats_of(lw)->pool_waiting[i], 1);
    if (!uv_is_active((uv_handle_t *)&l->timer))
        uv_timer_start(&l->timer, on_tick, BACKEND_LIMIT_TICK_MS, BACKEND_LIMIT_TICK_MS);
}

static int share_of(const struct client_session *s, int index)
{
    return backend_limit_share(session_config(s), index, s->w->proxy->n_workers);
}

static int open_now(const struct client_session *s, int index)
{
    return atomic_load_explicit(&s->w->stats.backend_connections[index], memory_order_relaxed);
}


/* Below the share, or an idle connection to take or to close. A reload that
 * lifted the limit lets everyone go. */
static bool room_for(const struct client_session *s, int index)
{
    int share = share_of(s, index);
    return share == 0 || open_now(s, index) < share || s->w->pool.idle[index] != NULL;
}

bool session_backend_at_limit(const struct client_session *s, int index)
{
    int share = share_of(s, index);
    return share > 0 && open_now(s, index) >= share;
}

bool session_backend_has_room(const struct client_session *s, int index)
{
    return session_conn(s, index) || share_of(s, index) == 0 ||
           (!s->w->limits.head[index] && room_for(s, index));
}

/* The ERR names what ran out and the keys that decide it. */
static void refuse(struct client_session *s, int index)
{
    const struct proxy_config *cfg = session_config(s);
    const char *name = session_backend_name(s, index);
    char msg[400];
    if (s->w->limits.closed) {
        snprintf(msg, sizeof msg,
                 "switchyard: backend '%s': the proxy is shutting down; the statement waited "
                 "for a connection and did not run",
                 name);
        session_room_refused(s, ER_SERVER_SHUTDOWN, "08S01", msg);
        return;
    }
    char waited[48] = "";
    if (cfg->pool_wait_timeout_ms > 0)
        snprintf(waited, sizeof waited, " for %d ms", cfg->pool_wait_timeout_ms);
    stats_add(&s->w->stats.pool_wait_timeouts[index], 1);
    log_warn("session %u: backend '%s': no connection free within pool_wait_timeout_ms = %d; "
             "the statement fails",
             s->id, name, cfg->pool_wait_timeout_ms);
    snprintf(msg, sizeof msg,
             "switchyard: backend '%s': all %d connections of this worker are in use%s "
             "([backend.%s] max_connections = %d, [proxy] pool_wait_timeout_ms = %d)",
             name, share_of(s, index), waited, name, cfg->backends[index].max_connections,
             cfg->pool_wait_timeout_ms);
    session_room_refused(s, ER_CON_COUNT_ERROR, "08004", msg);
}

bool session_backend_room(struct client_session *s, int index)
{
    struct backend_limit *l = &s->w->limits;
    struct limit_waiter *lw = &s->limit_wait;
    int share = share_of(s, index);
    bool granted = lw->granted;
    lw->granted = false;
    if (share == 0)
        return true;
    uint64_t now = uv_now(&s->w->loop);
    /* Those already waiting go first. */
    if ((granted || !l->head[index]) &&
        (open_now(s, index) < share || backend_pool_make_room(&s->w->pool, s, index))) {
        end_wait(lw, now);
        return true;
    }
    int timeout_ms = session_config(s)->pool_wait_timeout_ms;
    if (lw->since_ms == 0) {
        if (timeout_ms <= 0 || l->closed) {
            refuse(s, index);
            return false;
        }
        lw->since_ms = now;
        lw->deadline_ms = now + (uint64_t)timeout_ms;
        stats_add(&s->w->stats.pool_waits[index], 1);
        log_debug("session %u: backend '%s' has all %d connections of this worker in use; "
                  "waiting up to %d ms",
                  s->id, session_backend_name(s, index), share, timeout_ms);
    }
    lw->backend = index;
    enqueue(l, lw);
    return false;
}

void backend_limit_freed(struct backend_limit *l, int index)
{
    if (!l->closed && l->head[index])
        uv_timer_start(&l->timer, on_tick, 0, BACKEND_LIMIT_TICK_MS);
}

/* Waiters whose time is up fail; then each queue's first waiters go while
 * there is room. Each queue is looked at from its head again after every
 * session woken or failed: what that session did may have changed it. */
static void on_tick(uv_timer_t *t)
{
    struct backend_limit *l = t->data;
    uint64_t now = uv_now(&l->w->loop);
    for (int i = 0; i < CONFIG_MAX_BACKENDS && l->waiting > 0; i++) {
        struct limit_waiter *lw = l->head[i];
        while (lw) {
            if (now < lw->deadline_ms) {
                lw = lw->next;
                continue;
            }
            backend_limit_cancel(l, lw);
            refuse(session_of(lw), i);
            lw = l->head[i];
        }
        while ((lw = l->head[i]) != NULL && room_for(session_of(lw), i)) {
            unqueue(l, lw);
            lw->granted = true;
            session_room_came(session_of(lw), i);
        }
    }
    if (l->waiting == 0)
        uv_timer_stop(t);
}

void backend_limit_close(struct backend_limit *l)
{
    l->closed = true;
    for (int i = 0; i < CONFIG_MAX_BACKENDS; i++) {
        struct limit_waiter *lw;
        while ((lw = l->head[i]) != NULL) {
            backend_limit_cancel(l, lw);
            refuse(session_of(lw), i);
        }
    }
    uv_close((uv_handle_t *)&l->timer, NULL);
}
