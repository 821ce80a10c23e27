#include "proxy/backend_conn.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/auth.h"
#include "protocol/handshake.h"
#include "protocol/ok_packet.h"
#include "protocol/packet.h"
#include "proxy/backend_pool.h"
#include "proxy/client_session.h"
#include "proxy/held_error.h"
#include "proxy/log.h"
#include "proxy/proxy.h"
#include "proxy/worker.h"

/* Capabilities that change the format of what the server sends: the backend
 * must speak exactly what the client negotiated with the proxy, or the bytes
 * the proxy forwards would not be what the client expects. */
#define FORMAT_CAPS                                                                           \
    (CLIENT_FOUND_ROWS | CLIENT_LONG_FLAG | CLIENT_NO_SCHEMA | CLIENT_IGNORE_SPACE |          \
     CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS | CLIENT_MULTI_STATEMENTS |                    \
     CLIENT_MULTI_RESULTS | CLIENT_PS_MULTI_RESULTS | CLIENT_SESSION_TRACK |                  \
     CLIENT_DEPRECATE_EOF | CLIENT_LOCAL_FILES | MARIADB_CLIENT_PROGRESS |                    \
     MARIADB_CLIENT_STMT_BULK_OPERATIONS | MARIADB_CLIENT_EXTENDED_METADATA)

static void bc_fail(struct backend_conn *bc, uint16_t code, const char *sqlstate, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));

static const struct backend_config *bc_config(const struct backend_conn *bc)
{
    return &bc->gen->cfg.backends[bc->index];
}

static const char *bc_name(const struct backend_conn *bc)
{
    return bc_config(bc)->name;
}

/* Both handles closed and no write referencing us in flight: free. */
static void bc_maybe_free(struct backend_conn *bc)
{
    if (bc->state != BC_CLOSING || bc->handles_open != 0 || bc->write_pending)
        return;
    buffer_pool_give(bc->rbuf_pool, bc->rbuf);
    free(bc);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct backend_conn *bc = h->data;
    bc->handles_open--;
    bc_maybe_free(bc);
}

static void on_transport_closed(struct transport *t)
{
    struct backend_conn *bc = t->owner;
    bc->handles_open--;
    bc_maybe_free(bc);
}

void backend_conn_close(struct backend_conn *bc)
{
    if (bc->state == BC_CLOSING)
        return;
    bc->state = BC_CLOSING;
    bc->session = NULL;
    backend_pool_lost(bc);
    if (bc->index >= 0 && bc->index < CONFIG_MAX_BACKENDS) {
        atomic_fetch_sub(&bc->stats->backend_connections[bc->index], 1);
        backend_limit_freed(bc->limit, bc->index);
    }
    free(bc->big_cmd);
    bc->big_cmd = NULL;
    uv_close((uv_handle_t *)&bc->timer, on_timer_closed);
    transport_close(&bc->t);
}

/* Report a failure to the session (which decides what the client sees) and
 * close. */
static void bc_fail(struct backend_conn *bc, uint16_t code, const char *sqlstate, const char *fmt,
                    ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct client_session *s = bc->session;
    if (bc->state == BC_CLOSING)
        return;
    if (!s) {
        log_info("backend %s: a pooled connection failed: %s", bc_name(bc), msg);
        backend_conn_close(bc);
        return;
    }
    log_warn("session %u: backend %s: %s", client_session_id(s), bc_name(bc), msg);
    backend_conn_close(bc);
    client_session_backend_failed(s, bc, code, sqlstate, msg);
}

/* The server closed or broke a connection no command was running on: the
 * session opens a new one when it needs this backend again. */
static void bc_lost_idle(struct backend_conn *bc, const char *what)
{
    struct client_session *s = bc->session;
    if (!s && bc->parked_by) {
        log_info("session %u: backend %s: %s (parked between its statements); closing that "
                 "connection",
                 client_session_id(bc->parked_by), bc_name(bc), what);
        backend_conn_close(bc);
        return;
    }
    if (!s) {
        log_debug("backend %s: %s on a pooled connection", bc_name(bc), what);
        backend_conn_close(bc);
        return;
    }
    log_info("session %u: backend %s: %s; closing that connection", client_session_id(s),
             bc_name(bc), what);
    backend_conn_close(bc);
    client_session_backend_failed(s, bc, 0, NULL, NULL);
}

/* The response tracked is over: the session, or between sessions the
 * pool, goes on. */
static void response_done(struct backend_conn *bc)
{
    if (bc->checking) {
        bc->checking = false;
        uv_timer_stop(&bc->timer);
    }
    if (bc->session)
        client_session_response_done(bc->session, bc);
    else
        backend_pool_answered(bc, !bc->tracker.is_error);
}

