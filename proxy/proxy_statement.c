/* PROXY statements, answered by the proxy itself: the mysql CLI strips
 * comments, so a client needs a way to steer routing without hints. */
#include <stdio.h>
#include <string.h>

#include "protocol/packet.h"
#include "protocol/resultset.h"
#include "proxy/readonly_retry.h"
#include "proxy/session.h"
#include "router/proxy_command.h"

#define ER_PARSE_ERROR 1064

static const char *override_name(enum route_override o)
{
    switch (o) {
    case ROUTE_FORCE_PRIMARY:
        return "primary";
    case ROUTE_FORCE_REPLICA:
        return "replica";
    default:
        return "auto";
    }
}

/* A one-row result set of text columns. */
static void send_row(struct client_session *s, const char *const *names,
                     const char *const *values, unsigned n)
{
    uint8_t buf[4096];
    struct resultset_writer w;
    resultset_begin(&w, buf, sizeof buf, s->cmd_seq + 1, s->login.caps, n);
    for (unsigned i = 0; i < n; i++)
        resultset_column(&w, names[i]);
    resultset_columns_end(&w);
    resultset_row(&w, values, n);
    resultset_end(&w, session_status(s));
    if (w.overflow) {
        session_fail_command(s, ER_UNKNOWN_ERROR, "HY000", "switchyard: answer too large");
        return;
    }
    session_send(s, buf, w.len);
    session_finish_command(s);
}

/* Classify and route the statement as if it were run now, without running
 * it or moving the replica rotation. */
static void explain(struct client_session *s, const char *sql, size_t len)
{
    struct classification c;
    classify_query(sql, len, &c);
    struct route_decision d = route_statement(&c, &s->route);
    readonly_route_adjust(&d, &c, &s->route, sql, len);
    int b = session_peek_target(s, &d);
    const char *role = "none";
    const char *backend = "none (no replica eligible and read_fallback = error)";
    if (b >= 0) {
        role = session_config(s)->backends[b].role == ROLE_PRIMARY ? "primary" : "replica";
        backend = session_backend_name(s, b);
    }
    static const char *const names[] = {"classification", "reason", "target", "backend"};
    const char *values[] = {c.is_read ? "read" : "write", d.reason, role, backend};
    send_row(s, names, values, 4);
}

bool proxy_statement(struct client_session *s)
{
    struct proxy_command pc;
    parse_proxy_command((const char *)s->arg, s->arg_len, &pc);
    switch (pc.kind) {
    case PROXY_CMD_NONE:
        return false;
    case PROXY_CMD_SET_ROUTE:
        s->route.override = pc.route;
        session_send_ok(s, s->cmd_seq + 1);
        session_finish_command(s);
        return true;
    case PROXY_CMD_SHOW_ROUTE: {
        static const char *const names[] = {"route"};
        const char *values[] = {override_name(s->route.override)};
        send_row(s, names, values, 1);
        return true;
    }
    case PROXY_CMD_EXPLAIN:
        explain(s, pc.stmt, pc.stmt_len);
        return true;
    case PROXY_CMD_INVALID:
    default:
        session_fail_command(s, ER_PARSE_ERROR, "42000", "switchyard: %s",
                             pc.error ? pc.error : "malformed PROXY statement");
        return true;
    }
}
