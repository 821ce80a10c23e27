/* /metrics and /health over HTTP/1.1 on the admin loop. One request per
 * connection, answered and closed: monitoring systems reconnect anyway, and
 * that keeps the server to a read buffer, a deadline and one write. */
#include "proxy/metrics_http.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/admin.h"
#include "proxy/galera_metrics.h"
#include "proxy/log.h"
#include "proxy/query_digest.h"
#include "proxy/query_metrics.h"
#include "proxy/status_page.h"
#include "proxy/transport.h"

/* A client gets this long to send its request: monitoring systems send it
 * at once, and an idle connection must not hold a slot. */
#define HTTP_DEADLINE_MS 1000

/* ---- text buffer ---- */

void text_printf(struct text_buf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = b->cap ? b->cap * 2 : 4096;
        while (ncap - b->len <= (size_t)n)
            ncap *= 2;
        char *np = realloc(b->p, ncap);
        if (!np) {
            b->failed = true;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
}

void text_free(struct text_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---- /metrics ---- */

void text_label(struct text_buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            text_printf(b, "\\%c", *v);
        else if (*v == '\n')
            text_printf(b, "\\n");
        else
            text_printf(b, "%c", *v);
    }
}

static void head(struct text_buf *b, const char *name, const char *type, const char *help)
{
    text_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void backend_sample(struct text_buf *b, const char *name, const struct admin_backend *be)
{
    text_printf(b, "%s{backend=\"", name);
    text_label(b, be->name);
    text_printf(b, "\"");
}

/* One series per backend whose only label is the backend: v[i] for backend i. */
static void per_backend(struct text_buf *b, const struct admin_snapshot *s, const char *name,
                        const char *type, const char *help, const int64_t *v)
{
    head(b, name, type, help);
    for (size_t i = 0; i < s->n_backends; i++) {
        backend_sample(b, name, &s->backend[i]);
        text_printf(b, "} %" PRId64 "\n", v[i]);
    }
}

static void metrics_backends(struct text_buf *b, const struct admin_snapshot *s)
{
    static const char *const states[] = {"up", "lagging", "broken", "down", "offline", "unknown"};
    head(b, "switchyard_backend_up", "gauge", "Whether the monitor sees the backend up.");
    for (size_t i = 0; i < s->n_backends; i++) {
        const struct admin_backend *be = &s->backend[i];
        backend_sample(b, "switchyard_backend_up", be);
        text_printf(b, ",role=\"%s\"} %d\n", be->role == ROLE_PRIMARY ? "primary" : "replica",
                    be->state == BACKEND_UP);
    }
    head(b, "switchyard_backend_state", "gauge",
         "The backend's state as SHOW BACKENDS reports it (1 for the current one).");
    for (size_t i = 0; i < s->n_backends; i++) {
        const char *cur = admin_state_name(&s->backend[i]);
        for (size_t k = 0; k < sizeof states / sizeof states[0]; k++) {
            backend_sample(b, "switchyard_backend_state", &s->backend[i]);
            text_printf(b, ",state=\"%s\"} %d\n", states[k], strcmp(cur, states[k]) == 0);
        }
    }
    head(b, "switchyard_replication_lag_seconds", "gauge",
         "Replication lag of each replica, when known.");
    for (size_t i = 0; i < s->n_backends; i++) {
        const struct admin_backend *be = &s->backend[i];
        if (be->role != ROLE_REPLICA || be->lag_seconds < 0)
            continue;
        backend_sample(b, "switchyard_replication_lag_seconds", be);
        text_printf(b, "} %.3f\n", be->lag_seconds);
    }
}

/* The backend connections and their pools (backend_pool.h, backend_limit.h). */
static void metrics_pools(struct text_buf *b, const struct admin_snapshot *s)
{
    int64_t v[CONFIG_MAX_BACKENDS];
    for (size_t i = 0; i < s->n_backends; i++)
        v[i] = s->backend[i].connections;
    per_backend(b, s, "switchyard_backend_connections", "gauge", "Backend connections open now.", v);
    for (size_t i = 0; i < s->n_backends; i++)
        v[i] = s->backend[i].pool_idle;
    per_backend(b, s, "switchyard_pool_idle_connections", "gauge",
                "Backend connections waiting in the pools for a session.", v);
    for (size_t i = 0; i < s->n_backends; i++)
        v[i] = (int64_t)s->backend[i].pool_logins;
    per_backend(b, s, "switchyard_backend_logins_total", "counter", "Backend connections opened.",
                v);
    for (size_t i = 0; i < s->n_backends; i++)
        v[i] = (int64_t)s->backend[i].pool_reuses;
    per_backend(b, s, "switchyard_pool_reuses_total", "counter",
                "Sessions given a pooled backend connection instead of a new login.", v);
    for (size_t i = 0; i < s->n_backends; i++)
        v[i] = (int64_t)s->backend[i].pool_broken;
    per_backend(b, s, "switchyard_pool_broken_total", "counter",
                "Pooled backend connections found dead (no answer to the ping after waiting "
                "idle, or closed) before a statement went out on them; the statement went to "
                "another connection.",
                v);
    for (size_t i = 0; i < s->n_backends; i++)
        v[i] = s->backend[i].max_connections;
    per_backend(b, s, "switchyard_backend_max_connections", "gauge",
                "Connections the proxy may hold open to the backend (the workers' shares of "
                "its max_connections); 0: no limit.",
                v);
    for (size_t i = 0; i < s->n_backends; i++)
        v[i] = s->backend[i].pool_waiting;
    per_backend(b, s, "switchyard_pool_waiting", "gauge",
                "Statements waiting now for a connection to the backend (max_connections).", v);
    for (size_t i = 0; i < s->n_backends; i++)
        v[i] = (int64_t)s->backend[i].pool_waits;
    per_backend(b, s, "switchyard_pool_waits_total", "counter",
                "Statements that waited for a connection to the backend (max_connections).", v);
    for (size_t i = 0; i < s->n_backends; i++)
        v[i] = (int64_t)s->backend[i].pool_wait_timeouts;
    per_backend(b, s, "switchyard_pool_wait_timeouts_total", "counter",
                "Statements that got none within pool_wait_timeout_ms (ERR 1040).", v);
    head(b, "switchyard_pool_wait_seconds_total", "counter",
         "Time statements spent waiting for a connection to the backend.");
    for (size_t i = 0; i < s->n_backends; i++) {
        backend_sample(b, "switchyard_pool_wait_seconds_total", &s->backend[i]);
        text_printf(b, "} %.3f\n", (double)s->backend[i].pool_wait_ms / 1000.0);
    }
}

/* Sessions that keep their backend connections between statements, by why
 * (session_multiplex.c). */
static void metrics_pins(struct text_buf *b, const struct admin_snapshot *s)
{
    struct admin_pins pins;
    admin_count_pins(s, &pins);
    head(b, "switchyard_sessions_pinned", "gauge",
         "Sessions that keep their backend connections between statements, by reason.");
    for (size_t k = 0; k < pins.n_reasons; k++) {
        text_printf(b, "switchyard_sessions_pinned{reason=\"");
        text_label(b, pins.reason[k]);
        text_printf(b, "\"} %zu\n", pins.count[k]);
    }
    if (pins.other)
        text_printf(b, "switchyard_sessions_pinned{reason=\"other\"} %zu\n", pins.other);
}

static void counter(struct text_buf *b, const char *name, const char *help, uint64_t v)
{
    head(b, name, "counter", help);
    text_printf(b, "%s %" PRIu64 "\n", name, v);
}

static void metrics_counters(struct text_buf *b, const struct admin_totals *t)
{
    head(b, "switchyard_statements_total", "counter", "Client statements by where they ran.");
    text_printf(b, "switchyard_statements_total{route=\"primary\"} %" PRIu64 "\n",
                t->statements_primary);
    text_printf(b, "switchyard_statements_total{route=\"replica\"} %" PRIu64 "\n",
                t->statements_replica);
    text_printf(b, "switchyard_statements_total{route=\"local\"} %" PRIu64 "\n",
                t->statements_local);
    counter(b, "switchyard_reads_total", "Statements classified as reads.", t->reads);
    counter(b, "switchyard_writes_total", "Statements classified as writes.", t->writes);
    counter(b, "switchyard_read_fallbacks_total",
            "Reads sent to the primary because no replica was eligible.", t->read_fallbacks);
    counter(b, "switchyard_causal_waits_total", "Causal waits sent to replicas.",
            t->causal_waits);
    counter(b, "switchyard_causal_timeouts_total",
            "Causal waits that timed out or failed (the read went elsewhere).",
            t->causal_timeouts);
    counter(b, "switchyard_causal_position_fetches_total",
            "causal_reads = universal: positions asked of the primary (shared by the reads "
            "that arrived meanwhile).",
            t->causal_position_fetches);
    counter(b, "switchyard_readonly_retries_total",
            "Statements a replica refused as read-only, run again on the writer.",
            t->readonly_retries);
    counter(b, "switchyard_writer_waits_total",
            "Writes that could not reach the writer and waited for the monitor to name one.",
            t->writer_waits);
    counter(b, "switchyard_writer_wait_timeouts_total",
            "Writes that waited for a writer for writer_wait_ms and failed.",
            t->writer_wait_timeouts);
    head(b, "switchyard_errors_total", "counter", "Errors by origin.");
    text_printf(b, "switchyard_errors_total{kind=\"backend\"} %" PRIu64 "\n", t->errors_backend);
    text_printf(b, "switchyard_errors_total{kind=\"proxy\"} %" PRIu64 "\n", t->errors_proxy);
    text_printf(b, "switchyard_errors_total{kind=\"auth\"} %" PRIu64 "\n", t->auth_failures);
    head(b, "switchyard_refused_connections_total", "counter", "Client connections refused.");
    text_printf(b, "switchyard_refused_connections_total{reason=\"firewall\"} %" PRIu64 "\n",
                t->refused_firewall);
    text_printf(b, "switchyard_refused_connections_total{reason=\"limit\"} %" PRIu64 "\n",
                t->refused_limits);
    counter(b, "switchyard_login_timeouts_total",
            "Client connections closed for not logging in within connect_timeout.",
            t->login_timeouts);
    head(b, "switchyard_client_connections", "gauge", "Client connections open now.");
    text_printf(b, "switchyard_client_connections %" PRId64 "\n",
                t->client_connections > 0 ? t->client_connections : 0);
}

static void metrics_latency(struct text_buf *b, const struct admin_totals *t)
{
    const char *name = "switchyard_statement_duration_seconds";
    head(b, name, "histogram", "Client statement duration, as the proxy measures it.");
    uint64_t cumulative = 0;
    for (int i = 0; i < STATS_LATENCY_BUCKETS; i++) {
        cumulative += t->latency_bucket[i];
        if (i < STATS_LATENCY_BUCKETS - 1)
            text_printf(b, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name,
                        (double)stats_latency_bounds_us[i] / 1e6, cumulative);
        else
            text_printf(b, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, cumulative);
    }
    text_printf(b, "%s_sum %.6f\n", name, (double)t->latency_sum_us / 1e6);
    text_printf(b, "%s_count %" PRIu64 "\n", name, cumulative);
}

void metrics_format(struct text_buf *out, const struct admin_snapshot *snap)
{
    metrics_backends(out, snap);
    metrics_pools(out, snap);
    metrics_pins(out, snap);
    metrics_galera(out, snap);
    metrics_counters(out, &snap->totals);
    metrics_latency(out, &snap->totals);
    if (snap->queries)
        metrics_queries(out, snap->queries);
}

/* ---- /health ---- */

/* Why no primary takes writes: each primary's state and reason. */
static void no_writer_reason(const struct admin_snapshot *s, char *body, size_t cap)
{
    size_t len = (size_t)snprintf(body, cap, "no writable primary:");
    int primaries = 0;
    for (size_t i = 0; i < s->n_backends && len < cap; i++) {
        const struct admin_backend *b = &s->backend[i];
        if (b->role != ROLE_PRIMARY)
            continue;
        const char *why = b->reason[0] ? b->reason : "read_only is on";
        len += (size_t)snprintf(body + len, cap - len, "%s %s is %s (%s)", primaries ? ";" : "",
                                b->name, admin_state_name(b), why);
        primaries++;
    }
    if (primaries == 0 && len < cap)
        snprintf(body + len, cap - len, " no backend has the primary role");
}

int health_format(const struct admin_snapshot *snap, char *body, size_t cap)
{
    if (cap == 0)
        return 500;
    int w = snap->writer;
    if (w >= 0 && (size_t)w < snap->n_backends && snap->backend[w].writable) {
        snprintf(body, cap, "ok: writes go to %s", snap->backend[w].name);
        return 200;
    }
    no_writer_reason(snap, body, cap);
    return 503;
}

/* ---- HTTP parsing ---- */

/* Copies the next token ending at a space into out. */
static const char *token(const char *p, const char *end, char *out, size_t cap)
{
    size_t n = 0;
    while (p < end && *p != ' ') {
        if (n + 1 >= cap || !isgraph((unsigned char)*p))
            return NULL;
        out[n++] = *p++;
    }
    out[n] = '\0';
    return n ? p : NULL;
}

enum http_parse http_request_parse(const char *buf, size_t len, struct http_request *out)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end) {
        /* A request line that is already wrong needs no more bytes. */
        if (len >= 4 && !isupper((unsigned char)buf[0]))
            return HTTP_BAD;
        return len >= HTTP_MAX_HEAD ? HTTP_TOO_LARGE : HTTP_INCOMPLETE;
    }
    const char *eol = memchr(buf, '\r', (size_t)(end - buf) + 1);
    char version[16];
    const char *p = token(buf, eol, out->method, sizeof out->method);
    if (!p || *p != ' ')
        return HTTP_BAD;
    p = token(p + 1, eol, out->path, sizeof out->path);
    if (!p || *p != ' ')
        return HTTP_BAD;
    p = token(p + 1, eol, version, sizeof version);
    if (!p || p != eol || strncmp(version, "HTTP/1.", 7) != 0)
        return HTTP_BAD;
    out->path[strcspn(out->path, "?")] = '\0';
    return HTTP_COMPLETE;
}

