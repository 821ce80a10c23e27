/* The admin thread: its loop, listeners and MySQL-protocol connections.
 * A connection is allowed by [admin] allow before anything is read, logs
 * in with the [admin] account (mysql_native_password only, never an
 * application account), then sends admin statements as COM_QUERY. */
#include "proxy/admin.h"

#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/cidr.h"
#include "protocol/auth.h"
#include "protocol/handshake.h"
#include "protocol/packet.h"
#include "proxy/admin_queries.h"
#include "proxy/admin_state.h"
#include "proxy/log.h"
#include "proxy/metrics_http.h"
#include "proxy/query_digest.h"
#include "proxy/status_history.h"
#include "proxy/transport.h"
#include "proxy/worker.h"

#define ADMIN_MAX_CONNECTIONS 64 /* the admin port's own; HTTP has HTTP_MAX_CONNECTIONS */
#define ADMIN_MAX_PACKET 65536    /* admin statements are short */
#define ADMIN_LOGIN_DEADLINE_MS 10000
#define ADMIN_MAX_ANSWER (64u << 20)
#define ER_CON_COUNT_ERROR 1040

#define ADMIN_CAPS                                                                          \
    (CLIENT_LONG_PASSWORD | CLIENT_LONG_FLAG | CLIENT_CONNECT_WITH_DB | CLIENT_PROTOCOL_41 | \
     CLIENT_TRANSACTIONS | CLIENT_SECURE_CONNECTION | CLIENT_MULTI_RESULTS |                 \
     CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_ATTRS | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA |      \
     CLIENT_DEPRECATE_EOF)
#define DEFAULT_CHARSET 45 /* utf8mb4_general_ci */

struct admin {
    struct proxy *proxy;
    uv_loop_t loop;
    uv_thread_t thread;
    uv_tcp_t listener;
    uv_tcp_t http_listener;
    bool has_http;
    uv_async_t stop_async;
    struct topology *topology; /* the admin thread's reference */
    struct admin_conn_list mysql_conns, http_conns;
    struct status_history history; /* for the status page */
};

enum admin_conn_state { AC_LOGIN, AC_AUTH_SWITCH, AC_COMMAND, AC_CLOSING };

struct admin_conn {
    struct admin_link link; /* first: the link is the connection */
    struct admin *admin;
    struct transport t;
    uv_timer_t deadline;
    int handles; /* open libuv handles; freed when both are closed */
    enum admin_conn_state state;
    char peer[64];
    char user[CONFIG_NAME_MAX];
    uint8_t scramble[SCRAMBLE_LEN];
    uint32_t caps;
    uint8_t *in;
    size_t in_len, in_cap;
};

/* ---- shared with metrics_http.c ---- */

/* Closes the oldest connection of list that is not busy, if any. */
static void make_room(struct admin_conn_list *list)
{
    for (struct admin_link *l = list->head.prev; l != &list->head; l = l->prev) {
        if (!l->busy) {
            l->close(l);
            return;
        }
    }
}

bool admin_link_add(struct admin *a, enum admin_port port, struct admin_link *l)
{
    struct admin_conn_list *list = port == ADMIN_PORT_HTTP ? &a->http_conns : &a->mysql_conns;
    if (list->count >= list->max)
        make_room(list);
    l->list = list;
    l->next = list->head.next;
    l->prev = &list->head;
    list->head.next->prev = l;
    list->head.next = l;
    list->count++;
    return list->count <= list->max;
}

void admin_link_remove(struct admin_link *l)
{
    l->prev->next = l->next;
    l->next->prev = l->prev;
    l->prev = l->next = l;
    l->list->count--;
}

static void conn_list_init(struct admin_conn_list *list, int max)
{
    list->head.prev = list->head.next = &list->head;
    list->count = 0;
    list->max = max;
}

static void conn_list_close_all(struct admin_conn_list *list)
{
    while (list->head.next != &list->head)
        list->head.next->close(list->head.next);
}

