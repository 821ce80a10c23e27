/* KILL through the proxy. The id a client knows is its proxy session id
 * (from the handshake): the proxy finds that session, and if it is running a
 * statement, kills that statement on the backend running it, over the
 * killer's own connection to that backend (same account, so the server
 * allows it). KILL CONNECTION also closes the session, on its own worker. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/packet.h"
#include "proxy/backend_conn.h"
#include "proxy/session.h"
#include "proxy/worker.h"
#include "router/kill_statement.h"

#define ER_NO_SUCH_THREAD 1094
#define ER_KILL_DENIED_ERROR 1095
#define ER_CONNECTION_KILLED 1927

/* Run KILL QUERY <thread_id> on backend index in place of the client's command. */
static void kill_on_backend(struct client_session *s, int index, uint32_t thread_id)
{
    char sql[48];
    int n = snprintf(sql, sizeof sql, "KILL QUERY %u", thread_id);
    free(s->rewritten);
    s->rewritten = malloc(PACKET_HEADER_LEN + 1 + (size_t)n);
    if (!s->rewritten) {
        session_fail_command(s, ER_UNKNOWN_ERROR, "HY000", "switchyard: out of memory");
        return;
    }
    packet_write_header(s->rewritten, (uint32_t)n + 1, s->cmd_seq);
    s->rewritten[PACKET_HEADER_LEN] = COM_QUERY;
    memcpy(s->rewritten + PACKET_HEADER_LEN + 1, sql, (size_t)n);
    s->rewritten_len = PACKET_HEADER_LEN + 1 + (size_t)n;
    s->cmd = COM_QUERY;
    session_run_on(s, index);
}

bool kill_sent_for_client(const struct client_session *s)
{
    return s->cmd == COM_QUERY && s->rewritten != NULL;
}

/* The victim session exists (the proxy found it), so the server's answer to
 * KILL is OK; its backend thread may be gone already, when the victim's
 * worker closed that connection first (KILL CONNECTION) or its statement
 * ended and the connection went away meanwhile. */
bool kill_backend_answered(struct client_session *s, struct backend_conn *bc)
{
    if (!kill_sent_for_client(s) || bc->tracker.err_code != ER_NO_SUCH_THREAD)
        return false;
    session_send_ok(s, bc->tracker.last_seq);
    session_finish_command(s);
    return true;
}

void kill_command(struct client_session *s, uint32_t id, bool kill_connection)
{
    if (id == s->id) {
        if (!kill_connection) {
            session_send_ok(s, s->cmd_seq + 1); /* our own statement is this KILL */
            session_finish_command(s);
            return;
        }
        session_send_err(s, s->cmd_seq + 1, ER_CONNECTION_KILLED, "70100",
                         "Connection was killed");
        session_close_after_flush(s);
        return;
    }
    struct session_kill_target t =
        session_registry_kill(&s->w->proxy->sessions, id, s->login.user, kill_connection);
    if (!t.found) {
        session_fail_command(s, ER_NO_SUCH_THREAD, "HY000", "Unknown thread id: %u", id);
        return;
    }
    if (!t.owner) {
        session_fail_command(s, ER_KILL_DENIED_ERROR, "HY000", "You are not owner of thread %u",
                             id);
        return;
    }
    if (kill_connection)
        uv_async_send(&t.worker->kill_async);
    if (t.busy_backend >= 0 && t.busy_thread_id != 0) {
        kill_on_backend(s, t.busy_backend, t.busy_thread_id);
        return;
    }
    session_send_ok(s, s->cmd_seq + 1);
    session_finish_command(s);
}

void kill_statement(struct client_session *s)
{
    struct kill_statement k;
    parse_kill_statement((const char *)s->arg, s->arg_len, &k);
    if (!k.valid) {
        session_fail_command(s, ER_NOT_SUPPORTED_YET, "42000",
                             "switchyard supports KILL [CONNECTION | QUERY] <id> with the id the "
                             "client saw at connect time (mysql_thread_id); run other forms "
                             "directly on the server");
        return;
    }
    kill_command(s, k.id, k.kill_connection);
}
