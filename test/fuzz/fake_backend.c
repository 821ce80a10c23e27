/* The fake MariaDB server behind fuzz_session. Each connection frames what
 * the proxy sends into logical packets and answers it at once: a greeting,
 * OK to any login, a one-row result set to SELECT/SHOW, OK (with the write's
 * GTID once the proxy turned on last_gtid tracking) to other statements, a
 * LOCAL INFILE request to LOAD DATA LOCAL, PREPARE_OK with one parameter
 * definition per '?', a binary row to executes of prepared SELECTs, and OK or
 * ERR to everything else; a statement naming fake_hangup closes the
 * connection instead of answering. Transactions follow BEGIN/COMMIT in the status
 * flags, so the proxy's routing sees them. */
#include "test/fuzz/fake_backend.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "protocol/handshake.h"
#include "protocol/packet.h"
#include "protocol/resultset.h"
#include "protocol/stmt.h"

#define FAKE_VERSION "10.11.6-MariaDB"
#define FAKE_CAPS (0x01FFFFFFu & ~(CLIENT_SSL | CLIENT_COMPRESS))
#define FAKE_INPUT_MAX (4u << 20) /* a connection sending more is closed */
#define FAKE_READ_CHUNK (64u * 1024u)
#define FAKE_REPLY_CAP 8192
#define FAKE_MAX_PARAMS 32
#define SESSION_TRACK_SYSTEM_VARIABLES 0x00

enum fake_state { FAKE_LOGIN, FAKE_COMMAND, FAKE_INFILE };

struct fake_conn {
    uv_tcp_t tcp;
    struct fake_backend *fb;
    enum fake_state state;
    bool closing;
    uint32_t caps;    /* what the proxy's handshake response asked for */
    bool in_trans;    /* between BEGIN and COMMIT/ROLLBACK */
    bool tracks_gtid; /* the proxy asked for last_gtid in session tracking */
    uint32_t gtid_seq;
    uint32_t next_stmt;
    uint8_t *in;
    size_t in_len, in_cap;
};

struct fake_write {
    uv_write_t req;
    struct fake_backend *fb;
    uint8_t data[];
};

static void on_conn_closed(uv_handle_t *h)
{
    struct fake_conn *c = h->data;
    free(c->in);
    free(c);
}

