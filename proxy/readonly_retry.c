#include "proxy/readonly_retry.h"

#include <string.h>
#include <strings.h>

#include "protocol/packet.h"
#include "proxy/backend_conn.h"
#include "proxy/log.h"
#include "proxy/session.h"
#include "proxy/worker.h"
#include "router/sql_lexer.h"
#include "router/statement_digest.h"

#define ER_OPTION_PREVENTS_STATEMENT 1290
#define ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION 1792

/* One per worker thread: sessions never leave their worker, so no lock. */
static _Thread_local struct digest_memory refused;

bool text_mentions(const uint8_t *p, size_t len, const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i + n <= len; i++)
        if (strncasecmp((const char *)p + i, word, n) == 0)
            return true;
    return false;
}

bool replica_readonly_wanted(const struct client_session *s, const struct backend_conn *bc)
{
    return session_config(s)->backends[bc->index].role == ROLE_REPLICA && bc->index != s->writer;
}

/* Every way to set it names it: transaction_read_only, tx_read_only,
 * TRANSACTION READ WRITE. */
bool replica_readonly_needed(const struct client_session *s, const struct backend_conn *bc)
{
    if (!bc->read_only)
        return true;
    for (size_t i = bc->setup_applied; i < bc->applied && i < s->log.count; i++) {
        const struct session_log_entry *e = &s->log.entries[i];
        if (e->command == COM_QUERY && text_mentions(e->payload, e->len, "read"))
            return true;
    }
    return false;
}

void replica_readonly_send(struct client_session *s, struct backend_conn *bc)
{
    static const char sql[] = "SET SESSION TRANSACTION READ ONLY";
    (void)s;
    bc->read_only = true;
    bc->setup_applied = bc->applied;
    backend_conn_send_command(bc, COM_QUERY, (const uint8_t *)sql, strlen(sql));
}

void replica_readonly_done(struct client_session *s, struct backend_conn *bc)
{
    if (bc->tracker.is_error)
        log_warn("session %u: cannot make the connection to replica %s read-only: %s (%u); "
                 "a write the classifier misses could change that replica",
                 s->id, session_backend_name(s, bc->index), bc->tracker.err_message,
                 bc->tracker.err_code);
}

static bool names_tx_read_only(const char *text, size_t len)
{
    static const char *const names[] = {"transaction_read_only", "tx_read_only"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (text_mentions((const uint8_t *)text, len, names[k]))
            return true;
    return false;
}

static bool reads_tx_read_only(const char *sql, size_t len)
{
    struct sql_lexer lx;
    struct sql_token t;
    sql_lexer_init(&lx, sql, len, 0, NULL);
    for (sql_lexer_next(&lx, &t); t.kind != SQL_TOK_EOF && t.kind != SQL_TOK_ERROR;
         sql_lexer_next(&lx, &t))
        if (t.kind != SQL_TOK_PUNCT && names_tx_read_only(t.text, t.len))
            return true;
    return false;
}

/* A plain read on a replica, not one the client steered there. */
static bool replica_read_by_classifier(const struct route_decision *d,
                                       const struct classification *c,
                                       const struct session_route_state *r)
{
    return d->target == ROUTE_REPLICA && !d->begins_read_only_trx && c->is_read &&
           !(c->flags & CLS_HINT_REPLICA) && r->override != ROUTE_FORCE_REPLICA;
}

void readonly_route_adjust(struct route_decision *d, const struct classification *c,
                           const struct session_route_state *r, const char *sql, size_t len)
{
    if (!replica_read_by_classifier(d, c, r))
        return;
    if (refused.count > 0 && digest_memory_has(&refused, statement_digest(sql, len))) {
        d->target = ROUTE_PRIMARY;
        d->reason = READONLY_REASON_REMEMBERED;
    } else if (reads_tx_read_only(sql, len)) {
        d->target = ROUTE_PRIMARY;
        d->reason = READONLY_REASON_VARIABLE;
    }
}

/* The classification of the current statement, unless the proxy rewrote
 * its text (a KILL given the server's thread id): no read to retry. */
static const struct classification *statement_cls(const struct client_session *s)
{
    return s->cmd == COM_QUERY && s->rewritten ? NULL : session_statement_cls(s);
}

bool readonly_retry_possible(const struct client_session *s, const struct backend_conn *bc)
{
    const struct classification *c = statement_cls(s);
    return c && !(c->flags & CLS_MULTI) && s->read_only_route &&
           replica_read_by_classifier(&s->decision, c, &s->route) &&
           !s->route.in_transaction && !s->route.read_only_trx && s->route.autocommit &&
           session_config(s)->backends[bc->index].role == ROLE_REPLICA;
}

bool readonly_retry(struct client_session *s, struct backend_conn *bc)
{
    const struct result_tracker *rt = &bc->tracker;
    if ((rt->err_code != ER_OPTION_PREVENTS_STATEMENT &&
         rt->err_code != ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION) ||
        !readonly_retry_possible(s, bc))
        return false;
    /* It writes: counted, and followed by causal reads, as a write. */
    if (s->cmd == COM_QUERY) {
        digest_memory_add(&refused, statement_digest((const char *)s->arg, s->arg_len));
        s->cls.is_read = false;
    } else {
        digest_memory_add(&refused,
                          statement_digest((const char *)s->stmt->sql, s->stmt->sql_len));
        s->stmt->cls.is_read = false;
    }
    stats_add(&s->w->stats.readonly_retries, 1);
    log_info("session %u: replica %s refused a statement as read-only (%u); running it on the "
             "writer, and statements of its shape from now on",
             s->id, session_backend_name(s, bc->index), rt->err_code);
    free(s->rewritten); /* an execute rebuilt for the replica's statement id */
    s->rewritten = NULL;
    s->read_only_route = false;
    s->decision.target = ROUTE_PRIMARY;
    s->decision.reason = READONLY_REASON_REMEMBERED;
    int w = session_choose_writer(s);
    if (w >= 0)
        session_run_on(s, w);
    return true;
}
