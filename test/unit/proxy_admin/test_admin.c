/* The admin interface's pure parts: statement parsing, the SHOW result
 * sets, the latency percentiles, the /metrics page, /health and the HTTP
 * request parser, all over made-up snapshots. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "protocol/packet.h"
#include "protocol/resultset.h"
#include "proxy/admin_commands.h"
#include "proxy/metrics_http.h"
#include "proxy/status_page.h"

#define CAPS (CLIENT_PROTOCOL_41 | CLIENT_DEPRECATE_EOF)

static struct proxy_config cfg;
static struct admin_snapshot snap;

static void add_backend(const char *name, enum backend_role role, uint16_t port,
                        enum backend_state st, double lag)
{
    struct admin_backend *b = &snap.backend[snap.n_backends];
    struct backend_config *c = &cfg.backends[cfg.n_backends++];
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->host, sizeof c->host, "127.0.0.1");
    c->port = port;
    c->role = role;
    c->weight = 1;
    c->max_replication_lag = 10;
    memset(b, 0, sizeof *b);
    snprintf(b->name, sizeof b->name, "%s", name);
    snprintf(b->host, sizeof b->host, "127.0.0.1");
    b->port = port;
    b->role = role;
    b->weight = 1;
    b->state = st;
    b->lag_seconds = lag;
    b->writable = role == ROLE_PRIMARY && st == BACKEND_UP;
    snprintf(b->reason, sizeof b->reason, "%s", st == BACKEND_DOWN ? "cannot connect" : "fine");
    snap.n_backends++;
}

/* A primary and two replicas, some counters, a secret in the config. */
static int setup(void **state)
{
    (void)state;
    memset(&cfg, 0, sizeof cfg);
    memset(&snap, 0, sizeof snap);
    snprintf(cfg.listen_host, sizeof cfg.listen_host, "127.0.0.1");
    cfg.listen_port = 6033;
    cfg.admin_enabled = true;
    snprintf(cfg.admin_user, sizeof cfg.admin_user, "admin");
    snprintf(cfg.admin_password, sizeof cfg.admin_password, "admin_secret_pw");
    snprintf(cfg.monitor_password, sizeof cfg.monitor_password, "monitor_secret_pw");
    cfg.n_users = 1;
    snprintf(cfg.users[0].name, sizeof cfg.users[0].name, "app");
    snprintf(cfg.users[0].password, sizeof cfg.users[0].password, "app_secret_pw");
    cfg.users[0].has_password = true;
    snap.cfg = &cfg;
    snap.version = "9.9.9";
    snprintf(snap.server_version, sizeof snap.server_version, "10.11.6-MariaDB");
    add_backend("primary", ROLE_PRIMARY, 3310, BACKEND_UP, -1);
    add_backend("replica1", ROLE_REPLICA, 3311, BACKEND_UP, 0.25);
    add_backend("replica2", ROLE_REPLICA, 3312, BACKEND_LAGGING, 42);
    snap.writer = 0;
    snap.backend[1].statements = 7;
    snap.backend[1].connections = 2;
    snap.totals.statements_replica = 7;
    snap.totals.latency_bucket[0] = 5;  /* <= 100 us */
    snap.totals.latency_bucket[3] = 4;  /* <= 1 ms */
    snap.totals.latency_bucket[11] = 1; /* +Inf */
    snap.totals.latency_sum_us = 20000000;
    return 0;
}

/* ---- parsing ---- */

static void test_parse_shows(void **state)
{
    (void)state;
    assert_int_equal(admin_parse("SHOW BACKENDS", 13).kind, ADMIN_SHOW_BACKENDS);
    assert_int_equal(admin_parse("  show   backends ; ", 20).kind, ADMIN_SHOW_BACKENDS);
    assert_int_equal(admin_parse("Show Sessions", 13).kind, ADMIN_SHOW_SESSIONS);
    assert_int_equal(admin_parse("SHOW STATS;", 11).kind, ADMIN_SHOW_STATS);
    assert_int_equal(admin_parse("show config", 11).kind, ADMIN_SHOW_CONFIG);
    assert_int_equal(admin_parse("SHOW\tVERSION\n", 13).kind, ADMIN_SHOW_VERSION);
    assert_int_equal(admin_parse("reload", 6).kind, ADMIN_RELOAD);
}

