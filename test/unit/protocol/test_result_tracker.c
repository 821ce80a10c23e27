#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "protocol/handshake.h"
#include "protocol/packet.h"
#include "protocol/result_tracker.h"
#include "protocol/stmt.h"

#define CAPS (CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS | CLIENT_MULTI_RESULTS)
#define CAPS_DE (CAPS | CLIENT_DEPRECATE_EOF)

/* A backend's output under construction. */
struct stream {
    uint8_t *buf;
    size_t len, cap;
    uint8_t seq;
};

static void s_init(struct stream *s, size_t cap)
{
    s->buf = malloc(cap);
    assert_non_null(s->buf);
    s->len = 0;
    s->cap = cap;
    s->seq = 1;
}

static void s_packet(struct stream *s, const void *payload, size_t n)
{
    assert_true(n < PACKET_MAX_PAYLOAD && s->len + 4 + n <= s->cap);
    if (n >= PACKET_MAX_PAYLOAD || s->len + 4 + n > s->cap)
        return; /* unreachable after the assert; tells the optimiser the bound */
    packet_write_header(s->buf + s->len, (uint32_t)n, s->seq++);
    memcpy(s->buf + s->len + 4, payload, n);
    s->len += 4 + n;
}

static void s_ok(struct stream *s, uint8_t header, uint64_t affected, uint64_t insert_id,
                 uint16_t status, uint16_t warnings)
{
    uint8_t p[32];
    size_t n = ok_packet_build(p, sizeof(p), 0, CAPS, affected, insert_id, status, warnings);
    p[4] = header;
    s_packet(s, p + 4, n - 4);
}

static void s_err(struct stream *s, uint16_t code, const char *msg)
{
    uint8_t p[300];
    size_t n = err_packet_build(p, sizeof(p), 0, code, "42S02", msg);
    s_packet(s, p + 4, n - 4);
}

static void s_eof_warned(struct stream *s, uint16_t status, uint16_t warnings)
{
    uint8_t p[9];
    eof_packet_build(p, sizeof(p), 0, warnings, status);
    s_packet(s, p + 4, 5);
}

static void s_eof(struct stream *s, uint16_t status) { s_eof_warned(s, status, 0); }

/* Column count, definitions and (without DEPRECATE_EOF) their EOF. */
static void s_columns(struct stream *s, unsigned ncols, bool deprecate_eof)
{
    static const uint8_t def[] = {3, 'd', 'e', 'f', 2, 'd', 'b', 1, 't', 1, 't', 1, 'c', 1, 'c',
                                  0x0c, 0x21, 0, 0, 1, 0, 0, 0, 0xfd, 0, 0, 0, 0, 0};
    uint8_t count = (uint8_t)ncols;
    s_packet(s, &count, 1);
    for (unsigned i = 0; i < ncols; i++)
        s_packet(s, def, sizeof(def));
    if (!deprecate_eof)
        s_eof(s, SERVER_STATUS_AUTOCOMMIT);
}

static void s_text_rows(struct stream *s, unsigned nrows)
{
    static const uint8_t row[] = {1, '7', 0xfb, 5, 'h', 'e', 'l', 'l', 'o'};
    for (unsigned i = 0; i < nrows; i++)
        s_packet(s, row, sizeof(row));
}

/* The end of a result set's rows, with the warnings the statement left. */
static void s_end_warned(struct stream *s, bool deprecate_eof, uint16_t status,
                         uint16_t warnings)
{
    if (deprecate_eof)
        s_ok(s, 0xFE, 0, 0, status, warnings);
    else
        s_eof_warned(s, status, warnings);
}

static void s_end(struct stream *s, bool deprecate_eof, uint16_t status)
{
    s_end_warned(s, deprecate_eof, status, 0);
}

static size_t feed(struct result_tracker *rt, const uint8_t *d, size_t len, size_t chunk,
                   enum rt_status *st)
{
    size_t total = 0;

    *st = RT_CONTINUE;
    while (total < len) {
        size_t n = len - total < chunk ? len - total : chunk;
        size_t used = result_tracker_consume(rt, d + total, n, st);
        total += used;
        if (*st != RT_CONTINUE)
            break;
        assert_int_equal(used, n);
    }
    return total;
}

static void assert_same_results(const struct result_tracker *a, const struct result_tracker *b)
{
    assert_int_equal(a->last_seq, b->last_seq);
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->saw_status, b->saw_status);
    assert_int_equal(a->is_error, b->is_error);
    assert_int_equal(a->err_code, b->err_code);
    assert_string_equal(a->err_sqlstate, b->err_sqlstate);
    assert_string_equal(a->err_message, b->err_message);
    assert_true(a->affected_rows == b->affected_rows);
    assert_true(a->last_insert_id == b->last_insert_id);
    assert_int_equal(a->warnings, b->warnings);
    assert_int_equal(a->session_state_len, b->session_state_len);
    assert_memory_equal(a->session_state, b->session_state, a->session_state_len);
    assert_true(a->result_sets == b->result_sets);
    assert_int_equal(a->stmt_id, b->stmt_id);
    assert_int_equal(a->num_columns, b->num_columns);
    assert_int_equal(a->num_params, b->num_params);
}

static struct result_tracker rt, rt_other;

/* The request the next run() reports to the tracker; none when NULL. */
static const uint8_t *run_request;
static size_t run_request_len;

