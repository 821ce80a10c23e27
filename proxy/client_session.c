#include "proxy/client_session.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/auth.h"
#include "protocol/handshake.h"
#include "protocol/packet.h"
#include "protocol/result_tracker.h"
#include "proxy/backend_conn.h"
#include "proxy/log.h"
#include "proxy/session_log.h"
#include "proxy/worker.h"
#include "router/classify.h"
#include "router/route.h"

/* What the proxy offers clients: only what it supports end to end. No
 * CLIENT_SSL or CLIENT_COMPRESS yet, no CLIENT_LOCAL_FILES until the relay of
 * LOAD DATA LOCAL exists. */
#define PROXY_CAPS                                                                            \
    (CLIENT_LONG_PASSWORD | CLIENT_FOUND_ROWS | CLIENT_LONG_FLAG | CLIENT_CONNECT_WITH_DB |   \
     CLIENT_NO_SCHEMA | CLIENT_ODBC | CLIENT_IGNORE_SPACE | CLIENT_PROTOCOL_41 |              \
     CLIENT_INTERACTIVE | CLIENT_IGNORE_SIGPIPE | CLIENT_TRANSACTIONS |                       \
     CLIENT_SECURE_CONNECTION | CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS |              \
     CLIENT_PS_MULTI_RESULTS | CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_ATTRS |                    \
     CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT_SESSION_TRACK | CLIENT_DEPRECATE_EOF)

#define DEFAULT_CHARSET 45 /* utf8mb4_general_ci */
#define CLIENT_IN_MIN (16 * 1024)
#define LOGIN_PACKET_MAX (64 * 1024)
#define COMMAND_PACKET_MAX (1024u * 1024u * 1024u) /* MariaDB's max_allowed_packet ceiling */

enum client_state {
    CS_GREETING_SENT, /* waiting for the handshake response */
    CS_AUTH_SWITCH,   /* asked the client to switch to mysql_native_password */
    CS_IDLE,          /* waiting for a command */
    CS_COMMAND,       /* a command is running on a backend */
    CS_FLUSHING,      /* last words (an ERR) queued; closing once sent */
    CS_CLOSING,
};

struct client_session {
    struct worker *w;
    struct client_session *prev, *next;
    uv_tcp_t tcp;
    uint32_t id;
    enum client_state state;
    char peer[64];
    uint8_t scramble[SCRAMBLE_LEN];
    int user_index;
    struct session_login login;

    uint8_t *in; /* bytes read from the client, commands not yet finished */
    size_t in_len, in_cap;
    bool reading;

    /* the command in progress */
    size_t cmd_wire;          /* its bytes at the start of in */
    uint8_t cmd;
    uint8_t cmd_seq;
    const uint8_t *arg;       /* payload after the command byte */
    size_t arg_len;
    uint8_t *gathered;        /* payload copy when the packet was split */
    struct classification cls;
    int target;               /* backend running it */
    bool read_only_route;     /* routed to a replica: may move on connect failure */
    bool replaying;           /* a session-state entry is running on target */
    bool forwarded;           /* response bytes already reached the client */
    uint64_t tried;           /* replicas that failed for this command */

    uint64_t replay_failed;   /* replicas where this session's state cannot be replayed */
    struct backend_conn *bc[CONFIG_MAX_BACKENDS];
    struct session_route_state route;
    struct session_log log;
};

static void process_commands(struct client_session *s);
static void stop_reading(struct client_session *s);
static void dispatch(struct client_session *s);
static void route_command(struct client_session *s);

struct worker *client_session_worker(const struct client_session *s) { return s->w; }
uint32_t client_session_id(const struct client_session *s) { return s->id; }
const struct session_login *client_session_login(const struct client_session *s)
{
    return &s->login;
}

static const struct proxy_config *cfg_of(const struct client_session *s)
{
    return s->w->proxy->cfg;
}

/* --- lifetime ------------------------------------------------------------ */

static void on_client_closed(uv_handle_t *h)
{
    struct client_session *s = h->data;
    free(s->in);
    free(s->gathered);
    free(s->login.attrs);
    session_log_free(&s->log);
    free(s);
}

