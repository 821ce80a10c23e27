/* PROXY statements, answered by the proxy itself: the mysql CLI strips
 * comments, so a client needs a way to steer routing without hints. */
#include <stdio.h>
#include <string.h>

#include "protocol/packet.h"
#include "protocol/resultset.h"
#include "proxy/causal.h"
#include "proxy/readonly_retry.h"
#include "proxy/session.h"
#include "router/proxy_command.h"

#define ER_PARSE_ERROR 1064

/* What PROXY SHOW route answers: primary, replica, replica NAME or auto. */
static const char *override_name(struct client_session *s, char *buf, size_t size)
{
    switch (s->route.override) {
    case ROUTE_FORCE_PRIMARY:
        return "primary";
    case ROUTE_FORCE_REPLICA:
        if (s->route.override_replica < 0)
            return "replica";
        snprintf(buf, size, "replica %s", session_backend_name(s, s->route.override_replica));
        return buf;
    default:
        return "auto";
    }
}

/* PROXY SET route = ...: a named replica must be a [backend.NAME] with
 * role = replica. */
static void set_route(struct client_session *s, const struct proxy_command *pc)
{
    int named = -1;
    if (pc->replica != NULL) {
        const struct proxy_config *cfg = session_config(s);
        for (size_t i = 0; i < cfg->n_backends; i++) {
            const char *name = cfg->backends[i].name;
            if (strlen(name) == pc->replica_len && memcmp(name, pc->replica, pc->replica_len) == 0)
                named = (int)i;
        }
        if (named < 0 || cfg->backends[named].role != ROLE_REPLICA) {
            session_fail_command(s, ER_WRONG_VALUE_FOR_VAR, "42000",
                                 "switchyard: '%.*s' is not a replica: name a [backend.NAME] "
                                 "section with role = replica, or use PROXY SET route = replica",
                                 (int)(pc->replica_len > 64 ? 64 : pc->replica_len), pc->replica);
            return;
        }
    }
    s->route.override = pc->route;
    s->route.override_replica = named;
    session_send_ok(s, s->cmd_seq + 1);
    session_finish_command(s);
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

/* Whether the session keeps its connection to backend between statements,
 * and why (session_multiplex.c, backend_pool.c). */
static const char *connection_kept(const struct client_session *s, int backend, char *text,
                                   size_t size)
{
    if (!session_config(s)->multiplexing)
        return "kept (multiplexing = off)";
    if (backend >= 0 && session_config(s)->backends[backend].galera)
        return "kept (a Galera node: never pooled)";
    const char *pin = session_pin_reason(s);
    if (!pin)
        return "shared: back to the pool after each statement";
    snprintf(text, size, "pinned: %s", pin);
    return text;
}

/* Classify and route the statement as if it were run now, without running
 * it or moving the replica rotation. */
static void explain(struct client_session *s, const char *sql, size_t len)
{
    struct classification c;
    classify_query(sql, len, s->route.charset, &c);
    struct route_decision d = route_statement(&c, &s->route);
    readonly_route_adjust(&d, &c, &s->route, sql, len);
    int b = session_peek_target(s, &d);
    const char *role = "none";
    const char *backend = "none (no replica eligible and read_fallback = error)";
    if (b >= 0) {
        role = session_config(s)->backends[b].role == ROLE_PRIMARY ? "primary" : "replica";
        backend = session_backend_name(s, b);
    }
    char position[GTID_TEXT_MAX + 64], kept[160];
    const char *wait;
    causal_explain(s, b, d.target == ROUTE_REPLICA, position, sizeof position, &wait);
    static const char *const names[] = {"classification",  "reason",      "target", "backend",
                                        "causal_position", "causal_wait", "connection"};
    const char *values[] = {c.is_read ? "read" : "write", d.reason, role, backend, position, wait,
                            connection_kept(s, b, kept, sizeof kept)};
    send_row(s, names, values, 7);
}

bool proxy_statement(struct client_session *s)
{
    struct proxy_command pc;
    parse_proxy_command((const char *)s->arg, s->arg_len, &pc);
    switch (pc.kind) {
    case PROXY_CMD_NONE:
        return false;
    case PROXY_CMD_SET_ROUTE:
        set_route(s, &pc);
        return true;
    case PROXY_CMD_SHOW_ROUTE: {
        static const char *const names[] = {"route"};
        char buf[CONFIG_NAME_MAX + 16];
        const char *values[] = {override_name(s, buf, sizeof buf)};
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