/* The read buffer exists while bytes are pending: an idle connection gives
 * it back to the worker's pool. */
static void release_rbuf(struct backend_conn *bc)
{
    if (bc->rbuf && bc->rlen == 0 && !bc->write_pending) {
        buffer_pool_give(bc->rbuf_pool, bc->rbuf);
        bc->rbuf = NULL;
    }
}

static void on_room(struct transport *t, uv_buf_t *buf)
{
    struct backend_conn *bc = t->owner;
    if (bc->write_pending || bc->state == BC_CLOSING) {
        *buf = uv_buf_init(NULL, 0);
        return;
    }
    if (!bc->rbuf && !(bc->rbuf = buffer_pool_take(bc->rbuf_pool, BACKEND_RBUF_SIZE))) {
        *buf = uv_buf_init(NULL, 0);
        return;
    }
    *buf = uv_buf_init((char *)bc->rbuf + bc->rlen, (unsigned)(BACKEND_RBUF_SIZE - bc->rlen));
}

static void process_input(struct backend_conn *bc);

static void on_read(struct transport *t, ssize_t n)
{
    struct backend_conn *bc = t->owner;
    if (n == 0) {
        release_rbuf(bc);
        return;
    }
    if (n < 0) {
        if (bc->state == BC_READY) { /* closed by the server: timeout, restart */
            bc_lost_idle(bc, "the server closed an idle connection");
            return;
        }
        char err[200];
        if (n == UV_EPROTO && bc->state == BC_TLS_HANDSHAKE)
            bc_fail(bc, ER_CONNECT_TO_FOREIGN_DATA_SOURCE, "HY000",
                    "TLS handshake with backend failed: %s (check [tls] ca and tls = verify)",
                    tls_stream_error(err, sizeof err));
        else if (n == UV_EPROTO)
            bc_fail(bc, ER_NET_READ_ERROR, "08S01", "TLS connection to backend broke: %s",
                    tls_stream_error(err, sizeof err));
        else
            bc_fail(bc, ER_NET_READ_ERROR, "08S01", "lost connection to backend: %s",
                    uv_strerror((int)n));
        return;
    }
    bc->rlen += (size_t)n;
    process_input(bc);
}

static void start_reading(struct backend_conn *bc)
{
    if (bc->state == BC_CLOSING)
        return;
    int rc = transport_read_start(&bc->t);
    if (rc != 0)
        bc_fail(bc, ER_NET_READ_ERROR, "08S01", "cannot read: %s", uv_strerror(rc));
}

static void on_written(struct transport *t, void *token, int status)
{
    (void)token;
    struct backend_conn *bc = t->owner;
    if (bc->state == BC_CLOSING) {
        bc_maybe_free(bc);
        return;
    }
    if (status < 0) {
        bc_fail(bc, ER_NET_READ_ERROR, "08S01", "cannot send to backend: %s", uv_strerror(status));
        return;
    }
    if (bc->state == BC_BUSY && bc->no_response && bc->t.writes == 0) {
        bc->state = BC_READY;
        response_done(bc);
        return;
    }
    if (bc->session)
        client_session_backend_wrote(bc->session, bc);
}

size_t backend_conn_queued(const struct backend_conn *bc)
{
    return transport_queued(&bc->t);
}

/* Send bytes; borrow: they stay valid until the response (cmd_buf, big_cmd,
 * the client's command), else what the socket does not take now is copied.
 * Returns 1 when all was written now, 0 when the rest is queued, -1 on error
 * (already reported). */
static int bc_send(struct backend_conn *bc, const uint8_t *data, size_t len, bool borrow)
{
    int rc = transport_send(&bc->t, data, len, borrow, NULL);
    if (rc >= 0)
        return rc;
    char err[160];
    if (rc == UV_EPROTO)
        bc_fail(bc, ER_NET_READ_ERROR, "08S01", "TLS to backend failed: %s",
                tls_stream_error(err, sizeof err));
    else
        bc_fail(bc, ER_NET_READ_ERROR, "08S01", "cannot send to backend: %s", uv_strerror(rc));
    return -1;
}

static int bc_write(struct backend_conn *bc, const uint8_t *data, size_t len)
{
    return bc_send(bc, data, len, true);
}

/* --- authentication ------------------------------------------------------ */

/* The auth reply for plugin with this scramble; NULL plugin name is returned
 * when the proxy cannot answer that plugin. */
