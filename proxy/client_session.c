/* A client session's I/O and command loop: read one command, route it, bring
 * the chosen backend up to date with the session's state, forward the
 * command's bytes and stream the response back. */
#include "proxy/client_session.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/packet.h"
#include "protocol/result_tracker.h"
#include "proxy/backend_conn.h"
#include "config/cidr.h"
#include "proxy/causal.h"
#include "proxy/held_error.h"
#include "proxy/log.h"
#include "proxy/query_digest.h"
#include "proxy/readonly_retry.h"
#include "proxy/session.h"
#include "proxy/worker.h"
#include "proxy/galera_route.h"
#include "proxy/writer.h"
#include "router/proxy_command.h"
#include "router/sql_lexer.h"

/* Commands one session runs per turn before the others get theirs. */
#define COMMANDS_PER_TURN 64
/* Answers queued for a client that does not read them: past this, the
 * session takes no more commands until the queue has drained. */
#define CLIENT_OUTPUT_MAX (256 * 1024)

static void process_commands(struct client_session *s);
static void forget_backend(struct client_session *s, struct backend_conn *bc);
static void stop_reading(struct client_session *s);
static void dispatch(struct client_session *s);
static void position_known(struct position_waiter *pw, bool ok, const char *position, bool mysql);

struct worker *client_session_worker(const struct client_session *s) { return s->w; }
uint32_t client_session_id(const struct client_session *s) { return s->id; }
const struct session_login *client_session_login(const struct client_session *s)
{
    return &s->login;
}

const struct config_gen *client_session_config_gen(const struct client_session *s)
{
    return s->gen;
}

const struct proxy_config *client_session_config(const struct client_session *s)
{
    return &s->gen->cfg;
}

const struct proxy_config *session_config(const struct client_session *s)
{
    return &s->gen->cfg;
}

const char *session_backend_name(const struct client_session *s, int index)
{
    return session_config(s)->backends[index].name;
}

static int first_configured_primary(const struct proxy_config *cfg)
{
    for (size_t i = 0; i < cfg->n_backends; i++)
        if (cfg->backends[i].role == ROLE_PRIMARY)
            return (int)i;
    return 0; /* config validation guarantees a primary */
}

/* The writer this session uses now, without choosing anew. */
int session_primary_index(const struct client_session *s)
{
    if (s->writer >= 0)
        return s->writer;
    struct topology *t = session_topology(s);
    if (t && t->writer >= 0)
        return t->writer;
    return first_configured_primary(session_config(s));
}

/* Active-active: weighted round-robin over the primaries that are up and
 * writable. */
static int pick_writer(struct client_session *s, struct topology *t)
{
    const struct proxy_config *cfg = session_config(s);
    int weights[CONFIG_MAX_BACKENDS];
    for (size_t i = 0; i < cfg->n_backends; i++)
        weights[i] = t && backend_writable(t, i) && !(s->tried & (1ull << i)) &&
                             !proxy_backend_offline(s->w->proxy, cfg->backends[i].name)
                         ? cfg->backends[i].weight
                         : 0;
    return wrr_pick(&s->w->writer_wrr, weights, cfg->n_backends);
}

/* Where a statement bound for a primary goes. A session pinned to its writer
 * (transaction, locks, temporary tables...) stays there; if that server is
 * no longer the writer, what the session had there is lost, and the client
 * is told so. Returns -1 after failing the command. */
int session_choose_writer(struct client_session *s)
{
    const struct proxy_config *cfg = session_config(s);
    struct topology *t = session_topology(s);
    bool pinned = s->writer >= 0 && session_route_pinned(&s->route) != NULL;
    int w;
    bool sticky = pinned || (cfg->write_affinity == WRITE_AFFINITY_SESSION && s->writer >= 0);
    if (cfg->writers == WRITERS_ACTIVE_ACTIVE)
        w = sticky && t && backend_writable(t, (size_t)s->writer) ? s->writer : pick_writer(s, t);
    else
        w = t && t->writer >= 0 ? t->writer : -1;
    if (w < 0)
        w = pinned ? s->writer : first_configured_primary(cfg);
    if (pinned && w != s->writer) {
        int old = s->writer;
        s->writer = w;
        session_route_state_restart(&s->route, cfg->read_only_transactions_on_replica);
        session_fail_command(s, ER_NET_READ_ERROR, "08S01",
                             "switchyard: writes moved from '%s' to '%s' while this session "
                             "was bound to it (%s); that state is lost: roll back and retry",
                             session_backend_name(s, old), session_backend_name(s, w),
                             "transaction, locks or temporary tables");
        return -1;
    }
    s->writer = w;
    if (proxy_backend_offline(s->w->proxy, cfg->backends[w].name)) {
        session_fail_command(s, ER_CONNECT_TO_FOREIGN_DATA_SOURCE, "HY000",
                             "switchyard: backend '%s' takes the writes but is OFFLINE (admin SET "
                             "BACKEND %s ONLINE brings it back)",
                             cfg->backends[w].name, cfg->backends[w].name);
        return -1;
    }
    return w;
}

/* Run the current command on the writer. */
static void run_on_writer(struct client_session *s)
{
    int w = session_choose_writer(s);
    if (w >= 0)
        session_run_on(s, w);
}

static struct worker_stats *stats_of(const struct client_session *s) { return &s->w->stats; }

/* Published for KILL from other sessions: which backend runs our command. */
void session_set_busy(struct client_session *s, int index)
{
    if (s->registered)
        atomic_store(&s->entry.busy_backend, index);
}

/* --- lifetime ------------------------------------------------------------ */

static void on_client_closed(struct transport *t)
{
    struct client_session *s = t->owner;
    session_release_input(s);
    free(s->gathered);
    free(s->rewritten);
    free(s->login.attrs);
    if (s->before_change)
        free(s->before_change->login.attrs);
    free(s->before_change);
    writer_wait_forget(&s->writer_wait);
    session_log_free(&s->log);
    stmt_registry_free(&s->stmts);
    free(s);
}

/* The session is done with its backend connections: the clean ones go
 * back to the worker's pool for the next session. */
static void close_backends(struct client_session *s)
{
    session_unpark_all(s);
    for (size_t i = 0; i < CONFIG_MAX_BACKENDS; i++) {
        if (s->bc[i])
            backend_pool_give(&s->w->pool, s, s->bc[i]);
        s->bc[i] = NULL;
        if (s->registered)
            atomic_store(&s->entry.thread_id[i], 0);
    }
}

void session_close(struct client_session *s)
{
    if (s->state == CS_CLOSING)
        return;
    s->state = CS_CLOSING;
    if (s->counted) {
        atomic_fetch_sub(&stats_of(s)->client_connections, 1);
        atomic_fetch_sub(&s->w->proxy->connections, 1);
    }
    close_backends(s);
    worker_forget_runnable(s->w, &s->run);
    position_fetch_cancel(s->w, &s->position_wait);
    writer_wait_cancel(&s->w->writer_waits, &s->writer_wait);
    backend_limit_cancel(&s->w->limits, &s->limit_wait);
    if (s->registered)
        session_registry_remove(&s->w->proxy->sessions, &s->entry);
    s->registered = false;
    if (s->prev)
        s->prev->next = s->next;
    else
        s->w->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    transport_close(&s->t);
    worker_session_gone(s->w);
}

static void on_flushed(struct transport *t)
{
    session_close(t->owner);
}

/* Close once what was queued for the client (an ERR, typically) is sent. */
void session_close_after_flush(struct client_session *s)
{
    if (s->state == CS_CLOSING || s->state == CS_FLUSHING)
        return;
    if (transport_shutdown(&s->t, on_flushed) == 0) {
        s->state = CS_FLUSHING;
        return;
    }
    session_close(s);
}

void client_session_close_all(struct worker *w)
{
    while (w->sessions)
        session_close(w->sessions);
}

void client_session_close_idle(struct worker *w)
{
    struct client_session *s = w->sessions;
    while (s) {
        struct client_session *next = s->next;
        /* A statement still streaming is not complete: like one still being
         * read, it has not started. */
        if ((s->state != CS_COMMAND && s->state != CS_INFILE) || s->streaming)
            session_close(s);
        s = next;
    }
}

void client_session_close_killed(struct worker *w)
{
    struct client_session *s = w->sessions;
    while (s) {
        struct client_session *next = s->next;
        if (s->registered && atomic_load(&s->entry.kill_requested)) {
            log_info("session %u: killed by KILL CONNECTION", s->id);
            session_close(s);
        }
        s = next;
    }
}

