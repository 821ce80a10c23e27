/* Statements the proxy answers itself and never sends to a backend, so a
 * client without comment hints (the mysql CLI strips them) can still steer:
 *   PROXY SET route = primary | replica [NAME] | auto
 *   PROXY SHOW route
 *   PROXY EXPLAIN <statement>
 * Keywords are case-insensitive; leading whitespace and comments, and one
 * trailing ';', are allowed. */
#ifndef SY_ROUTER_PROXY_COMMAND_H
#define SY_ROUTER_PROXY_COMMAND_H

#include <stddef.h>

#include "router/route.h"

enum proxy_command_kind {
    PROXY_CMD_NONE,       /* not a PROXY statement: route it as usual */
    PROXY_CMD_SET_ROUTE,  /* .route set */
    PROXY_CMD_SHOW_ROUTE,
    PROXY_CMD_EXPLAIN,    /* .stmt / .stmt_len: the statement to explain (points into sql) */
    PROXY_CMD_INVALID,    /* starts with PROXY but malformed: .error says what is expected */
};

struct proxy_command {
    enum proxy_command_kind kind;
    enum route_override route;
    const char *replica; /* PROXY SET route = replica NAME: NAME (points into sql), else NULL */
    size_t replica_len;
    const char *stmt;
    size_t stmt_len;
    const char *error; /* static text */
};

void parse_proxy_command(const char *sql, size_t len, struct proxy_command *out);

#endif
