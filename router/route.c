/* Routing policy. The decision order is documented in route.h: a read-only
 * transaction already open on a replica must finish there, then session
 * pinning (state only the primary has) beats everything a client asks for. */
#include "router/route.h"

#include "protocol/packet.h"

static const char R_RO_TRX_OPEN[] = "read-only transaction";
static const char R_FORCE_PRIMARY[] = "PROXY SET route = primary";
static const char R_FORCE_REPLICA[] = "PROXY SET route = replica";
static const char R_TRX[] = "inside a transaction";
static const char R_AUTOCOMMIT[] = "autocommit is off";
static const char R_TEMP[] = "session has temporary tables";
static const char R_LOCKED[] = "LOCK TABLES is active";
static const char R_NAMED[] = "session holds named locks";
static const char R_XA[] = "XA transaction";
static const char R_UNREPLAYABLE[] = "session state cannot be replayed on replicas";
static const char R_HIDDEN[] = "after CALL or EXECUTE: state the proxy cannot see";
static const char R_LAST[] = "about the previous statement";
static const char R_USER_VARS[] = "user variables may have changed on the primary";
static const char R_RO_TRX_BEGIN[] = "START TRANSACTION READ ONLY";
static const char R_HINT[] = "hint";
static const char R_NONE[] = "no classification";

/* Statements that change or depend on per-connection state the proxy tracks
 * against the primary: sending them elsewhere would split the session. */
#define PRIMARY_ONLY_FLAGS                                                                       \
    (CLS_SESSION_STATE | CLS_USE | CLS_BEGIN | CLS_TEMP_TABLE | CLS_DROP_TEMP_TABLE |            \
     CLS_LOCK_TABLES | CLS_UNLOCK_TABLES | CLS_NAMED_LOCK | CLS_RELEASE_LOCK |                   \
     CLS_RELEASE_ALL_LOCKS | CLS_XA_START | CLS_XA_END | CLS_KILL | CLS_AUTOCOMMIT |             \
     CLS_SET_GLOBAL | CLS_HIDDEN_STATE | CLS_CHARSET)

void session_route_state_init(struct session_route_state *s, bool read_only_trx_on_replica)
{
    if (s == NULL)
        return;
    *s = (struct session_route_state){
        .autocommit = true,
        .override = ROUTE_AUTO,
        .override_replica = -1,
        .read_only_trx_on_replica = read_only_trx_on_replica,
    };
}

void session_route_state_restart(struct session_route_state *s, bool read_only_trx_on_replica)
{
    if (s == NULL)
        return;
    struct session_route_state kept = *s;
    session_route_state_init(s, read_only_trx_on_replica);
    s->override = kept.override;
    s->override_replica = kept.override_replica;
    s->charset = kept.charset;
}

/* Why the session is pinned to the primary, or NULL. */
const char *session_route_pinned(const struct session_route_state *s)
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
    if (s->xa_active)
        return R_XA;
    if (s->unreplayable_state)
        return R_UNREPLAYABLE;
    if (s->hidden_state)
        return R_HIDDEN;
    return NULL;
}

static struct route_decision decide(enum route_target target, const char *reason)
{
    return (struct route_decision){.target = target, .reason = reason, .replica = -1};
}

/* Steps 4-8 of route.h, for a session that is not pinned. */
static struct route_decision route_unpinned(const struct classification *c,
                                            const struct session_route_state *s)
{
    if (c->flags & CLS_LAST_STMT_INFO)
        return decide(ROUTE_LAST, R_LAST);
    if ((c->flags & CLS_READS_USER_VAR) && s->user_vars_changed)
        return decide(ROUTE_PRIMARY, R_USER_VARS);
    int forced = s->override == ROUTE_FORCE_REPLICA ? s->override_replica : -1;
    if ((c->flags & CLS_READ_ONLY_TRX) && s->read_only_trx_on_replica) {
        struct route_decision d = decide(ROUTE_REPLICA, R_RO_TRX_BEGIN);
        d.begins_read_only_trx = true;
        d.replica = forced;
        return d;
    }
    if (c->flags & PRIMARY_ONLY_FLAGS)
        return decide(ROUTE_PRIMARY, c->reason);
    if (s->override == ROUTE_FORCE_REPLICA) {
        struct route_decision d = decide(ROUTE_REPLICA, R_FORCE_REPLICA);
        d.replica = forced;
        return d;
    }
    if (c->flags & CLS_HINT_PRIMARY)
        return decide(ROUTE_PRIMARY, R_HINT);
    return decide(c->is_read ? ROUTE_REPLICA : ROUTE_PRIMARY, c->reason);
}