/* Drop every backend connection and all state a session built up: after
 * COM_CHANGE_USER and COM_RESET_CONNECTION the session starts afresh. */
void session_reset_backends(struct client_session *s)
{
    close_backends(s);
    session_log_clear(&s->log);
    stmt_registry_free(&s->stmts);
    stmt_registry_init(&s->stmts);
    session_route_state_restart(&s->route, session_config(s)->read_only_transactions_on_replica);
    s->replay_failed = 0;
    s->last_backend = -1;
    s->trx_backend = -1;
    s->writer = -1;
    s->hold_backend = s->insert_id_backend = -1;
    s->used_user_vars = s->ran_stored_code = s->lost_last_info = s->lost_insert_id = false;
}

/* --- writing to the client ----------------------------------------------- */

/* A write to the client completed: once nothing is queued any more, a
 * session that stopped for its client to read goes on with its commands. A
 * backend whose response bytes it borrowed (token) goes on reading. */
static void on_client_written(struct transport *t, void *token, int status)
{
    struct client_session *s = t->owner;
    if (status < 0 && status != UV_ECANCELED && s->state != CS_CLOSING) {
        log_debug("session %u: write to client failed: %s", s->id, uv_strerror(status));
        session_close(s);
    }
    if (s->output_full && s->state != CS_CLOSING && transport_queued(&s->t) == 0) {
        s->output_full = false;
        worker_make_runnable(s->w, &s->run);
    }
    if (token)
        backend_conn_resume(token);
}

/* Send proxy-built bytes; a copy is kept only when the socket cannot take
 * them at once. */
int session_send(struct client_session *s, const uint8_t *data, size_t len)
{
    if (s->state == CS_CLOSING)
        return -1;
    if (transport_send(&s->t, data, len, false, NULL) < 0) {
        session_close(s);
        return -1;
    }
    return 0;
}

void session_send_err(struct client_session *s, uint8_t seq, uint16_t code, const char *sqlstate,
                      const char *fmt, ...)
{
    char msg[480];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    uint8_t buf[600];
    size_t n = err_packet_build(buf, sizeof buf, seq, code, sqlstate ? sqlstate : "HY000", msg);
    if (n > 0)
        session_send(s, buf, n);
}

uint16_t session_status(const struct client_session *s)
{
    uint16_t st = 0;
    if (s->route.autocommit)
        st |= SERVER_STATUS_AUTOCOMMIT;
    if (s->route.in_transaction)
        st |= SERVER_STATUS_IN_TRANS;
    return st;
}

void session_send_ok(struct client_session *s, uint8_t seq)
{
    uint8_t buf[64];
    size_t n = ok_packet_build(buf, sizeof buf, seq, s->login.caps, 0, 0, session_status(s), 0);
    session_send(s, buf, n);
}

/* Response bytes from a backend, written from its buffer without a copy;
 * when the socket cannot take them all, the backend pauses until it can
 * (on_client_written resumes it). */
bool client_session_forward(struct client_session *s, struct backend_conn *bc, const uint8_t *data,
                            size_t len)
{
    s->forwarded = true;
    stats_add(&stats_of(s)->bytes_to_clients, len);
    int rc = transport_send(&s->t, data, len, true, bc);
    if (rc < 0) {
        log_debug("session %u: client went away: %s", s->id, uv_strerror(rc));
        session_close(s);
        return true;
    }
    return rc == 1;
}

/* --- reading from the client --------------------------------------------- */

/* The command's argument points into the input unless it was gathered:
 * when the input's bytes move (LOAD DATA LOCAL lets the buffer grow while
 * the command runs), the argument moves with them. */
size_t session_arg_offset(const struct client_session *s)
{
    if (s->arg && s->arg >= s->in && s->arg < s->in + s->in_len)
        return (size_t)(s->arg - s->in);
    return SIZE_MAX;
}

void session_arg_rebase(struct client_session *s, size_t off)
{
    if (off != SIZE_MAX)
        s->arg = s->in + off;
}

/* Finished commands leave the input by moving its start, not its bytes: a
 * pipeline of small commands read ahead into a large buffer would else be
 * moved once per command. The bytes move down only to make room (never
 * during a command: a pending write to a backend may point into them).
 * Returns the allocation. */
uint8_t *session_compact_input(struct client_session *s)
{
    if (s->in != s->in_buf) {
        size_t arg = session_arg_offset(s);
        memmove(s->in_buf, s->in, s->in_len);
        s->in_cap += (size_t)(s->in - s->in_buf);
        s->in = s->in_buf;
        session_arg_rebase(s, arg);
    }
    return s->in_buf;
}

void session_consume_input(struct client_session *s, size_t n)
{
    if (n == 0)
        return;
    s->in_len -= n;
    if (s->in_len == 0) {
        s->in_cap += (size_t)(s->in - s->in_buf);
        s->in = s->in_buf;
        return;
    }
    s->in += n;
    s->in_cap -= n;
}

/* The client stays readable while a command runs (stopping and restarting
 * would cost two epoll_ctl calls per statement), but the buffer only grows
 * between commands: a pending write to a backend may point into it. During
 * LOAD DATA LOCAL the command bytes were consumed by the server long ago and
 * the relayed file data is copied, so it may grow then too; no room (reading
 * stops) while the backend is too far behind. */
static void on_client_room(struct transport *t, uv_buf_t *buf)
{
    struct client_session *s = t->owner;
    size_t room = session_input_room(s);
    *buf = uv_buf_init(room ? (char *)s->in + s->in_len : NULL, (unsigned)room);
}

static void relay_infile(struct client_session *s);

/* Move what TLS has decrypted into the input. What does not fit stays
 * inside OpenSSL until the command ends. Returns -1 when the session died. */
int session_take_plaintext(struct client_session *s)
{
    while (s->t.tls_on) {
        size_t room = session_input_room(s);
        if (room == 0)
            return 0;
        long n = transport_take_plaintext(&s->t, s->in + s->in_len, room);
        if (n < 0) {
            session_close(s);
            return -1;
        }
        if (n == 0)
            return 0;
        s->in_len += (size_t)n;
    }
    return 0;
}

int session_start_tls(struct client_session *s, const uint8_t *rest, size_t len)
{
    if (transport_start_tls(&s->t, s->gen->tls_server, true, NULL, rest, len) != 0) {
        session_close(s);
        return -1;
    }
    return session_take_plaintext(s);
}

/* Login packets, one at a time. A client may send its first commands in the
 * same write as its login (MariaDB answers them): what follows a login
 * packet stays in the input for the command loop. */
static void on_login_input(struct client_session *s)
{
    while ((s->state == CS_GREETING_SENT || s->state == CS_AUTH_SWITCH) && !s->changing_user) {
        size_t wire, payload;
        if (!logical_packet_span(s->in, s->in_len, &wire, &payload)) {
            if (s->in_len >= LOGIN_PACKET_MAX)
                session_close(s);
            return;
        }
        if (!s->t.tls_on && s->state == CS_GREETING_SENT && payload == 32 && s->gen->tls_server &&
            (read_u32(s->in + PACKET_HEADER_LEN) & CLIENT_SSL)) {
            /* SSL request: the TLS handshake follows, maybe in the same read. */
            uint8_t rest[CLIENT_IN_MIN];
            size_t extra = s->in_len - wire;
            if (extra > sizeof rest) {
                session_close(s);
                return;
            }
            memcpy(rest, s->in + wire, extra);
            s->in_len = 0;
            if (session_start_tls(s, rest, extra) != 0)
                return;
            continue;
        }
        if (wire != payload + PACKET_HEADER_LEN) {
            session_send_err(s, 2, ER_HANDSHAKE_ERROR, "08S01", "Bad handshake");
            session_close_after_flush(s);
            return;
        }
        if (s->state == CS_GREETING_SENT)
            session_on_login_packet(s, s->in + PACKET_HEADER_LEN, payload, packet_seq(s->in));
        else
            session_on_auth_switch_reply(s, s->in + PACKET_HEADER_LEN, payload, packet_seq(s->in));
        if (s->state == CS_CLOSING || s->state == CS_FLUSHING)
            return;
        session_consume_input(s, wire);
    }
    if (s->state == CS_IDLE && s->in_len > 0)
        process_commands(s);
}

