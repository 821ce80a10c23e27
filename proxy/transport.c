#include "proxy/transport.h"

#include <stdlib.h>
#include <string.h>

static uv_stream_t *stream_of(struct transport *t) { return (uv_stream_t *)&t->tcp; }

void transport_init(struct transport *t, uv_loop_t *loop, struct buffer_pool *pool,
                    const struct transport_events *ev, void *owner)
{
    memset(t, 0, sizeof *t);
    uv_tcp_init(loop, &t->tcp);
    t->tcp.data = t;
    t->connect_req.data = t;
    t->owner = owner;
    t->ev = ev;
    t->pool = pool;
}

int transport_accept(struct transport *t, uv_stream_t *server)
{
    int rc = uv_accept(server, stream_of(t));
    if (rc == 0)
        uv_tcp_nodelay(&t->tcp, 1);
    return rc;
}

static void on_connected(uv_connect_t *req, int status)
{
    struct transport *t = req->data;
    if (t->closing)
        return; /* closed() follows */
    if (status == 0)
        uv_tcp_nodelay(&t->tcp, 1);
    t->ev->connected(t, status);
}

int transport_connect(struct transport *t, const struct sockaddr *addr)
{
    return uv_tcp_connect(&t->connect_req, &t->tcp, addr, on_connected);
}

int transport_peer(struct transport *t, struct sockaddr_storage *addr, char *name, size_t cap)
{
    int alen = sizeof *addr;
    memset(addr, 0, sizeof *addr);
    name[0] = '\0';
    int rc = uv_tcp_getpeername(&t->tcp, (struct sockaddr *)addr, &alen);
    if (rc != 0)
        return rc;
    if (addr->ss_family == AF_INET6)
        return uv_ip6_name((struct sockaddr_in6 *)addr, name, cap);
    return uv_ip4_name((struct sockaddr_in *)addr, name, cap);
}

int transport_fd(const struct transport *t)
{
    uv_os_fd_t fd;
    return uv_fileno((const uv_handle_t *)&t->tcp, &fd) == 0 ? fd : -1;
}

/* --- writing ------------------------------------------------------------- */

/* A write the socket could not take at once; data[] holds a copy unless the
 * owner keeps the bytes valid (borrowed). */
struct queued_write {
    uv_write_t req;
    struct transport *t;
    void *token;
    uint8_t data[];
};

static void on_written(uv_write_t *req, int status)
{
    struct queued_write *q = (struct queued_write *)req;
    struct transport *t = q->t;
    void *token = q->token;
    free(q);
    t->writes--;
    t->ev->written(t, token, status);
}

/* Queue q, whose buffer is bytes[0..len). */
static int queue_write(struct transport *t, struct queued_write *q, const uint8_t *bytes,
                       size_t len, void *token)
{
    q->t = t;
    q->token = token;
    uv_buf_t b = uv_buf_init((char *)bytes, (unsigned)len);
    int rc = uv_write(&q->req, stream_of(t), &b, 1, on_written);
    if (rc != 0) {
        free(q);
        return rc;
    }
    t->writes++;
    return 0;
}

/* How much of len the socket takes now: all (len), part, or a libuv error.
 * With writes already queued it takes nothing (UV_EAGAIN), so order holds. */
static int try_write(struct transport *t, const uint8_t *data, size_t len)
{
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    int n = uv_try_write(stream_of(t), &b, 1);
    if (n == UV_EAGAIN)
        return 0;
    return n;
}

/* Send the ciphertext OpenSSL produced. It is new bytes, so it is always
 * taken into a block of its own, written from there and queued if need be. */
static int flush_tls(struct transport *t, void *token)
{
    size_t n = tls_stream_pending(&t->tls);
    if (n == 0)
        return 1;
    struct queued_write *q = malloc(sizeof *q + n);
    if (!q)
        return UV_ENOMEM;
    n = tls_stream_take(&t->tls, q->data, n);
    int done = try_write(t, q->data, n);
    if (done == (int)n) {
        free(q);
        return 1;
    }
    if (done < 0) {
        free(q);
        return done;
    }
    return queue_write(t, q, q->data + done, n - (size_t)done, token);
}

int transport_send(struct transport *t, const uint8_t *data, size_t len, bool borrow, void *token)
{
    if (t->closing)
        return UV_ECANCELED;
    if (t->tls_on) {
        if (len && tls_stream_write(&t->tls, data, len) != 0)
            return UV_EPROTO;
        return flush_tls(t, token);
    }
    int done = try_write(t, data, len);
    if (done == (int)len)
        return 1;
    if (done < 0)
        return done;
    size_t rest = len - (size_t)done;
    struct queued_write *q = malloc(sizeof *q + (borrow ? 0 : rest));
    if (!q)
        return UV_ENOMEM;
    if (borrow)
        return queue_write(t, q, data + done, rest, token);
    memcpy(q->data, data + done, rest);
    return queue_write(t, q, q->data, rest, token);
}

