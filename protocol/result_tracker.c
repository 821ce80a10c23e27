#include "protocol/result_tracker.h"

#include <string.h>

#include "protocol/gtid.h"
#include "protocol/session_schema.h"
#include "protocol/handshake.h"
#include "protocol/packet.h"
#include "protocol/stmt.h"

/* Where in a response the next logical packet falls. */
enum {
    ST_FIRST,          /* OK, ERR, LOCAL INFILE or column count */
    ST_COLDEFS,        /* rt->left column definitions */
    ST_COLS_EOF,       /* EOF after column definitions */
    ST_ROWS,           /* rows until a terminator */
    ST_FIELDS,         /* COM_FIELD_LIST definitions until a terminator */
    ST_PREPARE,        /* PREPARE_OK or ERR */
    ST_PREP_PARAMS,    /* rt->left parameter definitions */
    ST_PREP_PARAMS_EOF,
    ST_PREP_COLS,      /* rt->left column definitions */
    ST_PREP_COLS_EOF,
    ST_STATS,          /* one string */
    ST_SIMPLE,         /* one OK, ERR or EOF */
    ST_INFILE,         /* waiting for result_tracker_infile_done() */
    ST_DONE,
    ST_BAD,
};

bool command_has_response(uint8_t command)
{
    return command != COM_QUIT && command != COM_STMT_CLOSE && command != COM_STMT_SEND_LONG_DATA;
}

static int initial_state(uint8_t command)
{
    switch (command) {
    case COM_QUERY:
    case COM_STMT_EXECUTE:
    case COM_STMT_BULK_EXECUTE: /* OK, or a result set (RETURNING, unit results) */
    case COM_PROCESS_INFO:
        return ST_FIRST;
    case COM_STMT_FETCH:
        return ST_ROWS;
    case COM_FIELD_LIST:
        return ST_FIELDS;
    case COM_STMT_PREPARE:
        return ST_PREPARE;
    case COM_STATISTICS:
        return ST_STATS;
    default:
        return command_has_response(command) ? ST_SIMPLE : ST_DONE;
    }
}

/* Field by field rather than memset: prefix[] need not be cleared. */
void result_tracker_start(struct result_tracker *rt, uint8_t command, uint64_t caps)
{
    rt->command = command;
    rt->caps = caps;
    rt->state = initial_state(command);
    rt->left = 0;
    rt->hdr_have = 0;
    rt->pkt_len = 0;
    rt->pkt_remaining = 0;
    rt->continuation = false;
    rt->collecting = false;
    rt->decided = false;
    rt->prefix_have = 0;
    rt->first_row_seen = false;
    rt->in_first_row = false;
    rt->last_seq = 0;
    rt->status = 0;
    rt->saw_status = false;
    rt->is_error = false;
    rt->err_code = 0;
    rt->err_sqlstate[0] = '\0';
    rt->err_message[0] = '\0';
    rt->affected_rows = 0;
    rt->last_insert_id = 0;
    rt->warnings = 0;
    rt->session_state_len = 0;
    rt->gtid[0] = '\0';
    rt->gtid_mysql = false;
    rt->gtid_unreadable = false;
    rt->schema[0] = '\0';
    rt->schema_changed = false;
    rt->result_sets = 0;
    rt->rows = 0;
    rt->ended_with_rows = false;
    rt->cursor_requested = false;
    rt->progress_reports = 0;
    rt->want_first_value = false;
    rt->stop_before_status = false;
    rt->next_status = RT_NEXT_OTHER;
    rt->has_first_value = false;
    rt->first_value[0] = '\0';
    rt->stmt_id = 0;
    rt->num_columns = 0;
    rt->num_params = 0;
}

/* COM_STMT_EXECUTE: command, stmt_id u32, flags (cursor type), ... */
void result_tracker_note_request(struct result_tracker *rt, const uint8_t *payload, size_t len)
{
    if (len >= 6 && payload[0] == COM_STMT_EXECUTE)
        rt->cursor_requested = (payload[5] & CURSOR_TYPE_READ_ONLY) != 0;
}

void result_tracker_infile_done(struct result_tracker *rt)
{
    if (rt->state == ST_INFILE)
        rt->state = ST_FIRST;
}

static bool deprecate_eof(const struct result_tracker *rt) { return rt->caps & CLIENT_DEPRECATE_EOF; }

/* A packet ending rows or field definitions: a classic EOF, or under
 * CLIENT_DEPRECATE_EOF an OK with header 0xFE. A row that starts with 0xFE
 * (8-byte length prefix) is at least 16 MiB, so it fills a whole physical
 * packet and never matches. */