static void on_client_read(struct transport *t, ssize_t n)
{
    struct client_session *s = t->owner;
    if (n == 0)
        return;
    if (n < 0) {
        char err[160];
        if (n == UV_EPROTO && transport_tls_handshaking(t))
            log_info("session %u: TLS handshake with %s failed: %s", s->id, s->peer,
                     tls_stream_error(err, sizeof err));
        else if (n != UV_EOF)
            log_debug("session %u: read from client: %s", s->id, uv_strerror((int)n));
        session_close(s);
        return;
    }
    s->in_len += (size_t)n;
    if ((s->state == CS_GREETING_SENT || s->state == CS_AUTH_SWITCH) && !s->changing_user)
        on_login_input(s);
    else if (s->state == CS_IDLE || (s->state == CS_AUTH_SWITCH && s->changing_user))
        process_commands(s);
    else if (s->state == CS_INFILE)
        relay_infile(s);
    else if (s->state == CS_COMMAND && s->streaming)
        session_relay_stream(s);
    else if (s->state == CS_COMMAND && s->in_cap - s->in_len < CLIENT_IN_MIN / 2)
        stop_reading(s); /* more than we can hold now: wait for the command to end */
}

void session_start_reading(struct client_session *s)
{
    if (s->state == CS_CLOSING || s->state == CS_FLUSHING)
        return;
    transport_read_start(&s->t);
}

static void stop_reading(struct client_session *s)
{
    transport_read_stop(&s->t);
}

/* The session's turn on the worker's loop: go on with its commands. */
static void run_session(struct runnable *r)
{
    struct client_session *s =
        (struct client_session *)((char *)r - offsetof(struct client_session, run));
    process_commands(s);
}

/* The firewall and the global connection limit answer before anything is
 * read from the client: an ERR as the first packet, as MariaDB does. */
static bool refuse_at_accept(struct client_session *s, const struct sockaddr *addr, int open_now)
{
    const struct proxy_config *cfg = session_config(s);
    bool denied = cidr_list_match(&cfg->deny, addr) ||
                  (cfg->allow.n > 0 && !cidr_list_match(&cfg->allow, addr));
    if (denied) {
        stats_add(&stats_of(s)->refused_firewall, 1);
        log_warn("firewall: refused %s", s->peer);
        session_send_err(s, 0, ER_HOST_NOT_PRIVILEGED, "HY000",
                         "Host '%s' is not allowed to connect to this switchyard proxy", s->peer);
        session_close_after_flush(s);
        return true;
    }
    if (cfg->max_connections > 0 && open_now > cfg->max_connections) {
        stats_add(&stats_of(s)->refused_limits, 1);
        log_warn("limits: refused %s: max_connections = %d reached", s->peer, cfg->max_connections);
        session_send_err(s, 0, ER_CON_COUNT_ERROR, "08004", "Too many connections");
        session_close_after_flush(s);
        return true;
    }
    return false;
}

/* client_idle_timeout: sessions waiting for a command longer than that are
 * closed (checked once a second by the worker). */
void client_session_close_idle_too_long(struct worker *w)
{
    int timeout_s = proxy_config_gen(w->proxy)->cfg.client_idle_timeout;
    if (timeout_s <= 0)
        return;
    uint64_t now = uv_now(&w->loop);
    struct client_session *s = w->sessions;
    while (s) {
        struct client_session *next = s->next;
        if (s->state == CS_IDLE && now - s->last_active_ms > (uint64_t)timeout_s * 1000) {
            log_info("session %u: idle for more than client_idle_timeout = %d s; closing", s->id,
                     timeout_s);
            session_close(s);
        }
        s = next;
    }
}

static const struct transport_events client_events = {
    .room = on_client_room,
    .read = on_client_read,
    .written = on_client_written,
    .closed = on_client_closed,
};

void client_session_accept(struct worker *w, uv_stream_t *server)
{
    struct client_session *s = calloc(1, sizeof *s);
    if (!s)
        return;
    s->w = w;
    s->user_index = -1;
    s->last_backend = -1;
    s->trx_backend = -1;
    s->hold_backend = -1;
    s->insert_id_backend = -1;
    s->writer = -1;
    s->run.run = run_session;
    s->position_wait.done = position_known;
    transport_init(&s->t, &w->loop, &w->cipher_buffers, &client_events, s);
    s->next = w->sessions;
    if (w->sessions)
        w->sessions->prev = s;
    w->sessions = s;
    s->state = CS_GREETING_SENT;
    s->gen = proxy_config_gen(w->proxy);
    session_route_state_init(&s->route, s->gen->cfg.read_only_transactions_on_replica);
    session_log_init(&s->log);
    stmt_registry_init(&s->stmts);
    if (transport_accept(&s->t, server) != 0) {
        session_close(s);
        return;
    }
    struct sockaddr_storage addr;
    transport_peer(&s->t, &addr, s->peer, sizeof s->peer);
    s->id = (uint32_t)atomic_fetch_add(&w->proxy->next_session_id, 1);
    s->last_active_ms = uv_now(&w->loop);
    s->counted = true;
    stats_add(&w->stats.sessions_opened, 1);
    atomic_fetch_add(&w->stats.client_connections, 1);
    int open_now = atomic_fetch_add(&w->proxy->connections, 1) + 1;
    if (refuse_at_accept(s, (const struct sockaddr *)&addr, open_now))
        return;
    session_send_greeting(s);
    session_start_reading(s);
}

/* --- configuration reload ------------------------------------------------ */

static int map_index(const int *map, int i) { return i >= 0 ? map[i] : -1; }

/* Backend old index i of the session's configuration is map[i] in ng, or
 * -1 when it is gone or now points at another server. */
static void backend_map(const struct proxy_config *old, const struct proxy_config *ng, int *map)
{
    for (size_t i = 0; i < old->n_backends; i++) {
        const struct backend_config *a = &old->backends[i];
        map[i] = -1;
        for (size_t j = 0; j < ng->n_backends; j++) {
            const struct backend_config *b = &ng->backends[j];
            if (strcmp(a->name, b->name) == 0 && strcmp(a->host, b->host) == 0 &&
                a->port == b->port)
                map[i] = (int)j;
        }
    }
}

/* Between statements, move to the newest configuration: keep the backend
 * connections whose backend is unchanged (under its new index), close the
 * others, and carry statement ids and routing state over. */
static void adopt_config(struct client_session *s)
{
    struct config_gen *ng = proxy_config_gen(s->w->proxy);
    if (ng == s->gen)
        return;
    const struct proxy_config *old = &s->gen->cfg;
    int map[CONFIG_MAX_BACKENDS];
    backend_map(old, &ng->cfg, map);
    struct backend_conn *moved[CONFIG_MAX_BACKENDS] = {0};
    /* Parked ones were opened under the old configuration: the pool closes
     * them, and the session's statements there are gone with them. */
    for (size_t i = 0; i < old->n_backends; i++)
        if (s->parked[i]) {
            backend_pool_unpark(s->parked[i]);
            stmt_registry_forget_backend(&s->stmts, (int)i);
        }
    for (size_t i = 0; i < old->n_backends; i++) {
        if (s->registered)
            atomic_store(&s->entry.thread_id[i], 0);
        if (!s->bc[i])
            continue;
        if (map[i] >= 0) {
            moved[map[i]] = s->bc[i];
            atomic_fetch_sub(&stats_of(s)->backend_connections[i], 1);
            atomic_fetch_add(&stats_of(s)->backend_connections[map[i]], 1);
            s->bc[i]->index = map[i];
        } else {
            backend_conn_close(s->bc[i]);
        }
    }
    memcpy(s->bc, moved, sizeof moved);
    for (size_t j = 0; j < ng->cfg.n_backends; j++)
        if (s->registered && s->bc[j])
            atomic_store(&s->entry.thread_id[j], s->bc[j]->server_thread_id);
    stmt_registry_remap(&s->stmts, map, old->n_backends);
    s->last_backend = map_index(map, s->last_backend);
    s->trx_backend = map_index(map, s->trx_backend);
    s->writer = map_index(map, s->writer);
    s->replay_failed = 0;
    int u = config_find_user(&ng->cfg, s->login.user, strlen(s->login.user));
    if (u >= 0) {
        s->user_index = u;
        s->login.account = &ng->cfg.users[u];
    }
    s->gen = ng;
}

/* Once per new snapshot: drop idle connections to backends the monitor
 * marked DOWN, so the next statement that needs one reconnects (and
 * replays the session's state) wherever routing sends it. */
static void drop_down_backends(struct client_session *s)
{
    struct topology *t = session_topology(s);
    if (!t || t->version == s->topology_seen)
        return;
    s->topology_seen = t->version;
    for (size_t i = 0; i < t->n && i < CONFIG_MAX_BACKENDS; i++) {
        struct backend_conn *bc = s->bc[i];
        if (!bc || bc->state != BC_READY || t->backend[i].state != BACKEND_DOWN)
            continue;
        log_info("session %u: closing its connection to %s: the monitor marked it down", s->id,
                 session_backend_name(s, (int)i));
        forget_backend(s, bc);
        backend_conn_close(bc);
    }
}