static void test_parse_actions(void **state)
{
    (void)state;
    struct admin_command c = admin_parse("set backend replica1 offline", 28);
    assert_int_equal(c.kind, ADMIN_SET_BACKEND);
    assert_string_equal(c.backend, "replica1");
    assert_true(c.offline);
    c = admin_parse("SET BACKEND `db-2.x` ONLINE;", 28);
    assert_int_equal(c.kind, ADMIN_SET_BACKEND);
    assert_string_equal(c.backend, "db-2.x");
    assert_false(c.offline);
    c = admin_parse("KILL SESSION 4294967295", 23);
    assert_int_equal(c.kind, ADMIN_KILL_SESSION);
    assert_int_equal(c.session_id, 4294967295u);
}

static void test_parse_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "   ;", "SHOW", "SHOW TABLES", "SHOW BACKENDS now", "SET BACKEND replica1",
        "SET BACKEND replica1 maybe", "SET GLOBAL x=1", "KILL 3", "KILL SESSION",
        "KILL SESSION abc", "KILL SESSION 4294967296", "KILL SESSION -1", "RELOAD now",
        "SELECT 1", "SET BACKEND `unterminated OFFLINE", "SET BACKEND `` OFFLINE",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(admin_parse(bad[i], strlen(bad[i])).kind, ADMIN_INVALID);
    assert_int_equal(admin_parse(NULL, 0).kind, ADMIN_INVALID);
    /* the length bounds the text: "SHOW STATS" cut to "SHOW ST" */
    assert_int_equal(admin_parse("SHOW STATS", 7).kind, ADMIN_INVALID);
    /* a name longer than any backend name */
    char longname[200] = "SET BACKEND ";
    memset(longname + 12, 'x', 150);
    strcat(longname, " OFFLINE");
    assert_int_equal(admin_parse(longname, strlen(longname)).kind, ADMIN_INVALID);
}

/* ---- result sets ---- */

struct rows {
    unsigned ncols, nrows;
    char cell[64][12][200]; /* "\1" marks NULL */
};

/* Decode a DEPRECATE_EOF result set built by the admin functions. */
static void decode(const uint8_t *buf, size_t len, struct rows *out)
{
    size_t pos = 0;
    memset(out, 0, sizeof *out);
    int pkt = 0;
    while (pos < len) {
        uint32_t n = packet_payload_len(buf + pos);
        const uint8_t *p = buf + pos + PACKET_HEADER_LEN;
        pos += PACKET_HEADER_LEN + n;
        assert_true(pos <= len);
        if (pkt++ == 0) {
            out->ncols = p[0];
            continue;
        }
        if ((unsigned)pkt <= out->ncols + 1)
            continue; /* column definitions */
        if (p[0] == 0xFE && n < 0xFFFFFF && pos == len)
            break; /* the terminating OK */
        unsigned r = out->nrows++;
        size_t at = 0;
        for (unsigned c = 0; c < out->ncols; c++) {
            if (p[at] == 0xFB) {
                strcpy(out->cell[r][c], "\1");
                at++;
                continue;
            }
            const uint8_t *s;
            uint64_t sl;
            size_t used = lenenc_str_read(p + at, n - at, &s, &sl);
            assert_true(used > 0 && sl < 200);
            memcpy(out->cell[r][c], s, sl);
            at += used;
        }
        assert_int_equal(at, n);
    }
}

typedef void (*show_fn)(struct resultset_writer *, const struct admin_snapshot *);

static size_t build(uint8_t *buf, size_t cap, enum admin_command_kind kind, show_fn fn)
{
    struct resultset_writer w;
    resultset_begin(&w, buf, cap, 1, CAPS, admin_show_columns(kind));
    fn(&w, &snap);
    assert_false(w.overflow);
    return w.len;
}

static struct rows rs;
static uint8_t buf[65536];

