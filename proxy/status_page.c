#include "proxy/status_page.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "proxy/admin_queries.h"
#include "proxy/status_history.h"

static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                      "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
#define PALETTE_N (sizeof palette / sizeof palette[0])

static void html(struct text_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': text_printf(b, "&lt;"); break;
        case '>': text_printf(b, "&gt;"); break;
        case '&': text_printf(b, "&amp;"); break;
        case '"': text_printf(b, "&quot;"); break;
        default: text_printf(b, "%c", *s);
        }
    }
}

static const char *const style =
    "body{font-family:sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin-bottom:1.5em}"
    "th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;font-size:14px}"
    "th{background:#f0f0f0}td.num{text-align:right;white-space:nowrap}"
    ".up{background:#d4f4d4}.lagging{background:#fff3c4}.broken,.down{background:#f8d0d0}"
    ".offline,.unknown{background:#e4e4e4}code{font-size:13px}";

static void page_head(struct text_buf *b, const struct admin_snapshot *s)
{
    text_printf(b,
                "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"
                "<meta http-equiv=\"refresh\" content=\"%d\"/><title>switchyard status</title>"
                "<style>%s</style></head><body>\n",
                STATUS_PAGE_REFRESH_S, style);
    text_printf(b, "<h1>switchyard ");
    html(b, s->version ? s->version : "");
    text_printf(b, "</h1>\n<p>configuration generation %" PRIu64 "; writes go to <b>",
                s->config_generation);
    html(b, s->writer >= 0 && (size_t)s->writer < s->n_backends ? s->backend[s->writer].name
                                                                 : "no writer");
    text_printf(b, "</b>; %" PRId64 " client connections, %" PRIu64
                   " sessions opened; page refreshes every %d s</p>\n",
                s->totals.client_connections > 0 ? s->totals.client_connections : 0,
                s->totals.sessions_opened, STATUS_PAGE_REFRESH_S);
}

/* The lag of backend i over the history, as a small line. */
static void lag_graph(struct text_buf *b, const struct status_history *h, size_t i)
{
    const int w = 120, ht = 24;
    double max = 1;
    for (size_t k = 0; h && k < h->count; k++) {
        const struct status_sample *s = status_history_at(h, k);
        if (i < s->n_backends && s->lag[i] > max)
            max = s->lag[i];
    }
    text_printf(b, "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\"><title>lag, max %.1f s"
                   "</title><polyline fill=\"none\" stroke=\"#1f77b4\" points=\"",
                w, ht, w, ht, max);
    size_t n = h ? h->count : 0;
    for (size_t k = 0; k < n; k++) {
        const struct status_sample *s = status_history_at(h, k);
        double lag = i < s->n_backends && s->lag[i] > 0 ? s->lag[i] : 0;
        double x = n > 1 ? (double)k * w / (double)(n - 1) : 0;
        text_printf(b, "%.1f,%.1f ", x, ht - 1 - lag / max * (ht - 2));
    }
    text_printf(b, "\"/></svg>");
}

static void backends_table(struct text_buf *b, const struct admin_snapshot *s)
{
    text_printf(b, "<h2>Backends</h2>\n<table id=\"backends\"><tr><th>backend</th><th>role</th>"
                   "<th>address</th><th>state</th><th>why</th><th>lag</th>"
                   "<th>last minutes</th><th>connections</th><th>statements</th>"
                   "<th>errors</th></tr>\n");
    for (size_t i = 0; i < s->n_backends; i++) {
        const struct admin_backend *be = &s->backend[i];
        const char *state = admin_state_name(be);
        text_printf(b, "<tr class=\"%s\"><td>", state);
        html(b, be->name);
        text_printf(b, "</td><td>%s</td><td>", be->role == ROLE_PRIMARY ? "primary" : "replica");
        html(b, be->host);
        text_printf(b, ":%u</td><td>%s</td><td>", be->port, state);
        html(b, be->offline ? "set offline by the admin" : be->reason);
        if (be->lag_seconds >= 0)
            text_printf(b, "</td><td class=\"num\">%.1f s</td><td>", be->lag_seconds);
        else
            text_printf(b, "</td><td class=\"num\">-</td><td>");
        lag_graph(b, s->history, i);
        text_printf(b, "</td><td class=\"num\">%" PRId64 "</td><td class=\"num\">%" PRIu64
                       "</td><td class=\"num\">%" PRIu64 "</td></tr>\n",
                    be->connections, be->statements, be->errors);
    }
    text_printf(b, "</table>\n");
}