static void start(struct result_tracker *t, uint8_t cmd, uint64_t caps)
{
    result_tracker_start(t, cmd, caps);
    if (run_request)
        result_tracker_note_request(t, run_request, run_request_len);
}

/* Feeds the stream all at once, then in 1- and 7-byte chunks, checking all
 * three agree. Returns the bytes consumed; rt holds the one-shot results. */
static size_t run(uint8_t cmd, uint64_t caps, const struct stream *s, enum rt_status want)
{
    static const size_t chunks[] = {1, 7};
    enum rt_status st, st_other;
    size_t used, used_other;

    start(&rt, cmd, caps);
    used = feed(&rt, s->buf, s->len, s->len ? s->len : 1, &st);
    assert_int_equal(st, want);
    for (size_t i = 0; i < 2; i++) {
        start(&rt_other, cmd, caps);
        used_other = feed(&rt_other, s->buf, s->len, chunks[i], &st_other);
        assert_int_equal(st_other, want);
        assert_int_equal(used_other, used);
        assert_same_results(&rt, &rt_other);
    }
    return used;
}

static void test_ok(void **state)
{
    struct stream s;
    (void)state;
    s_init(&s, 256);
    s_ok(&s, 0x00, 3, 42, SERVER_STATUS_AUTOCOMMIT | SERVER_STATUS_IN_TRANS, 1);
    assert_int_equal(run(COM_QUERY, CAPS, &s, RT_DONE), s.len);
    assert_true(rt.saw_status);
    assert_false(rt.is_error);
    assert_int_equal(rt.status, SERVER_STATUS_AUTOCOMMIT | SERVER_STATUS_IN_TRANS);
    assert_true(rt.affected_rows == 3 && rt.last_insert_id == 42);
    assert_int_equal(rt.warnings, 1);
    assert_int_equal(rt.last_seq, 1);
    assert_true(rt.result_sets == 0);
    free(s.buf);
}

static void test_err(void **state)
{
    struct stream s;
    (void)state;
    s_init(&s, 256);
    s_err(&s, 1146, "Table 'shop.x' doesn't exist");
    assert_int_equal(run(COM_QUERY, CAPS, &s, RT_DONE), s.len);
    assert_true(rt.is_error);
    assert_false(rt.saw_status);
    assert_int_equal(rt.err_code, 1146);
    assert_string_equal(rt.err_sqlstate, "42S02");
    assert_string_equal(rt.err_message, "Table 'shop.x' doesn't exist");
    free(s.buf);
}

static void test_err_message_truncated(void **state)
{
    struct stream s;
    char msg[400];
    (void)state;
    memset(msg, 'm', sizeof(msg) - 1);
    msg[sizeof(msg) - 1] = '\0';
    s_init(&s, 1024);
    s_err(&s, 1105, msg);
    assert_int_equal(run(COM_PING, CAPS, &s, RT_DONE), s.len);
    assert_int_equal(strlen(rt.err_message), sizeof(rt.err_message) - 1);
    free(s.buf);
}

static void text_resultset(bool de)
{
    struct stream s;
    s_init(&s, 4096);
    s_columns(&s, 2, de);
    s_text_rows(&s, 3);
    s_end_warned(&s, de, SERVER_STATUS_IN_TRANS, 2);
    assert_int_equal(run(COM_QUERY, de ? CAPS_DE : CAPS, &s, RT_DONE), s.len);
    assert_true(rt.result_sets == 1);
    assert_true(rt.saw_status);
    assert_int_equal(rt.status, SERVER_STATUS_IN_TRANS);
    assert_int_equal(rt.warnings, 2); /* also from a classic EOF: SHOW WARNINGS needs it */
    assert_false(rt.is_error);
    assert_true(rt.ended_with_rows);
    assert_int_equal(rt.last_seq, s.seq - 1);
    free(s.buf);
}

static void test_text_resultset_eof(void **state)
{
    (void)state;
    text_resultset(false);
}

static void test_text_resultset_deprecate_eof(void **state)
{
    (void)state;
    text_resultset(true);
}

/* Like CALL p(): two result sets, each announcing more, then the final OK. */
static void multi_results(bool de)
{
    struct stream s;
    const uint16_t more = SERVER_MORE_RESULTS_EXISTS | SERVER_STATUS_AUTOCOMMIT;
    s_init(&s, 4096);
    s_columns(&s, 1, de);
    s_text_rows(&s, 2);
    s_end(&s, de, more);
    s_columns(&s, 3, de);
    s_text_rows(&s, 1);
    s_end(&s, de, more);
    s_ok(&s, 0x00, 0, 0, SERVER_STATUS_AUTOCOMMIT, 0);
    assert_int_equal(run(COM_QUERY, de ? CAPS_DE : CAPS, &s, RT_DONE), s.len);
    assert_true(rt.result_sets == 2);
    assert_int_equal(rt.status, SERVER_STATUS_AUTOCOMMIT);
    assert_false(rt.ended_with_rows); /* the final OK carries the session state */
    /* cut before the final OK: still waiting */
    assert_int_equal(run(COM_QUERY, de ? CAPS_DE : CAPS,
                         &(struct stream){s.buf, s.len - 11, 0, 0}, RT_CONTINUE), s.len - 11);
    free(s.buf);
}

static void test_multi_results(void **state)
{
    (void)state;
    multi_results(false);
    multi_results(true);
}

