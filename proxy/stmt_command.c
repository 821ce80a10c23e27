/* Prepared statements through the proxy. The client sees the proxy's ids.
 * A statement the classifier calls a read executes on a replica, prepared
 * there the first time it runs on that connection; any other on the primary.
 * Execute packets (and MariaDB's bulk executes, which run where the writes
 * go) get the backend's id written in place; when a backend has never seen
 * the parameter types (the client bound them on an execute that ran
 * elsewhere) the packet is rebuilt with the types bound. A cursor's
 * fetches, and the execute after SEND_LONG_DATA, follow the backend that
 * holds them. */
#include <stdlib.h>
#include <string.h>

#include "protocol/handshake.h"
#include "protocol/packet.h"
#include "protocol/stmt.h"
#include "proxy/backend_conn.h"
#include "proxy/log.h"
#include "proxy/readonly_retry.h"
#include "proxy/session.h"

#define ER_UNKNOWN_STMT_HANDLER 1243
#define ER_STMT_HAS_NO_OPEN_CURSOR 1421
#define ER_UNSUPPORTED_PS 1295

static const char *command_name(uint8_t cmd)
{
    switch (cmd) {
    case COM_STMT_EXECUTE:
        return "mysqld_stmt_execute";
    case COM_STMT_FETCH:
        return "mysqld_stmt_fetch";
    case COM_STMT_RESET:
        return "mysqld_stmt_reset";
    case COM_STMT_BULK_EXECUTE:
        return "mysqld_stmt_bulk_execute";
    default:
        return "mysqld_stmt_send_long_data";
    }
}

/* A backend where the statement is prepared, preferring the primary. */
static int any_prepared_backend(const struct client_session *s, const struct prepared_stmt *st)
{
    int primary = session_primary_index(s);
    if (st->backend_id[primary] && session_conn(s, primary))
        return primary;
    for (int i = 0; i < CONFIG_MAX_BACKENDS; i++)
        if (st->backend_id[i] && session_conn(s, i))
            return i;
    return -1;
}

/* Closing is not answered: tell every backend that has it (also on a
 * connection parked in the pool for this session), then forget it. */
static void close_statement(struct client_session *s, struct prepared_stmt *st)
{
    for (int i = 0; i < CONFIG_MAX_BACKENDS; i++) {
        struct backend_conn *bc = session_conn(s, i);
        if (!st->backend_id[i] || !bc || bc->state != BC_READY)
            continue;
        uint8_t pkt[PACKET_HEADER_LEN + 5];
        packet_write_header(pkt, 5, 0);
        pkt[PACKET_HEADER_LEN] = COM_STMT_CLOSE;
        stmt_id_write(pkt + PACKET_HEADER_LEN + 1, st->backend_id[i]);
        backend_conn_send_copy(bc, pkt, sizeof pkt);
    }
    stmt_registry_remove(&s->stmts, st->id);
    session_finish_command(s);
}

/* Route an execute (or the long data that precedes it) by the statement's
 * classification and the session's state. */
static void route_execute(struct client_session *s, struct prepared_stmt *st)
{
    if (st->long_data_backend >= 0 && s->bc[st->long_data_backend]) {
        session_run_on(s, st->long_data_backend);
        return;
    }
    s->decision = route_statement(&st->cls, &s->route);
    readonly_route_adjust(&s->decision, &st->cls, &s->route, (const char *)st->sql, st->sql_len);
    session_route(s);
}

static void prepare_command(struct client_session *s)
{
    session_classify(s);
    s->stmt = stmt_registry_create(&s->stmts, s->arg, s->arg_len, &s->cls);
    if (!s->stmt) {
        session_fail_command(s, ER_UNKNOWN_ERROR, "HY000", "switchyard: out of memory");
        return;
    }
    /* Prepare where it would execute now: the client needs the metadata,
     * and a read-only workload then never needs the primary. */
    s->decision = route_statement(&s->cls, &s->route);
    session_route(s);
}

