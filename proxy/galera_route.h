/* Routing to Galera nodes: which of them serve reads, and how a read there
 * waits for a write made through another node. */
#ifndef SY_PROXY_GALERA_ROUTE_H
#define SY_PROXY_GALERA_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "proxy/topology.h"

/* Backend i is a Galera node that may take reads now: galera_reads = any,
 * the node is UP (Synced, primary component) and, in active-passive, it is
 * not the writer. */
bool galera_takes_reads(const struct proxy_config *cfg, const struct topology *t, size_t i);

/* The statement that waits on a Galera node until it has applied gtid (one
 * GTID of the cluster's domain) and answers 0, or fails (ER_LOCK_WAIT_TIMEOUT
 * after timeout_ms, or a list of several GTIDs): MASTER_GTID_WAIT never
 * returns on a node, whose gtid_slave_pos Galera does not move. Returns
 * snprintf's count. */
int galera_wait_sql(char *out, size_t cap, const char *gtid, int timeout_ms);

#endif