size_t transport_queued(const struct transport *t)
{
    return uv_stream_get_write_queue_size((const uv_stream_t *)&t->tcp);
}

/* --- reading ------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct transport *t = h->data;
    t->ev->room(t, buf);
    if (!t->tls_on || buf->len == 0)
        return;
    /* TLS: ciphertext goes to a block of the pool, the owner's room gets
     * the plaintext afterwards. */
    buf->base = buffer_pool_take(t->pool, TRANSPORT_CIPHER_READ);
    buf->len = buf->base ? TRANSPORT_CIPHER_READ : 0;
}

/* Hand decrypted plaintext over while the owner has room. What does not
 * fit waits inside OpenSSL until the owner takes it
 * (transport_take_plaintext); the socket is read no more while the owner
 * has no room (on_alloc). */
static void deliver_plaintext(struct transport *t)
{
    while (!t->closing) {
        uv_buf_t room;
        t->ev->room(t, &room);
        if (room.len == 0)
            return;
        long got = tls_stream_read(&t->tls, (uint8_t *)room.base, room.len);
        if (got < 0) {
            t->ev->read(t, UV_EPROTO);
            return;
        }
        if (got == 0)
            return;
        t->ev->read(t, got);
    }
}

/* Ciphertext in: drive the handshake; 1 when done (and still open), 0 when
 * it needs more from the peer, -1 when it failed (reported) or closed. */
static int tls_step(struct transport *t, const uint8_t *data, size_t len)
{
    if (len && tls_stream_feed(&t->tls, data, len) != 0) {
        t->ev->read(t, UV_ENOMEM);
        return -1;
    }
    if (t->tls.handshake_done)
        return 1;
    int rc = tls_stream_handshake(&t->tls);
    int sent = flush_tls(t, NULL);
    if (rc < 0 || sent < 0) {
        t->ev->read(t, rc < 0 ? UV_EPROTO : sent);
        return -1;
    }
    if (rc == 0)
        return 0;
    if (t->ev->tls_ready)
        t->ev->tls_ready(t);
    return t->closing ? -1 : 1;
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct transport *t = st->data;
    if (t->tls_on) {
        if (n > 0 && tls_step(t, (const uint8_t *)buf->base, (size_t)n) == 1)
            deliver_plaintext(t);
        buffer_pool_give(t->pool, buf->base);
        if (n >= 0 || t->closing)
            return;
    }
    if (n == UV_ENOBUFS) {
        transport_read_stop(t); /* the owner had no room */
        return;
    }
    if (n == 0 && t->tls_on)
        return;
    t->ev->read(t, n);
}

int transport_read_start(struct transport *t)
{
    if (t->reading || t->closing)
        return 0;
    int rc = uv_read_start(stream_of(t), on_alloc, on_read);
    if (rc == 0)
        t->reading = true;
    return rc;
}

void transport_read_stop(struct transport *t)
{
    if (t->reading)
        uv_read_stop(stream_of(t));
    t->reading = false;
}

long transport_take_plaintext(struct transport *t, uint8_t *buf, size_t cap)
{
    if (!t->tls_on || cap == 0)
        return 0;
    return tls_stream_read(&t->tls, buf, cap);
}

/* --- TLS ----------------------------------------------------------------- */

int transport_start_tls(struct transport *t, SSL_CTX *ctx, bool server, const char *host,
                        const uint8_t *early, size_t early_len)
{
    if (!ctx || tls_stream_init(&t->tls, ctx, server, host) != 0)
        return -1;
    t->tls_on = true;
    if (server && early_len == 0)
        return 0;
    /* A client speaks first; a server may already have the ClientHello.
     * Plaintext cannot come before the handshake is done. */
    return tls_step(t, early, early_len) < 0 ? -1 : 0;
}

bool transport_tls_handshaking(const struct transport *t)
{
    return t->tls_on && !t->tls.handshake_done;
}

/* --- closing ------------------------------------------------------------- */

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    struct transport *t = req->data;
    free(req);
    t->shutdown_done(t);
}

int transport_shutdown(struct transport *t, void (*done)(struct transport *t))
{
    if (t->closing || transport_queued(t) == 0)
        return -1;
    uv_shutdown_t *req = malloc(sizeof *req);
    if (!req)
        return -1;
    req->data = t;
    t->shutdown_done = done;
    if (uv_shutdown(req, stream_of(t), on_shutdown) != 0) {
        free(req);
        return -1;
    }
    transport_read_stop(t);
    return 0;
}

static void on_closed(uv_handle_t *h)
{
    struct transport *t = h->data;
    if (t->tls_on)
        tls_stream_free(&t->tls);
    t->tls_on = false;
    t->ev->closed(t);
}

void transport_close(struct transport *t)
{
    if (t->closing)
        return;
    t->closing = true;
    t->reading = false;
    uv_close((uv_handle_t *)&t->tcp, on_closed);
}