void stmt_command(struct client_session *s)
{
    if (s->cmd == COM_STMT_PREPARE) {
        prepare_command(s);
        return;
    }
    if (s->cmd == COM_STMT_BULK_EXECUTE &&
        !(s->login.caps & MARIADB_CLIENT_STMT_BULK_OPERATIONS)) {
        /* Not negotiated (the backends are not MariaDB, or the client did
         * not ask): MariaDB answers a client that sends it anyway so. */
        session_fail_command(s, ER_UNSUPPORTED_PS, "HY000",
                             "COM_STMT_BULK_EXECUTE without bulk operations negotiated at "
                             "connect: execute the statement once per row instead");
        return;
    }
    uint32_t id = s->arg_len >= 4 ? stmt_id_read(s->arg) : 0;
    struct prepared_stmt *st = stmt_registry_get(&s->stmts, id);
    if (!st) {
        if (s->cmd == COM_STMT_CLOSE || s->cmd == COM_STMT_SEND_LONG_DATA) {
            session_finish_command(s); /* no reply expected, as from a server */
            return;
        }
        session_fail_command(s, ER_UNKNOWN_STMT_HANDLER, "HY000",
                             "Unknown prepared statement handler (%u) given to %s", id,
                             command_name(s->cmd));
        return;
    }
    s->stmt = st;
    switch (s->cmd) {
    case COM_STMT_CLOSE:
        close_statement(s, st);
        return;
    case COM_STMT_FETCH:
        if (st->cursor_backend < 0 || !s->bc[st->cursor_backend]) {
            session_fail_command(s, ER_STMT_HAS_NO_OPEN_CURSOR, "HY000",
                                 "The statement (%u) has no open cursor.", id);
            return;
        }
        session_run_on(s, st->cursor_backend);
        return;
    case COM_STMT_BULK_EXECUTE:
        /* Bulk INSERT/UPDATE/DELETE: a write, run where the writes go
         * (the command's decision, to the primary). */
        session_route(s);
        return;
    case COM_STMT_RESET: {
        int b = st->long_data_backend >= 0 ? st->long_data_backend
                : st->cursor_backend >= 0  ? st->cursor_backend
                                           : any_prepared_backend(s, st);
        if (b < 0 || !session_conn(s, b)) {
            session_send_ok(s, s->cmd_seq + 1); /* nothing to reset anywhere */
            session_finish_command(s);
            return;
        }
        session_run_on(s, b);
        return;
    }
    default: /* EXECUTE, SEND_LONG_DATA */
        route_execute(s, st);
        return;
    }
}

bool stmt_needs_prepare(const struct client_session *s, const struct backend_conn *bc)
{
    return s->stmt && s->cmd != COM_STMT_PREPARE && s->stmt->backend_id[bc->index] == 0;
}

void stmt_prepared_on(struct client_session *s, struct backend_conn *bc)
{
    s->stmt->backend_id[bc->index] = bc->tracker.stmt_id;
}

/* A rebuilt command of size bytes replaces the client's: its buffer, or
 * NULL (the command failed) when out of memory. */
static uint8_t *rewrite_buffer(struct client_session *s, size_t size)
{
    free(s->rewritten);
    s->rewritten = malloc(size);
    if (!s->rewritten) {
        session_fail_command(s, ER_UNKNOWN_ERROR, "HY000", "switchyard: out of memory");
        return NULL;
    }
    s->rewritten_len = size;
    s->send_bytes = s->rewritten;
    s->send_len = size;
    return s->rewritten;
}

/* An execute or bulk execute (the other NULL) for a backend that never saw
 * the parameter types: rebuild it with the types the client bound last. */
static int rebuild_with_types(struct client_session *s, const struct stmt_execute *ex,
                              const struct stmt_bulk *bulk, uint32_t backend_id)
{
    const struct prepared_stmt *st = s->stmt;
    size_t size = ex ? stmt_execute_build_size(ex, st->types_len)
                     : stmt_bulk_build_size(bulk, st->types_len);
    uint8_t *buf = rewrite_buffer(s, size);
    if (!buf)
        return -1;
    size_t n = ex ? stmt_execute_build(buf, size, backend_id, ex, st->types, st->types_len)
                  : stmt_bulk_build(buf, size, backend_id, bulk, st->types, st->types_len);
    if (n == 0) {
        session_fail_command(s, ER_UNKNOWN_ERROR, "HY000",
                             "switchyard: the parameter types bound before do not fit this "
                             "execute: bind the parameters again");
        return -1;
    }
    return 0;
}

/* The client sent the parameter types (execute or bulk): remember them for
 * backends that will run the statement without them. */