static void session_close(struct client_session *s)
{
    if (s->state == CS_CLOSING)
        return;
    s->state = CS_CLOSING;
    for (size_t i = 0; i < CONFIG_MAX_BACKENDS; i++) {
        if (s->bc[i])
            backend_conn_close(s->bc[i]);
        s->bc[i] = NULL;
    }
    if (s->prev)
        s->prev->next = s->next;
    else
        s->w->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    uv_close((uv_handle_t *)&s->tcp, on_client_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    struct client_session *s = req->data;
    free(req);
    session_close(s);
}

/* Close once what was queued for the client (an ERR, typically) is sent. */
static void session_close_after_flush(struct client_session *s)
{
    if (s->state == CS_CLOSING || s->state == CS_FLUSHING)
        return;
    uv_shutdown_t *req = malloc(sizeof *req);
    if (req && uv_stream_get_write_queue_size((uv_stream_t *)&s->tcp) > 0) {
        req->data = s;
        if (uv_shutdown(req, (uv_stream_t *)&s->tcp, on_shutdown) == 0) {
            stop_reading(s);
            s->state = CS_FLUSHING;
            return;
        }
    }
    free(req);
    session_close(s);
}

void client_session_close_all(struct worker *w)
{
    while (w->sessions)
        session_close(w->sessions);
}

/* --- writing to the client ----------------------------------------------- */

struct client_write {
    uv_write_t req;
    struct client_session *s;
    uint8_t data[];
};

static void on_client_written(uv_write_t *req, int status)
{
    struct client_write *cw = (struct client_write *)req;
    struct client_session *s = cw->s;
    free(cw);
    if (status < 0 && status != UV_ECANCELED && s->state != CS_CLOSING) {
        log_debug("session %u: write to client failed: %s", s->id, uv_strerror(status));
        session_close(s);
    }
}

/* Send proxy-built bytes; a copy is kept only when the socket cannot take
 * them at once. */
static int client_send(struct client_session *s, const uint8_t *data, size_t len)
{
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    int n = uv_try_write((uv_stream_t *)&s->tcp, &b, 1);
    if (n == (int)len)
        return 0;
    if (n < 0 && n != UV_EAGAIN) {
        session_close(s);
        return -1;
    }
    size_t done = n > 0 ? (size_t)n : 0;
    struct client_write *cw = malloc(sizeof *cw + len - done);
    if (!cw) {
        session_close(s);
        return -1;
    }
    cw->s = s;
    memcpy(cw->data, data + done, len - done);
    b = uv_buf_init((char *)cw->data, (unsigned)(len - done));
    if (uv_write(&cw->req, (uv_stream_t *)&s->tcp, &b, 1, on_client_written) != 0) {
        free(cw);
        session_close(s);
        return -1;
    }
    return 0;
}

static void send_err(struct client_session *s, uint8_t seq, uint16_t code, const char *sqlstate,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void send_err(struct client_session *s, uint8_t seq, uint16_t code, const char *sqlstate,
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
        client_send(s, buf, n);
}

static uint16_t session_status(const struct client_session *s)
{
    uint16_t st = 0;
    if (s->route.autocommit)
        st |= SERVER_STATUS_AUTOCOMMIT;
    if (s->route.in_transaction)
        st |= SERVER_STATUS_IN_TRANS;
    return st;
}

static void send_ok(struct client_session *s, uint8_t seq)
{
    uint8_t buf[64];
    size_t n = ok_packet_build(buf, sizeof buf, seq, s->login.caps, 0, 0, session_status(s), 0);
    client_send(s, buf, n);
}

/* Response bytes from a backend, written from its buffer without a copy;
 * when the socket cannot take them all, the backend pauses until it can. */
static void on_forward_written(uv_write_t *req, int status)
{
    struct backend_conn *bc = req->data;
    struct client_session *s = bc->session;
    if (status < 0 && status != UV_ECANCELED && s && s->state != CS_CLOSING) {
        log_debug("session %u: write to client failed: %s", s->id, uv_strerror(status));
        session_close(s);
    }
    backend_conn_resume(bc);
}

bool client_session_forward(struct client_session *s, struct backend_conn *bc, const uint8_t *data,
                            size_t len)
{
    s->forwarded = true;
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    int n = uv_try_write((uv_stream_t *)&s->tcp, &b, 1);
    if (n == (int)len)
        return true;
    if (n < 0 && n != UV_EAGAIN) {
        log_debug("session %u: client went away: %s", s->id, uv_strerror(n));
        session_close(s);
        return true;
    }
    size_t done = n > 0 ? (size_t)n : 0;
    b = uv_buf_init((char *)data + done, (unsigned)(len - done));
    bc->fwd_req.data = bc;
    if (uv_write(&bc->fwd_req, (uv_stream_t *)&s->tcp, &b, 1, on_forward_written) != 0) {
        session_close(s);
        return true;
    }
    return false;
}

/* --- reading from the client --------------------------------------------- */

/* The client stays readable while a command runs (stopping and restarting
 * would cost two epoll_ctl calls per statement), but the buffer only grows
 * between commands: a pending write to a backend may point into it. */
static void on_client_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct client_session *s = h->data;
    if (s->state != CS_COMMAND && s->in_cap - s->in_len < CLIENT_IN_MIN / 2) {
        size_t cap = s->in_cap ? s->in_cap * 2 : CLIENT_IN_MIN;
        uint8_t *p = realloc(s->in, cap);
        if (p) {
            s->in = p;
            s->in_cap = cap;
        }
    }
    buf->base = (char *)s->in + s->in_len;
    buf->len = s->in_cap - s->in_len;
}

static void on_login_packet(struct client_session *s, const uint8_t *p, size_t len, uint8_t seq);
static void on_auth_switch_reply(struct client_session *s, const uint8_t *p, size_t len,
                                 uint8_t seq);

static void on_client_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    struct client_session *s = st->data;
    if (n == 0)
        return;
    if (n == UV_ENOBUFS) {
        stop_reading(s); /* buffer full during a command; resumed when it ends */
        return;
    }
    if (n < 0) {
        if (n != UV_EOF)
            log_debug("session %u: read from client: %s", s->id, uv_strerror((int)n));
        session_close(s);
        return;
    }
    s->in_len += (size_t)n;
    if (s->state == CS_GREETING_SENT || s->state == CS_AUTH_SWITCH) {
        size_t wire, payload;
        if (!logical_packet_span(s->in, s->in_len, &wire, &payload)) {
            if (s->in_len >= LOGIN_PACKET_MAX)
                session_close(s);
            return;
        }
        if (wire != payload + PACKET_HEADER_LEN || wire != s->in_len) {
            send_err(s, 2, ER_HANDSHAKE_ERROR, "08S01", "Bad handshake");
            session_close_after_flush(s);
            return;
        }
        s->in_len = 0;
        if (s->state == CS_GREETING_SENT)
            on_login_packet(s, s->in + PACKET_HEADER_LEN, payload, packet_seq(s->in));
        else
            on_auth_switch_reply(s, s->in + PACKET_HEADER_LEN, payload, packet_seq(s->in));
        return;
    }
    if (s->state == CS_IDLE)
        process_commands(s);
    else if (s->state == CS_COMMAND && s->in_cap - s->in_len < CLIENT_IN_MIN / 2)
        stop_reading(s); /* more than we can hold now: wait for the command to end */
}