static const char *auth_reply(struct backend_conn *bc, const char *plugin, size_t plugin_len,
                              const uint8_t *scramble, size_t scramble_len, uint8_t *out,
                              size_t *out_len)
{
    const struct session_login *login = client_session_login(bc->session);
    if (login->account->has_password && login->account->password[0] == '\0') {
        *out_len = 0; /* an empty password is answered with an empty reply */
        return AUTH_PLUGIN_NATIVE;
    }
    bool sha2 = plugin_len == strlen(AUTH_PLUGIN_CACHING_SHA2) &&
                memcmp(plugin, AUTH_PLUGIN_CACHING_SHA2, plugin_len) == 0;
    if (sha2 && login->account->has_password) {
        caching_sha2_reply(login->account->password, strlen(login->account->password), scramble,
                           scramble_len < 20 ? scramble_len : 20, out);
        *out_len = SHA256_LEN;
        return AUTH_PLUGIN_CACHING_SHA2;
    }
    bool native = plugin_len == 0 || (plugin_len == strlen(AUTH_PLUGIN_NATIVE) &&
                                      memcmp(plugin, AUTH_PLUGIN_NATIVE, plugin_len) == 0);
    if (!native && !sha2)
        return NULL;
    if (scramble_len < 20)
        return NULL;
    native_password_reply(login->stage1, scramble, 20, out);
    *out_len = SHA1_LEN;
    return AUTH_PLUGIN_NATIVE;
}

/* [backend.*] tls: an SSL request (seq + 1) instead of the login, then the
 * TLS handshake; the login (seq + 2) goes out encrypted once it is done. */
static void start_backend_tls(struct backend_conn *bc, struct handshake_response_out *out,
                              const struct server_handshake *hs, uint8_t seq, size_t need)
{
    const struct backend_config *cfg = bc_config(bc);
    if (!(hs->capabilities & CLIENT_SSL)) {
        bc_fail(bc, ER_CONNECT_TO_FOREIGN_DATA_SOURCE, "HY000",
                "backend '%s' does not offer TLS, but [backend.%s] tls = %s", cfg->name, cfg->name,
                cfg->tls == BACKEND_TLS_VERIFY ? "verify" : "on");
        return;
    }
    out->capabilities |= CLIENT_SSL;
    bc->login_len = handshake_response_build(bc->big_cmd, need, seq + 2, out);
    size_t n = ssl_request_build(bc->cmd_buf, sizeof bc->cmd_buf, seq + 1, out);
    const struct config_gen *gen = client_session_config_gen(bc->session);
    SSL_CTX *ctx = cfg->tls == BACKEND_TLS_VERIFY ? gen->tls_client_verify : gen->tls_client;
    if (bc->login_len == 0 || bc_write(bc, bc->cmd_buf, n) < 0)
        return;
    bc->seq = seq + 2;
    bc->state = BC_TLS_HANDSHAKE;
    if (transport_start_tls(&bc->t, ctx, false, cfg->host, NULL, 0) != 0 &&
        bc->state != BC_CLOSING)
        bc_fail(bc, ER_UNKNOWN_ERROR, "HY000", "cannot start TLS to the backend");
}

/* The TLS handshake is done: the login goes out, encrypted. */
static void on_tls_ready(struct transport *t)
{
    struct backend_conn *bc = t->owner;
    if (bc->state != BC_TLS_HANDSHAKE)
        return;
    bc->state = BC_AUTH;
    bc_write(bc, bc->big_cmd, bc->login_len);
}

