/* Routing policy. Session pinning comes first: a statement inside a
 * transaction, with autocommit off, or in a session that owns temporary
 * tables, table locks or named locks must see the primary's state. */
#include "router/route.h"

#include "protocol/packet.h"

static const char R_TRX[] = "inside a transaction";
static const char R_AUTOCOMMIT[] = "autocommit is off";
static const char R_TEMP[] = "session has temporary tables";
static const char R_LOCKED[] = "LOCK TABLES is active";
static const char R_NAMED[] = "session holds named locks";
static const char R_HINT[] = "hint";
static const char R_NONE[] = "no classification";

void session_route_state_init(struct session_route_state *s)
{
    if (s == NULL)
        return;
    *s = (struct session_route_state){.autocommit = true};
}

/* Why the session is pinned to the primary, or NULL. */
static const char *pinned(const struct session_route_state *s)
{
    if (s->in_transaction)
        return R_TRX;
    if (!s->autocommit)
        return R_AUTOCOMMIT;
    if (s->temp_tables)
        return R_TEMP;
    if (s->tables_locked)
        return R_LOCKED;
    if (s->named_locks)
        return R_NAMED;
    return NULL;
}

struct route_decision route_statement(const struct classification *c,
                                      const struct session_route_state *s)
{
    const char *pin = s != NULL ? pinned(s) : NULL;
    if (c == NULL)
        return (struct route_decision){ROUTE_PRIMARY, R_NONE};
    if (pin != NULL)
        return (struct route_decision){ROUTE_PRIMARY, pin};
    if (c->flags & CLS_HINT_PRIMARY)
        return (struct route_decision){ROUTE_PRIMARY, R_HINT};
    if (c->is_read)
        return (struct route_decision){ROUTE_REPLICA, c->reason};
    return (struct route_decision){ROUTE_PRIMARY, c->reason};
}

void session_route_state_update(struct session_route_state *s, const struct classification *c,
                                bool succeeded, bool has_status, uint16_t status)
{
    if (s == NULL)
        return;
    if (has_status) {
        s->in_transaction = (status & SERVER_STATUS_IN_TRANS) != 0;
        s->autocommit = (status & SERVER_STATUS_AUTOCOMMIT) != 0;
    }
    if (!succeeded || c == NULL)
        return;
    if (c->flags & CLS_TEMP_TABLE)
        s->temp_tables = true;
    if (c->flags & CLS_LOCK_TABLES)
        s->tables_locked = true;
    if (c->flags & CLS_UNLOCK_TABLES)
        s->tables_locked = false;
    if (c->flags & CLS_NAMED_LOCK)
        s->named_locks = true;
}