/* ---- responses ---- */

static const char *status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 431:
        return "Request Header Fields Too Large";
    case 503:
        return "Service Unavailable";
    default:
        return "Internal Server Error";
    }
}

static void response(struct text_buf *out, int status, const char *type, const char *body,
                     size_t len)
{
    text_printf(out,
                "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                "Connection: close\r\n%s\r\n%.*s",
                status, status_text(status), type, len,
                status == 405 ? "Allow: GET\r\n" : "", (int)len, body);
}

void http_error(struct text_buf *out, int status)
{
    char body[64];
    int n = snprintf(body, sizeof body, "%d %s\n", status, status_text(status));
    response(out, status, "text/plain; charset=utf-8", body, (size_t)n);
}

bool http_wants_snapshot(const struct http_request *req)
{
    return strcmp(req->method, "GET") == 0 &&
           (strcmp(req->path, "/metrics") == 0 || strcmp(req->path, "/health") == 0 ||
            strcmp(req->path, "/") == 0);
}

void http_respond(struct text_buf *out, const struct http_request *req,
                  const struct admin_snapshot *snap)
{
    if (strcmp(req->path, "/metrics") != 0 && strcmp(req->path, "/health") != 0 &&
        strcmp(req->path, "/") != 0) {
        http_error(out, 404);
        return;
    }
    if (strcmp(req->method, "GET") != 0) {
        http_error(out, 405);
        return;
    }
    if (!snap) {
        http_error(out, 500); /* the snapshot could not be taken */
        return;
    }
    if (strcmp(req->path, "/metrics") == 0 && !snap->cfg->metrics) {
        static const char off[] =
            "/metrics is off ([admin] metrics = off): set metrics = on in [admin] and reload "
            "(SIGHUP) to enable it\n";
        response(out, 404, "text/plain; charset=utf-8", off, sizeof off - 1);
        return;
    }
    if (strcmp(req->path, "/health") == 0) {
        char body[2048];
        int status = health_format(snap, body, sizeof body - 1);
        strcat(body, "\n");
        response(out, status, "text/plain; charset=utf-8", body, strlen(body));
        return;
    }
    struct text_buf page = {0};
    bool status_page = strcmp(req->path, "/") == 0;
    if (status_page)
        status_page_format(&page, snap);
    else
        metrics_format(&page, snap);
    if (page.failed)
        http_error(out, 500);
    else
        response(out, 200,
                 status_page ? "text/html; charset=utf-8" : "text/plain; version=0.0.4; charset=utf-8",
                 page.p, page.len);
    text_free(&page);
}

