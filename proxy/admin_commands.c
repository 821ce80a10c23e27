/* Admin statements: a tiny word parser and the result sets, over a snapshot
 * of plain data. Nothing here locks or does I/O. */
#include "proxy/admin_commands.h"
#include "proxy/admin_queries.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "protocol/packet.h"
#include "proxy/log.h"

const char admin_usage[] =
    "switchyard admin knows: SHOW BACKENDS | SHOW POOLS | SHOW SESSIONS | SHOW STATS | "
    "SHOW CONFIG | "
    "SHOW VERSION | SET BACKEND <name> OFFLINE | SET BACKEND <name> ONLINE | "
    "KILL SESSION <id> | RELOAD | SHOW QUERIES [LIKE '<pattern>'] "
    "[ORDER BY count|time|errors] [LIMIT <n>] | RESET QUERIES";

void admin_snapshot_free(struct admin_snapshot *snap)
{
    free(snap->sessions);
    snap->sessions = NULL;
    snap->n_sessions = 0;
}

/* ---- parsing ---- */

struct cursor {
    const char *p, *end;
};

static void skip_space(struct cursor *c)
{
    while (c->p < c->end && isspace((unsigned char)*c->p))
        c->p++;
}

static bool word_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_' || ch == '-' || ch == '.' || ch == '$';
}

/* The next word, or a quoted name (`x`, 'x', "x": backend names may be
 * quoted like identifiers). Returns false when there is none or it does not
 * fit in out. */
static bool next_word(struct cursor *c, char *out, size_t cap)
{
    skip_space(c);
    if (c->p >= c->end)
        return false;
    const char *start = c->p;
    char quote = *c->p;
    if (quote == '`' || quote == '\'' || quote == '"') {
        const char *close = memchr(c->p + 1, quote, (size_t)(c->end - c->p - 1));
        if (!close)
            return false;
        start = c->p + 1;
        c->p = close + 1;
        size_t n = (size_t)(close - start);
        if (n == 0 || n >= cap)
            return false;
        memcpy(out, start, n);
        out[n] = '\0';
        return true;
    }
    while (c->p < c->end && word_char(*c->p))
        c->p++;
    size_t n = (size_t)(c->p - start);
    if (n == 0 || n >= cap)
        return false;
    memcpy(out, start, n);
    out[n] = '\0';
    return true;
}

/* Nothing but blanks and semicolons left: the statement ended. */
static bool at_end(struct cursor *c)
{
    while (c->p < c->end && (isspace((unsigned char)*c->p) || *c->p == ';'))
        c->p++;
    return c->p >= c->end;
}

static bool expect_word(struct cursor *c, const char *kw)
{
    char w[32];
    return next_word(c, w, sizeof w) && strcasecmp(w, kw) == 0;
}

static enum admin_command_kind parse_show(struct cursor *c)
{
    static const struct {
        const char *word;
        enum admin_command_kind kind;
    } shows[] = {
        {"BACKENDS", ADMIN_SHOW_BACKENDS}, {"SESSIONS", ADMIN_SHOW_SESSIONS},
        {"STATS", ADMIN_SHOW_STATS},       {"CONFIG", ADMIN_SHOW_CONFIG},
        {"VERSION", ADMIN_SHOW_VERSION},   {"QUERIES", ADMIN_SHOW_QUERIES},
        {"POOLS", ADMIN_SHOW_POOLS},
    };
    char w[32];
    if (!next_word(c, w, sizeof w))
        return ADMIN_INVALID;
    for (size_t i = 0; i < sizeof shows / sizeof shows[0]; i++) {
        if (strcasecmp(w, shows[i].word) == 0)
            return shows[i].kind;
    }
    return ADMIN_INVALID;
}

static bool parse_set_backend(struct cursor *c, struct admin_command *cmd)
{
    char state[16];
    if (!expect_word(c, "BACKEND") || !next_word(c, cmd->backend, sizeof cmd->backend) ||
        !next_word(c, state, sizeof state))
        return false;
    if (strcasecmp(state, "OFFLINE") == 0)
        cmd->offline = true;
    else if (strcasecmp(state, "ONLINE") == 0)
        cmd->offline = false;
    else
        return false;
    return true;
}