static void start_reading(struct client_session *s)
{
    if (s->reading || s->state == CS_CLOSING)
        return;
    if (uv_read_start((uv_stream_t *)&s->tcp, on_client_alloc, on_client_read) == 0)
        s->reading = true;
}

static void stop_reading(struct client_session *s)
{
    if (s->reading)
        uv_read_stop((uv_stream_t *)&s->tcp);
    s->reading = false;
}

/* --- login --------------------------------------------------------------- */

static void server_version(struct client_session *s, char *out, size_t cap)
{
    struct topology *t = worker_topology(s->w);
    const char *v = t && t->server_version[0] ? t->server_version : "10.11.0-MariaDB";
    /* MariaDB announces itself as 5.5.5-<version> so old clients that assume
     * a 5.x server keep working; do the same. */
    snprintf(out, cap, "%s%s-switchyard", v[0] >= '1' && v[1] >= '0' && v[1] <= '9' ? "5.5.5-" : "",
             v);
}

static void login_failed(struct client_session *s, uint8_t seq, bool used_password)
{
    log_info("session %u: access denied for user '%s' from %s", s->id, s->login.user, s->peer);
    send_err(s, seq, ER_ACCESS_DENIED_ERROR, "28000",
             "Access denied for user '%s'@'%s' (using password: %s)", s->login.user, s->peer,
             used_password ? "YES" : "NO");
    session_close_after_flush(s);
}