/* The worker's newest snapshot, if it describes this session's backends;
 * during a reload it may not, and then nothing is known about them. */
struct topology *session_topology(const struct client_session *s)
{
    struct topology *t = worker_topology(s->w);
    return t && t->config_number == s->gen->number ? t : NULL;
}

/* --- choosing a backend -------------------------------------------------- */

/* Weighted round-robin over the replicas the monitor says are readable and
 * that have not failed for this session or this command; only the one the
 * decision names, if it names one (PROXY SET route = replica NAME). */
static int pick_replica(struct client_session *s, const struct route_decision *d)
{
    const struct proxy_config *cfg = session_config(s);
    struct topology *t = session_topology(s);
    int weights[CONFIG_MAX_BACKENDS], with_room[CONFIG_MAX_BACKENDS];
    bool full = false;
    for (size_t i = 0; i < cfg->n_backends; i++) {
        uint64_t bit = 1ull << i;
        bool reader = cfg->backends[i].role == ROLE_REPLICA || galera_takes_reads(cfg, t, i);
        bool ok = reader && t && i < t->n &&
                  (d->replica < 0 || (size_t)d->replica == i) &&
                  backend_readable(&t->backend[i]) && !(s->replay_failed & bit) &&
                  !(s->tried & bit) && !proxy_backend_offline(s->w->proxy, cfg->backends[i].name);
        weights[i] = ok ? cfg->backends[i].weight : 0;
        /* A replica at its max_connections would make the read wait: another
         * one with room takes it first. */
        with_room[i] = ok && session_backend_has_room(s, (int)i) ? weights[i] : 0;
        full |= weights[i] != with_room[i];
    }
    int r = wrr_pick(&s->w->wrr, with_room, cfg->n_backends);
    return r >= 0 || !full ? r : wrr_pick(&s->w->wrr, weights, cfg->n_backends);
}

/* Which backend a decision would use now, without moving the rotation:
 * for PROXY EXPLAIN. -1 when a read would fail (read_fallback = error). */
int session_peek_target(struct client_session *s, const struct route_decision *d)
{
    switch (d->target) {
    case ROUTE_LAST:
        return s->last_backend >= 0 && session_conn(s, s->last_backend) ? s->last_backend
                                                              : session_primary_index(s);
    case ROUTE_TRX_REPLICA:
        return s->trx_backend >= 0 ? s->trx_backend : session_primary_index(s);
    case ROUTE_REPLICA: {
        struct wrr_state saved = s->w->wrr;
        int r = pick_replica(s, d);
        s->w->wrr = saved;
        if (r >= 0)
            return r;
        return session_config(s)->read_fallback == READ_FALLBACK_PRIMARY
                   ? session_primary_index(s)
                   : -1;
    }
    case ROUTE_PRIMARY:
    default:
        return session_primary_index(s);
    }
}

/* Statement text for the slow log, unless it may carry a password. */
static bool may_hold_secret(const uint8_t *p, size_t len)
{
    static const char *const words[] = {"PASSWORD", "IDENTIFIED", NULL};
    for (int w = 0; words[w]; w++) {
        size_t n = strlen(words[w]);
        for (size_t i = 0; i + n <= len; i++)
            if (strncasecmp((const char *)p + i, words[w], n) == 0)
                return true;
    }
    return false;
}

static void note_command_end(struct client_session *s)
{
    uint64_t us = (uv_hrtime() - s->cmd_start_ns) / 1000;
    stats_latency(stats_of(s), us);
    query_digest_note(s, us);
    s->last_active_ms = uv_now(&s->w->loop);
    int slow_ms = session_config(s)->slow_ms;
    if (slow_ms <= 0 || us < (uint64_t)slow_ms * 1000)
        return;
    if (s->cmd != COM_QUERY) {
        log_warn("slow: session %u: command 0x%02x took %llu ms", s->id, s->cmd,
                 (unsigned long long)(us / 1000));
        return;
    }
    if (may_hold_secret(s->arg, s->arg_len)) {
        log_warn("slow: session %u: %llu ms on %s: (statement hidden: it may hold a password)",
                 s->id, (unsigned long long)(us / 1000), session_backend_name(s, s->target));
        return;
    }
    log_warn("slow: session %u: %llu ms on %s: %.*s", s->id, (unsigned long long)(us / 1000),
             session_backend_name(s, s->target), (int)(s->arg_len > 300 ? 300 : s->arg_len),
             (const char *)s->arg);
}

/* The command is over: drop its bytes. The next one is started from the
 * worker's loop, never from here: this may be a backend's callback, or the
 * command loop itself. */
void session_finish_command(struct client_session *s)
{
    if (s->state == CS_CLOSING || s->state == CS_FLUSHING)
        return;
    if (s->streaming) {
        /* The rest of the command is still on its way: read as commands, it
         * would run as SQL. Close once the answer is out. */
        log_info("session %u: a streamed statement ended before the client sent all of it; "
                 "closing the connection",
                 s->id);
        session_close_after_flush(s);
        return;
    }
    session_set_busy(s, -1);
    note_command_end(s);
    free(s->gathered);
    s->gathered = NULL;
    free(s->rewritten);
    s->rewritten = NULL;
    s->stmt = NULL;
    session_consume_input(s, s->cmd_wire);
    s->cmd_wire = 0;
    s->state = CS_IDLE;
    if (session_take_plaintext(s) != 0)
        return;
    if (s->w->stopping) {
        session_close(s); /* shutting down: the statement it was running is done */
        return;
    }
    if (s->in_len == 0 && s->in_cap > 1024 * 1024)
        session_release_input(s); /* a huge statement passed: give the memory back */
    session_park_backends(s);
    worker_make_runnable(s->w, &s->run);
}

/* ERR for the current command (sequence after what the client has seen),
 * and the session goes on. */
void session_fail_command(struct client_session *s, uint16_t code, const char *sqlstate,
                          const char *fmt, ...)
{
    char msg[440];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    stats_add(&stats_of(s)->errors_proxy, 1);
    s->outcome.error = true;
    uint8_t seq = s->cmd_seq + 1;
    if (s->forwarded && s->bc[s->target])
        seq = (uint8_t)(s->bc[s->target]->tracker.last_seq + 1);
    session_send_err(s, seq, code, sqlstate, "%s", msg);
    session_finish_command(s);
}

/* Run the current command on backend index: connect first if needed. */
void session_run_on(struct client_session *s, int index)
{
    s->target = index;
    session_set_busy(s, index);
    if (!s->bc[index] && !s->parked[index] && !session_backend_room(s, index))
        return; /* it waits for room (session_room_came), or failed */
    if (!s->bc[index] && (s->bc[index] = session_take_pooled(s, index)) != NULL) {
        dispatch(s);
        return;
    }
    if (!s->bc[index]) {
        s->bc[index] = backend_conn_open(s, index);
        if (s->bc[index])
            s->bc[index]->login_db_pending = causal_defers_login_db(s, index);
        if (s->bc[index] && s->registered)
            atomic_fetch_or(&s->entry.backends_mask, 1ull << index);
        if (!s->bc[index]) {
            session_fail_command(s, ER_CONNECT_TO_FOREIGN_DATA_SOURCE, "HY000",
                                 "switchyard: cannot open a connection to backend '%s'",
                                 session_backend_name(s, index));
        }
        return; /* client_session_backend_ready() goes on */
    }
    if (s->bc[index]->state == BC_READY)
        dispatch(s);
}

void session_room_came(struct client_session *s, int index)
{
    if (s->state == CS_COMMAND)
        session_run_on(s, index);
    else if (s->state == CS_LOGIN_DB)
        session_login_db_connect(s, index);
}

void session_room_refused(struct client_session *s, uint16_t code, const char *sqlstate,
                          const char *message)
{
    if (s->state == CS_COMMAND)
        session_fail_command(s, code, sqlstate, "%s", message);
    else if (s->state == CS_LOGIN_DB)
        session_database_checked(s, NULL, code, sqlstate, message);
}

/* A read that no replica takes runs on the writer. A Galera writer waits
 * first (causal_writer_is_no_proof), and a node whose wait already failed
 * for this read is not asked again: another writer is, or the client is
 * told. */
