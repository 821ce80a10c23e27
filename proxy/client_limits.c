/* Limits on what one client can make the proxy hold: how long a login may
 * take (connect_timeout), how large one command may be (max_allowed_packet),
 * how the input buffer grows, how far a LOAD DATA LOCAL file may run ahead
 * of the backend that stores it, and the streaming of a COM_QUERY too large
 * to hold. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "protocol/packet.h"
#include "proxy/backend_conn.h"
#include "proxy/log.h"
#include "proxy/proxy.h"
#include "proxy/session.h"
#include "proxy/worker.h"

/* LOAD DATA LOCAL: stop reading the client's file while more than this waits
 * to be written to the backend. */
#define INFILE_QUEUE_MAX (4u * 1024u * 1024u)
/* A COM_QUERY announcing more payload than this is not held whole: it goes
 * to the writer as it arrives, through an input buffer of this size. A
 * statement that large is bulk data, not something to route by its text. */
#define STREAM_THRESHOLD (1024u * 1024u)
/* Payload bytes of a streamed statement that the classifier sees: enough
 * for its hints and its first keywords. */
#define STREAM_PREFIX 4096u

static bool logging_in(const struct client_session *s)
{
    return s->state == CS_GREETING_SENT || (s->state == CS_AUTH_SWITCH && !s->changing_user);
}

/* A connection that never finishes its login would hold a max_connections
 * slot forever (silent sockets, a handshake sent a byte at a time); MariaDB
 * drops it after connect_timeout, and so do we. Until the login ends,
 * last_active_ms is the time of the accept. */
void client_session_close_slow_logins(struct worker *w)
{
    int timeout_s = proxy_config_gen(w->proxy)->cfg.connect_timeout;
    uint64_t now = uv_now(&w->loop);
    struct client_session *s = w->sessions;
    while (s) {
        struct client_session *next = s->next;
        if (logging_in(s) && now - s->last_active_ms >= (uint64_t)timeout_s * 1000) {
            stats_add(&w->stats.login_timeouts, 1);
            log_warn("limits: closing %s (session %u): no login within connect_timeout = %d s%s",
                     s->peer, s->id, timeout_s,
                     transport_tls_handshaking(&s->t) ? " (TLS handshake unfinished)" : "");
            session_close(s);
        }
        s = next;
    }
}

/* The client's file has run far enough ahead of the backend storing it:
 * read no more until the backend's writes complete. */
bool session_input_paused(const struct client_session *s)
{
    const struct backend_conn *bc = s->bc[s->target];
    if (!bc)
        return false;
    if (s->state == CS_INFILE)
        return backend_conn_queued(bc) > INFILE_QUEUE_MAX;
    /* A streamed statement is written from the input itself: it is reused
     * once the backend took all of it. */
    return s->state == CS_COMMAND && s->streaming && s->stream_sending &&
           backend_conn_queued(bc) > 0;
}

/* A COM_QUERY (or a packet whose command byte is not in yet) announcing
 * more than STREAM_THRESHOLD. */
static bool large_query(const uint8_t *p, size_t len)
{
    return len >= PACKET_HEADER_LEN && packet_payload_len(p) > STREAM_THRESHOLD &&
           (len == PACKET_HEADER_LEN || p[PACKET_HEADER_LEN] == COM_QUERY);
}

bool session_query_streams(const struct client_session *s, size_t *prefix)
{
    if (s->in_len < PACKET_HEADER_LEN + STREAM_PREFIX || !large_query(s->in, s->in_len))
        return false;
    *prefix = STREAM_PREFIX;
    return true;
}

/* Offset in the input of the packet being received: the file packets of
 * LOAD DATA LOCAL follow the command's own bytes. */
static size_t receiving_at(const struct client_session *s)
{
    return s->state == CS_INFILE ? s->cmd_wire : 0;
}

/* Room to read into. Between commands the buffer grows to what the packet
 * being received announces, exactly (never doubled: a command costs about its
 * own size), and session_refuse_oversized keeps that under
 * max_allowed_packet. While a command runs it does not grow: a pending write
 * to a backend may point into it (see on_client_alloc). A streamed COM_QUERY
 * never has more than STREAM_THRESHOLD of it in the input. */
size_t session_input_room(struct client_session *s)
{
    if (session_input_paused(s))
        return 0;
    if (s->state == CS_COMMAND && !s->streaming)
        return s->in_cap - s->in_len;
    size_t at = receiving_at(s), announced, need = 0, most = SIZE_MAX;
    if (s->state == CS_COMMAND) {
        session_compact_input(s); /* streamed: nothing queued points into the input now */
        need = most = STREAM_THRESHOLD;
    } else if (s->in_len > at &&
               logical_packet_announced(s->in + at, s->in_len - at, &announced, &need)) {
        need += at;
        if (at == 0 && large_query(s->in, s->in_len))
            most = STREAM_THRESHOLD; /* streamed once its first bytes are in */
    }
    size_t want = s->in_len + CLIENT_IN_MIN;
    if (need > want)
        want = need;
    if (want > most)
        want = most;
    if (logging_in(s) && want > LOGIN_PACKET_MAX + CLIENT_IN_MIN)
        want = LOGIN_PACKET_MAX + CLIENT_IN_MIN; /* on_login_input closes beyond that */
    if (!s->in_buf && want <= CLIENT_IN_MIN) {
        s->in = s->in_buf = buffer_pool_take(&s->w->client_buffers, CLIENT_IN_MIN);
        s->in_cap = s->in_buf ? CLIENT_IN_MIN : 0;
        return s->in_cap;
    }
    if (want > s->in_cap && (s->in_cap - s->in_len < CLIENT_IN_MIN / 2 || need > s->in_cap)) {
        session_compact_input(s);
        size_t arg = session_arg_offset(s);
        uint8_t *p = want > s->in_cap ? realloc(s->in_buf, want) : NULL;
        if (p) {
            s->in = s->in_buf = p;
            s->in_cap = want;
            session_arg_rebase(s, arg);
        }
    }
    return s->in_cap - s->in_len;
}

