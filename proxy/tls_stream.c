#include "proxy/tls_stream.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

const char *tls_stream_error(char *buf, size_t cap)
{
    unsigned long e = ERR_get_error();
    if (e == 0)
        snprintf(buf, cap, "TLS error");
    else
        ERR_error_string_n(e, buf, cap);
    ERR_clear_error();
    return buf;
}

SSL_CTX *tls_server_context(const char *cert, const char *key, char *err, size_t cap)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        tls_stream_error(err, cap);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

SSL_CTX *tls_client_context(const char *ca, char *err, size_t cap)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        tls_stream_error(err, cap);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (ca && ca[0]) {
        if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
            tls_stream_error(err, cap);
            SSL_CTX_free(ctx);
            return NULL;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    return ctx;
}

/* A verifying client checks the name or IP address it connected to. */
static int expect_host(SSL *ssl, const char *host)
{
    X509_VERIFY_PARAM *p = SSL_get0_param(ssl);
    if (X509_VERIFY_PARAM_set1_ip_asc(p, host) == 1)
        return 0;
    return SSL_set1_host(ssl, host) == 1 ? 0 : -1;
}

int tls_stream_init(struct tls_stream *t, SSL_CTX *ctx, bool server, const char *host)
{
    memset(t, 0, sizeof *t);
    t->ssl = SSL_new(ctx);
    t->in = BIO_new(BIO_s_mem());
    t->out = BIO_new(BIO_s_mem());
    if (!t->ssl || !t->in || !t->out) {
        SSL_free(t->ssl);
        BIO_free(t->in);
        BIO_free(t->out);
        memset(t, 0, sizeof *t);
        return -1;
    }
    SSL_set_bio(t->ssl, t->in, t->out); /* the SSL owns both from here */
    if (server) {
        SSL_set_accept_state(t->ssl);
        return 0;
    }
    SSL_set_connect_state(t->ssl);
    if (host && SSL_get_verify_mode(t->ssl) != SSL_VERIFY_NONE && expect_host(t->ssl, host) != 0)
        return -1;
    if (host && !SSL_set_tlsext_host_name(t->ssl, host))
        ERR_clear_error(); /* SNI is optional; an IP address is not a valid name */
    return 0;
}

void tls_stream_free(struct tls_stream *t)
{
    if (t->ssl)
        SSL_free(t->ssl);
    memset(t, 0, sizeof *t);
}

int tls_stream_feed(struct tls_stream *t, const uint8_t *data, size_t len)
{
    return len == 0 || BIO_write(t->in, data, (int)len) == (int)len ? 0 : -1;
}

int tls_stream_handshake(struct tls_stream *t)
{
    if (t->handshake_done)
        return 1;
    int rc = SSL_do_handshake(t->ssl);
    if (rc == 1) {
        t->handshake_done = true;
        return 1;
    }
    int e = SSL_get_error(t->ssl, rc);
    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
}

long tls_stream_read(struct tls_stream *t, uint8_t *buf, size_t cap)
{
    size_t total = 0;
    while (total < cap) {
        int n = SSL_read(t->ssl, buf + total, (int)(cap - total > 0x40000000 ? 0x40000000 : cap - total));
        if (n > 0) {
            total += (size_t)n;
            continue;
        }
        int e = SSL_get_error(t->ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            break;
        return total > 0 ? (long)total : -1;
    }
    return (long)total;
}

int tls_stream_write(struct tls_stream *t, const uint8_t *data, size_t len)
{
    while (len > 0) {
        int n = SSL_write(t->ssl, data, (int)(len > 0x40000000 ? 0x40000000 : len));
        if (n <= 0)
            return -1; /* memory BIOs never ask to retry a write */
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

size_t tls_stream_pending(struct tls_stream *t) { return BIO_ctrl_pending(t->out); }

size_t tls_stream_take(struct tls_stream *t, uint8_t *buf, size_t cap)
{
    int n = BIO_read(t->out, buf, (int)(cap > 0x40000000 ? 0x40000000 : cap));
    return n > 0 ? (size_t)n : 0;
}