static void conn_close(struct fake_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_written(uv_write_t *req, int status)
{
    (void)status;
    struct fake_write *fw = (struct fake_write *)req;
    fw->fb->activity++;
    free(fw);
}

/* Every reply goes out in one write of its own copy. */
static void conn_send(struct fake_conn *c, const uint8_t *data, size_t len)
{
    struct fake_write *fw = malloc(sizeof *fw + len);
    if (!fw) {
        conn_close(c);
        return;
    }
    fw->fb = c->fb;
    memcpy(fw->data, data, len);
    uv_buf_t b = uv_buf_init((char *)fw->data, (unsigned)len);
    if (uv_write(&fw->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        free(fw);
        conn_close(c);
    }
}

/* --- building replies (a resultset_writer is the buffer for all of them) - */

static void reply_init(struct resultset_writer *r, uint8_t *buf, const struct fake_conn *c,
                       uint8_t seq)
{
    *r = (struct resultset_writer){.buf = buf, .cap = FAKE_REPLY_CAP, .seq = seq, .caps = c->caps};
}

static void reply_grew(struct resultset_writer *r, size_t n)
{
    if (n == 0)
        r->overflow = true;
    r->len += n;
}

static void reply_raw(struct resultset_writer *r, const uint8_t *payload, size_t len)
{
    reply_grew(r, raw_packet_build(r->buf + r->len, r->cap - r->len, r->seq++, payload, len));
}

static void reply_ok(struct resultset_writer *r, uint16_t status)
{
    reply_grew(r, ok_packet_build(r->buf + r->len, r->cap - r->len, r->seq++, r->caps, 0, 0,
                                  status, 0));
}

static void reply_err(struct resultset_writer *r, uint16_t code, const char *message)
{
    reply_grew(r, err_packet_build(r->buf + r->len, r->cap - r->len, r->seq++, code, "HY000",
                                   message));
}

static void reply_send(struct fake_conn *c, const struct resultset_writer *r)
{
    if (r->overflow) {
        fprintf(stderr, "fake_backend: reply does not fit %d bytes\n", FAKE_REPLY_CAP);
        abort();
    }
    conn_send(c, r->buf, r->len);
}

static uint16_t conn_status(const struct fake_conn *c)
{
    return SERVER_STATUS_AUTOCOMMIT | (c->in_trans ? SERVER_STATUS_IN_TRANS : 0);
}

/* A write's OK, carrying last_gtid as a tracked system variable the way
 * MariaDB does once session_track_system_variables includes it. */
static void reply_write_ok(struct resultset_writer *r, struct fake_conn *c)
{
    if (!c->tracks_gtid || !(c->caps & CLIENT_SESSION_TRACK)) {
        reply_ok(r, conn_status(c));
        return;
    }
    char gtid[32];
    int glen = snprintf(gtid, sizeof gtid, "0-1-%u", ++c->gtid_seq);
    static const char name[] = "last_gtid";
    uint8_t var[64], p[96];
    size_t v = 0, n = 0;
    var[v++] = (uint8_t)(sizeof name - 1);
    memcpy(var + v, name, sizeof name - 1);
    v += sizeof name - 1;
    var[v++] = (uint8_t)glen;
    memcpy(var + v, gtid, (size_t)glen);
    v += (size_t)glen;
    p[n++] = PACKET_OK;
    p[n++] = 1; /* affected rows */
    p[n++] = 0; /* last insert id */
    write_u16(p + n, conn_status(c) | SERVER_SESSION_STATE_CHANGED);
    n += 2;
    write_u16(p + n, 0);
    n += 2;
    p[n++] = 0;           /* info: empty */
    p[n++] = (uint8_t)(v + 2); /* session state block */
    p[n++] = SESSION_TRACK_SYSTEM_VARIABLES;
    p[n++] = (uint8_t)v;
    memcpy(p + n, var, v);
    n += v;
    reply_raw(r, p, n);
}

/* --- commands ------------------------------------------------------------ */

static bool has_word(const uint8_t *text, size_t len, const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i + n <= len; i++)
        if (strncasecmp((const char *)text + i, word, n) == 0)
            return true;
    return false;
}

static bool starts_with(const uint8_t *text, size_t len, const char *word)
{
    while (len > 0 && (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')) {
        text++;
        len--;
    }
    size_t n = strlen(word);
    return len >= n && strncasecmp((const char *)text, word, n) == 0;
}

/* The one value a SELECT returns: what the proxy's own statements expect
 * (a GTID for @@last_gtid, 0 for a GTID wait that succeeded), else 1. */
static const char *select_value(const uint8_t *sql, size_t len)
{
    if (has_word(sql, len, "GTID_WAIT") || has_word(sql, len, "WAIT_FOR_EXECUTED"))
        return "0";
    if (has_word(sql, len, "last_gtid") || has_word(sql, len, "gtid_executed"))
        return "0-1-5";
    return "1";
}

static void text_result(struct resultset_writer *r, struct fake_conn *c, const char *value)
{
    resultset_begin(r, r->buf, r->cap, r->seq, r->caps, 1);
    resultset_column(r, "v");
    resultset_columns_end(r);
    resultset_row(r, &value, 1);
    resultset_end(r, conn_status(c));
}

static void on_query(struct fake_conn *c, struct resultset_writer *r, const uint8_t *sql,
                     size_t len)
{
    static const uint8_t infile[] = {PACKET_LOCAL_INFILE, 'f', 'u', 'z', 'z', '.', 'c', 's', 'v'};
    if (has_word(sql, len, "session_track_system_variables"))
        c->tracks_gtid = true;
    if (has_word(sql, len, "fake_hangup")) {
        conn_close(c); /* a server that dies mid-statement */
    } else if (has_word(sql, len, "LOCAL INFILE")) {
        c->state = FAKE_INFILE;
        reply_raw(r, infile, sizeof infile);
    } else if (has_word(sql, len, "no_such_table")) {
        reply_err(r, 1146, "Table 'fuzz.no_such_table' doesn't exist");
    } else if (starts_with(sql, len, "BEGIN") || starts_with(sql, len, "START")) {
        c->in_trans = true;
        reply_ok(r, conn_status(c));
    } else if (starts_with(sql, len, "COMMIT") || starts_with(sql, len, "ROLLBACK")) {
        c->in_trans = false;
        reply_ok(r, conn_status(c));
    } else if (has_word(sql, len, "SELECT") || has_word(sql, len, "SHOW")) {
        text_result(r, c, select_value(sql, len));
    } else {
        reply_write_ok(r, c);
    }
}

/* PREPARE_OK; the statement id's low bit remembers whether it has a column,
 * so its executes know what to answer. */
static void on_prepare(struct fake_conn *c, struct resultset_writer *r, const uint8_t *sql,
                       size_t len)
{
    uint16_t columns = has_word(sql, len, "SELECT") ? 1 : 0;
    uint16_t params = 0;
    for (size_t i = 0; i < len && params < FAKE_MAX_PARAMS; i++)
        params += sql[i] == '?';
    uint32_t id = (++c->next_stmt << 1) | columns;
    uint8_t p[12] = {PACKET_OK};
    write_u32(p + 1, id);
    write_u16(p + 5, columns);
    write_u16(p + 7, params);
    reply_raw(r, p, sizeof p);
    for (uint16_t i = 0; i < params; i++)
        resultset_column(r, "?");
    if (params)
        resultset_columns_end(r);
    if (columns) {
        resultset_column(r, "v");
        resultset_columns_end(r);
    }
}

static void on_execute(struct fake_conn *c, struct resultset_writer *r, const uint8_t *p,
                       size_t len)
{
    if (len < 5 || !(stmt_id_read(p + 1) & 1)) {
        reply_write_ok(r, c);
        return;
    }
    static const uint8_t row[] = {0x00, 0x00, 0x01, '1'}; /* header, NULL bitmap, "1" */
    resultset_begin(r, r->buf, r->cap, r->seq, r->caps, 1);
    resultset_column(r, "v");
    resultset_columns_end(r);
    reply_raw(r, row, sizeof row);
    resultset_end(r, conn_status(c));
}

static void on_command(struct fake_conn *c, struct resultset_writer *r, const uint8_t *p,
                       size_t len)
{
    static const char stats[] = "Uptime: 1  Threads: 1  Questions: 1";
    if (len == 0) {
        reply_err(r, ER_UNKNOWN_COM_ERROR, "empty packet");
        return;
    }
    switch (p[0]) {
    case COM_QUIT:
        conn_close(c);
        return;
    case COM_STMT_CLOSE:
    case COM_STMT_SEND_LONG_DATA:
        return;
    case COM_QUERY:
        on_query(c, r, p + 1, len - 1);
        return;
    case COM_STMT_PREPARE:
        on_prepare(c, r, p + 1, len - 1);
        return;
    case COM_STMT_EXECUTE:
        on_execute(c, r, p, len);
        return;
    case COM_STATISTICS:
        reply_raw(r, (const uint8_t *)stats, sizeof stats - 1);
        return;
    case COM_CHANGE_USER:
    case COM_RESET_CONNECTION:
        c->in_trans = false;
        c->tracks_gtid = false;
        reply_ok(r, conn_status(c));
        return;
    case COM_PING:
    case COM_INIT_DB:
    case COM_SET_OPTION:
    case COM_STMT_RESET:
    case COM_REFRESH:
    case COM_PROCESS_KILL:
    case COM_CREATE_DB:
    case COM_DROP_DB:
        reply_ok(r, conn_status(c));
        return;
    default:
        reply_err(r, ER_UNKNOWN_COM_ERROR, "Unknown command");
        return;
    }
}

static void on_packet(struct fake_conn *c, const uint8_t *p, size_t len, uint8_t seq)
{
    uint8_t buf[FAKE_REPLY_CAP];
    struct resultset_writer r;
    reply_init(&r, buf, c, (uint8_t)(seq + 1));
    switch (c->state) {
    case FAKE_LOGIN: {
        struct handshake_response hr;
        if (handshake_response_parse(p, len, &hr) != 0) {
            reply_err(&r, ER_HANDSHAKE_ERROR, "Bad handshake");
            break;
        }
        c->caps = hr.capabilities & FAKE_CAPS;
        r.caps = c->caps;
        c->state = FAKE_COMMAND;
        reply_ok(&r, conn_status(c));
        break;
    }
    case FAKE_INFILE:
        if (len > 0)
            return;
        c->state = FAKE_COMMAND;
        reply_write_ok(&r, c);
        break;
    case FAKE_COMMAND:
        on_command(c, &r, p, len);
        break;
    }
    if (r.len > 0 && !c->closing)
        reply_send(c, &r);
}

/* Answers every complete packet in the buffer, in order. */
static void process_input(struct fake_conn *c)
{
    size_t off = 0, wire, payload;
    while (!c->closing && logical_packet_span(c->in + off, c->in_len - off, &wire, &payload)) {
        const uint8_t *pkt = c->in + off;
        if (wire == payload + PACKET_HEADER_LEN) {
            on_packet(c, pkt + PACKET_HEADER_LEN, payload, packet_seq(pkt));
        } else {
            uint8_t *gathered = malloc(payload ? payload : 1);
            if (!gathered) {
                conn_close(c);
                return;
            }
            logical_packet_gather(pkt, wire, gathered);
            on_packet(c, gathered, payload, packet_seq(pkt));
            free(gathered);
        }
        off += wire;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct fake_conn *c = h->data;
    *buf = uv_buf_init(NULL, 0); /* no room: libuv reports UV_ENOBUFS, the read closes */
    if (c->in_cap - c->in_len < FAKE_READ_CHUNK) {
        size_t cap = c->in_len + FAKE_READ_CHUNK;
        if (cap > FAKE_INPUT_MAX)
            return;
        uint8_t *in = realloc(c->in, cap);
        if (!in)
            return;
        c->in = in;
        c->in_cap = cap;
    }
    *buf = uv_buf_init((char *)c->in + c->in_len, (unsigned)(c->in_cap - c->in_len));
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    struct fake_conn *c = st->data;
    if (n == 0)
        return;
    c->fb->activity++;
    if (n < 0) {
        conn_close(c);
        return;
    }
    c->in_len += (size_t)n;
    process_input(c);
}

static void send_greeting(struct fake_conn *c)
{
    static const uint8_t scramble[SCRAMBLE_LEN] = "abcdefghijklmnopqrst";
    uint8_t buf[256];
    size_t n = server_handshake_build(buf, sizeof buf, FAKE_VERSION, ++c->fb->next_thread_id,
                                      scramble, FAKE_CAPS, 45, SERVER_STATUS_AUTOCOMMIT);
    conn_send(c, buf, n);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct fake_backend *fb = server->data;
    fb->activity++;
    if (status < 0)
        return;
    struct fake_conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->fb = fb;
    uv_tcp_init(server->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    send_greeting(c);
}

int fake_backend_bind(struct fake_backend *fb, int n)
{
    memset(fb, 0, sizeof *fb);
    if (n < 1 || n > FAKE_BACKEND_MAX_PORTS)
        return -1;
    for (int i = 0; i < n; i++) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t alen = sizeof a;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 128) != 0 ||
            getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
            fprintf(stderr, "fake_backend: cannot listen on 127.0.0.1: %s\n", strerror(errno));
            if (fd >= 0)
                close(fd);
            return -1;
        }
        fb->fd[i] = fd;
        fb->port[i] = ntohs(a.sin_port);
        fb->n = i + 1;
    }
    return 0;
}

int fake_backend_start(struct fake_backend *fb, uv_loop_t *loop)
{
    for (int i = 0; i < fb->n; i++) {
        if (uv_tcp_init(loop, &fb->listener[i]) != 0 ||
            uv_tcp_open(&fb->listener[i], fb->fd[i]) != 0 ||
            uv_listen((uv_stream_t *)&fb->listener[i], 128, on_connection) != 0) {
            fprintf(stderr, "fake_backend: cannot start listener %d\n", i);
            return -1;
        }
        fb->listener[i].data = fb;
    }
    return 0;
}
