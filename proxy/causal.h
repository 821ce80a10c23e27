/* Read-your-writes for sessions whose reads go to replicas. */
#ifndef SY_PROXY_CAUSAL_H
#define SY_PROXY_CAUSAL_H

#include <stdbool.h>

struct client_session;
struct backend_conn;

/* A read must go to the writer now: inside the primary window, or the GTID
 * of the session's last write cannot be learned any more. */
bool causal_read_goes_to_writer(struct client_session *s);
/* The session wrote since it last learned its GTID: ask the writer first. */
bool causal_needs_fetch(const struct client_session *s);
/* Replica r may not have the session's last write yet: wait there first. */
bool causal_must_wait(struct client_session *s, int replica);

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
void causal_send_wait(struct client_session *s, struct backend_conn *bc);
/* Results: true when the read may go on as planned. */
void causal_fetch_done(struct client_session *s, struct backend_conn *bc);
bool causal_wait_done(struct client_session *s, struct backend_conn *bc);

/* A statement that may have written finished on the writer. */
void causal_note_write(struct client_session *s, struct backend_conn *bc);

#endif
