/* Causal reads. After a session writes, its next read on a replica must see
 * that write. With causal_reads = gtid the proxy learns the write's GTID
 * from the writer connection (@@last_gtid) when the session next reads,
 * sends the read without waiting to a replica whose monitored position
 * already covers it, and otherwise makes the chosen replica wait for it
 * (MASTER_GTID_WAIT, bounded by causal_reads_timeout_ms) before the read;
 * on timeout the read goes to the writer. With primary_window, reads go to
 * the writer for causal_window_ms after each write. */
#include "proxy/causal.h"

#include <stdio.h>
#include <string.h>

#include "protocol/gtid.h"
#include "protocol/packet.h"
#include "proxy/backend_conn.h"
#include "proxy/log.h"
#include "proxy/readonly_retry.h"
#include "proxy/session.h"
#include "proxy/worker.h"

bool causal_read_goes_to_writer(struct client_session *s)
{
    const struct proxy_config *cfg = session_config(s);
    if (cfg->causal_reads == CAUSAL_PRIMARY_WINDOW)
        return uv_now(&s->w->loop) < s->window_until;
    if (cfg->causal_reads != CAUSAL_GTID)
        return false;
    if (s->gtid_lost)
        return true;
    if (!s->gtid_unknown)
        return false;
    /* @@last_gtid lives on the connection that wrote: if it is gone, the
     * GTID cannot be learned and only the writer is sure to have the write. */
    return s->writer < 0 || !s->bc[s->writer];
}

bool causal_needs_fetch(const struct client_session *s)
{
    return session_config(s)->causal_reads == CAUSAL_GTID && s->gtid_unknown;
}

bool causal_must_wait(struct client_session *s, int replica)
{
    if (session_config(s)->causal_reads != CAUSAL_GTID || s->causal_gtid[0] == '\0' ||
        (s->causal_ok & (1ull << replica)))
        return false;
    struct topology *t = session_topology(s);
    bool covered = s->causal_mysql
                       ? mysql_gtid_covered(t ? t->backend[replica].gtid_pos : "", s->causal_gtid)
                       : mariadb_gtid_covered(t ? t->backend[replica].gtid_pos : "", s->causal_gtid);
    if (t && (size_t)replica < t->n && covered) {
        s->causal_ok |= 1ull << replica; /* the monitor saw it there already */
        return false;
    }
    return true;
}

/* Nothing to send when the server's global setting already tracks
 * last_gtid: the session started with it, as a direct one would. */
bool causal_needs_tracking(const struct client_session *s, struct backend_conn *bc)
{
    if (replica_readonly_wanted(s, bc) || bc->setup_done ||
        session_config(s)->causal_reads != CAUSAL_GTID || !(bc->caps & CLIENT_SESSION_TRACK))
        return false;
    const struct topology *t = session_topology(s);
    if (!bc->mysql && t && (size_t)bc->index < t->n && t->backend[bc->index].tracks_last_gtid) {
        bc->setup_done = true;
        bc->tracks_gtid = true;
        return false;
    }
    return true;
}

bool causal_needs_setup(const struct client_session *s, const struct backend_conn *bc)
{
    return replica_readonly_wanted(s, bc) && replica_readonly_needed(s, bc);
}

/* MariaDB reports @@last_gtid as a tracked system variable; MySQL 8 has a
 * GTID tracker of its own. A replica connection is made read-only instead. */
void causal_send_setup(struct client_session *s, struct backend_conn *bc)
{
    if (replica_readonly_wanted(s, bc)) {
        s->step = STEP_SETUP;
        replica_readonly_send(s, bc);
        return;
    }
    static const char mariadb[] =
        "SET SESSION session_track_system_variables = "
        "CONCAT_WS(',', @@session.session_track_system_variables, 'last_gtid')";
    static const char mysql[] = "SET SESSION session_track_gtids = OWN_GTID";
    const char *sql = bc->mysql ? mysql : mariadb;
    s->step = STEP_SETUP;
    bc->setup_done = true;
    backend_conn_send_command(bc, COM_QUERY, (const uint8_t *)sql, strlen(sql));
}

void causal_setup_done(struct client_session *s, struct backend_conn *bc)
{
    if (replica_readonly_wanted(s, bc)) {
        replica_readonly_done(s, bc);
        return;
    }
    bc->tracks_gtid = !bc->tracker.is_error;
    if (bc->tracker.is_error)
        log_info("session %u: backend %s does not track last_gtid (%s); asking after writes",
                 s->id, session_backend_name(s, bc->index), bc->tracker.err_message);
}

/* Without tracking: MariaDB tells a connection its last GTID; MySQL does
 * not, so everything the server executed is waited for instead (a superset:
 * correct, possibly slower). */
void causal_send_fetch(struct client_session *s, struct backend_conn *bc)
{
    const char *sql = bc->mysql ? "SELECT @@global.gtid_executed" : "SELECT @@last_gtid";
    s->step = STEP_GTID_FETCH;
    s->causal_mysql = bc->mysql;
    backend_conn_send_command(bc, COM_QUERY, (const uint8_t *)sql, strlen(sql));
    bc->tracker.want_first_value = true;
}

