#include "proxy/query_metrics.h"

#include <inttypes.h>
#include <string.h>

static void sample(struct text_buf *b, const char *name, const struct query_stats_row *r)
{
    char text[QUERY_METRICS_TEXT_MAX + 1];
    snprintf(text, sizeof text, "%s", r->text);
    text_printf(b, "%s{digest=\"%016" PRIx64 "\",user=\"", name, r->hash);
    text_label(b, r->user);
    text_printf(b, "\",db=\"");
    text_label(b, r->db);
    text_printf(b, "\",digest_text=\"");
    text_label(b, text);
    text_printf(b, "\"} ");
}

void metrics_queries(struct text_buf *b, const struct query_stats_table *t)
{
    size_t top = t->n < QUERY_METRICS_TOP ? t->n : QUERY_METRICS_TOP;
    static const char *const names[] = {"switchyard_query_digest_statements_total",
                                        "switchyard_query_digest_seconds_total",
                                        "switchyard_query_digest_errors_total",
                                        "switchyard_query_digest_rows_sent_total"};
    static const char *const helps[] = {
        "Statements of the shapes with the most total time (top 20).",
        "Total time of those shapes.", "Errors of those shapes.",
        "Rows sent to clients by those shapes."};
    for (int m = 0; m < 4; m++) {
        text_printf(b, "# HELP %s %s\n# TYPE %s counter\n", names[m], helps[m], names[m]);
        for (size_t i = 0; i < top; i++) {
            const struct query_stats_row *r = &t->rows[i];
            sample(b, names[m], r);
            if (m == 1)
                text_printf(b, "%.6f\n", (double)r->total_us / 1e6);
            else
                text_printf(b, "%" PRIu64 "\n", m == 0 ? r->count : m == 2 ? r->errors : r->rows);
        }
    }
    text_printf(b, "# HELP switchyard_query_digest_shapes Statement shapes in the digest now.\n"
                   "# TYPE switchyard_query_digest_shapes gauge\n"
                   "switchyard_query_digest_shapes %zu\n",
                t->n);
    text_printf(b, "# HELP switchyard_query_digest_folded_total Least used shapes folded into "
                   "the digest's other row ([admin] digest_max_entries).\n"
                   "# TYPE switchyard_query_digest_folded_total counter\n"
                   "switchyard_query_digest_folded_total %" PRIu64 "\n",
                t->folded);
}
