/* Multiplexing: between statements a session's backend connections wait in
 * its worker's pool, so idle clients hold none. A connection parked there
 * keeps the session's state; the session takes it back as it is, and
 * another session that needs a connection more resets it first and then
 * gets its own state replayed (session_log.h). What cannot be replayed or
 * lives only on one connection (a transaction, temporary tables, locks, a
 * cursor) pins the session to its connections. A connection that has what
 * the session's next statement may ask about (the last statement's
 * warnings and row counts, LAST_INSERT_ID()) is held for it: other sessions
 * take it only when the pool has nothing else, and the session is then told
 * so with an ERR if it asks. */
#include "protocol/packet.h"
#include "proxy/backend_conn.h"
#include "proxy/backend_pool.h"
#include "proxy/session.h"

static const char R_RO_TRX[] = "read-only transaction";
static const char R_USER_VARS[] = "user variables a write may have changed";
static const char R_CURSOR[] = "open cursor or long data";

/* A cursor or long data lives on the connection that has it. */
static bool statement_pins(const struct stmt_registry *r)
{
    for (size_t i = 0; i < r->used; i++) {
        const struct prepared_stmt *st = r->slots[i];
        if (st && (st->cursor_backend >= 0 || st->long_data_backend >= 0))
            return true;
    }
    return false;
}

const char *session_pin_reason(const struct client_session *s)
{
    const char *r = session_route_pinned(&s->route);
    if (r)
        return r;
    if (s->route.read_only_trx)
        return R_RO_TRX;
    /* A trigger may have set them on the writer's connection; replay
     * knows only the values the session set itself. */
    if (s->ran_stored_code && s->used_user_vars)
        return R_USER_VARS;
    if (statement_pins(&s->stmts))
        return R_CURSOR;
    return NULL;
}

/* A plain read that ended without warnings leaves nothing the next
 * statement could ask about (SHOW WARNINGS, ROW_COUNT(), FOUND_ROWS() after
 * SQL_CALC_FOUND_ROWS, GET DIAGNOSTICS); anything else has its connection
 * held for the session until the next statement is over. */
void session_note_statement(struct client_session *s, const struct backend_conn *bc)
{
    const struct result_tracker *rt = &bc->tracker;
    const struct classification *c = session_statement_cls(s);
    bool plain = !c || c->is_read;
    s->hold_backend = plain && !rt->is_error && rt->warnings == 0 ? -1 : bc->index;
    s->lost_last_info = false;
    if (c && (c->flags & CLS_READS_USER_VAR))
        s->used_user_vars = true;
    if (c && !c->is_read && !(c->flags & (CLS_SESSION_STATE | CLS_USE | CLS_CHARSET)))
        s->ran_stored_code = true;
    if (c && !c->is_read && !rt->is_error && rt->last_insert_id != 0) {
        s->insert_id_backend = bc->index;
        s->lost_insert_id = false;
    }
}

/* The session asks about what a connection it held had, and a full pool
 * gave that connection to another session: a clear error, never another
 * connection's answer. */
bool session_lost_to_pool(struct client_session *s, const struct classification *c)
{
    const char *what = NULL;
    if ((c->flags & CLS_LAST_STMT_INFO) && s->lost_last_info)
        what = "ran your previous statement, and its warnings and row counts,";
    else if ((c->flags & CLS_INSERT_ID) && s->lost_insert_id)
        what = "had your LAST_INSERT_ID() (use the insert id of the INSERT's own result)";
    if (!what)
        return false;
    session_fail_command(s, ER_UNKNOWN_ERROR, "HY000",
                         "switchyard: the connection that %s was given to another client while "
                         "the pool was full; raise [backend.*] max_connections, or ask in the "
                         "same statement",
                         what);
    return true;
}

void session_park_backends(struct client_session *s)
{
    const char *pin = session_pin_reason(s);
    if (s->registered)
        atomic_store(&s->entry.pinned, pin);
    if (pin)
        return;
    for (int i = 0; i < CONFIG_MAX_BACKENDS; i++) {
        struct backend_conn *bc = s->bc[i];
        if (!bc || !backend_pool_may_park(&s->w->pool, s, bc))
            continue;
        s->bc[i] = NULL;
        if (s->registered)
            atomic_store(&s->entry.thread_id[i], 0);
        bc->held_last = i == s->hold_backend;
        bc->held_insert_id = i == s->insert_id_backend && !s->lost_insert_id;
        backend_pool_park(&s->w->pool, s, bc);
    }
}

void session_pool_took_held(struct client_session *s, const struct backend_conn *bc)
{
    if (bc->held_last)
        s->lost_last_info = true;
    if (bc->held_insert_id)
        s->lost_insert_id = true;
}

void session_unpark_all(struct client_session *s)
{
    for (int i = 0; i < CONFIG_MAX_BACKENDS; i++)
        if (s->parked[i])
            backend_pool_unpark(s->parked[i]);
}

struct backend_conn *session_conn(const struct client_session *s, int index)
{
    return s->bc[index] ? s->bc[index] : s->parked[index];
}
