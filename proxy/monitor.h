/* The monitor thread: checks every backend with the MySQL C client API
 * (blocking calls with timeouts, off the worker loops) and publishes a
 * topology snapshot after each round. */
#ifndef SY_PROXY_MONITOR_H
#define SY_PROXY_MONITOR_H

#include "config/config.h"
#include "proxy/topology.h"

struct monitor;

/* Runs one full round synchronously (so the first snapshot exists before the
 * proxy listens), then starts the thread. cfg must outlive the monitor.
 * Returns 0, or -1 (logged) if the thread cannot start. */
int monitor_start(struct monitor **out, const struct proxy_config *cfg, struct topology_holder *holder);

/* Stops the thread promptly (within one check's timeout) and frees it. */
void monitor_stop(struct monitor *m);

#endif