/* ---- the server ---- */

struct http_conn {
    struct admin_link link; /* first: the link is the connection */
    struct admin *admin;
    struct transport t;
    uv_timer_t deadline;
    int handles; /* open libuv handles; freed when both are closed */
    struct text_buf answer; /* being sent; the transport borrows it */
    size_t in_len;
    char in[HTTP_MAX_HEAD];
};

static void handle_closed(struct http_conn *c)
{
    if (--c->handles == 0) {
        text_free(&c->answer);
        free(c);
    }
}

static void on_deadline_closed(uv_handle_t *h) { handle_closed(h->data); }

static void on_transport_closed(struct transport *t) { handle_closed(t->owner); }

static void http_close(struct admin_link *l)
{
    struct http_conn *c = (struct http_conn *)l;
    if (c->t.closing)
        return;
    admin_link_remove(&c->link);
    transport_close(&c->t);
    uv_close((uv_handle_t *)&c->deadline, on_deadline_closed);
}

/* The answer is out (or could not be sent): closing either way. */
static void on_written(struct transport *t, void *token, int status)
{
    (void)token;
    (void)status;
    http_close(&((struct http_conn *)t->owner)->link);
}

/* Sends text (taking it over) and closes once it is out. */
static void send_and_close(struct http_conn *c, struct text_buf *text)
{
    c->link.busy = true; /* answered: the request is read */
    transport_read_stop(&c->t);
    if (text->failed) {
        text_free(text);
        http_close(&c->link);
        return;
    }
    c->answer = *text;
    if (transport_send(&c->t, (const uint8_t *)c->answer.p, c->answer.len, true, NULL) != 0)
        http_close(&c->link); /* all out at once, or failed */
}