/* A decimal session id that fits in 32 bits (ids are uint32 handshake ids). */
static bool parse_id(struct cursor *c, uint32_t *out)
{
    char w[16];
    if (!next_word(c, w, sizeof w))
        return false;
    uint64_t v = 0;
    for (const char *p = w; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > UINT32_MAX)
            return false;
    }
    *out = (uint32_t)v;
    return true;
}

/* SHOW QUERIES [LIKE 'pattern'] [ORDER BY count|time|errors] [LIMIT n] */
static bool parse_queries(struct cursor *c, struct admin_command *cmd)
{
    static const char *const orders[] = {"COUNT", "TIME", "ERRORS"};
    struct cursor peek = *c;
    char w[16];
    if (next_word(&peek, w, sizeof w) && strcasecmp(w, "LIKE") == 0) {
        if (!next_word(&peek, cmd->pattern, sizeof cmd->pattern))
            return false;
        *c = peek;
    }
    peek = *c;
    if (next_word(&peek, w, sizeof w) && strcasecmp(w, "ORDER") == 0) {
        if (!expect_word(&peek, "BY") || !next_word(&peek, w, sizeof w))
            return false;
        size_t i = 0;
        while (i < 3 && strcasecmp(w, orders[i]) != 0)
            i++;
        if (i == 3)
            return false;
        cmd->order = (enum query_order)i;
        *c = peek;
    }
    peek = *c;
    if (next_word(&peek, w, sizeof w) && strcasecmp(w, "LIMIT") == 0) {
        if (!parse_id(&peek, &cmd->limit))
            return false;
        *c = peek;
    }
    return true;
}

struct admin_command admin_parse(const char *sql, size_t len)
{
    struct admin_command cmd = {.kind = ADMIN_INVALID};
    struct cursor c = {sql, sql + len};
    char w[16];
    if (!sql || !next_word(&c, w, sizeof w))
        return cmd;
    enum admin_command_kind kind = ADMIN_INVALID;
    if (strcasecmp(w, "SHOW") == 0)
        kind = parse_show(&c);
    if (kind == ADMIN_SHOW_QUERIES && !parse_queries(&c, &cmd))
        kind = ADMIN_INVALID;
    else if (strcasecmp(w, "SET") == 0)
        kind = parse_set_backend(&c, &cmd) ? ADMIN_SET_BACKEND : ADMIN_INVALID;
    else if (strcasecmp(w, "KILL") == 0)
        kind = expect_word(&c, "SESSION") && parse_id(&c, &cmd.session_id) ? ADMIN_KILL_SESSION
                                                                            : ADMIN_INVALID;
    else if (strcasecmp(w, "RELOAD") == 0)
        kind = ADMIN_RELOAD;
    else if (strcasecmp(w, "RESET") == 0)
        kind = expect_word(&c, "QUERIES") ? ADMIN_RESET_QUERIES : ADMIN_INVALID;
    /* Trailing words mean the statement was something else: refuse rather
     * than guess. */
    if (kind != ADMIN_INVALID && at_end(&c))
        cmd.kind = kind;
    return cmd;
}

/* ---- shared formatting ---- */

const char *admin_state_name(const struct admin_backend *b)
{
    if (b->offline)
        return "offline";
    switch (b->state) {
    case BACKEND_UP:
        return "up";
    case BACKEND_LAGGING:
        return "lagging";
    case BACKEND_BROKEN:
        return "broken";
    case BACKEND_DOWN:
        return "down";
    case BACKEND_UNKNOWN:
        break;
    }
    return "unknown";
}

static const char *role_name(enum backend_role r) { return r == ROLE_PRIMARY ? "primary" : "replica"; }