static bool is_terminator(const struct result_tracker *rt, uint8_t first)
{
    return first == PACKET_EOF && rt->pkt_len < (deprecate_eof(rt) ? PACKET_MAX_PAYLOAD : 9);
}

/* Enough of a row for its first value: the longest lenenc length, then as
 * much of the value as first_value holds. */
#define FIRST_ROW_PREFIX (sizeof(((struct result_tracker *)0)->first_value) + 9)

/* The row whose first value was asked for: the first row of the first text
 * result set (COM_QUERY; binary rows are laid out differently). */
static bool is_first_row(const struct result_tracker *rt, uint8_t first)
{
    return rt->want_first_value && !rt->first_row_seen && rt->state == ST_ROWS &&
           rt->command == COM_QUERY && rt->result_sets == 1 && first != PACKET_ERR &&
           !is_terminator(rt, first);
}

/* Whether the logical packet starting with byte first must be kept. */
static bool wants_content(const struct result_tracker *rt, uint8_t first)
{
    switch (rt->state) {
    case ST_COLDEFS:
    case ST_PREP_PARAMS:
    case ST_PREP_COLS:
        return false;
    case ST_ROWS:
    case ST_FIELDS:
        return first == PACKET_ERR || is_terminator(rt, first);
    case ST_STATS:
        return first == PACKET_ERR;
    default:
        return true;
    }
}

/* A write's GTID may come in any OK of a multi-result response, not only
 * the last: keep the latest one seen. */
static void take_gtid(struct result_tracker *rt, const struct ok_packet *ok)
{
    char gtid[sizeof rt->gtid];
    enum gtid_flavor flavor;
    int found = session_track_find_gtid(ok->session_state, ok->session_state_len, gtid,
                                        sizeof gtid, &flavor);
    if (found < 0) {
        rt->gtid_unreadable = true;
    } else if (found == 1) {
        memcpy(rt->gtid, gtid, sizeof gtid);
        rt->gtid_mysql = flavor == GTID_MYSQL;
    }
}

static void apply_ok(struct result_tracker *rt, const struct ok_packet *ok)
{
    rt->status = ok->status;
    rt->saw_status = true;
    rt->affected_rows = ok->affected_rows;
    rt->last_insert_id = ok->last_insert_id;
    rt->warnings = ok->warnings;
    rt->session_state_len = 0;
    if (ok->session_state && ok->session_state_len <= sizeof(rt->session_state)) {
        memcpy(rt->session_state, ok->session_state, ok->session_state_len);
        rt->session_state_len = ok->session_state_len;
    }
    if (ok->session_state)
        take_gtid(rt, ok);
    if (ok->session_state && session_track_find_schema(ok->session_state, ok->session_state_len,
                                                       rt->schema, sizeof rt->schema) == 1)
        rt->schema_changed = true;
}

/* An OK too long for prefix[] still has its counters and status at the
 * front: parse what we have as if session tracking were off (the info is
 * cut and the session-state block dropped). */
static int take_ok(struct result_tracker *rt, const uint8_t *p, size_t n, bool cut)
{
    struct ok_packet ok;
    uint32_t caps = (uint32_t)(cut ? rt->caps & ~CLIENT_SESSION_TRACK : rt->caps);

    if (ok_packet_parse(p, n, caps, &ok) < 0)
        return -1;
    if (cut && (rt->caps & CLIENT_SESSION_TRACK))
        rt->gtid_unreadable = true;
    apply_ok(rt, &ok);
    return 0;
}

static int take_err(struct result_tracker *rt, const uint8_t *p, size_t n)
{
    struct err_packet err;
    size_t msg_len;

    if (err_packet_parse(p, n, &err) < 0)
        return -1;
    msg_len = err.message_len < sizeof(rt->err_message) - 1 ? err.message_len
                                                             : sizeof(rt->err_message) - 1;
    rt->is_error = true;
    rt->err_code = err.code;
    memcpy(rt->err_sqlstate, err.sqlstate, sizeof(rt->err_sqlstate));
    memcpy(rt->err_message, err.message, msg_len);
    rt->err_message[msg_len] = '\0';
    return 0;
}