void causal_send_wait(struct client_session *s, struct backend_conn *bc)
{
    char sql[256];
    const char *fn = s->causal_mysql ? "WAIT_FOR_EXECUTED_GTID_SET" : "MASTER_GTID_WAIT";
    int n = snprintf(sql, sizeof sql, "SELECT %s('%s', %.3f)", fn, s->causal_gtid,
                     session_config(s)->causal_reads_timeout_ms / 1000.0);
    s->step = STEP_CAUSAL_WAIT;
    backend_conn_send_command(bc, COM_QUERY, (const uint8_t *)sql, (size_t)n);
    bc->tracker.want_first_value = true;
}

/* Only GTID characters ever go into the wait statement's text: digits, '-'
 * and ',' (MariaDB), plus hex letters, ':' and the spaces and newlines
 * MySQL prints in @@gtid_executed. */
static bool gtid_text_ok(const char *g)
{
    for (; *g; g++)
        if (!((*g >= '0' && *g <= '9') || (*g >= 'a' && *g <= 'f') || (*g >= 'A' && *g <= 'F') ||
              *g == '-' || *g == ',' || *g == ':' || *g == ' ' || *g == '\n'))
            return false;
    return true;
}

void causal_fetch_done(struct client_session *s, struct backend_conn *bc)
{
    const struct result_tracker *rt = &bc->tracker;
    s->gtid_unknown = false;
    s->causal_ok = 0;
    s->causal_gtid[0] = '\0';
    if (rt->is_error || !rt->has_first_value || !gtid_text_ok(rt->first_value) ||
        strlen(rt->first_value) >= sizeof s->causal_gtid) {
        log_warn("session %u: cannot learn the GTID of its last write (%s); reads stay on the "
                 "writer until the next write",
                 s->id, rt->is_error ? rt->err_message : "no usable @@last_gtid");
        s->gtid_lost = true;
        return;
    }
    memcpy(s->causal_gtid, rt->first_value, strlen(rt->first_value) + 1);
}

bool causal_wait_done(struct client_session *s, struct backend_conn *bc)
{
    const struct result_tracker *rt = &bc->tracker;
    if (!rt->is_error && rt->has_first_value && strcmp(rt->first_value, "0") == 0) {
        s->causal_ok |= 1ull << bc->index;
        return true;
    }
    log_debug("session %u: backend %s did not reach %s within %d ms; reading from the writer",
              s->id, session_backend_name(s, bc->index), s->causal_gtid,
              session_config(s)->causal_reads_timeout_ms);
    return false;
}

void causal_note_write(struct client_session *s, struct backend_conn *bc)
{
    const struct proxy_config *cfg = session_config(s);
    if (cfg->causal_reads == CAUSAL_OFF || bc->index != s->writer)
        return;
    bool read = (s->cmd == COM_QUERY && s->cls.is_read) ||
                (s->cmd == COM_STMT_EXECUTE && s->stmt && s->stmt->cls.is_read);
    if (read || (s->cmd != COM_QUERY && s->cmd != COM_STMT_EXECUTE &&
                 s->cmd != COM_STMT_BULK_EXECUTE))
        return;
    if (cfg->causal_reads == CAUSAL_PRIMARY_WINDOW) {
        s->window_until = uv_now(&s->w->loop) + (uint64_t)cfg->causal_window_ms;
        return;
    }
    s->gtid_unknown = true;
    s->gtid_lost = false;
    const uint8_t *sql = s->cmd == COM_QUERY ? s->arg : s->stmt ? s->stmt->sql : NULL;
    size_t sql_len = s->cmd == COM_QUERY ? s->arg_len : s->stmt ? s->stmt->sql_len : 0;
    const struct classification *c = s->cmd == COM_QUERY ? &s->cls : s->stmt ? &s->stmt->cls : NULL;
    /* Only a SET (or a procedure) can change tracking: other writes are not scanned. */
    bool may_set = c && (c->flags & (CLS_SESSION_STATE | CLS_HIDDEN_STATE));
    if (sql && may_set && text_mentions(sql, sql_len, "session_track"))
        s->tracking_touched = true; /* the client's own setting may have dropped last_gtid */
    /* With tracking on, the OK says which GTID the write got; an OK that
     * names none means the write committed nothing new: the session's last
     * GTID is still the one it had. */
    const struct result_tracker *rt = &bc->tracker;
    if (!bc->tracks_gtid || s->tracking_touched || rt->gtid_unreadable)
        return;
    if (rt->gtid[0] != '\0') {
        if (!gtid_text_ok(rt->gtid))
            return;
        memcpy(s->causal_gtid, rt->gtid, sizeof s->causal_gtid);
        s->causal_mysql = rt->gtid_mysql;
        s->causal_ok = 0;
    }
    s->gtid_unknown = false;
}