static void test_multi_statement_oks(void **state)
{
    struct stream s;
    (void)state;
    s_init(&s, 256);
    s_ok(&s, 0x00, 1, 0, SERVER_MORE_RESULTS_EXISTS, 0);
    s_ok(&s, 0x00, 2, 9, SERVER_STATUS_AUTOCOMMIT, 0);
    assert_int_equal(run(COM_QUERY, CAPS, &s, RT_DONE), s.len);
    assert_true(rt.affected_rows == 2 && rt.last_insert_id == 9);
    free(s.buf);
}

static void test_err_mid_rows(void **state)
{
    struct stream s;
    (void)state;
    for (int de = 0; de < 2; de++) {
        s_init(&s, 4096);
        s_columns(&s, 2, de);
        s_text_rows(&s, 2);
        s_err(&s, 1317, "Query execution was interrupted");
        assert_int_equal(run(COM_QUERY, de ? CAPS_DE : CAPS, &s, RT_DONE), s.len);
        assert_true(rt.is_error);
        assert_false(rt.ended_with_rows);
        assert_int_equal(rt.err_code, 1317);
        assert_true(rt.result_sets == 1);
        free(s.buf);
    }
}

static void test_binary_rows(void **state)
{
    static const uint8_t row[] = {0x00, 0x00, 7, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t short_row[] = {0x00, 0x04};
    struct stream s;
    (void)state;
    s_init(&s, 4096);
    s_columns(&s, 1, false);
    s_packet(&s, row, sizeof(row));
    s_packet(&s, short_row, sizeof(short_row));
    s_eof(&s, SERVER_STATUS_AUTOCOMMIT | SERVER_STATUS_LAST_ROW_SENT);
    assert_int_equal(run(COM_STMT_EXECUTE, CAPS, &s, RT_DONE), s.len);
    assert_int_equal(rt.status, SERVER_STATUS_AUTOCOMMIT | SERVER_STATUS_LAST_ROW_SENT);
    free(s.buf);
}

/* A 16 MiB+ text row starting with 0xFE (8-byte length prefix), split in two
 * physical packets; the second looks like an EOF but continues the row. */
static void big_row(bool de, size_t tail)
{
    struct stream s;
    const size_t payload = PACKET_MAX_PAYLOAD + tail;
    uint8_t eofish[] = {0xFE, 0, 0, 0x02, 0};

    s_init(&s, payload + 64 + 4096);
    s_columns(&s, 1, de);
    packet_write_header(s.buf + s.len, PACKET_MAX_PAYLOAD, s.seq++);
    s.buf[s.len + 4] = 0xFE;
    write_u32(s.buf + s.len + 5, (uint32_t)(payload - 9));
    write_u32(s.buf + s.len + 9, 0);
    memset(s.buf + s.len + 13, 'x', PACKET_MAX_PAYLOAD - 9);
    s.len += 4 + PACKET_MAX_PAYLOAD;
    packet_write_header(s.buf + s.len, (uint32_t)tail, s.seq++);
    memcpy(s.buf + s.len + 4, eofish, tail);
    s.len += 4 + tail;
    s_text_rows(&s, 1);
    s_end(&s, de, SERVER_STATUS_AUTOCOMMIT);

    result_tracker_start(&rt, COM_QUERY, de ? CAPS_DE : CAPS);
    enum rt_status st;
    assert_int_equal(feed(&rt, s.buf, s.len, s.len, &st), s.len);
    assert_int_equal(st, RT_DONE);
    result_tracker_start(&rt_other, COM_QUERY, de ? CAPS_DE : CAPS);
    assert_int_equal(feed(&rt_other, s.buf, s.len, 4093, &st), s.len);
    assert_int_equal(st, RT_DONE);
    assert_same_results(&rt, &rt_other);
    assert_int_equal(rt.status, SERVER_STATUS_AUTOCOMMIT);
    free(s.buf);
}

static void test_big_split_row(void **state)
{
    (void)state;
    big_row(false, 5);
    big_row(true, 5);
    big_row(true, 0); /* exactly 0xFFFFFF bytes, ended by an empty packet */
}

/* Byte by byte through a result set: inside a packet exactly between a
 * packet's first byte and its last. */
static void test_inside_packet(void **state)
{
    struct stream s;
    (void)state;
    s_init(&s, 4096);
    s_columns(&s, 1, false);
    s_text_rows(&s, 2);
    s_end(&s, false, SERVER_STATUS_AUTOCOMMIT);
    result_tracker_start(&rt, COM_QUERY, CAPS);
    assert_false(result_tracker_inside_packet(&rt));
    size_t next_start = 0;
    enum rt_status st = RT_CONTINUE;
    for (size_t i = 0; i < s.len; i++) {
        if (i == next_start) {
            assert_false(result_tracker_inside_packet(&rt));
            next_start += PACKET_HEADER_LEN + packet_payload_len(s.buf + i);
        } else {
            assert_true(result_tracker_inside_packet(&rt));
        }
        assert_int_equal(result_tracker_consume(&rt, s.buf + i, 1, &st), 1);
    }
    assert_int_equal(st, RT_DONE);
    assert_false(result_tracker_inside_packet(&rt));
    free(s.buf);
}

static void prepare(bool de)
{
    static const uint8_t prep_ok[] = {0x00, 7, 0, 0, 0, 2, 0, 3, 0, 0, 1, 0};
    struct stream s;
    s_init(&s, 4096);
    s_packet(&s, prep_ok, sizeof(prep_ok));
    s_text_rows(&s, 3); /* stand-ins for parameter definitions */
    if (!de)
        s_eof(&s, SERVER_STATUS_AUTOCOMMIT);
    s_text_rows(&s, 2);
    if (!de)
        s_eof(&s, SERVER_STATUS_AUTOCOMMIT);
    s_ok(&s, 0x00, 0, 0, 0, 0); /* the next command's reply: not consumed */
    assert_int_equal(run(COM_STMT_PREPARE, de ? CAPS_DE : CAPS, &s, RT_DONE), s.len - 11);
    assert_int_equal(rt.stmt_id, 7);
    assert_int_equal(rt.num_columns, 2);
    assert_int_equal(rt.num_params, 3);
    assert_int_equal(rt.warnings, 1);
    assert_false(rt.is_error);
    free(s.buf);
}

static void test_prepare(void **state)
{
    static const uint8_t none[] = {0x00, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t cols_only[] = {0x00, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
    struct stream s;
    (void)state;
    prepare(false);
    prepare(true);
    s_init(&s, 4096);
    s_packet(&s, none, sizeof(none));
    assert_int_equal(run(COM_STMT_PREPARE, CAPS, &s, RT_DONE), s.len);
    assert_int_equal(rt.stmt_id, 8);
    s.len = 0;
    s_packet(&s, cols_only, sizeof(cols_only));
    s_text_rows(&s, 1);
    s_eof(&s, 0);
    assert_int_equal(run(COM_STMT_PREPARE, CAPS, &s, RT_DONE), s.len);
    s.len = 0;
    s_err(&s, 1064, "syntax");
    assert_int_equal(run(COM_STMT_PREPARE, CAPS, &s, RT_DONE), s.len);
    assert_true(rt.is_error);
    free(s.buf);
}

/* COM_STMT_EXECUTE of statement 1, flags = cursor type, 1 iteration. */
static const uint8_t EXECUTE_CURSOR[] = {COM_STMT_EXECUTE, 1, 0, 0, 0, CURSOR_TYPE_READ_ONLY,
                                         1, 0, 0, 0};
static const uint8_t EXECUTE_NO_CURSOR[] = {COM_STMT_EXECUTE, 1, 0, 0, 0, 0, 1, 0, 0, 0};

static void test_cursor(void **state)
{
    struct stream s;
    (void)state;
    s_init(&s, 4096);
    s_columns(&s, 1, true);
    s_eof(&s, SERVER_STATUS_CURSOR_EXISTS | SERVER_STATUS_AUTOCOMMIT);
    s_eof(&s, 0); /* would be the COM_STMT_FETCH reply's */
    run_request = EXECUTE_CURSOR;
    run_request_len = sizeof EXECUTE_CURSOR;
    assert_int_equal(run(COM_STMT_EXECUTE, CAPS, &s, RT_DONE), s.len - 9);
    run_request = NULL;
    assert_true(rt.cursor_requested);
    assert_true(rt.status & SERVER_STATUS_CURSOR_EXISTS);
    /* then COM_STMT_FETCH: rows, EOF */
    s.len = 0;
    s_packet(&s, (const uint8_t[]){0x00, 0x00, 1, 0, 0, 0}, 6);
    s_eof(&s, SERVER_STATUS_CURSOR_EXISTS | SERVER_MORE_RESULTS_EXISTS);
    assert_int_equal(run(COM_STMT_FETCH, CAPS, &s, RT_DONE), s.len);
    s.len = 0;
    s_err(&s, 1243, "Unknown prepared statement handler");
    assert_int_equal(run(COM_STMT_FETCH, CAPS, &s, RT_DONE), s.len);
    free(s.buf);
}

/* A stored procedure's internal cursor leaves CURSOR_EXISTS in the status
 * of the result it returns (CALL p() with OPEN c; FETCH c; SELECT x): no
 * cursor was asked for, so its rows and the final OK follow. */
static void procedure_cursor_flag(uint8_t cmd, const uint8_t *req, size_t req_len)
{
    const uint16_t leaked = SERVER_STATUS_CURSOR_EXISTS | SERVER_MORE_RESULTS_EXISTS |
                            SERVER_STATUS_AUTOCOMMIT;
    struct stream s;
    s_init(&s, 4096);
    s_columns(&s, 1, true);
    s_eof(&s, leaked); /* the columns' EOF carries the leaked flag */
    s_text_rows(&s, 1);
    s_eof(&s, leaked);
    s_ok(&s, 0x00, 0, 0, SERVER_STATUS_AUTOCOMMIT, 0);
    run_request = req;
    run_request_len = req_len;
    assert_int_equal(run(cmd, CAPS, &s, RT_DONE), s.len);
    run_request = NULL;
    assert_false(rt.cursor_requested);
    assert_int_equal(rt.status, SERVER_STATUS_AUTOCOMMIT);
    assert_true(rt.result_sets == 1);
    free(s.buf);
}

static void test_procedure_cursor_flag(void **state)
{
    static const uint8_t query[] = {COM_QUERY, 'C', 'A', 'L', 'L', ' ', 'p', '(', ')'};
    (void)state;
    procedure_cursor_flag(COM_QUERY, query, sizeof query);
    procedure_cursor_flag(COM_QUERY, NULL, 0);
    procedure_cursor_flag(COM_STMT_EXECUTE, EXECUTE_NO_CURSOR, sizeof EXECUTE_NO_CURSOR);
}

/* MariaDB's progress report: ERR header, code 0xFFFF, stage 1 of 2,
 * progress (u24, per mille), lenenc "copy to tmp table". */
static void s_progress(struct stream *s)
{
    static const uint8_t p[] = {0xFF, 0xFF, 0xFF, 1, 2, 0xF4, 0x01, 0x00, 17,
                                'c',  'o',  'p',  'y', ' ', 't', 'o', ' ', 't',
                                'm',  'p',  ' ',  't', 'a', 'b', 'l', 'e'};
    s_packet(s, p, sizeof p);
}

/* Progress reports precede the answer when the client asked for them
 * (ALTER TABLE, LOAD DATA, and a CALL whose statement reports them). */
static void test_progress(void **state)
{
    const uint64_t caps = CAPS | MARIADB_CLIENT_PROGRESS;
    struct stream s;
    (void)state;
    s_init(&s, 4096);
    s_progress(&s);
    s_progress(&s);
    s_ok(&s, 0x00, 5, 0, SERVER_STATUS_AUTOCOMMIT, 0);
    assert_int_equal(run(COM_QUERY, caps, &s, RT_DONE), s.len);
    assert_false(rt.is_error);
    assert_true(rt.affected_rows == 5);
    assert_true(rt.progress_reports == 2);
    assert_int_equal(rt.last_seq, 3);
    /* before a result set, and before an error */
    s.len = 0;
    s.seq = 1;
    s_progress(&s);
    s_columns(&s, 1, false);
    s_text_rows(&s, 1);
    s_eof(&s, SERVER_STATUS_AUTOCOMMIT);
    assert_int_equal(run(COM_STMT_EXECUTE, caps, &s, RT_DONE), s.len);
    assert_true(rt.result_sets == 1);
    s.len = 0;
    s_progress(&s);
    s_err(&s, 1062, "Duplicate entry");
    assert_int_equal(run(COM_QUERY, caps, &s, RT_DONE), s.len);
    assert_int_equal(rt.err_code, 1062);
    assert_true(packet_is_progress(s.buf + 4, 3));
    assert_false(packet_is_progress(s.buf + 4, 2));
    free(s.buf);
}

static void test_local_infile(void **state)
{
    static const uint8_t req[] = {0xFB, '/', 't', 'm', 'p', '/', 'x'};
    struct stream s;
    enum rt_status st;
    (void)state;
    s_init(&s, 256);
    s_packet(&s, req, sizeof(req));
    size_t req_len = s.len;
    s.seq = 3;
    s_ok(&s, 0x00, 10, 0, SERVER_MORE_RESULTS_EXISTS, 0);
    s_ok(&s, 0x00, 0, 0, SERVER_STATUS_AUTOCOMMIT, 0);
    for (size_t chunk = 1; chunk <= s.len; chunk += s.len - 1) {
        result_tracker_start(&rt, COM_QUERY, CAPS);
        assert_int_equal(feed(&rt, s.buf, s.len, chunk, &st), req_len);
        assert_int_equal(st, RT_LOCAL_INFILE);
        assert_int_equal(result_tracker_consume(&rt, s.buf + req_len, s.len - req_len, &st), 0);
        assert_int_equal(st, RT_LOCAL_INFILE);
        result_tracker_infile_done(&rt);
        assert_int_equal(feed(&rt, s.buf + req_len, s.len - req_len, chunk, &st), s.len - req_len);
        assert_int_equal(st, RT_DONE);
        assert_int_equal(rt.status, SERVER_STATUS_AUTOCOMMIT);
        assert_int_equal(rt.last_seq, 4);
    }
    free(s.buf);
}

static void test_trailing_bytes_not_consumed(void **state)
{
    struct stream s;
    enum rt_status st;
    (void)state;
    s_init(&s, 256);
    s_ok(&s, 0x00, 0, 0, 0, 0);
    s_err(&s, 1, "next");
    assert_int_equal(run(COM_PING, CAPS, &s, RT_DONE), 11);
    assert_int_equal(result_tracker_consume(&rt, s.buf + 11, s.len - 11, &st), 0);
    assert_int_equal(st, RT_DONE);
    assert_false(rt.is_error);
    free(s.buf);
}

static void test_other_commands(void **state)
{
    static const char stats[] = "Uptime: 10  Threads: 1  Questions: 3";
    struct stream s;
    (void)state;
    assert_false(command_has_response(COM_QUIT));
    assert_false(command_has_response(COM_STMT_CLOSE));
    assert_false(command_has_response(COM_STMT_SEND_LONG_DATA));
    assert_true(command_has_response(COM_PING));
    s_init(&s, 4096);
    s_packet(&s, stats, sizeof(stats) - 1);
    s_ok(&s, 0, 0, 0, 0, 0);
    assert_int_equal(run(COM_STATISTICS, CAPS, &s, RT_DONE), s.len - 11);
    assert_false(rt.saw_status);
    s.len = 0;
    s_text_rows(&s, 3); /* field definitions */
    s_eof(&s, SERVER_STATUS_AUTOCOMMIT);
    assert_int_equal(run(COM_FIELD_LIST, CAPS, &s, RT_DONE), s.len);
    assert_int_equal(rt.status, SERVER_STATUS_AUTOCOMMIT);
    s.len = 0;
    s_text_rows(&s, 2);
    s_ok(&s, 0xFE, 0, 0, SERVER_STATUS_AUTOCOMMIT, 0);
    assert_int_equal(run(COM_FIELD_LIST, CAPS_DE, &s, RT_DONE), s.len);
    s.len = 0;
    s_eof(&s, 2); /* COM_DEBUG answers EOF */
    assert_int_equal(run(COM_DEBUG, CAPS, &s, RT_DONE), s.len);
    assert_int_equal(rt.status, 2);
    s.len = 0;
    s_ok(&s, 0, 0, 0, 2, 0);
    assert_int_equal(run(COM_INIT_DB, CAPS, &s, RT_DONE), s.len);
    s.len = 0;
    s_packet(&s, "\xfemysql_native_password\0abcdefgh0123456789XY", 43);
    assert_int_equal(run(COM_CHANGE_USER, CAPS, &s, RT_DONE), s.len);
    assert_false(rt.saw_status);
    result_tracker_start(&rt, COM_QUIT, CAPS);
    enum rt_status st;
    assert_int_equal(result_tracker_consume(&rt, s.buf, s.len, &st), 0);
    assert_int_equal(st, RT_DONE);
    free(s.buf);
}

static void test_session_state(void **state)
{
    static const uint8_t ok[] = {0x00, 0, 0, 0x02, 0x40, 0, 0, 0, 5, 0, 3, 2, 'd', 'b'};
    struct stream s;
    uint8_t big[5000] = {0x00, 0, 0, 0x03, 0x40, 0, 0, 0xFC, 0x00, 0x13};
    (void)state;
    s_init(&s, 8192);
    s_packet(&s, ok, sizeof(ok));
    assert_int_equal(run(COM_QUERY, CAPS | CLIENT_SESSION_TRACK, &s, RT_DONE), s.len);
    assert_int_equal(rt.session_state_len, 5);
    assert_memory_equal(rt.session_state, "\x00\x03\x02" "db", 5);
    /* a result set ended, under DEPRECATE_EOF, by an OK longer than 9 bytes */
    s.len = 0;
    s_columns(&s, 1, true);
    s_text_rows(&s, 1);
    uint8_t end[sizeof(ok)];
    memcpy(end, ok, sizeof(ok));
    end[0] = 0xFE;
    s_packet(&s, end, sizeof(end));
    assert_int_equal(run(COM_QUERY, CAPS_DE | CLIENT_SESSION_TRACK, &s, RT_DONE), s.len);
    assert_int_equal(rt.session_state_len, 5);
    assert_true(rt.result_sets == 1);
    /* longer than the prefix: status still read, session state dropped */
    s.len = 0;
    s_packet(&s, big, sizeof(big));
    assert_int_equal(run(COM_QUERY, CAPS | CLIENT_SESSION_TRACK, &s, RT_DONE), s.len);
    assert_int_equal(rt.status, 0x4003);
    assert_int_equal(rt.session_state_len, 0);
    free(s.buf);
}

/* The GTID of a write in the first of two results is kept past the second
 * OK, which reports none; an OK too long to read whole says so. */
static void test_gtid_over_results(void **state)
{
    static const uint8_t with_gtid[] = {0x00, 1, 0, 0x0a, 0x40, 0, 0, 0,
                                        0x12, 0x00, 0x10, 0x09, 'l', 'a', 's', 't', '_', 'g', 't',
                                        'i', 'd', 0x05, '0', '-', '1', '-', '7'};
    static const uint8_t plain[] = {0x00, 0, 0, 0x02, 0x00, 0, 0};
    uint8_t big[5000] = {0x00, 0, 0, 0x02, 0x40, 0, 0, 0xFC, 0x00, 0x13};
    struct stream s;
    (void)state;
    s_init(&s, 8192);
    s_packet(&s, with_gtid, sizeof with_gtid);
    s_packet(&s, plain, sizeof plain);
    assert_int_equal(run(COM_QUERY, CAPS | CLIENT_SESSION_TRACK, &s, RT_DONE), s.len);
    assert_string_equal(rt.gtid, "0-1-7");
    assert_false(rt.gtid_mysql);
    assert_false(rt.gtid_unreadable);
    s.len = 0;
    s_packet(&s, plain, sizeof plain);
    assert_int_equal(run(COM_QUERY, CAPS | CLIENT_SESSION_TRACK, &s, RT_DONE), s.len);
    assert_string_equal(rt.gtid, "");
    assert_false(rt.gtid_unreadable);
    s.len = 0;
    s_packet(&s, big, sizeof big);
    assert_int_equal(run(COM_QUERY, CAPS | CLIENT_SESSION_TRACK, &s, RT_DONE), s.len);
    assert_true(rt.gtid_unreadable);
    free(s.buf);
}

/* Walks a response the way the proxy does for a client without session
 * tracking: stop before each OK or EOF, then take that packet alone. */
static size_t walk_status_stops(const struct stream *s, uint32_t caps, enum rt_next *kinds,
                                size_t max)
{
    size_t off = 0, nk = 0;
    enum rt_status st = RT_CONTINUE;
    result_tracker_start(&rt, COM_QUERY, caps);
    rt.stop_before_status = true;
    while (st == RT_CONTINUE && off < s->len) {
        off += result_tracker_consume(&rt, s->buf + off, s->len - off, &st);
        if (st != RT_CONTINUE)
            break;
        assert_true(rt.next_status == RT_NEXT_OK || rt.next_status == RT_NEXT_EOF);
        assert_true(nk < max);
        kinds[nk++] = rt.next_status;
        size_t whole = PACKET_HEADER_LEN + packet_payload_len(s->buf + off);
        rt.stop_before_status = false;
        assert_int_equal(result_tracker_consume(&rt, s->buf + off, whole, &st), whole);
        rt.stop_before_status = true;
        off += whole;
    }
    assert_int_equal(st, RT_DONE);
    assert_int_equal(off, s->len);
    return nk;
}

static void test_stop_before_status(void **state)
{
    static const uint8_t empty_first_value[] = {0x00};
    struct stream s;
    enum rt_next kinds[8];
    (void)state;
    for (int de = 0; de < 2; de++) {
        s_init(&s, 4096);
        s_ok(&s, 0x00, 1, 0, SERVER_MORE_RESULTS_EXISTS, 0);
        s_columns(&s, 1, de);
        s_packet(&s, empty_first_value, sizeof empty_first_value); /* a row, not an OK */
        s_end(&s, de, SERVER_STATUS_AUTOCOMMIT);
        size_t nk = walk_status_stops(&s, de ? CAPS_DE : CAPS, kinds, 8);
        if (de) {
            assert_int_equal(nk, 2);
            assert_int_equal(kinds[1], RT_NEXT_OK);
        } else {
            assert_int_equal(nk, 3);
            assert_int_equal(kinds[1], RT_NEXT_EOF);
            assert_int_equal(kinds[2], RT_NEXT_EOF);
        }
        assert_int_equal(kinds[0], RT_NEXT_OK);
        assert_true(rt.result_sets == 1);

        enum rt_status st;
        result_tracker_start(&rt, COM_QUERY, CAPS);
        rt.stop_before_status = true;
        assert_int_equal(result_tracker_consume(&rt, s.buf, 3, &st), 0);
        assert_int_equal(rt.next_status, RT_NEXT_MORE);
        free(s.buf);
    }
}

static void test_bad(void **state)
{
    struct stream s;
    static const uint8_t ff[] = {0xFF}, short_ok[] = {0x00, 0x01}, zero_cols[] = {0xFC, 0, 0};
    (void)state;
    s_init(&s, 256);
    s_packet(&s, "", 0);
    assert_int_equal(run(COM_QUERY, CAPS, &s, RT_BAD), 4);
    s.len = 0;
    s_packet(&s, ff, 1);
    assert_int_equal(run(COM_QUERY, CAPS, &s, RT_BAD), 5);
    s.len = 0;
    s_packet(&s, short_ok, 2);
    assert_int_equal(run(COM_QUERY, CAPS, &s, RT_BAD), 6);
    s.len = 0;
    s_packet(&s, zero_cols, 3);
    assert_int_equal(run(COM_QUERY, CAPS, &s, RT_BAD), 7);
    s.len = 0;
    s_columns(&s, 1, false);
    s.len -= 9;
    s_text_rows(&s, 1); /* no EOF after the definitions */
    run(COM_QUERY, CAPS, &s, RT_BAD);
    s.len = 0;
    s_packet(&s, "?", 1);
    run(COM_PING, CAPS, &s, RT_BAD);
    free(s.buf);
}

/* Every strict prefix of a valid response leaves the tracker waiting. */
static void test_truncated(void **state)
{
    struct stream s;
    enum rt_status st;
    (void)state;
    s_init(&s, 4096);
    s_columns(&s, 2, false);
    s_text_rows(&s, 2);
    s_end(&s, false, SERVER_MORE_RESULTS_EXISTS);
    s_ok(&s, 0, 0, 0, 0, 0);
    for (size_t cut = 0; cut < s.len; cut++) {
        result_tracker_start(&rt, COM_QUERY, CAPS);
        assert_int_equal(feed(&rt, s.buf, cut, 3, &st), cut);
        assert_int_equal(st, RT_CONTINUE);
    }
    free(s.buf);
}

/* Pseudo-random garbage for each command: any status, no crash (ASan). */
static void test_garbage(void **state)
{
    static const uint8_t cmds[] = {COM_QUERY, COM_STMT_EXECUTE, COM_STMT_PREPARE, COM_STMT_FETCH,
                                   COM_FIELD_LIST, COM_STATISTICS, COM_PING, COM_CHANGE_USER};
    uint8_t buf[512];
    uint32_t x = 12345;
    enum rt_status st;
    (void)state;
    for (int round = 0; round < 2000; round++) {
        for (size_t i = 0; i < sizeof(buf); i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (uint8_t)(x >> 16);
            if (i % 4 == 1 && (x & 0x30000))
                buf[i] = 0; /* keep lengths small sometimes */
        }
        result_tracker_start(&rt, cmds[round % sizeof(cmds)], round & 1 ? CAPS_DE : CAPS);
        size_t used = feed(&rt, buf, sizeof(buf), 1 + round % 13, &st);
        assert_true(used <= sizeof(buf));
    }
}

/* A text row whose first value is value (NULL for SQL NULL), then "x". */
static void s_row_first(struct stream *s, const char *value, size_t len)
{
    static uint8_t row[80000];
    size_t n = 0;

    assert_true(len + 12 <= sizeof(row));
    if (value == NULL) {
        row[n++] = 0xFB;
    } else {
        n = lenenc_int_write(row, sizeof(row), len);
        memcpy(row + n, value, len);
        n += len;
    }
    row[n++] = 1;
    row[n++] = 'x';
    s_packet(s, row, n);
}

/* Tracks s with the first value wanted (or not), whole and in 1- and
 * 7-byte chunks: each must end the response and capture the same. */
static void run_first_value(uint8_t cmd, uint32_t caps, const struct stream *s, bool want,
                            bool has, const char *value)
{
    static const size_t chunks[] = {0, 1, 7};
    enum rt_status st;

    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        result_tracker_start(&rt, cmd, caps);
        rt.want_first_value = want;
        assert_int_equal(feed(&rt, s->buf, s->len, chunks[i] ? chunks[i] : s->len, &st), s->len);
        assert_int_equal(st, RT_DONE);
        assert_int_equal(rt.has_first_value, has);
        assert_string_equal(rt.first_value, value);
    }
}

/* SELECT v, 'x' UNION ... : columns, a first row with v, a second row. */
static void first_value_case(bool de, const char *value, size_t len, const char *expect)
{
    struct stream s;

    s_init(&s, len + 4096);
    s_columns(&s, 2, de);
    s_row_first(&s, value, len);
    s_row_first(&s, "second", 6);
    s_end(&s, de, SERVER_STATUS_AUTOCOMMIT);
    run_first_value(COM_QUERY, de ? CAPS_DE : CAPS, &s, true, value != NULL, expect);
    run_first_value(COM_QUERY, de ? CAPS_DE : CAPS, &s, false, false, "");
    free(s.buf);
}

static void test_first_value(void **state)
{
    static char long_value[70000];
    char cut[sizeof(rt.first_value)];
    (void)state;
    memset(long_value, 'g', sizeof(long_value));
    long_value[0] = 'L';
    memcpy(cut, long_value, sizeof(cut) - 1);
    cut[sizeof(cut) - 1] = '\0';
    for (int de = 0; de < 2; de++) {
        first_value_case(de, "0", 1, "0");
        first_value_case(de, "-1", 2, "-1");
        first_value_case(de, "", 0, "");
        first_value_case(de, NULL, 0, "");
        first_value_case(de, long_value, sizeof(cut) - 1, cut);  /* fits exactly */
        first_value_case(de, long_value, sizeof(cut), cut);      /* one too many */
        first_value_case(de, long_value, 300, cut);              /* 2-byte length */
        first_value_case(de, long_value, sizeof(long_value), cut); /* 3-byte length */
    }
}

/* Only the first text result set counts, and binary rows never do. */
static void test_first_value_other_results(void **state)
{
    const uint16_t more = SERVER_MORE_RESULTS_EXISTS | SERVER_STATUS_AUTOCOMMIT;
    struct stream s;
    (void)state;
    s_init(&s, 4096);
    s_ok(&s, 0x00, 0, 0, more, 0); /* SET ...; SELECT ...: an OK comes first */
    s_columns(&s, 1, false);
    s_end(&s, false, more); /* no rows */
    s_columns(&s, 1, false);
    s_row_first(&s, "1", 1);
    s_end(&s, false, SERVER_STATUS_AUTOCOMMIT);
    run_first_value(COM_QUERY, CAPS, &s, true, false, "");
    s.len = 0;
    s_columns(&s, 1, false);
    s_row_first(&s, "7", 1);
    s_end(&s, false, more);
    s_columns(&s, 1, false);
    s_row_first(&s, "8", 1);
    s_end(&s, false, SERVER_STATUS_AUTOCOMMIT);
    run_first_value(COM_QUERY, CAPS, &s, true, true, "7");
    s.len = 0;
    s_columns(&s, 1, false);
    s_packet(&s, (const uint8_t[]){0x00, 0x00, 1, '5'}, 4);
    s_eof(&s, SERVER_STATUS_AUTOCOMMIT);
    run_first_value(COM_STMT_EXECUTE, CAPS, &s, true, false, "");
    free(s.buf);
}

/* A row whose first value claims more bytes than the row has. */
static void test_first_value_malformed(void **state)
{
    struct stream s;
    (void)state;
    s_init(&s, 4096);
    s_columns(&s, 1, true);
    s_packet(&s, (const uint8_t[]){5, 'a', 'b'}, 3);
    s_end(&s, true, SERVER_STATUS_AUTOCOMMIT);
    run_first_value(COM_QUERY, CAPS_DE, &s, true, false, "");
    s.len = 0;
    s_columns(&s, 1, true);
    s_packet(&s, (const uint8_t[]){0xFC, 0x01}, 2);
    s_end(&s, true, SERVER_STATUS_AUTOCOMMIT);
    run_first_value(COM_QUERY, CAPS_DE, &s, true, false, "");
    free(s.buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok),
        cmocka_unit_test(test_err),
        cmocka_unit_test(test_err_message_truncated),
        cmocka_unit_test(test_text_resultset_eof),
        cmocka_unit_test(test_text_resultset_deprecate_eof),
        cmocka_unit_test(test_multi_results),
        cmocka_unit_test(test_multi_statement_oks),
        cmocka_unit_test(test_err_mid_rows),
        cmocka_unit_test(test_binary_rows),
        cmocka_unit_test(test_big_split_row),
        cmocka_unit_test(test_inside_packet),
        cmocka_unit_test(test_prepare),
        cmocka_unit_test(test_cursor),
        cmocka_unit_test(test_procedure_cursor_flag),
        cmocka_unit_test(test_progress),
        cmocka_unit_test(test_local_infile),
        cmocka_unit_test(test_trailing_bytes_not_consumed),
        cmocka_unit_test(test_other_commands),
        cmocka_unit_test(test_session_state),
        cmocka_unit_test(test_gtid_over_results),
        cmocka_unit_test(test_stop_before_status),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_first_value),
        cmocka_unit_test(test_first_value_other_results),
        cmocka_unit_test(test_first_value_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
