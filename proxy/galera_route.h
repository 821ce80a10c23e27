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

/* The statement that waits on a Galera node until it has applied every
 * write the cluster committed before it began (a causal read: wsrep_sync_wait),
 * so also the session's acknowledged one, and answers 0; it fails with
 * ER_LOCK_WAIT_TIMEOUT after the provider's repl.causal_read_timeout.
 * WSREP_SYNC_WAIT_UPTO_GTID is not used: it answers at once, without
 * waiting, for any GTID whose domain or server id is not the one the node's
 * wsrep GTIDs carry now, and MASTER_GTID_WAIT never returns on a node, whose
 * gtid_slave_pos Galera does not move. */
const char *galera_wait_sql(void);

/* Whether the monitor's GTID position of backend i may stand in for a wait:
 * not on a Galera node, whose binlog position is no proof the row is visible. */
bool galera_position_proves(const struct proxy_config *cfg, size_t i);

#endif
