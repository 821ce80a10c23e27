/* One TCP connection of the proxy, whatever is at the other end (a client,
 * a backend, the admin port, the HTTP port): the socket, plain or TLS behind
 * one interface, and the writes the socket could not take at once. Like
 * PgBouncer's sbuf, it is the only place with try-write-then-queue and with
 * TLS branches. The owner keeps the plaintext read buffer (packets are parsed
 * where they land, never copied into objects) and is told what happens
 * through events. */
#ifndef SY_PROXY_TRANSPORT_H
#define SY_PROXY_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "proxy/buffer_pool.h"
#include "proxy/tls_stream.h"

#define TRANSPORT_CIPHER_READ (16 * 1024) /* ciphertext read at a time, TLS only */

struct transport;

struct transport_events {
    /* Room for plaintext at the end of the owner's buffer. A zero length
     * stops reading until transport_read_start. */
    void (*room)(struct transport *t, uv_buf_t *buf);
    /* n > 0: that much plaintext was put into the room just given; 0:
     * nothing came after all (the room may be given back). n < 0: the peer
     * closed (UV_EOF) or the connection broke (a libuv error; UV_EPROTO when
     * TLS failed, tls_stream_error says why). */
    void (*read)(struct transport *t, ssize_t n);
    /* A write that had to be queued completed (status 0) or failed; token is
     * what transport_send was given. */
    void (*written)(struct transport *t, void *token, int status);
    /* transport_connect finished (status 0) or failed. Optional. */
    void (*connected)(struct transport *t, int status);
    /* The TLS handshake completed. Optional. */
    void (*tls_ready)(struct transport *t);
    /* The socket is closed and no callback of it will run again. */
    void (*closed)(struct transport *t);
};

struct transport {
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    void *owner;
    const struct transport_events *ev;
    struct buffer_pool *pool; /* TRANSPORT_CIPHER_READ blocks, or NULL */
    bool reading;
    bool closing;
    bool tls_on;
    int writes; /* queued writes not completed yet */
    struct tls_stream tls;
    void (*shutdown_done)(struct transport *t);
};

/* pool: blocks of TRANSPORT_CIPHER_READ bytes for TLS reads (NULL: malloc). */
void transport_init(struct transport *t, uv_loop_t *loop, struct buffer_pool *pool,
                    const struct transport_events *ev, void *owner);
/* Returns 0 or a libuv error (then close it). */
int transport_accept(struct transport *t, uv_stream_t *server);
int transport_connect(struct transport *t, const struct sockaddr *addr);
/* The peer's address as text ("" when unknown); family AF_INET/AF_INET6 or 0. */
int transport_peer(struct transport *t, struct sockaddr_storage *addr, char *name, size_t cap);
int transport_fd(const struct transport *t);

/* From now on everything is TLS. server: accept a client (early: bytes of
 * its handshake already read); else connect, checking host when ctx
 * verifies. Returns 0, or -1 when it could not start (close it) or the
 * handshake failed at once (already reported to read()). */
int transport_start_tls(struct transport *t, SSL_CTX *ctx, bool server, const char *host,
                        const uint8_t *early, size_t early_len);
bool transport_tls_handshaking(const struct transport *t);

/* Idempotent. Returns 0 or a libuv error. */
int transport_read_start(struct transport *t);
void transport_read_stop(struct transport *t);
/* TLS: plaintext already decrypted or received but not handed over yet (the
 * owner had no room): up to cap bytes; 0 none, -1 the connection broke. */
long transport_take_plaintext(struct transport *t, uint8_t *buf, size_t cap);

/* Send len bytes: what the socket takes now is written, the rest queued.
 * borrow: the queued rest points at data, which stays valid until written()
 * reports token; else it is copied (TLS: the ciphertext always is). Returns
 * 1 when everything went out now, 0 when written() will report token, or a
 * libuv error. */
int transport_send(struct transport *t, const uint8_t *data, size_t len, bool borrow, void *token);
/* Bytes queued that the socket has not taken yet. */
size_t transport_queued(const struct transport *t);

/* Close once the queued bytes are sent: done() is called then (or on
 * failure). Returns 0, or -1 when nothing is queued or it failed (close now). */
int transport_shutdown(struct transport *t, void (*done)(struct transport *t));
/* Idempotent; closed() follows. */
void transport_close(struct transport *t);

#endif