static void check_password(struct client_session *s, const uint8_t *reply, size_t len, uint8_t seq)
{
    const struct user_config *u = s->user_index >= 0 ? &cfg_of(s)->users[s->user_index] : NULL;
    if (!u || !native_password_check(reply, len, s->scramble, SCRAMBLE_LEN, u->stage2,
                                     u->has_password && u->password[0] == '\0',
                                     s->login.stage1)) {
        login_failed(s, seq + 1, len > 0);
        return;
    }
    s->login.account = u;
    s->state = CS_IDLE;
    log_debug("session %u: user '%s' logged in from %s", s->id, s->login.user, s->peer);
    send_ok(s, seq + 1);
}

static void on_login_packet(struct client_session *s, const uint8_t *p, size_t len, uint8_t seq)
{
    struct handshake_response r;
    if (handshake_response_parse(p, len, &r) != 0) {
        send_err(s, seq + 1, ER_HANDSHAKE_ERROR, "08S01", "Bad handshake");
        session_close_after_flush(s);
        return;
    }
    if (r.is_ssl_request) {
        send_err(s, seq + 1, ER_HANDSHAKE_ERROR, "08S01",
                 "switchyard does not offer TLS yet; connect without SSL");
        session_close_after_flush(s);
        return;
    }
    snprintf(s->login.user, sizeof s->login.user, "%.*s", (int)r.username_len, r.username);
    s->user_index = config_find_user(cfg_of(s), r.username, r.username_len);
    s->login.caps = r.capabilities & PROXY_CAPS;
    s->login.max_packet = r.max_packet;
    s->login.charset = r.charset ? r.charset : DEFAULT_CHARSET;
    if (r.database && (r.capabilities & CLIENT_CONNECT_WITH_DB))
        snprintf(s->login.db, sizeof s->login.db, "%.*s", (int)r.database_len, r.database);
    if (r.attrs && r.attrs_len > 0 && (r.capabilities & CLIENT_CONNECT_ATTRS)) {
        s->login.attrs = malloc(r.attrs_len);
        if (s->login.attrs) {
            memcpy(s->login.attrs, r.attrs, r.attrs_len);
            s->login.attrs_len = r.attrs_len;
        }
    }
    bool native = !r.auth_plugin || (r.auth_plugin_len == strlen(AUTH_PLUGIN_NATIVE) &&
                                     memcmp(r.auth_plugin, AUTH_PLUGIN_NATIVE, r.auth_plugin_len) == 0);
    if (native && (r.auth_response_len == SHA1_LEN || r.auth_response_len == 0)) {
        check_password(s, r.auth_response, r.auth_response_len, seq);
        return;
    }
    /* The client started with another plugin (caching_sha2_password,
     * client_ed25519...): ask it to answer our scramble the native way. */
    uint8_t buf[128];
    size_t n = auth_switch_build(buf, sizeof buf, seq + 1, AUTH_PLUGIN_NATIVE, s->scramble,
                                 SCRAMBLE_LEN);
    s->state = CS_AUTH_SWITCH;
    client_send(s, buf, n);
}

static void on_auth_switch_reply(struct client_session *s, const uint8_t *p, size_t len,
                                 uint8_t seq)
{
    check_password(s, p, len, seq);
}