bool admin_peer_allowed(struct admin *a, const struct sockaddr *sa, char *peer, size_t cap)
{
    if (sa->sa_family == AF_INET6)
        uv_ip6_name((const struct sockaddr_in6 *)sa, peer, cap);
    else if (sa->sa_family == AF_INET)
        uv_ip4_name((const struct sockaddr_in *)sa, peer, cap);
    else
        snprintf(peer, cap, "?");
    return cidr_list_match(&proxy_config_gen(a->proxy)->cfg.admin_allow, sa);
}

struct proxy *admin_proxy(struct admin *a) { return a->proxy; }

const struct status_history *admin_history(struct admin *a) { return &a->history; }

int admin_snapshot(struct admin *a, bool sessions, struct admin_snapshot *snap)
{
    uv_update_time(&a->loop);
    return admin_snapshot_take(a->proxy, &a->topology, sessions, uv_now(&a->loop), snap);
}

int admin_bind(uv_loop_t *loop, uv_tcp_t *t, const char *host, uint16_t port)
{
    char service[8];
    snprintf(service, sizeof service, "%u", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE};
    struct addrinfo *res;
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        log_error("admin: cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    rc = uv_tcp_init(loop, t);
    if (rc == 0)
        rc = uv_tcp_bind(t, res->ai_addr, 0);
    freeaddrinfo(res);
    if (rc != 0) {
        log_error("admin: cannot listen on %s:%u: %s", host, port, uv_strerror(rc));
        return -1;
    }
    return 0;
}

/* ---- connection plumbing ---- */

static void conn_handle_closed(struct admin_conn *c)
{
    if (--c->handles == 0) {
        free(c->in);
        free(c);
    }
}

static void on_deadline_closed(uv_handle_t *h) { conn_handle_closed(h->data); }

static void on_transport_closed(struct transport *t) { conn_handle_closed(t->owner); }

static void conn_close(struct admin_link *l)
{
    struct admin_conn *c = (struct admin_conn *)l;
    if (c->t.closing)
        return;
    c->state = AC_CLOSING;
    admin_link_remove(&c->link);
    transport_close(&c->t);
    uv_close((uv_handle_t *)&c->deadline, on_deadline_closed);
}

/* A queued write completed; the token says whether they were last words. */
static void on_written(struct transport *t, void *close_after, int status)
{
    if (status < 0 || close_after)
        conn_close(&((struct admin_conn *)t->owner)->link);
}

/* Queue len bytes; with close_after the connection closes once they are
 * out (an ERR that ends the conversation). */
static void conn_send(struct admin_conn *c, const uint8_t *data, size_t len, bool close_after)
{
    if (c->state == AC_CLOSING || c->t.closing)
        return;
    if (close_after) {
        c->link.busy = true; /* its last words go out whole */
        c->state = AC_CLOSING;
        transport_read_stop(&c->t);
    }
    int rc = transport_send(&c->t, data, len, false, close_after ? &c->t : NULL);
    if (rc < 0 || (rc == 1 && close_after))
        conn_close(&c->link);
}

static void send_err(struct admin_conn *c, uint8_t seq, uint16_t code, const char *state,
                     const char *msg, bool close_after)
{
    uint8_t buf[600];
    size_t n = err_packet_build(buf, sizeof buf, seq, code, state, msg);
    conn_send(c, buf, n, close_after);
}

static void send_ok(struct admin_conn *c, uint8_t seq)
{
    uint8_t buf[64];
    size_t n = ok_packet_build(buf, sizeof buf, seq, c->caps, 0, 0, SERVER_STATUS_AUTOCOMMIT, 0);
    conn_send(c, buf, n, false);
}

/* ---- login ---- */

static bool plugin_is(const char *name, size_t len, const char *plugin)
{
    return name && len == strlen(plugin) && memcmp(name, plugin, len) == 0;
}

static void send_greeting(struct admin_conn *c)
{
    if (scramble_generate(c->scramble, SCRAMBLE_LEN) != 0) {
        conn_close(&c->link);
        return;
    }
    uint8_t buf[256];
    size_t n = server_handshake_build(buf, sizeof buf, SY_VERSION "-switchyard-admin", 0,
                                      c->scramble, ADMIN_CAPS, DEFAULT_CHARSET,
                                      SERVER_STATUS_AUTOCOMMIT);
    conn_send(c, buf, n, false);
}

/* Only the [admin] account, only mysql_native_password: the application
 * accounts never open this port. */
static void check_login(struct admin_conn *c, const uint8_t *reply, size_t len, uint8_t seq)
{
    const struct proxy_config *cfg = &proxy_config_gen(c->admin->proxy)->cfg;
    uint8_t stage1[SHA1_LEN];
    bool empty = cfg->admin_has_password && cfg->admin_password[0] == '\0';
    bool ok = strcmp(c->user, cfg->admin_user) == 0 &&
              native_password_check(reply, len, c->scramble, SCRAMBLE_LEN, cfg->admin_stage2,
                                    empty, stage1);
    if (!ok) {
        char msg[256];
        log_info("admin: access denied for user '%s' from %s", c->user, c->peer);
        snprintf(msg, sizeof msg, "Access denied for user '%s'@'%s' (using password: %s)",
                 c->user, c->peer, len > 0 ? "YES" : "NO");
        send_err(c, seq + 1, ER_ACCESS_DENIED_ERROR, "28000", msg, true);
        return;
    }
    uv_timer_stop(&c->deadline);
    c->state = AC_COMMAND;
    c->link.busy = true;
    log_info("admin: '%s' logged in from %s", c->user, c->peer);
    send_ok(c, seq + 1);
}

static void on_login_packet(struct admin_conn *c, const uint8_t *p, size_t len, uint8_t seq)
{
    struct handshake_response r;
    if (handshake_response_parse(p, len, &r) != 0) {
        send_err(c, seq + 1, ER_HANDSHAKE_ERROR, "08S01", "Bad handshake", true);
        return;
    }
    if (r.is_ssl_request) {
        send_err(c, seq + 1, ER_HANDSHAKE_ERROR, "08S01",
                 "the switchyard admin port does not offer TLS; connect without SSL", true);
        return;
    }
    snprintf(c->user, sizeof c->user, "%.*s", (int)r.username_len, r.username);
    c->caps = r.capabilities & ADMIN_CAPS;
    bool native = !r.auth_plugin || plugin_is(r.auth_plugin, r.auth_plugin_len, AUTH_PLUGIN_NATIVE);
    if (native && (r.auth_response_len == SHA1_LEN || r.auth_response_len == 0)) {
        check_login(c, r.auth_response, r.auth_response_len, seq);
        return;
    }
    /* Another plugin (caching_sha2_password by default in MySQL 8
     * clients): ask for a native answer to our scramble. */
    uint8_t buf[128];
    size_t n = auth_switch_build(buf, sizeof buf, seq + 1, AUTH_PLUGIN_NATIVE, c->scramble,
                                 SCRAMBLE_LEN);
    c->state = AC_AUTH_SWITCH;
    conn_send(c, buf, n, false);
}

/* ---- commands ---- */

/* Builds a SHOW answer, growing the buffer until it fits. */
static void send_show(struct admin_conn *c, const struct admin_command *cmd, uint8_t seq)
{
    struct admin_snapshot snap;
    if (admin_snapshot(c->admin, cmd->kind == ADMIN_SHOW_SESSIONS, &snap) != 0) {
        admin_snapshot_free(&snap);
        send_err(c, seq, ER_UNKNOWN_ERROR, "HY000", "switchyard admin: out of memory", false);
        return;
    }
    struct query_stats_table queries;
    query_stats_init(&queries, 0);
    if (cmd->kind == ADMIN_SHOW_QUERIES) {
        query_digest_collect(c->admin->proxy, &queries); /* short of memory: what fit */
        query_stats_sort(&queries, cmd->order);
    }
    uint8_t *buf = NULL;
    struct resultset_writer w = {.overflow = true};
    for (size_t cap = 16384; w.overflow && cap <= ADMIN_MAX_ANSWER; cap *= 2) {
        uint8_t *nb = realloc(buf, cap);
        if (!nb)
            break;
        buf = nb;
        resultset_begin(&w, buf, cap, seq, c->caps, admin_show_columns(cmd->kind));
        if (cmd->kind == ADMIN_SHOW_BACKENDS)
            admin_show_backends(&w, &snap);
        else if (cmd->kind == ADMIN_SHOW_SESSIONS)
            admin_show_sessions(&w, &snap);
        else if (cmd->kind == ADMIN_SHOW_STATS)
            admin_show_stats(&w, &snap);
        else if (cmd->kind == ADMIN_SHOW_CONFIG)
            admin_show_config(&w, &snap);
        else if (cmd->kind == ADMIN_SHOW_QUERIES)
            admin_show_queries(&w, &snap, &queries, cmd);
        else if (cmd->kind == ADMIN_SHOW_POOLS)
            admin_show_pools(&w, &snap);
        else
            admin_show_version(&w, &snap);
    }
    admin_snapshot_free(&snap);
    query_stats_free(&queries);
    if (w.overflow)
        send_err(c, seq, ER_UNKNOWN_ERROR, "HY000", "switchyard admin: answer too large", false);
    else
        conn_send(c, buf, w.len, false);
    free(buf);
}

static void set_backend(struct admin_conn *c, const struct admin_command *cmd, uint8_t seq)
{
    if (admin_set_offline(c->admin->proxy, cmd->backend, cmd->offline) != 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "unknown backend '%s' (SHOW BACKENDS lists them)", cmd->backend);
        send_err(c, seq, ER_UNKNOWN_ERROR, "HY000", msg, false);
        return;
    }
    log_info("admin: backend %s set %s by '%s' from %s", cmd->backend,
             cmd->offline ? "OFFLINE" : "ONLINE", c->user, c->peer);
    send_ok(c, seq);
}