/* Seconds with up to three decimals and no trailing zeros ("2", "0.25"). */
static void fmt_seconds(char *out, size_t cap, double v)
{
    snprintf(out, cap, "%.3f", v);
    char *dot = strchr(out, '.');
    if (!dot)
        return;
    char *e = out + strlen(out) - 1;
    while (e > dot && *e == '0')
        *e-- = '\0';
    if (e == dot)
        *e = '\0';
}

static void put_columns(struct resultset_writer *w, const char *const *names, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        resultset_column(w, names[i]);
    resultset_columns_end(w);
}

/* ---- SHOW BACKENDS ---- */

static const char *const backend_columns[] = {
    "name",          "role",   "address",     "state",      "reason", "lag_seconds",
    "gtid_position", "weight", "connections", "statements", "errors"};

static void backend_row(struct resultset_writer *w, const struct admin_backend *b)
{
    char address[CONFIG_HOST_MAX + 16], lag[32], weight[16], conns[24], stmts[24], errs[24];
    char reason[200];
    bool v6 = strchr(b->host, ':') != NULL;
    snprintf(address, sizeof address, "%s%s%s:%u", v6 ? "[" : "", b->host, v6 ? "]" : "",
             b->port);
    if (b->lag_seconds >= 0)
        fmt_seconds(lag, sizeof lag, b->lag_seconds);
    snprintf(weight, sizeof weight, "%d", b->weight);
    snprintf(conns, sizeof conns, "%" PRId64, b->connections);
    snprintf(stmts, sizeof stmts, "%" PRIu64, b->statements);
    snprintf(errs, sizeof errs, "%" PRIu64, b->errors);
    /* Offline hides the monitor's state; keep it visible in the reason. */
    if (b->offline)
        snprintf(reason, sizeof reason, "set offline by the admin; monitor: %.150s",
                 b->reason[0] ? b->reason : "no problem");
    else
        snprintf(reason, sizeof reason, "%s", b->reason);
    const char *values[] = {b->name,
                            role_name(b->role),
                            address,
                            admin_state_name(b),
                            reason[0] ? reason : NULL,
                            b->lag_seconds >= 0 ? lag : NULL,
                            b->gtid_pos[0] ? b->gtid_pos : NULL,
                            weight,
                            conns,
                            stmts,
                            errs};
    resultset_row(w, values, sizeof values / sizeof values[0]);
}

void admin_show_backends(struct resultset_writer *w, const struct admin_snapshot *s)
{
    put_columns(w, backend_columns, sizeof backend_columns / sizeof backend_columns[0]);
    for (size_t i = 0; i < s->n_backends; i++)
        backend_row(w, &s->backend[i]);
    resultset_end(w, SERVER_STATUS_AUTOCOMMIT);
}

/* ---- SHOW POOLS ---- */

static const char *const pool_columns[] = {
    "backend", "connections", "idle",  "in_use",        "logins", "reuses", "max_connections",
    "waiting", "waits",       "wait_timeouts", "wait_ms", "broken"};

void admin_count_pins(const struct admin_snapshot *s, struct admin_pins *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < s->n_sessions; i++) {
        const char *why = s->sessions[i].pinned;
        if (!why)
            continue;
        out->total++;
        size_t k = 0;
        while (k < out->n_reasons && strcmp(out->reason[k], why) != 0)
            k++;
        if (k == out->n_reasons && out->n_reasons < ADMIN_PIN_REASONS) {
            out->reason[k] = why;
            out->n_reasons++;
        }
        if (k < out->n_reasons)
            out->count[k]++;
        else
            out->other++;
    }
}

/* SHOW POOLS and the status page both show it: one definition of "in use". */
int64_t admin_pool_in_use(const struct admin_backend *b)
{
    return b->connections - b->pool_idle;
}

/* The backend connections of all workers: idle ones wait in a worker's pool
 * for the next session that logs in the same way (backend_pool.h). */
