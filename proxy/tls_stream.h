/* TLS over a libuv stream without blocking: OpenSSL works between two
 * memory BIOs, the owner moves ciphertext between them and the socket.
 * Used on both legs: the proxy as a TLS server to clients and as a TLS client
 * to backends. */
#ifndef SY_PROXY_TLS_STREAM_H
#define SY_PROXY_TLS_STREAM_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tls_stream {
    SSL *ssl;
    BIO *in;  /* ciphertext received, for OpenSSL to read */
    BIO *out; /* ciphertext OpenSSL produced, to send */
    bool handshake_done;
};

/* Contexts, made when a configuration is loaded. Return NULL and fill err. */
SSL_CTX *tls_server_context(const char *cert, const char *key, char *err, size_t cap);
/* ca NULL or "": the backend's certificate is not checked (tls = on). */
SSL_CTX *tls_client_context(const char *ca, char *err, size_t cap);

/* server: accept a client; else connect, checking the certificate names host
 * when the context verifies. Returns 0 or -1. */
int tls_stream_init(struct tls_stream *t, SSL_CTX *ctx, bool server, const char *host);
void tls_stream_free(struct tls_stream *t);

/* Ciphertext from the socket. */
int tls_stream_feed(struct tls_stream *t, const uint8_t *data, size_t len);
/* Drive the handshake: 1 done, 0 needs more from the peer, -1 failed. */
int tls_stream_handshake(struct tls_stream *t);
/* Plaintext available now, up to cap: bytes (0 when none yet), -1 on error
 * or close. */
long tls_stream_read(struct tls_stream *t, uint8_t *buf, size_t cap);
/* Encrypt plaintext (everything, the out BIO grows). 0 or -1. */
int tls_stream_write(struct tls_stream *t, const uint8_t *data, size_t len);
/* Ciphertext waiting to be sent. */
size_t tls_stream_pending(struct tls_stream *t);
size_t tls_stream_take(struct tls_stream *t, uint8_t *buf, size_t cap);
/* The reason of the last failure, for the log and the client. */
const char *tls_stream_error(char *buf, size_t cap);

#endif
