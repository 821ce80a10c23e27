/* Routing policy: given a statement's classification and the session's
 * state, where may it run. Pure decisions, no I/O. */
#ifndef SY_ROUTER_ROUTE_H
#define SY_ROUTER_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "router/classify.h"

enum route_target { ROUTE_PRIMARY, ROUTE_REPLICA };

/* What the session has done that pins it to the primary. Transaction and
 * autocommit come from the server status flags of the last OK/EOF. */
struct session_route_state {
    bool in_transaction;
    bool autocommit;    /* starts true */
    bool temp_tables;   /* created a temporary table (pinned for the session) */
    bool tables_locked; /* LOCK TABLES until UNLOCK TABLES */
    bool named_locks;   /* used GET_LOCK and friends (pinned for the session) */
};

struct route_decision {
    enum route_target target;
    const char *reason; /* static text */
};

void session_route_state_init(struct session_route_state *s);

/* Decide the target of one statement. */
struct route_decision route_statement(const struct classification *c,
                                      const struct session_route_state *s);

/* Update the session after a statement ran: status flags from its final
 * OK/EOF (has_status false if it ended with ERR before any), and whether it
 * succeeded. */
void session_route_state_update(struct session_route_state *s, const struct classification *c,
                                bool succeeded, bool has_status, uint16_t status);

#endif
