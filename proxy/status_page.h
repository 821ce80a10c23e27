/* GET / on [admin] http_listen: one self-refreshing HTML page (inline CSS
 * and SVG, no script) with the backends and why each is in its state, lag
 * and route split over the last minutes, the top statement shapes by time,
 * connections and sessions, the backend connection pools, the configuration
 * generation. Pure: built from an admin snapshot with its history and merged
 * digest. */
#ifndef SY_PROXY_STATUS_PAGE_H
#define SY_PROXY_STATUS_PAGE_H

#include "proxy/admin_commands.h"
#include "proxy/metrics_http.h"

#define STATUS_PAGE_REFRESH_S 5
#define STATUS_PAGE_TOP_QUERIES 10

void status_page_format(struct text_buf *out, const struct admin_snapshot *snap);

#endif