static void on_greeting(struct backend_conn *bc, const uint8_t *p, size_t len, uint8_t seq)
{
    const struct session_login *login = client_session_login(bc->session);
    if (len > 0 && p[0] == PACKET_ERR) {
        struct err_packet e;
        if (err_packet_parse(p, len, &e) == 0) {
            bc_fail(bc, e.code, e.sqlstate, "backend refused the connection: %.*s",
                    (int)e.message_len, (const char *)e.message);
            return;
        }
    }
    struct server_handshake hs;
    if (server_handshake_parse(p, len, &hs) != 0) {
        bc_fail(bc, ER_HANDSHAKE_ERROR, "08S01", "backend sent a malformed handshake");
        return;
    }
    uint64_t missing = (login->caps & FORMAT_CAPS) & ~hs.capabilities;
    if (missing) {
        bc_fail(bc, ER_HANDSHAKE_ERROR, "08S01",
                "backend lacks client capabilities 0x%09llx that the session negotiated",
                (unsigned long long)missing);
        return;
    }
    bc->server_thread_id = hs.connection_id;
    bc->mysql = strstr(hs.server_version, "MariaDB") == NULL;
    bc->scramble_len = hs.scramble_len < 20 ? hs.scramble_len : 20;
    memcpy(bc->scramble, hs.scramble, bc->scramble_len);

    uint8_t reply[SHA256_LEN];
    size_t reply_len = 0;
    const char *plugin = auth_reply(bc, hs.auth_plugin, hs.auth_plugin_len, bc->scramble,
                                    bc->scramble_len, reply, &reply_len);
    if (!plugin) /* answer as native: the server may switch us to it */
        plugin = auth_reply(bc, "", 0, bc->scramble, bc->scramble_len, reply, &reply_len);
    if (!plugin) {
        bc_fail(bc, ER_HANDSHAKE_ERROR, "08S01", "backend sent a short scramble");
        return;
    }
    /* CLIENT_MYSQL only where the server offers it: a MariaDB server reads
     * the extended capabilities only from a response without it. */
    uint64_t caps = (login->caps & FORMAT_CAPS) | (hs.capabilities & CLIENT_MYSQL) |
                    CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH;
    caps |= hs.capabilities & (CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT_INTERACTIVE);
    caps |= login->caps & (CLIENT_INTERACTIVE | CLIENT_ODBC | CLIENT_IGNORE_SIGPIPE);
    /* The proxy learns each write's GTID from its OK whatever the client
     * asked for; a client without tracking gets its OKs rewritten. */
    caps |= hs.capabilities & CLIENT_SESSION_TRACK;
    bc->caps = caps;
    const char *db = login->db[0] && !bc->login_db_pending ? login->db : NULL;
    if (db)
        caps |= CLIENT_CONNECT_WITH_DB;
    if (login->attrs && (hs.capabilities & CLIENT_CONNECT_ATTRS))
        caps |= CLIENT_CONNECT_ATTRS;
    struct handshake_response_out out = {
        .capabilities = caps,
        .max_packet = login->max_packet ? login->max_packet : 0x40000000u,
        .charset = login->charset,
        .username = login->user,
        .auth_response = reply,
        .auth_response_len = reply_len,
        .database = db,
        .auth_plugin = plugin,
        .attrs = (caps & CLIENT_CONNECT_ATTRS) ? login->attrs : NULL,
        .attrs_len = (caps & CLIENT_CONNECT_ATTRS) ? login->attrs_len : 0,
    };
    size_t need = 128 + strlen(login->user) + strlen(login->db) + login->attrs_len;
    free(bc->big_cmd);
    bc->big_cmd = malloc(need);
    size_t n = bc->big_cmd ? handshake_response_build(bc->big_cmd, need, seq + 1, &out) : 0;
    if (n == 0) {
        bc_fail(bc, ER_UNKNOWN_ERROR, "HY000", "cannot build the login packet");
        return;
    }
    if (bc_config(bc)->tls != BACKEND_TLS_OFF) {
        start_backend_tls(bc, &out, &hs, seq, need);
        return;
    }
    bc->seq = seq + 1;
    bc->state = BC_AUTH;
    bc_write(bc, bc->big_cmd, n);
}

static void on_auth_packet(struct backend_conn *bc, const uint8_t *p, size_t len, uint8_t seq)
{
    if (len == 0) {
        bc_fail(bc, ER_HANDSHAKE_ERROR, "08S01", "backend sent an empty packet during login");
        return;
    }
    if (p[0] == PACKET_OK) {
        struct ok_packet ok;
        if (ok_packet_parse(p, len, CLIENT_PROTOCOL_41, &ok) == 0)
            bc->login_status = ok.status;
        uv_timer_stop(&bc->timer);
        bc->state = BC_READY;
        client_session_backend_ready(bc->session, bc);
        return;
    }
    if (p[0] == PACKET_ERR) {
        struct err_packet e;
        if (err_packet_parse(p, len, &e) != 0) {
            bc_fail(bc, ER_HANDSHAKE_ERROR, "08S01", "backend sent a malformed error");
            return;
        }
        bc->login_refused = true;
        bc_fail(bc, e.code, e.sqlstate, "%.*s", (int)e.message_len, (const char *)e.message);
        return;
    }
    if (p[0] == PACKET_EOF) {
        struct auth_switch sw;
        if (auth_switch_parse(p, len, &sw) != 0) {
            bc_fail(bc, ER_HANDSHAKE_ERROR, "08S01", "backend sent a malformed auth switch");
            return;
        }
        uint8_t reply[SHA256_LEN];
        size_t reply_len = 0;
        const char *plugin =
            auth_reply(bc, sw.plugin, sw.plugin_len, sw.data, sw.data_len, reply, &reply_len);
        if (!plugin) {
            bc_fail(bc, ER_NOT_SUPPORTED_AUTH_MODE, "08004",
                    "backend asks for auth plugin '%.*s'; switchyard can log in to backends with "
                    "mysql_native_password (or caching_sha2_password when [user.*] has a plain "
                    "password)",
                    (int)sw.plugin_len, sw.plugin);
            return;
        }
        size_t n = raw_packet_build(bc->cmd_buf, sizeof bc->cmd_buf, seq + 1, reply, reply_len);
        bc->seq = seq + 1;
        bc_write(bc, bc->cmd_buf, n);
        return;
    }
    if (p[0] == 0x01 && len >= 2 && p[1] == 0x03)
        return; /* caching_sha2 fast auth succeeded: the OK follows */
    if (p[0] == 0x01 && len >= 2 && p[1] == 0x04) {
        bc_fail(bc, ER_NOT_SUPPORTED_AUTH_MODE, "08004",
                "backend needs caching_sha2_password full authentication (password not cached on "
                "the server), which needs TLS; log in once directly or use mysql_native_password");
        return;
    }
    bc_fail(bc, ER_HANDSHAKE_ERROR, "08S01", "unexpected packet 0x%02x during backend login", p[0]);
}