void admin_show_pools(struct resultset_writer *w, const struct admin_snapshot *s)
{
    put_columns(w, pool_columns, sizeof pool_columns / sizeof pool_columns[0]);
    for (size_t i = 0; i < s->n_backends; i++) {
        const struct admin_backend *b = &s->backend[i];
        char v[11][24];
        snprintf(v[0], sizeof v[0], "%" PRId64, b->connections);
        snprintf(v[1], sizeof v[1], "%" PRId64, b->pool_idle);
        snprintf(v[2], sizeof v[2], "%" PRId64, admin_pool_in_use(b));
        snprintf(v[3], sizeof v[3], "%" PRIu64, b->pool_logins);
        snprintf(v[4], sizeof v[4], "%" PRIu64, b->pool_reuses);
        snprintf(v[5], sizeof v[5], "%" PRId64, b->max_connections);
        snprintf(v[6], sizeof v[6], "%" PRId64, b->pool_waiting);
        snprintf(v[7], sizeof v[7], "%" PRIu64, b->pool_waits);
        snprintf(v[8], sizeof v[8], "%" PRIu64, b->pool_wait_timeouts);
        snprintf(v[9], sizeof v[9], "%" PRIu64, b->pool_wait_ms);
        snprintf(v[10], sizeof v[10], "%" PRIu64, b->pool_broken);
        const char *values[] = {b->name, v[0], v[1], v[2], v[3], v[4], v[5],
                                v[6],    v[7], v[8], v[9], v[10]};
        resultset_row(w, values, sizeof values / sizeof values[0]);
    }
    resultset_end(w, SERVER_STATUS_AUTOCOMMIT);
}

/* ---- SHOW SESSIONS ---- */

static const char *const session_columns[] = {"id",     "user",   "client",  "age_seconds",
                                              "in_transaction", "pinned", "backends", "db"};

/* Names of the backends in mask, comma-separated, from the current
 * configuration (a session that predates a reload may be counted by its
 * old indexes: the names are then approximate). */
static void mask_names(const struct admin_snapshot *s, uint64_t mask, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < s->n_backends && i < 64; i++) {
        if (!(mask & ((uint64_t)1 << i)))
            continue;
        int n = snprintf(out + len, cap - len, "%s%s", len ? "," : "", s->backend[i].name);
        if (n < 0 || (size_t)n >= cap - len)
            return;
        len += (size_t)n;
    }
}

static void session_row(struct resultset_writer *w, const struct admin_snapshot *s,
                        const struct admin_session *e)
{
    char id[16], age[24], backends[CONFIG_MAX_BACKENDS * 8];
    snprintf(id, sizeof id, "%" PRIu32, e->id);
    snprintf(age, sizeof age, "%" PRIu64, e->age_seconds);
    mask_names(s, e->backends_mask, backends, sizeof backends);
    const char *values[] = {id,   e->user, e->client, age, e->in_transaction ? "1" : "0",
                            e->pinned, backends[0] ? backends : NULL, e->db[0] ? e->db : NULL};
    resultset_row(w, values, sizeof values / sizeof values[0]);
}

void admin_show_sessions(struct resultset_writer *w, const struct admin_snapshot *s)
{
    put_columns(w, session_columns, sizeof session_columns / sizeof session_columns[0]);
    for (size_t i = 0; i < s->n_sessions; i++)
        session_row(w, s, &s->sessions[i]);
    resultset_end(w, SERVER_STATUS_AUTOCOMMIT);
}

/* ---- SHOW STATS ---- */

double admin_latency_percentile_ms(const struct admin_totals *t, double p)
{
    uint64_t total = 0;
    for (int b = 0; b < STATS_LATENCY_BUCKETS; b++)
        total += t->latency_bucket[b];
    if (total == 0)
        return -1;
    /* The rank of the percentile, 1-based: p50 of 10 is the 5th value. */
    double rank = ceil(p / 100.0 * (double)total);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (int b = 0; b < STATS_LATENCY_BUCKETS - 1; b++) {
        seen += t->latency_bucket[b];
        if ((double)seen >= rank)
            return (double)stats_latency_bounds_us[b] / 1000.0;
    }
    return INFINITY;
}