static void answer_error(struct http_conn *c, int status)
{
    struct text_buf out = {0};
    http_error(&out, status);
    send_and_close(c, &out);
}

static void answer(struct http_conn *c, const struct http_request *req)
{
    struct text_buf out = {0};
    struct admin_snapshot snap;
    /* the status page and /metrics sum them up */
    bool sessions = strcmp(req->path, "/") == 0 || strcmp(req->path, "/metrics") == 0;
    bool have = http_wants_snapshot(req) && admin_snapshot(c->admin, sessions, &snap) == 0;
    struct query_stats_table queries;
    query_stats_init(&queries, 0);
    if (have && strcmp(req->path, "/health") != 0) {
        query_digest_collect(admin_proxy(c->admin), &queries); /* short of memory: what fit */
        query_stats_sort(&queries, QUERY_ORDER_TIME);
        snap.queries = &queries;
        snap.history = admin_history(c->admin);
    }
    http_respond(&out, req, have ? &snap : NULL);
    query_stats_free(&queries);
    if (have)
        admin_snapshot_free(&snap);
    send_and_close(c, &out);
}

static void on_room(struct transport *t, uv_buf_t *buf)
{
    struct http_conn *c = t->owner;
    *buf = uv_buf_init(c->in + c->in_len, (unsigned)(sizeof c->in - c->in_len));
}