/* The session's own worker closes it (its loop owns the socket). */
static void kill_session(struct admin_conn *c, uint32_t id, uint8_t seq)
{
    struct session_kill_target t = session_registry_kill(&c->admin->proxy->sessions, id, NULL, true);
    if (!t.found) {
        char msg[64];
        snprintf(msg, sizeof msg, "Unknown session id: %u", id);
        send_err(c, seq, ER_NO_SUCH_THREAD, "HY000", msg, false);
        return;
    }
    uv_async_send(&t.worker->kill_async);
    log_info("admin: session %u killed by '%s' from %s", id, c->user, c->peer);
    send_ok(c, seq);
}

/* The main thread reloads on SIGHUP from sigwait; a process-directed
 * signal reaches it because every other thread blocks SIGHUP. */
static void reload(struct admin_conn *c, uint8_t seq)
{
    log_info("admin: RELOAD by '%s' from %s", c->user, c->peer);
    if (kill(getpid(), SIGHUP) != 0) {
        send_err(c, seq, ER_UNKNOWN_ERROR, "HY000", "switchyard admin: cannot signal a reload",
                 false);
        return;
    }
    send_ok(c, seq);
}

static void run_query(struct admin_conn *c, const uint8_t *sql, size_t len, uint8_t seq)
{
    struct admin_command cmd = admin_parse((const char *)sql, len);
    switch (cmd.kind) {
    case ADMIN_SET_BACKEND:
        set_backend(c, &cmd, seq);
        return;
    case ADMIN_KILL_SESSION:
        kill_session(c, cmd.session_id, seq);
        return;
    case ADMIN_RELOAD:
        reload(c, seq);
        return;
    case ADMIN_RESET_QUERIES:
        query_digest_reset(c->admin->proxy);
        send_ok(c, seq);
        return;
    case ADMIN_INVALID:
        send_err(c, seq, ER_PARSE_ERROR, "42000", admin_usage, false);
        return;
    default:
        send_show(c, &cmd, seq);
        return;
    }
}