struct route_decision route_statement(const struct classification *c,
                                      const struct session_route_state *s)
{
    static const struct session_route_state fresh = {.autocommit = true, .override_replica = -1};
    if (c == NULL)
        return decide(ROUTE_PRIMARY, R_NONE);
    if (s == NULL)
        s = &fresh;
    if (s->read_only_trx)
        return decide(ROUTE_TRX_REPLICA, R_RO_TRX_OPEN);
    if (s->override == ROUTE_FORCE_PRIMARY)
        return decide(ROUTE_PRIMARY, R_FORCE_PRIMARY);
    const char *pin = session_route_pinned(s);
    if (pin != NULL)
        return decide(ROUTE_PRIMARY, pin);
    return route_unpinned(c, s);
}

/* a - b, not below 0: a DROP or RELEASE of something the session never had
 * must not wrap the counter around. */
static unsigned sub_floor(unsigned a, unsigned b)
{
    return a > b ? a - b : 0;
}

/* Whether a statement may have run triggers or stored functions, which can
 * assign user variables on the primary without the proxy seeing it: every
 * write but a lone SET (whose assignments the proxy records and replays). */
static bool may_change_user_vars(const struct classification *c)
{
    if (c->is_read)
        return false;
    return !(c->flags & CLS_SESSION_STATE) || (c->flags & CLS_MULTI);
}

/* Effects of a statement that succeeded. */
static void apply_success(struct session_route_state *s, const struct classification *c,
                          const struct route_decision *d)
{
    s->temp_tables += c->temp_tables_created;
    s->temp_tables = sub_floor(s->temp_tables, c->temp_tables_dropped);
    if (c->flags & CLS_LOCK_TABLES)
        s->tables_locked = true;
    if (c->flags & CLS_UNLOCK_TABLES)
        s->tables_locked = false;
    /* RELEASE_ALL_LOCKS first: a GET_LOCK in the same text may come after it,
     * and keeping the session pinned too long only costs load. */
    if (c->flags & CLS_RELEASE_ALL_LOCKS)
        s->named_locks = 0;
    s->named_locks = sub_floor(s->named_locks + c->named_locks_taken, c->named_locks_released);
    if (c->flags & CLS_XA_START)
        s->xa_active = true;
    if (c->flags & CLS_XA_END)
        s->xa_active = false;
    if (d != NULL && d->begins_read_only_trx)
        s->read_only_trx = true;
    if (c->flags & CLS_UNREPLAYABLE)
        s->unreplayable_state = true;
    if (c->flags & CLS_CHARSET)
        s->charset = c->charset;
}

void session_route_state_update(struct session_route_state *s, const struct classification *c,
                                const struct route_decision *d, bool succeeded, bool has_status,
                                uint16_t status)
{
    if (s == NULL)
        return;
    if (succeeded && c != NULL)
        apply_success(s, c, d);
    /* a failed CALL may have run part of the procedure, a failed INSERT some triggers */
    if (c != NULL && (c->flags & CLS_HIDDEN_STATE))
        s->hidden_state = true;
    /* a write forced onto a replica left the primary's variables alone */
    if (c != NULL && may_change_user_vars(c) && !(d != NULL && d->target == ROUTE_REPLICA))
        s->user_vars_changed = true;
    if (has_status) {
        s->in_transaction = (status & SERVER_STATUS_IN_TRANS) != 0;
        s->autocommit = (status & SERVER_STATUS_AUTOCOMMIT) != 0;
        /* also after a failed BEGIN: no transaction, nothing to stay on */
        if (!s->in_transaction)
            s->read_only_trx = false;
    }
}