static int types_bound(struct client_session *s, const uint8_t *types, size_t len)
{
    s->stmt_types_bound = true;
    if (prepared_stmt_set_types(s->stmt, types, len) != 0) {
        session_fail_command(s, ER_UNKNOWN_ERROR, "HY000", "switchyard: out of memory");
        return -1;
    }
    return 0;
}

/* Has bc never seen the types the statement's client bound elsewhere? */
static bool types_missing(const struct prepared_stmt *st, const struct backend_conn *bc)
{
    return st->types && !(st->types_sent & (1ull << bc->index));
}

/* A bulk execute's types, like an execute's: taken when sent, added when
 * the backend lacks them. */
static int bulk_bytes(struct client_session *s, struct backend_conn *bc, const uint8_t *payload,
                      uint32_t backend_id)
{
    struct stmt_bulk bulk;
    if (stmt_bulk_parse(payload, s->arg_len + 1, s->stmt->num_params, &bulk) != 0)
        return 0; /* let the server say what is wrong with it */
    if (bulk.types)
        return types_bound(s, bulk.types, bulk.types_len);
    if (types_missing(s->stmt, bc)) {
        s->stmt_types_bound = true;
        return rebuild_with_types(s, NULL, &bulk, backend_id);
    }
    return 0;
}

int stmt_prepare_bytes(struct client_session *s, struct backend_conn *bc)
{
    struct prepared_stmt *st = s->stmt;
    if (s->cmd == COM_STMT_PREPARE) {
        bc->rewrite_stmt_id = st->id; /* the client sees our id in PREPARE_OK */
        return 0;
    }
    uint32_t backend_id = st->backend_id[bc->index];
    /* The id sits in the first physical packet: patch the client's bytes. */
    stmt_id_write(s->in + PACKET_HEADER_LEN + 1, backend_id);
    s->stmt_types_bound = false;
    if ((s->cmd != COM_STMT_EXECUTE && s->cmd != COM_STMT_BULK_EXECUTE) || st->num_params == 0)
        return 0;
    const uint8_t *payload = s->gathered ? s->gathered : s->in + PACKET_HEADER_LEN;
    if (s->cmd == COM_STMT_BULK_EXECUTE)
        return bulk_bytes(s, bc, payload, backend_id);
    struct stmt_execute ex;
    if (stmt_execute_parse(payload, s->arg_len + 1, st->num_params, &ex) != 0)
        return 0; /* let the server say what is wrong with it */
    if (ex.new_params_bound)
        return types_bound(s, ex.types, ex.types_len);
    if (types_missing(st, bc)) {
        s->stmt_types_bound = true;
        return rebuild_with_types(s, &ex, NULL, backend_id);
    }
    return 0;
}

void stmt_command_done(struct client_session *s, struct backend_conn *bc)
{
    const struct result_tracker *rt = &bc->tracker;
    struct prepared_stmt *st = s->stmt;
    if (!st)
        return;
    switch (s->cmd) {
    case COM_STMT_PREPARE:
        bc->rewrite_stmt_id = 0;
        if (rt->is_error) {
            stmt_registry_remove(&s->stmts, st->id);
            stmt_registry_set_last(&s->stmts, NULL);
            return;
        }
        stmt_registry_set_last(&s->stmts, st);
        st->backend_id[bc->index] = rt->stmt_id;
        st->num_params = rt->num_params;
        st->num_columns = rt->num_columns;
        return;
    case COM_STMT_EXECUTE:
        if (s->stmt_types_bound && !rt->is_error)
            st->types_sent |= 1ull << bc->index;
        st->long_data_backend = -1;
        st->cursor_backend = !rt->is_error && rt->cursor_requested &&
                                     (rt->status & SERVER_STATUS_CURSOR_EXISTS)
                                 ? bc->index
                                 : -1;
        return;
    case COM_STMT_BULK_EXECUTE:
        if (s->stmt_types_bound && !rt->is_error)
            st->types_sent |= 1ull << bc->index;
        return;
    case COM_STMT_SEND_LONG_DATA:
        st->long_data_backend = bc->index;
        return;
    case COM_STMT_RESET:
        st->long_data_backend = -1;
        st->cursor_backend = -1;
        return;
    case COM_STMT_FETCH:
        if (rt->is_error)
            st->cursor_backend = -1;
        return;
    default:
        return;
    }
}