/* The backend connections per backend, from the figures SHOW POOLS and the
 * switchyard_pool_* series show, and whether sessions leave theirs to the
 * pools at all ([proxy] multiplexing). */
static void pools_table(struct text_buf *b, const struct admin_snapshot *s)
{
    text_printf(b, "<h2>Pools</h2>\n<p id=\"multiplexing\">multiplexing %s: %s</p>\n",
                s->cfg->multiplexing ? "on" : "off",
                s->cfg->multiplexing ? "a session's idle backend connections wait in its worker's "
                                       "pool for the next session that logs in the same way"
                                     : "each session opens its own backend connections");
    text_printf(b, "<table id=\"pools\"><tr><th>backend</th><th>open</th><th>idle</th>"
                   "<th>in use</th><th>logins</th><th>reuses</th></tr>\n");
    for (size_t i = 0; i < s->n_backends; i++) {
        const struct admin_backend *be = &s->backend[i];
        text_printf(b, "<tr><td>");
        html(b, be->name);
        text_printf(b, "</td><td class=\"num\">%" PRId64 "</td><td class=\"num\">%" PRId64
                       "</td><td class=\"num\">%" PRId64 "</td><td class=\"num\">%" PRIu64
                       "</td><td class=\"num\">%" PRIu64 "</td></tr>\n",
                    be->connections, be->pool_idle, admin_pool_in_use(be), be->pool_logins,
                    be->pool_reuses);
    }
    text_printf(b, "</table>\n");
}

/* Statements per interval and backend, stacked, over the history. */
static void route_chart(struct text_buf *b, const struct admin_snapshot *snap)
{
    const struct status_history *h = snap->history;
    const int w = 600, ht = 140;
    size_t n = h && h->count > 1 ? h->count - 1 : 0;
    uint64_t max = 1;
    for (size_t k = 0; k < n; k++) {
        const struct status_sample *a = status_history_at(h, k), *c = status_history_at(h, k + 1);
        uint64_t sum = 0;
        for (size_t i = 0; i < c->n_backends && i < a->n_backends; i++)
            sum += c->statements[i] >= a->statements[i] ? c->statements[i] - a->statements[i] : 0;
        if (sum > max)
            max = sum;
    }
    text_printf(b, "<h2>Route split, last %d minutes</h2>\n", STATUS_HISTORY_SAMPLES *
                                                                  STATUS_HISTORY_INTERVAL_MS / 60000);
    text_printf(b, "<svg id=\"routes\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">"
                   "<rect width=\"%d\" height=\"%d\" fill=\"#fafafa\" stroke=\"#ccc\"/>",
                w, ht, w, ht, w, ht);
    double bar = (double)w / STATUS_HISTORY_SAMPLES;
    for (size_t k = 0; k < n; k++) {
        const struct status_sample *a = status_history_at(h, k), *c = status_history_at(h, k + 1);
        double y = ht;
        for (size_t i = 0; i < c->n_backends && i < a->n_backends; i++) {
            uint64_t d = c->statements[i] >= a->statements[i] ? c->statements[i] - a->statements[i] : 0;
            double hh = (double)d / (double)max * (ht - 4);
            y -= hh;
            if (d)
                text_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                               "fill=\"%s\"/>",
                            (double)k * bar, y, bar - 1, hh, palette[i % PALETTE_N]);
        }
    }
    text_printf(b, "</svg>\n<p>");
    for (size_t i = 0; i < snap->n_backends; i++) {
        text_printf(b, "<span style=\"color:%s\">&#9632;</span> ", palette[i % PALETTE_N]);
        html(b, snap->backend[i].name);
        text_printf(b, " ");
    }
    text_printf(b, "(statements per %d s; primary %" PRIu64 ", replicas %" PRIu64
                   ", answered by the proxy %" PRIu64 " in all)</p>\n",
                STATUS_HISTORY_INTERVAL_MS / 1000, snap->totals.statements_primary,
                snap->totals.statements_replica, snap->totals.statements_local);
}

