/* Read-your-writes for reads that go to replicas. */
#ifndef SY_PROXY_CAUSAL_H
#define SY_PROXY_CAUSAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct client_session;
struct backend_conn;

/* A read must go to the writer now: inside the primary window, or the GTID
 * of the session's last write cannot be learned any more. */
bool causal_read_goes_to_writer(struct client_session *s);
/* The session wrote since it last learned its GTID: ask the writer first. */
bool causal_needs_fetch(const struct client_session *s);
/* universal: the read needs the primary's position first (position_fetch.h). */
bool causal_needs_position(const struct client_session *s);
/* Decide the position a replica read must see (s->causal_target). False
 * when none can be named and the read must go to the writer. */
bool causal_choose_target(struct client_session *s);
/* Replica r may not have s->causal_target yet: wait there first. */
bool causal_must_wait(struct client_session *s, int replica);

/* Does a read that falls back to this writer wait there too (a Galera
 * node in a causal mode)? */
bool causal_writer_is_no_proof(const struct client_session *s, int writer);

/* ... and must it wait now (not known to have the read's position)? */
bool causal_writer_must_wait(struct client_session *s, int writer);

/* global, universal: a new replica connection logs in without the
 * session's database, which it may not have yet; COM_INIT_DB follows the
 * wait (bc->login_db_pending). */
bool causal_defers_login_db(const struct client_session *s, int index);

/* The proxy's own settings on a connection, sent before the client's
 * command. On a writer, last_gtid tracking, once, before the session's
 * state is replayed there (so that a replayed SET profiling = 1 does not
 * see it): each write's OK then carries its GTID. */
bool causal_needs_tracking(const struct client_session *s, struct backend_conn *bc);
/* On a replica, READ ONLY (readonly_retry.h), after the replay. Both are
 * sent by causal_send_setup(). */
bool causal_needs_setup(const struct client_session *s, const struct backend_conn *bc);
void causal_send_setup(struct client_session *s, struct backend_conn *bc);
void causal_setup_done(struct client_session *s, struct backend_conn *bc);

/* The proxy's own statements for those steps (responses swallowed). */
void causal_send_fetch(struct client_session *s, struct backend_conn *bc);
/* The wait alone, or (then non-NULL) followed at once by the client's
 * command, whose response the session takes after the wait's. */
void causal_send_wait(struct client_session *s, struct backend_conn *bc, const uint8_t *then,
                      size_t then_len);
/* Results: true when the read may go on as planned. */
void causal_fetch_done(struct client_session *s, struct backend_conn *bc);
bool causal_wait_done(struct client_session *s, struct backend_conn *bc);

/* The writer's response to the client's command is about to reach the
 * client whole: with causal_reads = global, the GTID it reports joins the
 * proxy-wide mark before the client can act on it. */
void causal_response_ending(struct client_session *s, struct backend_conn *bc);
/* A statement finished on the writer: learn the GTID of what it wrote. */
void causal_note_write(struct client_session *s, struct backend_conn *bc);

/* For PROXY EXPLAIN: the position a read (read: the statement is one) on
 * backend replica would wait for now, and whether it must wait there. */
void causal_explain(struct client_session *s, int replica, bool read, char *position, size_t cap,
                    const char **wait);

#endif
