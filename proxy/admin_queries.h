/* SHOW QUERIES: the merged query digest as a result set. Pure: it works on
 * a merged table (query_digest_collect) and an admin snapshot. */
#ifndef SY_PROXY_ADMIN_QUERIES_H
#define SY_PROXY_ADMIN_QUERIES_H

#include <stdbool.h>

#include "proxy/admin_commands.h"
#include "proxy/query_stats.h"

#define ADMIN_QUERIES_COLUMNS 19

/* SQL LIKE, case-insensitive: % any run, _ any one byte. */
bool admin_like(const char *text, const char *pattern);

/* t must be sorted by cmd->order already (query_stats_sort). */
void admin_show_queries(struct resultset_writer *w, const struct admin_snapshot *s,
                        const struct query_stats_table *t, const struct admin_command *cmd);

/* Milliseconds as SHOW QUERIES and the status page print them. */
void admin_format_ms(char *out, size_t cap, uint64_t us);

#endif
