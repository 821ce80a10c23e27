/* Inside a client session: the struct and the functions its files share
 * (client_session.c: I/O and the command loop; client_auth.c: login and
 * COM_CHANGE_USER; stmt_command.c: prepared statements; proxy_statement.c:
 * PROXY statements; kill_command.c: KILL). Nothing outside proxy/ sees it. */
#ifndef SY_PROXY_SESSION_H
#define SY_PROXY_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "protocol/handshake.h"
#include "proxy/backend_limit.h"
#include "proxy/client_session.h"
#include "protocol/gtid.h"
#include "proxy/position_fetch.h"
#include "proxy/prepared_stmt.h"
#include "proxy/query_digest.h"
#include "proxy/session_log.h"
#include "proxy/session_registry.h"
#include "proxy/transport.h"
#include "proxy/worker.h"
#include "proxy/writer_wait.h"
#include "router/classify.h"
#include "router/route.h"

#define CLIENT_IN_MIN (16 * 1024)
#define LOGIN_PACKET_MAX (64 * 1024)

enum client_state {
    CS_GREETING_SENT, /* waiting for the handshake response */
    CS_AUTH_SWITCH,   /* asked the client to answer with mysql_native_password */
    CS_LOGIN_DB,      /* logged in at the proxy; the writer checks the database first */
    CS_IDLE,          /* waiting for a command */
    CS_COMMAND,       /* a command is running on a backend */
    CS_INFILE,        /* relaying the client's LOAD DATA LOCAL file to the backend */
    CS_FLUSHING,      /* last words (an ERR) queued; closing once sent */
    CS_CLOSING,
};

/* What the backend is doing for the current command. */
enum dispatch_step {
    STEP_CHECK,   /* a pooled connection that waited idle long: COM_PING */
    STEP_RESET,   /* a pooled connection another session used: COM_RESET_CONNECTION */
    STEP_REPLAY,  /* a session-state entry the backend lacks */
    STEP_PREPARE, /* preparing the statement there on first use */
    STEP_SETUP,       /* the proxy's own settings on a new connection (GTID tracking) */
    STEP_GTID_FETCH,  /* learning the GTID of the session's last write on the writer */
    STEP_CAUSAL_WAIT, /* making the replica wait for that GTID */
    STEP_DRAIN,       /* the wait timed out: the read sent after it is answered, not forwarded */
    STEP_LOGIN_DB,    /* the login's database on a replica connection, after the wait */
    STEP_CLIENT,  /* the client's own command */
};

struct client_session {
    struct worker *w;
    struct config_gen *gen; /* adopted between statements after a reload */
    struct client_session *prev, *next;
    struct runnable run;  /* queued on the worker when its next command waits */
    bool output_full;     /* stopped taking commands until the client reads its answers */
    struct transport t; /* to the client */
    uint32_t id;
    enum client_state state;
    char peer[64];
    uint8_t scramble[SCRAMBLE_LEN];
    int user_index;
    bool changing_user; /* CS_AUTH_SWITCH belongs to a COM_CHANGE_USER */
    bool db_check_changing; /* CS_LOGIN_DB belongs to a COM_CHANGE_USER */
    uint8_t db_check_seq;   /* CS_LOGIN_DB: sequence id of the OK (or ERR) it owes */
    struct login_backup *before_change; /* during a COM_CHANGE_USER: restored if it fails */
    int failed_change_user; /* MariaDB allows three per connection */
    struct session_login login;
    char current_db[256];     /* the login's database, then what USE, COM_INIT_DB or an
                                 OK's schema entry chose (current_db.c) */
    struct session_entry entry; /* in the proxy's registry once logged in */
    bool registered;

    uint8_t *in; /* bytes read from the client, commands not yet finished */
    size_t in_len, in_cap; /* in_cap: room from in to the end of in_buf */
    uint8_t *in_buf; /* the allocation in points into (finished commands are before in) */

    /* the command in progress */
    size_t cmd_wire;    /* its bytes at the start of in */
    uint8_t cmd;
    uint8_t cmd_seq;
    const uint8_t *arg; /* payload after the command byte */
    size_t arg_len;
    uint8_t *gathered;  /* payload copy when the packet was split */
    struct classification cls;
    struct route_decision decision;
    int target;           /* backend running it */
    bool read_only_route; /* routed to a replica: may move on connect failure */
    enum dispatch_step step;
    bool forwarded;       /* response bytes already reached the client */
    bool cmd_sent;        /* the client's command went out to the backend */
    uint64_t tried;       /* replicas that failed for this command */
    const uint8_t *send_bytes; /* what goes to the backend */
    size_t send_len;
    uint8_t *rewritten;   /* owned, when the command had to be rebuilt */
    size_t rewritten_len;
    struct prepared_stmt *stmt; /* of a COM_STMT_* command */
    bool stmt_types_bound;      /* this execute carries (or now carries) types */

    int writer;       /* the primary this session writes to; -1 not chosen yet */
    struct writer_waiter writer_wait; /* its command found no writer (writer_wait.h) */
    struct limit_waiter limit_wait;   /* it waits for room at a backend (backend_limit.h) */