/* Connection phase: whole packets, one at a time. */
static void process_login(struct backend_conn *bc)
{
    while (bc->state == BC_GREETING || bc->state == BC_AUTH) {
        size_t wire, payload;
        const uint8_t *p = bc->rbuf + bc->rdone;
        size_t avail = bc->rlen - bc->rdone;
        if (!logical_packet_span(p, avail, &wire, &payload)) {
            if (avail == BACKEND_RBUF_SIZE)
                bc_fail(bc, ER_HANDSHAKE_ERROR, "08S01", "login packet too large");
            break;
        }
        if (wire != payload + PACKET_HEADER_LEN) {
            bc_fail(bc, ER_HANDSHAKE_ERROR, "08S01", "split packet during login");
            return;
        }
        bc->rdone += wire;
        if (bc->state == BC_GREETING)
            on_greeting(bc, p + PACKET_HEADER_LEN, payload, packet_seq(p));
        else
            on_auth_packet(bc, p + PACKET_HEADER_LEN, payload, packet_seq(p));
    }
}

/* The client must see the proxy's statement id in PREPARE_OK (response
 * bytes 5..8, after the header and the 0x00), not the backend's. */
static void rewrite_prepare_id(struct backend_conn *bc, uint8_t *data, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t off = bc->resp_off + i;
        if (off == PACKET_HEADER_LEN)
            bc->resp_first = data[i];
        else if (off > PACKET_HEADER_LEN && off < PACKET_HEADER_LEN + 5 &&
                 bc->resp_first == PACKET_OK)
            data[i] = (uint8_t)(bc->rewrite_stmt_id >> (8 * (off - PACKET_HEADER_LEN - 1)));
        else if (off >= PACKET_HEADER_LEN + 5)
            break;
    }
}

/* Feed the tracker; *out is how many of the bytes consumed go to the client.
 * For a client without session tracking, the tracker stops at each OK and
 * EOF packet: once it is whole in rbuf, it is rewritten there in place
 * (never longer). Returns 0 with RT_CONTINUE while such a packet waits for
 * its remaining bytes. */
static size_t consume_for_client(struct backend_conn *bc, uint8_t *data, size_t avail,
                                 enum rt_status *st, size_t *out)
{
    struct result_tracker *rt = &bc->tracker;
    size_t n = result_tracker_consume(rt, data, avail, st);
    *out = n;
    enum rt_next next = rt->next_status;
    if (n > 0 || *st != RT_CONTINUE || next == RT_NEXT_OTHER || next == RT_NEXT_MORE)
        return n;
    size_t whole = PACKET_HEADER_LEN + packet_payload_len(data);
    if (whole > avail && whole <= BACKEND_RBUF_SIZE)
        return 0;
    rt->stop_before_status = false;
    n = result_tracker_consume(rt, data, whole < avail ? whole : avail, st);
    rt->stop_before_status = true;
    *out = n;
    if (n < whole)
        return n; /* larger than rbuf: goes as it is */
    if (next == RT_NEXT_EOF) {
        eof_packet_untrack(data + PACKET_HEADER_LEN, whole - PACKET_HEADER_LEN);
    } else {
        size_t m = ok_packet_untrack(data, whole, !bc->mysql, data, whole);
        if (m > 0)
            *out = m;
    }
    return n;
}

/* The server sent more than the response the tracker saw end: this
 * connection is out of step and must serve nothing more. The response itself
 * is complete (the client has it whole, or the proxy's own statement is
 * answered), so the session goes on as after any response, and only then the
 * connection is closed: a statement the session already sent on it fails
 * like one whose backend went away; else the next one opens a new connection. */