static void read_on_writer(struct client_session *s)
{
    s->read_only_route = false;
    int w = session_choose_writer(s);
    if (w < 0)
        return;
    if (!causal_writer_is_no_proof(s, w)) {
        session_run_on(s, w);
        return;
    }
    if ((s->tried & (1ull << w)) && session_config(s)->writers == WRITERS_ACTIVE_ACTIVE)
        w = pick_writer(s, session_topology(s));
    if (w < 0 || (s->tried & (1ull << w))) {
        session_fail_command(s, ER_LOCK_WAIT_TIMEOUT, "HY000",
                             "switchyard: no Galera node confirmed in time that it applied every "
                             "write acknowledged before this read (causal_reads; the wait is "
                             "bounded by the nodes' repl.causal_read_timeout); retry the read");
        return;
    }
    s->writer = w;
    s->causal_wait = causal_writer_must_wait(s, w);
    s->wait_on_writer = true;
    session_run_on(s, w);
}

/* Where a read goes when no replica can take it. */
static void read_fallback(struct client_session *s)
{
    if (session_config(s)->read_fallback == READ_FALLBACK_PRIMARY) {
        stats_add(&stats_of(s)->read_fallbacks, 1);
        read_on_writer(s);
        return;
    }
    session_fail_command(s, ER_UNKNOWN_ERROR, "HY000",
                         "switchyard: no replica is eligible for reads (all down, broken or "
                         "lagging) and read_fallback = error; retry later, or send the statement "
                         "to the primary");
}

/* A read for a replica. With causal reads, the session's last write must be
 * there first: learn its GTID on the writer, then wait on the replica if its
 * position is not known to cover it. */
static void route_read(struct client_session *s)
{
    if (causal_read_goes_to_writer(s)) {
        read_on_writer(s);
        return;
    }
    if (causal_needs_fetch(s)) {
        s->gtid_fetch = true;
        s->read_only_route = false;
        session_run_on(s, s->writer);
        return;
    }
    if (causal_needs_position(s)) {
        position_fetch_wait(&s->w->proxy->positions, s->w, &s->position_wait);
        return; /* position_known() goes on */
    }
    if (!causal_choose_target(s)) {
        read_on_writer(s);
        return;
    }
    int r = pick_replica(s, &s->decision);
    if (r < 0 && s->decision.replica >= 0) {
        session_fail_command(s, ER_UNKNOWN_ERROR, "HY000",
                             "switchyard: replica '%s' (PROXY SET route = replica %s) is not "
                             "eligible now (down, broken or lagging); retry later, or PROXY SET "
                             "route = replica to read from any replica",
                             session_backend_name(s, s->decision.replica),
                             session_backend_name(s, s->decision.replica));
        return;
    }
    if (r < 0) {
        if (s->wait_failed)
            read_on_writer(s);
        else
            read_fallback(s);
        return;
    }
    s->causal_wait = causal_must_wait(s, r);
    s->read_only_route = true;
    session_run_on(s, r);
}

/* universal: the primary's position for this read arrived. */
static void position_known(struct position_waiter *pw, bool ok, const char *position, bool mysql)
{
    struct client_session *s =
        (struct client_session *)((char *)pw - offsetof(struct client_session, position_wait));
    if (s->state != CS_COMMAND)
        return;
    s->position_ready = true;
    s->position_ok = ok;
    s->position_mysql = mysql;
    snprintf(s->causal_target, sizeof s->causal_target, "%s", ok ? position : "");
    if (!ok)
        stats_add(&stats_of(s)->causal_timeouts, 1);
    route_read(s);
}

/* Send the current command where s->decision says. */
void session_route(struct client_session *s)
{
    const struct classification *c = session_statement_cls(s);
    if (c && session_lost_to_pool(s, c))
        return;
    s->read_only_route = false;
    switch (s->decision.target) {
    case ROUTE_REPLICA:
        route_read(s);
        return;
    case ROUTE_LAST:
    case ROUTE_TRX_REPLICA:
        session_run_on(s, session_peek_target(s, &s->decision));
        return;
    case ROUTE_PRIMARY:
    default:
        run_on_writer(s);
        return;
    }
}

/* What goes to the target for the client's command; 0, or -1 after failing it. */
static int client_bytes(struct client_session *s, struct backend_conn *bc)
{
    s->send_bytes = s->rewritten ? s->rewritten : s->in;
    s->send_len = s->rewritten ? s->rewritten_len : s->cmd_wire;
    return s->stmt ? stmt_prepare_bytes(s, bc) : 0;
}

/* The client's command goes to bc: anything but a plain read (a query
 * the classifier saw touch no state) leaves more on the connection than a
 * new login has. */
static void note_command_sent(struct client_session *s, struct backend_conn *bc)
{
    const uint32_t harmless = CLS_HINT_PRIMARY | CLS_HINT_REPLICA | CLS_LAST_STMT_INFO |
                              CLS_INSERT_ID;
    bc->from_pool = false; /* from here on it may have run: never sent again elsewhere */
    if (s->cmd != COM_QUERY || s->streaming || !s->cls.is_read || (s->cls.flags & ~harmless))
        bc->dirty = true;
}

/* The client's command can go right behind the causal wait when nothing
 * else must run before it there, and its answer can be dropped if the wait
 * times out (not a cursor, which would stay open on the replica). */
static bool command_follows_wait(struct client_session *s, struct backend_conn *bc)
{
    bool cursor = s->cmd == COM_STMT_EXECUTE && s->arg_len > 4 && s->arg[4] != 0;
    return !bc->login_db_pending && bc->applied >= s->log.count && !causal_needs_setup(s, bc) &&
           !s->streaming && !cursor && (s->cmd == COM_QUERY || s->cmd == COM_STMT_EXECUTE) &&
           !stmt_needs_prepare(s, bc);
}

static void send_causal_wait(struct client_session *s, struct backend_conn *bc)
{
    if (!command_follows_wait(s, bc)) {
        causal_send_wait(s, bc, NULL, 0);
        return;
    }
    if (client_bytes(s, bc) != 0)
        return;
    note_command_sent(s, bc);
    causal_send_wait(s, bc, s->send_bytes, s->send_len);
}

/* Bring the target up to date with the session's state, prepare the
 * statement there if it never was, then send the client's command. */
static void dispatch(struct client_session *s)
{
    struct backend_conn *bc = s->bc[s->target];
    if (bc->check_due) {
        s->step = STEP_CHECK;
        bc->check_due = false;
        backend_conn_send_bounded(bc, COM_PING, (const uint8_t *)"", 0);
        return;
    }
    if (bc->needs_reset) {
        s->step = STEP_RESET;
        backend_conn_send_bounded(bc, COM_RESET_CONNECTION, (const uint8_t *)"", 0);
        return;
    }
    if (bc->read_only && s->target == s->writer) {
        /* Made read-only while it served reads, it now takes the writes (a
         * promoted replica): a new connection gets the session's own state
         * without the proxy's READ ONLY. */
        forget_backend(s, bc);
        backend_conn_close(bc);
        session_run_on(s, s->target);
        return;
    }
    if (causal_needs_tracking(s, bc)) {
        causal_send_setup(s, bc);
        return;
    }
    if (s->causal_wait) {
        send_causal_wait(s, bc);
        return;
    }
    if (bc->login_db_pending) {
        s->step = STEP_LOGIN_DB;
        backend_conn_send_command(bc, COM_INIT_DB, (const uint8_t *)s->login.db,
                                  strlen(s->login.db));
        return;
    }
    if (bc->applied < s->log.count) {
        const struct session_log_entry *e = &s->log.entries[bc->applied];
        s->step = STEP_REPLAY;
        bc->dirty = true;
        backend_conn_send_command(bc, e->command, e->payload, e->len);
        return;
    }
    if (causal_needs_setup(s, bc)) {
        causal_send_setup(s, bc);
        return;
    }
    if (s->gtid_fetch) {
        causal_send_fetch(s, bc);
        return;
    }
    if (stmt_needs_prepare(s, bc)) {
        s->step = STEP_PREPARE;
        bc->dirty = true;
        backend_conn_send_command(bc, COM_STMT_PREPARE, s->stmt->sql, s->stmt->sql_len);
        return;
    }
    s->step = STEP_CLIENT;
    s->cmd_sent = true;
    note_command_sent(s, bc);
    if (s->streaming) {
        s->stream_sending = true;
        backend_conn_start_command(bc, COM_QUERY, true);
        session_relay_stream(s);
        return;
    }
    if (client_bytes(s, bc) != 0)
        return;
    int rc = backend_conn_send(bc, s->send_bytes, s->send_len, s->cmd, true);
    if (rc == 1)
        client_session_response_done(s, bc);
}