/* EOF, or its CLIENT_DEPRECATE_EOF replacement (an OK with header 0xFE). */
static int take_terminator(struct result_tracker *rt, const uint8_t *p, size_t n, bool cut)
{
    uint16_t warnings, status;

    if (deprecate_eof(rt))
        return p[0] == PACKET_EOF ? take_ok(rt, p, n, cut) : -1;
    if (eof_packet_parse(p, n, &warnings, &status) < 0)
        return -1;
    if (rt->command != COM_STMT_PREPARE) /* its OK said; these end definitions */
        rt->warnings = warnings;          /* the last EOF's: what the statement left */
    rt->status = status;
    rt->saw_status = true;
    return 0;
}

/* First packet of a result: OK, ERR, LOCAL INFILE request or column count. */
static int on_first(struct result_tracker *rt, const uint8_t *p, size_t n, bool cut)
{
    switch (p[0]) {
    case PACKET_OK:
        if (take_ok(rt, p, n, cut) < 0)
            return ST_BAD;
        return (rt->status & SERVER_MORE_RESULTS_EXISTS) ? ST_FIRST : ST_DONE;
    case PACKET_ERR:
        return take_err(rt, p, n) < 0 ? ST_BAD : ST_DONE;
    case PACKET_LOCAL_INFILE:
        return ST_INFILE;
    default:
        if (lenenc_int_read(p, n, &rt->left, NULL) == 0 || rt->left == 0)
            return ST_BAD;
        rt->result_sets++;
        return ST_COLDEFS;
    }
}

/* A packet that must end a run: EOF (or its DEPRECATE_EOF OK), or ERR. */
static int on_eof(struct result_tracker *rt, const uint8_t *p, size_t n, bool cut, int next)
{
    if (p[0] == PACKET_ERR)
        return take_err(rt, p, n) < 0 ? ST_BAD : ST_DONE;
    return take_terminator(rt, p, n, cut) < 0 ? ST_BAD : next;
}

/* The end of a result set's rows: its status tells whether another result
 * follows (never after COM_STMT_FETCH, which reads one cursor). */
static int on_rows_end(struct result_tracker *rt, const uint8_t *p, size_t n, bool cut)
{
    int next = on_eof(rt, p, n, cut, ST_DONE);

    if (next == ST_DONE && !rt->is_error && (rt->status & SERVER_MORE_RESULTS_EXISTS) &&
        rt->command != COM_STMT_FETCH)
        return ST_FIRST;
    rt->ended_with_rows = next == ST_DONE && !rt->is_error;
    return next;
}

static int after_params(struct result_tracker *rt)
{
    rt->left = rt->num_columns;
    return rt->num_columns ? ST_PREP_COLS : ST_DONE;
}

/* The first value of the row in prefix: a lenenc string, 0xFB for NULL.
 * A value longer than first_value is cut; one claiming more bytes than the
 * row holds is malformed and ignored. */
static void take_first_value(struct result_tracker *rt)
{
    size_t n = rt->prefix_have < FIRST_ROW_PREFIX ? rt->prefix_have : FIRST_ROW_PREFIX;
    uint64_t len;
    size_t used = lenenc_int_read(rt->prefix, n, &len, NULL);
    size_t copy;

    if (used == 0 || len > rt->prefix_have - used)
        return;
    copy = len < sizeof(rt->first_value) - 1 ? (size_t)len : sizeof(rt->first_value) - 1;
    memcpy(rt->first_value, rt->prefix + used, copy);
    rt->first_value[copy] = '\0';
    rt->has_first_value = true;
}

/* PREPARE_OK: 0x00, stmt_id u32, columns u16, params u16, filler,
 * warnings u16 (the last two absent from old servers). */
static int on_prepare(struct result_tracker *rt, const uint8_t *p, size_t n)
{
    if (p[0] == PACKET_ERR)
        return take_err(rt, p, n) < 0 ? ST_BAD : ST_DONE;
    if (p[0] != PACKET_OK || n < 9)
        return ST_BAD;
    rt->stmt_id = read_u32(p + 1);
    rt->num_columns = read_u16(p + 5);
    rt->num_params = read_u16(p + 7);
    if (n >= 12)
        rt->warnings = read_u16(p + 10);
    rt->left = rt->num_params;
    return rt->num_params ? ST_PREP_PARAMS : after_params(rt);
}

/* One definition of a counted run consumed: true when it was the last. */
static bool run_done(struct result_tracker *rt) { return --rt->left == 0; }