static void response_done_out_of_step(struct backend_conn *bc)
{
    struct client_session *s = bc->session;
    if (!s) {
        bc_fail(bc, ER_NET_READ_ERROR, "08S01", "backend sent data after the response");
        return;
    }
    log_warn("session %u: backend %s: backend sent data after the response; closing that "
             "connection",
             client_session_id(s), bc_name(bc));
    bc->rdone = bc->rlen;
    client_session_response_done(s, bc);
    if (bc->state == BC_CLOSING)
        return;
    bool busy = bc->state != BC_READY;
    backend_conn_close(bc);
    client_session_backend_failed(s, bc, busy ? ER_NET_READ_ERROR : 0, busy ? "08S01" : NULL,
                                  busy ? "the connection went out of step; run the statement again"
                                       : NULL);
}

/* Command phase: let the tracker find where the response ends; stream those
 * bytes to the client (or swallow them for the proxy's own commands). */
static void process_response(struct backend_conn *bc)
{
    while (bc->state == BC_BUSY && bc->rdone < bc->rlen && !bc->write_pending) {
        uint8_t *data = bc->rbuf + bc->rdone;
        size_t avail = bc->rlen - bc->rdone;
        enum rt_status st;
        size_t out;
        size_t n = consume_for_client(bc, data, avail, &st, &out);
        if (n == 0 && st == RT_CONTINUE)
            break; /* the rest of a packet to rewrite is still to come */
        if (st == RT_BAD || (st == RT_LOCAL_INFILE && !bc->forwarding)) {
            bc_fail(bc, ER_NET_READ_ERROR, "08S01", "backend sent a malformed response");
            return;
        }
        if (bc->rewrite_stmt_id)
            rewrite_prepare_id(bc, data, n);
        if (bc->resp_off == 0) /* an ERR is the whole response: hold it if it starts so */
            bc->held_error = bc->hold_error && n > PACKET_HEADER_LEN &&
                             data[PACKET_HEADER_LEN] == PACKET_ERR &&
                             !packet_is_progress(data + PACKET_HEADER_LEN, n - PACKET_HEADER_LEN);
        bc->resp_off += n;
        bc->rdone += n;
        if (st == RT_DONE && bc->forwarding)
            client_session_response_ending(bc->session, bc);
        if (bc->forwarding && !bc->held_error && out > 0 &&
            !client_session_forward(bc->session, bc, data, out)) {
            bc->write_pending = true;
            transport_read_stop(&bc->t);
        }
        if (bc->state == BC_CLOSING)
            return; /* the client went away while we wrote to it */
        if (st == RT_LOCAL_INFILE) {
            client_session_infile_requested(bc->session, bc);
            return;
        }
        if (st == RT_DONE) {
            bc->state = BC_READY;
            bool pair = bc->next_queued;
            if (!pair && bc->rdone != bc->rlen) {
                response_done_out_of_step(bc);
                return;
            }
            response_done(bc);
            if (!pair || bc->state == BC_CLOSING)
                return;
            if (bc->next_queued) { /* the session must take the answer it asked for */
                bc_fail(bc, ER_UNKNOWN_ERROR, "HY000", "internal error: pipelined response left");
                return;
            }
        }
    }
}

static void process_input(struct backend_conn *bc)
{
    if (bc->state == BC_GREETING || bc->state == BC_AUTH)
        process_login(bc);
    else if (bc->state == BC_BUSY)
        process_response(bc);
    else if (bc->state == BC_READY && bc->rlen > bc->rdone) {
        /* Unsolicited bytes: the server is about to close this connection
         * (shutdown, KILL). Drop it; the next statement reconnects. */
        bc_lost_idle(bc, "the server sent unsolicited data");
        return;
    }
    if (bc->state == BC_CLOSING || bc->write_pending)
        return;
    if (bc->rdone == bc->rlen) {
        bc->rdone = bc->rlen = 0;
        release_rbuf(bc);
    } else if (bc->rdone > 0) {
        memmove(bc->rbuf, bc->rbuf + bc->rdone, bc->rlen - bc->rdone);
        bc->rlen -= bc->rdone;
        bc->rdone = 0;
    }
}

/* TLS: decrypt what OpenSSL kept while rbuf was full or lent out. */
static void take_plaintext(struct backend_conn *bc)
{
    while (bc->state != BC_CLOSING && !bc->write_pending) {
        uv_buf_t room;
        on_room(&bc->t, &room);
        if (room.len == 0)
            return;
        long got = transport_take_plaintext(&bc->t, (uint8_t *)room.base, room.len);
        if (got == 0) {
            release_rbuf(bc);
            return;
        }
        on_read(&bc->t, got < 0 ? UV_EPROTO : got);
    }
}

