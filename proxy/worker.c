#include "proxy/worker.h"

#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/backend_conn.h"
#include "proxy/client_session.h"
#include "proxy/log.h"
#include "proxy/session.h"

/* Whether some other socket listens on addr. A socket without SO_REUSEPORT
 * cannot bind an address that any socket listens on, with or without that
 * option; SO_REUSEADDR keeps connections in TIME_WAIT or still draining from
 * an earlier run from counting. */
static bool address_taken(const struct addrinfo *addr)
{
    int fd = socket(addr->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false; /* the real bind reports what is wrong */
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    bool taken = bind(fd, addr->ai_addr, addr->ai_addrlen) != 0 && errno == EADDRINUSE;
    close(fd);
    return taken;
}

/* libuv cannot set SO_REUSEPORT, so the socket is made by hand and handed to
 * uv_tcp_open: every worker binds the same address and the kernel spreads
 * new connections across them. The kernel would spread them across another
 * process listening there just as well, so the first worker makes sure no
 * one does. */
static int listen_socket(const char *host, uint16_t port, bool first)
{
    char service[8];
    snprintf(service, sizeof service, "%u", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE};
    struct addrinfo *res;
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        log_error("cannot resolve listen address %s: %s", host, gai_strerror(rc));
        return -1;
    }
    if (first && address_taken(res)) {
        log_error("cannot listen on %s:%u: another process already listens there (another "
                  "switchyard?); stop it or change [proxy] listen",
                  host, port);
        freeaddrinfo(res);
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_error("socket: %s", strerror(errno));
        freeaddrinfo(res);
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        log_error("cannot listen on %s:%u: %s", host, port, strerror(errno));
        close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    return fd;
}

static void on_connection(uv_stream_t *server, int status)
{
    struct worker *w = server->data;
    if (status < 0) {
        log_warn("accept failed: %s", uv_strerror(status));
        return;
    }
    client_session_accept(w, server);
}

static void on_shutdown_timeout(uv_timer_t *t)
{
    struct worker *w = t->data;
    if (w->sessions)
        log_warn("worker %d: shutdown_timeout_ms passed; closing sessions still running "
                 "statements",
                 w->index);
    client_session_close_all(w);
}

void worker_session_gone(struct worker *w)
{
    if (!w->stopping || w->sessions || uv_is_closing((uv_handle_t *)&w->shutdown_timer))
        return;
    uv_close((uv_handle_t *)&w->shutdown_timer, NULL);
    uv_close((uv_handle_t *)&w->run_check, NULL);
    uv_close((uv_handle_t *)&w->run_idle, NULL);
    /* Last: a session still running may wait for the primary's position. */
    uv_mutex_lock(&w->proxy->positions.lock);
    w->position_closed = true;
    uv_mutex_unlock(&w->proxy->positions.lock);
    uv_close((uv_handle_t *)&w->position_async, NULL);
}

static void on_run_idle(uv_idle_t *h) { (void)h; }

void worker_make_runnable(struct worker *w, struct runnable *r)
{
    if (r->queued)
        return;
    r->queued = true;
    r->next = NULL;
    r->prev = w->run_tail;
    if (w->run_tail)
        w->run_tail->next = r;
    else
        w->run_head = r;
    w->run_tail = r;
    w->run_count++;
    if (!uv_is_active((uv_handle_t *)&w->run_idle) && !uv_is_closing((uv_handle_t *)&w->run_idle))
        uv_idle_start(&w->run_idle, on_run_idle);
}

void worker_forget_runnable(struct worker *w, struct runnable *r)
{
    if (!r->queued)
        return;
    r->queued = false;
    if (r->prev)
        r->prev->next = r->next;
    else
        w->run_head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        w->run_tail = r->prev;
    r->prev = r->next = NULL;
    w->run_count--;
    if (!w->run_head && uv_is_active((uv_handle_t *)&w->run_idle))
        uv_idle_stop(&w->run_idle);
}

/* One turn for each that was runnable when the turn began; those that queue
 * themselves again wait for the next poll, so every client's input and
 * every backend's response is looked at in between. */
static void on_run_check(uv_check_t *c)
{
    struct worker *w = c->data;
    for (size_t n = w->run_count; n > 0 && w->run_head; n--) {
        struct runnable *r = w->run_head;
        worker_forget_runnable(w, r);
        r->run(r);
    }
}

/* Stop accepting (the port refuses new connections once every worker has
 * closed its socket), close idle sessions now and let running statements
 * finish, for up to shutdown_timeout_ms. The loop ends when nothing is
 * left. */
static void on_stop(uv_async_t *a)
{
    struct worker *w = a->data;
    w->stopping = 1;
    backend_pool_close_all(&w->pool); /* first: closing sessions give nothing back now */
    uv_close((uv_handle_t *)&w->listener, NULL);
    uv_close((uv_handle_t *)&w->stop_async, NULL);
    uv_close((uv_handle_t *)&w->kill_async, NULL);
    uv_close((uv_handle_t *)&w->idle_timer, NULL);
    writer_wait_close(&w->writer_waits);
    backend_limit_close(&w->limits);
    client_session_close_idle(w);
    if (w->sessions)
        uv_timer_start(&w->shutdown_timer, on_shutdown_timeout,
                       (uint64_t)proxy_config_gen(w->proxy)->cfg.shutdown_timeout_ms, 0);
    else
        worker_session_gone(w);
}

static void on_kill(uv_async_t *a) { client_session_close_killed(a->data); }

static void on_position(uv_async_t *a)
{
    struct worker *w = a->data;
    position_fetch_deliver(&w->proxy->positions, w);
}

static void on_idle_check(uv_timer_t *t)
{
    struct worker *w = t->data;
    client_session_close_idle_too_long(w);
    client_session_close_slow_logins(w);
    backend_pool_sweep(&w->pool, proxy_config_gen(w->proxy), worker_topology(w), uv_now(&w->loop));
}

int worker_init(struct worker *w, int index, struct proxy *proxy)
{
    memset(w, 0, sizeof *w);
    w->index = index;
    w->proxy = proxy;
    wrr_init(&w->wrr);
    wrr_init(&w->writer_wrr);
    buffer_pool_init(&w->backend_buffers, BACKEND_RBUF_SIZE);
    buffer_pool_init(&w->client_buffers, CLIENT_IN_MIN);
    buffer_pool_init(&w->cipher_buffers, TRANSPORT_CIPHER_READ);
    backend_pool_init(&w->pool);
    const struct proxy_config *cfg = &proxy_config_gen(proxy)->cfg;
    int fd = listen_socket(cfg->listen_host, cfg->listen_port, index == 0);
    if (fd < 0)
        return -1;
    int rc = uv_loop_init(&w->loop);
    if (rc == 0)
        rc = query_digest_init(&w->digest, (size_t)cfg->digest_max_entries);
    if (rc == 0)
        rc = uv_tcp_init(&w->loop, &w->listener);
    if (rc == 0)
        rc = uv_tcp_open(&w->listener, fd);
    if (rc == 0) {
        w->listener.data = w;
        rc = uv_listen((uv_stream_t *)&w->listener, 1024, on_connection);
    }
    if (rc == 0)
        rc = uv_async_init(&w->loop, &w->stop_async, on_stop);
    if (rc == 0)
        rc = uv_async_init(&w->loop, &w->kill_async, on_kill);
    if (rc == 0)
        rc = uv_async_init(&w->loop, &w->position_async, on_position);
    if (rc == 0)
        rc = uv_timer_init(&w->loop, &w->shutdown_timer);
    if (rc == 0)
        rc = uv_timer_init(&w->loop, &w->idle_timer);
    if (rc == 0)
        rc = uv_timer_start(&w->idle_timer, on_idle_check, 1000, 1000);
    if (rc == 0)
        rc = writer_wait_init(&w->writer_waits, w);
    if (rc == 0)
        rc = backend_limit_init(&w->limits, w);
    if (rc == 0)
        rc = uv_check_init(&w->loop, &w->run_check);
    if (rc == 0)
        rc = uv_check_start(&w->run_check, on_run_check);
    if (rc == 0)
        rc = uv_idle_init(&w->loop, &w->run_idle);
    if (rc != 0) {
        log_error("worker %d: %s", index, uv_strerror(rc));
        close(fd);
        return -1;
    }
    w->stop_async.data = w;
    w->kill_async.data = w;
    w->position_async.data = w;
    w->shutdown_timer.data = w;
    w->idle_timer.data = w;
    w->run_check.data = w;
    w->run_idle.data = w;
    return 0;
}

static void worker_main(void *arg)
{
    struct worker *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
    if (w->topology)
        topology_release(w->topology);
    w->topology = NULL;
    uv_loop_close(&w->loop);
    buffer_pool_free(&w->backend_buffers);
    buffer_pool_free(&w->client_buffers);
    buffer_pool_free(&w->cipher_buffers);
    query_digest_destroy(&w->digest); /* the admin thread, its reader, stopped first */
}

int worker_start(struct worker *w)
{
    int rc = uv_thread_create(&w->thread, worker_main, w);
    if (rc != 0)
        log_error("worker %d: cannot start thread: %s", w->index, uv_strerror(rc));
    return rc == 0 ? 0 : -1;
}

void worker_stop(struct worker *w) { uv_async_send(&w->stop_async); }

void worker_join(struct worker *w) { uv_thread_join(&w->thread); }

struct topology *worker_topology(struct worker *w)
{
    return topology_refresh(&w->proxy->topology, &w->topology);
}