static int on_simple(struct result_tracker *rt, const uint8_t *p, size_t n, bool cut)
{
    switch (p[0]) {
    case PACKET_OK:
        return take_ok(rt, p, n, cut) < 0 ? ST_BAD : ST_DONE;
    case PACKET_ERR:
        return take_err(rt, p, n) < 0 ? ST_BAD : ST_DONE;
    default:
        /* COM_CHANGE_USER may answer with an auth exchange, which ends
         * what this tracker follows. */
        if (rt->command == COM_CHANGE_USER)
            return ST_DONE;
        return take_terminator(rt, p, n, cut) < 0 ? ST_BAD : ST_DONE;
    }
}

bool packet_is_progress(const uint8_t *payload, size_t len)
{
    return len >= 3 && payload[0] == PACKET_ERR && read_u16(payload + 1) == PROGRESS_ERR_CODE;
}

/* A progress report (MARIADB_CLIENT_PROGRESS) is no answer: the one it
 * reports on follows, so the state stays. */
static bool is_progress(const struct result_tracker *rt, const uint8_t *p, size_t n)
{
    return (rt->caps & MARIADB_CLIENT_PROGRESS) &&
           (rt->state == ST_FIRST || rt->state == ST_SIMPLE) && packet_is_progress(p, n);
}

/* A whole logical packet has gone by: the state that follows it. */
static int on_packet(struct result_tracker *rt)
{
    const uint8_t *p = rt->prefix;
    bool cut = rt->prefix_have > sizeof(rt->prefix);
    size_t n = cut ? sizeof(rt->prefix) : rt->prefix_have;
    int next;

    if (is_progress(rt, p, n)) {
        rt->progress_reports++;
        return rt->state;
    }
    switch (rt->state) {
    case ST_FIRST:
        return on_first(rt, p, n, cut);
    case ST_COLDEFS:
        if (!run_done(rt))
            return ST_COLDEFS;
        return deprecate_eof(rt) ? ST_ROWS : ST_COLS_EOF;
    case ST_COLS_EOF:
        next = on_eof(rt, p, n, cut, ST_ROWS);
        /* COM_STMT_EXECUTE opened the cursor it asked for: rows come with
         * COM_STMT_FETCH */
        return next == ST_ROWS && rt->cursor_requested &&
                       (rt->status & SERVER_STATUS_CURSOR_EXISTS)
                   ? ST_DONE
                   : next;
    case ST_ROWS:
        if (rt->in_first_row) {
            rt->rows++;
            take_first_value(rt);
            return ST_ROWS;
        }
        if (rt->collecting)
            return on_rows_end(rt, p, n, cut);
        rt->rows++;
        return ST_ROWS;
    case ST_FIELDS:
        return rt->collecting ? on_eof(rt, p, n, cut, ST_DONE) : ST_FIELDS;
    case ST_PREPARE:
        return on_prepare(rt, p, n);
    case ST_PREP_PARAMS:
        if (!run_done(rt))
            return ST_PREP_PARAMS;
        return deprecate_eof(rt) ? after_params(rt) : ST_PREP_PARAMS_EOF;
    case ST_PREP_PARAMS_EOF:
        next = on_eof(rt, p, n, cut, ST_PREP_COLS);
        return next == ST_PREP_COLS ? after_params(rt) : next;
    case ST_PREP_COLS:
        if (!run_done(rt))
            return ST_PREP_COLS;
        return deprecate_eof(rt) ? ST_DONE : ST_PREP_COLS_EOF;
    case ST_PREP_COLS_EOF:
        return on_eof(rt, p, n, cut, ST_DONE);
    case ST_STATS:
        return rt->collecting && take_err(rt, p, n) < 0 ? ST_BAD : ST_DONE;
    default:
        return on_simple(rt, p, n, cut);
    }
}

/* A physical header is complete. A packet that starts a logical packet is
 * never empty in a response; one that continues a split packet may be. */
static void on_header(struct result_tracker *rt)
{
    rt->pkt_len = packet_payload_len(rt->hdr);
    rt->pkt_remaining = rt->pkt_len;
    rt->last_seq = packet_seq(rt->hdr);
    if (!rt->continuation && rt->pkt_len == 0)
        rt->state = ST_BAD;
}

/* The first payload byte of a logical packet decides whether it is kept. */
static void on_first_byte(struct result_tracker *rt, uint8_t first)
{
    rt->decided = true;
    rt->in_first_row = is_first_row(rt, first);
    if (rt->in_first_row)
        rt->first_row_seen = true;
    rt->collecting = rt->in_first_row || wants_content(rt, first);
    rt->prefix_have = 0;
}

/* prefix_have counts every byte offered, so a value above the capacity
 * tells on_packet() the packet was cut. Of the first-value row only its
 * start is copied: rows can be long and only one value matters. */