static void stat_row(struct resultset_writer *w, const char *name, const char *value)
{
    const char *values[] = {name, value};
    resultset_row(w, values, 2);
}

static void stat_u64(struct resultset_writer *w, const char *name, uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    stat_row(w, name, buf);
}

static void stat_percentile(struct resultset_writer *w, const char *name,
                            const struct admin_totals *t, double p)
{
    double ms = admin_latency_percentile_ms(t, p);
    char buf[32];
    if (ms < 0) {
        stat_row(w, name, NULL);
        return;
    }
    if (isinf(ms))
        snprintf(buf, sizeof buf, "+Inf");
    else
        fmt_seconds(buf, sizeof buf, ms);
    stat_row(w, name, buf);
}

void admin_show_stats(struct resultset_writer *w, const struct admin_snapshot *s)
{
    static const char *const columns[] = {"name", "value"};
    const struct admin_totals *t = &s->totals;
    const struct {
        const char *name;
        uint64_t v;
    } counters[] = {
        {"statements_primary", t->statements_primary},
        {"statements_replica", t->statements_replica},
        {"statements_local", t->statements_local},
        {"reads", t->reads},
        {"writes", t->writes},
        {"read_fallbacks", t->read_fallbacks},
        {"causal_waits", t->causal_waits},
        {"causal_timeouts", t->causal_timeouts},
        {"causal_position_fetches", t->causal_position_fetches},
        {"readonly_retries", t->readonly_retries},
        {"writer_waits", t->writer_waits},
        {"writer_wait_timeouts", t->writer_wait_timeouts},
        {"errors_backend", t->errors_backend},
        {"errors_proxy", t->errors_proxy},
        {"auth_failures", t->auth_failures},
        {"refused_firewall", t->refused_firewall},
        {"refused_limits", t->refused_limits},
        {"login_timeouts", t->login_timeouts},
        {"bytes_from_clients", t->bytes_from_clients},
        {"bytes_to_clients", t->bytes_to_clients},
        {"sessions_opened", t->sessions_opened},
        /* a gauge that cannot be negative once summed */
        {"client_connections", t->client_connections > 0 ? (uint64_t)t->client_connections : 0},
    };
    put_columns(w, columns, 2);
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        stat_u64(w, counters[i].name, counters[i].v);
    stat_percentile(w, "latency_p50_ms", t, 50);
    stat_percentile(w, "latency_p95_ms", t, 95);
    stat_percentile(w, "latency_p99_ms", t, 99);
    resultset_end(w, SERVER_STATUS_AUTOCOMMIT);
}

/* ---- SHOW CONFIG ---- */

static void cfg_row(struct resultset_writer *w, const char *section, const char *key,
                    const char *value)
{
    const char *values[] = {section, key, value};
    resultset_row(w, values, 3);
}

static void cfg_int(struct resultset_writer *w, const char *section, const char *key, long v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%ld", v);
    cfg_row(w, section, key, buf);
}

static void cfg_seconds(struct resultset_writer *w, const char *section, const char *key,
                        double v)
{
    char buf[32];
    fmt_seconds(buf, sizeof buf, v);
    cfg_row(w, section, key, buf);
}

static void cfg_listen(struct resultset_writer *w, const char *section, const char *key,
                       const char *host, uint16_t port)
{
    char buf[CONFIG_HOST_MAX + 16];
    bool v6 = strchr(host, ':') != NULL;
    snprintf(buf, sizeof buf, "%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "", port);
    cfg_row(w, section, key, buf);
}

/* "10.0.0.0/8, ::1/128" as written in the file. */
static void cidr_text(const struct cidr_list *l, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < l->n; i++) {
        char addr[INET6_ADDRSTRLEN] = "?";
        inet_ntop(l->items[i].family, l->items[i].addr, addr, sizeof addr);
        int n = snprintf(out + len, cap - len, "%s%s/%d", len ? ", " : "", addr,
                         l->items[i].prefix);
        if (n < 0 || (size_t)n >= cap - len)
            return;
        len += (size_t)n;
    }
}

