#include "proxy/admin_queries.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "protocol/packet.h"

static const char *const query_columns[ADMIN_QUERIES_COLUMNS] = {
    "digest",   "user",     "db",     "digest_text", "count",  "on_primary", "on_replicas",
    "by_proxy", "where",    "reason", "errors",      "rows_sent", "total_ms", "min_ms",
    "avg_ms",   "max_ms",   "p99_ms", "first_seen",  "last_seen"};

bool admin_like(const char *text, const char *pattern)
{
    for (; *pattern; pattern++, text++) {
        if (*pattern == '%') {
            for (const char *t = text;; t++) {
                if (admin_like(t, pattern + 1))
                    return true;
                if (!*t)
                    return false;
            }
        }
        if (!*text)
            return false;
        if (*pattern != '_' && tolower((unsigned char)*pattern) != tolower((unsigned char)*text))
            return false;
    }
    return *text == '\0';
}

void admin_format_ms(char *out, size_t cap, uint64_t us)
{
    snprintf(out, cap, "%" PRIu64 ".%03" PRIu64, us / 1000, us % 1000);
}

static void format_time(char *out, size_t cap, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, cap, "%Y-%m-%d %H:%M:%S", &tm);
}

/* "replica1=3 primary=2": every backend the shape ran on. */
static void where_text(char *out, size_t cap, const struct admin_snapshot *s,
                       const struct query_stats_row *r, uint64_t *primary, uint64_t *replicas)
{
    size_t n = 0;
    out[0] = '\0';
    *primary = *replicas = 0;
    for (size_t b = 0; b < CONFIG_MAX_BACKENDS; b++) {
        if (r->on_backend[b] == 0)
            continue;
        bool known = b < s->n_backends;
        if (known && s->backend[b].role == ROLE_PRIMARY)
            *primary += r->on_backend[b];
        else
            *replicas += r->on_backend[b];
        if (n + 1 < cap)
            n += (size_t)snprintf(out + n, cap - n, "%s%s=%" PRIu64, n ? " " : "",
                                  known ? s->backend[b].name : "(removed)", r->on_backend[b]);
    }
    if (r->by_proxy && n + 1 < cap)
        snprintf(out + n, cap - n, "%sproxy=%" PRIu64, n ? " " : "", r->by_proxy);
}

static void query_row(struct resultset_writer *w, const struct admin_snapshot *s,
                      const struct query_stats_row *r, const char *text)
{
    char digest[24], count[24], prim[24], repl[24], proxy[24], where[512], errors[24], rows[24];
    char total[32], min[32], avg[32], max[32], p99[32], first[32], last[32];
    uint64_t on_primary, on_replicas;
    snprintf(digest, sizeof digest, "%016" PRIx64, r->hash);
    snprintf(count, sizeof count, "%" PRIu64, r->count);
    where_text(where, sizeof where, s, r, &on_primary, &on_replicas);
    snprintf(prim, sizeof prim, "%" PRIu64, on_primary);
    snprintf(repl, sizeof repl, "%" PRIu64, on_replicas);
    snprintf(proxy, sizeof proxy, "%" PRIu64, r->by_proxy);
    snprintf(errors, sizeof errors, "%" PRIu64, r->errors);
    snprintf(rows, sizeof rows, "%" PRIu64, r->rows);
    admin_format_ms(total, sizeof total, r->total_us);
    admin_format_ms(min, sizeof min, r->min_us);
    admin_format_ms(avg, sizeof avg, r->count ? r->total_us / r->count : 0);
    admin_format_ms(max, sizeof max, r->max_us);
    struct admin_totals lat = {0};
    memcpy(lat.latency_bucket, r->latency_bucket, sizeof lat.latency_bucket);
    double p = admin_latency_percentile_ms(&lat, 99);
    if (p == INFINITY)
        snprintf(p99, sizeof p99, "+Inf");
    else
        snprintf(p99, sizeof p99, "%.3f", p);
    format_time(first, sizeof first, r->first_seen);
    format_time(last, sizeof last, r->last_seen);
    const char *values[ADMIN_QUERIES_COLUMNS] = {
        r->text ? digest : NULL, r->text ? r->user : NULL, r->text && r->db[0] ? r->db : NULL,
        text, count, prim, repl, proxy, where, r->text ? r->reason : NULL, errors, rows, total,
        min, avg, max, p99, first, last};
    resultset_row(w, values, ADMIN_QUERIES_COLUMNS);
}

void admin_show_queries(struct resultset_writer *w, const struct admin_snapshot *s,
                        const struct query_stats_table *t, const struct admin_command *cmd)
{
    for (unsigned i = 0; i < ADMIN_QUERIES_COLUMNS; i++)
        resultset_column(w, query_columns[i]);
    resultset_columns_end(w);
    uint32_t shown = 0;
    for (size_t i = 0; i < t->n && (cmd->limit == 0 || shown < cmd->limit); i++) {
        const struct query_stats_row *r = &t->rows[i];
        if (cmd->pattern[0] && !admin_like(r->text, cmd->pattern))
            continue;
        query_row(w, s, r, r->text);
        shown++;
    }
    if (t->other.count > 0 && !cmd->pattern[0]) {
        char text[96];
        snprintf(text, sizeof text, "other (%" PRIu64 " least used shapes folded)", t->folded);
        query_row(w, s, &t->other, text);
    }
    resultset_end(w, SERVER_STATUS_AUTOCOMMIT);
}