static void collect(struct result_tracker *rt, const uint8_t *data, size_t n)
{
    size_t cap = rt->in_first_row ? FIRST_ROW_PREFIX : sizeof(rt->prefix);

    if (rt->prefix_have < cap) {
        size_t room = cap - rt->prefix_have;
        memcpy(rt->prefix + rt->prefix_have, data, n < room ? n : room);
    }
    rt->prefix_have += n;
}

/* A physical packet's payload is consumed: either the next one continues
 * it, or the logical packet is complete. */
static void on_physical_end(struct result_tracker *rt)
{
    rt->hdr_have = 0;
    rt->continuation = rt->pkt_len == PACKET_MAX_PAYLOAD;
    if (rt->continuation)
        return;
    rt->state = on_packet(rt);
    rt->decided = false;
    rt->collecting = false;
}

static bool active(const struct result_tracker *rt)
{
    return rt->state != ST_DONE && rt->state != ST_BAD && rt->state != ST_INFILE;
}

static enum rt_status status_of(const struct result_tracker *rt)
{
    switch (rt->state) {
    case ST_DONE:
        return RT_DONE;
    case ST_BAD:
        return RT_BAD;
    case ST_INFILE:
        return RT_LOCAL_INFILE;
    default:
        return RT_CONTINUE;
    }
}

/* Takes up to 4 header bytes; returns how many. */
static size_t feed_header(struct result_tracker *rt, const uint8_t *data, size_t len)
{
    size_t n = (size_t)(PACKET_HEADER_LEN - rt->hdr_have);

    if (n > len)
        n = len;
    memcpy(rt->hdr + rt->hdr_have, data, n);
    rt->hdr_have = (uint8_t)(rt->hdr_have + n);
    if (rt->hdr_have == PACKET_HEADER_LEN) {
        on_header(rt);
        if (active(rt) && rt->pkt_remaining == 0)
            on_physical_end(rt);
    }
    return n;
}

/* Takes payload bytes of the current physical packet; returns how many. */
static size_t feed_payload(struct result_tracker *rt, const uint8_t *data, size_t len)
{
    size_t n = rt->pkt_remaining < len ? rt->pkt_remaining : len;

    if (!rt->decided)
        on_first_byte(rt, data[0]);
    if (rt->collecting)
        collect(rt, data, n);
    rt->pkt_remaining -= (uint32_t)n;
    if (rt->pkt_remaining == 0)
        on_physical_end(rt);
    return n;
}

/* At the start of a logical packet (p, len): is it an OK or EOF? Judged as
 * on_first_byte() and is_terminator() will, from its header and first byte. */
static enum rt_next status_packet_at(const struct result_tracker *rt, const uint8_t *p, size_t len)
{
    if (len < PACKET_HEADER_LEN + 1)
        return RT_NEXT_MORE;
    uint32_t n = packet_payload_len(p);
    uint8_t first = p[PACKET_HEADER_LEN];
    if (n >= PACKET_MAX_PAYLOAD)
        return RT_NEXT_OTHER;
    switch (rt->state) {
    case ST_FIRST:
    case ST_SIMPLE:
        return first == PACKET_OK ? RT_NEXT_OK : RT_NEXT_OTHER;
    case ST_ROWS:
    case ST_FIELDS:
    case ST_COLS_EOF:
    case ST_PREP_PARAMS_EOF:
    case ST_PREP_COLS_EOF:
        if (first != PACKET_EOF)
            return RT_NEXT_OTHER;
        if (deprecate_eof(rt))
            return RT_NEXT_OK;
        return n < 9 ? RT_NEXT_EOF : RT_NEXT_OTHER;
    default:
        return RT_NEXT_OTHER;
    }
}

size_t result_tracker_consume(struct result_tracker *rt, const uint8_t *data, size_t len,
                              enum rt_status *st)
{
    size_t used = 0;

    rt->next_status = RT_NEXT_OTHER;
    while (used < len && active(rt)) {
        if (rt->stop_before_status && rt->hdr_have == 0 && !rt->continuation) {
            rt->next_status = status_packet_at(rt, data + used, len - used);
            if (rt->next_status != RT_NEXT_OTHER)
                break;
        }
        if (rt->hdr_have < PACKET_HEADER_LEN)
            used += feed_header(rt, data + used, len - used);
        else
            used += feed_payload(rt, data + used, len - used);
    }
    *st = status_of(rt);
    return used;
}

bool result_tracker_inside_packet(const struct result_tracker *rt)
{
    return rt->hdr_have > 0 || rt->continuation;
}