static void on_command(struct admin_conn *c, const uint8_t *p, size_t len, uint8_t seq)
{
    if (len == 0) {
        send_err(c, seq + 1, ER_UNKNOWN_COM_ERROR, "08S01", "Unknown command", false);
        return;
    }
    switch (p[0]) {
    case COM_QUIT:
        conn_close(&c->link);
        return;
    case COM_PING:
        send_ok(c, seq + 1);
        return;
    case COM_QUERY:
        run_query(c, p + 1, len - 1, seq + 1);
        return;
    default:
        send_err(c, seq + 1, ER_UNKNOWN_COM_ERROR, "08S01",
                 "the switchyard admin interface answers COM_QUERY, COM_PING and COM_QUIT only",
                 false);
        return;
    }
}

static void on_packet(struct admin_conn *c, const uint8_t *p, size_t len, uint8_t seq)
{
    if (c->state == AC_LOGIN)
        on_login_packet(c, p, len, seq);
    else if (c->state == AC_AUTH_SWITCH)
        check_login(c, p, len, seq);
    else if (c->state == AC_COMMAND)
        on_command(c, p, len, seq);
}

/* Every complete packet in the input, in order. Admin packets are small
 * (ADMIN_MAX_PACKET), so each is one physical packet. */
static void process_input(struct admin_conn *c)
{
    size_t used = 0, wire, plen;
    while (c->state != AC_CLOSING &&
           logical_packet_span(c->in + used, c->in_len - used, &wire, &plen) == 1) {
        const uint8_t *pkt = c->in + used;
        used += wire;
        on_packet(c, pkt + PACKET_HEADER_LEN, plen, packet_seq(pkt));
    }
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
}