static void on_read(struct transport *t, ssize_t n)
{
    struct http_conn *c = t->owner;
    if (n < 0) {
        http_close(&c->link);
        return;
    }
    if (c->link.busy)
        return;
    c->in_len += (size_t)n;
    struct http_request req;
    switch (http_request_parse(c->in, c->in_len, &req)) {
    case HTTP_INCOMPLETE:
        return;
    case HTTP_COMPLETE:
        answer(c, &req);
        return;
    case HTTP_TOO_LARGE:
        answer_error(c, 431);
        return;
    case HTTP_BAD:
        answer_error(c, 400);
        return;
    }
}

static const struct transport_events http_conn_events = {
    .room = on_room,
    .read = on_read,
    .written = on_written,
    .closed = on_transport_closed,
};

static void on_deadline(uv_timer_t *t)
{
    struct http_conn *c = t->data;
    if (!c->link.busy)
        http_close(&c->link);
}

/* Allowed clients get their request read; others a 403 before anything is
 * read from them. */
static void serve(struct http_conn *c)
{
    struct sockaddr_storage addr;
    char peer[64] = "?";
    if (transport_peer(&c->t, &addr, peer, sizeof peer) != 0 ||
        !admin_peer_allowed(c->admin, (struct sockaddr *)&addr, peer, sizeof peer)) {
        log_info("metrics: refused HTTP client %s (not in [admin] allow)", peer);
        answer_error(c, 403);
        return;
    }
    uv_timer_start(&c->deadline, on_deadline, HTTP_DEADLINE_MS, 0);
    if (transport_read_start(&c->t) != 0)
        http_close(&c->link);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct admin *a = server->data;
    if (status < 0)
        return;
    struct http_conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->admin = a;
    c->link.close = http_close;
    c->deadline.data = c;
    transport_init(&c->t, server->loop, NULL, &http_conn_events, c);
    uv_timer_init(server->loop, &c->deadline);
    c->handles = 2;
    if (transport_accept(&c->t, server) != 0) {
        /* not in the list yet: close the handles directly */
        transport_close(&c->t);
        uv_close((uv_handle_t *)&c->deadline, on_deadline_closed);
        return;
    }
    if (!admin_link_add(a, ADMIN_PORT_HTTP, &c->link)) {
        answer_error(c, 503);
        return;
    }
    serve(c);
}

int metrics_http_listen(struct admin *a, uv_loop_t *loop, uv_tcp_t *listener, const char *host,
                        uint16_t port)
{
    if (admin_bind(loop, listener, host, port) != 0)
        return -1;
    listener->data = a;
    int rc = uv_listen((uv_stream_t *)listener, 128, on_connection);
    if (rc != 0) {
        log_error("metrics: cannot listen on %s:%u: %s", host, port, uv_strerror(rc));
        return -1;
    }
    return 0;
}