void client_session_accept(struct worker *w, uv_stream_t *server)
{
    struct client_session *s = calloc(1, sizeof *s);
    if (!s)
        return;
    s->w = w;
    s->user_index = -1;
    uv_tcp_init(&w->loop, &s->tcp);
    s->tcp.data = s;
    s->next = w->sessions;
    if (w->sessions)
        w->sessions->prev = s;
    w->sessions = s;
    s->state = CS_GREETING_SENT;
    session_route_state_init(&s->route);
    session_log_init(&s->log);
    if (uv_accept(server, (uv_stream_t *)&s->tcp) != 0) {
        session_close(s);
        return;
    }
    uv_tcp_nodelay(&s->tcp, 1);
    struct sockaddr_storage addr;
    int alen = sizeof addr;
    s->peer[0] = '\0';
    if (uv_tcp_getpeername(&s->tcp, (struct sockaddr *)&addr, &alen) == 0) {
        if (addr.ss_family == AF_INET6)
            uv_ip6_name((struct sockaddr_in6 *)&addr, s->peer, sizeof s->peer);
        else
            uv_ip4_name((struct sockaddr_in *)&addr, s->peer, sizeof s->peer);
    }
    s->id = (uint32_t)atomic_fetch_add(&w->proxy->next_session_id, 1);
    if (scramble_generate(s->scramble, SCRAMBLE_LEN) != 0) {
        session_close(s);
        return;
    }
    char version[96];
    server_version(s, version, sizeof version);
    uint8_t buf[256];
    size_t n = server_handshake_build(buf, sizeof buf, version, s->id, s->scramble, PROXY_CAPS,
                                      DEFAULT_CHARSET, SERVER_STATUS_AUTOCOMMIT);
    if (n == 0 || client_send(s, buf, n) != 0) {
        session_close(s);
        return;
    }
    start_reading(s);
}

/* --- commands ------------------------------------------------------------ */

static const char *backend_name(const struct client_session *s, int index)
{
    return cfg_of(s)->backends[index].name;
}

static int primary_index(const struct client_session *s)
{
    const struct proxy_config *cfg = cfg_of(s);
    for (size_t i = 0; i < cfg->n_backends; i++)
        if (cfg->backends[i].role == ROLE_PRIMARY)
            return (int)i;
    return -1;
}

/* Weighted round-robin over the replicas the monitor says are readable and
 * that have not failed for this session or this command. */
static int pick_replica(struct client_session *s)
{
    const struct proxy_config *cfg = cfg_of(s);
    struct topology *t = worker_topology(s->w);
    int weights[CONFIG_MAX_BACKENDS];
    for (size_t i = 0; i < cfg->n_backends; i++) {
        uint64_t bit = 1ull << i;
        bool ok = cfg->backends[i].role == ROLE_REPLICA && t && i < t->n &&
                  backend_readable(&t->backend[i]) && !(s->replay_failed & bit) &&
                  !(s->tried & bit);
        weights[i] = ok ? cfg->backends[i].weight : 0;
    }
    return wrr_pick(&s->w->wrr, weights, cfg->n_backends);
}

/* The command is over: drop its bytes and look at what the client sent next. */
static void finish_command(struct client_session *s)
{
    if (s->state == CS_CLOSING)
        return;
    free(s->gathered);
    s->gathered = NULL;
    memmove(s->in, s->in + s->cmd_wire, s->in_len - s->cmd_wire);
    s->in_len -= s->cmd_wire;
    s->cmd_wire = 0;
    s->state = CS_IDLE;
    if (s->in_len == 0 && s->in_cap > 1024 * 1024) {
        /* A huge statement passed: give the memory back. */
        free(s->in);
        s->in = NULL;
        s->in_cap = 0;
    }
    process_commands(s);
}