void backend_conn_resume(struct backend_conn *bc)
{

    bc->write_pending = false;
    if (bc->state == BC_CLOSING) {
        bc_maybe_free(bc);
        return;
    }
    process_input(bc);
    if (bc->t.tls_on)
        take_plaintext(bc); /* what waited inside OpenSSL */
    if (bc->state != BC_CLOSING && !bc->write_pending)
        start_reading(bc);
}

/* The connection runs command now: its response is tracked from here on. */
static void begin_command(struct backend_conn *bc, uint8_t command, bool forward)
{
    bc->forwarding = forward;
    bc->hold_error = forward && session_holds_error(bc->session, bc);
    bc->held_error = false;
    bc->no_response = !command_has_response(command);
    bc->state = BC_BUSY;
    bc->resp_off = 0;
    result_tracker_start(&bc->tracker, command, bc->caps);
    bc->tracker.stop_before_status = forward && (bc->caps & CLIENT_SESSION_TRACK) &&
                                     !(client_session_login(bc->session)->caps &
                                       CLIENT_SESSION_TRACK);
}

int backend_conn_send_pair(struct backend_conn *bc, uint8_t command, const uint8_t *arg,
                           size_t arg_len, const uint8_t *bytes, size_t len, uint8_t command2)
{
    if (backend_conn_send_command(bc, command, arg, arg_len) < 0)
        return -1;
    bc->next_queued = true;
    bc->next_command = command2;
    bc->next_bytes = bytes;
    bc->next_len = len;
    return bc_write(bc, bytes, len) < 0 ? -1 : 0;
}

void backend_conn_take_next(struct backend_conn *bc, bool forward)
{
    bc->next_queued = false;
    begin_command(bc, bc->next_command, forward);
    if (bc->next_len > PACKET_HEADER_LEN)
        result_tracker_note_request(&bc->tracker, bc->next_bytes + PACKET_HEADER_LEN,
                                    bc->next_len - PACKET_HEADER_LEN);
}

void backend_conn_start_command(struct backend_conn *bc, uint8_t command, bool forward)
{
    begin_command(bc, command, forward);
    start_reading(bc);
}

int backend_conn_send_part(struct backend_conn *bc, const uint8_t *bytes, size_t len)
{
    return bc_write(bc, bytes, len) < 0 ? -1 : 0;
}

int backend_conn_send(struct backend_conn *bc, const uint8_t *bytes, size_t len, uint8_t command,
                      bool forward)
{
    begin_command(bc, command, forward);
    if (len > PACKET_HEADER_LEN)
        result_tracker_note_request(&bc->tracker, bytes + PACKET_HEADER_LEN,
                                    len - PACKET_HEADER_LEN);
    int rc = bc_write(bc, bytes, len);
    if (rc < 0)
        return -1;
    if (bc->no_response) {
        if (rc == 1 && bc->t.writes == 0) {
            bc->state = BC_READY;
            return 1;
        }
        return 0;
    }
    start_reading(bc);
    return bc->state == BC_CLOSING ? -1 : 0;
}

int backend_conn_send_copy(struct backend_conn *bc, const uint8_t *bytes, size_t len)
{
    return bc_send(bc, bytes, len, false) < 0 ? -1 : 0;
}

void backend_conn_infile_done(struct backend_conn *bc)
{
    result_tracker_infile_done(&bc->tracker);
    process_input(bc);
}

int backend_conn_send_command(struct backend_conn *bc, uint8_t command, const uint8_t *arg,
                              size_t arg_len)
{
    size_t total = PACKET_HEADER_LEN + 1 + arg_len;
    uint8_t *buf = bc->cmd_buf;
    if (arg_len + 1 >= PACKET_MAX_PAYLOAD) {
        bc_fail(bc, ER_NET_PACKET_TOO_LARGE, "08S01", "session state statement too large");
        return -1;
    }
    if (total > sizeof bc->cmd_buf) {
        free(bc->big_cmd);
        bc->big_cmd = malloc(total);
        if (!bc->big_cmd) {
            bc_fail(bc, ER_UNKNOWN_ERROR, "HY000", "out of memory");
            return -1;
        }
        buf = bc->big_cmd;
    }
    packet_write_header(buf, (uint32_t)(arg_len + 1), 0);
    buf[PACKET_HEADER_LEN] = command;
    memcpy(buf + PACKET_HEADER_LEN + 1, arg, arg_len);
    return backend_conn_send(bc, buf, total, command, false);
}