struct backend_conn *session_take_pooled(struct client_session *s, int index)
{
    /* Statements prepared on a connection the session no longer has must
     * be prepared again wherever it gets one. */
    if (!s->parked[index])
        stmt_registry_forget_backend(&s->stmts, index);
    struct backend_conn *bc =
        backend_pool_take(&s->w->pool, s, index, session_backend_at_limit(s, index));
    if (bc && s->registered) {
        atomic_fetch_or(&s->entry.backends_mask, 1ull << index);
        atomic_store(&s->entry.thread_id[index], bc->server_thread_id);
    }
    return bc;
}

void client_session_backend_ready(struct client_session *s, struct backend_conn *bc)
{
    if (s->registered)
        atomic_store(&s->entry.thread_id[bc->index], bc->server_thread_id);
    if (s->state == CS_LOGIN_DB)
        session_database_checked(s, bc, 0, NULL, NULL);
    else if (s->state == CS_COMMAND && s->bc[s->target] == bc)
        dispatch(s);
}

static void forget_backend(struct client_session *s, struct backend_conn *bc)
{
    if (bc->index < 0 || bc->index >= CONFIG_MAX_BACKENDS || s->bc[bc->index] != bc)
        return;
    s->bc[bc->index] = NULL;
    if (s->registered) {
        atomic_store(&s->entry.thread_id[bc->index], 0);
        atomic_fetch_and(&s->entry.backends_mask, ~(1ull << bc->index));
    }
    stmt_registry_forget_backend(&s->stmts, bc->index);
    if (s->trx_backend == bc->index)
        s->trx_backend = -1;
}

/* A connection the pool handed over proved dead before anything of the
 * client's command went out (its ping, its reset or a replay failed): the
 * server, a firewall or the network dropped it while it waited idle. The
 * backend may be fine, and nothing ran: the command takes another
 * connection. Not when the command asks about what ran on that one (it is
 * gone with it), nor during a login; a later question about it gets the
 * error of session_lost_to_pool. */
static bool replace_pooled(struct client_session *s, struct backend_conn *bc, const char *message)
{
    const struct classification *c = session_statement_cls(s);
    uint32_t asks = c ? c->flags : 0;
    if (!bc->from_pool || s->state != CS_COMMAND || s->target != bc->index || s->cmd_sent ||
        s->forwarded || (bc->held_last && (asks & CLS_LAST_STMT_INFO)) ||
        (bc->held_insert_id && (asks & CLS_INSERT_ID)))
        return false;
    session_pool_took_held(s, bc);
    bc->from_pool = false;
    stats_add(&stats_of(s)->pool_broken[bc->index], 1);
    log_info("session %u: a pooled connection to backend '%s' was dead before the statement "
             "went out (%s); taking another",
             s->id, session_backend_name(s, bc->index), message);
    session_run_on(s, s->target);
    return true;
}

/* The server answered the ping or reset of a pooled connection with an
 * ERR: that connection is unusable, the backend may not be. */
static void pooled_refused(struct client_session *s, struct backend_conn *bc)
{
    const struct result_tracker *rt = &bc->tracker;
    forget_backend(s, bc);
    backend_conn_close(bc);
    if (!replace_pooled(s, bc, rt->err_message))
        session_fail_command(s, rt->err_code, rt->err_sqlstate, "switchyard: backend '%s': %s",
                             session_backend_name(s, bc->index), rt->err_message);
}

void client_session_backend_failed(struct client_session *s, struct backend_conn *bc, uint16_t code,
                                   const char *sqlstate, const char *message)
{
    forget_backend(s, bc);
    if (s->state == CS_LOGIN_DB) {
        session_database_checked(s, NULL, bc->login_refused ? code : 0, sqlstate,
                                 message ? message : "connection closed");
        return;
    }
    if (!message || (s->state != CS_COMMAND && s->state != CS_INFILE) || s->target != bc->index)
        return;
    if (replace_pooled(s, bc, message))
        return;
    if (!s->read_only_route && session_wait_for_writer(s, bc, code, sqlstate, message))
        return;
    if (bc->index == session_primary_index(s))
        s->route.in_transaction = false; /* whatever was open there is gone */
    if (s->read_only_route && !s->forwarded && s->state == CS_COMMAND) {
        /* Nothing reached the client yet: a read can go elsewhere. */
        s->tried |= 1ull << bc->index;
        route_read(s);
        return;
    }
    if (s->forwarded && result_tracker_inside_packet(&bc->tracker)) {
        /* The client has part of a packet: an ERR now would be read as the
         * rest of it. Close, as the server would have. */
        log_info("session %u: backend '%s' lost in the middle of a packet; closing the client "
                 "connection",
                 s->id, session_backend_name(s, bc->index));
        session_close(s);
        return;
    }
    uint8_t seq = s->forwarded ? (uint8_t)(bc->tracker.last_seq + 1) : (uint8_t)(s->cmd_seq + 1);
    s->forwarded = false;
    s->state = CS_COMMAND;
    session_send_err(s, seq, code ? code : ER_NET_READ_ERROR, sqlstate, "switchyard: backend '%s': %s",
                     session_backend_name(s, bc->index), message);
    session_finish_command(s);
}

static void count_statement(struct client_session *s, const struct backend_conn *bc)
{
    struct worker_stats *st = stats_of(s);
    bool primary = session_config(s)->backends[bc->index].role == ROLE_PRIMARY;
    stats_add(primary ? &st->statements_primary : &st->statements_replica, 1);
    stats_add(&st->backend_statements[bc->index], 1);
    s->outcome = (struct query_outcome){bc->index, bc->tracker.is_error, bc->tracker.rows};
    if (bc->tracker.is_error) {
        stats_add(&st->errors_backend, 1);
        stats_add(&st->backend_errors[bc->index], 1);
    }
    const struct classification *c = session_statement_cls(s);
    if (c)
        stats_add(c->is_read ? &st->reads : &st->writes, 1);
}

/* Keep what a successful command changed in the session. */
static void record_session_change(struct client_session *s, struct backend_conn *bc)
{
    const struct result_tracker *rt = &bc->tracker;
    if (rt->is_error)
        return;
    const struct classification *c = session_statement_cls(s);
    if (c && (c->flags & (CLS_SET_GLOBAL | CLS_GRANTS)))
        atomic_fetch_add(&s->w->proxy->globals_changed, 1); /* pooled connections are stale */
    session_follow_current_db(s, rt);
    bool state_change = s->cmd == COM_INIT_DB || s->cmd == COM_SET_OPTION ||
                        (s->cmd == COM_QUERY && (s->cls.flags & CLS_SESSION_STATE));
    if (s->cmd == COM_STMT_EXECUTE && s->stmt && (s->stmt->cls.flags & CLS_SESSION_STATE)) {
        /* A prepared SET's values are bound, not in its text: it cannot be
         * replayed, so the session stays where the state is. */
        s->route.unreplayable_state = true;
    } else if (state_change && !s->route.unreplayable_state) {
        if (s->cmd == COM_QUERY && (s->cls.flags & CLS_MULTI)) {
            /* Replaying the batch would repeat its other statements. */
            s->route.unreplayable_state = true;
        } else if (session_log_append(&s->log, s->cmd, s->arg, s->arg_len) != 0) {
            log_info("session %u: too much session state to replay; pinned to the primary",
                     s->id);
            s->route.unreplayable_state = true;
        }
        bc->applied = s->log.count;
    } else if (s->cmd == COM_RESET_CONNECTION) {
        /* The primary connection was reset; the others are simply dropped. */
        s->bc[bc->index] = NULL;
        session_reset_backends(s);
        s->bc[bc->index] = bc;
        session_log_current_db(s);
        bc->applied = s->log.count; /* the reset kept it in the current database */
        bc->setup_done = false; /* the reset dropped the proxy's tracking too */
        bc->tracks_gtid = false;
    }
}

static void replay_failed(struct client_session *s, struct backend_conn *bc)
{
    const struct result_tracker *rt = &bc->tracker;
    log_warn("session %u: replaying session state on backend %s failed: %s (%u)", s->id,
             session_backend_name(s, bc->index), rt->err_message, rt->err_code);
    if (!s->read_only_route) {
        session_fail_command(s, rt->err_code, rt->err_sqlstate,
                             "switchyard: cannot restore session state on backend '%s': %s",
                             session_backend_name(s, bc->index), rt->err_message);
        return;
    }
    forget_backend(s, bc);
    backend_conn_close(bc);
    s->replay_failed |= 1ull << bc->index;
    route_read(s);
}

/* Commands after which the server still shows the previous statement's
 * warnings and diagnostics: SHOW WARNINGS, GET DIAGNOSTICS, ROW_COUNT() must
 * keep going where that statement ran. */
