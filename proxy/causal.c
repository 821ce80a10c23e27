/* Causal reads. A read on a replica waits there (MASTER_GTID_WAIT, bounded
 * by causal_reads_timeout_ms; on timeout the read goes to the writer) for a
 * position chosen by the mode:
 * - gtid: the GTID of the session's own last write, from the writer's OK
 *   packets (session tracking of last_gtid), else from @@last_gtid;
 * - global: every GTID this proxy saw in the writer's OKs, from all
 *   sessions and workers (a lock-free mark, gtid_mark.h), raised before the
 *   OK reaches its client;
 * - universal: the primary's @@gtid_binlog_pos when the read arrives, which
 *   covers every client of every proxy (position_fetch.h).
 * A replica whose monitored position, or whose connection's last wait,
 * already covers it gets the read with no wait; otherwise the wait goes out
 * back to back with the read, so it costs no round trip of its own. With
 * primary_window, reads go to the writer for causal_window_ms after each
 * write. */
#include "proxy/causal.h"
#include "proxy/galera_route.h"

#include <stdio.h>
#include <string.h>

#include "protocol/gtid.h"
#include "protocol/packet.h"
#include "proxy/backend_conn.h"
#include "proxy/gtid_mark.h"
#include "proxy/log.h"
#include "proxy/readonly_retry.h"
#include "proxy/session.h"
#include "proxy/worker.h"

/* Modes that learn the GTIDs of the session's writes. */
static bool learns_writes(const struct client_session *s)
{
    enum causal_reads m = session_config(s)->causal_reads;
    return m == CAUSAL_GTID || m == CAUSAL_GLOBAL;
}

static bool waits_on_replicas(const struct client_session *s)
{
    return learns_writes(s) || session_config(s)->causal_reads == CAUSAL_UNIVERSAL;
}

bool causal_read_goes_to_writer(struct client_session *s)
{
    const struct proxy_config *cfg = session_config(s);
    if (cfg->causal_reads == CAUSAL_PRIMARY_WINDOW)
        return uv_now(&s->w->loop) < s->window_until;
    if (!learns_writes(s))
        return false;
    if (s->gtid_lost)
        return true;
    if (!s->gtid_unknown)
        return false;
    /* @@last_gtid lives on the connection that wrote: if it is gone, the
     * GTID cannot be learned and only the writer is sure to have the write. */
    return s->writer < 0 || !session_conn(s, s->writer);
}

bool causal_needs_fetch(const struct client_session *s)
{
    return learns_writes(s) && s->gtid_unknown;
}

bool causal_needs_position(const struct client_session *s)
{
    return session_config(s)->causal_reads == CAUSAL_UNIVERSAL && !s->position_ready;
}

bool causal_choose_target(struct client_session *s)
{
    enum causal_reads m = session_config(s)->causal_reads;
    if (m == CAUSAL_UNIVERSAL) { /* position_known() put it in causal_target */
        s->target_mysql = s->position_mysql;
        return s->position_ok;
    }
    s->causal_target[0] = '\0';
    s->target_mysql = false;
    if (m == CAUSAL_GTID || (m == CAUSAL_GLOBAL && s->causal_mysql)) {
        /* MySQL's GTID sets are the session's own: the mark holds MariaDB's. */
        s->target_mysql = s->causal_mysql;
        snprintf(s->causal_target, sizeof s->causal_target, "%s", s->causal_gtid);
        return true;
    }
    if (m != CAUSAL_GLOBAL)
        return true;
    if (gtid_mark_format(&s->w->proxy->acknowledged, s->causal_target,
                         sizeof s->causal_target) < 0) {
        log_warn("session %u: the proxy's GTID mark cannot be named (too many replication "
                 "domains); reading from the writer",
                 s->id);
        return false;
    }
    return true;
}

static bool target_covered(const struct client_session *s, const char *position)
{
    return s->target_mysql ? mysql_gtid_covered(position, s->causal_target)
                           : mariadb_gtid_covered(position, s->causal_target);
}

bool causal_must_wait(struct client_session *s, int replica)
{
    if (!waits_on_replicas(s) || s->causal_target[0] == '\0')
        return false;
    struct topology *t = session_topology(s);
    if (t && (size_t)replica < t->n && galera_position_proves(session_config(s), (size_t)replica) &&
        target_covered(s, t->backend[replica].gtid_pos))
        return false; /* the monitor saw it there already */
    const struct backend_conn *bc = session_conn(s, replica);
    return !(bc && bc->confirmed[0] && target_covered(s, bc->confirmed));
}