static void cfg_cidrs(struct resultset_writer *w, const char *section, const char *key,
                      const struct cidr_list *l)
{
    char buf[CONFIG_MAX_CIDRS * (INET6_ADDRSTRLEN + 6)];
    cidr_text(l, buf, sizeof buf);
    cfg_row(w, section, key, buf);
}

static const char *on_off(bool v) { return v ? "on" : "off"; }

static void config_proxy(struct resultset_writer *w, const struct proxy_config *c)
{
    cfg_listen(w, "proxy", "listen", c->listen_host, c->listen_port);
    cfg_int(w, "proxy", "threads", c->threads);
    cfg_int(w, "proxy", "shutdown_timeout_ms", c->shutdown_timeout_ms);
    cfg_cidrs(w, "proxy", "allow", &c->allow);
    cfg_cidrs(w, "proxy", "deny", &c->deny);
    cfg_int(w, "proxy", "max_connections", c->max_connections);
    cfg_int(w, "proxy", "client_idle_timeout", c->client_idle_timeout);
    cfg_int(w, "proxy", "connect_timeout", c->connect_timeout);
    cfg_int(w, "proxy", "max_allowed_packet", (long)c->max_allowed_packet);
    cfg_int(w, "proxy", "pool_wait_timeout_ms", c->pool_wait_timeout_ms);
    cfg_int(w, "proxy", "pool_check_after_ms", c->pool_check_after_ms);
}

static void config_admin(struct resultset_writer *w, const struct proxy_config *c)
{
    if (!c->admin_enabled)
        return;
    cfg_listen(w, "admin", "listen", c->admin_listen_host, c->admin_listen_port);
    cfg_row(w, "admin", "user", c->admin_user);
    cfg_row(w, "admin", "password", "***");
    if (c->admin_http_host[0])
        cfg_listen(w, "admin", "http_listen", c->admin_http_host, c->admin_http_port);
    else
        cfg_row(w, "admin", "http_listen", "");
    cfg_cidrs(w, "admin", "allow", &c->admin_allow);
    cfg_row(w, "admin", "query_digest", on_off(c->query_digest));
    cfg_int(w, "admin", "digest_max_entries", c->digest_max_entries);
    cfg_row(w, "admin", "metrics", on_off(c->metrics));
}

static void config_log_tls(struct resultset_writer *w, const struct proxy_config *c)
{
    static const char *const levels[] = {"debug", "info", "warn", "error"};
    bool known = c->log_level >= LOG_DEBUG && c->log_level <= LOG_ERROR;
    cfg_row(w, "log", "level", known ? levels[c->log_level] : "info");
    cfg_row(w, "log", "format", c->log_format == LOG_FORMAT_JSON ? "json" : "text");
    cfg_int(w, "log", "slow_ms", c->slow_ms);
    cfg_row(w, "tls", "cert", c->tls_cert);
    cfg_row(w, "tls", "key", c->tls_key);
    cfg_row(w, "tls", "ca", c->tls_ca);
    cfg_row(w, "tls", "require", on_off(c->tls_require));
}

static void config_monitor(struct resultset_writer *w, const struct proxy_config *c)
{
    cfg_row(w, "monitor", "user", c->monitor_user);
    cfg_row(w, "monitor", "password", "***");
    cfg_int(w, "monitor", "interval_ms", c->monitor_interval_ms);
    cfg_int(w, "monitor", "connect_timeout_ms", c->monitor_connect_timeout_ms);
    cfg_seconds(w, "monitor", "max_replication_lag", c->max_replication_lag);
    cfg_row(w, "monitor", "heartbeat_table", c->heartbeat_table);
    cfg_int(w, "monitor", "recover_intervals", c->recover_intervals);
    cfg_int(w, "monitor", "down_after", c->down_after);
    cfg_row(w, "monitor", "discover_roles", on_off(c->discover_roles));
}

