/* A client session: the client's socket, its login, its routing state and
 * the backend connections it opened (at most one per backend, opened on
 * first use). It reads one command at a time, picks a backend, replays any
 * session state that backend lacks, forwards the command's bytes unchanged
 * and streams the response back. */
#ifndef SY_PROXY_CLIENT_SESSION_H
#define SY_PROXY_CLIENT_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h"

struct worker;
struct config_gen;
struct backend_conn;
struct client_session;

/* Who the session logged in as; backends get the same login. */
struct session_login {
    char user[CONFIG_NAME_MAX];
    const struct user_config *account;
    uint8_t stage1[20]; /* SHA1(password), recovered from the client's reply */
    uint64_t caps;      /* capabilities negotiated with the client (MariaDB's
                           extended ones in bits 32-63) */
    uint32_t max_packet;
    uint8_t charset;
    char db[256]; /* as the client sent it in its handshake or COM_CHANGE_USER */
    uint8_t *attrs; /* connection attributes block, passed on unchanged */
    size_t attrs_len;
};

/* What a COM_CHANGE_USER replaces, kept on the heap while it runs: an idle
 * session does not carry it. */
struct login_backup {
    struct session_login login;
    int user_index;
    char current_db[256];
};

void client_session_accept(struct worker *w, uv_stream_t *server);
void client_session_close_all(struct worker *w);

const struct session_login *client_session_login(const struct client_session *s);
struct worker *client_session_worker(const struct client_session *s);
/* The configuration generation the session routes with. */
const struct config_gen *client_session_config_gen(const struct client_session *s);
const struct proxy_config *client_session_config(const struct client_session *s);
uint32_t client_session_id(const struct client_session *s);

/* Reports from backend connections. */
void client_session_backend_ready(struct client_session *s, struct backend_conn *bc);
void client_session_backend_failed(struct client_session *s, struct backend_conn *bc, uint16_t code,
                                   const char *sqlstate, const char *message);
/* The response bc forwards is complete with the bytes about to be sent:
 * what it reports must be known before the client can act on it. */
void client_session_response_ending(struct client_session *s, struct backend_conn *bc);
/* Stream response bytes to the client. Returns true when they were written at
 * once; false when the write is pending on bc's behalf (bc stops reading and
 * backend_conn_resume() is called when it completes). */
bool client_session_forward(struct client_session *s, struct backend_conn *bc, const uint8_t *data,
                            size_t len);
/* The server asked for a LOAD DATA LOCAL file (its request went to the
 * client); relay the client's file packets. */
void client_session_infile_requested(struct client_session *s, struct backend_conn *bc);
/* client_idle_timeout: close sessions idle for longer. */
void client_session_close_idle_too_long(struct worker *w);
/* connect_timeout: close connections whose login takes longer. */
void client_session_close_slow_logins(struct worker *w);
/* A write bc had queued completed: a client paused for back-pressure
 * (LOAD DATA LOCAL) may be read again. */
void client_session_backend_wrote(struct client_session *s, struct backend_conn *bc);
/* Shutdown: close the sessions not running a statement. */
void client_session_close_idle(struct worker *w);
/* Close the worker's sessions that KILL CONNECTION marked. */
void client_session_close_killed(struct worker *w);
/* The response tracked by bc->tracker has ended. */
void client_session_response_done(struct client_session *s, struct backend_conn *bc);

#endif
