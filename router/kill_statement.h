/* KILL [HARD | SOFT] [CONNECTION | QUERY] id, parsed so the proxy can map the
 * id (a proxy session id, as the client saw it in the handshake) to the
 * backend connection running that session's statement. */
#ifndef SY_ROUTER_KILL_STATEMENT_H
#define SY_ROUTER_KILL_STATEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kill_statement {
    bool valid;           /* a KILL of one numeric id; false for KILL QUERY ID, KILL USER... */
    bool kill_connection; /* CONNECTION (the default) rather than QUERY */
    uint32_t id;
};

void parse_kill_statement(const char *sql, size_t len, struct kill_statement *out);

#endif
