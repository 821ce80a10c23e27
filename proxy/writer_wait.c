#include "proxy/writer_wait.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/packet.h"
#include "proxy/backend_conn.h"
#include "proxy/log.h"
#include "proxy/session.h"
#include "proxy/writer.h"

static void on_tick(uv_timer_t *t);

int writer_wait_init(struct writer_wait_list *l, struct worker *w)
{
    memset(l, 0, sizeof *l);
    l->w = w;
    l->timer.data = l;
    return uv_timer_init(&w->loop, &l->timer);
}

static struct client_session *session_of(struct writer_waiter *ww);

/* A waiting statement never ran anywhere: its client is told so now rather
 * than cut off when the shutdown timeout ends. */
void writer_wait_close(struct writer_wait_list *l)
{
    l->closed = true;
    uv_close((uv_handle_t *)&l->timer, NULL);
    while (l->head) {
        struct client_session *s = session_of(l->head);
        writer_wait_cancel(l, l->head);
        if (s->state != CS_COMMAND)
            continue;
        session_send_err(s, (uint8_t)(s->cmd_seq + 1), ER_SERVER_SHUTDOWN, "08S01",
                         "switchyard is shutting down: the statement waited for a writer "
                         "and did not run; reconnect and send it again");
        session_finish_command(s);
    }
}

void writer_wait_cancel(struct writer_wait_list *l, struct writer_waiter *ww)
{
    if (!ww->queued)
        return;
    if (ww->prev)
        ww->prev->next = ww->next;
    else
        l->head = ww->next;
    if (ww->next)
        ww->next->prev = ww->prev;
    ww->prev = ww->next = NULL;
    ww->queued = false;
}

void writer_wait_forget(struct writer_waiter *ww)
{
    free(ww->message);
    ww->message = NULL;
    ww->deadline_ms = 0;
}

static void add(struct writer_wait_list *l, struct writer_waiter *ww)
{
    ww->prev = NULL;
    ww->next = l->head;
    if (l->head)
        l->head->prev = ww;
    l->head = ww;
    ww->queued = true;
    if (!uv_is_active((uv_handle_t *)&l->timer))
        uv_timer_start(&l->timer, on_tick, WRITER_WAIT_TICK_MS, WRITER_WAIT_TICK_MS);
}

static uint64_t topology_version(struct worker *w)
{
    const struct topology *t = worker_topology(w);
    return t ? t->version : 0;
}

static struct client_session *session_of(struct writer_waiter *ww)
{
    return (struct client_session *)((char *)ww - offsetof(struct client_session, writer_wait));
}

/* No writer came in time: the client gets what the last failure said. */
static void give_up(struct client_session *s)
{
    struct writer_waiter *ww = &s->writer_wait;
    int ms = session_config(s)->writer_wait_ms;
    stats_add(&s->w->stats.writer_wait_timeouts, 1);
    log_warn("session %u: no writer took the statement within %d ms; it fails", s->id, ms);
    session_send_err(s, (uint8_t)(s->cmd_seq + 1), ww->code ? ww->code : ER_NET_READ_ERROR,
                     ww->sqlstate[0] ? ww->sqlstate : "08S01",
                     "switchyard: backend '%s': %s; no writer took over within %d ms "
                     "([routing] writer_wait_ms): retry when one is up",
                     session_backend_name(s, ww->backend),
                     ww->message ? ww->message : "unreachable", ms);
    session_finish_command(s);
}

/* A newer topology, or the deadline: route the statement again, or give
 * up. A statement that fails again under the new topology waits again,
 * until the same deadline. */
static void wake(struct writer_waiter *ww, uint64_t now)
{
    struct client_session *s = session_of(ww);
    if (s->state != CS_COMMAND)
        return;
    if (now >= ww->deadline_ms) {
        give_up(s);
        return;
    }
    s->tried = 0;
    session_route(s);
}

/* Wake what has something new, one at a time and from the head again: a
 * woken statement may fail at once and wait again (then with the current
 * version, so it is passed over until the next). */
static void on_tick(uv_timer_t *t)
{
    struct writer_wait_list *l = t->data;
    uint64_t now = uv_now(&l->w->loop), version = topology_version(l->w);
    struct writer_waiter *ww = l->head;
    while (ww) {
        if (ww->version == version && now < ww->deadline_ms) {
            ww = ww->next;
            continue;
        }
        writer_wait_cancel(l, ww);
        wake(ww, now);
        ww = l->head;
    }
    if (!l->head)
        uv_timer_stop(t);
}

/* Only a statement the proxy can start again from its own copy, bound for
 * the writer outside anything tied to that server's connection, and lost
 * before any of it left the proxy (or reached the server: a login it never
 * finished). A login the server refused is its answer, not an outage. */
static bool may_wait(const struct client_session *s, const struct backend_conn *bc)
{
    bool command = s->cmd == COM_QUERY || s->cmd == COM_STMT_PREPARE || s->cmd == COM_INIT_DB ||
                   (s->cmd == COM_STMT_EXECUTE && s->stmt && s->stmt->long_data_backend < 0);
    bool routed = s->decision.target == ROUTE_PRIMARY || s->decision.target == ROUTE_REPLICA;
    return command && routed && s->state == CS_COMMAND && !s->cmd_sent && !s->forwarded &&
           !s->streaming && !bc->login_refused && bc->index == s->writer &&
           session_route_pinned(&s->route) == NULL;
}

/* Active-active: another writable primary this statement has not failed on. */
static bool other_writer(const struct client_session *s)
{
    const struct proxy_config *cfg = session_config(s);
    const struct topology *t = session_topology(s);
    if (cfg->writers != WRITERS_ACTIVE_ACTIVE || !t)
        return false;
    for (size_t i = 0; i < cfg->n_backends; i++)
        if (backend_writable(t, i) && !(s->tried & (1ull << i)))
            return true;
    return false;
}

bool session_wait_for_writer(struct client_session *s, struct backend_conn *bc, uint16_t code,
                             const char *sqlstate, const char *message)
{
    struct writer_wait_list *l = &s->w->writer_waits;
    struct writer_waiter *ww = &s->writer_wait;
    int ms = session_config(s)->writer_wait_ms;
    if (ms <= 0 || l->closed || !may_wait(s, bc))
        return false;
    uint64_t now = uv_now(&s->w->loop);
    if (ww->deadline_ms == 0) {
        ww->deadline_ms = now + (uint64_t)ms;
        stats_add(&s->w->stats.writer_waits, 1);
        log_info("session %u: writer '%s' unreachable before the statement was sent (%s); "
                 "waiting up to %d ms for a writer",
                 s->id, session_backend_name(s, bc->index), message, ms);
    }
    ww->backend = bc->index;
    ww->code = code;
    snprintf(ww->sqlstate, sizeof ww->sqlstate, "%s", sqlstate ? sqlstate : "");
    free(ww->message);
    ww->message = strdup(message ? message : "unreachable"); /* NULL: give_up says less */
    ww->version = topology_version(s->w);
    s->tried |= 1ull << bc->index;
    if (other_writer(s)) {
        session_route(s);
        return true;
    }
    add(l, ww);
    return true;
}