/* An idle session holds no input buffer: blocks of the usual size go back
 * to the worker's pool, larger ones (a big statement passed) to malloc. */
void session_release_input(struct client_session *s)
{
    if (!s->in_buf)
        return;
    size_t size = s->in_cap + (size_t)(s->in - s->in_buf);
    if (size == CLIENT_IN_MIN)
        buffer_pool_give(&s->w->client_buffers, s->in_buf);
    else
        free(s->in_buf);
    s->in = s->in_buf = NULL;
    s->in_len = s->in_cap = 0;
}

void client_session_backend_wrote(struct client_session *s, struct backend_conn *bc)
{
    if (s->bc[s->target] != bc || session_input_paused(s))
        return;
    if (s->state == CS_COMMAND && s->streaming)
        session_relay_stream(s);
    else if (s->state == CS_INFILE && !s->t.reading)
        session_start_reading(s);
}

/* As MariaDB does: as soon as the headers announce a command larger than
 * max_allowed_packet, answer ERR 1153 and close, without reading it. */
static bool refuse_larger_than_allowed(struct client_session *s, size_t announced, uint8_t seq)
{
    size_t max = session_config(s)->max_allowed_packet;
    if (announced <= max)
        return false;
    log_info("limits: session %u from %s: a command of %zu bytes or more is larger than "
             "max_allowed_packet = %zu; closing",
             s->id, s->peer, announced, max);
    session_send_err(s, seq, ER_NET_PACKET_TOO_LARGE, "08S01",
                     "Got a packet bigger than 'max_allowed_packet' bytes");
    session_close_after_flush(s);
    return true;
}

bool session_refuse_oversized(struct client_session *s)
{
    size_t announced, need;
    return logical_packet_announced(s->in, s->in_len, &announced, &need) &&
           refuse_larger_than_allowed(s, announced, (uint8_t)(packet_seq(s->in) + 1));
}

/* The header of the streamed statement's next chunk is in: the answer
 * follows its sequence id. -1 when the statement grew past
 * max_allowed_packet (answered, closing). */
static int next_chunk(struct client_session *s, const uint8_t *hdr)
{
    uint32_t len = packet_payload_len(hdr);
    s->stream_total += len;
    if (refuse_larger_than_allowed(s, s->stream_total, (uint8_t)(packet_seq(hdr) + 1)))
        return -1;
    s->cmd_seq = packet_seq(hdr);
    s->stream_chunk_left = PACKET_HEADER_LEN + len;
    s->stream_more = len == PACKET_MAX_PAYLOAD;
    return 0;
}

/* Send what is in the input of the streamed statement, its chunk headers
 * unchanged, and drop it from the input (the pending write still points
 * there: session_input_paused keeps it). Returns -1 when the session or
 * its backend failed. */
static int relay_input(struct client_session *s, struct backend_conn *bc)
{
    size_t off = 0;
    while (s->streaming) {
        if (s->stream_chunk_left == 0) {
            if (s->in_len - off < PACKET_HEADER_LEN)
                break;
            if (next_chunk(s, s->in + off) != 0)
                return -1;
        }
        size_t n = s->in_len - off;
        if (n > s->stream_chunk_left)
            n = s->stream_chunk_left;
        if (n == 0)
            break;
        if (backend_conn_send_part(bc, s->in + off, n) != 0)
            return -1; /* reported through client_session_backend_failed */
        off += n;
        s->stream_chunk_left -= n;
        if (s->stream_chunk_left == 0 && !s->stream_more)
            s->streaming = false; /* all sent: the response is tracked as usual */
    }
    stats_add(&s->w->stats.bytes_from_clients, off);
    session_consume_input(s, off);
    return 0;
}

void session_relay_stream(struct client_session *s)
{
    struct backend_conn *bc = s->bc[s->target];
    while (bc && s->state == CS_COMMAND && s->streaming && s->stream_sending &&
           !session_input_paused(s)) {
        if (relay_input(s, bc) != 0 || s->state != CS_COMMAND)
            return;
        size_t had = s->in_len;
        if (!s->t.tls_on || !s->streaming || session_input_paused(s) ||
            session_take_plaintext(s) != 0 || s->in_len == had)
            break;
    }
    if (s->state == CS_COMMAND && s->stream_sending && !session_input_paused(s))
        session_start_reading(s);
}