/* Sessions at a glance: how many, how many hold a transaction, and what
 * pins the pinned ones (their backend connections are in the pools
 * table). Needs the snapshot's sessions. Reasons
 * beyond the first REASONS_MAX distinct ones are summed up as "other", so
 * the counts always add up to the pinned total. */
static void sessions_summary(struct text_buf *b, const struct admin_snapshot *s)
{
    struct admin_pins pins;
    admin_count_pins(s, &pins);
    size_t in_trx = 0;
    uint64_t oldest = 0;
    for (size_t i = 0; i < s->n_sessions; i++) {
        const struct admin_session *se = &s->sessions[i];
        in_trx += se->in_transaction;
        if (se->age_seconds > oldest)
            oldest = se->age_seconds;
    }
    text_printf(b, "<h2>Sessions</h2>\n<p id=\"sessions\">%zu open, %zu in a transaction, "
                   "%zu pinned to one backend",
                s->n_sessions, in_trx, pins.total);
    for (size_t k = 0; k < pins.n_reasons; k++) {
        text_printf(b, "%s", k ? ", " : " (");
        html(b, pins.reason[k]);
        text_printf(b, ": %zu", pins.count[k]);
    }
    if (pins.other)
        text_printf(b, ", other: %zu", pins.other);
    text_printf(b, "%s", pins.n_reasons ? ")" : "");
    if (s->n_sessions)
        text_printf(b, "; the oldest is %" PRIu64 " s old", oldest);
    text_printf(b, "</p>\n");
}

static void queries_table(struct text_buf *b, const struct admin_snapshot *s)
{
    text_printf(b, "<h2>Top statements by time</h2>\n<table id=\"queries\"><tr><th>digest</th>"
                   "<th>user</th><th>count</th><th>total ms</th><th>avg ms</th>"
                   "<th>errors</th><th>rows</th></tr>\n");
    const struct query_stats_table *t = s->queries;
    for (size_t i = 0; t && i < t->n && i < STATUS_PAGE_TOP_QUERIES; i++) {
        const struct query_stats_row *r = &t->rows[i];
        char total[32], avg[32];
        admin_format_ms(total, sizeof total, r->total_us);
        admin_format_ms(avg, sizeof avg, r->count ? r->total_us / r->count : 0);
        text_printf(b, "<tr><td><code>");
        html(b, r->text);
        text_printf(b, "</code></td><td>");
        html(b, r->user);
        text_printf(b, "</td><td class=\"num\">%" PRIu64 "</td><td class=\"num\">%s</td>"
                       "<td class=\"num\">%s</td><td class=\"num\">%" PRIu64 "</td>"
                       "<td class=\"num\">%" PRIu64 "</td></tr>\n",
                    r->count, total, avg, r->errors, r->rows);
    }
    text_printf(b, "</table>\n");
}

void status_page_format(struct text_buf *out, const struct admin_snapshot *snap)
{
    page_head(out, snap);
    backends_table(out, snap);
    route_chart(out, snap);
    sessions_summary(out, snap);
    pools_table(out, snap);
    queries_table(out, snap);
    text_printf(out, "<p>Machine-readable: <a href=\"/metrics\">/metrics</a>, "
                     "<a href=\"/health\">/health</a>; SHOW QUERIES on the admin port.</p>\n"
                     "</body></html>\n");
}
