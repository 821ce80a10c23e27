/* Limits on what one client can make the proxy hold: how long a login may
 * take (connect_timeout), how large one command may be (max_allowed_packet),
 * how the input buffer grows, and how far a LOAD DATA LOCAL file may run
 * ahead of the backend that stores it. */
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
                     s->tls_on && !s->tls.handshake_done ? " (TLS handshake unfinished)" : "");
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
    return s->state == CS_INFILE && bc && backend_conn_queued(bc) > INFILE_QUEUE_MAX;
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
 * to a backend may point into it (see on_client_alloc). */
size_t session_input_room(struct client_session *s)
{
    if (s->state == CS_COMMAND)
        return s->in_cap - s->in_len;
    size_t at = receiving_at(s), announced, need = 0;
    if (s->in_len > at && logical_packet_announced(s->in + at, s->in_len - at, &announced, &need))
        need += at;
    size_t want = s->in_len + CLIENT_IN_MIN;
    if (need > want)
        want = need;
    if (logging_in(s) && want > LOGIN_PACKET_MAX + CLIENT_IN_MIN)
        want = LOGIN_PACKET_MAX + CLIENT_IN_MIN; /* on_login_input closes beyond that */
    if (want > s->in_cap && (s->in_cap - s->in_len < CLIENT_IN_MIN / 2 || need > s->in_cap)) {
        session_compact_input(s);
        uint8_t *p = want > s->in_cap ? realloc(s->in_buf, want) : NULL;
        if (p) {
            s->in = s->in_buf = p;
            s->in_cap = want;
        }
    }
    return s->in_cap - s->in_len;
}

void client_session_backend_wrote(struct client_session *s, struct backend_conn *bc)
{
    if (s->state == CS_INFILE && s->bc[s->target] == bc && !s->reading && !session_input_paused(s))
        session_start_reading(s);
}

/* As MariaDB does: as soon as the headers announce a command larger than
 * max_allowed_packet, answer ERR 1153 and close, without reading it. */
bool session_refuse_oversized(struct client_session *s)
{
    size_t announced, need;
    size_t max = session_config(s)->max_allowed_packet;
    if (!logical_packet_announced(s->in, s->in_len, &announced, &need) || announced <= max)
        return false;
    log_info("limits: session %u from %s: a command of %zu bytes or more is larger than "
             "max_allowed_packet = %zu; closing",
             s->id, s->peer, announced, max);
    session_send_err(s, packet_seq(s->in) + 1, ER_NET_PACKET_TOO_LARGE, "08S01",
                     "Got a packet bigger than 'max_allowed_packet' bytes");
    session_close_after_flush(s);
    return true;
}