    /* a COM_QUERY too large to hold, sent on as it arrives (client_limits.c) */
    bool streaming;           /* some of its bytes are still to come from the client */
    bool stream_sending;      /* its backend runs it: what arrives goes on at once */
    size_t stream_chunk_left; /* bytes of the current physical packet still to send */
    bool stream_more;         /* another chunk follows that one */
    size_t stream_total;      /* payload bytes announced so far */

    /* causal reads (causal.c) */
    char causal_gtid[128]; /* GTID of the session's last write: its replica reads must see it */
    bool gtid_unknown;     /* wrote since: ask the writer for @@last_gtid before a replica read */
    bool gtid_lost;        /* could not learn it: read on the writer until the next write */
    bool causal_mysql;     /* causal_gtid is a MySQL GTID set (else MariaDB domain-server-seq) */
    bool tracking_touched; /* the client set session_track_*: OKs may not report GTIDs */
    char causal_target[GTID_TEXT_MAX]; /* the position this read must see on a replica */
    bool target_mysql;     /* causal_target is a MySQL GTID set */
    bool wait_pipelined;   /* the client's command went out right behind the wait */
    /* causal_reads = universal: the primary's position for this read */
    struct position_waiter position_wait;
    bool position_ready;   /* fetched after the read arrived */
    bool position_ok;      /* ... and usable; else the read goes to the writer */
    bool position_mysql; /* the position itself is in causal_target */
    uint64_t cmd_start_ns; /* uv_hrtime when the current command started */
    uint64_t topology_seen; /* snapshot version it last checked for DOWN backends */
    uint64_t last_active_ms; /* uv_now when it last finished or started one */
    bool counted;          /* included in the connection counters */
    uint64_t window_until; /* primary_window: reads go to the writer until then (loop ms) */
    bool gtid_fetch;       /* dispatch on the writer: fetch, then route the read */
    bool causal_wait;      /* dispatch on the replica: wait first */
    bool wait_failed;      /* a wait failed for this read: it goes to the writer at last */
    bool wait_on_writer;   /* the read waits on a Galera writer, its last resort */
    int last_backend; /* ran the previous statement; -1 none */
    int trx_backend;  /* holds the read-only transaction; -1 none */
    uint64_t replay_failed;
    struct backend_conn *bc[CONFIG_MAX_BACKENDS];
    /* multiplexing (session_multiplex.c): connections idle in the pool with
     * this session's state, taken back by its next statement that needs them */
    struct backend_conn *parked[CONFIG_MAX_BACKENDS];
    int hold_backend;     /* ran the last statement, which the next may ask about; -1 none */
    int insert_id_backend; /* has the LAST_INSERT_ID() a statement set; -1 none */
    bool used_user_vars;  /* a statement mentioned a user variable */
    bool ran_stored_code; /* a write ran, which may have fired triggers or stored functions */
    /* a full pool gave a connection it held to another session: what it held is gone */
    bool lost_last_info;  /* the last statement's warnings, ROW_COUNT(), FOUND_ROWS() */
    bool lost_insert_id;  /* its LAST_INSERT_ID() */
    struct session_route_state route;
    struct session_log log;
    struct stmt_registry stmts;
    struct query_outcome outcome; /* of the command in progress, for the query digest */
};

/* current_db.c */
struct result_tracker;
void session_set_current_db(struct client_session *s, const char *name, size_t len);
/* A command succeeded: follow the database it moved to (the OK's schema
 * entry, or COM_INIT_DB). */
void session_follow_current_db(struct client_session *s, const struct result_tracker *rt);
/* After the session log was cleared, bring it back to the current database. */
void session_log_current_db(struct client_session *s);

