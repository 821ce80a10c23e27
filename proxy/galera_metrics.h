/* The switchyard_galera_* series of /metrics: a fixed set per Galera node
 * that answered the monitor's last wsrep query (the data behind its state in
 * SHOW BACKENDS). */
#ifndef SY_PROXY_GALERA_METRICS_H
#define SY_PROXY_GALERA_METRICS_H

#include "proxy/metrics_http.h"

void metrics_galera(struct text_buf *b, const struct admin_snapshot *s);

#endif
