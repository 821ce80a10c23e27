/* One connection from a client session to one backend, logged in as the
 * session's account. It connects and authenticates on its own, then runs one
 * command at a time: either the client's (response bytes streamed to the
 * client as they arrive) or the proxy's own (session-state replay; response
 * swallowed). Like PgBouncer's server.c: bytes are read into one buffer per
 * connection and handed on without being copied into objects. */
#ifndef SY_PROXY_BACKEND_CONN_H
#define SY_PROXY_BACKEND_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "protocol/gtid.h"
#include "protocol/result_tracker.h"
#include "proxy/buffer_pool.h"
#include "proxy/transport.h"
#include "config/config.h"

#define BACKEND_RBUF_SIZE (64 * 1024)

struct backend_limit;
struct backend_pool;
struct client_session;
struct config_gen;

enum backend_conn_state {
    BC_CONNECTING,
    BC_GREETING,   /* waiting for the server's handshake */
    BC_TLS_HANDSHAKE, /* SSL request sent, TLS handshake running ([backend.*] tls) */
    BC_AUTH,       /* handshake response sent, waiting for OK / switch / more data */
    BC_READY,      /* idle, logged in */
    BC_BUSY,       /* a command is running */
    BC_CLOSING,
};

/* What the pool's own command on a given-back connection is (backend_pool.h). */
enum pool_step { POOL_NONE, POOL_RESET, POOL_INIT_DB };

struct backend_conn {
    struct transport t;
    uv_timer_t timer; /* connect + login deadline */
    int handles_open;
    struct client_session *session; /* NULL between sessions (in the pool) */
    const struct config_gen *gen;   /* the configuration it was opened under */
    struct backend_pool *pool;      /* its worker's */
    struct backend_limit *limit;    /* its worker's: told when it closes or goes idle */
    int index; /* backend index in the configuration */
    struct worker_stats *stats; /* its worker's, for the connection gauge */
    enum backend_conn_state state;
    uint32_t server_thread_id; /* connection id on the backend */
    uint8_t seq;               /* last sequence id during authentication */
    uint8_t scramble[20];
    size_t scramble_len;

    bool forwarding;     /* current response goes to the client */
    bool no_response;    /* current command gets no reply (COM_STMT_CLOSE...) */
    bool write_pending;  /* a client-bound write references rbuf */
    size_t applied;      /* session_log entries applied here */
    bool setup_done;     /* the proxy's own session settings were sent (causal reads) */
    size_t setup_applied; /* session_log entries applied when they were last sent */
    bool read_only;       /* made read-only for replica reads (readonly_retry.c) */
    bool hold_error;     /* a response that is a lone ERR is kept from the client... */
    bool held_error;     /* ...and this one was: the session decides (held_error.h) */
    bool tracks_gtid;    /* OK packets here report the write's GTID (session tracking) */
    char confirmed[GTID_TEXT_MAX]; /* the last position a causal wait here reached */
    bool login_db_pending; /* logged in without the session's database (a replica that may
                              not have it yet): COM_INIT_DB after the causal wait */
    /* a command sent right behind the current one (backend_conn_send_pair) */
    bool next_queued;
    uint8_t next_command;
    const uint8_t *next_bytes;
    size_t next_len;
    bool mysql;          /* a MySQL server (not MariaDB): MySQL's GTID functions apply */
    bool login_refused;  /* the server answered the login with an ERR (its own words) */
    uint16_t login_status; /* status flags of the server's OK to the login */
    uint64_t caps;       /* negotiated with the backend: the client's, plus session tracking */
    uint32_t rewrite_stmt_id; /* non-zero: the PREPARE_OK id the client must see */
    uint64_t resp_off;        /* bytes of the current response consumed so far */
    uint8_t resp_first;       /* first payload byte of the response */
    struct result_tracker tracker;

    size_t login_len;     /* with TLS: the login packet in big_cmd, sent after the handshake */

    uint8_t cmd_buf[512]; /* proxy-built packets (auth, small replay commands) */
    uint8_t *big_cmd;     /* replay commands that do not fit cmd_buf */

    struct buffer_pool *rbuf_pool; /* its worker's BACKEND_RBUF_SIZE blocks */
    uint8_t *rbuf; /* taken while a response is pending, given back when it is handled */
    size_t rlen;  /* bytes in rbuf */
    size_t rdone; /* bytes of rbuf already handled */