static void on_check_timeout(uv_timer_t *t)
{
    struct backend_conn *bc = t->data;
    bc->checking = false;
    bc_fail(bc, ER_NET_READ_ERROR, "08S01",
            "a pooled connection did not answer within %d ms ([monitor] connect_timeout_ms)",
            bc->gen->cfg.monitor_connect_timeout_ms);
}

int backend_conn_send_bounded(struct backend_conn *bc, uint8_t command, const uint8_t *arg,
                              size_t arg_len)
{
    bc->checking = true;
    uv_timer_start(&bc->timer, on_check_timeout, (uint64_t)bc->gen->cfg.monitor_connect_timeout_ms,
                   0);
    return backend_conn_send_command(bc, command, arg, arg_len);
}

/* --- connecting ---------------------------------------------------------- */

static void on_timeout(uv_timer_t *t)
{
    struct backend_conn *bc = t->data;
    bc_fail(bc, ER_CONNECT_TO_FOREIGN_DATA_SOURCE, "HY000",
            "timed out connecting to backend after %d ms; check that it is running",
            bc->gen->cfg.monitor_connect_timeout_ms);
}

static void on_connected(struct transport *t, int status)
{
    struct backend_conn *bc = t->owner;
    if (status < 0) {
        const struct backend_config *cfg = bc_config(bc);
        bc_fail(bc, ER_CONNECT_TO_FOREIGN_DATA_SOURCE, "HY000",
                "cannot connect to backend '%s' (%s:%u): %s; check that the server is running",
                cfg->name, cfg->host, cfg->port, uv_strerror(status));
        return;
    }
    bc->state = BC_GREETING;
    start_reading(bc);
}

static const struct transport_events backend_events = {
    .room = on_room,
    .read = on_read,
    .written = on_written,
    .connected = on_connected,
    .tls_ready = on_tls_ready,
    .closed = on_transport_closed,
};

struct backend_conn *backend_conn_open(struct client_session *s, int index)
{
    struct worker *w = client_session_worker(s);
    const struct config_gen *gen = client_session_config_gen(s);
    const struct backend_config *cfg = &gen->cfg.backends[index];
    struct backend_conn *bc = calloc(1, sizeof *bc);
    if (!bc)
        return NULL;
    bc->session = s;
    bc->gen = gen;
    bc->pool = &w->pool;
    bc->limit = &w->limits;
    bc->index = index;
    bc->stats = &w->stats;
    const struct session_login *login = client_session_login(s);
    snprintf(bc->login_user, sizeof bc->login_user, "%s", login->user);
    snprintf(bc->login_db, sizeof bc->login_db, "%s", login->db);
    bc->login_caps = login->caps;
    bc->login_charset = login->charset;
    bc->globals_seen = atomic_load(&w->proxy->globals_changed);
    stats_add(&w->stats.backend_logins[index], 1); /* attempts: it may fail */
    bc->rbuf_pool = &w->backend_buffers;
    atomic_fetch_add(&w->stats.backend_connections[index], 1);
    bc->state = BC_CONNECTING;
    uv_loop_t *loop = &w->loop;
    transport_init(&bc->t, loop, &w->cipher_buffers, &backend_events, bc);
    uv_timer_init(loop, &bc->timer);
    bc->handles_open = 2;
    bc->timer.data = bc;
    int rc = transport_connect(&bc->t, (const struct sockaddr *)&gen->backend_addr[index]);
    if (rc != 0) {
        log_warn("backend %s: cannot connect: %s", cfg->name, uv_strerror(rc));
        atomic_fetch_sub(&w->stats.backend_connections[index], 1);
        bc->session = NULL;
        bc->state = BC_CLOSING;
        uv_close((uv_handle_t *)&bc->timer, on_timer_closed);
        transport_close(&bc->t);
        return NULL;
    }
    /* The loop's clock may be stale by however long this command's own
     * work took (classifying a 20 MiB statement): count from now. */
    uv_update_time(loop);
    uv_timer_start(&bc->timer, on_timeout, (uint64_t)gen->cfg.monitor_connect_timeout_ms, 0);
    return bc;
}

void backend_conn_forget_session_state(struct backend_conn *bc)
{
    bc->applied = 0;
    bc->setup_done = false;
    bc->setup_applied = 0;
    bc->read_only = false;
    bc->tracks_gtid = false;
    bc->login_db_pending = false;
    bc->hold_error = bc->held_error = false;
    bc->dirty = false;
}

uint64_t backend_conn_now(const struct backend_conn *bc)
{
    return uv_now(bc->t.tcp.loop);
}