static void config_routing(struct resultset_writer *w, const struct proxy_config *c)
{
    static const char *const causal[] = {"gtid", "primary_window", "off", "global", "universal"};
    cfg_row(w, "routing", "read_fallback",
            c->read_fallback == READ_FALLBACK_ERROR ? "error" : "primary");
    cfg_row(w, "routing", "read_only_transactions",
            c->read_only_transactions_on_replica ? "replica" : "primary");
    cfg_row(w, "routing", "causal_reads",
            c->causal_reads <= CAUSAL_UNIVERSAL ? causal[c->causal_reads] : "global");
    cfg_int(w, "routing", "causal_reads_timeout_ms", c->causal_reads_timeout_ms);
    cfg_int(w, "routing", "causal_window_ms", c->causal_window_ms);
    cfg_row(w, "routing", "writers",
            c->writers == WRITERS_ACTIVE_ACTIVE ? "active-active" : "active-passive");
}

static void config_backend(struct resultset_writer *w, const struct backend_config *b)
{
    static const char *const tls[] = {"off", "on", "verify"};
    char section[CONFIG_NAME_MAX + 16];
    snprintf(section, sizeof section, "backend.%s", b->name);
    cfg_row(w, section, "role", role_name(b->role));
    cfg_row(w, section, "host", b->host);
    cfg_int(w, section, "port", b->port);
    cfg_int(w, section, "weight", b->weight);
    cfg_int(w, section, "max_connections", b->max_connections);
    cfg_seconds(w, section, "max_replication_lag", b->max_replication_lag);
    cfg_row(w, section, "tls", b->tls <= BACKEND_TLS_VERIFY ? tls[b->tls] : "off");
}

static void config_user(struct resultset_writer *w, const struct user_config *u)
{
    char section[CONFIG_NAME_MAX + 16];
    snprintf(section, sizeof section, "user.%s", u->name);
    /* Never a secret: not the password, not its hash either. */
    cfg_row(w, section, u->has_password ? "password" : "password_hash", "***");
    cfg_int(w, section, "max_connections", u->max_connections);
}

void admin_show_config(struct resultset_writer *w, const struct admin_snapshot *s)
{
    static const char *const columns[] = {"section", "key", "value"};
    const struct proxy_config *c = s->cfg;
    put_columns(w, columns, 3);
    config_proxy(w, c);
    config_admin(w, c);
    config_log_tls(w, c);
    config_monitor(w, c);
    config_routing(w, c);
    for (size_t i = 0; i < c->n_backends; i++)
        config_backend(w, &c->backends[i]);
    for (size_t i = 0; i < c->n_users; i++)
        config_user(w, &c->users[i]);
    resultset_end(w, SERVER_STATUS_AUTOCOMMIT);
}

/* ---- SHOW VERSION ---- */

void admin_show_version(struct resultset_writer *w, const struct admin_snapshot *s)
{
    static const char *const columns[] = {"version", "server_version"};
    put_columns(w, columns, 2);
    const char *values[] = {s->version, s->server_version[0] ? s->server_version : NULL};
    resultset_row(w, values, 2);
    resultset_end(w, SERVER_STATUS_AUTOCOMMIT);
}

unsigned admin_show_columns(enum admin_command_kind kind)
{
    switch (kind) {
    case ADMIN_SHOW_BACKENDS:
        return sizeof backend_columns / sizeof backend_columns[0];
    case ADMIN_SHOW_SESSIONS:
        return sizeof session_columns / sizeof session_columns[0];
    case ADMIN_SHOW_CONFIG:
        return 3;
    case ADMIN_SHOW_QUERIES:
        return ADMIN_QUERIES_COLUMNS;
    case ADMIN_SHOW_POOLS:
        return sizeof pool_columns / sizeof pool_columns[0];
    case ADMIN_SHOW_STATS:
    case ADMIN_SHOW_VERSION:
        return 2;
    default:
        return 0;
    }
}