    /* how it logged in: a session logging in the same way may take it over */
    char login_user[CONFIG_NAME_MAX];
    uint64_t login_caps;
    uint8_t login_charset;
    char login_db[256];
    /* between sessions (backend_pool.c) */
    struct backend_conn *pool_prev, *pool_next;
    bool pooled; /* idle in the pool's list */
    enum pool_step pool_step;
    uint64_t idle_since_ms;
    bool check_due;  /* idle long: pinged before the session's command (pool_check_after_ms) */
    bool checking;   /* a bounded command is out (backend_conn_send_bounded): timer runs */
    bool from_pool;  /* taken from the pool for this command, which has not gone out yet */
    uint64_t globals_seen; /* proxy.globals_changed when it logged in or its reset was sent */
    /* parked between two statements of a session (session_multiplex.c) */
    struct client_session *parked_by; /* the session it is kept for; NULL: none (any more) */
    bool dirty;         /* ran more than plain reads since its login or last reset */
    bool carries_state; /* a session's state is on it: reset before another session uses it */
    bool db_moved;      /* ... and it may be in a database (USE), not in none */
    bool needs_reset;   /* taken from another session: COM_RESET_CONNECTION comes first */
    bool held_last;      /* it ran the session's last statement, which the next may ask about */
    bool held_insert_id; /* it has the session's LAST_INSERT_ID() */
};

/* Allocates and starts connecting. Completion is reported to the session with
 * client_session_backend_ready() or client_session_backend_failed(). Returns
 * NULL (and nothing is reported) when it cannot even start. */
struct backend_conn *backend_conn_open(struct client_session *s, int index);

/* Send a whole command packet (header included) and track its response.
 * bytes must stay valid until the response is done when the write cannot
 * complete at once. forward: stream the response to the client. */
int backend_conn_send(struct backend_conn *bc, const uint8_t *bytes, size_t len, uint8_t command,
                      bool forward);

/* A proxy command (response swallowed) and at once, without waiting for its
 * answer, the client's command bytes (as for backend_conn_send; they stay
 * valid until its response is done). When the first response ends, the
 * session is told as usual and must call backend_conn_take_next(): the
 * server answers the second right after. */
int backend_conn_send_pair(struct backend_conn *bc, uint8_t command, const uint8_t *arg,
                           size_t arg_len, const uint8_t *bytes, size_t len, uint8_t command2);
/* Track the second command's response from here on; forward: to the client
 * (else it is read and dropped). */
void backend_conn_take_next(struct backend_conn *bc, bool forward);

/* A command whose bytes the caller sends itself, piece by piece, with
 * backend_conn_send_part (a large COM_QUERY streamed as it arrives): track
 * its response from now on. */
void backend_conn_start_command(struct backend_conn *bc, uint8_t command, bool forward);

/* A piece of the command begun with backend_conn_start_command, not copied:
 * bytes must stay valid until backend_conn_queued() is 0. Returns 0, or -1
 * after the failure was reported. */
int backend_conn_send_part(struct backend_conn *bc, const uint8_t *bytes, size_t len);

/* Build and send a proxy command (seq 0) with payload cmd + arg. */
int backend_conn_send_command(struct backend_conn *bc, uint8_t command, const uint8_t *arg,
                              size_t arg_len);

/* Send bytes the backend does not answer (COM_STMT_CLOSE to a connection
 * that is not running the current command, LOAD DATA LOCAL file packets):
 * copied when they cannot be written at once. Returns 0, or -1 after the
 * failure was reported. */
int backend_conn_send_copy(struct backend_conn *bc, const uint8_t *bytes, size_t len);

/* A proxy command on a connection that waited idle, or whose session left
 * (COM_PING before reuse, the pool's reset): the server, a firewall or a
 * NAT may have dropped it without a word, and nothing else would ever end
 * the wait. Its answer is reported as any response; none within [monitor]
 * connect_timeout_ms fails the connection. Returns 0, or -1 after the
 * failure was reported. */
int backend_conn_send_bounded(struct backend_conn *bc, uint8_t command, const uint8_t *arg,
                              size_t arg_len);

/* The client's file and its empty packet went out: the server's OK or ERR
 * comes next. */
void backend_conn_infile_done(struct backend_conn *bc);

/* Bytes queued for the backend that the socket has not taken yet. */
size_t backend_conn_queued(const struct backend_conn *bc);

/* The client-bound write that referenced rbuf completed: go on reading. */
void backend_conn_resume(struct backend_conn *bc);

/* The connection was reset: what sessions did on it (state replayed, the
 * proxy's settings, READ ONLY) is gone. */
void backend_conn_forget_session_state(struct backend_conn *bc);
/* Its loop's clock (ms). */
uint64_t backend_conn_now(const struct backend_conn *bc);

/* Close and free (asynchronously). The session pointer is dropped at once:
 * nothing more is reported. */
void backend_conn_close(struct backend_conn *bc);

#endif