/* client_session.c */
const struct proxy_config *session_config(const struct client_session *s);
const char *session_backend_name(const struct client_session *s, int index);
struct topology *session_topology(const struct client_session *s);
int session_primary_index(const struct client_session *s);
int session_choose_writer(struct client_session *s);
void session_close(struct client_session *s);
void session_close_after_flush(struct client_session *s);
int session_send(struct client_session *s, const uint8_t *data, size_t len);
void session_send_err(struct client_session *s, uint8_t seq, uint16_t code, const char *sqlstate,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void session_send_ok(struct client_session *s, uint8_t seq);
uint16_t session_status(const struct client_session *s);
void session_finish_command(struct client_session *s);
void session_fail_command(struct client_session *s, uint16_t code, const char *sqlstate,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Classify the statement in s->arg into s->cls, with its digest when the
 * query digest is on. */
void session_classify(struct client_session *s);
/* The classification of the statement the command runs (COM_QUERY, or a
 * prepared statement's execute); NULL for other commands. */
const struct classification *session_statement_cls(const struct client_session *s);
void session_run_on(struct client_session *s, int index);
/* A connection to backend index from the worker's pool, now the session's
 * (it logged in as the session would); NULL when none is idle. */
struct backend_conn *session_take_pooled(struct client_session *s, int index);
void session_route(struct client_session *s);
/* Backend index has room now for the connection the session waited for. */
void session_room_came(struct client_session *s, int index);
/* It got none: the command (or the login) fails with this ERR. */
void session_room_refused(struct client_session *s, uint16_t code, const char *sqlstate,
                          const char *message);
/* Close every backend connection and forget all session state (change user,
 * reset connection). */
void session_reset_backends(struct client_session *s);
void session_set_busy(struct client_session *s, int index);
void session_start_reading(struct client_session *s);
/* Move the unprocessed input to the start of its buffer (never while a
 * command runs); returns the buffer. */
uint8_t *session_compact_input(struct client_session *s);
/* Where the command's argument sits in the input (SIZE_MAX: elsewhere), to
 * put it back after the input's bytes moved. */
size_t session_arg_offset(const struct client_session *s);
void session_arg_rebase(struct client_session *s, size_t off);
void session_consume_input(struct client_session *s, size_t n);
/* Move what TLS has decrypted into the input; -1 when the session died. */
int session_take_plaintext(struct client_session *s);

/* client_limits.c */
size_t session_input_room(struct client_session *s);
/* Give the input buffer back (nothing is in it, nothing points into it). */
void session_release_input(struct client_session *s);
bool session_input_paused(const struct client_session *s);
/* True when the command being received is too large: answered and closing. */
bool session_refuse_oversized(struct client_session *s);
/* The command being received is a COM_QUERY to stream, and its first bytes
 * (to classify) are in: prefix is how many payload bytes to classify. */
bool session_query_streams(const struct client_session *s, size_t *prefix);
/* Send on what arrived of the streamed command. */
void session_relay_stream(struct client_session *s);

/* The client sent an SSL request: start TLS on its connection; bytes after
 * the request (already part of the TLS handshake) are in rest. */
int session_start_tls(struct client_session *s, const uint8_t *rest, size_t len);

/* client_auth.c */
void session_send_greeting(struct client_session *s);
void session_on_login_packet(struct client_session *s, const uint8_t *p, size_t len, uint8_t seq);
void session_on_auth_switch_reply(struct client_session *s, const uint8_t *p, size_t len,
                                  uint8_t seq);
void session_change_user(struct client_session *s);
/* CS_LOGIN_DB: the writer's connection bc logged in with the database, or
 * (bc NULL) the server refused it with this ERR (code non-zero), or it could
 * not be reached (code 0). */
void session_database_checked(struct client_session *s, const struct backend_conn *bc,
                              uint16_t code, const char *sqlstate, const char *refused);
/* CS_LOGIN_DB: the connection to backend index for the database check, from
 * the pool or a new login, once the backend has room for it. */
void session_login_db_connect(struct client_session *s, int index);

/* stmt_command.c */
void stmt_command(struct client_session *s);
/* Before sending the client's command to the target: rewrite ids / types.
 * Returns 0, or -1 after failing the command. */
int stmt_prepare_bytes(struct client_session *s, struct backend_conn *bc);
/* The target answered the client's COM_STMT_* command. */
void stmt_command_done(struct client_session *s, struct backend_conn *bc);
/* Does the target still need the statement prepared? */
bool stmt_needs_prepare(const struct client_session *s, const struct backend_conn *bc);
void stmt_prepared_on(struct client_session *s, struct backend_conn *bc);

/* proxy_statement.c: true when the text was a PROXY statement (answered). */
bool proxy_statement(struct client_session *s);
/* Fill names for PROXY EXPLAIN: which backend the decision would use now. */
int session_peek_target(struct client_session *s, const struct route_decision *d);

/* session_multiplex.c */
/* Why the session keeps its backend connections between statements, or
 * NULL when they may wait in the pool for it. */
const char *session_pin_reason(const struct client_session *s);
/* A statement ended: what the session may ask about next stays; its other
 * connections wait in the pool, unless it is pinned. */
void session_park_backends(struct client_session *s);
/* Note what the statement that just ended on bc leaves for the next one. */
void session_note_statement(struct client_session *s, const struct backend_conn *bc);
/* Before routing a statement: true when it asks for something a full pool
 * took from the session (the command failed with an ERR saying so). */
bool session_lost_to_pool(struct client_session *s, const struct classification *c);
/* The pool gave bc, parked and held for s, to another session. */
void session_pool_took_held(struct client_session *s, const struct backend_conn *bc);
/* Let go of every parked connection (closing, starting afresh, reload). */
void session_unpark_all(struct client_session *s);
/* The session's connection to backend index, held or parked; NULL none. */
struct backend_conn *session_conn(const struct client_session *s, int index);

/* kill_command.c */
void kill_command(struct client_session *s, uint32_t id, bool kill_connection);
void kill_statement(struct client_session *s);
/* The current command is the KILL QUERY the proxy sent for a client's KILL. */
bool kill_sent_for_client(const struct client_session *s);
/* Its held ERR: true when answered (Unknown thread id: the thread is gone, OK). */
bool kill_backend_answered(struct client_session *s, struct backend_conn *bc);

#endif