static void test_show_backends(void **state)
{
    (void)state;
    snap.backend[2].offline = true;
    decode(buf, build(buf, sizeof buf, ADMIN_SHOW_BACKENDS, admin_show_backends), &rs);
    assert_int_equal(rs.ncols, 11);
    assert_int_equal(rs.nrows, 3);
    assert_string_equal(rs.cell[0][0], "primary");
    assert_string_equal(rs.cell[0][1], "primary");
    assert_string_equal(rs.cell[0][2], "127.0.0.1:3310");
    assert_string_equal(rs.cell[0][3], "up");
    assert_string_equal(rs.cell[0][5], "\1"); /* lag unknown */
    assert_string_equal(rs.cell[1][5], "0.25");
    assert_string_equal(rs.cell[1][8], "2");
    assert_string_equal(rs.cell[1][9], "7");
    assert_string_equal(rs.cell[2][3], "offline");
    assert_non_null(strstr(rs.cell[2][4], "offline"));
    assert_string_equal(rs.cell[2][5], "42");
}

static void test_show_backends_overflow(void **state)
{
    (void)state;
    struct resultset_writer w;
    resultset_begin(&w, buf, 64, 1, CAPS, admin_show_columns(ADMIN_SHOW_BACKENDS));
    admin_show_backends(&w, &snap);
    assert_true(w.overflow); /* the caller grows its buffer and retries */
}

static void test_show_sessions(void **state)
{
    (void)state;
    struct admin_session s[2] = {
        {.id = 12, .user = "app", .client = "10.0.0.5", .age_seconds = 3, .backends_mask = 5,
         .db = "shop"},
        {.id = 13, .user = "app", .client = "::1", .in_transaction = true, .pinned = "temporary table"},
    };
    snap.sessions = s;
    snap.n_sessions = 2;
    decode(buf, build(buf, sizeof buf, ADMIN_SHOW_SESSIONS, admin_show_sessions), &rs);
    snap.sessions = NULL;
    snap.n_sessions = 0;
    assert_int_equal(rs.ncols, 8);
    assert_int_equal(rs.nrows, 2);
    assert_string_equal(rs.cell[0][0], "12");
    assert_string_equal(rs.cell[0][7], "shop");
    assert_string_equal(rs.cell[1][7], "\1"); /* no database: NULL */
    assert_string_equal(rs.cell[0][3], "3");
    assert_string_equal(rs.cell[0][5], "\1");
    assert_string_equal(rs.cell[0][6], "primary,replica2");
    assert_string_equal(rs.cell[1][4], "1");
    assert_string_equal(rs.cell[1][5], "temporary table");
    assert_string_equal(rs.cell[1][6], "\1");
}

/* More distinct pin reasons than the summary keeps apart: the rest are
 * counted as "other", none is lost. */
static void test_status_page_pin_reasons(void **state)
{
    static const char *const reasons[] = {"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8",
                                          "r9"};
    struct admin_session s[11] = {{.id = 1}};
    struct text_buf page = {0};
    (void)state;
    for (size_t i = 0; i < 10; i++)
        s[i + 1] = (struct admin_session){.id = (uint32_t)i + 2, .pinned = reasons[i]};
    s[2].pinned = "r0"; /* r0 twice, r1 not at all: 9 distinct reasons */
    snap.sessions = s;
    snap.n_sessions = 11;
    status_page_format(&page, &snap);
    snap.sessions = NULL;
    snap.n_sessions = 0;
    assert_false(page.failed);
    assert_non_null(strstr(page.p, "11 open, 0 in a transaction, 10 pinned to one backend "
                                   "(r0: 2, r2: 1, r3: 1, r4: 1, r5: 1, r6: 1, r7: 1, r8: 1, "
                                   "other: 1)"));
    text_free(&page);
}

/* The pools table shows the snapshot's pool figures, in use derived as SHOW
 * POOLS derives it, and whether multiplexing is on. */
static void test_status_page_pools(void **state)
{
    struct text_buf page = {0};
    (void)state;
    snap.backend[0].connections = 5;
    snap.backend[0].pool_idle = 3;
    snap.backend[0].pool_logins = 4;
    snap.backend[0].pool_reuses = 9;
    cfg.multiplexing = true;
    status_page_format(&page, &snap);
    assert_false(page.failed);
    assert_non_null(strstr(page.p, "<p id=\"multiplexing\">multiplexing on:"));
    assert_non_null(strstr(page.p, "<tr><td>primary</td><td class=\"num\">5</td>"
                                   "<td class=\"num\">3</td><td class=\"num\">2</td>"
                                   "<td class=\"num\">4</td><td class=\"num\">9</td></tr>"));
    text_free(&page);
}