static bool resets_diagnostics(uint8_t cmd)
{
    return command_has_response(cmd) && cmd != COM_STMT_RESET && cmd != COM_STATISTICS;
}

/* The read's wait failed on backend index. The primary of a
 * primary/replica topology has every write: the read runs there. In a
 * Galera cluster no node is proof, so this one is left out of this read,
 * which goes to the other readers and then a writer, each waiting; when
 * the writer's wait fails too the client is told. */
static void read_after_failed_wait(struct client_session *s, int index)
{
    s->read_only_route = false;
    if (s->wait_on_writer) {
        session_fail_command(s, ER_LOCK_WAIT_TIMEOUT, "HY000",
                             "switchyard: Galera node '%s' did not confirm in time that it "
                             "applied every write acknowledged before this read (causal_reads; "
                             "bounded by its repl.causal_read_timeout) and no other node could "
                             "take the read; retry it",
                             session_backend_name(s, index));
        return;
    }
    if (!causal_writer_is_no_proof(s, session_primary_index(s))) {
        run_on_writer(s);
        return;
    }
    s->tried |= 1ull << index;
    s->wait_failed = true;
    route_read(s);
}

/* The wait's answer: the read goes on there, or (timed out) goes elsewhere
 * once the replica's answer to it, sent right behind, is dropped. */
static void causal_wait_answered(struct client_session *s, struct backend_conn *bc)
{
    s->causal_wait = false;
    stats_add(&stats_of(s)->causal_waits, 1);
    bool reached = causal_wait_done(s, bc);
    if (!reached)
        stats_add(&stats_of(s)->causal_timeouts, 1);
    if (s->wait_pipelined) {
        s->step = reached ? STEP_CLIENT : STEP_DRAIN;
        backend_conn_take_next(bc, reached);
        return;
    }
    if (reached) {
        dispatch(s);
        return;
    }
    read_after_failed_wait(s, bc->index);
}

void client_session_response_ending(struct client_session *s, struct backend_conn *bc)
{
    if (s && s->state == CS_COMMAND && s->step == STEP_CLIENT)
        causal_response_ending(s, bc);
}

/* Another session's connection was reset: it is as after a login but in
 * whatever database it was in, goes to the session's login database and gets
 * the session's state from the start. */
static void reset_done(struct client_session *s, struct backend_conn *bc)
{
    if (bc->tracker.is_error) {
        pooled_refused(s, bc);
        return;
    }
    bc->needs_reset = false;
    backend_conn_forget_session_state(bc);
    /* The reset kept the database the other session's state chose, which
     * may not be where that session was (a USE not replayed there yet). */
    bc->login_db_pending = s->login.db[0] != '\0';
    bc->db_moved = false;
    dispatch(s);
}

void client_session_response_done(struct client_session *s, struct backend_conn *bc)
{
    const struct result_tracker *rt = &bc->tracker;
    if (s->step == STEP_CHECK) {
        if (rt->is_error)
            pooled_refused(s, bc);
        else
            dispatch(s);
        return;
    }
    if (s->step == STEP_RESET) {
        reset_done(s, bc);
        return;
    }
    if (s->step == STEP_REPLAY) {
        if (rt->is_error) {
            replay_failed(s, bc);
            return;
        }
        bc->applied++;
        dispatch(s);
        return;
    }
    if (s->step == STEP_SETUP) {
        causal_setup_done(s, bc);
        dispatch(s);
        return;
    }
    if (s->step == STEP_GTID_FETCH) {
        s->gtid_fetch = false;
        causal_fetch_done(s, bc);
        route_read(s);
        return;
    }
    if (s->step == STEP_CAUSAL_WAIT) {
        causal_wait_answered(s, bc);
        return;
    }
    if (s->step == STEP_DRAIN) {
        read_after_failed_wait(s, bc->index);
        return;
    }
    if (s->step == STEP_LOGIN_DB) {
        if (rt->is_error) {
            replay_failed(s, bc);
            return;
        }
        bc->login_db_pending = false;
        dispatch(s);
        return;
    }
    if (s->step == STEP_PREPARE) {
        if (rt->is_error) {
            session_fail_command(s, rt->err_code, rt->err_sqlstate,
                                 "switchyard: preparing the statement on backend '%s' failed: %s",
                                 session_backend_name(s, bc->index), rt->err_message);
            return;
        }
        stmt_prepared_on(s, bc);
        dispatch(s);
        return;
    }
    if (session_held_error_done(s, bc))
        return;
    /* Only running a statement has its effects, not preparing it. */
    /* other commands: only their status flags count */
    const struct classification *c = session_statement_cls(s);
    struct classification dropped;
    if (c && (c->flags & CLS_DROP_TEMP_TABLE) && rt->warnings > 0) {
        /* DROP TEMPORARY TABLE IF EXISTS warned about a missing name: we
         * cannot tell which, so keep the count (and the pin) as it was. */
        dropped = *c;
        dropped.temp_tables_dropped = 0;
        c = &dropped;
    }
    session_route_state_update(&s->route, c, &s->decision, !rt->is_error, rt->saw_status,
                               rt->status);
    count_statement(s, bc);
    if (rt->is_error || rt->warnings > 0) /* SHOW WARNINGS would show them */
        bc->dirty = true;
    session_note_statement(s, bc);
    if (s->decision.begins_read_only_trx && !rt->is_error)
        s->trx_backend = bc->index;
    if (!s->route.read_only_trx)
        s->trx_backend = -1;
    if (resets_diagnostics(s->cmd))
        s->last_backend = bc->index;
    causal_note_write(s, bc);
    if (s->registered) {
        atomic_store(&s->entry.in_transaction, s->route.in_transaction);
    }
    record_session_change(s, bc);
    if (s->stmt || s->cmd == COM_STMT_PREPARE)
        stmt_command_done(s, bc);
    session_finish_command(s);
}

/* --- LOAD DATA LOCAL INFILE ---------------------------------------------- */

/* The server asked for the client's file: what the client sends next (data
 * packets, then an empty one) goes to that backend as it arrives. */
void client_session_infile_requested(struct client_session *s, struct backend_conn *bc)
{
    (void)bc;
    s->state = CS_INFILE;
    relay_infile(s);
}

static void relay_infile(struct client_session *s)
{
    struct backend_conn *bc = s->bc[s->target];
    size_t off = s->cmd_wire;
    while (bc && s->state == CS_INFILE) {
        const uint8_t *p = s->in + off;
        size_t avail = s->in_len - off;
        if (avail < PACKET_HEADER_LEN || avail < PACKET_HEADER_LEN + packet_payload_len(p))
            break;
        size_t len = PACKET_HEADER_LEN + packet_payload_len(p);
        bool last = packet_payload_len(p) == 0;
        if (backend_conn_send_copy(bc, p, len) != 0)
            return; /* failure reported through client_session_backend_failed */
        off += len;
        if (last) {
            s->state = CS_COMMAND;
            backend_conn_infile_done(bc);
        }
    }
    /* Relayed packets are copies: drop them, keep the command's bytes. */
    if (s->state != CS_CLOSING && off > s->cmd_wire) {
        memmove(s->in + s->cmd_wire, s->in + off, s->in_len - off);
        s->in_len -= off - s->cmd_wire;
    }
    session_start_reading(s);
}

/* --- commands ------------------------------------------------------------ */

/* Commands the proxy refuses: they cannot be passed through safely. */
static bool refused_command(uint8_t cmd)
{
    switch (cmd) {
    case COM_BINLOG_DUMP:
    case COM_BINLOG_DUMP_GTID:
    case COM_REGISTER_SLAVE:
    case COM_TABLE_DUMP:
    case COM_CONNECT_OUT:
    case COM_DAEMON:
    case COM_CONNECT:
    case COM_TIME:
    case COM_DELAYED_INSERT:
    case COM_SLEEP:
    case COM_SHUTDOWN:
        return true;
    default:
        return false;
    }
}

const struct classification *session_statement_cls(const struct client_session *s)
{
    if (s->cmd == COM_QUERY)
        return &s->cls;
    if (s->cmd == COM_STMT_EXECUTE && s->stmt)
        return &s->stmt->cls;
    return NULL;
}

void session_classify(struct client_session *s)
{
    const char *sql = (const char *)s->arg;
    if (s->gen->cfg.query_digest)
        classify_query_digest(sql, s->arg_len, s->route.charset, &s->cls);
    else
        classify_query(sql, s->arg_len, s->route.charset, &s->cls);
}