static void fail_command(struct client_session *s, uint8_t seq, uint16_t code,
                         const char *sqlstate, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void fail_command(struct client_session *s, uint8_t seq, uint16_t code,
                         const char *sqlstate, const char *fmt, ...)
{
    char msg[440];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    send_err(s, seq, code, sqlstate, "%s", msg);
    finish_command(s);
}

/* Run the current command on backend index: connect first if needed. */
static void run_on(struct client_session *s, int index)
{
    s->target = index;
    if (!s->bc[index]) {
        s->bc[index] = backend_conn_open(s, index);
        if (!s->bc[index]) {
            fail_command(s, s->cmd_seq + 1, CR_CONN_HOST_ERROR, "HY000",
                         "switchyard: cannot open a connection to backend '%s'",
                         backend_name(s, index));
        }
        return; /* client_session_backend_ready() goes on */
    }
    if (s->bc[index]->state == BC_READY)
        dispatch(s);
}

/* Where a read goes when no replica can take it. */
static void read_fallback(struct client_session *s)
{
    if (cfg_of(s)->read_fallback == READ_FALLBACK_PRIMARY) {
        s->read_only_route = false;
        run_on(s, primary_index(s));
        return;
    }
    fail_command(s, s->cmd_seq + 1, ER_UNKNOWN_ERROR, "HY000",
                 "switchyard: no replica is eligible for reads (all down, broken or lagging) and "
                 "read_fallback = error; retry later, or send the statement to the primary");
}

static void route_read(struct client_session *s)
{
    int r = pick_replica(s);
    if (r < 0) {
        read_fallback(s);
        return;
    }
    s->read_only_route = true;
    run_on(s, r);
}

static void route_command(struct client_session *s)
{
    s->read_only_route = false;
    if (s->cmd != COM_QUERY) {
        run_on(s, primary_index(s));
        return;
    }
    classify_query((const char *)s->arg, s->arg_len, &s->cls);
    if (s->cls.flags & CLS_KILL) {
        fail_command(s, s->cmd_seq + 1, ER_NOT_SUPPORTED_YET, "42000",
                     "switchyard does not support KILL yet: the connection ids a client sees are "
                     "not those of the backends; run KILL directly on the server");
        return;
    }
    struct route_decision d = route_statement(&s->cls, &s->route);
    /* Session state is recorded from the primary's answer, and a session
     * whose state cannot be replayed stays on the primary. */
    if (d.target == ROUTE_REPLICA && !(s->cls.flags & CLS_SESSION_STATE) && !s->log.overflow)
        route_read(s);
    else
        run_on(s, primary_index(s));
}

/* Bring the target up to date with the session's state, then send the
 * client's command bytes unchanged. */
static void dispatch(struct client_session *s)
{
    struct backend_conn *bc = s->bc[s->target];
    if (bc->applied < s->log.count) {
        const struct session_log_entry *e = &s->log.entries[bc->applied];
        s->replaying = true;
        backend_conn_send_command(bc, e->command, e->payload, e->len);
        return;
    }
    s->replaying = false;
    int rc = backend_conn_send(bc, s->in, s->cmd_wire, s->cmd, true);
    if (rc == 1)
        finish_command(s);
}

void client_session_backend_ready(struct client_session *s, struct backend_conn *bc)
{
    if (s->state == CS_COMMAND && s->bc[s->target] == bc)
        dispatch(s);
}

static void forget_backend(struct client_session *s, struct backend_conn *bc)
{
    if (bc->index >= 0 && bc->index < CONFIG_MAX_BACKENDS && s->bc[bc->index] == bc)
        s->bc[bc->index] = NULL;
}

void client_session_backend_failed(struct client_session *s, struct backend_conn *bc, uint16_t code,
                                   const char *sqlstate, const char *message)
{
    forget_backend(s, bc);
    if (!message || s->state != CS_COMMAND || s->target != bc->index)
        return;
    if (bc->index == primary_index(s))
        s->route.in_transaction = false; /* whatever was open there is gone */
    if (s->read_only_route && !s->forwarded) {
        /* Nothing reached the client yet: a read can go elsewhere. */
        s->tried |= 1ull << bc->index;
        route_read(s);
        return;
    }
    uint8_t seq = s->forwarded ? (uint8_t)(bc->tracker.last_seq + 1) : (uint8_t)(s->cmd_seq + 1);
    fail_command(s, seq, code ? code : CR_SERVER_LOST, sqlstate,
                 "switchyard: backend '%s': %s", backend_name(s, bc->index), message);
}

/* Keep what a successful statement changed in the session. */
static void record_session_change(struct client_session *s, struct backend_conn *bc)
{
    const struct result_tracker *rt = &bc->tracker;
    if (rt->is_error)
        return;
    if (s->cmd == COM_INIT_DB ||
        (s->cmd == COM_QUERY && (s->cls.flags & CLS_SESSION_STATE))) {
        if (s->cmd == COM_QUERY && (s->cls.flags & CLS_MULTI)) {
            /* Replaying the batch would repeat its other statements. */
            s->log.overflow = true;
        } else if (session_log_append(&s->log, s->cmd, s->arg, s->arg_len) != 0) {
            log_info("session %u: too much session state to replay; pinned to the primary",
                     s->id);
        }
        bc->applied = s->log.count;
    } else if (s->cmd == COM_RESET_CONNECTION) {
        session_log_clear(&s->log);
        session_route_state_init(&s->route);
        s->replay_failed = 0;
        for (size_t i = 0; i < CONFIG_MAX_BACKENDS; i++) {
            if (s->bc[i] && s->bc[i] != bc) {
                backend_conn_close(s->bc[i]);
                s->bc[i] = NULL;
            }
        }
        bc->applied = 0;
    }
}

void client_session_response_done(struct client_session *s, struct backend_conn *bc)
{
    const struct result_tracker *rt = &bc->tracker;
    if (s->replaying) {
        s->replaying = false;
        if (!rt->is_error) {
            bc->applied++;
            dispatch(s);
            return;
        }
        log_warn("session %u: replaying session state on backend %s failed: %s (%u)", s->id,
                 backend_name(s, bc->index), rt->err_message, rt->err_code);
        forget_backend(s, bc);
        backend_conn_close(bc);
        if (s->read_only_route) {
            s->replay_failed |= 1ull << bc->index;
            route_read(s);
        } else {
            fail_command(s, s->cmd_seq + 1, rt->err_code, rt->err_sqlstate,
                         "switchyard: cannot restore session state on backend '%s': %s",
                         backend_name(s, bc->index), rt->err_message);
        }
        return;
    }
    static const struct classification none = {false, 0, ""};
    session_route_state_update(&s->route, s->cmd == COM_QUERY ? &s->cls : &none, !rt->is_error,
                               rt->saw_status, rt->status);
    record_session_change(s, bc);
    finish_command(s);
}

/* A command the proxy refuses: it cannot pass it through safely. */
static bool refused_command(uint8_t cmd)
{
    switch (cmd) {
    case COM_CHANGE_USER:
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
    case COM_DEBUG:
    case COM_PROCESS_KILL:
        return true;
    default:
        return false;
    }
}

static void start_command(struct client_session *s, size_t wire, size_t payload)
{
    s->state = CS_COMMAND;
    s->cmd_wire = wire;
    s->cmd_seq = packet_seq(s->in);
    s->forwarded = false;
    s->tried = 0;
    if (payload == 0) {
        fail_command(s, s->cmd_seq + 1, ER_UNKNOWN_COM_ERROR, "08S01", "Unknown command");
        return;
    }
    const uint8_t *p = s->in + PACKET_HEADER_LEN;
    if (wire != payload + PACKET_HEADER_LEN) {
        /* Split packet (>= 16 MiB): the classifier needs one contiguous text. */
        s->gathered = malloc(payload);
        if (!s->gathered) {
            fail_command(s, s->cmd_seq + 1, ER_UNKNOWN_ERROR, "HY000", "switchyard: out of memory");
            return;
        }
        logical_packet_gather(s->in, wire, s->gathered);
        p = s->gathered;
    }
    s->cmd = p[0];
    s->arg = p + 1;
    s->arg_len = payload - 1;
    if (s->cmd == COM_QUIT) {
        session_close(s);
        return;
    }
    if (s->cmd == COM_PING) {
        send_ok(s, s->cmd_seq + 1);
        finish_command(s);
        return;
    }
    if (refused_command(s->cmd)) {
        fail_command(s, s->cmd_seq + 1, ER_UNKNOWN_COM_ERROR, "08S01",
                     "switchyard does not support command 0x%02x through the proxy", s->cmd);
        return;
    }
    route_command(s);
}

/* Take the next complete command from the input, one at a time: the next is
 * looked at only when the previous one's response is complete. */
static void process_commands(struct client_session *s)
{
    while (s->state == CS_IDLE) {
        size_t wire, payload;
        if (!logical_packet_span(s->in, s->in_len, &wire, &payload)) {
            if (s->in_len >= PACKET_HEADER_LEN && packet_payload_len(s->in) >= PACKET_MAX_PAYLOAD &&
                s->in_len > COMMAND_PACKET_MAX) {
                send_err(s, packet_seq(s->in) + 1, ER_NET_PACKET_TOO_LARGE, "08S01",
                         "Got a packet bigger than 'max_allowed_packet' bytes");
                session_close_after_flush(s);
                return;
            }
            start_reading(s);
            return;
        }
        start_command(s, wire, payload);
    }
}
