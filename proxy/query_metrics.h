/* The query digest on /metrics: only the top shapes by total time, so the
 * number of series stays bounded however many shapes there are. */
#ifndef SY_PROXY_QUERY_METRICS_H
#define SY_PROXY_QUERY_METRICS_H

#include "proxy/metrics_http.h"
#include "proxy/query_stats.h"

#define QUERY_METRICS_TOP 20       /* shapes exported */
#define QUERY_METRICS_TEXT_MAX 160 /* bytes of digest text in the label */

/* t sorted by time (query_stats_sort). */
void metrics_queries(struct text_buf *b, const struct query_stats_table *t);

#endif
