/* Routing policy: given a statement's classification and the session's
 * state, where may it run. Pure decisions, no I/O. */
#ifndef SY_ROUTER_ROUTE_H
#define SY_ROUTER_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "router/classify.h"

enum route_target {
    ROUTE_PRIMARY,
    ROUTE_REPLICA,     /* any eligible replica (round-robin) */
    ROUTE_LAST,        /* the backend that ran the session's previous statement */
    ROUTE_TRX_REPLICA, /* the replica holding the session's read-only transaction */
};

/* Set by the client with PROXY SET route = ... */
enum route_override { ROUTE_AUTO, ROUTE_FORCE_PRIMARY, ROUTE_FORCE_REPLICA };

/* What the session has done that pins it to the primary. Transaction and
 * autocommit come from the server status flags of the last OK/EOF. */
struct session_route_state {
    bool in_transaction;
    bool autocommit;          /* starts true */
    unsigned temp_tables;     /* CREATE TEMPORARY TABLE minus dropped names (not below 0) */
    bool tables_locked;       /* LOCK TABLES (or FLUSH ... WITH READ LOCK) until UNLOCK TABLES */
    unsigned named_locks;     /* GET_LOCK calls minus RELEASE_LOCK calls; 0 after RELEASE_ALL_LOCKS */
    bool xa_active;           /* XA START until XA COMMIT / ROLLBACK */
    bool read_only_trx;       /* in a START TRANSACTION READ ONLY that runs on a replica */
    bool unreplayable_state;  /* state the replicas cannot be given (CLS_UNREPLAYABLE, or too
                                 much to replay): the session stays on the primary */
    bool hidden_state;        /* ran CALL / EXECUTE (CLS_HIDDEN_STATE), successful or not: it
                                 may have set variables or temporary tables the proxy cannot see */
    bool user_vars_changed;   /* a write ran (or failed part-way): its triggers or stored
                                 functions may have changed user variables on the primary,
                                 where the replicas keep the replayed values */
    enum route_override override;
    int override_replica;     /* ROUTE_FORCE_REPLICA: this backend index only; -1 any replica */
    const struct sql_charset *charset; /* character_set_client; NULL unknown (see classify_query) */
    bool read_only_trx_on_replica; /* [routing] read_only_transactions = replica (default) */
};

struct route_decision {
    enum route_target target;
    const char *reason;        /* static text, e.g. "inside a transaction", "plain SELECT" */
    bool begins_read_only_trx; /* START TRANSACTION READ ONLY sent to a replica */
    int replica;               /* ROUTE_REPLICA: -1 any eligible replica, else only this index */
};

/* read_only_trx_on_replica starts as given; no override, charset NULL. */
void session_route_state_init(struct session_route_state *s, bool read_only_trx_on_replica);
/* Start afresh (backends dropped, writer moved) but keep what the client
 * chose: its PROXY SET route and its character set. */
void session_route_state_restart(struct session_route_state *s, bool read_only_trx_on_replica);

/* Decide the target of one statement. Order:
 * 1. inside a read-only transaction on a replica → ROUTE_TRX_REPLICA ("read-only transaction");
 * 2. PROXY SET route = primary → PRIMARY ("PROXY SET route = primary");
 * 3. pinned (in transaction, autocommit off, temp tables, LOCK TABLES, named
 *    locks, XA) → PRIMARY with that reason;
 * 4. CLS_LAST_STMT_INFO → ROUTE_LAST ("about the previous statement");
 *    CLS_READS_USER_VAR after user_vars_changed → PRIMARY ("user variables may
 *    have changed on the primary"), whatever hint or override says;
 * 5. CLS_READ_ONLY_TRX with read_only_trx_on_replica and no override primary →
 *    ROUTE_REPLICA, begins_read_only_trx ("START TRANSACTION READ ONLY");
 * 6. statements with session/transaction/lock flags stay on the primary
 *    whatever hint or override says (SET, USE, BEGIN, temp tables, locks, XA, KILL);
 * 7. PROXY SET route = replica [NAME] → REPLICA ("PROXY SET route = replica"), with
 *    .replica the named backend or -1;
 * 8. hint primary → PRIMARY ("hint"); read (incl. replica hint) → REPLICA;
 *    else PRIMARY with the classifier's reason. */
struct route_decision route_statement(const struct classification *c,
                                      const struct session_route_state *s);

/* Why the session must stay on one primary (transaction, locks, temporary
 * tables, ...), or NULL when it is free to move. */
const char *session_route_pinned(const struct session_route_state *s);

/* Update the session after a statement ran: status flags from its final
 * OK/EOF (has_status false if it ended with ERR before any), whether it
 * succeeded, and the decision it was routed by. Leaving a transaction (status
 * without IN_TRANS) ends read_only_trx. */
void session_route_state_update(struct session_route_state *s, const struct classification *c,
                                const struct route_decision *d, bool succeeded, bool has_status,
                                uint16_t status);

#endif