static const char *stat_value(const char *name)
{
    for (unsigned r = 0; r < rs.nrows; r++) {
        if (strcmp(rs.cell[r][0], name) == 0)
            return rs.cell[r][1];
    }
    fail_msg("no stat %s", name);
    return NULL;
}

static void test_show_stats(void **state)
{
    (void)state;
    decode(buf, build(buf, sizeof buf, ADMIN_SHOW_STATS, admin_show_stats), &rs);
    assert_int_equal(rs.ncols, 2);
    assert_string_equal(stat_value("statements_replica"), "7");
    assert_string_equal(stat_value("statements_primary"), "0");
    assert_string_equal(stat_value("latency_p50_ms"), "0.1");
    assert_string_equal(stat_value("latency_p95_ms"), "+Inf");
    assert_string_equal(stat_value("client_connections"), "0");
}

static void test_percentiles(void **state)
{
    (void)state;
    struct admin_totals t = {0};
    assert_true(admin_latency_percentile_ms(&t, 50) < 0); /* nothing measured */
    t.latency_bucket[2] = 90; /* <= 500 us */
    t.latency_bucket[6] = 10; /* <= 10 ms */
    assert_true(admin_latency_percentile_ms(&t, 50) == 0.5);
    assert_true(admin_latency_percentile_ms(&t, 90) == 0.5);
    assert_true(admin_latency_percentile_ms(&t, 91) == 10);
    assert_true(admin_latency_percentile_ms(&t, 99) == 10);
    assert_true(admin_latency_percentile_ms(&t, 0) == 0.5);
}

static void test_show_config_hides_secrets(void **state)
{
    (void)state;
    size_t n = build(buf, sizeof buf, ADMIN_SHOW_CONFIG, admin_show_config);
    assert_null(memmem(buf, n, "secret", 6));
    decode(buf, n, &rs);
    assert_int_equal(rs.ncols, 3);
    bool saw_admin_pw = false, saw_backend = false;
    for (unsigned r = 0; r < rs.nrows; r++) {
        if (strcmp(rs.cell[r][0], "admin") == 0 && strcmp(rs.cell[r][1], "password") == 0)
            saw_admin_pw = strcmp(rs.cell[r][2], "***") == 0;
        if (strcmp(rs.cell[r][0], "backend.replica2") == 0 && strcmp(rs.cell[r][1], "port") == 0)
            saw_backend = strcmp(rs.cell[r][2], "3312") == 0;
    }
    assert_true(saw_admin_pw);
    assert_true(saw_backend);
}

static void test_show_version(void **state)
{
    (void)state;
    decode(buf, build(buf, sizeof buf, ADMIN_SHOW_VERSION, admin_show_version), &rs);
    assert_int_equal(rs.nrows, 1);
    assert_string_equal(rs.cell[0][0], "9.9.9");
    assert_string_equal(rs.cell[0][1], "10.11.6-MariaDB");
}

/* ---- metrics ---- */

/* Every sample line is NAME{LABELS} VALUE or NAME VALUE. */
static void check_sample(const char *line)
{
    const char *p = line;
    while (*p == '_' || (*p >= 'a' && *p <= 'z'))
        p++;
    assert_true(p > line);
    if (*p == '{') {
        p = strchr(p, '}');
        assert_non_null(p);
        p++;
    }
    assert_int_equal(*p, ' ');
    char *end;
    strtod(p + 1, &end);
    assert_true(end > p + 1 && *end == '\0');
}