static void query_command(struct client_session *s)
{
    if (proxy_statement(s))
        return;
    session_classify(s);
    if (s->cls.flags & CLS_KILL) {
        kill_statement(s);
        return;
    }
    s->decision = route_statement(&s->cls, &s->route);
    readonly_route_adjust(&s->decision, &s->cls, &s->route, (const char *)s->arg, s->arg_len);
    session_route(s);
}

static const struct route_decision to_primary = {ROUTE_PRIMARY, "command", false, -1};

/* The same setup for every command. */
static void begin_command(struct client_session *s)
{
    adopt_config(s);
    drop_down_backends(s);
    s->cmd_start_ns = uv_hrtime();
    s->state = CS_COMMAND;
    s->forwarded = false;
    s->cmd_sent = false;
    writer_wait_forget(&s->writer_wait);
    s->tried = 0;
    s->stmt = NULL;
    s->stmt_types_bound = false;
    s->gtid_fetch = false;
    s->causal_wait = false;
    s->wait_failed = false;
    s->wait_on_writer = false;
    s->causal_target[0] = '\0'; /* chosen for each read: none covers what it did not name */
    s->position_ready = false;
    s->decision = to_primary;
    s->outcome = (struct query_outcome){.ran_on = QUERY_STATS_LOCAL};
    s->cls.digest = 0; /* the classifier sets it, if it sees this command */
}

/* Does a statement cut short change session state? Its prefix rarely
 * parses (a literal runs on past it), so its first word decides too. */
static bool prefix_sets_state(const struct classification *c, const char *sql, size_t len)
{
    if (c->flags & (CLS_SESSION_STATE | CLS_USE | CLS_CHARSET | CLS_AUTOCOMMIT | CLS_UNREPLAYABLE))
        return true;
    struct sql_lexer lx;
    struct sql_token t;
    sql_lexer_init(&lx, sql, len, 0, NULL);
    sql_lexer_next(&lx, &t);
    return sql_tok_kw(&t, "SET");
}

/* A COM_QUERY too large to hold: classified by its first prefix bytes, run
 * on the writer (what it does past them is unknown, and unknown SQL is a
 * write), and sent on as it arrives (session_relay_stream). A session-state
 * change cannot be logged for replay without its whole text: the session
 * stays on the writer from now on. KILL and PROXY statements are answered
 * by the proxy, which cannot without their whole text: refused. */
static void start_streamed_query(struct client_session *s, size_t prefix)
{
    begin_command(s);
    s->cmd = COM_QUERY;
    s->cmd_wire = 0;
    s->cmd_seq = packet_seq(s->in);
    s->gathered = malloc(prefix);
    if (!s->gathered) {
        session_close(s);
        return;
    }
    memcpy(s->gathered, s->in + PACKET_HEADER_LEN, prefix);
    s->arg = s->gathered + 1;
    s->arg_len = prefix - 1;
    uint32_t first = packet_payload_len(s->in);
    s->streaming = true;
    s->stream_sending = false;
    s->stream_chunk_left = PACKET_HEADER_LEN + first;
    s->stream_more = first == PACKET_MAX_PAYLOAD;
    s->stream_total = first;
    struct proxy_command pc;
    parse_proxy_command((const char *)s->arg, s->arg_len, &pc);
    session_classify(s);
    if (pc.kind != PROXY_CMD_NONE || (s->cls.flags & CLS_KILL)) {
        log_info("session %u: a KILL or PROXY statement of %zu bytes or more; closing", s->id,
                 s->stream_total);
        session_send_err(s, s->cmd_seq + 1, ER_NET_PACKET_TOO_LARGE, "08S01",
                         "switchyard: a KILL or PROXY statement this large is not supported; "
                         "send it without the padding");
        session_close_after_flush(s);
        return;
    }
    s->cls.is_read = false;
    s->cls.reason = "statement too large to classify";
    /* Only the prefix was classified: with multi-statements allowed, a later
     * statement of the batch may change state (SET, temporary tables) that
     * the proxy never sees, so the session stays on the writer. */
    if (prefix_sets_state(&s->cls, (const char *)s->arg, s->arg_len) ||
        (s->login.caps & CLIENT_MULTI_STATEMENTS))
        s->route.unreplayable_state = true;
    s->decision = route_statement(&s->cls, &s->route);
    if (s->decision.target == ROUTE_REPLICA || s->decision.target == ROUTE_LAST)
        s->decision = to_primary;
    session_route(s);
}

static void start_command(struct client_session *s, size_t wire, size_t payload)
{
    begin_command(s);
    stats_add(&stats_of(s)->bytes_from_clients, wire);
    s->cmd_wire = wire;
    /* A split command (>= 16 MiB) takes one sequence id per chunk: the
     * answer follows the last one. */
    s->cmd_seq = (uint8_t)(packet_seq(s->in) + (wire - payload) / PACKET_HEADER_LEN - 1);
    if (payload == 0) {
        session_fail_command(s, ER_UNKNOWN_COM_ERROR, "08S01", "Unknown command");
        return;
    }
    const uint8_t *p = s->in + PACKET_HEADER_LEN;
    if (wire != payload + PACKET_HEADER_LEN) {
        /* Split packet (>= 16 MiB): the classifier needs one contiguous text. */
        s->gathered = malloc(payload);
        if (!s->gathered) {
            session_fail_command(s, ER_UNKNOWN_ERROR, "HY000", "switchyard: out of memory");
            return;
        }
        logical_packet_gather(s->in, wire, s->gathered);
        p = s->gathered;
    }
    s->cmd = p[0];
    s->arg = p + 1;
    s->arg_len = payload - 1;
    switch (s->cmd) {
    case COM_QUIT:
        session_close(s);
        return;
    case COM_PING:
        stats_add(&stats_of(s)->statements_local, 1);
        session_send_ok(s, s->cmd_seq + 1);
        session_finish_command(s);
        return;
    case COM_QUERY:
        query_command(s);
        return;
    case COM_STMT_PREPARE:
    case COM_STMT_EXECUTE:
    case COM_STMT_SEND_LONG_DATA:
    case COM_STMT_CLOSE:
    case COM_STMT_RESET:
    case COM_STMT_FETCH:
    case COM_STMT_BULK_EXECUTE:
        stmt_command(s);
        return;
    case COM_CHANGE_USER:
        session_change_user(s);
        return;
    case COM_PROCESS_KILL:
        kill_command(s, s->arg_len >= 4 ? read_u32(s->arg) : 0, true);
        return;
    default:
        break;
    }
    if (refused_command(s->cmd)) {
        session_fail_command(s, ER_UNKNOWN_COM_ERROR, "08S01",
                             "switchyard does not support command 0x%02x through the proxy",
                             s->cmd);
        return;
    }
    run_on_writer(s);
}

/* A client that does not read its answers must not make the proxy queue
 * them without end: stop taking its commands (and its input) until the
 * queue drains (output_drained). */
static bool output_backlogged(struct client_session *s)
{
    if (transport_queued(&s->t) <= CLIENT_OUTPUT_MAX)
        return false;
    s->output_full = true;
    stop_reading(s);
    return true;
}

/* Take the next complete commands from the input, one at a time: the next
 * is looked at only when the previous one's response is complete. Commands
 * the proxy answers itself follow each other in this loop; after
 * COMMANDS_PER_TURN the session waits for its next turn (and reads no more
 * until then), so one client's pipeline cannot starve the others. */
static void process_commands(struct client_session *s)
{
    for (int budget = COMMANDS_PER_TURN;
         s->state == CS_IDLE || (s->state == CS_AUTH_SWITCH && s->changing_user); budget--) {
        if (output_backlogged(s))
            return;
        if (budget == 0) {
            stop_reading(s);
            worker_make_runnable(s->w, &s->run);
            return;
        }
        size_t wire, payload;
        if (session_refuse_oversized(s))
            return;
        size_t prefix;
        if (s->state == CS_IDLE && session_query_streams(s, &prefix)) {
            start_streamed_query(s, prefix);
            continue;
        }
        if (!logical_packet_span(s->in, s->in_len, &wire, &payload)) {
            worker_forget_runnable(s->w, &s->run);
            if (s->in_len == 0)
                session_release_input(s);
            session_start_reading(s);
            return;
        }
        if (s->state == CS_AUTH_SWITCH) {
            /* The reply to the auth switch of a COM_CHANGE_USER. */
            uint8_t seq = packet_seq(s->in);
            s->cmd_wire = wire;
            session_on_auth_switch_reply(s, s->in + PACKET_HEADER_LEN, payload, seq);
            continue;
        }
        start_command(s, wire, payload);
    }
}