static void on_room(struct transport *t, uv_buf_t *buf)
{
    struct admin_conn *c = t->owner;
    if (c->in_cap - c->in_len < 4096 && c->in_cap < 2 * ADMIN_MAX_PACKET) {
        size_t ncap = c->in_cap ? 2 * c->in_cap : 8192;
        uint8_t *n = realloc(c->in, ncap);
        if (n) {
            c->in = n;
            c->in_cap = ncap;
        }
    }
    *buf = uv_buf_init((char *)c->in + c->in_len, (unsigned)(c->in_cap - c->in_len));
}

static void on_read(struct transport *t, ssize_t n)
{
    struct admin_conn *c = t->owner;
    if (n < 0) {
        conn_close(&c->link);
        return;
    }
    c->in_len += (size_t)n;
    process_input(c);
    /* A header announcing more than an admin statement needs is garbage or
     * abuse: answer now rather than wait for megabytes. */
    if (c->state != AC_CLOSING && c->in_len >= PACKET_HEADER_LEN &&
        packet_payload_len(c->in) > ADMIN_MAX_PACKET)
        send_err(c, 0, ER_NET_PACKET_TOO_LARGE, "08S01",
                 "packet too large for the switchyard admin interface", true);
}

static const struct transport_events admin_conn_events = {
    .room = on_room,
    .read = on_read,
    .written = on_written,
    .closed = on_transport_closed,
};

static void on_login_deadline(uv_timer_t *t)
{
    struct admin_conn *c = t->data;
    log_info("admin: %s did not log in within %d s", c->peer, ADMIN_LOGIN_DEADLINE_MS / 1000);
    conn_close(&c->link);
}

/* Refused hosts get ERR 1130 instead of the greeting, before anything is
 * read from them. */
static void greet(struct admin_conn *c)
{
    struct sockaddr_storage addr;
    bool known = transport_peer(&c->t, &addr, c->peer, sizeof c->peer) == 0;
    if (!known || !admin_peer_allowed(c->admin, (struct sockaddr *)&addr, c->peer, sizeof c->peer)) {
        char msg[160];
        log_info("admin: refused %s (not in [admin] allow)", c->peer);
        snprintf(msg, sizeof msg, "Host '%s' is not allowed to connect to the switchyard admin "
                 "interface", c->peer);
        send_err(c, 0, ER_HOST_NOT_PRIVILEGED, "HY000", msg, true);
        return;
    }
    uv_timer_start(&c->deadline, on_login_deadline, ADMIN_LOGIN_DEADLINE_MS, 0);
    send_greeting(c);
    if (c->state != AC_CLOSING && transport_read_start(&c->t) != 0)
        conn_close(&c->link);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct admin *a = server->data;
    if (status < 0)
        return;
    struct admin_conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->admin = a;
    c->link.close = conn_close;
    c->deadline.data = c;
    strcpy(c->peer, "?");
    transport_init(&c->t, server->loop, NULL, &admin_conn_events, c);
    uv_timer_init(server->loop, &c->deadline);
    c->handles = 2;
    if (transport_accept(&c->t, server) != 0) {
        transport_close(&c->t);
        uv_close((uv_handle_t *)&c->deadline, on_deadline_closed);
        return;
    }
    if (!admin_link_add(a, ADMIN_PORT_MYSQL, &c->link)) {
        char msg[128];
        snprintf(msg, sizeof msg, "Too many admin connections: %d are logged in; close one",
                 ADMIN_MAX_CONNECTIONS);
        send_err(c, 0, ER_CON_COUNT_ERROR, "08004", msg, true);
        return;
    }
    greet(c);
}