static void test_metrics_format(void **state)
{
    (void)state;
    struct text_buf t = {0};
    metrics_format(&t, &snap);
    assert_false(t.failed);
    char *text = strndup(t.p, t.len);
    text_free(&t);
    int samples = 0;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') {
            assert_true(strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0);
            continue;
        }
        check_sample(line);
        samples++;
    }
    free(text);
    assert_true(samples > 30);
    metrics_format(&t, &snap);
    assert_non_null(strstr(t.p, "switchyard_backend_up{backend=\"replica2\",role=\"replica\"} 0\n"));
    assert_non_null(strstr(t.p, "switchyard_backend_state{backend=\"replica2\",state=\"lagging\"} 1\n"));
    assert_non_null(strstr(t.p, "switchyard_replication_lag_seconds{backend=\"replica1\"} 0.250\n"));
    assert_null(strstr(t.p, "switchyard_replication_lag_seconds{backend=\"primary\"}"));
    assert_non_null(strstr(t.p, "switchyard_statements_total{route=\"replica\"} 7\n"));
    assert_non_null(strstr(t.p, "_bucket{le=\"0.0001\"} 5\n"));
    assert_non_null(strstr(t.p, "_bucket{le=\"0.001\"} 9\n"));
    assert_non_null(strstr(t.p, "_bucket{le=\"+Inf\"} 10\n"));
    assert_non_null(strstr(t.p, "switchyard_statement_duration_seconds_count 10\n"));
    assert_non_null(strstr(t.p, "switchyard_statement_duration_seconds_sum 20.000000\n"));
    text_free(&t);
}

/* Galera series: only for nodes whose wsrep status is known; the flow
 * control share only once there were two samples. */
static void test_metrics_galera(void **state)
{
    (void)state;
    struct galera_state *g = &snap.backend[0].galera;
    *g = (struct galera_state){.known = true, .ready = true, .local_state = 2,
                               .cluster_size = 3, .desync = true, .paused_share = 0.25,
                               .recv_queue = 5, .fc_sent = 1234567};
    snprintf(g->cluster_status, sizeof g->cluster_status, "Primary");
    snap.backend[1].galera = (struct galera_state){.known = true, .paused_share = -1};
    struct text_buf t = {0};
    metrics_format(&t, &snap);
    assert_false(t.failed);
    assert_non_null(strstr(t.p, "switchyard_galera_ready{backend=\"primary\"} 1\n"));
    assert_non_null(strstr(t.p, "switchyard_galera_local_state{backend=\"primary\"} 2\n"));
    assert_non_null(strstr(t.p, "switchyard_galera_cluster_primary{backend=\"primary\"} 1\n"));
    assert_non_null(strstr(t.p, "switchyard_galera_cluster_size{backend=\"primary\"} 3\n"));
    assert_non_null(strstr(t.p, "switchyard_galera_desync{backend=\"primary\"} 1\n"));
    assert_non_null(
        strstr(t.p, "switchyard_galera_flow_control_paused_ratio{backend=\"primary\"} 0.25\n"));
    assert_non_null(strstr(t.p, "switchyard_galera_recv_queue{backend=\"primary\"} 5\n"));
    assert_non_null(
        strstr(t.p, "switchyard_galera_flow_control_sent_total{backend=\"primary\"} 1234567\n"));
    assert_non_null(strstr(t.p, "switchyard_galera_cluster_primary{backend=\"replica1\"} 0\n"));
    assert_null(strstr(t.p, "switchyard_galera_flow_control_paused_ratio{backend=\"replica1\"}"));
    assert_null(strstr(t.p, "switchyard_galera_ready{backend=\"replica2\"}"));
    text_free(&t);
}

static void test_metrics_label_escaping(void **state)
{
    (void)state;
    snprintf(snap.backend[0].name, sizeof snap.backend[0].name, "a\"b\\c");
    struct text_buf t = {0};
    metrics_format(&t, &snap);
    assert_non_null(strstr(t.p, "{backend=\"a\\\"b\\\\c\",role=\"primary\"}"));
    text_free(&t);
}

/* ---- /health ---- */

static void test_health(void **state)
{
    (void)state;
    char body[512];
    assert_int_equal(health_format(&snap, body, sizeof body), 200);
    assert_string_equal(body, "ok: writes go to primary");
    snap.backend[0].state = BACKEND_DOWN;
    snap.backend[0].writable = false;
    snprintf(snap.backend[0].reason, sizeof snap.backend[0].reason, "cannot connect: refused");
    snap.writer = -1;
    assert_int_equal(health_format(&snap, body, sizeof body), 503);
    assert_string_equal(body, "no writable primary: primary is down (cannot connect: refused)");
    /* a tiny buffer is cut, never overrun */
    char small[8];
    assert_int_equal(health_format(&snap, small, sizeof small), 503);
    assert_int_equal(strlen(small), 7);
}