/* A Galera node has another node's writes only once it applied them, so
 * one that takes the writes is no proof for a read that falls back to it;
 * only the primary of a primary/replica topology has every acknowledged
 * write by being it. */
bool causal_writer_is_no_proof(const struct client_session *s, int writer)
{
    return waits_on_replicas(s) && session_config(s)->backends[writer].galera;
}

/* An empty target (a GTID not learned, a mark that cannot be named) is
 * covered by nothing: the writer waits for everything. */
bool causal_writer_must_wait(struct client_session *s, int writer)
{
    if (!causal_writer_is_no_proof(s, writer))
        return false;
    const struct backend_conn *bc = session_conn(s, writer);
    return !(s->causal_target[0] && bc && bc->confirmed[0] && target_covered(s, bc->confirmed));
}

bool causal_defers_login_db(const struct client_session *s, int index)
{
    enum causal_reads m = session_config(s)->causal_reads;
    return (m == CAUSAL_GLOBAL || m == CAUSAL_UNIVERSAL) && s->login.db[0] &&
           index != s->writer && session_config(s)->backends[index].role != ROLE_PRIMARY;
}

/* Nothing to send when the server's global setting already tracks
 * last_gtid: the session started with it, as a direct one would. */
bool causal_needs_tracking(const struct client_session *s, struct backend_conn *bc)
{
    if (replica_readonly_wanted(s, bc) || bc->setup_done || !learns_writes(s) ||
        !(bc->caps & CLIENT_SESSION_TRACK))
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

void causal_send_wait(struct client_session *s, struct backend_conn *bc, const uint8_t *then,
                      size_t then_len)
{
    char sql[sizeof s->causal_target + 64];
    const char *fn = s->target_mysql ? "WAIT_FOR_EXECUTED_GTID_SET" : "MASTER_GTID_WAIT";
    int timeout_ms = session_config(s)->causal_reads_timeout_ms;
    int n = session_config(s)->backends[bc->index].galera
                ? snprintf(sql, sizeof sql, "%s", galera_wait_sql())
                : snprintf(sql, sizeof sql, "SELECT %s('%s', %.3f)", fn, s->causal_target,
                           timeout_ms / 1000.0);
    s->step = STEP_CAUSAL_WAIT;
    s->wait_pipelined = then != NULL;
    s->cmd_sent = then != NULL;
    if (then)
        backend_conn_send_pair(bc, COM_QUERY, (const uint8_t *)sql, (size_t)n, then, then_len,
                               s->cmd);
    else
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

/* global: a GTID of the writer joins the proxy-wide mark. */
static void publish(struct client_session *s, const char *gtid, bool mysql)
{
    if (session_config(s)->causal_reads != CAUSAL_GLOBAL || mysql || gtid[0] == '\0')
        return;
    if (gtid_mark_raise(&s->w->proxy->acknowledged, gtid) != 0)
        log_warn("session %u: GTID '%.60s' cannot join the proxy's mark (malformed, or more "
                 "than %d replication domains)",
                 s->id, gtid, GTID_MARK_DOMAINS);
}

void causal_fetch_done(struct client_session *s, struct backend_conn *bc)
{
    const struct result_tracker *rt = &bc->tracker;
    s->gtid_unknown = false;
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
    publish(s, s->causal_gtid, s->causal_mysql);
}

bool causal_wait_done(struct client_session *s, struct backend_conn *bc)
{
    const struct result_tracker *rt = &bc->tracker;
    if (!rt->is_error && rt->has_first_value && strcmp(rt->first_value, "0") == 0) {
        memcpy(bc->confirmed, s->causal_target, sizeof bc->confirmed);
        return true;
    }
    log_debug("session %u: backend %s did not reach %s within %d ms (%s); reading elsewhere",
              s->id, session_backend_name(s, bc->index), s->causal_target,
              session_config(s)->causal_reads_timeout_ms,
              rt->is_error ? rt->err_message : "timed out");
    return false;
}

void causal_response_ending(struct client_session *s, struct backend_conn *bc)
{
    const struct result_tracker *rt = &bc->tracker;
    if (bc->index == s->writer && rt->gtid[0] && gtid_text_ok(rt->gtid))
        publish(s, rt->gtid, rt->gtid_mysql);
}

/* A statement whose answer ends with a result set's EOF (a client without
 * CLIENT_DEPRECATE_EOF) cannot report the GTID it committed: only the
 * changed-state flag says it may have written. Its GTID is then asked for
 * before the session's next replica read. */
static bool gtid_hidden(const struct backend_conn *bc)
{
    const struct result_tracker *rt = &bc->tracker;
    return rt->gtid[0] == '\0' && rt->ended_with_rows && !(bc->caps & CLIENT_DEPRECATE_EOF) &&
           (rt->status & SERVER_SESSION_STATE_CHANGED);
}

void causal_note_write(struct client_session *s, struct backend_conn *bc)
{
    const struct proxy_config *cfg = session_config(s);
    if (cfg->causal_reads == CAUSAL_OFF || cfg->causal_reads == CAUSAL_UNIVERSAL ||
        bc->index != s->writer)
        return;
    if (s->cmd != COM_QUERY && s->cmd != COM_STMT_EXECUTE && s->cmd != COM_STMT_BULK_EXECUTE)
        return;
    bool read = (s->cmd == COM_QUERY && s->cls.is_read) ||
                (s->cmd == COM_STMT_EXECUTE && s->stmt && s->stmt->cls.is_read);
    /* A read that ran on the writer can still have written (NEXT VALUE FOR
     * refilling a sequence's cache, a stored function): its GTID says so. */
    if (read && bc->tracker.gtid[0] == '\0' && !gtid_hidden(bc))
        return;
    if (cfg->causal_reads == CAUSAL_PRIMARY_WINDOW) {
        s->window_until = uv_now(&s->w->loop) + (uint64_t)cfg->causal_window_ms;
        return;
    }
    bool was_unknown = s->gtid_unknown;
    s->gtid_unknown = true;
    s->gtid_lost = false;
    const uint8_t *sql = s->cmd == COM_QUERY ? s->arg : s->stmt ? s->stmt->sql : NULL;
    size_t sql_len = s->cmd == COM_QUERY ? s->arg_len : s->stmt ? s->stmt->sql_len : 0;
    const struct classification *c = s->cmd == COM_QUERY ? &s->cls : s->stmt ? &s->stmt->cls : NULL;
    /* Only a SET (or a procedure) can change tracking: other writes are not scanned. */
    bool may_set = c && (c->flags & (CLS_SESSION_STATE | CLS_HIDDEN_STATE));
    if (sql && may_set && text_mentions(sql, sql_len, "session_track"))
        s->tracking_touched = true; /* the client's own setting may have dropped last_gtid */
    /* With tracking on, the OK says which GTID the write got (a later one
     * than any before it). An OK that names none means the write committed
     * nothing new: the session's last GTID is still the one it had, or
     * still unknown (a COMMIT after a SELECT whose EOF hid a sequence's
     * refill). */
    const struct result_tracker *rt = &bc->tracker;
    if (!bc->tracks_gtid || s->tracking_touched || rt->gtid_unreadable || gtid_hidden(bc))
        return;
    if (rt->gtid[0] == '\0') {
        s->gtid_unknown = was_unknown;
        return;
    }
    if (!gtid_text_ok(rt->gtid))
        return;
    memcpy(s->causal_gtid, rt->gtid, sizeof s->causal_gtid);
    s->causal_mysql = rt->gtid_mysql;
    s->gtid_unknown = false;
}

void causal_explain(struct client_session *s, int replica, bool read, char *position, size_t cap,
                    const char **wait)
{
    snprintf(position, cap, "none");
    *wait = "no";
    if (!read || !waits_on_replicas(s) || replica < 0)
        return;
    /* a read on a primary is one that fell back to it; Galera nodes are
     * primaries that take reads, and those wait */
    const struct backend_config *b = &session_config(s)->backends[replica];
    if (b->role == ROLE_PRIMARY && !b->galera)
        return;
    if (causal_needs_position(s)) {
        snprintf(position, cap, "the primary's @@gtid_binlog_pos, fetched when the read runs");
        *wait = "unless the replica has it";
        return;
    }
    if (causal_needs_fetch(s)) {
        snprintf(position, cap, "@@last_gtid of the session's writer, asked when the read runs");
        *wait = "unless the replica has it";
        return;
    }
    if (!causal_choose_target(s)) {
        snprintf(position, cap, "unknown: the read goes to the writer");
        return;
    }
    if (s->causal_target[0] == '\0')
        return;
    snprintf(position, cap, "%s", s->causal_target);
    *wait = causal_must_wait(s, replica) ? "yes" : "no: the replica has it";
}