/* ---- thread ---- */

static void on_stop(uv_async_t *h)
{
    struct admin *a = h->data;
    uv_close((uv_handle_t *)&a->listener, NULL);
    if (a->has_http)
        uv_close((uv_handle_t *)&a->http_listener, NULL);
    uv_close((uv_handle_t *)&a->stop_async, NULL);
    conn_list_close_all(&a->mysql_conns);
    conn_list_close_all(&a->http_conns);
    status_history_stop(&a->history);
}

static void admin_main(void *arg)
{
    struct admin *a = arg;
    uv_run(&a->loop, UV_RUN_DEFAULT);
    topology_release(a->topology);
    a->topology = NULL;
    uv_loop_close(&a->loop);
}

static int admin_listen(struct admin *a, const struct proxy_config *cfg)
{
    if (admin_bind(&a->loop, &a->listener, cfg->admin_listen_host, cfg->admin_listen_port) != 0)
        return -1;
    a->listener.data = a;
    int rc = uv_listen((uv_stream_t *)&a->listener, 128, on_connection);
    if (rc != 0) {
        log_error("admin: cannot listen on %s:%u: %s", cfg->admin_listen_host,
                  cfg->admin_listen_port, uv_strerror(rc));
        return -1;
    }
    if (!cfg->admin_http_host[0])
        return 0;
    a->has_http = true;
    return metrics_http_listen(a, &a->loop, &a->http_listener, cfg->admin_http_host,
                               cfg->admin_http_port);
}

/* After a failed start: close what was opened and run the loop so libuv
 * lets go of it. */
static void close_handle(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void admin_abort(struct admin *a)
{
    uv_walk(&a->loop, close_handle, NULL);
    uv_run(&a->loop, UV_RUN_DEFAULT);
    uv_loop_close(&a->loop);
    free(a);
}

int admin_start(struct admin **out, struct proxy *p)
{
    *out = NULL;
    const struct proxy_config *cfg = &proxy_config_gen(p)->cfg;
    if (!cfg->admin_enabled)
        return 0;
    struct admin *a = calloc(1, sizeof *a);
    if (!a || uv_loop_init(&a->loop) != 0) {
        free(a);
        log_error("admin: cannot create its loop");
        return -1;
    }
    a->proxy = p;
    conn_list_init(&a->mysql_conns, ADMIN_MAX_CONNECTIONS);
    conn_list_init(&a->http_conns, HTTP_MAX_CONNECTIONS);
    a->stop_async.data = a;
    if (uv_async_init(&a->loop, &a->stop_async, on_stop) != 0 || admin_listen(a, cfg) != 0 ||
        status_history_start(&a->history, &a->loop, a) != 0 ||
        uv_thread_create(&a->thread, admin_main, a) != 0) {
        admin_abort(a);
        return -1;
    }
    log_info("admin interface on %s:%u", cfg->admin_listen_host, cfg->admin_listen_port);
    if (a->has_http)
        log_info("status page on http://%s:%u/, metrics %s", cfg->admin_http_host,
                 cfg->admin_http_port, cfg->metrics ? "on /metrics" : "off ([admin] metrics = off)");
    *out = a;
    return 0;
}

void admin_stop(struct admin *a)
{
    if (!a)
        return;
    uv_async_send(&a->stop_async);
    uv_thread_join(&a->thread);
    free(a);
}