/* ---- HTTP ---- */

static enum http_parse parse(const char *s, struct http_request *r)
{
    return http_request_parse(s, strlen(s), r);
}

static void test_http_parse(void **state)
{
    (void)state;
    struct http_request r;
    assert_int_equal(parse("", &r), HTTP_INCOMPLETE);
    assert_int_equal(parse("GET /met", &r), HTTP_INCOMPLETE);
    assert_int_equal(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n", &r), HTTP_INCOMPLETE);
    assert_int_equal(parse("GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n", &r), HTTP_COMPLETE);
    assert_string_equal(r.method, "GET");
    assert_string_equal(r.path, "/metrics");
    assert_int_equal(parse("GET /health HTTP/1.0\r\n\r\n", &r), HTTP_COMPLETE);
    assert_int_equal(parse("\x16\x03\x01\x02\x00 tls hello", &r), HTTP_BAD);
    assert_int_equal(parse("GET /x SPDY/3\r\n\r\n", &r), HTTP_BAD);
    assert_int_equal(parse("GET  /x HTTP/1.1\r\n\r\n", &r), HTTP_BAD);
    assert_int_equal(parse("GET /x HTTP/1.1 extra\r\n\r\n", &r), HTTP_BAD);
    assert_int_equal(parse("GET\r\n\r\n", &r), HTTP_BAD);
    char big[HTTP_MAX_HEAD + 10];
    memset(big, 'A', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(parse(big, &r), HTTP_TOO_LARGE);
    char longpath[600] = "GET /";
    memset(longpath + 5, 'p', 500);
    strcat(longpath, " HTTP/1.1\r\n\r\n");
    assert_int_equal(parse(longpath, &r), HTTP_BAD);
}

static void test_http_respond(void **state)
{
    (void)state;
    struct http_request r = {.method = "GET", .path = "/nope"};
    struct text_buf t = {0};
    http_respond(&t, &r, NULL);
    assert_true(strncmp(t.p, "HTTP/1.1 404 ", 13) == 0);
    text_free(&t);
    snprintf(r.path, sizeof r.path, "/metrics");
    snprintf(r.method, sizeof r.method, "POST");
    assert_false(http_wants_snapshot(&r));
    http_respond(&t, &r, NULL);
    assert_true(strncmp(t.p, "HTTP/1.1 405 ", 13) == 0);
    text_free(&t);
    snprintf(r.method, sizeof r.method, "GET");
    snprintf(r.path, sizeof r.path, "/health");
    assert_true(http_wants_snapshot(&r));
    http_respond(&t, &r, &snap);
    assert_true(strncmp(t.p, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_non_null(strstr(t.p, "Content-Length: 25\r\n"));
    assert_non_null(strstr(t.p, "\r\n\r\nok: writes go to primary\n"));
    text_free(&t);
}

static void test_state_names(void **state)
{
    (void)state;
    struct admin_backend b = {.state = BACKEND_BROKEN};
    assert_string_equal(admin_state_name(&b), "broken");
    b.offline = true;
    assert_string_equal(admin_state_name(&b), "offline");
    b = (struct admin_backend){.state = BACKEND_UNKNOWN};
    assert_string_equal(admin_state_name(&b), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_shows),
        cmocka_unit_test(test_parse_actions),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test_setup(test_show_backends, setup),
        cmocka_unit_test_setup(test_show_backends_overflow, setup),
        cmocka_unit_test_setup(test_show_sessions, setup),
        cmocka_unit_test_setup(test_status_page_pin_reasons, setup),
        cmocka_unit_test_setup(test_status_page_pools, setup),
        cmocka_unit_test_setup(test_show_stats, setup),
        cmocka_unit_test(test_percentiles),
        cmocka_unit_test_setup(test_show_config_hides_secrets, setup),
        cmocka_unit_test_setup(test_show_version, setup),
        cmocka_unit_test_setup(test_metrics_format, setup),
        cmocka_unit_test_setup(test_metrics_galera, setup),
        cmocka_unit_test_setup(test_metrics_label_escaping, setup),
        cmocka_unit_test_setup(test_health, setup),
        cmocka_unit_test(test_http_parse),
        cmocka_unit_test_setup(test_http_respond, setup),
        cmocka_unit_test(test_state_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
